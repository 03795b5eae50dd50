/**
 * The consumer side of token vending (docs/design.md#consumer-library): an in-memory token cache in front of the vending
 * function, with single-flight invokes and refresh shortly before expiry.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { ExponentialBackoff } from "../shared/backoff.ts";
import { type Clock, type Random, systemClock, systemRandom } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import type { Log } from "../shared/log.ts";
import { silentLog } from "../shared/silent-log.ts";
import { SingleFlight } from "../shared/single-flight.ts";
import { ConfigurationError, ValidationError } from "./errors.ts";
import { type InvokePolicy, invokeVendor, type LambdaInvoker, vendorTarget } from "./invoke.ts";
import { type VendedToken, withRemainingSeconds } from "./payload.ts";

/** Options of {@link TokenProvider.getToken}. */
export interface GetTokenOptions {
  /**
   * Credential name as configured on the vendor (`CREDENTIALS`); the vend invokes its alias
   * `<functionName>:<credential>`, which this consumer must be granted.
   * @default the provider's `credential` (or the qualifier of its `functionName`)
   */
  credential?: string;
  /**
   * The returned token must stay valid for at least this many seconds; a cached token with less left is
   * not used and the vendor is asked for one that satisfies it.
   * @default 0 (the provider's refresh skew still applies)
   */
  minTtlSeconds?: number;
  /**
   * A token a Genesys API just answered 401 to. The cached copy is dropped and the vendor is told, so it
   * can replace the token fleet-wide (it mints only if its cache still holds this very token). Callers
   * reporting the same token concurrently share one invoke. If the cache already holds a different
   * token, that one is returned without an invoke.
   */
  rejectedToken?: string;
  /** Stops this caller waiting. A shared invoke keeps running for the other callers. */
  signal?: AbortSignal;
}

/** What the fetch helper and the undici interceptor need from a provider; implement it to plug in your own. */
export interface TokenSource {
  /** Resolves to a token valid for at least the refresh skew (or `minTtlSeconds`). */
  getToken(options?: GetTokenOptions): Promise<VendedToken>;
  /**
   * Forgets a token that was rejected where the request could not be replayed; the next `getToken` for
   * its credential reports it to the vendor as `rejectedToken`.
   */
  invalidate(token: string | VendedToken): void;
}

/** Properties of a {@link TokenProvider}. */
export interface TokenProviderProps {
  /**
   * Name, partial ARN or ARN of the token-vending function (the stack output / `TOKEN_VENDOR_FUNCTION_NAME`).
   * With a qualifier (`<function>:<credential>`, what `TokenVendor.vendorFunctionNameFor` gives) every
   * vend goes to that credential's alias; without one, to the alias of the requested `credential`.
   */
  functionName: string;
  /**
   * Credential requested when `getToken` names none: the provider invokes `<functionName>:<credential>`,
   * the alias the consumer must be granted (`TokenVendor.grantVend(role, credential)`). Must agree with a
   * qualifier in `functionName`.
   * @default the qualifier of `functionName`; else an unqualified invoke, which the vendor serves only
   *   when it vends exactly one credential
   */
  credential?: string;
  /**
   * Lambda client used for Invoke. Pass your own for a custom endpoint, region or instrumentation; the
   * provider's own retry applies on top of the client's.
   * @default a `LambdaClient` from the environment (region, credentials) with SDK retries off, created on first use
   */
  lambdaClient?: LambdaInvoker;
  /**
   * Refresh a cached token this many seconds before it expires, so a request never leaves with a token
   * about to die. For short-lived tokens the skew shrinks to a quarter of the lifetime left at receipt.
   * @default 60
   */
  refreshSkewSeconds?: number;
  /**
   * Time limit of one Invoke attempt, in milliseconds. Keep it above the vendor's own deadline.
   * @default 10000
   */
  invokeTimeoutMs?: number;
  /**
   * Invoke attempts in total for throttling, Lambda 5xx, network failures and crashed vendor containers
   * (1 = no retry). Errors the vendor reports on purpose are never retried here.
   * @default 3
   */
  maxInvokeAttempts?: number;
  /** @default the system clock */
  clock?: Clock;
  /** Jitter source for retry backoff. @default Math.random */
  random?: Random;
  /** Receives debug/warn events (never a token). @default no logging */
  log?: Log;
}

