/**
 * Whether this container currently uses DynamoDB (L2). After a failure the container degrades to
 * L1 + direct minting and stops calling DynamoDB for `probeIntervalMs`, so an outage that hangs
 * connections does not add a timeout to every invocation; then the next invocation probes again, and
 * the first success ends the degradation. Transitions are logged once each (no log per request).
 */
import type { Clock } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import type { Log } from "../shared/log.ts";

export class L2Health {
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #probeIntervalMs: number;
  #degradedSince: number | undefined;
  #nextProbeAt = 0;

  /** @param probeIntervalMs how long to skip DynamoDB after a failure. */
  constructor(clock: Clock, log: Log, probeIntervalMs = 5000) {
    this.#clock = clock;
    this.#log = log;
    this.#probeIntervalMs = probeIntervalMs;
  }

  /** True while the last DynamoDB call failed and none has succeeded since. */
  get degraded(): boolean {
    return this.#degradedSince !== undefined;
  }

  /** Whether to call DynamoDB now: always when healthy, once per probe interval when degraded. */
  shouldTry(): boolean {
    return this.#degradedSince === undefined || this.#clock.now() >= this.#nextProbeAt;
  }

  /** Records a failed DynamoDB call. */
  failed(error: unknown): void {
    const now = this.#clock.now();
    if (this.#degradedSince === undefined) {
      this.#degradedSince = now;
      this.#log.warn("DynamoDB unavailable: serving from L1 and minting directly until it answers again", {
        ...describeError(error),
        probeIntervalMs: this.#probeIntervalMs,
      });
    }
    this.#nextProbeAt = now + this.#probeIntervalMs;
  }

  /** Records a successful DynamoDB call. */
  succeeded(): void {
    if (this.#degradedSince === undefined) return;
    this.#log.info("DynamoDB available again: back to the shared cache", {
      degradedForMs: this.#clock.now() - this.#degradedSince,
    });
    this.#degradedSince = undefined;
  }
}
