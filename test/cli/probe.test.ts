/**
 * `genesys-rotator probe` against the Genesys emulator configured with each behaviour: the profile reports
 * it (propagation within a relative tolerance, the rest exact), the throwaway client is always deleted
 * (also on an error, on SIGINT, and after kill -9 with `probe --cleanup`), and no secret or token the
 * emulator issued ever reaches stdout, stderr or the profile.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { PROBE_CLIENT_PREFIX } from "../../bin/cli/probe/measure.ts";
import { systemClock } from "../../lambda/shared/clock.ts";
import type { GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import { parseGenesysProfile } from "../../lambda/shared/genesys/profile.ts";
import {
  DEFAULT_GENESYS_STATE,
  type GenesysEmulator,
  type GenesysEmulatorOptions,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { runCli } from "./support.ts";

const ENVIRONMENT = "mypurecloud.ie";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * An emulator with one admin client; returns it with the admin's id and secret. In-process probes share
 * its clock, a {@link SteppingClock}: every wait of the probe moves the emulator's time by exactly that
 * much, so the measured propagation delay and the "gave up after" figure do not depend on how busy the
 * machine is. (The subprocess runs further down pass `systemClock`: a child process cannot share a
 * clock; they assert nothing about durations.)
 */
async function emulatorWithAdmin(options: GenesysEmulatorOptions) {
  const emulator = await startGenesysEmulator({
    state: DEFAULT_GENESYS_STATE,
    clock: new SteppingClock(Date.now()),
    ...options,
  });
  const admin = emulator.state.addClient({
    name: "probe-admin",
    roleDivisions: [{ roleId: DEFAULT_GENESYS_STATE.roles[0]!.id, divisionId: "*" }],
  });
  return { emulator, adminId: admin.id, adminSecret: admin.secret };
}

function genesysAt(url: string): Partial<{ genesys: GenesysGateway }> {
  return {
    genesys: {
      endpoints: (environment) => ({ environment, loginBaseUrl: url, apiBaseUrl: url }),
      requestToken: () => Promise.reject(new Error("unused")),
      api: () => {
        throw new Error("unused");
      },
    },
  };
}

