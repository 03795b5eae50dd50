/**
 * Crash injection at every external call of every step. A clean rotation first enumerates the calls the
 * rotation function makes (Secrets Manager operations and Genesys calls, in order); then, for each call
 * index i, a fresh rotation runs with one fault at call i — before it is sent, after it took effect
 * (a lost response or the process dying right after it), or on the wire (Genesys 5xx / connection reset
 * after processing; Secrets Manager InternalServiceError beyond the SDK's retries). Secrets Manager's
 * whole-rotation retry must then converge: the rotation succeeds, the credentials flip as they should,
 * no credential is lost, and the probed invariant holds after every step of every attempt.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { createGenesysGateway } from "../../lambda/rotation/genesys-gateway.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import { type RotationStack, startRotationStack } from "../support/rotation-stack.ts";
import {
  CallInstrument,
  type FaultMode,
  type Invariant,
  probeAfterEachStep,
  recordingLog,
  type Violation,
} from "./helpers.ts";

interface Scenario {
  name: string;
  secret: (stack: RotationStack) => string;
  /** Alternating pairs keep AWSCURRENT working at every instant; a single client only some staged version. */
  invariant: Invariant;
  /**
   * Violations that are the strategy's documented trade-off. For `single`: when createSecret fails
   * after the regeneration took effect and before the new secret was stored, no staged version works
   * until the retry stores a new one (consumers of the vending function keep their cached tokens).
   */
  tolerated: (violation: Violation) => boolean;
  /** Checks the end state of one successful rotation, given AWSCURRENT before it. */
  verify: (stack: RotationStack, secretId: string, previous: CredentialSecret) => Promise<void>;
}

async function verifyAlternating(
  stack: RotationStack,
  secretId: string,
  previous: CredentialSecret,
): Promise<void> {
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current);
  assert.equal(current.clientId, previous.alternateClientId, "the active client flipped");
  assert.equal(current.alternateClientId, previous.clientId);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.deepEqual(await stack.readStaged(secretId, "AWSPREVIOUS"), previous, "AWSPREVIOUS is the old value");
  assert.equal(await stack.mints(previous), true, "the previous credentials still work");
}

async function verifySingle(
  stack: RotationStack,
  secretId: string,
  previous: CredentialSecret,
): Promise<void> {
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current);
  assert.equal(current.clientId, previous.clientId);
  assert.notEqual(current.clientSecret, previous.clientSecret);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.equal(await stack.mints(previous), false, "the old secret is dead");
}

const SCENARIOS: Scenario[] = [
  {
    name: "alternating pair",
    secret: (s) => s.secrets.app,
    invariant: "current",
    tolerated: () => false,
    verify: verifyAlternating,
  },
  {
    name: "single client",
    secret: (s) => s.secrets.single,
    invariant: "anyStaged",
    tolerated: (v) => v.stepFailed && v.step === "createSecret" && !v.message.includes("genesys/admin"),
    verify: verifySingle,
  },
  {
    name: "admin pair rotating itself",
    secret: (s) => s.secrets.admin,
    invariant: "current",
    tolerated: () => false,
    verify: verifyAlternating,
  },
];
const MODES: FaultMode[] = ["before", "after", "wire"];

for (const scenario of SCENARIOS) {
  describe(`crash injection: ${scenario.name}`, () => {
    let stack: RotationStack;
    let instrument: CallInstrument;
    let violations: Violation[];
    const untolerated = () => violations.filter((violation) => !scenario.tolerated(violation));
    let secretId: string;
    let enumerated: string[] = [];

    before(async () => {
      const log = recordingLog();
      stack = await startRotationStack({ log, maxRotationAttempts: 3 });
      instrument = new CallInstrument(stack);
      const handler = stack.createHandler({
        secretsManager: instrument.instrumentSecretsManager(
          new SecretsManagerClient(stack.secretsManager.clientConfig),
        ),
        genesys: instrument.instrumentGenesys(
          createGenesysGateway({
            extraEnvironments: [],
            endpointOverride: stack.genesys.url,
            clock: stack.clock,
            log,
          }),
        ),
      });
      secretId = scenario.secret(stack);
      // The admin secret must keep working while any secret rotates: it is what makes recovery possible.
      violations = probeAfterEachStep(
        stack,
        [
          { secretId, invariant: scenario.invariant },
          { secretId: stack.secrets.admin, invariant: "current" },
        ],
        handler,
      );
      instrument.arm();
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const clean = await stack.rotate(secretId);
      assert.equal(clean.eventName, "RotationSucceeded", clean.cause);
      await scenario.verify(stack, secretId, previous);
      enumerated = instrument.calls.map((call) => call.label);
    });
    after(() => stack?.stop());

    test("the clean rotation makes every kind of external call", () => {
      for (const label of [
        "sm:DescribeSecret",
        "sm:GetSecretValue",
        "sm:PutSecretValue",
        "sm:UpdateSecretVersionStage",
        "genesys:requestToken",
        "genesys:regenerateClientSecret",
        "genesys:getOAuthClient",
        "genesys:getTokenInfo",
      ]) {
        assert.ok(enumerated.includes(label), `${label} in ${enumerated.join(", ")}`);
      }
      assert.deepEqual(untolerated(), []);
    });

    for (const mode of MODES) {
      test(`a fault ${mode} each call converges`, async () => {
        assert.ok(enumerated.length > 20, `enumerated ${enumerated.length} calls`);
        for (let index = 0; index < enumerated.length; index++) {
          const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
          instrument.arm({ index, mode });
          const outcome = await stack.rotate(secretId);
          const where = `fault ${mode} call #${index} (${enumerated[index]})`;
          assert.ok(instrument.injected, `${where}: the fault was injected`);
          assert.equal(outcome.eventName, "RotationSucceeded", `${where}: ${outcome.cause ?? ""}`);
          await scenario.verify(stack, secretId, previous);
        }
        assert.deepEqual(untolerated(), []);
      });
    }
  });
}
