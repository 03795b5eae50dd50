/**
 * Nothing read back from the cache is trusted. The L2 table is shared by every container and by anyone
 * with write access to it, and may hold items of another version of this code: a forged or corrupted
 * item must not be served (a token "valid until 2100" would be cached by consumers that long; a
 * `tokenHash` that does not match defeats 401 recovery; an unknown environment fails every answer).
 *
 * Every token read from L2 — and every token L1 hands out — is checked here. One that fails a rule is
 * treated as absent (the normal lease → mint path replaces it), counted as `CacheItemRejected` and
 * logged with the rule it broke (never a value). docs/vending.md, "Untrusted cache items".
 */
import type { Clock } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import { allowedEnvironments, type EnvironmentOptions } from "../shared/genesys/environments.ts";
import { MAX_ACCESS_TOKEN_VALIDITY_SECONDS } from "../shared/genesys/token-lifetime.ts";
import type { Log } from "../shared/log.ts";
import type { VendMetrics } from "./metrics.ts";
import { PLAUSIBLE_TOKEN } from "./payload.ts";
import { type CachedToken, hashToken } from "./token-cache.ts";
import {
  type LeaseOutcome,
  MAX_PLAUSIBLE_CLOCK_SKEW_MS,
  MAX_PLAUSIBLE_LEASE_MS,
  type TableCallOptions,
  type TokenItem,
  type TokenKey,
  type TokenTable,
  type WriteOutcome,
} from "./token-table.ts";

/** The rule a cached token broke (a log field; never the value). */
export type CachedTokenDefect =
  /** `accessToken` is not a plausible bearer token (RFC 6750 characters, 16–4096 long; no CR/LF, no spaces). */
  | "token-format"
  /** `tokenHash` is not the SHA-256 of `accessToken`. */
  | "token-hash"
  /** `issuedAt`/`expiresAt` are not whole epoch ms, or the lifetime is not within (0, 48 h]. */
  | "lifetime"
  /** `issuedAt` lies in the future beyond the allowed clock skew. */
  | "issued-in-future"
  /** `clientId` or `secretVersionId` is empty, too long, or not printable ASCII. */
  | "identifiers"
  /** `environment` is not a known Genesys domain (nor a configured extra one). */
  | "environment-unknown"
  /** `environment` differs from the environment of the credential's secret (once this container read it). */
  | "environment-mismatch";

/** How far in the future a token's `issuedAt` may lie: clocks of different containers differ a little. */
export const ISSUED_AT_SKEW_MS = MAX_PLAUSIBLE_CLOCK_SKEW_MS;
/** The longest lifetime a token may claim (Genesys' maximum `accessTokenValiditySeconds`). */
export const MAX_TOKEN_LIFETIME_MS = MAX_ACCESS_TOKEN_VALIDITY_SECONDS * 1000;
/** `clientId` and `secretVersionId`: 1–128 printable ASCII characters without spaces. */
const IDENTIFIER = /^[\x21-\x7e]{1,128}$/;

/** What a token is checked against. */
export interface VettingContext {
  /** Clock time of the check. */
  now: number;
  /** Known Genesys domains plus the configured extras. */
  environments: ReadonlySet<string>;
  /** The environment of the credential's secret (AWSCURRENT), when this container has read it. */
  secretEnvironment?: string | undefined;
}

/** The first rule `token` breaks, or undefined when it may be served. Pure. */
export function cachedTokenDefect(
  token: CachedToken,
  context: VettingContext,
): CachedTokenDefect | undefined {
  if (typeof token.accessToken !== "string" || !PLAUSIBLE_TOKEN.test(token.accessToken)) {
    return "token-format";
  }
  if (token.tokenHash !== hashToken(token.accessToken)) return "token-hash";
  const { issuedAt, expiresAt } = token;
  if (
    !Number.isSafeInteger(issuedAt) ||
    !Number.isSafeInteger(expiresAt) ||
    expiresAt <= issuedAt ||
    expiresAt - issuedAt > MAX_TOKEN_LIFETIME_MS
  ) {
    return "lifetime";
  }
  if (issuedAt > context.now + ISSUED_AT_SKEW_MS) return "issued-in-future";
  if (!IDENTIFIER.test(token.clientId) || !IDENTIFIER.test(token.secretVersionId)) return "identifiers";
  if (!context.environments.has(token.environment)) return "environment-unknown";
  if (context.secretEnvironment !== undefined && token.environment !== context.secretEnvironment) {
    return "environment-mismatch";
  }
  return undefined;
}

/** Where a checked token came from (a log field). */
export type TokenSource = "L1" | "L2";

/** Dependencies of {@link TokenVetter}. */
export interface TokenVetterDependencies {
  clock: Clock;
  log: Log;
  metrics: VendMetrics;
  /** The deploy-time extra environments (config.ts). */
  genesys: EnvironmentOptions;
  /**
   * The environment of the secret behind `secretArn`, when known without I/O (the minter remembers the
   * AWSCURRENT value it last read); undefined before this container has read it.
   */
  secretEnvironment?: (secretArn: string) => string | undefined;
  /**
   * Makes {@link secretEnvironment} know the secret's environment (reads AWSCURRENT once per container).
   * Called before an L2 token is vetted while the environment is unknown: otherwise a container that has
   * not minted yet would serve a forged token of another Genesys region, and its consumers would send
   * their requests there.
   */
  learnSecretEnvironment?: (key: TokenKey, options?: TableCallOptions) => Promise<void>;
}

