/**
 * An undici (v7) interceptor that authorises requests with a vended token:
 *
 * ```ts
 * import { Agent, request } from "undici";
 * const genesys = new Agent().compose(bearerAuth({ provider }));
 * await request(`${apiBaseUrl}/api/v2/organizations/me`, { dispatcher: genesys });
 * ```
 *
 * Same pattern as undici's own interceptors (lib/interceptor/dns.js for the asynchronous start,
 * redirect.js for re-dispatching from the handler). Only types are imported from undici, so loading this
 * module costs nothing at cold start.
 */
import type { Dispatcher } from "undici";
import { bearerAuthorization, type VendedToken } from "./payload.ts";
import { type RateLimitRetry, RateLimitRetryPolicy, retryingRateLimited } from "./rate-limit.ts";
import { replaysAfter401 } from "./replay-policy.ts";
import type { TokenSource } from "./token-provider.ts";

/** Options of {@link bearerAuth}. */
export interface BearerAuthOptions {
  /** Where tokens come from (a `TokenProvider`). */
  provider: TokenSource;
  /**
   * Credential whose token authorises the requests.
   * @default the provider's default credential
   */
  credential?: string;
  /**
   * Origins (`https://api.mypurecloud.ie`) that receive the token; requests to any other origin pass
   * through untouched, so composing this onto a shared dispatcher never leaks the token elsewhere.
   * @default the origin of the token's `apiBaseUrl`
   */
  origins?: readonly string[];
  /**
   * Retry a `429` from the Genesys API after its `Retry-After`, within a bounded number of retries and
   * a bounded total wait (rate-limit.ts); by default only for idempotent methods, and only for a body
   * that can be sent again (the same bodies as a `401` replay). Only requests that carry the token are
   * retried; the last `429` is delivered as is.
   * @default false
   */
  retryRateLimited?: RateLimitRetry;
}

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type ResponseHeaders = Parameters<NonNullable<Handler["onResponseStart"]>>[2];
type UpgradeSocket = Parameters<NonNullable<Handler["onRequestUpgrade"]>>[3];

/**
 * Adds `Authorization: Bearer <token>` to every request for the Genesys API origin. On a `401` response
 * the token is reported to the vendor (`rejectedToken`) and the request is replayed with the
 * replacement; if that replay carried another token and is rejected too, it is reported and replayed
 * once more (replay-policy.ts). Only the last `401` reaches the caller. Replay needs a body that
 * can be sent twice: none, a string or a Buffer/Uint8Array (`undici.request` passes these through as
 * is). Streams and iterables — which is what `undici.fetch` turns any body into — are not replayed: the
 * `401` is delivered and the token invalidated so the next request gets a replacement.
 *
 * With `retryRateLimited`, a `429` to a request that carries the token is held back and the request sent
 * again after its `Retry-After`, within the policy's budgets (rate-limit.ts); the downstream handler sees
 * one request and only the final answer.
 */
export function bearerAuth(options: BearerAuthOptions): Dispatcher.DispatcherComposeInterceptor {
  const { provider, credential } = options;
  const fixedOrigins = options.origins
    ? new Set(options.origins.map((origin) => new URL(origin).origin))
    : undefined;
  const rateLimit = RateLimitRetryPolicy.from(options.retryRateLimited, "bearerAuth");
  return (dispatch) =>
    function bearerAuthInterceptor(opts, handler) {
      const origin = opts.origin === undefined ? undefined : new URL(String(opts.origin)).origin;
      // With fixed origins the decision needs no token: other hosts pass through at once, without a
      // token lookup that would cost them latency, or fail them while the vendor is down.
      if (origin === undefined || (fixedOrigins !== undefined && !fixedOrigins.has(origin))) {
        return dispatch(opts, handler);
      }
      const controller = new StableController();
      provider
        .getToken({ credential })
        .then((token) => {
          const allowed = fixedOrigins ?? new Set([new URL(token.apiBaseUrl).origin]);
          if (!allowed.has(origin)) {
            dispatchOrFail(dispatch, opts, handler, controller);
            return;
          }
          const method = opts.method ?? "GET";
          if (rateLimit === undefined || !rateLimit.appliesTo(method) || !isReplayableBody(opts.body)) {
            sendAuthorised(dispatch, opts, handler, controller, token, options);
            return;
          }
          retryRateLimited(rateLimit, method, dispatch, opts, handler, controller, token, options);
        })
        // A failure to get the token, or to build the request from it (a custom source's token that is
        // not a header value, an apiBaseUrl that is not a URL), before anything was dispatched.
        .catch((error: unknown) => handler.onResponseError?.(controller, toError(error)));
      return true;
    };
}

