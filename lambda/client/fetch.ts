/**
 * `fetch` with a vended bearer token, for the Genesys Cloud Platform API.
 */
import { defaultTokenProvider } from "./default-provider.ts";
import { ForeignOriginError, ValidationError } from "./errors.ts";
import { bearerAuthorization, type VendedToken } from "./payload.ts";
import { type RateLimitRetry, RateLimitRetryPolicy, retryingRateLimited } from "./rate-limit.ts";
import { sendWithReplays } from "./replay-policy.ts";
import { abortable, type TokenSource } from "./token-provider.ts";

/** The fetch signature this helper calls (the global `fetch` by default). */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of {@link genesysFetch}. */
export interface GenesysFetchOptions {
  /**
   * Where tokens come from.
   * @default the process-wide provider bound to `TOKEN_VENDOR_FUNCTION_NAME`
   */
  provider?: TokenSource;
  /**
   * Credential whose token authorises the request.
   * @default the provider's default credential
   */
  credential?: string;
  /** @default globalThis.fetch */
  fetch?: FetchFunction;
  /**
   * Retry a `429` from the Genesys API after its `Retry-After`, within a bounded number of retries and
   * a bounded total wait (rate-limit.ts); by default only for idempotent methods, and only when the
   * request can be sent again (the same bodies as a `401` replay). The last `429` is returned as is.
   * @default false
   */
  retryRateLimited?: RateLimitRetry;
}

/**
 * Calls `fetch` with `Authorization: Bearer <vended token>`.
 *
 * - A path starting with `/` (e.g. `"/api/v2/organizations/me"`) is resolved against the token's
 *   `apiBaseUrl`, so the consumer never hard-codes the Genesys region.
 * - On `401` the token is reported to the vendor as `rejectedToken` and the request is replayed with
 *   the replacement; if that replay carried another token and is rejected too, it is reported and
 *   replayed once more (replay-policy.ts); a further `401` is returned to the caller as is. This happens
 *   only when the
 *   request can be sent twice: no body, or a body given in `init` as a string, `ArrayBuffer`, typed
 *   array, `Blob`, `FormData` or `URLSearchParams`. A `ReadableStream` body, or a `Request` object
 *   carrying a body, cannot be replayed: the `401` is returned and the token is invalidated, so the next
 *   call gets a replacement.
 * - Any `Authorization` header in `input`/`init` is replaced.
 * - The token is only sent to the origin of its `apiBaseUrl`: an absolute URL (string, `URL` or
 *   `Request`) on any other origin — say a `nextUri` pointing elsewhere — is refused before anything is
 *   sent. Fetch such URLs with plain `fetch`.
 * - The request's signal (`init.signal`, else the `Request`'s) also covers the wait for a token: once it
 *   is aborted the call rejects with the signal's `reason` (an `AbortError` `DOMException` unless the
 *   caller gave one), as `fetch` does, and nothing is sent. A vend shared with other callers keeps
 *   running for them.
 *
 * @throws {@link ForeignOriginError} for a URL on another origin than the token's `apiBaseUrl`, a
 *   `ValidationError` for an input that is neither a path starting with `/` nor an absolute URL, whatever
 *   {@link TokenSource.getToken} throws (typed vendor errors), the signal's reason once it is aborted,
 *   and what `fetch` throws
 */
export async function genesysFetch(
  input: string | URL | Request,
  init: RequestInit = {},
  options: GenesysFetchOptions = {},
): Promise<Response> {
  const provider = options.provider ?? defaultTokenProvider();
  const fetchFunction = options.fetch ?? globalThis.fetch;
  const credential = options.credential;
  const signal = init.signal ?? (isRequest(input) ? input.signal : undefined);
  const rateLimit = RateLimitRetryPolicy.from(options.retryRateLimited, "genesysFetch");
  if (rateLimit === undefined || !isReplayable(input, init)) {
    return sendAuthorised(input, init, provider, fetchFunction, credential, signal);
  }
  const method = init.method ?? (isRequest(input) ? input.method : "GET");
  return retryingRateLimited(
    rateLimit,
    method,
    () => sendAuthorised(input, init, provider, fetchFunction, credential, signal),
    {
      status: (response) => response.status,
      retryAfter: (response) => response.headers.get("retry-after"),
      discard: (response) => response.body?.cancel().catch(() => {}),
    },
    signal ?? undefined,
  );
}

/** One request with the vended token, and the replays after a `401` (replay-policy.ts). */
async function sendAuthorised(
  input: string | URL | Request,
  init: RequestInit,
  provider: TokenSource,
  fetchFunction: FetchFunction,
  credential: string | undefined,
  signal: AbortSignal | null | undefined,
): Promise<Response> {
  return sendWithReplays(
    (rejectedToken) =>
      tokenFor(
        provider,
        rejectedToken === undefined ? { credential } : { credential, rejectedToken },
        signal,
      ),
    (token) => fetchFunction(resolveInput(input, token), withBearer(input, init, token)),
    {
      status: (response) => response.status,
      // Free the connection before the replay; the 401 body is of no use to the caller.
      discard: (response) => response.body?.cancel().catch(() => {}),
    },
    isReplayable(input, init),
    (token) => provider.invalidate(token),
  );
}

/**
 * A token from `provider`, or the signal's reason as soon as it is aborted: also when the provider is a
 * custom {@link TokenSource} that ignores `signal`.
 */
function tokenFor(
  provider: TokenSource,
  options: { credential?: string; rejectedToken?: string },
  signal: AbortSignal | null | undefined,
): Promise<VendedToken> {
  if (!signal) return provider.getToken(options);
  signal.throwIfAborted();
  return abortable(provider.getToken({ ...options, signal }), signal);
}

/**
 * The input with a leading-`/` path resolved against the token's `apiBaseUrl`; anything else must
 * already be on that origin, so the token is never sent to another host.
 */
function resolveInput(input: string | URL | Request, token: VendedToken): string | URL | Request {
  if (typeof input === "string" && input.startsWith("/")) return `${token.apiBaseUrl}${input}`;
  const url = URL.parse(typeof input === "string" ? input : isRequest(input) ? input.url : input.href);
  if (url === null) {
    throw new ValidationError("genesysFetch", "input", "must be a path starting with / or an absolute URL");
  }
  const apiOrigin = new URL(token.apiBaseUrl).origin;
  if (url.origin !== apiOrigin) throw new ForeignOriginError(url.origin, apiOrigin);
  return input;
}

/** `init` with the caller's headers (from the Request, then from init) and our Authorization on top. */
function withBearer(input: string | URL | Request, init: RequestInit, token: VendedToken): RequestInit {
  const headers = new Headers(isRequest(input) ? input.headers : undefined);
  new Headers(init.headers).forEach((value, name) => {
    headers.set(name, value);
  });
  headers.set("authorization", bearerAuthorization(token));
  return { ...init, headers };
}

function isReplayable(input: string | URL | Request, init: RequestInit): boolean {
  const body = init.body;
  if (body === undefined || body === null) return !isRequest(input) || input.body === null;
  return (
    typeof body === "string" ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData ||
    body instanceof URLSearchParams
  );
}

function isRequest(input: string | URL | Request): input is Request {
  return typeof input === "object" && !(input instanceof URL);
}
