/**
 * `genesys-rotator probe`: measures, in the user's own organisation, the Genesys behaviours the rotation
 * rests on and no public source confirms (docs/genesys-facts.md), with a throwaway OAuth client that is
 * always deleted; writes them as a profile (lambda/shared/genesys/profile.ts) that the emulator, the drill
 * and the CDK configuration read. `probe --cleanup` deletes the throwaway clients a killed run left.
 * See docs/cli.md "probe".
 */
import { resolve } from "node:path";
import { describeError } from "../../lambda/shared/errors.ts";
import { type GenesysProfile, writeGenesysProfileFile } from "../../lambda/shared/genesys/profile.ts";
import {
  type CommandSpec,
  clientIdOption,
  environmentOption,
  flag,
  integerOption,
  optionalString,
  type ParsedValues,
  secretIdOption,
} from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { openAdminSession } from "./genesys.ts";
import { cleanupLeftovers } from "./probe/cleanup.ts";
import {
  DEFAULT_PROBE_SETTINGS,
  measureGenesys,
  PROBE_CLIENT_PREFIX,
  ProbeInterruptedError,
  type ProbeSettings,
} from "./probe/measure.ts";
import { explainProfile } from "./probe/summary.ts";
import { ProbeTransport } from "./probe/transport.ts";
import type { CliDependencies } from "./runtime.ts";
import { readAdminCredential, readSecretFromStdin } from "./seed.ts";

export const probeSpec: CommandSpec = {
  name: "probe",
  summary: "Measure the Genesys behaviours rotation depends on, in your org, and write a profile file.",
  details: [
    `Creates ONE throwaway client-credentials OAuth client (name ${PROBE_CLIENT_PREFIX}<time>-<random>, no`,
    "roles), measures with it: the status of a wrong-secret answer, how long a regenerated secret takes to be",
    "accepted (--regenerations times), whether tokens survive a regeneration, whether dateModified moves,",
    "whether client ids are case-sensitive, the default token lifetime; then deletes it, also on Ctrl-C and",
    "on errors (a killed run: `probe --cleanup` deletes leftovers by their name prefix). Needs an admin",
    "credential with oauth:client:add, edit, delete and view. Requests, one at a time: about 15, plus per",
    "new secret (the client's own and each regeneration's) 3 when it is accepted at once and about 25 when",
    `it takes 10 s; never more than --max-requests (default ${DEFAULT_PROBE_SETTINGS.maxRequests}). Far below Genesys' rate limits; the probe`,
    "never provokes one. The count is printed at the end. The profile (--out) holds no secret, token or",
    "client id; run the drill under it (docs/drill.md).",
  ].join("\n"),
  options: {
    environment: {
      type: "string",
      value: "<domain>",
      description: "Genesys environment, e.g. mypurecloud.ie (required)",
    },
    out: {
      type: "string",
      value: "<file>",
      description: "where to write the profile JSON (required unless --cleanup)",
    },
    "admin-secret-id": {
      type: "string",
      value: "<name|arn>",
      description: "the admin credential's secret in Secrets Manager",
    },
    "admin-client-id": {
      type: "string",
      value: "<id>",
      description: "or the admin client id, its secret read from stdin (--client-secret-stdin)",
    },
    "client-secret-stdin": { type: "boolean", description: "read the admin client's secret from stdin" },
    regenerations: { type: "string", value: "<n>", description: "regenerations timed (1-10, default 3)" },
    "max-wait-seconds": {
      type: "string",
      value: "<n>",
      description: "longest wait for one new secret to be accepted (5-600, default 120)",
    },
    "max-requests": {
      type: "string",
      value: "<n>",
      description: `request budget of the whole run (50-2000, default ${DEFAULT_PROBE_SETTINGS.maxRequests})`,
    },
    "min-poll-ms": {
      type: "string",
      value: "<ms>",
      description: "shortest pause between token requests (50-5000, default 250)",
    },
    cleanup: {
      type: "boolean",
      description: `delete every client named ${PROBE_CLIENT_PREFIX}* (leftovers of a killed run) and exit`,
    },
  },
  examples: [
    "probe --environment mypurecloud.ie --admin-secret-id genesys/admin --out genesys-profile.json",
    "probe --environment mypurecloud.ie --admin-client-id <id> --client-secret-stdin --out genesys-profile.json < admin.txt",
    "probe --environment mypurecloud.ie --admin-secret-id genesys/admin --cleanup",
  ],
};

/** Validated input of `probe`. */
export interface ProbeInput {
  environment: string;
  admin: { secretId: string } | { clientId: string };
  cleanup: boolean;
  outFile?: string;
  settings: ProbeSettings;
}

