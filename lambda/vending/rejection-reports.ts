/**
 * Reported tokens (`rejectedToken`) are claims, not facts: a buggy consumer reporting a valid token must
 * not be able to push the credential into Genesys' token rate limit. Before a report of the cached token
 * leads to a mint, the vendor asks Genesys whether it still accepts the token (`HEAD /api/v2/tokens/me`,
 * {@link TokenProbe}); and mints that replace a reported token are capped per credential (the cap is
 * recorded on the L2 item, `lastRejectionMintAt`; vend.ts). docs/vending.md, "Reported tokens".
 *
 * This module holds the per-container part: the probe's interface and the spacing of probes (so a
 * consumer reporting in a loop does not turn into a loop of probes on the shared token's own API budget),
 * plus the cap's in-process record for a container that runs without DynamoDB.
 *
 * Probes are spaced, their answers are not reused: a report that comes soon after a probe waits for the
 * next one. An earlier "accepted" answer says nothing about a report made after it — the token may have
 * died in between (a regeneration), and an honest consumer's 401 would be answered with the dead token
 * for as long as the answer was reused, while another consumer kept reporting the token falsely.
 */
import type { CachedToken } from "./token-cache.ts";

/** Asks Genesys whether it still accepts a token. */
export interface TokenProbe {
  /**
   * True when Genesys accepts `token` (2xx), false when it rejects it (401).
   * @throws whatever made the answer unknown (timeout, 5xx, 429, ...); the caller decides what then.
   */
  accepts(token: CachedToken, options: { deadline: number }): Promise<boolean>;
}

/** Shortest time between the starts of two probes of the same token by one container. */
export const PROBE_SPACING_MS = 1_000;

/** Per container (runtime.ts): when each credential's token was last probed, and degraded-mode rejection mints. */
export class RejectionReports {
  /** Credential → the token last probed, and when the probe started. */
  readonly #lastProbe = new Map<string, { tokenHash: string; at: number }>();
  /** Credential → when this container last minted directly (without DynamoDB) to replace a reported token. */
  readonly #directMints = new Map<string, number>();

  /** The earliest moment a probe of the token `tokenHash` may start (0: at once). */
  nextProbeAt(credential: string, tokenHash: string): number {
    const last = this.#lastProbe.get(credential);
    return last !== undefined && last.tokenHash === tokenHash ? last.at + PROBE_SPACING_MS : 0;
  }

  /** Records that a probe of `tokenHash` starts at `at`. */
  probing(credential: string, tokenHash: string, at: number): void {
    this.#lastProbe.set(credential, { tokenHash, at });
  }

  /** When this container last minted directly to replace a reported token (degraded mode only). */
  lastDirectMint(credential: string): number | undefined {
    return this.#directMints.get(credential);
  }

  /** Records a direct mint that replaced a reported token. */
  directMinted(credential: string, at: number): void {
    this.#directMints.set(credential, at);
  }
}
