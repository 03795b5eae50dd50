/**
 * `genesys-oauth-rotator/client/axios`: vended bearer tokens for an axios instance.
 *
 * ```ts
 * import axios from "axios";
 * import { attachGenesysAuth } from "genesys-oauth-rotator/client/axios";
 * const genesys = axios.create();
 * const detach = attachGenesysAuth(genesys, { provider });
 * await genesys.get("/api/v2/organizations/me"); // resolved against the token's apiBaseUrl
 * ```
 *
 * Only types are imported from axios (an optional peer dependency): loading this module, or the main
 * client entry, never loads axios. Everything axios-specific goes through the instance the caller passes:
 * its interceptors, its `getUri` (so a URL is resolved exactly as that axios version resolves it) and its
 * `request` (replays run through the instance's own defaults and interceptors). Nothing global is touched.
 *
 * The policies are the library's own: replays after a `401` (replay-policy.ts), the opt-in retry of a
 * `429` (rate-limit.ts), the origin rule of the undici interceptor (interceptor.ts). See README.md here.
 */
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from "axios";
import { defaultTokenProvider } from "./default-provider.ts";
import { ValidationError } from "./errors.ts";
import { bearerAuthorization, type VendedToken } from "./payload.ts";
import {
  type RateLimitRetry,
  RateLimitRetryPolicy,
  retryAfterOf,
  retryingRateLimited,
} from "./rate-limit.ts";
import { isReplayableData, replaysAfter401 } from "./replay-policy.ts";

export { isReplayableData };

import { abortable, type TokenSource } from "./token-provider.ts";

/** Options of {@link attachGenesysAuth}. */
export interface GenesysAxiosAuthOptions {
  /**
   * Where tokens come from.
   * @default the process-wide provider bound to `TOKEN_VENDOR_FUNCTION_NAME`, created on first request
   */
  provider?: TokenSource;
  /**
   * Credential whose token authorises the requests.
   * @default the provider's default credential
   */
  credential?: string;
  /**
   * Origins (`https://api.mypurecloud.ie`) that receive the token; requests to any other origin pass
   * through untouched, without a token lookup.
   * @default the origin of the token's `apiBaseUrl`
   */
  origins?: readonly string[];
  /**
   * Retry a `429` from the Genesys API after its `Retry-After`, within a bounded number of retries and a
   * bounded total wait (rate-limit.ts); by default only for idempotent methods, and only when the body
   * can be sent again (the same bodies as a `401` replay). The last `429` is handed back as axios would.
   * @default false
   */
  retryRateLimited?: RateLimitRetry;
}

/** Removes the interceptors {@link attachGenesysAuth} added; requests already running finish as they began. */
export type DetachGenesysAuth = () => void;

/**
 * The prefix of the config key under which a request carries its {@link RequestAuth} (one key per
 * attachment). A string key holding a class instance: axios' config merge keeps unknown keys and copies
 * only plain objects, so a replay sent with `instance.request(config)` shares the state of the request it
 * replays.
 */
const AUTH_KEY = "genesysOAuthRotatorAuth";
let attachments = 0;
/** What the config's `Authorization` reads once the answer is in (axios errors carry their config). */
const REDACTED_AUTHORIZATION = "Bearer [redacted]";

/**
 * Authorises the requests of `instance` with vended tokens, as `genesysFetch` and `bearerAuth` do:
 *
 * - A request interceptor sets `Authorization: Bearer <token>` (replacing any other) on requests for the
 *   token's `apiBaseUrl` origin, or `origins`. A URL is resolved as the instance resolves it (its
 *   `baseURL`, `allowAbsoluteUrls`); a path starting with `/` on an instance without `baseURL` is
 *   resolved against the token's `apiBaseUrl`, so no region is hard-coded. A request for any other
 *   origin passes through untouched, as with `bearerAuth`: an instance is a shared transport like a
 *   dispatcher, and a `nextUri` elsewhere is not an error, it just never carries the token.
 * - A response interceptor answers a `401` to a token it attached by reporting the token to the vendor
 *   (`rejectedToken`; concurrent reports of one token share one vend) and replaying the request once
 *   with the replacement, a second time only when the replacement died too (replay-policy.ts). The
 *   replay is marked on the config, so it is never looped. A body that cannot be sent twice (a stream)
 *   is not replayed: the `401` is handed back and the token invalidated for the next request.
 * - With `retryRateLimited`, a `429` is retried after its `Retry-After` (rate-limit.ts).
 * - Once a request is answered, its config's `Authorization` reads `Bearer [redacted]`, so a logged
 *   `AxiosError` (`error.config`, `error.toJSON()`) does not carry the token.
 *
 * Attach it before your own interceptors: axios runs request interceptors last-added first and response
 * interceptors first-added first, so this one then sees the final URL and the raw answer.
 *
 * @returns a function that detaches both interceptors
 * @throws {ValidationError} for an `origins` entry that is not an absolute URL, or bad `retryRateLimited`
 */