interface CacheEntry {
  readonly token: VendedToken;
  /** Epoch ms (provider clock) at which the token expires: receipt time + expiresInSeconds. */
  readonly expiresAtMs: number;
  /** Epoch ms after which the token is no longer handed out without asking the vendor. */
  readonly refreshAtMs: number;
}

const DEFAULT_REFRESH_SKEW_SECONDS = 60;
const DEFAULT_INVOKE_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_INVOKE_ATTEMPTS = 3;
/** The skew never exceeds this share of the lifetime left at receipt (short-lived tokens). */
const MAX_SKEW_SHARE = 0.25;
/** A token with less left than this is not served as a fallback when a refresh fails. */
const MIN_FALLBACK_REMAINING_MS = 5_000;
/** Between Invoke attempts: 100 ms doubling to 2 s, full jitter (invoke.ts says why). */
const INVOKE_BACKOFF: ExponentialBackoff = { baseMs: 100, capMs: 2_000 };

/**
 * Hands out Genesys Cloud access tokens obtained from the token-vending function.
 *
 * - Cache: one token per credential in memory, reused until `refreshSkewSeconds` before expiry (the
 *   expiry is measured on this process's clock from `expiresInSeconds`, so clock skew between the
 *   vendor and the consumer does not matter).
 * - Single-flight: concurrent callers needing the same refresh share one Invoke.
 * - If a refresh fails with a retryable error while the cached token is still valid, the cached token is
 *   served (and a warning logged) rather than failing the caller.
 *
 * Create one per process (module scope of a Lambda handler), not one per request.
 *
 * @example
 * const tokens = new TokenProvider({ functionName: process.env.TOKEN_VENDOR_FUNCTION_NAME! });
 * const { accessToken, apiBaseUrl } = await tokens.getToken();
 */
export class TokenProvider implements TokenSource {
  /** The vending function this provider invokes. */
  readonly functionName: string;
  readonly #credential: string | undefined;
  readonly #lambdaClient: LambdaInvoker | undefined;
  #defaultLambdaClient: LambdaInvoker | undefined;
  readonly #refreshSkewMs: number;
  readonly #policy: InvokePolicy;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #cache = new Map<string, CacheEntry>();
  /** Tokens dropped by `invalidate`, reported to the vendor with the next vend of that credential. */
  readonly #pendingRejections = new Map<string, string>();
  /**
   * The last token rejected per credential (`invalidate` or `rejectedToken`), kept after it was reported:
   * a vend that started before the rejection may still bring it back, and it must never be cached or served.
   */
  readonly #lastRejected = new Map<string, string>();
  /** Running vends by request (credential, minTtlSeconds, rejectedToken): identical requests share one. */
  readonly #flights = new SingleFlight();

