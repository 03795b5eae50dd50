/**
 * Runtime-mutable fault knobs of the Genesys Cloud emulator. A test or the drill changes them while
 * traffic flows (`emulator.faults.apiRateLimit.nextN = 3`); every request reads them afresh.
 */
import { type Random, seededRandom } from "../../lambda/shared/clock.ts";

/** Which requests a fault applies to. Both fields empty = every request. */
export interface FaultTarget {
  /** Only requests whose path starts with this, e.g. `"/oauth/token"` or `"/api/v2/oauth/clients"`. */
  pathPrefix?: string;
  /** Only requests with this HTTP method (upper case), e.g. `"POST"`. */
  method?: string;
}

/**
 * Token-endpoint throttling. Genesys signals it as HTTP 400 `invalid_request` with a description
 * starting `rate limit exceeded;` (not 429), see README.
 */
export interface TokenRateLimitFault {
  /** Throttle every token request while true. @default false */
  enabled: boolean;
  /** Throttle the next N token requests, then stop. @default 0 */
  nextN: number;
  /**
   * A realistic per-client limit: more than this many token requests by one client id within 60 s of
   * emulator clock time are throttled. `undefined` = no limit (Genesys' real value is unconfirmed;
   * community posts say 300/min). @default undefined
   */
  perClientPerMinute: number | undefined;
  /** Adds `Retry-After: <s>` to the throttling response (whether Genesys sends one is unconfirmed). @default undefined */
  retryAfterSeconds: number | undefined;
}

/** Platform API throttling: 429 + `Retry-After` + body code `too.many.requests.retry.after`. */
export interface ApiRateLimitFault {
  /** Throttle every API request while true. @default false */
  enabled: boolean;
  /** Throttle the next N API requests, then stop. @default 0 */
  nextN: number;
  /** Throttle every Nth API request (counted while this is > 0). 0 = off. @default 0 */
  everyNth: number;
  /** Seconds in `Retry-After` and in the message. @default 1 */
  retryAfterSeconds: number;
}

/** Injected 5xx responses (login and API alike unless `target` narrows them). */
export interface ServerErrorFault {
  /** Fail the next N matching requests. @default 0 */
  nextN: number;
  /** Fail each matching request with this probability (seeded random, see `seed`). @default 0 */
  probability: number;
  /** Status to serve: 500, 502, 503 or 504. @default 503 */
  status: 500 | 502 | 503 | 504;
  /** @default every request */
  target: FaultTarget;
}

/** Injected connection resets: the socket is reset (TCP RST) and no response is written. */
export interface ConnectionResetFault {
  /** Reset the next N matching requests. @default 0 */
  nextN: number;
  /** Reset each matching request with this probability (seeded random). @default 0 */
  probability: number;
  /**
   * When false the request is dropped before the emulator acts on it; when true the emulator FIRST
   * performs the operation (e.g. regenerates the secret) and then drops the response, which is what a
   * client must survive for non-idempotent calls. @default false
   */
  afterProcessing: boolean;
  /** @default every request */
  target: FaultTarget;
}

/** Initial values for the knobs that also exist as emulator options. */
export interface FaultDefaults {
  propagationDelayMs?: number;
  tokensSurviveRegeneration?: boolean;
  tokenLifetimeSeconds?: number;
  invalidClientStatus?: InvalidClientStatus;
  dateModifiedMovesOnRegeneration?: boolean;
  clientIdsCaseSensitive?: boolean;
  randomSeed?: number;
}

/** The HTTP status of a token-endpoint `invalid_client` answer (third parties observe 400; RFC 6749 allows 401). */
export type InvalidClientStatus = 400 | 401;

/** Every fault knob of one emulator. Fields are plain and mutable; `reset()` restores the defaults. */
export class EmulatorFaults {
  tokenRateLimit!: TokenRateLimitFault;
  apiRateLimit!: ApiRateLimitFault;
  /** Added wall-clock delay (real time, not the emulator clock) before every response. @default 0 */
  latencyMs!: number;
  /**
   * Extra wall-clock delay per path prefix, added to `latencyMs` for every prefix that matches,
   * e.g. `{ "/oauth/token": 200 }`. @default {}
   */
  latencyByPathPrefix!: Record<string, number>;
  serverErrors!: ServerErrorFault;
  connectionResets!: ConnectionResetFault;
  /**
   * Emulator-clock milliseconds during which a freshly generated secret is still rejected with
   * `invalid_client` (Genesys' auth service is eventually consistent). The old secret is rejected at
   * once regardless. @default 0
   */
  propagationDelayMs!: number;
  /**
   * Whether access tokens issued before a client's secret regeneration keep working. Evaluated at request
   * time, so flipping it also affects tokens issued earlier. Unconfirmed for real Genesys. @default true
   */
  tokensSurviveRegeneration!: boolean;
  /** When set, overrides every client's `accessTokenValiditySeconds` for new tokens. @default undefined */
  tokenLifetimeSeconds!: number | undefined;
  /** Status of the token endpoint's `invalid_client` answers (unconfirmed for real Genesys). @default 400 */
  invalidClientStatus!: InvalidClientStatus;
  /** Whether a secret regeneration updates the client's `dateModified` (unconfirmed). @default true */
  dateModifiedMovesOnRegeneration!: boolean;
  /**
   * Whether client ids are matched exactly. When false, the token endpoint and the client endpoints find
   * a client by its id in any letter case and answer with the id as stored (unconfirmed). @default true
   */
  clientIdsCaseSensitive!: boolean;

