/**
 * Rotation as Secrets Manager runs it, observed through the real SDK: the empty AWSPENDING
 * placeholder, labels after each step, whole-rotation retries with the same token, "A previous
 * rotation isn't complete", RotateImmediately=false, abandonment by a manual PutSecretValue, and
 * CancelRotateSecret.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../../lambda/shared/clock.ts";
import {
  EmulatorUsageError,
  type RotationEvent,
  type RotationStep,
  type SecretsManagerEmulatorOptions,
} from "../../local/aws/secrets-manager/emulator.ts";
import {
  type FakeRotatorHooks,
  fakeRotator,
  labels,
  ROTATION_LAMBDA_ARN,
  startWithClient,
  token,
} from "./helpers.ts";

const DAY_MS = 86_400_000;
const V1 = token("initial");

/** One emulator per test (invokers are per emulator), a secret "db" with value v1 and a fake rotator. */
async function setup(
  t: TestContext,
  hooks: FakeRotatorHooks = {},
  options: SecretsManagerEmulatorOptions = {},
) {
  const clock = new ManualClock(Date.UTC(2026, 3, 1));
  const { emulator, client } = await startWithClient({ clock, ...options }, {}, t.after.bind(t));
  const rotator = fakeRotator(client, hooks);
  emulator.setInvoker(rotator.invoker);
  const { ARN } = await client.send(
    new CreateSecretCommand({ Name: "db", SecretString: "v1", ClientRequestToken: V1 }),
  );
  return { clock, emulator, client, rotator, arn: ARN as string };
}

function rotate(
  client: SecretsManagerClient,
  clientRequestToken: string,
  extra: Record<string, unknown> = {},
) {
  return client.send(
    new RotateSecretCommand({
      SecretId: "db",
      RotationLambdaARN: ROTATION_LAMBDA_ARN,
      RotationRules: { AutomaticallyAfterDays: 30 },
      ClientRequestToken: clientRequestToken,
      ...extra,
    }),
  );
}

/** A gate a rotation step can wait on, to act while a rotation is in flight. */
function gate() {
  let reached!: () => void;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    reached: new Promise<void>((resolve) => {
      reached = resolve;
    }),
    released,
    release: () => release(),
    /** A `beforeStep` hook that parks `step` here (only the rotation `clientRequestToken`, when given). */
    hold:
      (step: RotationStep, clientRequestToken?: string) =>
      async (current: RotationStep, event: RotationEvent): Promise<void> => {
        if (current !== step) return;
        if (clientRequestToken !== undefined && event.ClientRequestToken !== clientRequestToken) return;
        reached();
        await released;
      },
  };
}

describe("a successful rotation", () => {
  it("creates an EMPTY AWSPENDING version before createSecret, then ends with labels exactly as AWS", async (t) => {
    const T1 = token("rotation-1");
    let atCreate: { labels: Record<string, string[]>; pendingRead: unknown } | undefined;
    const { clock, emulator, client, rotator, arn } = await setup(t, {
      beforeStep: async (step) => {
        if (step !== "createSecret") return;
        const pendingRead = await client
          .send(new GetSecretValueCommand({ SecretId: "db", VersionStage: "AWSPENDING" }))
          .catch((error: unknown) => error);
        atCreate = { labels: await labels(client, "db"), pendingRead };
      },
    });

    const response = await rotate(client, T1);
    assert.equal(response.VersionId, T1);
    const outcome = await emulator.waitForRotation("db");

    assert.deepEqual(atCreate?.labels, { [V1]: ["AWSCURRENT"], [T1]: ["AWSPENDING"] });
    const pendingRead = atCreate?.pendingRead;
    assert.ok(pendingRead instanceof ResourceNotFoundException, "the placeholder has no value");
    assert.equal(
      pendingRead.message,
      "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    );

    assert.equal(outcome.eventName, "RotationSucceeded");
    assert.deepEqual(
      emulator.events.map((e) => [e.eventName, e.versionId]),
      [
        ["RotationStarted", T1],
        ["RotationSucceeded", T1],
      ],
    );
    assert.deepEqual(
      emulator.invocations.map((i) => [i.step, i.versionId, i.attempt]),
      [
        ["createSecret", T1, 1],
        ["setSecret", T1, 1],
        ["testSecret", T1, 1],
        ["finishSecret", T1, 1],
      ],
    );
    assert.equal(rotator.seen.find((s) => s.step === "testSecret")?.pendingValue, "rotated-1");
    // AWSPENDING was removed by the service after finishSecret, not by the function.
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSPREVIOUS"], [T1]: ["AWSCURRENT"] });
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString, "rotated-1");

    const described = await client.send(new DescribeSecretCommand({ SecretId: "db" }));
    assert.equal(described.RotationEnabled, true);
    assert.equal(described.RotationLambdaARN, ROTATION_LAMBDA_ARN);
    assert.deepEqual(described.RotationRules, { AutomaticallyAfterDays: 30 });
    assert.equal(described.LastRotatedDate?.getTime(), clock.now());
    assert.equal(described.NextRotationDate?.getTime(), clock.now() + 30 * DAY_MS);

    // A second rotation: the first version becomes deprecated (no labels) and disappears from listings.
    const T2 = token("rotation-2");
    await rotate(client, T2);
    assert.equal((await emulator.waitForRotation(arn)).eventName, "RotationSucceeded");
    assert.deepEqual(await labels(client, "db"), { [T1]: ["AWSPREVIOUS"], [T2]: ["AWSCURRENT"] });
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: "db" }));
    assert.deepEqual(listed.Versions?.map((v) => v.VersionId).sort(), [T1, T2].sort());
  });

  it("generates a token when none is sent, and a repeated request with the same token starts nothing new", async (t) => {
    const { emulator, client } = await setup(t);
    const T1 = token("repeat");
    await rotate(client, T1);
    const repeated = await rotate(client, T1);
    assert.equal(repeated.VersionId, T1);
    await emulator.waitForRotation("db");
    assert.equal(emulator.events.filter((e) => e.eventName === "RotationStarted").length, 1);

    // The SDK fills ClientRequestToken itself; a raw caller without one gets a generated UUID.
    const generated = await client.send(new RotateSecretCommand({ SecretId: "db" }));
    assert.match(generated.VersionId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal((await emulator.waitForRotation("db")).eventName, "RotationSucceeded");
  });
});