export function attachGenesysAuth(
  instance: AxiosInstance,
  options: GenesysAxiosAuthOptions = {},
): DetachGenesysAuth {
  const attachment = new Attachment(instance, options);
  const requestId = instance.interceptors.request.use((config) => attachment.authorise(config));
  const responseId = instance.interceptors.response.use(
    (response) => attachment.answered(response),
    (error: unknown) => attachment.failed(error),
  );
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

/** What one request (and its replays and retries) went through. Tokens stay in private fields. */
class RequestAuth {
  readonly attachment: Attachment;
  /** The tokens of the current send and its 401 replays, the original request's first. */
  #tokens: VendedToken[] = [];
  /** The replacement the next replay must carry (the vendor's answer to the report). */
  #replacement: VendedToken | undefined;
  /** Inside a 429 retry loop: a retried answer does not start another loop. */
  retryingRateLimited = false;

  constructor(attachment: Attachment) {
    this.attachment = attachment;
  }

  /** The token of the last attempt, if this attachment authorised it. */
  get current(): VendedToken | undefined {
    return this.#tokens.at(-1);
  }

  get accessTokens(): string[] {
    return this.#tokens.map((token) => token.accessToken);
  }

  /**
   * Starts a send of the request and returns the token it must carry, if a replay after a 401 asked for
   * one. Any other send (the first, a 429 retry, the caller's own re-send of `error.config`) starts its
   * 401 replays afresh, as genesysFetch does for each attempt.
   */
  beginSend(): VendedToken | undefined {
    const replacement = this.#replacement;
    this.#replacement = undefined;
    if (replacement === undefined) this.#tokens = [];
    return replacement;
  }

  replayWith(token: VendedToken): void {
    this.#replacement = token;
  }

  sent(token: VendedToken): void {
    this.#tokens.push(token);
  }

  toJSON(): object {
    return {};
  }
}

/** The answer to one send: a response, or the error axios rejected with (which may carry a response). */
interface Outcome {
  response: AxiosResponse | undefined;
  error?: unknown;
}

class Attachment {
  readonly #key = `${AUTH_KEY}${++attachments}`;
  readonly #rateLimit: RateLimitRetryPolicy | undefined;
  readonly #fixedOrigins: ReadonlySet<string> | undefined;

  constructor(
    private readonly instance: AxiosInstance,
    private readonly options: GenesysAxiosAuthOptions,
  ) {
    this.#rateLimit = RateLimitRetryPolicy.from(options.retryRateLimited, "attachGenesysAuth");
    this.#fixedOrigins = options.origins ? new Set(options.origins.map(originOf)) : undefined;
  }

  #provider(): TokenSource {
    return this.options.provider ?? defaultTokenProvider();
  }

  /** The request interceptor. */
  async authorise(config: InternalAxiosRequestConfig): Promise<InternalAxiosRequestConfig> {
    const state = this.#stateOf(config) ?? this.#track(config);
    const fixed = this.#fixedOrigins;
    const early = this.#targetOrigin(config);
    // With fixed origins, an absolute URL elsewhere needs no token: no latency, no failure while the
    // vendor is down.
    if (fixed !== undefined && early !== undefined && !fixed.has(early)) return config;
    const signal = abortSignalOf(config);
    let token = state.beginSend();
    if (token === undefined) {
      if (signal?.aborted) return config;
      const getting = this.#provider().getToken({ credential: this.options.credential, signal });
      try {
        token = await abortable(getting, signal);
      } catch (error) {
        // Aborted while waiting: hand the request on untouched, and axios rejects it with its own
        // CanceledError before sending anything (as it does for any aborted request).
        if (signal?.aborted) return config;
        throw error;
      }
    }
    const relativePath = early === undefined && !config.baseURL && isRootPath(config.url);
    const origin = relativePath ? originOf(token.apiBaseUrl) : early;
    const allowed = fixed ?? new Set([originOf(token.apiBaseUrl)]);
    if (origin === undefined || !allowed.has(origin)) return config;
    if (relativePath) config.baseURL = token.apiBaseUrl;
    config.headers.set("Authorization", bearerAuthorization(token), true);
    state.sent(token);
    return config;
  }

  /** The response interceptor for answers axios accepted (any status a custom `validateStatus` lets through). */
  async answered(response: AxiosResponse): Promise<AxiosResponse> {
    const outcome = await this.#handle({ response });
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.response as AxiosResponse;
  }

  /** The response interceptor for rejections (by default every status outside 2xx). */
  async failed(error: unknown): Promise<AxiosResponse> {
    const outcome = await this.#handle({ response: responseOf(error), error });
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.response as AxiosResponse;
  }

  async #handle(outcome: Outcome): Promise<Outcome> {
    const config = outcome.response?.config ?? configOf(outcome.error);
    const state = config === undefined ? undefined : this.#stateOf(config);
    if (config === undefined || state === undefined || state.current === undefined) return outcome;
    const status = outcome.response?.status;
    if (status === 401) return this.#after401(config, state, outcome);
    if (status === 429 && this.#rateLimit !== undefined && !state.retryingRateLimited) {
      return this.#after429(config, state, outcome, this.#rateLimit);
    }
    return redacted(config, outcome);
  }

  async #after401(
    config: InternalAxiosRequestConfig,
    state: RequestAuth,
    outcome: Outcome,
  ): Promise<Outcome> {
    const rejected = state.current as VendedToken;
    const tokens = state.accessTokens;
    if (!replaysAfter401(tokens.length - 1, tokens)) return redacted(config, outcome);
    const provider = this.#provider();
    if (!isReplayableData(config.data)) {
      provider.invalidate(rejected);
      return redacted(config, outcome);
    }
    discard(outcome.response);
    const signal = abortSignalOf(config);
    let replacement: VendedToken;
    try {
      replacement = await abortable(
        provider.getToken({
          credential: this.options.credential,
          rejectedToken: rejected.accessToken,
          signal,
        }),
        signal,
      );
    } catch (error) {
      if (signal?.aborted) return this.#cancelled(config);
      throw error;
    }
    state.replayWith(replacement);
    return this.#send(config);
  }

  async #after429(
    config: InternalAxiosRequestConfig,
    state: RequestAuth,
    outcome: Outcome,
    policy: RateLimitRetryPolicy,
  ): Promise<Outcome> {
    if (!isReplayableData(config.data)) return redacted(config, outcome);
    state.retryingRateLimited = true;
    let first: Outcome | undefined = outcome;
    try {
      return await retryingRateLimited(
        policy,
        config.method ?? "get",
        async () => {
          if (first !== undefined) {
            const answer = first;
            first = undefined;
            return answer;
          }
          return this.#send(config);
        },
        {
          status: (answer) => answer.response?.status ?? 0,
          retryAfter: (answer) => retryAfterOf(answer.response?.headers),
          discard: (answer) => discard(answer.response),
        },
        abortSignalOf(config),
      );
    } catch (error) {
      if (abortSignalOf(config)?.aborted) return this.#cancelled(config);
      throw error;
    } finally {
      state.retryingRateLimited = false;
    }
  }

  /**
   * The caller's signal aborted while this interceptor waited (for a report or a Retry-After): the
   * request goes back through the instance, whose aborted signal makes axios reject it with its own
   * `CanceledError` before anything is sent, as for any aborted axios request.
   */
  #cancelled(config: InternalAxiosRequestConfig): Promise<Outcome> {
    return this.#send(config);
  }

  /** Sends `config` again through the instance (its defaults and interceptors, this one included). */
  async #send(config: InternalAxiosRequestConfig): Promise<Outcome> {
    try {
      return { response: await this.instance.request(config) };
    } catch (error) {
      return { response: responseOf(error), error };
    }
  }

  #stateOf(config: InternalAxiosRequestConfig): RequestAuth | undefined {
    const state = (config as unknown as Record<string, unknown>)[this.#key];
    return state instanceof RequestAuth && state.attachment === this ? state : undefined;
  }

  #track(config: InternalAxiosRequestConfig): RequestAuth {
    const state = new RequestAuth(this);
    (config as unknown as Record<string, unknown>)[this.#key] = state;
    return state;
  }

  /** The origin the instance would send `config` to, or undefined when it is not an absolute URL yet. */
  #targetOrigin(config: InternalAxiosRequestConfig): string | undefined {
    let uri: string;
    try {
      uri = this.instance.getUri(config);
    } catch {
      return undefined;
    }
    const url = URL.parse(uri);
    return url === null || url.origin === "null" ? undefined : url.origin;
  }
}

