/**
 * A clock that runs with real time and can be jumped forward: `now()` is the wall clock plus the sum of
 * the jumps, and a `sleep` wakes when its deadline passes, by real time or by a jump. For suites where
 * real I/O must keep flowing (sockets, Lambda invokes) while hours of channel lifetime pass in an
 * instant. Share one instance between an emulator and the code under test.
 */
import type { Clock } from "../../lambda/shared/clock.ts";

export class JumpingClock implements Clock {
  #offsetMs = 0;
  readonly #sleepers = new Set<{ until: number; wake: () => void }>();

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const wait = Math.max(0, ms);
      const sleeper = {
        until: this.now() + wait,
        wake: () => {
          clearTimeout(timer);
          this.#sleepers.delete(sleeper);
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.#sleepers.delete(sleeper);
        reject(signal?.reason);
      };
      const timer = setTimeout(sleeper.wake, wait);
      this.#sleepers.add(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Moves time forward by `ms` and wakes every sleeper whose deadline has passed. */
  jump(ms: number): void {
    this.#offsetMs += Math.max(0, ms);
    const now = this.now();
    for (const sleeper of [...this.#sleepers]) if (sleeper.until <= now) sleeper.wake();
  }
}
