/**
 * Concurrent createSecret invocations of one rotation (Secrets Manager may invoke a step again while an
 * earlier invocation still runs). Two handlers A and B run the same createSecret; their Genesys
 * regenerations and PutSecretValue calls are ordered explicitly, so each interleaving is deterministic:
 *
 * - "stored secret dead": A regenerates S1, B regenerates S2 (S1 dies), A stores S1, B's put conflicts;
 * - "stored secret live": A regenerates S1, B regenerates S2, B stores S2, A's put conflicts.
 *
 * For a single client B never regenerates: it finds the regeneration marker A set (last describe).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SecretsManagerClient, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import type { RotationGenesysApi } from "../../lambda/rotation/context.ts";
import type { RotationHandler } from "../../lambda/rotation/handler.ts";
import { createGenesysGateway, type GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import type { RotationEvent } from "../../local/aws/secrets-manager/index.ts";
import { type RotationStack, startRotationStack } from "../support/rotation-stack.ts";
import { recordingLog } from "./helpers.ts";

/** A promise with its resolver. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/** Hooks around one handler's regeneration and its FIRST PutSecretValue (a rescue put is not held). */
interface Choreography {
  afterRegenerate?: () => void;
  beforePut?: () => Promise<void>;
  afterPut?: () => void;
}

function choreographedHandler(stack: RotationStack, steps: Choreography): RotationHandler {
  const client = new SecretsManagerClient(stack.secretsManager.clientConfig);
  let putSeen = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutSecretValueCommand" || putSeen) return next(args);
      putSeen = true;
      await steps.beforePut?.();
      try {
        return await next(args);
      } finally {
        steps.afterPut?.();
      }
    },
    { step: "initialize", name: "choreography" },
  );
  const gateway = createGenesysGateway({
    extraEnvironments: [],
    endpointOverride: stack.genesys.url,
    clock: stack.clock,
    log: recordingLog(),
  });
  const genesys: GenesysGateway<RotationGenesysApi> = {
    ...gateway,
    api(endpoints, accessToken) {
      const api = gateway.api(endpoints, accessToken);
      return {
        getOAuthClient: (id) => api.getOAuthClient(id),
        getTokenInfo: () => api.getTokenInfo(),
        getIntegrationCredential: (id) => api.getIntegrationCredential(id),
        updateIntegrationCredential: (id, update) => api.updateIntegrationCredential(id, update),
        async regenerateClientSecret(id) {
          const client = await api.regenerateClientSecret(id);
          steps.afterRegenerate?.();
          return client;
        },
      };
    },
  };
  return stack.createHandler({ secretsManager: client, genesys });
}

type Interleaving = "stored secret dead" | "stored secret live";

/**
 * Makes the stack's createSecret run as two overlapping invocations in the given interleaving. B starts
 * once A has regenerated (so B's guard sees A's effect deterministically). Any failure of either
 * invocation fails the step, as Secrets Manager would see it from that invocation. Returns what each did.
 */
function overlapCreateSecret(stack: RotationStack, interleaving: Interleaving): string[] {
  const results: string[] = [];
  const aRegenerated = signal();
  const bRegenerated = signal();
  const aStored = signal();
  const bStored = signal();
  const storedDead = interleaving === "stored secret dead";
  const a = choreographedHandler(stack, {
    afterRegenerate: aRegenerated.fire,
    beforePut: () => (storedDead ? bRegenerated.promise : bStored.promise),
    afterPut: aStored.fire,
  });
  const b = choreographedHandler(stack, {
    afterRegenerate: bRegenerated.fire,
    beforePut: () => (storedDead ? aStored.promise : Promise.resolve()),
    afterPut: bStored.fire,
  });
  const normal = stack.createHandler();
  stack.setRotationFunction(async (event: RotationEvent) => {
    if (event.Step !== "createSecret" || results.length > 0) return normal(event);
    const first = a(event);
    await Promise.race([aRegenerated.promise, first.catch(() => {})]);
    const settled = await Promise.allSettled([first, b(event)]);
    for (const outcome of settled) {
      results.push(outcome.status === "fulfilled" ? outcome.value.result : (outcome.reason as Error).name);
    }
    const failure = settled.find((outcome) => outcome.status === "rejected");
    if (failure !== undefined) throw failure.reason;
  });
  return results;
}

async function stuckPendingVersion(stack: RotationStack, secretId: string): Promise<string | undefined> {
  return Object.entries(await stack.stages(secretId)).find(
    ([, labels]) => labels.includes("AWSPENDING") && !labels.includes("AWSCURRENT"),
  )?.[0];
}