/** The outcome, its config's Authorization redacted (replays set a fresh one; see attachGenesysAuth). */
function redacted(config: InternalAxiosRequestConfig, outcome: Outcome): Outcome {
  if (typeof config.headers?.set === "function") {
    config.headers.set("Authorization", REDACTED_AUTHORIZATION, true);
  }
  return outcome;
}

function isRootPath(url: string | undefined): boolean {
  return url?.startsWith("/") === true && !url.startsWith("//");
}

function originOf(url: string): string {
  const parsed = URL.parse(url);
  if (parsed === null || parsed.origin === "null") {
    throw new ValidationError("attachGenesysAuth", "origins", "must list absolute http(s) URLs");
  }
  return parsed.origin;
}

function abortSignalOf(config: InternalAxiosRequestConfig): AbortSignal | undefined {
  return config.signal instanceof AbortSignal ? config.signal : undefined;
}

function responseOf(error: unknown): AxiosResponse | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const response = (error as { response?: unknown }).response;
  return typeof response === "object" && response !== null && "status" in response
    ? (response as AxiosResponse)
    : undefined;
}

function configOf(error: unknown): InternalAxiosRequestConfig | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const config = (error as { config?: unknown }).config;
  return typeof config === "object" && config !== null ? (config as InternalAxiosRequestConfig) : undefined;
}

/** Frees a response that is retried: only a streamed one (`responseType: "stream"`) holds anything. */
function discard(response: AxiosResponse | undefined): void {
  const data = response?.data as { destroy?: () => void; cancel?: () => Promise<void> } | undefined;
  if (typeof data?.destroy === "function") data.destroy();
  else if (typeof data?.cancel === "function") data.cancel().catch(() => {});
}