function probeClients(emulator: GenesysEmulator) {
  return emulator.state.clients().filter((client) => client.name.startsWith(PROBE_CLIENT_PREFIX));
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "probe-test-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs probe in process against `emulator`; returns the run and the parsed profile. */
async function probe(emulator: GenesysEmulator, adminId: string, adminSecret: string, extra: string[] = []) {
  const out = join(dir, `profile-${Math.random().toString(36).slice(2)}.json`);
  const run = await runCli(
    [
      "probe",
      "--environment",
      ENVIRONMENT,
      "--admin-client-id",
      adminId,
      "--client-secret-stdin",
      "--out",
      out,
      "--min-poll-ms",
      "50",
      ...extra,
    ],
    { ...genesysAt(emulator.url), clock: emulator.clock, readStdin: async () => `${adminSecret}\n` },
  );
  const file = run.code === 0 ? readFileSync(out, "utf8") : "";
  assertNoSecrets([run.stdout, run.stderr, file].join("\n"), {
    "Genesys secret or access token": emulator.issued.all(),
  });
  return { run, file, profile: run.code === 0 ? parseGenesysProfile(JSON.parse(file)) : undefined };
}

describe("genesys-rotator probe", () => {
  const cases: { name: string; options: GenesysEmulatorOptions }[] = [
    {
      name: "the emulator's defaults (400, tokens survive, dateModified moves, ids exact)",
      options: { propagationDelayMs: 300 },
    },
    {
      name: "every behaviour flipped (401, tokens die, dateModified fixed, ids case-insensitive)",
      options: {
        propagationDelayMs: 700,
        invalidClientStatus: 401,
        tokensSurviveRegeneration: false,
        dateModifiedMovesOnRegeneration: false,
        clientIdsCaseSensitive: false,
        tokenLifetimeSeconds: 900,
      },
    },
  ];
  for (const { name, options } of cases) {
    it(`reports ${name}`, { timeout: 120_000 }, async () => {
      const { emulator, adminId, adminSecret } = await emulatorWithAdmin(options);
      try {
        const { run, profile } = await probe(emulator, adminId, adminSecret);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(profile);
        const configured = options.propagationDelayMs ?? 0;
        const { median, min, max, samples } = profile.propagationDelayMs;
        assert.equal(samples.length, 3);
        assert.ok(
          Math.abs(median - configured) <= configured * 0.25 + 60,
          `median ${median} ms, configured ${configured} ms (${samples.join(", ")})`,
        );
        assert.ok(min <= median && median <= max);
        assert.equal(profile.invalidClientStatus, options.invalidClientStatus ?? 400);
        assert.equal(profile.invalidClientBody.error, "invalid_client");
        assert.equal(profile.tokensSurviveRegeneration, options.tokensSurviveRegeneration ?? true);
        assert.equal(
          profile.dateModifiedMovesOnRegeneration,
          options.dateModifiedMovesOnRegeneration ?? true,
        );
        assert.equal(profile.clientIdsCaseSensitive, options.clientIdsCaseSensitive ?? true);
        assert.equal(profile.tokenLifetimeSeconds, options.tokenLifetimeSeconds ?? 86_400);
        assert.equal(profile.tokenRateLimitRetryAfter, null);
        assert.equal(profile.environment, ENVIRONMENT);
        assert.equal(typeof profile.clockSkewMs, "number");
        assert.equal(profile.requests, emulator.counters.requests());
        assert.match(run.stdout, new RegExp(`Requests sent: ${profile.requests}\\.`));
        assert.deepEqual(probeClients(emulator), [], "the throwaway client was not deleted");
      } finally {
        await emulator.stop();
      }
    });
  }

  it("deletes the throwaway client when the measurement fails", { timeout: 120_000 }, async () => {
    // The new secret never propagates within --max-wait-seconds.
    const { emulator, adminId, adminSecret } = await emulatorWithAdmin({ propagationDelayMs: 60_000 });
    try {
      const { run } = await probe(emulator, adminId, adminSecret, ["--max-wait-seconds", "5"]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /still rejected \(invalid_client\) after 5 s/);
      assert.match(run.stderr, /deleted the throwaway client/);
      assert.deepEqual(probeClients(emulator), []);
    } finally {
      await emulator.stop();
    }
  });

  it("needs an admin credential and --out", async () => {
    const missing = await runCli(["probe", "--environment", ENVIRONMENT, "--out", "x.json"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--admin-secret-id or --admin-client-id/);
    const noOut = await runCli([
      "probe",
      "--environment",
      ENVIRONMENT,
      "--admin-client-id",
      "a1",
      "--client-secret-stdin",
    ]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /--out is required/);
  });

  it("cleans up on SIGINT, and `probe --cleanup` removes what a kill -9 left", {
    timeout: 240_000,
  }, async () => {
    const { emulator, adminId, adminSecret } = await emulatorWithAdmin({
      propagationDelayMs: 20_000,
      clock: systemClock,
    });
    try {
      // SIGINT while the probe waits for its new client's secret: the client is deleted before exit.
      const interrupted = await spawnProbe(emulator, adminId, adminSecret, "SIGINT");
      assert.equal(interrupted.code, 1, interrupted.stderr);
      assert.match(interrupted.stderr, /SIGINT received; deleting the throwaway client/);
      assert.deepEqual(probeClients(emulator), []);
      assertNoSecrets(interrupted.stdout + interrupted.stderr, {
        "Genesys secret or access token": emulator.issued.all(),
      });

      // kill -9: nothing runs, the client stays; --cleanup finds it by its name prefix.
      const killed = await spawnProbe(emulator, adminId, adminSecret, "SIGKILL");
      assert.equal(killed.signal, "SIGKILL");
      assert.equal(probeClients(emulator).length, 1);
      emulator.state.addClient({ name: "not-a-probe-client", roleDivisions: [] });
      const cleanup = await runCli(
        [
          "probe",
          "--environment",
          ENVIRONMENT,
          "--admin-client-id",
          adminId,
          "--client-secret-stdin",
          "--cleanup",
        ],
        { ...genesysAt(emulator.url), readStdin: async () => adminSecret },
      );
      assert.equal(cleanup.code, 0, cleanup.stderr);
      assert.match(cleanup.stdout, /Deleted 1 leftover probe client/);
      assert.deepEqual(probeClients(emulator), []);
      assert.ok(emulator.state.clients().some((client) => client.name === "not-a-probe-client"));
    } finally {
      await emulator.stop();
    }
  });
});

/** Spawns the CLI's probe against `emulator`, sends `signal` once the throwaway client exists. */
function spawnProbe(
  emulator: GenesysEmulator,
  adminId: string,
  adminSecret: string,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "bin/genesys-rotator.ts"),
      "probe",
      "--environment",
      ENVIRONMENT,
      "--admin-client-id",
      adminId,
      "--client-secret-stdin",
      "--out",
      join(dir, "never-written.json"),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, GENESYS_ENDPOINT_OVERRIDE: emulator.url },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  child.stdin.end(adminSecret);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const timer = setInterval(() => {
    if (probeClients(emulator).length > 0 && stderr.includes("created the throwaway client")) {
      clearInterval(timer);
      child.kill(signal);
    }
  }, 50);
  return new Promise((resolve) => {
    child.on("close", (code, exitSignal) => {
      clearInterval(timer);
      resolve({ code, signal: exitSignal, stdout, stderr });
    });
  });
}
