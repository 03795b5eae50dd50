/**
 * `status --local` against the local stack on the official DynamoDB Local (the `npm run local-stack`
 * default). DynamoDB Local without -sharedDb keeps one database per access key id and region, so the CLI
 * sees the vending function's token table only when it signs with the stack's own dummy credentials —
 * which it reads from `.local-stack.json`. (commands.test.ts runs everything else on dynalite, which
 * ignores credentials and so cannot show this.)
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { StatusReport } from "../../bin/cli/status.ts";
import { type CliStack, startCliStack } from "../../local/cli-stack/stack.ts";
import { LOCAL_AWS } from "../../local/shared/local-aws.ts";
import { DRILL_IDS } from "../../local/stack/seed.ts";
import { DRILL_NAMES } from "../../local/stack/stack.ts";
import { type CliRun, runCli, stopAfterLeakCheck } from "./support.ts";

describe("status --local on DynamoDB Local", () => {
  let stack: CliStack;
  let directory: string;
  let endpointsFile: string;
  const runs: CliRun[] = [];
  /** Runs the CLI as an operator does: target and clients built from the endpoints file. */
  const cli = async (argv: readonly string[]) => {
    const run = await runCli([...argv, "--endpoints", endpointsFile]);
    runs.push(run);
    return run;
  };

  before(async () => {
    stack = await startCliStack({ preferDynalite: false, maxRotationAttempts: 2, rotationRetryDelayMs: 100 });
    directory = await mkdtemp(join(tmpdir(), "genesys-rotator-ddb-"));
    endpointsFile = join(directory, ".local-stack.json");
    // What `npm run local-stack` writes.
    await writeFile(endpointsFile, `${JSON.stringify(stack.endpoints, null, 2)}\n`);
  });
  after(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    await stopAfterLeakCheck(stack, runs);
  });

  it("runs on DynamoDB Local, not dynalite", () => {
    // Java is a documented prerequisite of the default stack; without it this test would prove nothing.
    assert.equal(stack.drill.dynamoDb.engine, "dynamodb-local");
  });

  it("shows the token-cache entry the vending function wrote", async () => {
    const vend = await cli(["vend"]);
    assert.equal(vend.code, 0, vend.stderr);

    const run = await cli(["status", "--secret-id", DRILL_NAMES.appSecret]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.match(run.stdout, new RegExp(`Token cache:\\n {2}entry +${DRILL_NAMES.tokenTable}/app\\n`));
    assert.match(run.stdout, new RegExp(`\\n {2}client +${DRILL_IDS.appA}\\n`));

    const json = await cli(["status", "--secret-id", DRILL_NAMES.appSecret, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as StatusReport;
    assert.equal(report.tokenCacheError, undefined);
    assert.equal(report.tokenCache?.present, true);
    assert.equal(report.tokenCache?.clientId, DRILL_IDS.appA);
  });

  it("publishes exactly the stack's region and dummy credentials, nothing the SDK added", () => {
    assert.equal(stack.endpoints.region, LOCAL_AWS.region);
    assert.deepEqual(stack.endpoints.awsCredentials, {
      accessKeyId: LOCAL_AWS.credentials.accessKeyId,
      secretAccessKey: LOCAL_AWS.credentials.secretAccessKey,
    });
  });
});