  constructor(props: TokenProviderProps) {
    if (typeof props.functionName !== "string" || props.functionName.trim() === "") {
      throw new ConfigurationError("functionName", "must be the token vendor's function name or ARN");
    }
    if (props.credential !== undefined) assertCredentialName("credential", props.credential);
    try {
      vendorTarget(props.functionName, props.credential);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ConfigurationError("credential", error.rule);
    }
    const refreshSkewSeconds = props.refreshSkewSeconds ?? DEFAULT_REFRESH_SKEW_SECONDS;
    if (!Number.isFinite(refreshSkewSeconds) || refreshSkewSeconds < 0) {
      throw new ConfigurationError("refreshSkewSeconds", "must be a number of seconds >= 0");
    }
    const invokeTimeoutMs = props.invokeTimeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
    if (!Number.isInteger(invokeTimeoutMs) || invokeTimeoutMs < 1) {
      throw new ConfigurationError("invokeTimeoutMs", "must be a whole number of milliseconds >= 1");
    }
    const maxInvokeAttempts = props.maxInvokeAttempts ?? DEFAULT_MAX_INVOKE_ATTEMPTS;
    if (!Number.isInteger(maxInvokeAttempts) || maxInvokeAttempts < 1 || maxInvokeAttempts > 10) {
      throw new ConfigurationError("maxInvokeAttempts", "must be a whole number from 1 to 10");
    }
    this.functionName = props.functionName;
    this.#credential = props.credential;
    this.#lambdaClient = props.lambdaClient;
    this.#refreshSkewMs = refreshSkewSeconds * 1000;
    this.#clock = props.clock ?? systemClock;
    this.#log = props.log ?? silentLog;
    this.#policy = {
      invokeTimeoutMs,
      maxAttempts: maxInvokeAttempts,
      backoff: INVOKE_BACKOFF,
      clock: this.#clock,
      random: props.random ?? systemRandom,
    };
  }

  /**
   * Returns a token valid for at least the refresh skew (or `minTtlSeconds`), from the cache when
   * possible, else from the vendor.
   *
   * @throws a `VendorError` subclass named after the vendor's error (`UnknownCredentialError`,
   *   `CredentialRejectedError`, `GenesysRateLimitedError`, `TokenUnavailableError`), `ConfigurationError`
   *   or `ValidationError` (`source: "vendor"`), `VendorInvokeError` when the vendor could not be reached,
   *   `VendorResponseError` on a malformed answer, `ValidationError` (`source: "client"`) for bad options
   */
  async getToken(options: GetTokenOptions = {}): Promise<VendedToken> {
    const credential = options.credential ?? this.#credential;
    if (options.credential !== undefined) {
      assertCredentialName("credential", options.credential);
      // A conflict with the function name's alias is the caller's mistake: refuse it before any invoke.
      vendorTarget(this.functionName, options.credential);
    }
    const minTtlMs = validateMinTtl(options.minTtlSeconds) * 1000;
    if (
      options.rejectedToken !== undefined &&
      (typeof options.rejectedToken !== "string" || !options.rejectedToken)
    ) {
      throw new ValidationError("getToken options", "rejectedToken", "must be a non-empty string");
    }
    options.signal?.throwIfAborted();
    const key = credential ?? "";
    const now = this.#clock.now();
    let cached = this.#cache.get(key);

    let rejectedToken = options.rejectedToken;
    if (rejectedToken !== undefined) {
      this.#lastRejected.set(key, rejectedToken);
      if (cached?.token.accessToken === rejectedToken) {
        this.#cache.delete(key);
        cached = undefined;
      }
      // Someone already replaced the rejected token: no need to bother the vendor.
      if (cached && isUsable(cached, now, minTtlMs)) return present(cached, now);
    } else if (cached && isUsable(cached, now, minTtlMs)) {
      return present(cached, now);
    } else {
      rejectedToken = this.#pendingRejections.get(key);
    }

    const request = { credential, minTtlSeconds: options.minTtlSeconds, rejectedToken };
    const entry = await abortable(this.#vendShared(key, request), options.signal);
    return present(entry, this.#clock.now());
  }

  /**
   * Drops `token` from the cache if it is cached; the next `getToken` for its credential asks the vendor
   * with `rejectedToken`. Use it when a request authorised with the token got 401 and cannot be replayed.
   */
  invalidate(token: string | VendedToken): void {
    const accessToken = typeof token === "string" ? token : token.accessToken;
    for (const [key, entry] of this.#cache) {
      if (entry.token.accessToken !== accessToken) continue;
      this.#cache.delete(key);
      this.#pendingRejections.set(key, accessToken);
      this.#lastRejected.set(key, accessToken);
    }
  }

  /** One Invoke per distinct request at a time: later callers join the running one. */
  #vendShared(
    key: string,
    request: { credential?: string; minTtlSeconds?: number; rejectedToken?: string },
  ): Promise<CacheEntry> {
    const flightKey = `${key}\u0000${request.minTtlSeconds ?? ""}\u0000${request.rejectedToken ?? ""}`;
    return this.#flights.run(flightKey, () => this.#vend(key, request));
  }

  async #vend(
    key: string,
    request: { credential?: string; minTtlSeconds?: number; rejectedToken?: string },
  ): Promise<CacheEntry> {
    const startedAt = this.#clock.now();
    let token: VendedToken;
    try {
      token = await invokeVendor(this.#lambda(), this.functionName, request, this.#policy);
    } catch (error) {
      const now = this.#clock.now();
      const retryable =
        typeof error === "object" && error !== null && (error as { retryable?: unknown }).retryable;
      const minTtlMs = (request.minTtlSeconds ?? 0) * 1000;
      // The live cache entry, not the one seen when the vend started: a token rejected meanwhile has left
      // the cache (and is never put back), so it cannot be served as the fallback.
      const previous = this.#cache.get(key);
      if (
        retryable === true &&
        previous !== undefined &&
        request.rejectedToken === undefined &&
        previous.expiresAtMs - now >= Math.max(MIN_FALLBACK_REMAINING_MS, minTtlMs)
      ) {
        this.#log.warn("token refresh failed; serving the cached token until it expires", {
          credential: key || "(default)",
          remainingSeconds: Math.floor((previous.expiresAtMs - now) / 1000),
          ...describeError(error),
        });
        return previous;
      }
      throw error;
    }
    if (request.rejectedToken !== token.accessToken && this.#lastRejected.get(key) === token.accessToken) {
      // This vend started before the token was rejected and the vendor still held it. Report it instead
      // (joining a report already running); the vendor answers with its replacement.
      this.#log.debug("vended token was rejected meanwhile; reporting it", {
        credential: key || "(default)",
      });
      return this.#vendShared(key, { ...request, rejectedToken: token.accessToken });
    }
    const receivedAt = this.#clock.now();
    const lifetimeMs = token.expiresInSeconds * 1000;
    const entry: CacheEntry = {
      token,
      expiresAtMs: receivedAt + lifetimeMs,
      refreshAtMs: receivedAt + lifetimeMs - Math.min(this.#refreshSkewMs, lifetimeMs * MAX_SKEW_SHARE),
    };
    // Two flights of one credential (say a refresh and a rejection) may finish out of order: keep the later token.
    if (request.rejectedToken !== undefined && this.#pendingRejections.get(key) === request.rejectedToken) {
      this.#pendingRejections.delete(key);
    }
    const current = this.#cache.get(key);
    if (!current || Date.parse(token.expiresAt) >= Date.parse(current.token.expiresAt))
      this.#cache.set(key, entry);
    this.#log.debug("token vended", {
      credential: key || "(default)",
      tokenExpiresAt: token.expiresAt,
      rejectedTokenReported: request.rejectedToken !== undefined,
      vendMs: receivedAt - startedAt,
    });
    return entry;
  }

  #lambda(): LambdaInvoker {
    if (this.#lambdaClient) return this.#lambdaClient;
    // The provider retries itself; SDK retries on top would multiply the attempts.
    this.#defaultLambdaClient ??= new LambdaClient({ maxAttempts: 1 });
    return this.#defaultLambdaClient;
  }
}

/** Creates a {@link TokenProvider}; the functional spelling of `new TokenProvider(props)`. */
export function createTokenProvider(props: TokenProviderProps): TokenProvider {
  return new TokenProvider(props);
}

function isUsable(entry: CacheEntry, now: number, minTtlMs: number): boolean {
  return now < entry.refreshAtMs && entry.expiresAtMs - now >= minTtlMs;
}

function present(entry: CacheEntry, now: number): VendedToken {
  return withRemainingSeconds(entry.token, Math.max(0, Math.floor((entry.expiresAtMs - now) / 1000)));
}

function assertCredentialName(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "") {
    throw new ValidationError("token provider options", field, "must be a non-empty credential name");
  }
}

function validateMinTtl(value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0) {
    throw new ValidationError("getToken options", "minTtlSeconds", "must be a whole number of seconds >= 0");
  }
  return value;
}

/** Lets one caller stop waiting for a shared promise without cancelling it for the others. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
