/**
 * Per container: after a failed direct mint (DynamoDB unavailable, so there is no shared lease to hold
 * through a pause), when this container may try again, and after a rate limit until when Genesys asked
 * to wait. It is the in-process counterpart of the L2 item's lease hold and `mintBlockedUntil`; vend.ts
 * computes both from the same rules (mint-failures.ts), so a degraded container paces Genesys like the
 * fleet does.
 */
import type { MintBlock } from "./token-table.ts";

/** The pause after the last failed direct mint of one credential. */
export interface MintPause {
  /** Epoch ms on the container's clock: no direct mint starts before then. */
  nextAttemptAt: number;
  /** Consecutive failures so far (drives the transient backoff). */
  failures: number;
  /** Set after a rate limit: until when Genesys asked to wait (may be later than `nextAttemptAt`). */
  mintBlocked?: MintBlock;
  /** What failed, for the error of a caller that gives up during the pause (never holds a secret). */
  lastFailure: unknown;
}

/** {@link MintPause} per credential name; one instance per container (runtime.ts). */
export class DirectMintPauses {
  readonly #pauses = new Map<string, MintPause>();

  /** The current pause of `credential`, if its last direct mint failed (it may have ended already). */
  get(credential: string): MintPause | undefined {
    return this.#pauses.get(credential);
  }

  /** Records a failed direct mint: the next may start at `nextAttemptAt`. */
  failed(
    credential: string,
    failure: { nextAttemptAt: number; mintBlocked?: MintBlock; lastFailure: unknown },
  ): void {
    const failures = (this.#pauses.get(credential)?.failures ?? 0) + 1;
    this.#pauses.set(credential, { ...failure, failures });
  }

  /** Records a successful direct mint: no pause, and the backoff starts over. */
  succeeded(credential: string): void {
    this.#pauses.delete(credential);
  }
}
