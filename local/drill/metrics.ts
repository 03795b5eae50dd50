/**
 * What the drill measures while it runs: every consumer call (latency, outcome), every rotation step,
 * and per-second samples of cumulative counters (token mints, vendor invocations), folded into a
 * one-second timeline for the progress line, the summary and the HTML report.
 */
import { percentile } from "../shared/percentile.ts";

/** One second of the drill (second 0 = traffic start). */
export interface TimelineBucket {
  second: number;
  /** Consumer calls that completed in this second (successful or not). */
  calls: number;
  failures: number;
  /** Successful token grants Genesys served in this second (all clients). */
  mints: number;
  vendorInvocations: number;
}

/** One invocation of the rotation function, as the drill saw it through the Lambda emulator. */
export interface StepRecord {
  /** 0-based drill rotation the step belongs to. */
  rotation: number;
  step: string;
  /** ms since traffic start. */
  startMs: number;
  endMs: number;
  ok: boolean;
  /** Error name when the step failed (never a message that could carry data). */
  errorName?: string;
  /** True when the drill killed the container during this step (crash-rotation). */
  crashed?: boolean;
}

/** Counts of failed consumer calls by cause, e.g. `{"HTTP 401": 2, "TokenUnavailableError": 1}`. */
export type FailureKinds = Record<string, number>;

/** Collects the drill's measurements. Times are ms since traffic start, given by the caller. */
export class DrillMetrics {
  readonly #latencies: number[] = [];
  readonly #buckets: TimelineBucket[] = [];
  readonly #failureKinds: FailureKinds = {};
  readonly #byConsumerKind: Record<string, { calls: number; failures: number }> = {};
  readonly steps: StepRecord[] = [];
  #calls = 0;
  #failures = 0;
  #skipped = 0;
  #lastSample: { mints: number; vendorInvocations: number } | undefined;

  /**
   * Records a finished consumer call. `failureKind` present = the call failed; `consumerKind` is the
   * adapter it went through (`--consumer-kind`).
   */
  recordCall(endMs: number, latencyMs: number, failureKind?: string, consumerKind = "fetch"): void {
    const bucket = this.#bucket(endMs);
    bucket.calls++;
    this.#calls++;
    const byKind = this.#byConsumerKind[consumerKind] ?? { calls: 0, failures: 0 };
    this.#byConsumerKind[consumerKind] = byKind;
    byKind.calls++;
    if (failureKind !== undefined) byKind.failures++;
    this.#latencies.push(latencyMs);
    if (failureKind !== undefined) {
      bucket.failures++;
      this.#failures++;
      this.#failureKinds[failureKind] = (this.#failureKinds[failureKind] ?? 0) + 1;
    }
  }

  /** Records a call that was not started because its consumer already had too many in flight. */
  recordSkipped(): void {
    this.#skipped++;
  }

  /**
   * Records cumulative counters at `atMs`; the increase since the previous sample is attributed to the
   * second of `atMs`. The first sample is the baseline (what happened during setup is not drill traffic).
   */
  sample(atMs: number, totals: { mints: number; vendorInvocations: number }): void {
    if (this.#lastSample !== undefined) {
      const bucket = this.#bucket(atMs);
      bucket.mints += totals.mints - this.#lastSample.mints;
      bucket.vendorInvocations += totals.vendorInvocations - this.#lastSample.vendorInvocations;
    }
    this.#lastSample = { ...totals };
  }

  get calls(): number {
    return this.#calls;
  }
  get failures(): number {
    return this.#failures;
  }
  get skipped(): number {
    return this.#skipped;
  }
  get failureKinds(): FailureKinds {
    return { ...this.#failureKinds };
  }
  /** Calls and failures per consumer kind. */
  get callsByConsumerKind(): Record<string, { calls: number; failures: number }> {
    return structuredClone(this.#byConsumerKind);
  }

  /** The latency below which `share` (0..1) of calls completed, in ms; 0 when there were no calls. */
  percentile(share: number): number {
    return percentile(this.#latencies, share);
  }

  /** Calls completed in the last `seconds` whole seconds before `nowMs` (for the live rate). */
  recentCalls(nowMs: number, seconds: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let second = current - seconds; second < current; second++) sum += this.#buckets[second]?.calls ?? 0;
    return sum;
  }

  /** The timeline up to and including `lastSecond`, with empty seconds filled in. */
  timeline(lastSecond: number): TimelineBucket[] {
    const result: TimelineBucket[] = [];
    for (let second = 0; second <= lastSecond; second++) {
      result.push(this.#buckets[second] ?? { second, calls: 0, failures: 0, mints: 0, vendorInvocations: 0 });
    }
    return result;
  }

  #bucket(atMs: number): TimelineBucket {
    const second = Math.max(0, Math.floor(atMs / 1000));
    let bucket = this.#buckets[second];
    if (bucket === undefined) {
      bucket = { second, calls: 0, failures: 0, mints: 0, vendorInvocations: 0 };
      this.#buckets[second] = bucket;
    }
    return bucket;
  }
}