/** Checks tokens against {@link cachedTokenDefect}, counting and logging each one refused. One per container. */
export class TokenVetter {
  readonly #deps: TokenVetterDependencies;
  readonly #environments: ReadonlySet<string>;

  constructor(deps: TokenVetterDependencies) {
    this.#deps = deps;
    this.#environments = allowedEnvironments(deps.genesys);
  }

  /** True when `token` (of the credential `key`) may be served; otherwise counts and logs why not. */
  accepts(key: TokenKey, token: CachedToken, source: TokenSource): boolean {
    const defect = cachedTokenDefect(token, {
      now: this.#deps.clock.now(),
      environments: this.#environments,
      secretEnvironment: this.#deps.secretEnvironment?.(key.secretArn),
    });
    if (defect === undefined) return true;
    this.#deps.metrics.count("CacheItemRejected");
    this.#deps.log.warn("Cached token refused: it breaks a rule, so it is treated as absent", {
      credential: key.credential,
      source,
      rule: defect,
      generation: token.generation,
    });
    return false;
  }

  /**
   * Learns the secret's environment when this container does not know it yet and `item` holds a token
   * to vet. A failure is logged and the token is vetted without it (the rules that need no secret still
   * apply).
   */
  async prepare(key: TokenKey, item: TokenItem | undefined, options?: TableCallOptions): Promise<void> {
    if (item?.token === undefined || this.#deps.learnSecretEnvironment === undefined) return;
    if (this.#deps.secretEnvironment?.(key.secretArn) !== undefined) return;
    try {
      await this.#deps.learnSecretEnvironment(key, options);
    } catch (error) {
      this.#deps.log.warn("Could not read the secret to vet a cached token; vetting without it", {
        credential: key.credential,
        ...describeError(error),
      });
    }
  }

  /**
   * `item` as far as it can be trusted: without its token when the token is refused (the generation
   * still counts for conditional writes), and without a `leaseUntil` or `lastRejectionMintAt` that lies
   * implausibly far ahead — the table's conditions treat those as absent too, so a forged lease cannot
   * stop the fleet from minting.
   */
  item(key: TokenKey, item: TokenItem | undefined): TokenItem | undefined {
    if (item === undefined) return undefined;
    const now = this.#deps.clock.now();
    let trusted = item;
    if (item.token !== undefined && !this.accepts(key, item.token, "L2")) {
      const { token: _refused, ...rest } = trusted;
      trusted = rest;
    }
    if (item.leaseUntil !== undefined && item.leaseUntil > now + MAX_PLAUSIBLE_LEASE_MS) {
      this.#refusedField(key, "lease");
      const { leaseUntil: _until, leaseOwner: _owner, ...rest } = trusted;
      trusted = rest;
    }
    if (
      item.lastRejectionMintAt !== undefined &&
      item.lastRejectionMintAt > now + MAX_PLAUSIBLE_CLOCK_SKEW_MS
    ) {
      this.#refusedField(key, "last-rejection-mint");
      const { lastRejectionMintAt: _at, ...rest } = trusted;
      trusted = rest;
    }
    return trusted;
  }

  #refusedField(key: TokenKey, rule: "lease" | "last-rejection-mint"): void {
    this.#deps.metrics.count("CacheItemRejected");
    this.#deps.log.warn(
      "Cached item field refused: it lies implausibly far in the future, so it is ignored",
      {
        credential: key.credential,
        source: "L2",
        rule,
      },
    );
  }
}

/**
 * A {@link TokenTable} whose answers went through a {@link TokenVetter}: the vending algorithm never
 * sees a refused token, wherever the item came from (a read, or the current item a lost condition
 * returned).
 */
export class VettedTokenTable implements TokenTable {
  readonly #table: TokenTable;
  readonly #vetter: TokenVetter;

  constructor(table: TokenTable, vetter: TokenVetter) {
    this.#table = table;
    this.#vetter = vetter;
  }

  async read(key: TokenKey, options?: TableCallOptions): Promise<TokenItem | undefined> {
    const item = await this.#table.read(key, options);
    await this.#vetter.prepare(key, item, options);
    return this.#vetter.item(key, item);
  }

  async acquireLease(
    key: TokenKey,
    lease: Parameters<TokenTable["acquireLease"]>[1],
    options?: TableCallOptions,
  ): Promise<LeaseOutcome> {
    const outcome = await this.#table.acquireLease(key, lease, options);
    return outcome.acquired ? outcome : { acquired: false, item: this.#vetter.item(key, outcome.item) };
  }

  async writeToken(
    key: TokenKey,
    token: Parameters<TokenTable["writeToken"]>[1],
    observedGeneration: number,
    options?: Parameters<TokenTable["writeToken"]>[3],
  ): Promise<WriteOutcome> {
    const outcome = await this.#table.writeToken(key, token, observedGeneration, options);
    return outcome.written ? outcome : { written: false, item: this.#vetter.item(key, outcome.item) };
  }

  releaseLease(...args: Parameters<TokenTable["releaseLease"]>): Promise<void> {
    return this.#table.releaseLease(...args);
  }
}
