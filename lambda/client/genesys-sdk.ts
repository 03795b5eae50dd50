/**
 * `genesys-oauth-rotator/client/genesys-sdk`: the official Genesys Cloud JavaScript SDK
 * (`purecloud-platform-client-v2`, an optional peer dependency) with vended tokens.
 *
 * ```ts
 * import platformClient from "purecloud-platform-client-v2";
 * import { useVendedTokens } from "genesys-oauth-rotator/client/genesys-sdk";
 *
 * const apiClient = platformClient.ApiClient; // or new platformClient.ApiClientClass()
 * useVendedTokens(apiClient); // no login, no setAccessToken, no setEnvironment
 * const organization = await new platformClient.OrganizationApi(apiClient).getOrganizationsMe();
 * ```
 *
 * Where it hooks in: every Platform API call of the SDK (`ApiClient.callApi`, which all the `*Api`
 * classes use) builds its request synchronously and hands it to `apiClient.getHttpClient().request(...)`,
 * which resolves to the axios response or rejects with an error carrying `response` (`status`,
 * `headers`). The adapter puts its own `getHttpClient` on the instance, returning the SDK's HTTP client
 * with `request` wrapped: a per-request copy gets the token in its own `Authorization` header (never the
 * instance-global `setAccessToken`, so concurrent calls cannot send each other's token), and the answer
 * is seen with its status and `Retry-After` before the SDK turns it into a body-only rejection. The SDK
 * itself retries nothing (its only retry is a refresh-token login, unused here). Only types are declared
 * here — structurally, as the SDK exports no type of its `ApiClient` — so loading this module never
 * loads the SDK.
 */
import { defaultTokenProvider } from "./default-provider.ts";
import { ValidationError } from "./errors.ts";
import { bearerAuthorization, type VendedToken } from "./payload.ts";
import {
  type RateLimitRetry,
  RateLimitRetryPolicy,
  retryAfterOf,
  retryingRateLimited,
} from "./rate-limit.ts";
import { isReplayableData, sendWithReplays } from "./replay-policy.ts";
import type { TokenSource } from "./token-provider.ts";

/** The request the SDK's `ApiClient` hands its HTTP client (`HttpRequestOptions`): what the adapter reads. */
export interface GenesysSdkRequest {
  url: string;
  method: string;
  headers?: Record<string, unknown>;
  data?: unknown;
}

/** The SDK's HTTP client (`AbstractHttpClient`, axios by default): the method the adapter wraps. */
export interface GenesysSdkHttpClient {
  request(request: GenesysSdkRequest): Promise<unknown>;
}

/** The parts of the SDK's `ApiClient` the adapter uses (`platformClient.ApiClient` satisfies it). */
export interface GenesysSdkApiClient {
  getHttpClient(): GenesysSdkHttpClient;
  config: {
    basePath: string;
    /** The gateway's URL when `setGateway` configured one, else `regionUrl`. */
    getConfUrl(pathType: string, regionUrl: string): string;
  };
}

/** Options of {@link useVendedTokens}. */
export interface VendedTokensOptions {
  /**
   * Where tokens come from.
   * @default the process-wide provider bound to `TOKEN_VENDOR_FUNCTION_NAME`
   */
  provider?: TokenSource;
  /**
   * Credential whose token authorises the calls.
   * @default the provider's default credential
   */
  credential?: string;
  /**
   * Retry a `429` after its `Retry-After`, within a bounded number of retries and a bounded total wait
   * (rate-limit.ts); by default for idempotent methods only. On by default here, unlike `genesysFetch`:
   * the SDK rejects a `429` with the response body only (unless extended responses are on), so the
   * caller never sees the `Retry-After` it would need to wait correctly. `false` hands every `429` to
   * the caller at once.
   * @default true (3 retries, 30 s of waiting in total, GET HEAD OPTIONS PUT DELETE)
   */
  retryRateLimited?: RateLimitRetry;
}

/** Undoes {@link useVendedTokens}: the `ApiClient` sends as it did before (calls in flight finish as they started). */
export type DetachVendedTokens = () => void;

const SUBJECT = "useVendedTokens";
/** ApiClients the adapter is attached to: a second attach would wrap the first. */
const attached = new WeakSet<object>();