describe("stored secret dead (B's live regeneration cannot be staged)", () => {
  test("alternating: ConcurrentRegenerationError naming the runbook; AWSCURRENT intact; the runbook recovers", async () => {
    const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
    try {
      const before = await stack.readStaged(stack.secrets.app, "AWSCURRENT");
      assert.ok(before);
      const results = overlapCreateSecret(stack, "stored secret dead");
      const outcome = await stack.rotate(stack.secrets.app);
      assert.deepEqual(results, ["completed", "ConcurrentRegenerationError"]);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "createSecret");
      assert.match(
        outcome.cause ?? "",
        /^ConcurrentRegenerationError: .*AWSPENDING holds a dead secret\. AWSCURRENT is intact.*Remove AWSPENDING from version .* and rotate again/,
      );
      assert.equal(stack.genesys.counters.regenerations(), 2);
      assert.deepEqual(await stack.readStaged(stack.secrets.app, "AWSCURRENT"), before);
      assert.equal(await stack.mints(before), true);

      // Runbook "Stuck AWSPENDING": remove the label, rotate again.
      const stuck = await stuckPendingVersion(stack, stack.secrets.app);
      assert.ok(stuck);
      await stack.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: stack.secrets.app,
          VersionStage: "AWSPENDING",
          RemoveFromVersionId: stuck,
        }),
      );
      const again = await stack.rotate(stack.secrets.app);
      assert.equal(again.eventName, "RotationSucceeded", again.cause);
      const after = await stack.readStaged(stack.secrets.app, "AWSCURRENT");
      assert.ok(after);
      assert.equal(after.clientId, before.alternateClientId);
      assert.equal(await stack.mints(after), true);
    } finally {
      await stack.stop();
    }
  });
});

describe("stored secret live (A's own regeneration was superseded)", () => {
  for (const secret of ["app"] as const) {
    test(`${secret}: A reports already-created and the rotation succeeds with B's secret`, async () => {
      const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
      try {
        const results = overlapCreateSecret(stack, "stored secret live");
        const outcome = await stack.rotate(stack.secrets[secret]);
        assert.deepEqual(results, ["already-created", "completed"]);
        assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
        const current = await stack.readStaged(stack.secrets[secret], "AWSCURRENT");
        assert.ok(current);
        assert.equal(await stack.mints(current), true);
      } finally {
        await stack.stop();
      }
    });
  }
});

describe("single: the regeneration marker keeps a concurrent createSecret from regenerating", () => {
  test("B finds A's marker and refuses without regenerating; A stores its secret; the retry continues with it", async () => {
    const stack = await startRotationStack({ maxRotationAttempts: 2, log: recordingLog() });
    try {
      const before = await stack.readStaged(stack.secrets.single, "AWSCURRENT");
      assert.ok(before);
      const results: string[] = [];
      const aRegenerated = signal();
      const bDone = signal();
      const a = choreographedHandler(stack, {
        afterRegenerate: aRegenerated.fire,
        // A stores only after B has run: B sees the marker while A's secret exists only in memory.
        beforePut: () => bDone.promise,
      });
      const b = choreographedHandler(stack, {});
      const normal = stack.createHandler();
      stack.setRotationFunction(async (event: RotationEvent) => {
        if (event.Step !== "createSecret" || results.length > 0) return normal(event);
        const first = a(event);
        await Promise.race([aRegenerated.promise, first.catch(() => {})]);
        const second = b(event).finally(bDone.fire);
        const settled = await Promise.allSettled([first, second]);
        for (const outcome of settled) {
          results.push(
            outcome.status === "fulfilled" ? outcome.value.result : (outcome.reason as Error).name,
          );
        }
        const failure = settled.find((outcome) => outcome.status === "rejected");
        if (failure !== undefined) throw failure.reason;
      });
      const outcome = await stack.rotate(stack.secrets.single);
      assert.deepEqual(results, ["completed", "UnsavedRegenerationError"]);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      assert.equal(stack.genesys.counters.regenerations(), 1, "B never regenerated");
      const after = await stack.readStaged(stack.secrets.single, "AWSCURRENT");
      assert.ok(after);
      assert.notEqual(after.clientSecret, before.clientSecret);
      assert.equal(await stack.mints(after), true, "A's secret, stored and promoted, is live");
    } finally {
      await stack.stop();
    }
  });
});