describe("a failing rotation", () => {
  it("is retried as a whole with the same token; createSecret's stored value survives the retries", async (t) => {
    let setFailures = 0;
    const { emulator, client } = await setup(t, {
      beforeStep: (step) => {
        if (step === "setSecret" && setFailures < 2) {
          setFailures++;
          throw new Error("target database unreachable");
        }
      },
    });
    const T1 = token("retried");
    await rotate(client, T1);
    const outcome = await emulator.waitForRotation("db");

    assert.equal(outcome.eventName, "RotationSucceeded");
    assert.equal(outcome.attempts, 3);
    assert.deepEqual(
      emulator.invocations.map((i) => `${i.attempt}:${i.step}${i.error ? "!" : ""}`),
      [
        "1:createSecret",
        "1:setSecret!",
        "2:createSecret",
        "2:setSecret!",
        "3:createSecret",
        "3:setSecret",
        "3:testSecret",
        "3:finishSecret",
      ],
    );
    assert.ok(emulator.invocations.every((i) => i.versionId === T1));
    assert.equal(
      (await client.send(new GetSecretValueCommand({ SecretId: "db" }))).SecretString,
      "rotated-1",
      "the retried createSecret found its AWSPENDING value and did not generate another",
    );
  });

  it("records RotationFailed after maxRotationAttempts, keeps AWSPENDING, and refuses the next RotateSecret", async (t) => {
    let broken = true;
    const { emulator, client, arn } = await setup(
      t,
      {
        beforeStep: (step) => {
          if (step === "createSecret" && broken) throw new Error("admin credential rejected");
        },
      },
      { maxRotationAttempts: 2 },
    );
    const T1 = token("stuck");
    await rotate(client, T1);
    const outcome = await emulator.waitForRotation("db");

    assert.equal(outcome.eventName, "RotationFailed");
    assert.equal(
      outcome.errorMessage,
      `Error when executing lambda ${ROTATION_LAMBDA_ARN} during createSecret step`,
    );
    assert.equal(outcome.step, "createSecret");
    assert.equal(outcome.attempts, 2);
    assert.equal(outcome.cause, "Error: admin credential rejected");
    assert.equal(outcome.secretArn, arn);
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSCURRENT"], [T1]: ["AWSPENDING"] });
    await assert.rejects(
      client.send(new GetSecretValueCommand({ SecretId: "db", VersionId: T1, VersionStage: "AWSPENDING" })),
      ResourceNotFoundException,
      "the placeholder stays empty",
    );
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: "db" }))).SecretString, "v1");

    // Fix the function: the refused RotateSecret reattempts the stuck rotation, as its message says.
    broken = false;
    await assert.rejects(rotate(client, token("second")), (error: Error) => {
      assert.ok(error instanceof InvalidRequestException);
      assert.equal(error.message, "A previous rotation isn't complete. That rotation will be reattempted.");
      return true;
    });
    const reattempt = await emulator.waitForRotation("db");
    assert.equal(reattempt.eventName, "RotationSucceeded");
    assert.equal(reattempt.versionId, T1, "the reattempt reuses the stuck rotation's token");
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSPREVIOUS"], [T1]: ["AWSCURRENT"] });
  });

  it("without reattempts, a stuck rotation is cleared by removing AWSPENDING by hand", async (t) => {
    const { emulator, client } = await setup(
      t,
      {
        beforeStep: () => {
          throw new Error("always broken");
        },
      },
      { maxRotationAttempts: 1, reattemptStuckRotations: false },
    );
    const T1 = token("manual-fix");
    await rotate(client, T1);
    await emulator.waitForRotation("db");
    await assert.rejects(rotate(client, token("refused")), InvalidRequestException);
    assert.equal(emulator.events.filter((e) => e.eventName === "RotationStarted").length, 1, "no reattempt");

    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "db",
        VersionStage: "AWSPENDING",
        RemoveFromVersionId: T1,
      }),
    );
    await rotate(client, token("accepted"));
    assert.equal((await emulator.waitForRotation("db")).versionId, token("accepted"));
  });

  it("retries when an API call of the function fails (crash injection) and fails when no invoker exists", async (t) => {
    const { emulator, client } = await setup(t);
    emulator.faults.failNext("UpdateSecretVersionStage", "InternalServiceError", 1);
    await rotate(client, token("crash"));
    const outcome = await emulator.waitForRotation("db");
    assert.equal(outcome.eventName, "RotationSucceeded");
    assert.equal(outcome.attempts, 2);
    assert.match(emulator.invocations[3]?.error ?? "", /^InternalServiceError: Injected fault/);

    emulator.setInvoker(async () => {
      throw new Error("function crashed");
    });
    await rotate(client, token("no-fn"));
    const failed = await emulator.waitForRotation("db");
    assert.equal(failed.eventName, "RotationFailed");
    assert.equal(failed.attempts, 3);
  });
});