/**
 * Makes every Platform API call of `apiClient` carry a vended token, fetched right before the request is
 * sent (from the provider's cache, so it is never closer to expiry than the provider's refresh margin).
 *
 * - The request goes to the token's `apiBaseUrl` (the region its credential lives in): no
 *   `setEnvironment` is needed, and a region set on the client is not used for API calls, as the token
 *   would be rejected anywhere else. A gateway set with `setGateway` (a proxy in front of Genesys) is
 *   the caller's routing and is kept.
 * - Each request carries the token in its own `Authorization` header; a token set with `setAccessToken`
 *   is never sent, and concurrent calls each send the token they fetched.
 * - A `401` reports the token to the vendor (`rejectedToken`; concurrent reports of one token share one
 *   Invoke) and the call is replayed with the replacement, at most twice (replay-policy.ts), when its
 *   body can be sent again (no body, JSON, string, buffer, form); otherwise the token is invalidated and
 *   the `401` reaches the caller.
 * - A `429` is retried as `retryRateLimited` says.
 * - Requests that are not Platform API calls (the SDK's login flows) pass through untouched.
 *
 * Errors keep the SDK's shape: the final answer's rejection (the body, or the extended response), or
 * what {@link TokenSource.getToken} throws (the typed vendor errors) when no token could be had.
 *
 * @returns the function that detaches the adapter again
 * @throws {ValidationError} when `apiClient` is not an SDK `ApiClient`, already uses vended tokens, or
 *   `retryRateLimited` is invalid; `ConfigurationError` when no `provider` is given and
 *   `TOKEN_VENDOR_FUNCTION_NAME` is unset
 */
export function useVendedTokens(
  apiClient: GenesysSdkApiClient,
  options: VendedTokensOptions = {},
): DetachVendedTokens {
  if (typeof apiClient?.getHttpClient !== "function" || typeof apiClient.config?.getConfUrl !== "function") {
    throw new ValidationError(SUBJECT, "apiClient", "must be an ApiClient of purecloud-platform-client-v2");
  }
  if (attached.has(apiClient)) {
    throw new ValidationError(SUBJECT, "apiClient", "already uses vended tokens: detach first");
  }
  const rateLimit = RateLimitRetryPolicy.from(options.retryRateLimited ?? true, SUBJECT);
  const provider = options.provider ?? defaultTokenProvider();
  const { credential } = options;

  const hadOwnGetter = Object.hasOwn(apiClient, "getHttpClient");
  const originalGetter = apiClient.getHttpClient;
  const wrapped = new WeakMap<GenesysSdkHttpClient, GenesysSdkHttpClient>();
  let active = true;

  const send = (httpClient: GenesysSdkHttpClient, request: GenesysSdkRequest): Promise<unknown> => {
    const path = platformApiPath(apiClient, request.url);
    if (!active || path === undefined) return httpClient.request(request);
    const replayable = isReplayableData(request.data);
    const attempt = () =>
      sendWithReplays(
        (rejectedToken) =>
          provider.getToken(rejectedToken === undefined ? { credential } : { credential, rejectedToken }),
        (token) => outcomeOf(httpClient.request(authorised(request, token, path))),
        { status: statusOf },
        replayable,
        (token) => provider.invalidate(token),
      );
    const outcome = replayable
      ? retryingRateLimited(rateLimit, request.method, attempt, {
          status: statusOf,
          retryAfter: (answer) => retryAfterOf(answerOf(answer)?.headers),
        })
      : attempt();
    return outcome.then(settle);
  };

  const getHttpClient = function getHttpClient(this: GenesysSdkApiClient): GenesysSdkHttpClient {
    const httpClient = originalGetter.call(this);
    if (!active) return httpClient;
    let authorising = wrapped.get(httpClient);
    if (authorising === undefined) {
      authorising = withRequest(httpClient, (request) => send(httpClient, request));
      wrapped.set(httpClient, authorising);
    }
    return authorising;
  };
  apiClient.getHttpClient = getHttpClient;
  attached.add(apiClient);

  return function detachVendedTokens() {
    if (!active) return;
    active = false;
    attached.delete(apiClient);
    // Someone who replaced the getter after us keeps theirs; ours passes through from now on.
    if (apiClient.getHttpClient !== getHttpClient) return;
    if (hadOwnGetter) apiClient.getHttpClient = originalGetter;
    else delete (apiClient as Partial<GenesysSdkApiClient>).getHttpClient;
  };
}

