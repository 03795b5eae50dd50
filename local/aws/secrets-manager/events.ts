/**
 * The emulator's record of rotations: the service events Secrets Manager publishes to CloudTrail
 * (`RotationStarted`, `RotationSucceeded`, `RotationFailed`, `RotationAbandoned`,
 * `TestRotationStarted|Succeeded|Failed`), every rotation-function invocation, and waiting for the
 * outcome of the latest rotation of a secret.
 */
import type { RotationStep } from "../../../lambda/shared/staging-labels.ts";
import { EmulatorUsageError } from "./errors.ts";

/** Names of the CloudTrail service events Secrets Manager emits for rotations. */
export type RotationEventName =
  | "RotationStarted"
  | "RotationSucceeded"
  | "RotationFailed"
  | "RotationAbandoned"
  | "TestRotationStarted"
  | "TestRotationSucceeded"
  | "TestRotationFailed";

/** Events that end a rotation (what `waitForRotation` resolves with). */
const TERMINAL_EVENTS: ReadonlySet<RotationEventName> = new Set([
  "RotationSucceeded",
  "RotationFailed",
  "RotationAbandoned",
  "TestRotationSucceeded",
  "TestRotationFailed",
]);

/** One recorded rotation event. */
export interface RotationEventRecord {
  eventName: RotationEventName;
  /** Full ARN of the rotated secret. */
  secretArn: string;
  /** The rotation's ClientRequestToken, i.e. the VersionId of its AWSPENDING version. */
  versionId: string;
  /** Epoch milliseconds (emulator clock). */
  at: number;
  /** As CloudTrail shows it, e.g. `Error when executing lambda <arn> during setSecret step`. */
  errorMessage?: string;
  /** The step that failed last (RotationFailed / TestRotationFailed). */
  step?: RotationStep;
  /** How many whole-rotation attempts ran (terminal events of rotations that invoked the function). */
  attempts?: number;
  /** `name: message` of what the rotation function threw on the last failed attempt. */
  cause?: string;
}

/** One call of the rotation function. */
export interface RotationInvocationRecord {
  secretArn: string;
  versionId: string;
  step: RotationStep;
  /** 1-based whole-rotation attempt this call belongs to. */
  attempt: number;
  /** Epoch milliseconds (emulator clock) when the call started. */
  at: number;
  /** `name: message` of the error the function threw; absent when the step succeeded. */
  error?: string;
}

interface LatestRotation {
  versionId: string;
  terminal?: RotationEventRecord;
  waiters: { resolve: (record: RotationEventRecord) => void; reject: (error: Error) => void }[];
}

/** Append-only log of rotation events and invocations, with per-secret completion waiting. */
export class RotationEventLog {
  /** Every event in the order it happened. */
  readonly events: RotationEventRecord[] = [];
  /** Every rotation-function invocation in the order it started. */
  readonly invocations: RotationInvocationRecord[] = [];
  #latest = new Map<string, LatestRotation>();

  /** Appends an event; a `*Started` event opens a new "latest rotation", a terminal one closes it. */
  record(event: RotationEventRecord): void {
    this.events.push(event);
    if (event.eventName === "RotationStarted" || event.eventName === "TestRotationStarted") {
      const previous = this.#latest.get(event.secretArn);
      const waiters = previous && !previous.terminal ? previous.waiters : [];
      // Waiters of a rotation that never ended (e.g. a reattempt with the same token) follow the new run.
      this.#latest.set(event.secretArn, { versionId: event.versionId, waiters });
      return;
    }
    if (!TERMINAL_EVENTS.has(event.eventName)) return;
    const latest = this.#latest.get(event.secretArn);
    if (!latest || latest.versionId !== event.versionId || latest.terminal) return;
    latest.terminal = event;
    for (const waiter of latest.waiters.splice(0)) waiter.resolve(event);
  }

  /** Appends an invocation record. */
  recordInvocation(invocation: RotationInvocationRecord): void {
    this.invocations.push(invocation);
  }

  /** True when the latest rotation of `secretArn` with this token has already ended. */
  hasEnded(secretArn: string, versionId: string): boolean {
    const latest = this.#latest.get(secretArn);
    return latest?.versionId === versionId && latest.terminal !== undefined;
  }

  /**
   * Resolves with the terminal event of the latest rotation of `secretArn` (at once if it already
   * ended). Rejects when no rotation was ever started, or after `timeoutMs` of wall-clock time (not
   * the emulator clock: a ManualClock would otherwise never time out).
   */
  waitForLatest(secretArn: string, timeoutMs: number): Promise<RotationEventRecord> {
    const latest = this.#latest.get(secretArn);
    if (!latest) {
      return Promise.reject(
        new EmulatorUsageError(`waitForRotation: no rotation has been started for secret ${secretArn}`),
      );
    }
    if (latest.terminal) return Promise.resolve(latest.terminal);
    return new Promise<RotationEventRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        latest.waiters = latest.waiters.filter((w) => w !== waiter);
        reject(
          new EmulatorUsageError(
            `waitForRotation: rotation ${latest.versionId} of ${secretArn} did not end within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        resolve: (record: RotationEventRecord) => {
          clearTimeout(timer);
          resolve(record);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      latest.waiters.push(waiter);
    });
  }

  /** Rejects every pending waiter (the emulator is stopping). */
  rejectAllWaiters(reason: string): void {
    for (const latest of this.#latest.values()) {
      for (const waiter of latest.waiters.splice(0)) waiter.reject(new EmulatorUsageError(reason));
    }
  }
}