/** One send with the token, and its replays after a `401` (replay-policy.ts). */
function sendAuthorised(
  dispatch: Dispatcher.Dispatch,
  opts: Dispatcher.DispatchOptions,
  handler: Handler,
  controller: StableController,
  token: VendedToken,
  options: BearerAuthOptions,
): void {
  const authorised = new BearerAuthHandler(dispatch, opts, handler, controller, token, options);
  dispatchOrFail(dispatch, withAuthorization(opts, token), authorised, controller);
}

/**
 * Sends through {@link sendAuthorised} until the answer is not a `429` the policy retries
 * (`retryingRateLimited`, rate-limit.ts). Each send is one {@link RateLimitedAttempt}: a `429` is held
 * back (its small body buffered) until the policy decides, any other answer streams to the handler at
 * once. Every send after the first asks the provider for the token again, as `genesysFetch` does.
 */
function retryRateLimited(
  policy: RateLimitRetryPolicy,
  method: string,
  dispatch: Dispatcher.Dispatch,
  opts: Dispatcher.DispatchOptions,
  handler: Handler,
  controller: StableController,
  firstToken: VendedToken,
  options: BearerAuthOptions,
): void {
  const shared = { started: false };
  let token: VendedToken | undefined = firstToken;
  const attempt = async (): Promise<RateLimitedAttempt> => {
    const current = token ?? (await options.provider.getToken({ credential: options.credential }));
    token = undefined;
    if (controller.aborted) throw toError(controller.reason);
    return new Promise((resolve, reject) => {
      const probe = new RateLimitedAttempt(handler, controller, shared, resolve, reject);
      sendAuthorised(dispatch, opts, probe, controller, current, options);
    });
  };
  retryingRateLimited(
    policy,
    method,
    attempt,
    {
      status: (answer) => answer.status,
      retryAfter: (answer) => answer.retryAfter,
      discard: (answer) => answer.discard(),
    },
    controller.signal,
  ).then(
    (answer) => answer.deliver(),
    (error: unknown) => handler.onResponseError?.(controller, toError(error)),
  );
}

/**
 * The handler of one send under {@link retryRateLimited}: resolves with itself as soon as the answer is
 * known to be final (any status but `429`, streamed on to the downstream handler from then on), or once a
 * `429` has ended (kept, to be delivered if it is the last); rejects on a failure before any answer.
 */
class RateLimitedAttempt implements Handler {
  #mode: "pending" | "held" | "streaming" = "pending";
  status = 0;
  #headers: ResponseHeaders = {};
  #statusMessage: string | undefined;
  #chunks: Buffer[] = [];
  #trailers: ResponseHeaders = {};

