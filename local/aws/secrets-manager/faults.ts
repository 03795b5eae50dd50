/**
 * Fault injection for the emulator's API: make the next N calls of an operation fail with a given
 * AWS error, or delay an operation. Faults apply to HTTP API calls only, so a rotation function
 * talking to the emulator sees them exactly as it would see a failing Secrets Manager.
 *
 * Note that the AWS SDK retries `InternalServiceError` (HTTP 500) and `ThrottlingException` by itself
 * (3 attempts in its default "standard" mode): to make such an error reach the caller, fail at least
 * as many calls as the client's maxAttempts.
 */
import { AwsServiceError, statusForErrorType } from "./errors.ts";

/** How an injected failure relates to the operation. */
export interface FailNextOptions {
  /**
   * When true the operation IS applied and then the error is returned instead of its response: the
   * "request succeeded but the answer was lost" case that idempotency tokens exist for.
   * @default false (the call fails before anything changes)
   */
  afterApplying?: boolean;
  /** Message of the injected error. @default "Injected fault (<errorType>) on <operation>" */
  message?: string;
}

interface PendingFailure {
  errorType: string;
  remaining: number;
  afterApplying: boolean;
  message?: string;
}

/** What the emulator should do with one call, decided before it runs. */
export interface FaultDecision {
  delayMs: number;
  /** Error to return instead of running the operation. */
  failBefore?: AwsServiceError;
  /** Error to return after running the operation. */
  failAfter?: AwsServiceError;
}

/** Runtime-mutable fault knobs of one emulator. */
export class SecretsManagerFaults {
  readonly #failures = new Map<string, PendingFailure[]>();
  readonly #delays = new Map<string, number>();
  readonly #injected = new Map<string, number>();

  /**
   * Makes the next `count` calls of `operation` (e.g. "PutSecretValue", or "*" for any) fail with
   * `errorType` (HTTP 500 for InternalServiceError, 400 otherwise). Queued failures run in order.
   */
  failNext(
    operation: string,
    errorType = "InternalServiceError",
    count = 1,
    options: FailNextOptions = {},
  ): void {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`failNext: count must be a positive integer, got ${count}`);
    }
    const queue = this.#failures.get(operation) ?? [];
    queue.push({
      errorType,
      remaining: count,
      afterApplying: options.afterApplying ?? false,
      message: options.message,
    });
    this.#failures.set(operation, queue);
  }

  /** Delays every call of `operation` ("*" for any) by `ms` of wall-clock time; 0 removes the delay. */
  delay(operation: string, ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`delay: ms must be ≥ 0, got ${ms}`);
    if (ms === 0) this.#delays.delete(operation);
    else this.#delays.set(operation, ms);
  }

  /** Removes every queued failure and delay. */
  clear(): void {
    this.#failures.clear();
    this.#delays.clear();
  }

  /** How many injected failures were served for `operation` (or in total). */
  injected(operation?: string): number {
    if (operation !== undefined) return this.#injected.get(operation) ?? 0;
    let total = 0;
    for (const count of this.#injected.values()) total += count;
    return total;
  }

  /** Consumes the fault (if any) that applies to this call. */
  decide(operation: string): FaultDecision {
    const delayMs = this.#delays.get(operation) ?? this.#delays.get("*") ?? 0;
    const queue = this.#failures.get(operation)?.length
      ? this.#failures.get(operation)
      : this.#failures.get("*");
    const failure = queue?.[0];
    if (!queue || !failure) return { delayMs };
    failure.remaining--;
    if (failure.remaining === 0) queue.shift();
    this.#injected.set(operation, (this.#injected.get(operation) ?? 0) + 1);
    const error = new AwsServiceError(
      failure.errorType,
      failure.message ?? `Injected fault (${failure.errorType}) on ${operation}`,
      statusForErrorType(failure.errorType),
    );
    return failure.afterApplying ? { delayMs, failAfter: error } : { delayMs, failBefore: error };
  }
}
