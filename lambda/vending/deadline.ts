/**
 * The caller's deadline in the vending algorithm: every wait stops at it, every AWS call is aborted at
 * it (vend.ts, "Three rules hold everywhere").
 */
import type { Clock } from "../shared/clock.ts";
import type { VendDependencies, Want } from "./vend.ts";

/**
 * Aborts the AWS SDK calls of one resolution at the caller's deadline, so a hanging Secrets Manager or
 * DynamoDB yields an answer (a still-valid token or a typed error) before Lambda's timeout. The
 * deadline is on `clock`; the signal runs in real time because what it guards, Lambda's timeout, does.
 */
export function deadlineSignal(deadline: number, clock: Clock): AbortSignal {
  return AbortSignal.timeout(Math.max(0, Math.ceil(deadline - clock.now())));
}

/**
 * Sleeps `ms`, or until the deadline if that comes first. False when the deadline has come: there is
 * no time left to act on what another read would show (and its call would be aborted anyway).
 */
export async function sleepWithin(ms: number, want: Want, deps: VendDependencies): Promise<boolean> {
  const left = want.deadline - deps.clock.now();
  if (left <= 0) return false;
  await deps.clock.sleep(Math.min(ms, left));
  return !deadlinePassed(want, deps);
}

/**
 * The deadline on `clock`, or the real-time signal derived from it: they agree in production; with a
 * test clock only the signal knows that real time ran out (e.g. while an AWS call hung).
 */
export function deadlinePassed(want: Want, deps: VendDependencies): boolean {
  return deps.clock.now() >= want.deadline || want.signal.aborted;
}