  readonly #defaults: FaultDefaults;
  #random: Random = Math.random;
  #apiRequestsSeen = 0;
  /** Emulator-clock timestamps of recent token requests per client id, for `perClientPerMinute`. */
  readonly #recentTokenRequests = new Map<string, number[]>();

  constructor(defaults: FaultDefaults = {}) {
    this.#defaults = defaults;
    this.reset();
  }

  /** Restores every knob to its default (the emulator options) and re-seeds the random source. */
  reset(): void {
    this.tokenRateLimit = {
      enabled: false,
      nextN: 0,
      perClientPerMinute: undefined,
      retryAfterSeconds: undefined,
    };
    this.apiRateLimit = { enabled: false, nextN: 0, everyNth: 0, retryAfterSeconds: 1 };
    this.latencyMs = 0;
    this.latencyByPathPrefix = {};
    this.serverErrors = { nextN: 0, probability: 0, status: 503, target: {} };
    this.connectionResets = { nextN: 0, probability: 0, afterProcessing: false, target: {} };
    this.propagationDelayMs = this.#defaults.propagationDelayMs ?? 0;
    this.tokensSurviveRegeneration = this.#defaults.tokensSurviveRegeneration ?? true;
    this.tokenLifetimeSeconds = this.#defaults.tokenLifetimeSeconds;
    this.invalidClientStatus = this.#defaults.invalidClientStatus ?? 400;
    this.dateModifiedMovesOnRegeneration = this.#defaults.dateModifiedMovesOnRegeneration ?? true;
    this.clientIdsCaseSensitive = this.#defaults.clientIdsCaseSensitive ?? true;
    this.#apiRequestsSeen = 0;
    this.#recentTokenRequests.clear();
    this.seed(this.#defaults.randomSeed ?? 1);
  }

  /** The values `reset()` restores (the emulator options): a fault that ends returns its knob to these. */
  baseline(): Readonly<FaultDefaults> {
    return { ...this.#defaults };
  }

  /** Re-seeds the deterministic random source used by the `probability` knobs. */
  seed(seed: number): void {
    this.#random = seededRandom(seed);
  }

  /** @internal Total wall-clock latency to add before answering `path`. */
  latencyFor(path: string): number {
    let total = this.latencyMs;
    for (const [prefix, ms] of Object.entries(this.latencyByPathPrefix)) {
      if (path.startsWith(prefix)) total += ms;
    }
    return Math.max(0, total);
  }

  /** @internal Decides (and consumes a `nextN` unit) whether this request gets a connection reset. */
  takeConnectionReset(method: string, path: string): "before" | "after" | undefined {
    const fault = this.connectionResets;
    if (!this.#fires(fault, method, path)) return undefined;
    return fault.afterProcessing ? "after" : "before";
  }

  /** @internal Decides whether this request gets an injected 5xx; returns the status. */
  takeServerError(method: string, path: string): number | undefined {
    const fault = this.serverErrors;
    return this.#fires(fault, method, path) ? fault.status : undefined;
  }

  /** @internal Decides whether this Platform API request is throttled; returns Retry-After seconds. */
  takeApiRateLimit(): number | undefined {
    const fault = this.apiRateLimit;
    if (fault.everyNth > 0) this.#apiRequestsSeen += 1;
    let throttled = fault.enabled;
    if (!throttled && fault.nextN > 0) {
      fault.nextN -= 1;
      throttled = true;
    }
    if (!throttled && fault.everyNth > 0 && this.#apiRequestsSeen % fault.everyNth === 0) throttled = true;
    return throttled ? fault.retryAfterSeconds : undefined;
  }

  /** @internal Decides whether the fault-driven (not per-client) token throttling fires. */
  takeTokenRateLimit(): boolean {
    const fault = this.tokenRateLimit;
    if (fault.enabled) return true;
    if (fault.nextN > 0) {
      fault.nextN -= 1;
      return true;
    }
    return false;
  }

  /**
   * @internal Records a token request by `clientId` at `now` and decides whether it exceeds
   * `tokenRateLimit.perClientPerMinute`. Nothing is recorded while no limit is set.
   */
  takePerClientTokenLimit(clientId: string, now: number): boolean {
    const limit = this.tokenRateLimit.perClientPerMinute;
    if (limit === undefined) {
      this.#recentTokenRequests.clear();
      return false;
    }
    const window = (this.#recentTokenRequests.get(clientId) ?? []).filter((at) => at > now - 60_000);
    window.push(now);
    this.#recentTokenRequests.set(clientId, window);
    return window.length > limit;
  }

  #fires(fault: { nextN: number; probability: number; target: FaultTarget }, method: string, path: string) {
    if (fault.target.method !== undefined && fault.target.method !== method) return false;
    if (fault.target.pathPrefix !== undefined && !path.startsWith(fault.target.pathPrefix)) return false;
    if (fault.nextN > 0) {
      fault.nextN -= 1;
      return true;
    }
    return fault.probability > 0 && this.#random() < fault.probability;
  }
}