describe("RotateImmediately=false", () => {
  it("invokes only testSecret against a temporary AWSPENDING copy of AWSCURRENT, then removes it", async (t) => {
    const { clock, emulator, client, rotator } = await setup(t);
    const T1 = token("test-only");
    await rotate(client, T1, {
      RotateImmediately: false,
      RotationRules: { ScheduleExpression: "rate(10 days)" },
    });
    const outcome = await emulator.waitForRotation("db");

    assert.equal(outcome.eventName, "TestRotationSucceeded");
    assert.deepEqual(
      emulator.events.map((e) => e.eventName),
      ["TestRotationStarted", "TestRotationSucceeded"],
    );
    assert.deepEqual(
      emulator.invocations.map((i) => i.step),
      ["testSecret"],
    );
    assert.deepEqual(rotator.seen, [{ step: "testSecret", token: T1, pendingValue: "v1" }]);
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSCURRENT"] });
    const all = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: "db", IncludeDeprecated: true }),
    );
    assert.deepEqual(
      all.Versions?.map((v) => v.VersionId),
      [V1],
      "the test version is gone",
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: "db" }));
    assert.equal(described.RotationEnabled, true);
    assert.equal(described.LastRotatedDate, undefined);
    assert.equal(described.NextRotationDate?.getTime(), clock.now() + 10 * DAY_MS);
  });

  it("with testRotationPendingValue 'empty' the test step cannot read AWSPENDING and TestRotationFailed is recorded", async (t) => {
    const { emulator, client } = await setup(t, {}, { testRotationPendingValue: "empty" });
    await rotate(client, token("empty-test"), { RotateImmediately: false });
    const outcome = await emulator.waitForRotation("db");
    assert.equal(outcome.eventName, "TestRotationFailed");
    assert.match(outcome.cause ?? "", /^ResourceNotFoundException/);
    assert.equal(outcome.attempts, 1, "a test run is not retried");
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSCURRENT"] });
  });
});

