/**
 * Crash injection at every external call of every step. A clean rotation first enumerates the calls the
 * rotation function makes (Secrets Manager operations and Genesys calls, in order); then, for each call
 * index i, a fresh rotation runs with one fault at call i — before it is sent, after it took effect
 * (a lost response or the process dying right after it), or on the wire (Genesys 5xx / connection reset
 * after processing; Secrets Manager InternalServiceError beyond the SDK's retries). Secrets Manager's
 * whole-rotation retry must then converge: the rotation succeeds, the credentials flip as they should,
 * no credential is lost, and the probed invariant holds after every step of every attempt. (Single may
 * instead stop with a failure that asks for the operator's recover; it must never lose the credential
 * without saying so.)
 *
 * The finish hooks are configured (cache warming through a Lambda Invoke stub, an integration credential
 * in the Genesys emulator), so their calls are crash points too: a fault there never fails the rotation,
 * but a hook left undone must be reported (log + FinishHookFailed). The recovery paths are faulted as
 * well: a first fault at createSecret's PutSecretValue sends the step into its put-conflict read-back and
 * (single) the next attempt's evidence check (ListSecretVersionIds) and re-regeneration; a second fault
 * then hits each call of that path. Every crash point's ending is tallied and printed (crash-support.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cacheWarmingHook, integrationCredentialsHook } from "../../lambda/rotation/finish-hooks.ts";
import { createGenesysGateway } from "../../lambda/rotation/genesys-gateway.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import { type LambdaWireServer, startLambdaWireServer } from "../client/lambda-wire.ts";
import { type RotationStack, STACK_IDS, startRotationStack } from "../support/rotation-stack.ts";
import {
  CrashFigure,
  ENDINGS,
  type Ending,
  endingOf,
  type FigureRow,
  repairSecret,
  verifyAlternating,
  verifySingle,
  WRITE_CALLS,
} from "./crash-support.ts";
import {
  CallInstrument,
  type FaultMode,
  type InjectedFault,
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
  /** Whether the recovery paths (put conflict read-back, retry after a lost put) are faulted too. */
  recovery: boolean;
  /**
   * The endings a crash point may have. Alternating: only `converged`. Single: also a stop that asks
   * for the operator's recover (a retry may refuse to regenerate again after a lost put), never `lost`.
   */
  accepted: readonly Ending[];
}

const SCENARIOS: Scenario[] = [
  {
    name: "alternating pair",
    secret: (s) => s.secrets.app,
    invariant: "current",
    tolerated: () => false,
    verify: verifyAlternating,
    recovery: true,
    accepted: ["converged"],
  },
  {
    name: "single client",
    secret: (s) => s.secrets.single,
    invariant: "anyStaged",
    tolerated: (v) => v.stepFailed && v.step === "createSecret" && !v.message.includes("genesys/admin"),
    verify: verifySingle,
    recovery: true,
    accepted: ["converged", "operator recover reported"],
  },
  {
    name: "admin pair rotating itself",
    secret: (s) => s.secrets.admin,
    invariant: "current",
    tolerated: () => false,
    verify: verifyAlternating,
    // Same code path as the app pair's recovery; kept out for the file's runtime.
    recovery: false,
    accepted: ["converged"],
  },
];
const MODES: FaultMode[] = ["before", "after", "wire"];

const figure = new CrashFigure();
after(() => {
  // The closing note of the crash-coverage issue quotes this table.
  console.log(figure.format("in-process crash injection"));
});

/** The kinds of external call a clean rotation makes (ListSecretVersionIds only on the recovery path). */
const CLEAN_CALL_KINDS = [
  "sm:DescribeSecret",
  "sm:GetSecretValue",
  "sm:PutSecretValue",
  "sm:UpdateSecretVersionStage",
  "genesys:requestToken",
  "genesys:regenerateClientSecret",
  "genesys:getOAuthClient",
  "genesys:getTokenInfo",
  "lambda:Invoke",
  "genesys:getIntegrationCredential",
  "genesys:updateIntegrationCredential",
];

