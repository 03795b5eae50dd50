/**
 * Exponential backoff and its two jitters: the one formula behind every retry and poll wait of this
 * project (Genesys HTTP calls, the rotation's probes and puts, the vendor's lease polls and mint pauses,
 * the consumer library's Invokes). Pure: no clock, no state; the random source is a parameter.
 *
 * A wait is built in two steps: {@link exponentialDelay} gives the ceiling of the n-th wait, then a
 * jitter picks the wait below it. Which jitter a call site uses, and why, is in
 * docs/design.md#backoff-and-jitter: full jitter where callers contend for one resource and the
 * shortest expected wait wins, equal jitter where a wait near zero would only repeat the failure.
 */
import { type Random, systemRandom } from "./clock.ts";

/** The exponential part of a backoff. */
export interface ExponentialBackoff {
  /** Ceiling of the first wait (attempt 0), in milliseconds; doubles per attempt. */
  baseMs: number;
  /** The ceiling never grows past this, in milliseconds. */
  capMs: number;
}

/**
 * `2 ** 1024` is Infinity, and `0 * Infinity` is NaN: the exponent stops here, far beyond any cap
 * (a 1 ms base reaches 2^1000 ms), so a caller may count attempts without bound.
 */
const MAX_EXPONENT = 1000;

/**
 * The ceiling of the wait before retry number `attempt` (0 for the first retry):
 * `min(capMs, baseMs * 2^attempt)`. Never decreases as `attempt` grows, and never exceeds `capMs`.
 */
export function exponentialDelay(attempt: number, backoff: ExponentialBackoff): number {
  return Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt, MAX_EXPONENT));
}

/**
 * "Full jitter": a whole number of milliseconds, uniformly from 0 up to `ceilingMs` (rounded down; the
 * ceiling itself only where floating point rounds a random value just below 1 up). Spreads contending
 * callers the most and gives the shortest expected wait, but may retry at once.
 */
export function fullJitter(ceilingMs: number, random: Random = systemRandom): number {
  return Math.floor(random() * ceilingMs);
}

/**
 * "Equal jitter": a whole number of milliseconds from `⌊ceilingMs / 2⌋` up to `ceilingMs` (rounded down,
 * as {@link fullJitter}): half the ceiling fixed, half random. Callers still drift apart, but no wait
 * collapses to zero.
 */
export function equalJitter(ceilingMs: number, random: Random = systemRandom): number {
  const half = ceilingMs / 2;
  return Math.floor(half + random() * half);
}
