/**
 * Every command against the local stack (Genesys emulator, Secrets Manager emulator, dynalite, Lambda
 * emulator running the real rotation and vending handlers), through the CLI's own `main` — plus one run
 * of the real binary. (DynamoDB Local, which partitions data by credentials: local-dynamodb.test.ts.) Every captured output is checked against the emulator's issued secrets and tokens.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { RecoverReport } from "../../bin/cli/recover.ts";
import type { SeedReport } from "../../bin/cli/seed.ts";
import type { StatusAllReport, StatusReport } from "../../bin/cli/status.ts";
import type { VendReport } from "../../bin/cli/vend.ts";
import { serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { type CliStack, startCliStack } from "../../local/cli-stack/stack.ts";
import { DRILL_IDS } from "../../local/stack/seed.ts";
import { aheadClock, type CliRun, leaks, recordedLocalRunner, stopAfterLeakCheck } from "./support.ts";

const HOUR_MS = 3_600_000;

describe("genesys-rotator against the local stack", () => {
  let stack: CliStack;
  let appSecret: string;
  let adminSecret: string;
  const runs: CliRun[] = [];
  const cli = recordedLocalRunner(() => stack, runs);

  before(async () => {
    stack = await startCliStack({ preferDynalite: true, maxRotationAttempts: 2, rotationRetryDelayMs: 100 });
    appSecret = stack.endpoints.secrets.app!;
    adminSecret = stack.endpoints.secrets.admin!;
  });
  after(async () => {
    // No secret and no token in anything any command printed, in any test.
    await stopAfterLeakCheck(stack, runs);
  });

  it("status shows versions, labels, the client each names, the schedule and the token cache", async () => {
    const run = await cli(["status", "--secret-id", appSecret, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as StatusReport;
    assert.equal(report.secret.rotationEnabled, true);
    assert.equal(report.secret.schedule, "rate(90 days)");
    assert.ok(report.secret.nextRotationAt);
    const current = report.secret.versions.find((version) => version.stages.includes("AWSCURRENT"));
    assert.deepEqual(current?.content.kind === "credential" && current.content.clientId, DRILL_IDS.appA);
    assert.equal(report.secret.pendingRotation, undefined);
    assert.equal(report.tokenCache?.credential, "app");

    const text = await cli(["status", "--secret-id", appSecret]);
    assert.match(text.stdout, /Rotation {2}enabled \(rate\(90 days\)\)/);
    assert.match(
      text.stdout,
      new RegExp(`AWSCURRENT .* client ${DRILL_IDS.appA} \\(twin ${DRILL_IDS.appB}\\)`),
    );
  });

  it("status --all lists the local stack's secrets with rotation, next rotation and no stuck version", async () => {
    const run = await cli(["status", "--all", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as StatusAllReport;
    assert.deepEqual(report.secrets.map((secret) => secret.name).sort(), [adminSecret, appSecret].sort());
    for (const secret of report.secrets) {
      assert.equal(secret.rotationEnabled, true, secret.name);
      assert.ok(secret.nextRotationAt, secret.name);
      assert.equal(secret.pendingRotation, undefined, secret.name);
    }
    const text = await cli(["status", "--all"]);
    assert.match(text.stdout, /^Rotated secrets of the local stack:/);
  });

  it("status still reports the secret, exit 0, when the token cache cannot be read", async () => {
    const missing = await cli([
      "status",
      "--secret-id",
      appSecret,
      "--table",
      "no-such-table",
      "--credential",
      "app",
    ]);
    assert.equal(missing.code, 0, missing.stderr);
    assert.match(missing.stdout, /Versions \(newest first\):\n.*\n.* AWSCURRENT /);
    assert.match(
      missing.stdout,
      /\nToken cache:\n {2}unavailable: Table "no-such-table" not found in region eu-west-1 \(GetItem\)\. Check the name and --region\.$/,
    );

    // DynamoDB down: the JSON report carries the one-line reason and the complete secret state.
    stack.drill.dynamoDb.outage.begin("refuse");
    let down: CliRun;
    try {
      down = await cli(["status", "--secret-id", appSecret, "--json"]);
    } finally {
      stack.drill.dynamoDb.outage.end();
    }
    assert.equal(down.code, 0, down.stderr);
    const report = JSON.parse(down.stdout) as StatusReport;
    assert.equal(report.tokenCache, undefined);
    assert.match(
      report.tokenCacheError ?? "",
      /^Cannot reach http:\/\/127\.0\.0\.1:\d+ for GetItem on table/,
    );
    assert.doesNotMatch(report.tokenCacheError ?? "", /\n/);
    assert.ok(report.secret.versions.some((version) => version.stages.includes("AWSCURRENT")));
  });

  it("vend prints client, environment and expiry, never the token", async () => {
    const before = stack.drill.genesys.issued.accessTokens.size;
    const run = await cli(["vend", "--credential", "app"]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(stack.drill.genesys.issued.accessTokens.size > before, "a token was minted");
    assert.match(run.stdout, new RegExp(`Client +${DRILL_IDS.appA}`));
    assert.match(run.stdout, /Environment +mypurecloud\.ie/);
    assert.match(run.stdout, /Token +\(not shown\)/);
    assert.deepEqual(leaks(stack, run.output.all()), { secrets: 0, accessTokens: 0 });

    const json = await cli(["vend", "--credential", "app", "--json"]);
    const report = JSON.parse(json.stdout) as VendReport & { accessToken?: string };
    assert.equal(report.client?.id, DRILL_IDS.appA);
    assert.equal(report.accessToken, undefined);
    assert.ok(Date.parse(report.expiresAt) > Date.now());
    assert.deepEqual(leaks(stack, json.output.all()), { secrets: 0, accessTokens: 0 });

    const status = JSON.parse(
      (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
    ) as StatusReport;
    assert.equal(status.tokenCache?.present, true);
    assert.equal(status.tokenCache?.clientId, DRILL_IDS.appA);
    assert.ok((status.tokenCache?.generation ?? 0) >= 1);
  });

  it("vend: an unknown credential has no alias to invoke; without --credential the stack's first is vended", async () => {
    const run = await cli(["vend", "--credential", "nope"]);
    // No such alias: Lambda itself answers ResourceNotFoundException, an AWS call failure (exit 3).
    assert.equal(run.code, 3, "an AWS call failure exits 3");
    assert.match(run.stderr, /genesys-token-vendor:nope/);
    assert.match(run.stderr, /ResourceNotFoundException|not found/i);
    const first = await cli(["vend", "--skip-whoami"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Vended by +genesys-token-vendor \(credential app\)/);
    assert.deepEqual(leaks(stack, first.output.all()), { secrets: 0, accessTokens: 0 });
  });

  it("rotate --wait rotates to the twin", async () => {
    // The CLI's default wait (300 s): a rotation on a loaded machine can take well over a minute.
    const run = await cli(["rotate", "--secret-id", appSecret, "--wait", "--timeout-seconds", "300"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Rotation succeeded: version \S+ is now AWSCURRENT/);
    const current = await stack.drill.readCurrent();
    assert.equal(current.value.clientId, DRILL_IDS.appB);
  });

  it("flags a stuck rotation with the fix, and recover clears it after checking AWSCURRENT works", async () => {
    let pendingVersion = "";
    // Every secret regeneration fails: createSecret never stores a value and AWSPENDING is left stuck.
    const faults = stack.drill.genesys.faults;
    faults.serverErrors.nextN = 1000;
    faults.serverErrors.target = { pathPrefix: "/api/v2/oauth/clients", method: "POST" };
    const failures = () =>
      stack.drill.secretsManager.events.filter((e) => e.eventName === "RotationFailed").length;
    try {
      const started = await cli(["rotate", "--secret-id", appSecret]);
      assert.equal(started.code, 0, started.stderr);
      const event = await stack.drill.secretsManager.waitForRotation(appSecret, { timeoutMs: 300_000 });
      assert.equal(event.eventName, "RotationFailed");

      // Fresh: reported as in progress. An hour later (injected clock): stuck, with the exact fix.
      const fresh = JSON.parse(
        (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
      ) as StatusReport;
      assert.equal(fresh.secret.pendingRotation?.stuck, false);
      pendingVersion = fresh.secret.pendingRotation?.versionId ?? "";
      const later = await cli(["status", "--secret-id", appSecret], { clock: aheadClock(HOUR_MS) });
      assert.match(later.stdout, new RegExp(`STUCK ROTATION: AWSPENDING is on version ${pendingVersion}`));
      assert.match(later.stdout, /\(empty: rotation never stored a value\)/);
      assert.match(later.stdout, new RegExp(`npx genesys-rotator recover --secret-id ${appSecret} --local`));
      assert.match(
        later.stdout,
        new RegExp(`--version-stage AWSPENDING --remove-from-version-id ${pendingVersion}`),
      );

      // RotateSecret is refused (and, as on AWS, the stuck rotation is reattempted: it fails again here).
      const failedBefore = failures();
      const refused = await cli(["rotate", "--secret-id", appSecret]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /previous rotation of .* is not complete/);
      for (let waited = 0; failures() === failedBefore && waited < 60_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      faults.serverErrors.nextN = 0;
    }

    // A young pending rotation is not touched without --force, even with --apply.
    const young = await cli(["recover", "--secret-id", appSecret, "--apply", "--yes"]);
    assert.match(young.stdout, /may still be running/);

    const dryRun = await cli(["recover", "--secret-id", appSecret, "--json"], { clock: aheadClock(HOUR_MS) });
    assert.equal(dryRun.code, 0, dryRun.stderr);
    const plan = JSON.parse(dryRun.stdout) as RecoverReport;
    assert.deepEqual(plan.plan, { action: "remove-pending", pendingVersionId: pendingVersion });
    assert.equal(plan.applied, false);
    // AWSCURRENT works (alternating rotations never touch the active client) and AWSPENDING is empty.
    assert.deepEqual(
      plan.checks.slice(0, 2).map((check) => [check.label, check.result]),
      [
        ["AWSCURRENT", "works"],
        ["AWSPENDING", "empty"],
      ],
    );

    const noTerminal = await cli(["recover", "--secret-id", appSecret, "--apply"], {
      clock: aheadClock(HOUR_MS),
    });
    assert.equal(noTerminal.code, 2);
    assert.match(noTerminal.stderr, /--yes is required with --apply when there is no terminal/);

    const declined = await cli(["recover", "--secret-id", appSecret, "--apply"], {
      clock: aheadClock(HOUR_MS),
      confirm: async () => false,
    });
    assert.match(declined.stdout, /declined at the prompt/);

    // While the prompt waits, a retried createSecret fills the empty placeholder (labels unchanged):
    // the plan was made on another secret, so recover refuses rather than drop the new value.
    const current = await stack.drill.readCurrent();
    const raced = await cli(["recover", "--secret-id", appSecret, "--apply"], {
      clock: aheadClock(HOUR_MS),
      confirm: async () => {
        await stack.drill.secretsManagerClient.send(
          new PutSecretValueCommand({
            SecretId: appSecret,
            ClientRequestToken: pendingVersion,
            SecretString: serializeCredentialSecret(current.value),
            VersionStages: ["AWSPENDING"],
          }),
        );
        return true;
      },
    });
    assert.equal(raced.code, 1, raced.stdout);
    assert.match(
      raced.stderr,
      new RegExp(
        `changed while recover was waiting \\(version ${pendingVersion} now holds a different value`,
      ),
    );
    const stillPending = JSON.parse(
      (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
    ) as StatusReport;
    assert.equal(stillPending.secret.pendingRotation?.versionId, pendingVersion, "AWSPENDING was kept");

    const applied = await cli(["recover", "--secret-id", appSecret, "--apply"], {
      clock: aheadClock(HOUR_MS),
      confirm: async () => true,
    });
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Done\./);
    const after = JSON.parse(
      (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
    ) as StatusReport;
    assert.equal(after.secret.pendingRotation, undefined);

    const again = await cli(["rotate", "--secret-id", appSecret, "--wait"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await stack.drill.readCurrent()).value.clientId, DRILL_IDS.appA);
  });

  it("recover removes the rotation function's regeneration marker when AWSCURRENT works", async () => {
    const { versionId } = await stack.drill.readCurrent();
    await stack.drill.secretsManagerClient.send(
      new UpdateSecretVersionStageCommand({
        SecretId: appSecret,
        VersionStage: "GENESYS_REGENERATING",
        MoveToVersionId: versionId,
      }),
    );
    const applied = await cli(["recover", "--secret-id", appSecret, "--apply", "--yes", "--json"]);
    assert.equal(applied.code, 0, applied.stderr);
    const report = JSON.parse(applied.stdout) as RecoverReport;
    assert.deepEqual(report.plan, { action: "clear-marker", markerVersionId: versionId });
    assert.equal(report.applied, true);
    const status = JSON.parse(
      (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
    ) as StatusReport;
    assert.ok(!status.secret.versions.some((version) => version.stages.includes("GENESYS_REGENERATING")));
  });

  it("seed creates the twin with the same roles and lifetime, stores the value, and is idempotent", async () => {
    const genesys = stack.drill.genesys.state;
    const roleDivisions = [{ roleId: DRILL_IDS.appRole, divisionId: "*" }];
    const billing = genesys.addClient({ name: "billing", roleDivisions, accessTokenValiditySeconds: 7200 });
    const args = [
      "seed",
      "--secret-id",
      "genesys/billing",
      "--environment",
      "mypurecloud.ie",
      "--client-id",
      billing.id,
      "--admin-secret-id",
      adminSecret,
      "--client-secret-stdin",
    ];
    const stdin = { readStdin: async () => `${billing.secret}\n` };

    const first = await cli([...args, "--json"], stdin);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout) as SeedReport;
    assert.equal(report.action, "created");
    assert.equal(report.twin?.action, "created");
    assert.equal(report.twin?.name, "billing-twin");
    assert.equal(report.clientId, billing.id);
    const twin = genesys.getClient(report.twin?.id ?? "");
    assert.deepEqual(twin?.roleDivisions, roleDivisions);
    assert.equal(twin?.accessTokenValiditySeconds, 7200);
    const stored = JSON.parse(
      (await cli(["status", "--secret-id", "genesys/billing", "--json"])).stdout,
    ) as StatusReport;
    const content = stored.secret.versions[0]?.content;
    assert.deepEqual(
      content?.kind === "credential" && [content.clientId, content.alternateClientId, content.adminSecretArn],
      [billing.id, twin?.id, stack.drill.secrets.admin],
    );

    const second = await cli(args, stdin);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^Unchanged:/);
    assert.equal(genesys.clients().filter((client) => client.name === "billing-twin").length, 1);

    const different = await cli(args, { readStdin: async () => "another-secret-value" });
    assert.equal(different.code, 1);
    assert.match(different.stderr, /already holds a different credential .* pass --force/);

    // The twin is what rotation regenerates: rotate once and the twin is active.
    const rotated = await cli(["rotate", "--secret-id", "genesys/billing", "--wait"], {});
    // No rotation function is configured on a secret seed created: the CLI says what to do.
    assert.equal(rotated.code, 1);
    assert.match(rotated.stderr, /Rotation is not configured for genesys\/billing/);
  });

  it("seed reuses a twin left by an interrupted run and rejects a wrong stdin secret before storing", async () => {
    const genesys = stack.drill.genesys.state;
    const roleDivisions = [{ roleId: DRILL_IDS.appRole, divisionId: "*" }];
    const payroll = genesys.addClient({ name: "payroll", roleDivisions });
    const leftover = genesys.addClient({
      name: "payroll-twin",
      roleDivisions: [],
      accessTokenValiditySeconds: 300,
    });
    const args = [
      "seed",
      "--secret-id",
      "genesys/payroll",
      "--environment",
      "mypurecloud.ie",
      "--client-id",
      payroll.id,
      "--admin-secret-id",
      adminSecret,
    ];
    const wrong = await cli([...args, "--client-secret-stdin"], { readStdin: async () => "not-the-secret" });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Genesys rejected the secret given on stdin for client .*nothing was stored/);

    const run = await cli([...args, "--regenerate-secret", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SeedReport;
    assert.deepEqual(report.twin, { id: leftover.id, name: "payroll-twin", action: "updated" });
    assert.equal(report.clientId, leftover.id, "the twin becomes the active client");
    assert.equal(report.alternateClientId, payroll.id);
    assert.equal(report.secretSource, "regenerated");
    assert.deepEqual(genesys.getClient(leftover.id)?.roleDivisions, roleDivisions);
    assert.equal(
      genesys.getClient(leftover.id)?.accessTokenValiditySeconds,
      payroll.accessTokenValiditySeconds,
    );
    assert.equal(
      genesys.getClient(payroll.id)?.secret,
      payroll.secret,
      "the original client keeps its secret",
    );
    assert.equal(genesys.clients().filter((client) => client.name.startsWith("payroll")).length, 2);
  });

  it("seed checks the target before regenerating and never loses a regenerated secret", async () => {
    const genesys = stack.drill.genesys;
    const client = genesys.state.addClient({
      name: "ledger",
      roleDivisions: [{ roleId: DRILL_IDS.appRole, divisionId: "*" }],
    });
    const args = (secretId: string) => [
      "seed",
      "--secret-id",
      secretId,
      "--environment",
      "mypurecloud.ie",
      "--client-id",
      client.id,
      "--admin-secret-id",
      adminSecret,
      "--strategy",
      "single",
      "--regenerate-secret",
      "--propagation-timeout-seconds",
      "1",
    ];
    const stored = async (secretId: string) =>
      (await stack.drill.secretsManagerClient.send(new GetSecretValueCommand({ SecretId: secretId })))
        .SecretString ?? "";

    // An ARN that names no secret cannot be created: refused before Genesys is touched.
    const unknownArn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/ledger-AbCdEf";
    const byArn = await cli(args(unknownArn));
    assert.equal(byArn.code, 1);
    assert.match(byArn.stderr, /does not exist; to create it, pass its name \(not an ARN\)/);
    assert.equal(genesys.counters.regenerations(client.id), 0);

    // CreateSecret fails after the regeneration: the error says so and how to recover.
    stack.drill.secretsManager.faults.failNext("CreateSecret", "AccessDeniedException");
    const failedWrite = await cli(args("genesys/ledger"));
    assert.equal(failedWrite.code, 1);
    assert.equal(genesys.counters.regenerations(client.id), 1);
    assert.match(
      failedWrite.stderr,
      /Genesys generated a new secret for client \S+ \(regenerated or created\) but storing it in genesys\/ledger failed .*run the same seed command again/,
    );
    assert.equal(failedWrite.stderr.split("\n").filter((line) => line.trim() !== "").length, 1);

    // The new secret propagates slower than the wait: it is stored first, so nothing is lost.
    genesys.faults.propagationDelayMs = 600_000;
    try {
      const slow = await cli(args("genesys/ledger"));
      assert.equal(slow.code, 1);
      assert.match(
        slow.stderr,
        /is stored in \S+ \(version \S+\), but it could not be verified: .*nothing is lost/,
      );
      const secret = genesys.state.getClient(client.id)?.secret;
      assert.ok(secret !== undefined);
      assert.equal(JSON.parse(await stored("genesys/ledger")).clientSecret, secret);
    } finally {
      genesys.faults.propagationDelayMs = 0;
    }
    assert.equal(genesys.counters.regenerations(client.id), 2);
  });

  it("seeds the admin pair itself from stdin", async () => {
    const genesys = stack.drill.genesys.state;
    const adminA = genesys.getClient(DRILL_IDS.adminA);
    const run = await cli(
      [
        "seed",
        "--admin-pair",
        "--secret-id",
        "genesys/admin-2",
        "--environment",
        "mypurecloud.ie",
        "--client-id",
        DRILL_IDS.adminA,
        "--twin-client-id",
        DRILL_IDS.adminB,
        "--client-secret-stdin",
        "--json",
      ],
      { readStdin: async () => adminA?.secret ?? "" },
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as SeedReport;
    assert.equal(report.action, "created");
    assert.equal(report.adminSecretArn, undefined);
    assert.deepEqual(report.twin, {
      id: DRILL_IDS.adminB,
      name: genesys.getClient(DRILL_IDS.adminB)?.name,
      action: "reused",
    });
  });

  it("the installed binary runs with --endpoints and exits with the documented codes", async () => {
    const directory = await mkdtemp(join(tmpdir(), "genesys-rotator-"));
    after(() => rm(directory, { recursive: true, force: true }));
    const file = join(directory, ".local-stack.json");
    await writeFile(file, JSON.stringify(stack.endpoints));
    const binary = fileURLToPath(new URL("../../bin/genesys-rotator.mjs", import.meta.url));
    const run = promisify(execFile);
    const ok = await run(
      process.execPath,
      [binary, "status", "--endpoints", file, "--secret-id", appSecret],
      {
        timeout: 60_000,
      },
    );
    assert.match(ok.stdout, /Versions \(newest first\):/);
    assert.deepEqual(leaks(stack, ok.stdout + ok.stderr), { secrets: 0, accessTokens: 0 });
    await assert.rejects(
      run(process.execPath, [binary, "status"], { timeout: 60_000 }),
      (error: { code?: number; stdout?: string; stderr?: string }) => {
        assert.equal(error.code, 2);
        assert.match(error.stderr ?? "", /^Usage: genesys-rotator status \[options\]/);
        assert.equal(error.stdout, "");
        return true;
      },
    );
    await assert.rejects(
      run(process.execPath, [binary, "status", "--endpoints", file, "--secret-id", "drill/none", "--json"], {
        timeout: 60_000,
      }),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 3, "an AWS call failed");
        assert.equal(JSON.parse(error.stderr ?? "").error.name, "AwsCallError");
        return true;
      },
    );
    const version = await run(process.execPath, [binary, "--version"], { timeout: 60_000 });
    assert.match(version.stdout, /^genesys-rotator \d+\.\d+\.\d+\n$/);
  });
});
