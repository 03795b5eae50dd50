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
 * but a hook left undone must be reported (log + FinishHookFailed).
 *
 * Single: an in-process fault converges with no window without a working credential (the AWSPENDING put
 * is retried in-process, then rescued as AWSCURRENT), except a lost answer to the regeneration itself:
 * the new secret then exists only in Genesys, and the rotation must end in UnsavedRegenerationError
 * asking for the operator's recover (docs/rotation.md, "Retries and crashes") — never regenerate again.
 *
 * The recovery paths are faulted as well (a first fault that sends createSecret down a path a clean
 * attempt does not take, then a second fault on each createSecret call after it, retries included): the
 * put failing once / on every in-process attempt (retry, put-conflict read-back, single's rescue write),
 * and for single the regeneration marker (GENESYS_REGENERATING) moves and the lost regeneration answer.
 * Every crash point's ending is tallied and printed (crash-support.ts); each case starts from a clean
 * secret (assertIsolated), a stopped rotation must converge when rotated again, and one that asked for
 * recover must converge after the operator's recover.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cacheWarmingHook, integrationCredentialsHook } from "../../lambda/rotation/finish-hooks.ts";
import { PENDING_PUT_ATTEMPTS } from "../../lambda/rotation/pending-put.ts";
import { createGenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import type { RotationEvent } from "../../local/aws/secrets-manager/index.ts";
import { type LambdaWireServer, startLambdaWireServer } from "../client/lambda-wire.ts";
import { type RotationStack, STACK_IDS, startRotationStack } from "../support/rotation-stack.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  assertIsolated,
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
  waitFor,
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
  /** Whether the recovery paths (put retries, put-conflict read-back, rescue, marker) are faulted too. */
  recovery: boolean;
  /**
   * The endings a crash point may have. Alternating: only `converged`. Single: also a stop that asks
   * for the operator's recover, but only where the regenerated secret was really lost (see
   * {@link secretLost}), never `lost`.
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

/** The kinds of external call a clean rotation makes. */
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
    /** The step each external call since the last {@link arm} was made in (by call index). */
    let callSteps: string[] = [];
    let callStepsClean: string[] = [];
    /** Steps still running: a rescue write ends the rotation (RotationAbandoned) while its step is still returning. */
    let inFlight = 0;
    const rotate = async () => {
      const outcome = await stack.rotate(secretId);
      await waitFor(() => (inFlight === 0 ? true : undefined));
      return outcome;
    };
    const arm = (faults?: InjectedFault | InjectedFault[]) => {
      instrument.arm(faults);
      callSteps = [];
    };

    before(async () => {
      log = recordingLog();
      // The put's in-process backoff (and every other wait) advances the clock at once.
      stack = await startRotationStack({ log, maxRotationAttempts: 3, clock: new SteppingClock() });
      vendor = await startLambdaWireServer();
      instrument = new CallInstrument(stack);
      secretId = scenario.secret(stack);
      const instrumented = stack.createHandler({
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
      const handler: typeof instrumented = async (event) => {
        const from = instrument.calls.length;
        inFlight += 1;
        try {
          return await instrumented(event);
        } finally {
          inFlight -= 1;
          for (let index = from; index < instrument.calls.length; index++)
            callSteps[index] = (event as RotationEvent).Step;
        }
      };
      // The admin secret must keep working while any secret rotates: it is what makes recovery possible.
      violations = probeAfterEachStep(
        stack,
        [
          { secretId, invariant: scenario.invariant },
          { secretId: stack.secrets.admin, invariant: "current" },
        ],
        handler,
      );
      arm();
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const clean = await rotate();
      assert.equal(clean.eventName, "RotationSucceeded", clean.cause);
      await scenario.verify(stack, secretId, previous);
      await assertHooksDoneOrReported(0);
      enumerated = instrument.calls.map((call) => call.label);
      callStepsClean = [...callSteps];
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
     * Whether the crash point lost the regenerated single-client secret for real, so that only the
     * operator's recover can help: the answer to the regeneration was lost (a fault after it), or the
     * rescue write failed too (logged as lost).
     */
    function secretLost(logMark: number): boolean {
      return (
        instrument.injectedAll.some(
          (call) =>
            call.label === "genesys:regenerateClientSecret" &&
            faultsArmed.find((fault) => fault.index === call.index)?.mode === "after",
        ) || log.lines.slice(logMark).some((line) => line.includes("single client; it is lost"))
      );
    }
    let faultsArmed: InjectedFault[] = [];

    /**
     * Runs one rotation with `faults` armed and tallies its ending in `row`. A rotation that stopped with
     * a working credential must converge when rotated again; one that asked for the operator's recover
     * must converge after the recover ({@link repairSecret}). Either way the next case starts from a clean
     * secret ({@link assertIsolated}). Returns the ending and the calls of the faulted rotation (with their steps).
     */
    async function runCrashPoint(row: FigureRow, faults: InjectedFault[], where: string) {
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const violationMark = violations.length;
      const logMark = log.lines.length;
      const vendorMark = vendor.received.length;
      const regenerationsBefore = stack.genesys.counters.regenerations();
      faultsArmed = faults;
      arm(faults);
      const outcome = await rotate();
      assert.equal(instrument.injectedAll.length, faults.length, `${where}: every fault was injected`);
      const path = instrument.calls.map((call) => call.label);
      const pathSteps = [...callSteps];
      const { ending, detail } = await endingOf(stack, secretId, previous, outcome, scenario.verify);
      row.points += 1;
      row.endings[ending] += 1;
      const lost = secretLost(logMark);
      const windows = new Map<string, number>();
      for (const violation of violations.slice(violationMark)) {
        row.windows += 1;
        const tolerated = scenario.tolerated(violation) && lost;
        if (tolerated) row.toleratedWindows += 1;
        const at = `after ${violation.step}${violation.stepFailed ? " (failed)" : ""}${tolerated ? ", secret lost (trade-off)" : ""}`;
        windows.set(at, (windows.get(at) ?? 0) + 1);
      }
      for (const [at, count] of windows) row.windowsAt.push(`${where}: ${count} x ${at}`);
      if (ending === "converged") {
        if ((await assertHooksDoneOrReported(logMark, vendorMark)) > 0) row.hooksUndone += 1;
      } else {
        row.notes.push(`${where}: ${ending} (${detail.slice(0, 160)})`);
        if (ending === "operator recover reported") {
          assert.ok(lost, `${where}: recover is asked for only when the regenerated secret was lost`);
          assert.equal(
            stack.genesys.counters.regenerations() - regenerationsBefore,
            1,
            `${where}: the client was regenerated once and never again`,
          );
          await repairSecret(stack, secretId);
        } else if (ending === "lost") {
          await repairSecret(stack, secretId);
        }
        vendor.script.length = 0;
        await assertIsolatedExceptPending(where);
        // What the docs say comes next: rotate again (after the recover, if one was asked for).
        const before = (await stack.readStaged(secretId, "AWSCURRENT"))!;
        arm();
        const next = await rotate();
        assert.equal(next.eventName, "RotationSucceeded", `${where}: the next rotation: ${next.cause}`);
        await scenario.verify(stack, secretId, before);
        if (ending === "operator recover reported") row.convergedAfterRecover += 1;
      }
      vendor.script.length = 0;
      await assertIsolated(stack, secretId, where);
      return { ending, path, pathSteps };
    }

    /** After a stop: no fault left armed and AWSCURRENT mints (a stuck AWSPENDING may stay: rotating again reattempts it). */
    async function assertIsolatedExceptPending(where: string): Promise<void> {
      stack.secretsManager.faults.clear();
      stack.genesys.faults.reset();
      const current = await stack.readStaged(secretId, "AWSCURRENT");
      assert.ok(current !== undefined && (await stack.mints(current)), `${where}: AWSCURRENT mints`);
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
          const where = `fault ${mode} call #${index} (${enumerated[index]} in ${callStepsClean[index]})`;
          const { ending } = await runCrashPoint(row, [{ index, mode }], where);
          assert.ok(scenario.accepted.includes(ending), row.notes.at(-1));
        }
        // Only a lost regeneration answer (single) leaves no working credential; then recover is asked for.
        assert.equal(row.windows, row.toleratedWindows, row.windowsAt.join("\n"));
        assert.deepEqual(untolerated(), []);
      });
    }

    if (scenario.recovery) {
      /**
       * First faults that send createSecret down a path a clean attempt does not take: `at` finds the
       * faulted calls in the clean enumeration.
       */
      const triggers: { name: string; single?: boolean; faults: (clean: string[]) => InjectedFault[] }[] = [
        {
          name: "put not sent once (in-process retry)",
          faults: (clean) => [{ index: clean.indexOf("sm:PutSecretValue"), mode: "before" }],
        },
        {
          name: "put answer lost once (in-process retry of a stored put)",
          faults: (clean) => [{ index: clean.indexOf("sm:PutSecretValue"), mode: "after" }],
        },
        {
          name: `put not sent on all ${PENDING_PUT_ATTEMPTS} attempts (read-back; single: rescue write)`,
          faults: (clean) => putAttempts(clean, "before"),
        },
        {
          name: `put answers lost on all ${PENDING_PUT_ATTEMPTS} attempts (read-back finds the value)`,
          faults: (clean) => putAttempts(clean, "after"),
        },
        {
          name: "marker not attached",
          single: true,
          faults: (clean) => [{ index: markerMove(clean, "attach"), mode: "before" }],
        },
        {
          name: "marker attached, answer lost (stale marker next attempt)",
          single: true,
          faults: (clean) => [{ index: markerMove(clean, "attach"), mode: "after" }],
        },
        {
          name: "marker removal not sent after the put",
          single: true,
          faults: (clean) => [{ index: markerMove(clean, "remove"), mode: "before" }],
        },
        {
          name: "regeneration answer lost (secret only in Genesys)",
          single: true,
          faults: (clean) => [{ index: clean.indexOf("genesys:regenerateClientSecret"), mode: "after" }],
        },
      ];
      const single = scenario.invariant === "anyStaged";
      /** The put's in-process attempts, consecutive calls in createSecret. */
      const putAttempts = (clean: string[], mode: "before" | "after"): InjectedFault[] => {
        const put = clean.indexOf("sm:PutSecretValue");
        return Array.from({ length: PENDING_PUT_ATTEMPTS }, (_, attempt) => ({ index: put + attempt, mode }));
      };
      /** Single's marker moves in a clean createSecret: attached before the regeneration, removed after the put. */
      const markerMove = (clean: string[], which: "attach" | "remove"): number => {
        const regenerate = clean.indexOf("genesys:regenerateClientSecret");
        const index =
          which === "attach"
            ? clean.lastIndexOf("sm:UpdateSecretVersionStage", regenerate)
            : clean.indexOf("sm:UpdateSecretVersionStage", regenerate);
        assert.ok(index >= 0 && callStepsClean[index] === "createSecret", `marker ${which} in createSecret`);
        return index;
      };

      for (const trigger of triggers.filter((t) => single || !t.single)) {
        test(`recovery after "${trigger.name}": a second fault on each createSecret call after it converges or is reported`, async () => {
          assert.equal(
            callStepsClean.filter(
              (label, index) => label === "createSecret" && enumerated[index] === "sm:PutSecretValue",
            ).length,
            1,
            "a clean createSecret puts once",
          );
          const primary = trigger.faults(enumerated);
          assert.ok(
            primary[0] !== undefined && callStepsClean[primary[0].index] === "createSecret",
            trigger.name,
          );
          const row = figure.row("recovery (2 faults)", scenario.name, trigger.name);
          // The path the first faults lead to, then a second fault on each of its createSecret calls.
          const { path, pathSteps } = await runCrashPoint(row, primary, `${trigger.name} alone`);
          const lastPrimary = Math.max(...primary.map((fault) => fault.index));
          const recovery: number[] = [];
          for (let index = lastPrimary + 1; index < path.length; index++) {
            if (pathSteps[index] === "createSecret") recovery.push(index);
            else if (
              pathSteps[index] !== undefined &&
              pathSteps[index] !== "createSecret" &&
              recovery.length > 0
            )
              break;
          }
          if (single && trigger.name.startsWith("marker attached")) {
            // The next attempt finds the stale marker (AWSCURRENT still mints) and removes it first.
            const after = path.slice(lastPrimary + 1);
            assert.ok(
              after.filter((label) => label === "sm:UpdateSecretVersionStage").length >= 3,
              `stale marker removed, marker attached and removed again: ${after.join(", ")}`,
            );
          }
          for (const index of recovery) {
            // A read faulted after it answered is the same as the next call faulted before it is sent.
            const modes = WRITE_CALLS.has(path[index] ?? "")
              ? (["before", "after"] as const)
              : (["before"] as const);
            for (const mode of modes) {
              const where = `then fault ${mode} call #${index} (${path[index]})`;
              const { ending } = await runCrashPoint(row, [...primary, { index, mode }], where);
              assert.ok(
                scenario.accepted.includes(ending) || ending === "stopped, a credential works",
                row.notes.at(-1),
              );
            }
          }
          // "lost" = no working credential and nothing asks for the operator's recover.
          const unaccepted = ENDINGS.filter(
            (e) => !scenario.accepted.includes(e) && e !== "stopped, a credential works",
          );
          for (const ending of unaccepted) assert.equal(row.endings[ending], 0, row.notes.join("\n"));
          assert.equal(row.windows, row.toleratedWindows, row.windowsAt.join("\n"));
          assert.deepEqual(untolerated(), []);
        });
      }
    }
  });
}
