/**
 * createSecret's safety rules beyond the confused-deputy guards (lambda/rotation/preconditions.ts and
 * pending-put.ts): the minimum gap between rotations, the invocation's deadline, keeping a regenerated
 * single-client secret (in-process put retries, rescue write, the regeneration marker), integration
 * credentials re-synced before their client is regenerated, and twin ids compared without case.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import {
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { IGNORE_MIN_GAP_TOKEN_PREFIX } from "../../lambda/rotation/preconditions.ts";
import { GenesysTransientError } from "../../lambda/shared/genesys/errors.ts";
import { createGenesysGateway, type GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import { REGENERATION_MARKER } from "../../lambda/shared/staging-labels.ts";
import {
  ROTATION_LAMBDA_ARN,
  type RotationStack,
  type RotationStackOptions,
  STACK_IDS,
  STACK_SECRET_NAMES,
  startRotationStack,
} from "../support/rotation-stack.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { interceptMethods, recordingLog, staged, waitFor } from "./helpers.ts";

async function withStack(
  options: RotationStackOptions,
  body: (stack: RotationStack) => Promise<void>,
): Promise<void> {
  const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog(), ...options });
  try {
    await body(stack);
  } finally {
    await stack.stop();
  }
}

/** The version carrying `label`, if any. */
async function holder(stack: RotationStack, secretId: string, label: string): Promise<string | undefined> {
  return Object.entries(await stack.stages(secretId)).find(([, labels]) => labels.includes(label))?.[0];
}

/** A production gateway whose API calls can be replaced one method at a time. */
function gatewayWith(
  stack: RotationStack,
  override: (
    method: string,
    call: (...args: unknown[]) => Promise<unknown>,
    args: unknown[],
  ) => Promise<unknown>,
): GenesysGateway {
  const gateway = createGenesysGateway({
    extraEnvironments: [],
    endpointOverride: stack.genesys.url,
    clock: stack.clock,
    log: recordingLog(),
  });
  return {
    ...gateway,
    api: (endpoints, accessToken, limits) =>
      interceptMethods(gateway.api(endpoints, accessToken, limits), override),
  };
}

describe("minimum gap between rotations (MIN_ROTATION_GAP_SECONDS)", () => {
  const HOUR_MS = 3_600_000;

  for (const secret of ["app", "single"] as const) {
    test(`${secret}: a second rotation within the gap is refused with the time left; nothing is regenerated`, async () => {
      const clock = new SteppingClock();
      await withStack({ clock, minRotationGapSeconds: 3600 }, async (stack) => {
        const secretId = stack.secrets[secret];
        const first = await stack.rotate(secretId);
        assert.equal(first.eventName, "RotationSucceeded", first.cause);
        const regenerations = stack.genesys.counters.regenerations();
        const before = await staged(stack, secretId);

        clock.advance(HOUR_MS / 2);
        const second = await stack.rotate(secretId);
        assert.equal(second.eventName, "RotationFailed");
        assert.equal(second.step, "createSecret");
        assert.match(
          second.cause ?? "",
          /^MinRotationGapError: .*MIN_ROTATION_GAP_SECONDS \(3600 s\), so regenerating it is refused for another 1800 s/,
        );
        assert.match(second.cause ?? "", /--ignore-min-gap/);
        assert.equal(stack.genesys.counters.regenerations(), regenerations, "nothing regenerated");
        assert.deepEqual(await staged(stack, secretId), before, "AWSCURRENT unchanged");
        assert.equal(await stack.mints(before), true);

        // Once the gap has elapsed, the stuck rotation's reattempt (same token) goes through.
        clock.advance(HOUR_MS / 2);
        const seen = stack.secretsManager.events.length;
        await assert.rejects(stack.client.send(new RotateSecretCommand({ SecretId: secretId })));
        const reattempt = await stack.secretsManager.waitForRotation(secretId);
        assert.ok(stack.secretsManager.events.length > seen);
        assert.equal(reattempt.eventName, "RotationSucceeded", reattempt.cause);
      });
    });
  }

  test("an AWSPREVIOUS that is no credential (the placeholder before seeding) does not hold a rotation back", async () => {
    const clock = new SteppingClock();
    await withStack({ clock, minRotationGapSeconds: 3600 }, async (stack) => {
      for (const secretId of [stack.secrets.app, stack.secrets.single]) {
        const value = await staged(stack, secretId);
        // As after `seed`: a placeholder, then the real value on top of it, moments ago.
        await stack.client.send(
          new PutSecretValueCommand({ SecretId: secretId, SecretString: "placeholder" }),
        );
        await stack.client.send(
          new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }),
        );
        const outcome = await stack.rotate(secretId);
        assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      }
    });
  });

  test(`a ClientRequestToken starting with "${IGNORE_MIN_GAP_TOKEN_PREFIX}" overrides the gap for that rotation`, async () => {
    const clock = new SteppingClock();
    await withStack({ clock, minRotationGapSeconds: 3600 }, async (stack) => {
      const secretId = stack.secrets.app;
      assert.equal((await stack.rotate(secretId)).eventName, "RotationSucceeded");
      await stack.client.send(
        new RotateSecretCommand({
          SecretId: secretId,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
          ClientRequestToken: `${IGNORE_MIN_GAP_TOKEN_PREFIX}${randomUUID()}`,
        }),
      );
      const outcome = await stack.secretsManager.waitForRotation(secretId);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal((await staged(stack, secretId)).clientId, STACK_IDS.appA, "rotated twice");
    });
  });
});

