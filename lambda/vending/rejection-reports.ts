/**
 * Reported tokens (`rejectedToken`) are claims, not facts: a buggy consumer reporting a valid token must
 * not be able to push the credential into Genesys' token rate limit. Before a report of the cached token
 * leads to a mint, the vendor asks Genesys whether it still accepts the token (`HEAD /api/v2/tokens/me`,
 * {@link TokenProbe}); and mints that replace a reported token are capped per credential (the cap is
 * recorded on the L2 item, `lastRejectionMintAt`; vend.ts). docs/vending.md, "Reported tokens".
 *
 * This module holds the per-container part: the probe's interface and a short memory of probe answers
 * (so a consumer reporting in a loop does not turn into a loop of probes on the shared token's own API
 * budget), plus the cap's in-process record for a container that runs without DynamoDB.
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

/** How long a "Genesys accepts this token" answer is reused for further reports of the same token. */
export const PROBE_ANSWER_REUSE_MS = 5_000;

/** Per container (runtime.ts): recent probe answers and degraded-mode rejection mints, per credential. */
export class RejectionReports {
  /** Credential → the token Genesys last said it accepts, and when. */
  readonly #accepted = new Map<string, { tokenHash: string; at: number }>();
  /** Credential → when this container last minted directly (without DynamoDB) to replace a reported token. */
  readonly #directMints = new Map<string, number>();

  /** True when Genesys accepted the token `tokenHash` less than {@link PROBE_ANSWER_REUSE_MS} ago. */
  recentlyAccepted(credential: string, tokenHash: string, now: number): boolean {
    const answer = this.#accepted.get(credential);
    return answer !== undefined && answer.tokenHash === tokenHash && now - answer.at < PROBE_ANSWER_REUSE_MS;
  }

  /** Records a probe's answer for `tokenHash`. */
  probed(credential: string, tokenHash: string, accepted: boolean, now: number): void {
    if (accepted) this.#accepted.set(credential, { tokenHash, at: now });
    else if (this.#accepted.get(credential)?.tokenHash === tokenHash) this.#accepted.delete(credential);
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