/**
 * The path (`/api/v2/…`, with query) of a Platform API request of `apiClient`, or undefined for anything
 * else (the login flows). `callApi` builds the URL as `<getConfUrl("api", basePath)><path>`.
 */
function platformApiPath(apiClient: GenesysSdkApiClient, url: string): ApiPath | undefined {
  const { basePath } = apiClient.config;
  const apiUrl = apiClient.config.getConfUrl("api", basePath);
  if (typeof url !== "string" || !url.startsWith(`${apiUrl}/api/`)) return undefined;
  return { path: url.slice(apiUrl.length), gatewayUrl: apiUrl === basePath ? undefined : url };
}

interface ApiPath {
  path: string;
  /** The URL as built, when a gateway routes it (the caller's choice, kept). */
  gatewayUrl: string | undefined;
}

/** A copy of the SDK's request (same prototype) sent to the token's API with the token's header. */
function authorised(request: GenesysSdkRequest, token: VendedToken, target: ApiPath): GenesysSdkRequest {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (name.toLowerCase() !== "authorization") headers[name] = value;
  }
  // This exact spelling: the SDK's logger redacts "Authorization" (and no other) in what it logs.
  headers.Authorization = bearerAuthorization(token);
  const copy = Object.create(Object.getPrototypeOf(request) as object | null) as GenesysSdkRequest;
  return Object.assign(copy, request, {
    headers,
    url: target.gatewayUrl ?? `${token.apiBaseUrl}${target.path}`,
  });
}

/** The SDK's HTTP client with `request` replaced; everything else (agent, hooks, timeout) is the client's own. */
function withRequest(
  httpClient: GenesysSdkHttpClient,
  request: (request: GenesysSdkRequest) => Promise<unknown>,
): GenesysSdkHttpClient {
  return new Proxy(httpClient, {
    get(target, property) {
      if (property === "request") return request;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** What one attempt produced: the HTTP client's response, or its rejection (an HTTP error or not). */
type Outcome = { response: unknown } | { failure: unknown };

function outcomeOf(sending: Promise<unknown>): Promise<Outcome> {
  return sending.then(
    (response) => ({ response }),
    (failure: unknown) => ({ failure }),
  );
}

function settle(outcome: Outcome): unknown {
  if ("response" in outcome) return outcome.response;
  throw concealToken(outcome.failure);
}

/**
 * The HTTP client's error, made safe to print: axios keeps the request's configuration and the Node
 * request itself on the error (and on its `response`), both holding the token, and the SDK hands that
 * error to the caller (extended responses, network failures). The configuration's `Authorization` is
 * redacted; the request stays reachable but is no longer enumerable, so `console.log`, `util.inspect`
 * and `JSON.stringify` do not print it.
 */
function concealToken(failure: unknown): unknown {
  for (const holder of [failure, fieldOf(failure, "response")]) {
    if (typeof holder !== "object" || holder === null) continue;
    const headers = fieldOf(fieldOf(holder, "config"), "headers");
    if (typeof headers === "object" && headers !== null) {
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() === "authorization") {
          (headers as Record<string, unknown>)[name] = "Bearer [redacted]";
        }
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(holder, "request");
    if (descriptor?.enumerable && descriptor.configurable) {
      Object.defineProperty(holder, "request", { ...descriptor, enumerable: false });
    }
  }
  return failure;
}

/** The HTTP answer of an outcome: the response, or the `response` an HTTP error carries (axios). */
function answerOf(outcome: Outcome): { status?: unknown; headers?: unknown } | undefined {
  const answer = "response" in outcome ? outcome.response : fieldOf(outcome.failure, "response");
  return typeof answer === "object" && answer !== null ? answer : undefined;
}

/** The status of an outcome; 0 when there was no HTTP answer (a network failure). */
function statusOf(outcome: Outcome): number {
  const status = answerOf(outcome)?.status;
  return typeof status === "number" ? status : 0;
}

function fieldOf(value: unknown, field: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[field] : undefined;
}
