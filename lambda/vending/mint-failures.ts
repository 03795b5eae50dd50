/**
 * The mint-failure policy of the vending algorithm (vend.ts; docs/vending.md, "Failure modes"): what
 * kind a failed mint is, how long minting then pauses, and what a rate limit blocks. The shared path
 * (the lease hold on the L2 item) and the degraded path (mint-pauses.ts) apply the same rules, so a
 * degraded container paces Genesys like the fleet does.
 */
import { awsErrorFields } from "../shared/aws-errors.ts";
import { RotatorError } from "../shared/errors.ts";
import { GenesysApiRateLimitError, GenesysTokenRateLimitError } from "../shared/genesys/errors.ts";
import type { MintBlock } from "./token-table.ts";

/** Pause after a rate limit without Retry-After (Genesys may not send one on the token endpoint). */
const DEFAULT_RATE_LIMIT_PAUSE_MS = 1000;
/** Pause after a failed refresh-ahead mint before the next caller tries again. */
export const REFRESH_RETRY_PAUSE_MS = 1000;
/** Pause after a fatal mint failure before another caller may try (spaces out doomed attempts). */
const FATAL_PAUSE_MS = 1000;

export type MintFailure =
  | { kind: "rate-limited"; pauseMs: number; retryAfterMs?: number }
  | { kind: "transient" }
  | { kind: "fatal" };

/**
 * How to react to a failed mint: rate limits wait for Retry-After, transient trouble backs off, and
 * anything else (every stage rejected, a malformed secret, access denied) is not retried.
 */
export function classifyMintFailure(error: unknown): MintFailure {
  if (error instanceof GenesysTokenRateLimitError || error instanceof GenesysApiRateLimitError) {
    const retryAfterMs = error.retryAfterMs;
    return retryAfterMs === undefined
      ? { kind: "rate-limited", pauseMs: DEFAULT_RATE_LIMIT_PAUSE_MS }
      : { kind: "rate-limited", pauseMs: retryAfterMs, retryAfterMs };
  }
  if (error instanceof RotatorError) return error.retryable ? { kind: "transient" } : { kind: "fatal" };
  // AWS SDK errors (reading the secret): throttling and server faults are transient, client faults are not.
  const aws = awsErrorFields(error);
  if (aws.sdkRetryable || aws.fault === "server") return { kind: "transient" };
  if (aws.fault === "client") return { kind: "fatal" };
  return { kind: "transient" };
}

/**
 * How long minting pauses after `failure`, on the shared and the degraded path alike: Retry-After
 * for a rate limit (1 s without one), {@link FATAL_PAUSE_MS} for a fatal failure, `transientMs()`
 * otherwise (a backoff, or the refresh pause while a valid token exists).
 */
export function pauseAfter(failure: MintFailure, transientMs: () => number): number {
  if (failure.kind === "rate-limited") return failure.pauseMs;
  if (failure.kind === "fatal") return FATAL_PAUSE_MS;
  return transientMs();
}

export function refreshPause(): number {
  return REFRESH_RETRY_PAUSE_MS;
}

/** What a rate limit at `now` blocks: nobody can expect a new token before its pause ends. */
export function mintBlockAfter(failure: MintFailure, now: number): MintBlock | undefined {
  return failure.kind === "rate-limited"
    ? { reason: "rate-limited", until: now + failure.pauseMs }
    : undefined;
}
