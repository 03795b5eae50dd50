/**
 * The rotation function end to end: the Secrets Manager emulator drives rotations (RotateSecret with the
 * real SDK) and calls the handler in process; the handler talks to both emulators over HTTP.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { FinishHook } from "../../lambda/rotation/finish-hooks.ts";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import {
  type RotationStack,
  STACK_IDS,
  stackEndpoints,
  startRotationStack,
} from "../support/rotation-stack.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { probeAfterEachStep, recordingLog, waitFor } from "./helpers.ts";

async function current(stack: RotationStack, secretId: string): Promise<CredentialSecret> {
  const value = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(value, "AWSCURRENT has a value");
  return value;
}

describe("alternating pair", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
  });
  after(() => stack?.stop());

  test("three consecutive rotations flip the active client; AWSPREVIOUS keeps working; AWSCURRENT always works", async () => {
    const violations = probeAfterEachStep(stack, [{ secretId: stack.secrets.app, invariant: "current" }]);
    const expectedActive = [STACK_IDS.appB, STACK_IDS.appA, STACK_IDS.appB];
    for (const active of expectedActive) {
      const before = await current(stack, stack.secrets.app);
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      const after = await current(stack, stack.secrets.app);
      assert.equal(after.clientId, active);
      assert.equal(after.alternateClientId, before.clientId);
      assert.equal(await stack.mints(after), true);
      const previous = await stack.readStaged(stack.secrets.app, "AWSPREVIOUS");
      assert.deepEqual(previous, before);
      assert.equal(await stack.mints(before), true, "the AWSPREVIOUS credentials still mint tokens");
    }
    assert.deepEqual(violations, []);
    assert.equal(stack.genesys.counters.regenerations(STACK_IDS.appA), 1);
    assert.equal(stack.genesys.counters.regenerations(STACK_IDS.appB), 2);
  });

  test("tokens minted before a rotation keep working even if Genesys revoked tokens on regeneration", async () => {
    stack.genesys.faults.tokensSurviveRegeneration = false;
    try {
      const active = await current(stack, stack.secrets.app);
      const token = await requestClientCredentialsToken({
        endpoints: stackEndpoints(stack.genesys.url),
        ...active,
      });
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      // The regenerated client is the twin; the token's client was not touched.
      assert.equal(
        await new GenesysApi(stackEndpoints(stack.genesys.url), token.accessToken).probeToken(),
        true,
      );
    } finally {
      stack.genesys.faults.tokensSurviveRegeneration = true;
    }
  });
});

describe("single client", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
  });
  after(() => stack?.stop());

  test("rotation completes; the old secret is dead, the new one works", async () => {
    const before = await current(stack, stack.secrets.single);
    const outcome = await stack.rotate(stack.secrets.single);
    assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    const after = await current(stack, stack.secrets.single);
    assert.equal(after.clientId, STACK_IDS.single);
    assert.notEqual(after.clientSecret, before.clientSecret);
    assert.equal(await stack.mints(after), true);
    assert.equal(await stack.mints(before), false);
    assert.equal(stack.genesys.counters.regenerations(STACK_IDS.single), 1);
  });
});

describe("admin pair", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
  });
  after(() => stack?.stop());

  test("rotates itself three times without ever losing a working admin secret, and keeps rotating others", async () => {
    const violations = probeAfterEachStep(stack, [{ secretId: stack.secrets.admin, invariant: "current" }]);
    for (let round = 0; round < 3; round++) {
      const before = await current(stack, stack.secrets.admin);
      const outcome = await stack.rotate(stack.secrets.admin);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      const after = await current(stack, stack.secrets.admin);
      assert.equal(after.clientId, before.alternateClientId);
      assert.equal(await stack.mints(before), true, "the previous admin still works");
      // The new admin value is what the app rotation now uses.
      const app = await stack.rotate(stack.secrets.app);
      assert.equal(app.eventName, "RotationSucceeded", app.cause);
    }
    assert.deepEqual(violations, []);
  });
});

describe("confused-deputy guard", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
  });
  after(() => stack?.stop());

  test("a value naming a client whose secret it does not hold regenerates nothing", async () => {
    // Someone who can write the secret points it at another client of the organisation (the admin's own
    // clients are refused earlier still: test/rotation/guards.test.ts).
    const forged = {
      ...(await current(stack, stack.secrets.single)),
      clientId: STACK_IDS.appB,
      clientSecret: "fake-guessed-secret-value-xxxxxxxxxxxxxxxxx",
    };
    await stack.client.send(
      new PutSecretValueCommand({ SecretId: stack.secrets.single, SecretString: JSON.stringify(forged) }),
    );
    const outcome = await stack.rotate(stack.secrets.single);
    assert.equal(outcome.eventName, "RotationFailed");
    assert.match(outcome.cause ?? "", /^CurrentCredentialRejectedError: .*confused-deputy guard/);
    assert.equal(stack.genesys.counters.regenerations(), 0);
    assert.deepEqual(await current(stack, stack.secrets.single), forged);
  });

  test("an alternating pair whose AWSCURRENT secret was regenerated elsewhere is not rotated", async () => {
    stack.genesys.state.regenerateSecret(STACK_IDS.appA);
    const outcome = await stack.rotate(stack.secrets.app);
    assert.equal(outcome.eventName, "RotationFailed");
    assert.match(
      outcome.cause ?? "",
      /^CurrentCredentialRejectedError: .*client 0b0e0000-0000-4000-8000-0000000a990a/,
    );
    assert.equal(stack.genesys.counters.regenerations(STACK_IDS.appB), 0);
  });
});

describe("idempotency", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
  });
  after(() => stack?.stop());

  for (const secret of ["app", "single", "admin"] as const) {
    test(`${secret}: every step invoked twice in a row ends as if invoked once`, async () => {
      const handler = stack.createHandler();
      stack.setRotationFunction(async (event) => {
        await handler(event);
        await handler(event);
      });
      const secretId = stack.secrets[secret];
      const before = await current(stack, secretId);
      const regenerations = stack.genesys.counters.regenerations();
      const outcome = await stack.rotate(secretId);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(stack.genesys.counters.regenerations() - regenerations, 1, "one regeneration");
      const after = await current(stack, secretId);
      assert.equal(await stack.mints(after), true);
      assert.deepEqual(await stack.readStaged(secretId, "AWSPREVIOUS"), before);
      const stages = Object.values(await stack.stages(secretId))
        .map((labels) => labels.join("+"))
        .sort();
      assert.deepEqual(stages, ["AWSCURRENT", "AWSPREVIOUS"]);
    });
  }

  test("after a finished rotation, each step called again with its token changes nothing", async () => {
    stack.setRotationFunction(stack.createHandler());
    const outcome = await stack.rotate(stack.secrets.app);
    assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    const value = await current(stack, stack.secrets.app);
    const regenerations = stack.genesys.counters.regenerations();
    const handler = stack.createHandler();
    for (const Step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) {
      const result = await handler({
        Step,
        SecretId: stack.secrets.app,
        ClientRequestToken: outcome.versionId,
      });
      assert.equal(result.result, "already-current");
    }
    assert.equal(stack.genesys.counters.regenerations(), regenerations);
    assert.deepEqual(await current(stack, stack.secrets.app), value);
  });
});

describe("propagation lag", () => {
  test("a new secret rejected for 10 s is accepted after the lag, without waiting in real time", async () => {
    const clock = new SteppingClock();
    const stack = await startRotationStack({ clock, propagationDelayMs: 10_000, log: recordingLog() });
    try {
      const clockStart = clock.now();
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(outcome.attempts, 1, "no whole-rotation retry was needed");
      // The emulator's lag runs on the shared clock, which only the rotation's clock sleeps move: the
      // secret was accepted because the rotation waited on the clock, not in real time (a wall-clock
      // bound would fail on a loaded machine without proving more).
      const waited = clock.now() - clockStart;
      assert.ok(waited >= 10_000, `emulated time passed: ${waited} ms`);
      assert.ok(waited < 20_000, `the poll did not overshoot the lag by much: ${waited} ms`);
      assert.ok(clock.sleeps.length >= 3, "it polled with backoff");
      assert.ok(
        stack.genesys.counters.errorsServed("invalid_client") >= 3,
        "the new secret was rejected meanwhile",
      );
    } finally {
      await stack.stop();
    }
  });

  test("a lag longer than PROPAGATION_TIMEOUT_SECONDS fails testSecret as retryable and leaves AWSCURRENT alone", async () => {
    const clock = new SteppingClock();
    const stack = await startRotationStack({
      clock,
      propagationDelayMs: 600_000,
      propagationTimeoutSeconds: 5,
      maxRotationAttempts: 1,
      log: recordingLog(),
    });
    try {
      const before = await current(stack, stack.secrets.app);
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "testSecret");
      assert.match(outcome.cause ?? "", /PropagationTimeoutError/);
      assert.deepEqual(await current(stack, stack.secrets.app), before);
    } finally {
      await stack.stop();
    }
  });
});

describe("role drift and stuck rotations", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({
      maxRotationAttempts: 2,
      log: recordingLog(),
      editState: (state) => {
        const twin = state.clients.find((client) => client.id === STACK_IDS.appB)!;
        twin.roleDivisions = [{ roleId: STACK_IDS.appRole, divisionId: "*" }];
      },
    });
  });
  after(() => stack?.stop());

  test("drift fails createSecret before any regeneration, with a message naming it, AWSCURRENT unchanged", async () => {
    const before = await current(stack, stack.secrets.app);
    const outcome = await stack.rotate(stack.secrets.app);
    assert.equal(outcome.eventName, "RotationFailed");
    assert.equal(outcome.step, "createSecret");
    assert.equal(stack.genesys.counters.regenerations(), 0, "a twin with other roles is never regenerated");
    assert.match(outcome.cause ?? "", /^RoleDriftError: /);
    assert.ok(
      (outcome.cause ?? "").includes(
        `role drift between clients ${STACK_IDS.appA} and ${STACK_IDS.appB}: ` +
          `roleDivisions only on ${STACK_IDS.appA}: role ${STACK_IDS.appRole} in division ${STACK_IDS.division}; ` +
          `roleDivisions only on ${STACK_IDS.appB}: role ${STACK_IDS.appRole} in division *`,
      ),
      outcome.cause,
    );
    assert.deepEqual(await current(stack, stack.secrets.app), before);
    assert.equal(await stack.mints(before), true);
  });

  test("RotateSecret during the unfinished rotation is rejected like AWS; the runbook recovers", async () => {
    const seen = stack.secretsManager.events.length;
    await assert.rejects(
      stack.client.send(new RotateSecretCommand({ SecretId: stack.secrets.app })),
      (error: Error) =>
        error.name === "InvalidRequestException" && /previous rotation isn.t complete/i.test(error.message),
    );
    // As the message says, Secrets Manager reattempts the stuck rotation (same token); it fails again.
    const reattempt = await waitFor(() =>
      stack.secretsManager.events.slice(seen).find((event) => event.eventName !== "RotationStarted"),
    );
    assert.equal(reattempt.eventName, "RotationFailed");
    assert.match(reattempt.cause ?? "", /RoleDriftError/);
    // Runbook: fix the drift (with the admin credential), remove AWSPENDING from the stuck version, rotate again.
    const admin = await current(stack, stack.secrets.admin);
    const endpoints = stackEndpoints(stack.genesys.url);
    const token = await requestClientCredentialsToken({ endpoints, ...admin });
    const api = new GenesysApi(endpoints, token.accessToken);
    const twin = await api.getOAuthClient(STACK_IDS.appB);
    await api.updateOAuthClient(STACK_IDS.appB, {
      name: twin.name,
      authorizedGrantType: "CLIENT-CREDENTIALS",
      accessTokenValiditySeconds: twin.accessTokenValiditySeconds,
      roleDivisions: [{ roleId: STACK_IDS.appRole, divisionId: STACK_IDS.division }],
      state: "active",
    });
    const stuck = Object.entries(await stack.stages(stack.secrets.app)).find(([, labels]) =>
      labels.includes("AWSPENDING"),
    )?.[0];
    assert.ok(stuck);
    await stack.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: stack.secrets.app,
        VersionStage: "AWSPENDING",
        RemoveFromVersionId: stuck,
      }),
    );
    const outcome = await stack.rotate(stack.secrets.app);
    assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    assert.equal((await current(stack, stack.secrets.app)).clientId, STACK_IDS.appB);
  });
});

describe("RotateImmediately=false (testSecret alone)", () => {
  for (const testRotationPendingValue of ["currentCopy", "empty"] as const) {
    test(`passes with a pending value that is ${testRotationPendingValue === "empty" ? "absent" : "a copy of AWSCURRENT"}, changing nothing`, async () => {
      const stack = await startRotationStack({ testRotationPendingValue, log: recordingLog() });
      try {
        for (const secretId of [stack.secrets.app, stack.secrets.single, stack.secrets.admin]) {
          const before = await stack.stages(secretId);
          const value = await current(stack, secretId);
          const outcome = await stack.rotate(secretId, { rotateImmediately: false });
          assert.equal(outcome.eventName, "TestRotationSucceeded", outcome.cause);
          assert.deepEqual(await stack.stages(secretId), before);
          assert.deepEqual(await current(stack, secretId), value);
        }
        assert.equal(stack.genesys.counters.regenerations(), 0);
      } finally {
        await stack.stop();
      }
    });
  }

  test("fails on its own when the pair has drifted", async () => {
    const stack = await startRotationStack({
      log: recordingLog(),
      editState: (state) => {
        state.clients.find((client) => client.id === STACK_IDS.appB)!.accessTokenValiditySeconds = 600;
      },
    });
    try {
      const outcome = await stack.rotate(stack.secrets.app, { rotateImmediately: false });
      assert.equal(outcome.eventName, "TestRotationFailed");
      assert.match(outcome.cause ?? "", /accessTokenValiditySeconds differs/);
    } finally {
      await stack.stop();
    }
  });
});

describe("finish hooks", () => {
  test("run after finishSecret; a failing hook is logged and does not fail the rotation", async () => {
    const log = recordingLog();
    const stack = await startRotationStack({ log });
    try {
      const seen: string[] = [];
      const hooks: FinishHook[] = [
        {
          name: "failing",
          run: async () => {
            throw new Error("vendor unreachable");
          },
        },
        {
          name: "recording",
          run: async (context) => {
            const value = await context.credential();
            seen.push(`${context.secretArn} ${value.clientId}`);
          },
        },
      ];
      stack.setRotationFunction(stack.createHandler({ finishHooks: hooks }));
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.deepEqual(seen, [`${stack.secrets.app} ${STACK_IDS.appB}`]);
      const warning = log.lines.map((line) => JSON.parse(line)).find((line) => line.hook === "failing");
      assert.equal(warning?.level, "WARN");
      assert.equal(warning?.errorMessage, "vendor unreachable");
    } finally {
      await stack.stop();
    }
  });

  test("INTEGRATION_CREDENTIALS: the Data Actions credential gets the new client id and secret", async () => {
    const stack = await startRotationStack({ log: recordingLog() });
    try {
      const handler = stack.createHandler({
        env: {
          ...stack.handlerEnvironment,
          INTEGRATION_CREDENTIALS: JSON.stringify({ "genesys/app": [STACK_IDS.integrationCredential] }),
        },
      });
      stack.setRotationFunction(handler);
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      const value = await current(stack, stack.secrets.app);
      const credential = stack.genesys.state.getIntegrationCredential(STACK_IDS.integrationCredential);
      assert.equal(credential?.name, "Data Actions (reporting)");
      assert.equal(credential?.type, "pureCloudOAuthClient");
      assert.deepEqual(credential?.credentialFields, {
        clientId: value.clientId,
        clientSecret: value.clientSecret,
      });
    } finally {
      await stack.stop();
    }
  });

  test("a manual PutSecretValue during the rotation abandons it", async () => {
    const stack = await startRotationStack({ log: recordingLog() });
    try {
      const handler = stack.createHandler();
      stack.setRotationFunction(async (event) => {
        if (event.Step === "setSecret") {
          await stack.client.send(
            new PutSecretValueCommand({
              SecretId: stack.secrets.app,
              SecretString: JSON.stringify(await current(stack, stack.secrets.app)),
            }),
          );
        }
        await handler(event);
      });
      const outcome = await stack.rotate(stack.secrets.app);
      assert.notEqual(outcome.eventName, "RotationSucceeded");
      assert.equal((await current(stack, stack.secrets.app)).clientId, STACK_IDS.appA);
    } finally {
      await stack.stop();
    }
  });
});
