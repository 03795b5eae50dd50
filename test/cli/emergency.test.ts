/**
 * `genesys-rotator emergency` against the local stack (real rotation and vending handlers in the Lambda
 * emulator, Genesys and Secrets Manager emulators): the dry-run plan, the confirmation, a full run with
 * and without --replace-client, and a run interrupted after each phase and run again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { EmergencyReport } from "../../bin/cli/emergency.ts";
import { EMERGENCY_TAG, formatEmergencyTag, parseEmergencyTag } from "../../bin/cli/emergency-state.ts";
import type { StatusReport } from "../../bin/cli/status.ts";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import { resolveEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import { type CredentialSecret, parseCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { type CliStack, startCliStack } from "../../local/cli-stack/stack.ts";
import { DRILL_ENVIRONMENT, DRILL_IDS } from "../../local/stack/seed.ts";
import { type CliRun, recordedLocalRunner, runCli, stopAfterLeakCheck } from "./support.ts";

describe("genesys-rotator emergency", () => {
  let stack: CliStack;
  let appSecret: string;
  const runs: CliRun[] = [];
  const cli = recordedLocalRunner(() => stack, runs);
  const endpoints = () => resolveEndpoints(DRILL_ENVIRONMENT, { endpointOverride: stack.endpoints.genesys });
  const labels = async () => {
    const described = await stack.drill.secretsManagerClient.send(
      new DescribeSecretCommand({ SecretId: appSecret }),
    );
    const holder = (label: string) =>
      Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(label))?.[0];
    return {
      current: holder("AWSCURRENT"),
      previous: holder("AWSPREVIOUS"),
      pending: holder("AWSPENDING"),
      tag: parseEmergencyTag(described.Tags?.find((tag) => tag.Key === EMERGENCY_TAG)?.Value),
    };
  };
  const previousValue = async (): Promise<CredentialSecret> =>
    parseCredentialSecret(
      (
        await stack.drill.secretsManagerClient.send(
          new GetSecretValueCommand({ SecretId: appSecret, VersionStage: "AWSPREVIOUS" }),
        )
      ).SecretString,
    );
  const rotationsSucceeded = () =>
    stack.drill.secretsManager.events.filter((event) => event.eventName === "RotationSucceeded").length;

  before(async () => {
    stack = await startCliStack({ preferDynalite: true, maxRotationAttempts: 2, rotationRetryDelayMs: 100 });
    appSecret = stack.endpoints.secrets.app!;
  });
  after(async () => {
    await stopAfterLeakCheck(stack, runs);
  });

  it("the progress tag holds ids and a time only, in characters a tag value allows", () => {
    const record = {
      phase: "rotated",
      mode: "replace-client",
      leaked: DRILL_IDS.appA,
      version: "ignore-min-gap-0b6b1c1e-6a3f-4a49-9b8c-2f7d2c1d9e11",
      started: "2026-12-04T18:30:55.000Z",
    } as const;
    const value = formatEmergencyTag(record) ?? "";
    assert.match(value, /^[\p{L}\p{N} _.:/=+\-@]{1,256}$/u);
    assert.deepEqual(parseEmergencyTag(value), record);
    assert.equal(parseEmergencyTag("phase=rotated leaked=x"), undefined);
    assert.equal(parseEmergencyTag(value.replace("phase=rotated", "phase=halfway")), undefined);
    assert.equal(
      formatEmergencyTag({ ...record, leaked: "a".repeat(128), version: "b".repeat(128) }),
      undefined,
    );
  });

  it("needs the vendor to wait for on AWS, and refuses --yes with --dry-run", async () => {
    const noVendor = await runCli(["emergency", "--secret-id", "genesys/app"]);
    assert.equal(noVendor.code, 2);
    assert.match(noVendor.stderr, /--function-name .*is required to wait for the token vendor/);
    const both = await runCli([
      "emergency",
      "--secret-id",
      "genesys/app",
      "--skip-vendor-check",
      "--dry-run",
      "--yes",
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--yes .*does not apply with --dry-run/);
  });

  it("--dry-run prints the plan and changes nothing; without a terminal --yes is required; declining changes nothing", async () => {
    const before = await labels();
    const run = await cli(["emergency", "--secret-id", appSecret, "--dry-run", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as EmergencyReport;
    assert.equal(plan.leakedClientId, DRILL_IDS.appA);
    assert.equal(plan.currentClientId, DRILL_IDS.appB);
    assert.equal(plan.applied, false);
    assert.deepEqual(
      plan.steps.map((step) => [step.step, step.status]),
      [
        ["rotate", "planned"],
        ["wait-for-vendor", "planned"],
        ["retire-previous", "planned"],
        ["regenerate-leaked", "planned"],
      ],
    );
    const text = await cli(["emergency", "--secret-id", appSecret, "--dry-run", "--replace-client"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Plan \(dry run, nothing changed\) for the leaked client /);
    assert.match(text.stdout, /\[to do\] +delete the client d7111000-0000-4000-8000-0000000a990a/);

    const noTerminal = await cli(["emergency", "--secret-id", appSecret]);
    assert.equal(noTerminal.code, 2);
    assert.match(noTerminal.stderr, /--yes is required when there is no terminal/);
    let question = "";
    const declined = await cli(["emergency", "--secret-id", appSecret], {
      confirm: async (asked) => {
        question = asked;
        return false;
      },
    });
    assert.equal(declined.code, 1);
    assert.match(
      question,
      /^Start the emergency for client d7111000-0000-4000-8000-0000000a990a .*Proceed\?$/,
    );
    assert.match(declined.stdout, /declined at the prompt: nothing was changed/);
    assert.deepEqual(await labels(), before);
    assert.equal(before.tag, undefined);
  });

  it("regenerates the leaked client after the twin is current and the vendor serves it", async () => {
    const leakedValue = (await stack.drill.readCurrent()).value;
    assert.equal(leakedValue.clientId, DRILL_IDS.appA);
    const regenerations = stack.drill.genesys.counters.regenerations(DRILL_IDS.appA);
    const rotations = rotationsSucceeded();
    const run = await cli(["emergency", "--secret-id", appSecret], { confirm: async () => true });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^Emergency finished for the leaked client d7111000-0000-4000-8000-0000000a990a/,
    );
    assert.match(
      run.stderr,
      /emergency: phase=started mode=regenerate leaked=d7111000-0000-4000-8000-0000000a990a /,
    );

    assert.equal(rotationsSucceeded(), rotations + 1);
    assert.equal(stack.drill.genesys.counters.regenerations(DRILL_IDS.appA), regenerations + 1);
    const current = await stack.drill.readCurrent();
    assert.equal(current.value.clientId, DRILL_IDS.appB);
    // The leaked secret no longer mints; the vendor serves the new client.
    await assert.rejects(
      requestClientCredentialsToken({
        endpoints: endpoints(),
        clientId: leakedValue.clientId,
        clientSecret: leakedValue.clientSecret,
      }),
      (error: Error) => error.name === "GenesysInvalidClientError",
    );
    const vend = await cli(["vend", "--credential", "app", "--json"]);
    assert.equal(JSON.parse(vend.stdout).client.id, DRILL_IDS.appB);
    // Raw readers of AWSPREVIOUS read the current value, never the dead one.
    const after = await labels();
    assert.equal(after.previous, after.current);
    assert.equal((await previousValue()).clientId, DRILL_IDS.appB);
    assert.equal(after.tag?.phase, "done");

    const status = await cli(["status", "--secret-id", appSecret]);
    assert.match(
      status.stdout,
      /Last emergency: finished \(leaked client d7111000-0000-4000-8000-0000000a990a, regenerate/,
    );
  });

  it("--replace-client --yes: a fresh twin like the leaked client, which is deleted with its tokens", async () => {
    const leaked = stack.drill.genesys.state.getClient(DRILL_IDS.appB)!;
    const leakedValue = (await stack.drill.readCurrent()).value;
    const token = await requestClientCredentialsToken({
      endpoints: endpoints(),
      clientId: leakedValue.clientId,
      clientSecret: leakedValue.clientSecret,
    });
    assert.equal(await new GenesysApi(endpoints(), token.accessToken).probeToken(), true);

    const run = await cli(["emergency", "--secret-id", appSecret, "--replace-client", "--yes", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EmergencyReport;
    assert.equal(report.leakedClientId, DRILL_IDS.appB);
    assert.equal(report.currentClientId, DRILL_IDS.appA);
    assert.deepEqual(
      report.steps.map((step) => [step.step, step.status]),
      [
        ["rotate", "done"],
        ["wait-for-vendor", "done"],
        ["replace-twin", "done"],
        ["retire-previous", "done"],
        ["delete-leaked", "done"],
      ],
    );
    const replacement = stack.drill.genesys.state.getClient(report.replacementClientId ?? "");
    assert.ok(replacement);
    assert.equal(replacement.name, leaked.name);
    assert.deepEqual(replacement.roleDivisions, leaked.roleDivisions);
    assert.equal(replacement.accessTokenValiditySeconds, leaked.accessTokenValiditySeconds);

    assert.equal(
      stack.drill.genesys.state.getClient(DRILL_IDS.appB),
      undefined,
      "the leaked client is deleted",
    );
    assert.equal(
      await new GenesysApi(endpoints(), token.accessToken).probeToken(),
      false,
      "its token is dead",
    );
    const current = await stack.drill.readCurrent();
    assert.equal(current.value.clientId, DRILL_IDS.appA);
    assert.equal(current.value.alternateClientId, replacement.id);
    const after = await labels();
    assert.equal(after.previous, after.current);
    assert.equal((await previousValue()).alternateClientId, replacement.id);

    // The pair works: the next normal rotation makes the fresh twin current.
    const rotated = await cli(["rotate", "--secret-id", appSecret, "--wait"]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal((await stack.drill.readCurrent()).value.clientId, replacement.id);
  });

  /** A Secrets Manager client for the CLI whose call fails (a crash) where `crashes` says so. */
  const crashingClient = (crashes: (command: string, input: { Tags?: { Value?: string }[] }) => boolean) => {
    const client = new SecretsManagerClient({
      region: stack.endpoints.region,
      endpoint: stack.endpoints.secretsManager,
      credentials: { ...stack.endpoints.awsCredentials },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (crashes(context.commandName ?? "", args.input as { Tags?: { Value?: string }[] })) {
          throw Object.assign(new Error("simulated crash"), { name: "SimulatedCrash" });
        }
        return next(args);
      },
      { step: "initialize", name: "simulatedCrash" },
    );
    return client;
  };
  /** ... when the emergency records `phase` (its work is done, the record is not). */
  const crashAtPhase = (phase: string) =>
    crashingClient(
      (command, input) =>
        command === "TagResourceCommand" && (input.Tags?.[0]?.Value ?? "").startsWith(`phase=${phase} `),
    );

  for (const [mode, phases] of [
    ["regenerate", ["started", "rotated", "warmed", "regenerated", "done"]],
    ["replace-client", ["replaced", "deleted"]],
  ] as const) {
    it(`${mode}: interrupted before recording each phase, run again, completes without doing anything twice`, async () => {
      for (const phase of phases) {
        const leakedId = (await stack.drill.readCurrent()).value.clientId;
        const regenerations = stack.drill.genesys.counters.regenerations(leakedId);
        const rotations = rotationsSucceeded();
        const clients = stack.drill.genesys.state.clients().length;
        const args = [
          "emergency",
          "--secret-id",
          appSecret,
          "--yes",
          ...(mode === "replace-client" ? ["--replace-client"] : []),
        ];
        const client = crashAtPhase(phase);
        let crashed: CliRun;
        try {
          crashed = await cli(args, { secretsManager: client });
        } finally {
          client.destroy();
        }
        assert.notEqual(crashed.code, 0, `crash at ${phase}`);
        assert.match(crashed.stderr, /simulated crash/);
        if (phase !== "started") {
          const status = JSON.parse(
            (await cli(["status", "--secret-id", appSecret, "--json"])).stdout,
          ) as StatusReport;
          assert.notEqual(status.secret.emergency?.phase, "done", `in progress after a crash at ${phase}`);
          const text = await cli(["status", "--secret-id", appSecret]);
          assert.match(text.stdout, /EMERGENCY IN PROGRESS \(leaked client /);
        }

        const resumed = await cli([...args, "--json"]);
        assert.equal(resumed.code, 0, `${phase}: ${resumed.stderr}`);
        const report = JSON.parse(resumed.stdout) as EmergencyReport;
        assert.equal(report.leakedClientId, leakedId, phase);
        assert.equal(report.resumed, phase !== "started", phase);
        assert.equal(rotationsSucceeded(), rotations + 1, `${phase}: one rotation`);
        const after = await labels();
        assert.equal(after.tag?.phase, "done", phase);
        assert.equal(after.previous, after.current, phase);
        const current = await stack.drill.readCurrent();
        assert.notEqual(current.value.clientId, leakedId, phase);
        if (mode === "regenerate") {
          assert.equal(
            stack.drill.genesys.counters.regenerations(leakedId),
            regenerations + 1,
            `${phase}: one regeneration`,
          );
        } else {
          assert.equal(stack.drill.genesys.state.getClient(leakedId), undefined, phase);
          // One client created for one deleted: the interrupted run's replacement was reused.
          assert.equal(stack.drill.genesys.state.clients().length, clients, `${phase}: one replacement`);
        }
      }
    });
  }

  it("replace-client: a replacement created before a failed PutSecretValue is reused", async () => {
    const leakedId = (await stack.drill.readCurrent()).value.clientId;
    const clients = stack.drill.genesys.state.clients().length;
    const client = crashingClient((command) => command === "PutSecretValueCommand");
    let failed: CliRun;
    try {
      failed = await cli(["emergency", "--secret-id", appSecret, "--replace-client", "--yes"], {
        secretsManager: client,
      });
    } finally {
      client.destroy();
    }
    assert.equal(failed.code, 3, failed.stderr);
    assert.equal(stack.drill.genesys.state.clients().length, clients + 1);
    const resumed = await cli(["emergency", "--secret-id", appSecret, "--replace-client", "--yes", "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const report = JSON.parse(resumed.stdout) as EmergencyReport;
    assert.ok(report.notes.some((note) => /reused the replacement client/.test(note)));
    assert.equal(stack.drill.genesys.state.clients().length, clients);
    assert.equal(stack.drill.genesys.state.getClient(leakedId), undefined);
  });

  it("a regeneration whose answer was lost is not repeated by the next run", async () => {
    const leakedId = (await stack.drill.readCurrent()).value.clientId;
    const regenerations = stack.drill.genesys.counters.regenerations(leakedId);
    const resets = stack.drill.genesys.faults.connectionResets;
    resets.nextN = 1;
    resets.afterProcessing = true;
    resets.target = { pathPrefix: `/api/v2/oauth/clients/${leakedId}/secret`, method: "POST" };
    let lost: CliRun;
    try {
      lost = await cli(["emergency", "--secret-id", appSecret, "--yes"]);
    } finally {
      resets.nextN = 0;
      resets.afterProcessing = false;
      resets.target = {};
    }
    assert.notEqual(lost.code, 0, lost.stdout);
    assert.equal(stack.drill.genesys.counters.regenerations(leakedId), regenerations + 1);
    assert.equal((await labels()).tag?.phase, "warmed");
    const again = await cli(["emergency", "--secret-id", appSecret, "--yes", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    const report = JSON.parse(again.stdout) as EmergencyReport;
    assert.equal(report.steps.find((step) => step.step === "regenerate-leaked")?.status, "done-before");
    assert.equal(stack.drill.genesys.counters.regenerations(leakedId), regenerations + 1);
  });

  it("the self-managed admin pair: its own new AWSCURRENT regenerates the leaked admin client", async () => {
    const adminSecret = stack.endpoints.secrets.admin!;
    const read = async () =>
      parseCredentialSecret(
        (
          await stack.drill.secretsManagerClient.send(
            new GetSecretValueCommand({ SecretId: adminSecret, VersionStage: "AWSCURRENT" }),
          )
        ).SecretString,
      );
    const leaked = await read();
    const regenerations = stack.drill.genesys.counters.regenerations(leaked.clientId);
    const run = await cli(["emergency", "--secret-id", adminSecret, "--yes", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as EmergencyReport;
    assert.ok(
      report.notes.includes(
        "the token vendor is not checked: the local stack's vendor does not vend this secret",
      ),
    );
    assert.equal((await read()).clientId, leaked.alternateClientId);
    // The rotation regenerated the twin; the leaked client is regenerated once, by the emergency.
    assert.equal(stack.drill.genesys.counters.regenerations(leaked.clientId), regenerations + 1);
    await assert.rejects(
      requestClientCredentialsToken({
        endpoints: endpoints(),
        clientId: leaked.clientId,
        clientSecret: leaked.clientSecret,
      }),
      (error: Error) => error.name === "GenesysInvalidClientError",
    );
    // The application secret's rotation still works with the new admin.
    const rotated = await cli(["rotate", "--secret-id", appSecret, "--wait"]);
    assert.equal(rotated.code, 0, rotated.stderr);
  });

  it("a run without --replace-client does not continue one started with it", async () => {
    const client = crashAtPhase("rotated");
    try {
      const crashed = await cli(["emergency", "--secret-id", appSecret, "--replace-client", "--yes"], {
        secretsManager: client,
      });
      assert.notEqual(crashed.code, 0);
    } finally {
      client.destroy();
    }
    const other = await cli(["emergency", "--secret-id", appSecret, "--yes"]);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /--replace-client .*must be given: the emergency in progress .* uses replace-client/,
    );
    const resumed = await cli(["emergency", "--secret-id", appSecret, "--yes", "--replace-client"]);
    assert.equal(resumed.code, 0, resumed.stderr);
  });
});
