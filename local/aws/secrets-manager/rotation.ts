/**
 * The rotation driver: what Secrets Manager does after RotateSecret returns. It invokes the rotation
 * function synchronously for createSecret, setSecret, testSecret and finishSecret with the same
 * ClientRequestToken; if any step fails it retries the WHOLE rotation (same token, same AWSPENDING
 * version) up to `maxAttempts` times, then records RotationFailed and leaves AWSPENDING in place, so
 * the next RotateSecret is refused until someone repairs it. On success the backend removes the
 * AWSPENDING label, as AWS's backend does.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../../../lambda/shared/clock.ts";
import { describeError, RotatorError } from "../../../lambda/shared/errors.ts";
import { ROTATION_STEPS, type RotationStep } from "../../../lambda/shared/staging-labels.ts";
import type { RotationPlan, SecretsManagerBackend } from "./backend.ts";
import type { RotationEventLog, RotationEventRecord, RotationInvocationRecord } from "./events.ts";

/** The event a rotation function receives (AWS sends the secret's full ARN as SecretId). */
export type RotationEvent = {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
};

/** How the emulator calls a rotation function. Resolve = step succeeded; throw = step failed. */
export type RotationInvoker = (rotationLambdaArn: string, event: RotationEvent) => Promise<void>;

/** A rotation handler run in this process. */
export type InProcessRotationHandler = (event: RotationEvent) => Promise<void>;

/** Thrown by an invoker that has no function for the ARN the secret is configured with (Lambda's error name). */
export class RotationFunctionNotFoundError extends RotatorError {
  override readonly name = "ResourceNotFoundException";
  readonly retryable = false;
}

/**
 * An invoker that calls handlers in this process. Keys are function ARNs or function names (a
 * `arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]` ARN also finds a handler registered
 * under `<name>`). Each call gets its own copy of the event.
 */
export function inProcessInvoker(handlers: Record<string, InProcessRotationHandler>): RotationInvoker {
  return async (rotationLambdaArn, event) => {
    const name = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(rotationLambdaArn)?.[1];
    const handler = handlers[rotationLambdaArn] ?? (name === undefined ? undefined : handlers[name]);
    if (!handler) {
      throw new RotationFunctionNotFoundError(`Function not found: ${rotationLambdaArn}`);
    }
    await handler(structuredClone(event));
  };
}

/** The invoker used until one is configured: every step fails, saying why. */
export const missingInvoker: RotationInvoker = async (rotationLambdaArn) => {
  throw new RotationFunctionNotFoundError(
    `no rotation invoker is configured in the Secrets Manager emulator (function ${rotationLambdaArn})`,
  );
};

/** Dependencies and policy of the driver. */
export interface RotationDriverOptions {
  backend: SecretsManagerBackend;
  log: RotationEventLog;
  clock: Clock;
  invoker: () => RotationInvoker;
  /** Whole-rotation attempts before RotationFailed. */
  maxAttempts: number;
  /** Pause between attempts, on the emulator clock (0 = none, so a ManualClock never blocks). */
  retryDelayMs: number;
}

type AttemptOutcome =
  | { kind: "succeeded" }
  | { kind: "failed"; step: RotationStep; cause: string }
  | { kind: "interrupted"; step: RotationStep; reason: "abandoned" | "cancelled" | "deleted" | "stopped" };

function runKey(secretArn: string, token: string): string {
  return `${secretArn}\n${token}`;
}

/** Runs rotations in the background. */
export class RotationDriver {
  readonly #options: RotationDriverOptions;
  /** `runKey(secretArn, token)` → the running rotation. */
  readonly #running = new Map<string, Promise<void>>();
  #stopped = false;

  constructor(options: RotationDriverOptions) {
    this.#options = options;
  }

  /** True while the rotation with this token is being driven. */
  isRunning(secretArn: string, token: string): boolean {
    return this.#running.has(runKey(secretArn, token));
  }

