/**
 * Time and randomness as injectable dependencies, so that expiry, lease and backoff logic is tested
 * without sleeping and without flaky randomness.
 */

/** A source of the current time and of delays. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds of this clock's time. Rejects with the signal's reason when
   * `signal` aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** A source of uniformly distributed numbers in [0, 1). */
export type Random = () => number;

/** The default randomness (jitter only: never used for anything secret). */
export const systemRandom: Random = Math.random;

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same sequence on every run and platform, so
 * injected faults and jitter replay exactly. Only for timing and fault injection, never for anything secret.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A clock that only moves when told to. `sleep` resolves as soon as `advance` passes its deadline,
 * so code that waits for propagation or backoff runs instantly in tests.
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { until: number; resolve: () => void }[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const sleeper = { until: this.#now + Math.max(0, ms), resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener(
        "abort",
        () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Moves time forward and wakes every sleeper whose deadline has passed. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const sleeper of due) sleeper.resolve();
  }

  /** Sets the absolute time (never backwards). */
  set(ms: number): void {
    this.advance(Math.max(0, ms - this.#now));
  }
}

/**
 * Sleeps `ms` on `clock`; false when `signal` aborted first (instead of rejecting). Each sleep gets its
 * own signal, so a clock that never removes its abort listeners does not pile them up on a long-lived
 * one (the notifications helper's and the emulator's timers live as long as a channel).
 */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  const local = new AbortController();
  const abort = () => local.abort();
  signal.addEventListener("abort", abort, { once: true });
  try {
    await clock.sleep(ms, local.signal);
    return true;
  } catch {
    return false;
  } finally {
    signal.removeEventListener("abort", abort);
  }
}
