/**
 * What the emulator counted, so tests and the drill can assert "one mint per token lifetime" or "no 429
 * storm" without parsing logs.
 */

/** The kinds of error response the emulator serves, as counted by `errorsServed(kind)`. */
export type ErrorKind =
  | "invalid_client" // token endpoint: bad/unknown/inactive client, bad secret, missing Basic auth
  | "invalid_request" // token endpoint: malformed request (not the rate limit)
  | "unsupported_grant_type" // token endpoint: grant_type other than client_credentials
  | "token_rate_limit" // token endpoint: 400 invalid_request "rate limit exceeded; ..."
  | "api_429" // Platform API: 429 too.many.requests.retry.after
  | "5xx" // injected server error (login or API)
  | "reset" // injected connection reset (no response at all)
  | "400" // Platform API: request validation (also 413 for oversized bodies)
  | "401" // Platform API: missing/invalid/expired bearer token
  | "403" // Platform API: missing permission
  | "404" // unknown path or entity
  | "405" // known path, wrong method
  | "415"; // body with a content type other than JSON

/** Counters kept by one emulator instance. All numbers start at 0; `reset()` zeroes them. */
export class EmulatorCounters {
  readonly #mints = new Map<string, number>();
  readonly #tokenRequests = new Map<string, number>();
  readonly #regenerations = new Map<string, number>();
  readonly #errors = new Map<ErrorKind, number>();
  readonly #requests = new Map<string, number>();

  /** Successful client-credentials grants (tokens issued), for one client or all clients. */
  mints(clientId?: string): number {
    return read(this.#mints, clientId);
  }

  /**
   * Requests to `POST /oauth/token`, successful or not, for one client id (as sent in the Basic header,
   * even if unknown) or in total. Requests without a readable client id count only in the total.
   */
  tokenRequests(clientId?: string): number {
    return read(this.#tokenRequests, clientId);
  }

  /** Secret regenerations (`POST /api/v2/oauth/clients/{id}/secret` or the state API), per client or in total. */
  regenerations(clientId?: string): number {
    return read(this.#regenerations, clientId);
  }

  /** Error responses served (and connection resets), per kind or in total. */
  errorsServed(kind?: ErrorKind): number {
    return read(this.#errors, kind);
  }

  /**
   * Requests received per route key, e.g. `"POST /oauth/token"`, `"GET /api/v2/tokens/me"`,
   * `"POST /api/v2/oauth/clients/{clientId}/secret"`; unmatched requests count under
   * `"<METHOD> (unmatched)"`. Without a key: all requests.
   */
  requests(route?: string): number {
    return read(this.#requests, route);
  }

  /** A plain-object copy of every counter (for reports and `t.diagnostic`). */
  snapshot(): {
    mints: Record<string, number>;
    tokenRequests: Record<string, number>;
    regenerations: Record<string, number>;
    errorsServed: Record<string, number>;
    requests: Record<string, number>;
  } {
    return {
      mints: Object.fromEntries(this.#mints),
      tokenRequests: Object.fromEntries(this.#tokenRequests),
      regenerations: Object.fromEntries(this.#regenerations),
      errorsServed: Object.fromEntries(this.#errors),
      requests: Object.fromEntries(this.#requests),
    };
  }

  /** Zeroes every counter. */
  reset(): void {
    for (const map of [this.#mints, this.#tokenRequests, this.#regenerations, this.#errors, this.#requests]) {
      map.clear();
    }
  }

  /** @internal */
  countMint(clientId: string): void {
    increment(this.#mints, clientId);
  }

  /** @internal `clientId` undefined when the Basic header could not be read. */
  countTokenRequest(clientId: string | undefined): void {
    increment(this.#tokenRequests, clientId ?? "");
  }

  /** @internal */
  countRegeneration(clientId: string): void {
    increment(this.#regenerations, clientId);
  }

  /** @internal */
  countError(kind: ErrorKind): void {
    increment(this.#errors, kind);
  }

  /** @internal */
  countRequest(route: string): void {
    increment(this.#requests, route);
  }
}

function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function read<K>(map: Map<K, number>, key: K | undefined): number {
  if (key !== undefined) return map.get(key) ?? 0;
  let sum = 0;
  for (const value of map.values()) sum += value;
  return sum;
}