  /**
   * Records the Started event and runs the plan in the background (after the API response is sent).
   * Runs are keyed by secret AND token: an abandoned run still blocked in a step must not hide the
   * rotation that replaced it (it stops by itself at its next step boundary).
   */
  start(plan: RotationPlan): void {
    const key = runKey(plan.secretArn, plan.token);
    if (this.#stopped || this.#running.has(key)) return;
    this.#options.log.record({
      eventName: plan.testOnly ? "TestRotationStarted" : "RotationStarted",
      secretArn: plan.secretArn,
      versionId: plan.token,
      at: this.#options.clock.now(),
    });
    const run = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      let outcome: RotationEventRecord | undefined;
      try {
        outcome = await this.#run(plan);
      } finally {
        // Deregister before announcing the outcome, so whoever reacts to it can start the next rotation.
        this.#running.delete(key);
      }
      if (outcome) this.#options.log.record(outcome);
    })();
    this.#running.set(key, run);
  }

  /** Stops starting new steps and waits (at most `graceMs` of wall-clock time) for running invocations. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    const running = Promise.allSettled([...this.#running.values()]);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([running, grace]);
    clearTimeout(timer);
  }

  /** Runs every attempt, applies the outcome to the secret, and returns the terminal event to record. */
  async #run(plan: RotationPlan): Promise<RotationEventRecord | undefined> {
    const { clock, log, backend } = this.#options;
    const attempts = plan.testOnly ? 1 : this.#options.maxAttempts;
    // One opaque RotationToken per rotation, as the service sends for cross-account rotation.
    const rotationToken = randomUUID();
    let outcome: AttemptOutcome = { kind: "failed", step: "createSecret", cause: "not attempted" };
    let attempt = 0;
    while (attempt < attempts) {
      attempt++;
      if (attempt > 1 && this.#options.retryDelayMs > 0) await clock.sleep(this.#options.retryDelayMs);
      outcome = await this.#attempt(plan, attempt, rotationToken);
      if (outcome.kind !== "failed") break;
    }

    const base = { secretArn: plan.secretArn, versionId: plan.token, attempts: attempt };
    if (outcome.kind === "interrupted" && outcome.reason === "stopped") return undefined;
    if (plan.testOnly) backend.discardTestVersion(plan.secretArn, plan.token);

    if (outcome.kind === "succeeded") {
      if (!plan.testOnly) backend.completeRotation(plan.secretArn, plan.token);
      return {
        ...base,
        eventName: plan.testOnly ? "TestRotationSucceeded" : "RotationSucceeded",
        at: clock.now(),
      };
    }
    if (outcome.kind === "interrupted" && outcome.reason === "abandoned" && !plan.testOnly) {
      // The PutSecretValue that moved AWSCURRENT has usually recorded it already.
      if (log.hasEnded(plan.secretArn, plan.token)) return undefined;
      return { ...base, eventName: "RotationAbandoned", at: clock.now() };
    }
    return {
      ...base,
      eventName: plan.testOnly ? "TestRotationFailed" : "RotationFailed",
      at: clock.now(),
      errorMessage:
        outcome.kind === "interrupted"
          ? `rotation ${outcome.reason} before the ${outcome.step} step`
          : `Error when executing lambda ${plan.lambdaArn} during ${outcome.step} step`,
      step: outcome.step,
      cause: outcome.kind === "failed" ? outcome.cause : undefined,
    };
  }

  async #attempt(plan: RotationPlan, attempt: number, rotationToken: string): Promise<AttemptOutcome> {
    const { backend, log, clock } = this.#options;
    const steps: readonly RotationStep[] = plan.testOnly ? ["testSecret"] : ROTATION_STEPS;
    for (const step of steps) {
      if (this.#stopped) return { kind: "interrupted", step, reason: "stopped" };
      const status = backend.rotationStatus(plan.secretArn, plan.token);
      if (status !== "active") return { kind: "interrupted", step, reason: status };

      const invocation: RotationInvocationRecord = {
        secretArn: plan.secretArn,
        versionId: plan.token,
        step,
        attempt,
        at: clock.now(),
      };
      log.recordInvocation(invocation);
      try {
        await this.#options.invoker()(plan.lambdaArn, {
          Step: step,
          SecretId: plan.secretArn,
          ClientRequestToken: plan.token,
          RotationToken: rotationToken,
        });
      } catch (error) {
        const { errorName, errorMessage } = describeError(error);
        invocation.error = `${errorName}: ${errorMessage}`;
        return { kind: "failed", step, cause: invocation.error };
      }
    }
    // finishSecret "succeeded" without moving AWSCURRENT: the rotation is not complete, so retry it.
    if (!plan.testOnly && !backend.isCurrent(plan.secretArn, plan.token)) {
      return {
        kind: "failed",
        step: "finishSecret",
        cause: `finishSecret returned without attaching AWSCURRENT to version ${plan.token}`,
      };
    }
    return { kind: "succeeded" };
  }
}