describe("the invocation's deadline (Lambda context)", () => {
  test("too little time left: no regeneration starts (DeadlineTooCloseError, retryable), nothing changed", async () => {
    await withStack({}, async (stack) => {
      const handler = stack.createHandler();
      stack.setRotationFunction((event) => handler(event, { getRemainingTimeInMillis: () => 12_000 }));
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "createSecret");
      assert.match(outcome.cause ?? "", /^DeadlineTooCloseError: .*Nothing was regenerated/);
      assert.equal(stack.genesys.counters.regenerations(), 0);
      assert.equal(await stack.mints(await staged(stack, stack.secrets.single)), true);
    });
  });

  test("a guard does not sleep through a Retry-After past the deadline and then regenerate", async () => {
    const clock = new SteppingClock();
    await withStack({ clock }, async (stack) => {
      const handler = stack.createHandler();
      const deadlines: number[] = [];
      stack.setRotationFunction((event) => {
        deadlines.push(clock.now() + 60_000);
        return handler(event, { getRemainingTimeInMillis: () => 60_000 });
      });
      // The next four Platform API calls are throttled with Retry-After 25 s: the guards' two parallel
      // calls (organisation check) would each wait twice, 100 s in all, more than the 60 s left.
      stack.genesys.faults.apiRateLimit.nextN = 4;
      stack.genesys.faults.apiRateLimit.retryAfterSeconds = 25;
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(stack.genesys.counters.regenerations(), 0, "nothing regenerated");
      assert.ok(clock.now() <= (deadlines[0] ?? 0), "no wait ran past the invocation's deadline");
    });
  });
});

describe("single: a regenerated secret is never lost to a failed put", () => {
  test("a put failing beyond the SDK's retries is retried in-process: one attempt, one regeneration", async () => {
    await withStack({}, async (stack) => {
      // 3 = the SDK's attempts: the first in-process attempt fails, the second succeeds.
      stack.secretsManager.faults.failNext("PutSecretValue", "InternalServiceError", 3);
      const before = await staged(stack, stack.secrets.single);
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(stack.genesys.counters.regenerations(STACK_IDS.single), 1);
      const after = await staged(stack, stack.secrets.single);
      assert.notEqual(after.clientSecret, before.clientSecret);
      assert.equal(await stack.mints(after), true);
      assert.equal(
        await holder(stack, stack.secrets.single, REGENERATION_MARKER),
        undefined,
        "marker removed",
      );
    });
  });

  test("a non-retryable put failure (AccessDenied) stores the secret as AWSCURRENT (rescue), never regenerating again", async () => {
    const log = recordingLog();
    await withStack({ maxRotationAttempts: 3, log }, async (stack) => {
      stack.secretsManager.faults.failNext("PutSecretValue", "AccessDeniedException", 1);
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationAbandoned");
      // The rescue put records RotationAbandoned while the step is still returning its error.
      await waitFor(() =>
        log.lines.some((line) => line.includes('"errorName":"PendingPutFailedError"')) ? true : undefined,
      );
      assert.equal(stack.genesys.counters.regenerations(STACK_IDS.single), 1, "regenerated exactly once");
      const current = await staged(stack, stack.secrets.single);
      assert.equal(await stack.mints(current), true, "the live secret is AWSCURRENT");
      assert.equal(
        await holder(stack, stack.secrets.single, REGENERATION_MARKER),
        undefined,
        "marker removed",
      );
      // Service restored: the next rotation runs normally.
      const next = await stack.rotate(stack.secrets.single);
      assert.equal(next.eventName, "RotationSucceeded", next.cause);
    });
  });

  test("a crash after the regeneration, before the put: retries refuse (UnsavedRegenerationError) instead of regenerating again", async () => {
    await withStack({ maxRotationAttempts: 3 }, async (stack) => {
      let crashes = 1;
      const genesys = gatewayWith(stack, async (method, call, args) => {
        const result = await call(...args);
        if (method === "regenerateClientSecret" && crashes-- > 0) {
          // The process dies with the new secret in memory: it exists only in Genesys now.
          throw new GenesysTransientError("injected: crashed after the regeneration", { operation: method });
        }
        return result;
      });
      stack.setRotationFunction(stack.createHandler({ genesys }));
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.match(
        outcome.cause ?? "",
        /^UnsavedRegenerationError: .*GENESYS_REGENERATING.*genesys-rotator recover --secret-id genesys\/single/,
      );
      assert.equal(stack.genesys.counters.regenerations(STACK_IDS.single), 1, "never regenerated again");
      assert.ok(
        await holder(stack, stack.secrets.single, REGENERATION_MARKER),
        "the marker stays for recover",
      );
    });
  });

  test("a marker createSecret could not remove after its put is removed by finishSecret", async () => {
    await withStack({}, async (stack) => {
      const secretsManager = new SecretsManagerClient(stack.secretsManager.clientConfig);
      secretsManager.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          // The next label move after the stored put is createSecret's removal of its marker.
          if (context.commandName === "PutSecretValueCommand") {
            stack.secretsManager.faults.failNext("UpdateSecretVersionStage", "AccessDeniedException");
          }
          return result;
        },
        { step: "initialize", name: "failMarkerRemoval" },
      );
      stack.setRotationFunction(stack.createHandler({ secretsManager }));
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(
        await holder(stack, stack.secrets.single, REGENERATION_MARKER),
        undefined,
        "no stale marker left on the new AWSCURRENT",
      );
    });
  });

  test("a marker left by an attempt that never regenerated (AWSCURRENT still mints) is removed", async () => {
    await withStack({}, async (stack) => {
      const handler = stack.createHandler();
      let first = true;
      stack.setRotationFunction(async (event) => {
        if (first && event.Step === "createSecret") {
          first = false;
          // The marker landed, then the invocation died before the regeneration request.
          await stack.client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: event.SecretId,
              VersionStage: REGENERATION_MARKER,
              MoveToVersionId: event.ClientRequestToken,
            }),
          );
        }
        return handler(event);
      });
      const outcome = await stack.rotate(stack.secrets.single);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(await holder(stack, stack.secrets.single, REGENERATION_MARKER), undefined);
    });
  });
});