for (const scenario of SCENARIOS) {
  describe(`crash injection: ${scenario.name}`, () => {
    let stack: RotationStack;
    let vendor: LambdaWireServer;
    let instrument: CallInstrument;
    let log: ReturnType<typeof recordingLog>;
    let violations: Violation[];
    const untolerated = () => violations.filter((violation) => !scenario.tolerated(violation));
    let secretId: string;
    let enumerated: string[] = [];

    before(async () => {
      log = recordingLog();
      stack = await startRotationStack({ log, maxRotationAttempts: 3 });
      vendor = await startLambdaWireServer();
      instrument = new CallInstrument(stack);
      secretId = scenario.secret(stack);
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
        finishHooks: [
          cacheWarmingHook(
            instrument.instrumentLambda(vendor.client(), () => {
              vendor.script.push({ kind: "serviceError", status: 500, errorType: "ServiceException" });
            }),
            "token-vendor",
          ),
          integrationCredentialsHook({ [secretId]: [STACK_IDS.integrationCredential] }),
        ],
      });
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
      await assertHooksDoneOrReported(0);
      enumerated = instrument.calls.map((call) => call.label);
    });
    after(async () => {
      await vendor?.stop();
      await stack?.stop();
    });

    /**
     * The finish hooks either did their work (the vendor was asked to warm; the integration credential
     * holds AWSCURRENT) or the log since `logMark` says which one failed.
     */
    async function assertHooksDoneOrReported(logMark: number, vendorMark = 0): Promise<number> {
      const current = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const integration = stack.genesys.state.getIntegrationCredential(STACK_IDS.integrationCredential)!;
      const reported = (hook: string) =>
        log.lines
          .slice(logMark)
          .some((line) => line.includes("finish hook failed") && line.includes(`"${hook}"`));
      let undone = 0;
      if (
        integration.credentialFields.clientId !== current.clientId ||
        integration.credentialFields.clientSecret !== current.clientSecret
      ) {
        assert.ok(reported("integrationCredentials"), "a stale integration credential is reported");
        undone += 1;
      }
      const warmed = vendor.received
        .slice(vendorMark)
        .some((payload) => JSON.stringify(payload) === JSON.stringify({ warm: { secretArn: secretId } }));
      if (!warmed) {
        assert.ok(reported("cacheWarming"), "a cache warming that never reached the vendor is reported");
        undone += 1;
      }
      return undone;
    }

    /**
     * Runs one rotation with `faults` armed and tallies its ending in `row`; a rotation that does not
     * converge is repaired so the next crash point starts clean. Returns the ending.
     */
    async function runCrashPoint(row: FigureRow, faults: InjectedFault[], where: string) {
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const violationMark = violations.length;
      const logMark = log.lines.length;
      const vendorMark = vendor.received.length;
      instrument.arm(faults);
      const outcome = await stack.rotate(secretId);
      assert.equal(instrument.injectedAll.length, faults.length, `${where}: every fault was injected`);
      const { ending, detail } = await endingOf(stack, secretId, previous, outcome, scenario.verify);
      row.points += 1;
      row.endings[ending] += 1;
      for (const violation of violations.slice(violationMark)) {
        row.windows += 1;
        if (scenario.tolerated(violation)) row.toleratedWindows += 1;
      }
      if (ending === "converged") {
        if ((await assertHooksDoneOrReported(logMark, vendorMark)) > 0) row.hooksUndone += 1;
      } else {
        row.notes.push(`${where}: ${ending} (${detail.slice(0, 200)})`);
        await repairSecret(stack, secretId);
      }
      return ending;
    }

    test("the clean rotation makes every kind of external call", () => {
      for (const label of CLEAN_CALL_KINDS) {
        assert.ok(enumerated.includes(label), `${label} in ${enumerated.join(", ")}`);
      }
      assert.deepEqual(untolerated(), []);
    });

    for (const mode of MODES) {
      test(`a fault ${mode} each call converges`, async () => {
        assert.ok(enumerated.length > 20, `enumerated ${enumerated.length} calls`);
        const row = figure.row("single fault", scenario.name, mode);
        for (let index = 0; index < enumerated.length; index++) {
          const where = `fault ${mode} call #${index} (${enumerated[index]})`;
          const ending = await runCrashPoint(row, [{ index, mode }], where);
          assert.ok(scenario.accepted.includes(ending), row.notes.at(-1));
        }
        assert.deepEqual(untolerated(), []);
      });
    }

    if (scenario.recovery) {
      // The first fault loses createSecret's PutSecretValue (not sent / sent but the answer lost); the
      // second hits each call of the path that follows, up to the retry's own put.
      for (const primaryMode of ["before", "after"] as const) {
        test(`a second fault on each call of the recovery after a put fault ${primaryMode} it converges or is reported`, async () => {
          const put = enumerated.indexOf("sm:PutSecretValue");
          assert.ok(put > 0, "createSecret puts the pending value");
          instrument.arm({ index: put, mode: primaryMode });
          const dryRun = await stack.rotate(secretId);
          assert.equal(dryRun.eventName, "RotationSucceeded", dryRun.cause);
          const path = instrument.calls.map((call) => call.label);
          const retryPut = path.indexOf("sm:PutSecretValue", put + 1);
          const last = retryPut === -1 ? put + 1 : retryPut;
          const recovery = path.slice(put + 1, last + 1);
          if (scenario.invariant === "anyStaged" && primaryMode === "before") {
            assert.ok(
              recovery.includes("sm:ListSecretVersionIds"),
              `single's retry reads the evidence: ${recovery.join(", ")}`,
            );
          }
          const row = figure.row(
            "recovery (2 faults)",
            scenario.name,
            `put ${primaryMode}, then before/after`,
          );
          for (let index = put + 1; index <= last; index++) {
            // A read faulted after it answered is the same as the next call faulted before it is sent.
            const modes = WRITE_CALLS.has(path[index] ?? "")
              ? (["before", "after"] as const)
              : (["before"] as const);
            for (const mode of modes) {
              const where = `put fault ${primaryMode}, then fault ${mode} call #${index} (${path[index]})`;
              await runCrashPoint(
                row,
                [
                  { index: put, mode: primaryMode },
                  { index, mode },
                ],
                where,
              );
            }
          }
          // "lost" = no working credential and nothing asks for the operator's recover.
          const unaccepted = ENDINGS.filter(
            (e) => !scenario.accepted.includes(e) && e !== "stopped, a credential works",
          );
          for (const ending of unaccepted) assert.equal(row.endings[ending], 0, row.notes.join("\n"));
          assert.deepEqual(untolerated(), []);
        });
      }
    }
  });
}
