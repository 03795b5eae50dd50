/**
 * What a cached token is worth right now (fresh / refresh-ahead / expired) and the per-container L1
 * cache. Pure functions of a token and a time: the vending algorithm (vend.ts) decides what to do with
 * the answer.
 *
 * Timeline of one token of lifetime L (issuedAt → expiresAt):
 *
 *   issuedAt ─────── fresh ─────── │ ── refresh-ahead (W) ── │ margin (M) │ expiresAt
 *
 * - W, the refresh-ahead window: `min(max(5 min, 10% of L), 25% of L)`. docs/design.md#token-vending asks for the last
 *   max(5 min, 10%) of a token's life; the 25% cap keeps short-lived tokens useful (a 60 s token of the
 *   local drill refreshes 15 s before expiry rather than immediately). Genesys' shortest lifetime, 300 s,
 *   gets a 75 s window; the default 86 400 s gets 8 640 s.
 * - M, the expiry margin: `min(10 s, 5% of L)`, but at least 1 s (and at most half of L). A token with
 *   less than M left is treated as expired, because the consumer still has to send it over the network
 *   (golang/oauth2 uses 10 s the same way). The 1 s floor also guarantees that a served token reports
 *   `expiresInSeconds >= 1`: answers are in whole seconds, and "0 seconds left" is no token at all.
 */
import { createHash } from "node:crypto";

/** A token as cached in L1 and L2. `accessToken` is secret: never log it, never put it in an error. */
export interface CachedToken {
  /** The bearer token. */
  accessToken: string;
  /** SHA-256 of `accessToken`, hex: lets a rejected token be recognised without comparing secrets. */
  tokenHash: string;
  /** Epoch ms. */
  issuedAt: number;
  /** Epoch ms. */
  expiresAt: number;
  /** The OAuth client that minted it (not secret). */
  clientId: string;
  /** The Secrets Manager version whose client secret minted it. */
  secretVersionId: string;
  /** The Genesys environment domain of that secret value, e.g. `mypurecloud.ie`. */
  environment: string;
  /** L2 generation the token was written as; 0 for a token minted while DynamoDB was unavailable. */
  generation: number;
}

/** The life stage of a token at a given time. */
export type TokenState = "fresh" | "refresh-ahead" | "expired";

const FIVE_MINUTES_MS = 300_000;
const TEN_SECONDS_MS = 10_000;
const ONE_SECOND_MS = 1_000;

/** Length of the refresh-ahead window (W above) for a token of the given lifetime. */
export function refreshAheadWindowMs(lifetimeMs: number): number {
  const lifetime = Math.max(0, lifetimeMs);
  return Math.min(Math.max(FIVE_MINUTES_MS, lifetime * 0.1), lifetime * 0.25);
}

/** Length of the expiry margin (M above) for a token of the given lifetime. */
export function expiryMarginMs(lifetimeMs: number): number {
  const lifetime = Math.max(0, lifetimeMs);
  return Math.min(Math.max(ONE_SECOND_MS, Math.min(TEN_SECONDS_MS, lifetime * 0.05)), lifetime / 2);
}

/** Where `token` is in its life at `now`. */
export function tokenState(token: Pick<CachedToken, "issuedAt" | "expiresAt">, now: number): TokenState {
  const lifetime = token.expiresAt - token.issuedAt;
  if (now >= token.expiresAt - expiryMarginMs(lifetime)) return "expired";
  if (now >= token.expiresAt - refreshAheadWindowMs(lifetime)) return "refresh-ahead";
  return "fresh";
}

/**
 * Whether `token` may be handed to a caller that needs it to stay valid for `minTtlMs` more.
 *
 * A request can never demand more than a freshly minted token offers, or every call would mint: the
 * demand is capped at the token's fresh span (L − W). So any fresh token satisfies any caller, and a
 * token in its refresh-ahead window satisfies callers whose `minTtlMs` it still covers.
 */
export function satisfies(
  token: Pick<CachedToken, "issuedAt" | "expiresAt">,
  now: number,
  minTtlMs: number,
): boolean {
  if (tokenState(token, now) === "expired") return false;
  const lifetime = token.expiresAt - token.issuedAt;
  const demand = Math.min(minTtlMs, lifetime - refreshAheadWindowMs(lifetime));
  return token.expiresAt - now >= demand;
}

/** SHA-256 (hex) of a token: what the cache compares and stores instead of comparing secrets. */
export function hashToken(accessToken: string): string {
  return createHash("sha256").update(accessToken, "utf8").digest("hex");
}

/** The later-issued of two tokens (either may be absent). Ties go to the higher generation. */
export function newerToken(a: CachedToken | undefined, b: CachedToken | undefined): CachedToken | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.issuedAt !== b.issuedAt) return a.issuedAt > b.issuedAt ? a : b;
  return a.generation >= b.generation ? a : b;
}

/**
 * L1: one token per credential in module scope, so a warm container serves a fresh token with no I/O.
 * Keeps the newer token when asked to store an older one (two requests finishing out of order).
 */
export class L1Cache {
  readonly #entries = new Map<string, CachedToken>();
  readonly #accept: ((credential: string, token: CachedToken) => boolean) | undefined;

  /**
   * @param accept checked on every read (token-vetting.ts): an entry it refuses is dropped and not
   *   returned. @default accept everything
   */
  constructor(accept?: (credential: string, token: CachedToken) => boolean) {
    this.#accept = accept;
  }

  /** The cached token of `credential`, whatever its state (unless `accept` refuses it). */
  get(credential: string): CachedToken | undefined {
    const token = this.#entries.get(credential);
    if (token === undefined || this.#accept === undefined || this.#accept(credential, token)) return token;
    this.#entries.delete(credential);
    return undefined;
  }

  /** Stores `token` unless a newer one is already cached. */
  set(credential: string, token: CachedToken): void {
    // A refused entry must not keep a newer token out (say one claiming a later issuedAt).
    const current = this.get(credential);
    if (newerToken(current, token) === token) this.#entries.set(credential, token);
  }

  /** Forgets the cached token of `credential` when its hash is `tokenHash` (a consumer reported it rejected). */
  forget(credential: string, tokenHash: string): void {
    if (this.#entries.get(credential)?.tokenHash === tokenHash) this.#entries.delete(credential);
  }

  /** Empties the cache (tests). */
  clear(): void {
    this.#entries.clear();
  }
}
