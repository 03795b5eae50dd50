/**
 * What a report of a rejected token (`rejectedToken`) may cause (docs/vending.md): the vendor asks
 * Genesys before it mints a replacement, and caps the replacements it mints on reports it could not
 * check. vend.ts calls these from its shared and its degraded path; rejection-reports.ts keeps the
 * container's memory of probes and direct mints.
 */
import { describeError } from "../shared/errors.ts";
import { sleepWithin } from "./deadline.ts";
import { TokenUnavailableError } from "./errors.ts";
import { type CachedToken, satisfies } from "./token-cache.ts";
import type { VendDependencies, Want } from "./vend.ts";

/** Longest time a probe of a reported token may take (the rest of the deadline is left for a mint). */
const PROBE_BUDGET_MS = 3000;

/** What Genesys said about a reported token: still accepted, rejected (401), or no answer. */
export type RejectionVerdict = "accepted" | "rejected" | "unknown";

/**
 * The reported token is `token` itself and nothing else makes it unusable for this caller: a mint
 * would happen only because of the report.
 */
export function onlyReported(token: CachedToken, want: Want, now: number): boolean {
  return token.tokenHash === want.rejectedHash && satisfies(token, now, want.minTtlMs);
}

/**
 * Asks Genesys whether it still accepts the reported `token`. Probes of one token are spaced
 * (rejection-reports.ts): a report soon after a probe waits for the next one rather than reusing an
 * answer the token may have outlived. A probe that fails, or has no time left, answers "unknown": the
 * mint cap then decides.
 */
export async function confirmRejection(
  want: Want,
  token: CachedToken,
  deps: VendDependencies,
): Promise<RejectionVerdict> {
  const name = want.credential.name;
  const wait = deps.rejections.nextProbeAt(name, token.tokenHash) - deps.clock.now();
  if (wait > 0 && !(await sleepWithin(wait, want, deps))) return "unknown";
  const now = deps.clock.now();
  const left = want.deadline - now;
  if (left <= 0 || want.signal.aborted) return "unknown";
  deps.rejections.probing(name, token.tokenHash, now);
  let accepted: boolean;
  try {
    accepted = await deps.probe.accepts(token, {
      deadline: now + Math.min(PROBE_BUDGET_MS, Math.max(1, Math.floor(left / 2))),
    });
  } catch (error) {
    deps.log.warn("Could not ask Genesys about a reported token; the rejection mint cap decides", {
      credential: name,
      ...describeError(error),
    });
    return "unknown";
  }
  if (!accepted) {
    deps.log.info("Genesys confirmed a reported token is rejected", {
      credential: name,
      generation: token.generation,
    });
    return "rejected";
  }
  deps.metrics.count("RejectionReportsUnconfirmed");
  deps.log.warn("A consumer reported a token that Genesys still accepts; serving it instead of minting", {
    credential: name,
    generation: token.generation,
  });
  return "accepted";
}

/**
 * The error for a caller whose report would cause a second mint within the cap
 * (`rejectionMintIntervalMs` after `lastRejectionMintAt`), or undefined when a mint may start.
 */
export function rejectionMintCapped(
  want: Want,
  lastRejectionMintAt: number | undefined,
  deps: VendDependencies,
): TokenUnavailableError | undefined {
  if (lastRejectionMintAt === undefined) return undefined;
  const now = deps.clock.now();
  const left = lastRejectionMintAt + deps.rejectionMintIntervalMs - now;
  if (left <= 0) return undefined;
  deps.metrics.count("RejectionMintsCapped");
  deps.log.warn(
    "Reported token not replaced: another replacement was minted within the rejection mint interval",
    {
      credential: want.credential.name,
      intervalSeconds: deps.rejectionMintIntervalMs / 1000,
      retryInMs: left,
    },
  );
  return new TokenUnavailableError(
    want.credential.name,
    `a token replacing a reported one was minted less than ${Math.ceil(deps.rejectionMintIntervalMs / 1000)} s ago; the next replacement may be minted in ${Math.ceil(left / 1000)} s`,
  );
}