describe("a manual change during rotation", () => {
  it("PutSecretValue moving AWSCURRENT abandons the rotation: AWSPENDING removed, RotationAbandoned, no further steps", async (t) => {
    const inSet = gate();
    const { emulator, client } = await setup(t, { beforeStep: inSet.hold("setSecret") });
    const T1 = token("abandoned");
    await rotate(client, T1);
    await inSet.reached;

    const M = token("manual");
    await client.send(
      new PutSecretValueCommand({ SecretId: "db", SecretString: "typed-by-hand", ClientRequestToken: M }),
    );
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSPREVIOUS"], [M]: ["AWSCURRENT"] });
    inSet.release();
    const outcome = await emulator.waitForRotation("db");

    assert.equal(outcome.eventName, "RotationAbandoned");
    assert.equal(outcome.versionId, T1);
    assert.deepEqual(
      emulator.invocations.map((i) => i.step),
      ["createSecret", "setSecret"],
      "the driver stops before testSecret",
    );
    assert.equal(emulator.events.filter((e) => e.eventName === "RotationAbandoned").length, 1);
    await rotate(client, token("next"));
    assert.equal((await emulator.waitForRotation("db")).eventName, "RotationSucceeded");
  });

  it("a rotation requested after an abandonment runs even while the abandoned run is still in a step", async (t) => {
    const T1 = token("abandoned-slow");
    const inSet = gate();
    const { emulator, client } = await setup(t, { beforeStep: inSet.hold("setSecret", T1) });
    await rotate(client, T1);
    await inSet.reached;
    await client.send(
      new PutSecretValueCommand({ SecretId: "db", SecretString: "by-hand", ClientRequestToken: token("m") }),
    );
    const T2 = token("replacement");
    await rotate(client, T2);
    const outcome = await emulator.waitForRotation("db", { timeoutMs: 10_000 });
    assert.deepEqual([outcome.eventName, outcome.versionId], ["RotationSucceeded", T2]);
    assert.deepEqual(await labels(client, "db"), { [token("m")]: ["AWSPREVIOUS"], [T2]: ["AWSCURRENT"] });
    inSet.release();
  });

  it("a PutSecretValue after a failed rotation clears the in-rotation state", async (t) => {
    const { emulator, client } = await setup(
      t,
      {
        beforeStep: (step) => {
          if (step === "testSecret") throw new Error("new credential rejected");
        },
      },
      { maxRotationAttempts: 1, reattemptStuckRotations: false },
    );
    const T1 = token("failed-then-put");
    await rotate(client, T1);
    assert.equal((await emulator.waitForRotation("db")).eventName, "RotationFailed");
    await client.send(
      new PutSecretValueCommand({ SecretId: "db", SecretString: "v2", ClientRequestToken: token("v2") }),
    );
    assert.deepEqual(
      emulator.events.map((e) => e.eventName),
      ["RotationStarted", "RotationFailed", "RotationAbandoned"],
    );
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSPREVIOUS"], [token("v2")]: ["AWSCURRENT"] });
  });

  it("CancelRotateSecret disables rotation, stops the run before its next step and leaves the labels", async (t) => {
    const inSet = gate();
    const { emulator, client } = await setup(t, { beforeStep: inSet.hold("setSecret") });
    const T1 = token("cancelled");
    await rotate(client, T1);
    await inSet.reached;
    const cancelled = await client.send(new CancelRotateSecretCommand({ SecretId: "db" }));
    assert.equal(cancelled.VersionId, T1);
    inSet.release();
    const outcome = await emulator.waitForRotation("db");

    assert.equal(outcome.eventName, "RotationFailed");
    assert.equal(outcome.errorMessage, "rotation cancelled before the testSecret step");
    const described = await client.send(new DescribeSecretCommand({ SecretId: "db" }));
    assert.equal(described.RotationEnabled, false);
    assert.equal(described.RotationLambdaARN, ROTATION_LAMBDA_ARN, "the configuration is kept");
    assert.deepEqual(await labels(client, "db"), { [V1]: ["AWSCURRENT"], [T1]: ["AWSPENDING"] });
  });
});

describe("RotateSecret validation and waitForRotation", () => {
  it("refuses a rotation without a Lambda ARN and invalid rules", async (t) => {
    const { client } = await setup(t);
    await assert.rejects(client.send(new RotateSecretCommand({ SecretId: "db" })), (error: Error) => {
      assert.ok(error instanceof InvalidRequestException);
      assert.equal(error.message, "No Lambda rotation function ARN is associated with this secret.");
      return true;
    });
    await assert.rejects(
      rotate(client, token("bad-rules"), { RotationRules: { AutomaticallyAfterDays: 0 } }),
      InvalidParameterException,
    );
    await assert.rejects(
      rotate(client, token("bad-schedule"), { RotationRules: { ScheduleExpression: "every tuesday" } }),
      InvalidParameterException,
    );
    await assert.rejects(
      client.send(new RotateSecretCommand({ SecretId: "ghost", RotationLambdaARN: ROTATION_LAMBDA_ARN })),
      ResourceNotFoundException,
    );
  });

  it("waitForRotation rejects for a secret that never rotated, an unknown secret, and on timeout", async (t) => {
    const stuck = gate();
    const { emulator, client } = await setup(t, { beforeStep: () => stuck.released });
    await assert.rejects(emulator.waitForRotation("db"), EmulatorUsageError);
    await rotate(client, token("slow"));
    await assert.rejects(emulator.waitForRotation("db", { timeoutMs: 50 }), /did not end within 50 ms/);
    stuck.release();
    assert.equal((await emulator.waitForRotation("db")).eventName, "RotationSucceeded");
    await assert.rejects(emulator.waitForRotation("ghost"), {
      name: "AwsServiceError",
      errorType: "ResourceNotFoundException",
    });
  });
});