/** Parses and validates `probe` flags. */
export function parseProbeInput(values: ParsedValues): ProbeInput {
  const secretId = secretIdOption(values, "admin-secret-id", false);
  const clientId = clientIdOption(values, "admin-client-id", false);
  const stdin = flag(values, "client-secret-stdin");
  if ((secretId === undefined) === (clientId === undefined)) {
    throw new UsageError(
      "--admin-secret-id",
      "or --admin-client-id (with --client-secret-stdin) is required (exactly one)",
    );
  }
  if (clientId !== undefined && !stdin) {
    throw new UsageError("--admin-client-id", "needs --client-secret-stdin: the secret is never an argument");
  }
  if (secretId !== undefined && stdin) {
    throw new UsageError("--client-secret-stdin", "is only for --admin-client-id");
  }
  const cleanup = flag(values, "cleanup");
  const outFile = optionalString(values, "out");
  if (!cleanup && (outFile === undefined || outFile.trim() === "")) {
    throw new UsageError("--out", "is required: the file the profile is written to");
  }
  if (cleanup && outFile !== undefined) throw new UsageError("--out", "is not allowed with --cleanup");
  return {
    environment: environmentOption(values, "environment"),
    admin: secretId !== undefined ? { secretId } : { clientId: clientId ?? "" },
    cleanup,
    ...(outFile === undefined ? {} : { outFile }),
    settings: {
      ...DEFAULT_PROBE_SETTINGS,
      regenerations: integerOption(values, "regenerations", { min: 1, max: 10, default: 3 }),
      maxWaitMs: integerOption(values, "max-wait-seconds", { min: 5, max: 600, default: 120 }) * 1000,
      maxRequests: integerOption(values, "max-requests", {
        min: 50,
        max: 2000,
        default: DEFAULT_PROBE_SETTINGS.maxRequests,
      }),
      minPollMs: integerOption(values, "min-poll-ms", {
        min: 50,
        max: 5000,
        default: DEFAULT_PROBE_SETTINGS.minPollMs,
      }),
    },
  };
}

/** What `probe` reports (no secret, no token). */
export type ProbeReport =
  | {
      mode: "measure";
      profileFile: string;
      profile: GenesysProfile;
      throwawayClient: { id: string; name: string; deleted: true };
      durationSeconds: number;
      requests: number;
    }
  | { mode: "cleanup"; deleted: { id: string; name: string }[]; requests: number };

/** Where interruptions come from: the process's SIGINT/SIGTERM by default, an emitter in tests. */
export interface InterruptSource {
  /** Calls `listener` with the signal's name on each interruption; returns the unsubscribe function. */
  subscribe(listener: (signal: string) => void): () => void;
}

export const processInterrupts: InterruptSource = {
  subscribe(listener) {
    const onInt = () => listener("SIGINT");
    const onTerm = () => listener("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  },
};

/** Runs `probe` (or `probe --cleanup`). */
export async function runProbe(
  input: ProbeInput,
  deps: CliDependencies,
  interrupts: InterruptSource = processInterrupts,
): Promise<ProbeReport> {
  const endpoints = deps.genesys.endpoints(input.environment);
  const admin =
    "secretId" in input.admin
      ? (await readAdminCredential(deps, input.admin.secretId, input.environment)).value
      : {
          environment: input.environment,
          clientId: input.admin.clientId,
          clientSecret: await readSecretFromStdin(deps),
        };
  const transport = new ProbeTransport(endpoints, deps.clock);
  const aborter = new AbortController();
  const unsubscribe = interrupts.subscribe((signal) => {
    if (aborter.signal.aborted) {
      deps.out.stderr("probe: still deleting the throwaway client; wait a few seconds…");
      return;
    }
    deps.out.stderr(`probe: ${signal} received; deleting the throwaway client…`);
    aborter.abort(new ProbeInterruptedError(signal));
  });
  try {
    const what =
      "secretId" in input.admin ? `the admin credential in ${input.admin.secretId}` : "the admin credential";
    // The admin token goes through the counting transport too (openAdminSession's own mint would not).
    const session = await openAdminSession(
      {
        genesys: {
          ...deps.genesys,
          requestToken: (_e, id, secret) => transport.mint(id, secret),
          api: (_e, token) => transport.api(token),
        },
      },
      admin,
      what,
    );
    if (input.cleanup) {
      const deleted = await cleanupLeftovers(session.api, (line) => deps.out.stderr(line));
      return { mode: "cleanup", deleted, requests: transport.requests };
    }
    const outFile = resolve(input.outFile ?? "");
    const outcome = await measureGenesys(
      {
        clock: deps.clock,
        signal: aborter.signal,
        transport,
        environment: input.environment,
        progress: (line) => deps.out.stderr(line),
      },
      session.api,
      input.settings,
    );
    // The count includes the deletion of the throwaway client.
    const profile = { ...outcome.profile, requests: transport.requests };
    try {
      writeGenesysProfileFile(outFile, profile);
    } catch (error) {
      throw new CliError(
        `probe: cannot write the profile to ${outFile} (${describeError(error).errorMessage}).`,
        {
          cause: error,
        },
      );
    }
    return {
      mode: "measure",
      profileFile: outFile,
      profile,
      throwawayClient: { ...outcome.client, deleted: true },
      durationSeconds: outcome.durationSeconds,
      requests: transport.requests,
    };
  } finally {
    unsubscribe();
    await transport.close();
  }
}

/** The human summary of `probe`. */
export function renderProbe(report: ProbeReport): string {
  if (report.mode === "cleanup") {
    return [
      report.deleted.length === 0
        ? `No ${PROBE_CLIENT_PREFIX}* client was left: nothing to delete.`
        : `Deleted ${report.deleted.length} leftover probe client(s): ${report.deleted.map((c) => `${c.name} (${c.id})`).join(", ")}.`,
      `Requests sent: ${report.requests}.`,
    ].join("\n");
  }
  return [
    `Profile written to ${report.profileFile} (${report.durationSeconds} s, throwaway client ${report.throwawayClient.name} deleted).`,
    "",
    ...explainProfile(report.profile),
    "",
    `Requests sent: ${report.requests}.`,
  ].join("\n");
}
