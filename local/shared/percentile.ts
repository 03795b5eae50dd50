/**
 * Latency statistics shared by the local tools (the drill's summary, the bench's figures), so both
 * report the same p50/p99 for the same samples.
 */

/**
 * The nearest-rank percentile of `samples`: the smallest sample such that at least `share` (0..1) of all
 * samples are less than or equal to it (`share` 1 gives the maximum). 0 when there are no samples.
 * The input is not modified.
 */
export function percentile(samples: readonly number[], share: number): number {
  if (samples.length === 0) return 0;
  // A typed array sorts numerically (a plain array's default sort compares strings).
  const sorted = Float64Array.from(samples).sort();
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
  return sorted[index] ?? 0;
}