  constructor(
    private readonly downstream: Handler,
    private readonly controller: StableController,
    private readonly shared: { started: boolean },
    private readonly resolve: (attempt: RateLimitedAttempt) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  get retryAfter(): string | undefined {
    const value = this.#headers["retry-after"];
    return Array.isArray(value) ? value[0] : value;
  }

  onRequestStart(_controller: Controller, context: unknown): void {
    if (this.shared.started) return;
    this.shared.started = true;
    this.downstream.onRequestStart?.(this.controller, context);
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    socket: UpgradeSocket,
  ): void {
    this.downstream.onRequestUpgrade?.(this.controller, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    statusMessage?: string,
  ): void {
    this.status = statusCode;
    if (statusCode === 429) {
      this.#mode = "held";
      this.#headers = headers;
      this.#statusMessage = statusMessage;
      return;
    }
    this.#mode = "streaming";
    this.downstream.onResponseStart?.(this.controller, statusCode, headers, statusMessage);
    this.resolve(this);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#mode === "held") this.#chunks.push(chunk);
    else this.downstream.onResponseData?.(this.controller, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: ResponseHeaders): void {
    if (this.#mode !== "held") {
      this.downstream.onResponseEnd?.(this.controller, trailers);
      return;
    }
    this.#trailers = trailers;
    this.resolve(this);
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (this.#mode === "streaming") this.downstream.onResponseError?.(this.controller, error);
    else this.reject(error);
  }

  /** Hands a held `429` to the downstream handler (a streaming answer is on its way already). */
  deliver(): void {
    if (this.#mode !== "held") return;
    this.#mode = "streaming";
    this.downstream.onResponseStart?.(this.controller, this.status, this.#headers, this.#statusMessage);
    for (const chunk of this.#chunks) this.downstream.onResponseData?.(this.controller, chunk);
    this.#chunks = [];
    this.downstream.onResponseEnd?.(this.controller, this.#trailers);
  }

  discard(): void {
    this.#chunks = [];
  }
}

/**
 * Hides a 401 that will be replayed (replay-policy.ts) from the downstream handler and re-dispatches.
 * The downstream handler sees one request: one `onRequestStart`, one response, through one controller
 * that follows the live attempt.
 */
class BearerAuthHandler implements Handler {
  #token: VendedToken;
  /** The token of every attempt so far (the original request's first). */
  readonly #tokens: string[];
  #swallowing = false;
  #started = false;

  constructor(
    private readonly dispatch: Dispatcher.Dispatch,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly downstream: Handler,
    private readonly controller: StableController,
    token: VendedToken,
    private readonly options: BearerAuthOptions,
  ) {
    this.#token = token;
    this.#tokens = [token.accessToken];
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.controller.follow(controller);
    if (this.#started) return;
    this.#started = true;
    this.downstream.onRequestStart?.(this.controller, context);
  }

  onRequestUpgrade(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    socket: UpgradeSocket,
  ): void {
    this.downstream.onRequestUpgrade?.(this.controller, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: ResponseHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode === 401 && replaysAfter401(this.#tokens.length - 1, this.#tokens)) {
      if (isReplayableBody(this.opts.body)) {
        this.#swallowing = true;
        return;
      }
      this.options.provider.invalidate(this.#token);
    }
    this.downstream.onResponseStart?.(this.controller, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (!this.#swallowing) this.downstream.onResponseData?.(this.controller, chunk);
  }

  onResponseEnd(_controller: Controller, trailers: ResponseHeaders): void {
    if (!this.#swallowing) {
      this.downstream.onResponseEnd?.(this.controller, trailers);
      return;
    }
    this.#swallowing = false;
    const { provider, credential } = this.options;
    provider
      .getToken({ credential, rejectedToken: this.#token.accessToken })
      .then((replacement) => {
        if (this.controller.aborted) {
          this.downstream.onResponseError?.(this.controller, toError(this.controller.reason));
          return;
        }
        this.#token = replacement;
        this.#tokens.push(replacement.accessToken);
        dispatchOrFail(this.dispatch, withAuthorization(this.opts, replacement), this, this.controller);
      })
      // A failed report, or a replacement that cannot be sent (see bearerAuthInterceptor).
      .catch((error: unknown) => this.downstream.onResponseError?.(this.controller, toError(error)));
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.downstream.onResponseError?.(this.controller, error);
  }
}

/**
 * The controller the downstream handler holds: it forwards pause/resume/abort to whichever attempt is
 * live, and remembers an abort that happens between attempts so the replay is not sent.
 */
class StableController implements Controller {
  #target: Controller | undefined;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  readonly #abort = new AbortController();

  /** Aborted with the caller's reason: stops a wait between attempts (a Retry-After). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  follow(target: Controller): void {
    this.#target = target;
    if (this.#aborted) target.abort(this.#reason ?? new Error("aborted"));
    else if (this.#paused) target.pause();
  }

  get aborted(): boolean {
    return this.#aborted || (this.#target?.aborted ?? false);
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null;
  }

  abort(reason: Error): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#abort.abort(reason);
    this.#target?.abort(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}

/** The dispatch options with every existing Authorization header replaced by the vended token. */
function withAuthorization(opts: Dispatcher.DispatchOptions, token: VendedToken): Dispatcher.DispatchOptions {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of headerEntries(opts.headers)) {
    if (name.toLowerCase() === "authorization" || value === undefined) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...[existing].flat(), ...[value].flat()];
  }
  headers.authorization = bearerAuthorization(token);
  return { ...opts, headers };
}

/** Normalises undici's four header shapes (record, flat array, iterable of pairs, null) to pairs. */
function* headerEntries(
  headers: Dispatcher.DispatchOptions["headers"],
): Iterable<[string, string | string[] | undefined]> {
  if (headers === null || headers === undefined) return;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      yield* headers as unknown as [string, string | string[]][];
      return;
    }
    for (let i = 0; i + 1 < headers.length; i += 2) yield [String(headers[i]), String(headers[i + 1])];
    return;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function") {
    yield* headers as Iterable<[string, string | string[] | undefined]>;
    return;
  }
  yield* Object.entries(headers as Record<string, string | string[] | undefined>);
}

function isReplayableBody(body: Dispatcher.DispatchOptions["body"]): boolean {
  return body === null || body === undefined || typeof body === "string" || body instanceof Uint8Array;
}

/** Dispatches from an asynchronous continuation, where a synchronous throw would otherwise be lost. */
function dispatchOrFail(
  dispatch: Dispatcher.Dispatch,
  opts: Dispatcher.DispatchOptions,
  handler: Handler,
  controller: Controller,
): void {
  try {
    dispatch(opts, handler);
  } catch (error) {
    handler.onResponseError?.(controller, toError(error));
  }
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
