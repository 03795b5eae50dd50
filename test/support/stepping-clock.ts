/**
 * A ManualClock whose `sleep` returns at once after moving time forward by the requested amount, and
 * records every sleep. Code under test that backs off, honours Retry-After or polls for propagation then
 * runs instantly, while a test can still assert HOW LONG it chose to wait. Share one instance between the
 * client and an emulator so that waiting on one side lets time pass on the other.
 */
import { ManualClock } from "../../lambda/shared/clock.ts";

export class SteppingClock extends ManualClock {
  /** Every sleep requested, in milliseconds, in order. */
  readonly sleeps: number[] = [];

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.sleeps.push(ms);
    this.advance(Math.max(0, ms));
    return Promise.resolve();
  }
}
