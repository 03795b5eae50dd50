/**
 * Client ids whose letter case Genesys ignores (a `probe` profile with `clientIdsCaseSensitive: false`):
 * lookups and token requests work with any spelling, but Genesys answers with its own. A stored id
 * spelt differently must make the rotation fail loudly (testSecret compares the token's client exactly),
 * with AWSCURRENT intact — never rotate silently onto an id that later comparisons would not recognise.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import { type RotationStack, STACK_IDS, startRotationStack } from "../support/rotation-stack.ts";
import { recordingLog } from "./helpers.ts";

describe("case-insensitive client ids", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
    stack.genesys.faults.clientIdsCaseSensitive = false;
  });
  after(() => stack?.stop());

  test("an id stored in another letter case fails the rotation loudly and leaves AWSCURRENT intact", async () => {
    const current = await stack.readStaged(stack.secrets.app, "AWSCURRENT");
    assert.ok(current);
    assert.equal(current.alternateClientId, STACK_IDS.appB);
    const misspelt: CredentialSecret = { ...current, alternateClientId: STACK_IDS.appB.toUpperCase() };
    await stack.client.send(
      new PutSecretValueCommand({ SecretId: stack.secrets.app, SecretString: JSON.stringify(misspelt) }),
    );
    const outcome = await stack.rotate(stack.secrets.app);
    assert.equal(outcome.eventName, "RotationFailed");
    assert.match(outcome.cause ?? "", /IdentityMismatchError: .*belongs to client .*expected/);
    assert.deepEqual(await stack.readStaged(stack.secrets.app, "AWSCURRENT"), misspelt);
    assert.equal(await stack.mints(misspelt), true, "AWSCURRENT still mints a token");
  });

  test("ids stored as Genesys spells them rotate normally", async () => {
    const fresh = await startRotationStack({ log: recordingLog() });
    try {
      fresh.genesys.faults.clientIdsCaseSensitive = false;
      const outcome = await fresh.rotate(fresh.secrets.app);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    } finally {
      await fresh.stop();
    }
  });
});