describe("integration credentials still naming the twin are re-synced before it is regenerated", () => {
  const withIntegration = (stack: RotationStack) => {
    stack.handlerEnvironment.INTEGRATION_CREDENTIALS = JSON.stringify({
      [STACK_SECRET_NAMES.app]: [STACK_IDS.integrationCredential],
    });
  };

  test("an integration credential left on the twin (a failed finish hook) is moved to AWSCURRENT first", async () => {
    await withStack(
      {
        editState: (state) => {
          const credential = state.integrationCredentials?.[0];
          if (credential)
            credential.credentialFields = { clientId: STACK_IDS.appB, clientSecret: "stale-secret-xx" };
        },
      },
      async (stack) => {
        withIntegration(stack);
        const current = await staged(stack, stack.secrets.app);
        // No finish hooks: only createSecret's re-sync can touch the integration credential.
        stack.setRotationFunction(stack.createHandler({ finishHooks: [] }));
        const outcome = await stack.rotate(stack.secrets.app);
        assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
        const integration = stack.genesys.state.getIntegrationCredential(STACK_IDS.integrationCredential);
        assert.deepEqual(integration?.credentialFields, {
          clientId: current.clientId,
          clientSecret: current.clientSecret,
        });
        assert.equal(await stack.mints(current), true, "what the integration holds keeps working");
      },
    );
  });

  test("an integration credential that cannot be re-synced stops the rotation, naming it; nothing regenerated", async () => {
    await withStack(
      {
        editState: (state) => {
          state.integrationCredentials = [];
        },
      },
      async (stack) => {
        withIntegration(stack);
        const outcome = await stack.rotate(stack.secrets.app);
        assert.equal(outcome.eventName, "RotationFailed");
        assert.match(
          outcome.cause ?? "",
          new RegExp(
            `^IntegrationCredentialStaleError: integration credential ${STACK_IDS.integrationCredential} `,
          ),
        );
        assert.equal(stack.genesys.counters.regenerations(), 0);
      },
    );
  });
});

describe("twin ids are compared without regard to case", () => {
  test("Genesys lookups of clientId and alternateClientId returning one client: refused, nothing regenerated", async () => {
    await withStack({}, async (stack) => {
      // As if Genesys resolved ids case-insensitively: the twin's lookup returns the active client.
      const genesys = gatewayWith(stack, (method, call, args) =>
        method === "getOAuthClient" && args[0] === STACK_IDS.appB ? call(STACK_IDS.appA) : call(...args),
      );
      stack.setRotationFunction(stack.createHandler({ genesys }));
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.match(
        outcome.cause ?? "",
        /^InvalidSecretValueError: .*"clientId" and "alternateClientId" both resolve to client/,
      );
      assert.equal(stack.genesys.counters.regenerations(), 0);
    });
  });
});
