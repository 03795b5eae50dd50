/**
 * In-process single-flight: concurrent callers with the same key share one execution of an async
 * operation instead of starting their own (the coalescing that Powertools Parameters lacks, see
 * docs/design.md#caching-secret-values). The vendor shares one resolution among identical requests and
 * one direct mint per credential with it; the consumer library one Invoke among identical `getToken`
 * calls (docs/design.md#consumer-library). The key must include every input that changes the result.
 * A settled operation leaves at once: a rejection reaches every caller that joined it, and the next
 * call with that key starts afresh.
 */
export class SingleFlight {
  readonly #inFlight = new Map<string, Promise<unknown>>();

  /** Runs `operation` unless one with the same key is already running; then joins it. */
  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running as Promise<T>;
    // Deferred by a microtask so the entry exists before the operation can settle (or throw synchronously).
    const started = Promise.resolve()
      .then(operation)
      .finally(() => {
        if (this.#inFlight.get(key) === started) this.#inFlight.delete(key);
      });
    this.#inFlight.set(key, started);
    return started;
  }

  /** Whether an operation with this key is running. */
  has(key: string): boolean {
    return this.#inFlight.has(key);
  }
}
