/**
 * The transport to Genesys Cloud, the one place that sends HTTP requests to it (token endpoint and
 * Platform API alike): per-attempt timeouts, network failures as the typed errors of errors.ts,
 * Retry-After, and bounded retries. What a response means (status → typed error, body parsing) is decided
 * by the interpreter each call passes in; the rules those share are responses.ts.
 *
 * Why an explicit loop rather than undici's retry interceptor (docs/ARCHITECTURE.md#code-style prefers interceptors where a
 * generic retry fits): the rules here are not generic. A Retry-After longer than `maxRetryAfterMs` must
 * fail fast instead of waiting; no attempt may start or sleep past the caller's `deadline`; sleeps must
 * use the injectable Clock so tests do not wait; the token endpoint signals throttling with a 400 body,
 * not a status; and non-idempotent calls (secret regeneration, client creation) may be repeated only when
 * the request provably never reached the server. Expressing that as interceptor options would hide
 * more than this ~100-line loop.
 *
 * undici is imported lazily on the first request: a vending cold start whose cache hits make no HTTP
 * call then pays nothing for it (docs/design.md#cold-start-budget).
 */
import type { Dispatcher } from "undici";
import { equalJitter, exponentialDelay } from "../backoff.ts";
import { type Clock, type Random, systemClock, systemRandom } from "../clock.ts";
import type { Log } from "../log.ts";
import { parseRetryAfter } from "../retry-after.ts";
import {
  GenesysApiRateLimitError,
  GenesysError,
  GenesysProtocolError,
  GenesysTokenRateLimitError,
  GenesysTransientError,
  sanitizeCode,
} from "./errors.ts";

/** Options every Genesys call accepts. All have production defaults. */
export interface GenesysCallOptions {
  /** Milliseconds one attempt may take, from sending to the last body byte. @default 5000 */
  timeoutMs?: number;
  /** Attempts in total for retryable failures where repeating is safe. @default 3 */
  maxAttempts?: number;
  /** The longest Retry-After honoured; a longer one fails at once with its `retryAfterMs`. @default 30000 */
  maxRetryAfterMs?: number;
  /** Epoch ms (on `clock`): no attempt starts, and no backoff sleeps, past it. @default none */
  deadline?: number;
  /** The undici dispatcher to send through. @default a shared keep-alive Agent */
  dispatcher?: Dispatcher;
  /** Time source for expiry computation, Retry-After dates and backoff sleeps. @default systemClock */
  clock?: Clock;
  /** Where attempts and retries are logged (never with a secret or token). @default none */
  log?: Log;
  /** Jitter source for backoff. @default Math.random */
  random?: Random;
}

/** A request ready to send. Build it with a pure function; send it with {@link sendGenesysRequest}. */
export interface GenesysHttpRequest {
  /** Log-safe description, e.g. `POST /oauth/token`. Appears in errors and logs; never holds a secret. */
  operation: string;
  method: "GET" | "HEAD" | "POST" | "PUT" | "DELETE";
  /** Absolute URL. */
  url: string;
  /** Request headers; may hold credentials, so they are never logged. */
  headers: Record<string, string>;
  body?: string;
  /**
   * Whether sending the request twice has the same effect as once. False for secret regeneration and
   * client creation: those are repeated only when the request provably never reached the server.
   */
  idempotent: boolean;
}

/** A received response, its body read in full. */
export interface GenesysHttpResponse {
  operation: string;
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as text (empty for HEAD). Never logged: it may hold a secret or a token. */
  body: string;
  /** Clock time at which the response headers arrived. */
  receivedAt: number;
  /** Sanitised `ININ-Correlation-Id`, when present. */
  correlationId?: string;
  /** Parsed Retry-After in milliseconds, when present and valid. */
  retryAfterMs?: number;
}

/** Turns a response into a result, or throws a GenesysError (retryable or not). */
export type ResponseInterpreter<T> = (response: GenesysHttpResponse) => T;

export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
/** Backoff between attempts without Retry-After: 250 ms doubling up to 8 s, equal jitter (see retryDelay). */
const BACKOFF = { baseMs: 250, capMs: 8_000 };
/** Genesys responses are small JSON documents; anything bigger is a protocol error, not a thing to buffer. */
const MAX_BODY_BYTES = 1024 * 1024;
const USER_AGENT = "genesys-oauth-rotator";

// Network errors that happen before a single byte of the request is written: a non-idempotent request
// that failed this way is safe to send again.
const NOT_SENT_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

type Undici = typeof import("undici");
let undiciModule: Promise<Undici> | undefined;
let sharedAgent: Promise<Dispatcher> | undefined;

function loadUndici(): Promise<Undici> {
  undiciModule ??= import("undici").then((module) => {
    // undici is CommonJS. Node's loader exposes its exports by name (and as `default`); in the bundles
    // (scripts/build.ts, esbuild code splitting) its lazy chunk exposes them only as `default`.
    const exports = (module as { default?: Partial<Undici> }).default;
    return typeof exports?.Agent === "function" ? (exports as Undici) : module;
  });
  return undiciModule;
}

/**
 * The process-wide keep-alive Agent, created on first use. Its own timeouts are backstops; the
 * per-attempt AbortSignal of {@link sendGenesysRequest} is normally the one that fires.
 */
export function sharedDispatcher(): Promise<Dispatcher> {
  sharedAgent ??= loadUndici().then(
    ({ Agent }) =>
      new Agent({
        connect: { timeout: 5_000 },
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
        // Below the usual 5 s server idle timeout, so a pooled socket is not reused as the server closes it.
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connections: 32,
      }),
  );
  return sharedAgent;
}

/** Closes the shared Agent's sockets (CLI exit, tests). The next request creates a new Agent. */
export async function closeSharedDispatcher(): Promise<void> {
  const agent = sharedAgent;
  sharedAgent = undefined;
  if (agent) await (await agent).close();
}

/**
 * Sends `request`, interprets the response, and retries retryable failures where that is safe:
 * at most `maxAttempts` attempts, honouring Retry-After (up to `maxRetryAfterMs`) or else jittered
 * exponential backoff, never starting or sleeping past `deadline`.
 *
 * @throws GenesysError from the interpreter or from the network classification of the last attempt.
 */
export async function sendGenesysRequest<T>(
  request: GenesysHttpRequest,
  interpret: ResponseInterpreter<T>,
  options: GenesysCallOptions = {},
): Promise<T> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const dispatcher = options.dispatcher ?? (await sharedDispatcher());

  for (let attempt = 1; ; attempt += 1) {
    const remaining =
      options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - clock.now();
    if (remaining <= 0) {
      throw new GenesysTransientError("the deadline passed before the request could be sent", {
        operation: request.operation,
      });
    }
    const timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, remaining);
    const outcome = await attemptOnce(request, interpret, { dispatcher, clock, timeoutMs });
    if (outcome.ok) {
      options.log?.debug("Genesys call succeeded", { operation: request.operation, attempt });
      return outcome.value;
    }
    const { error } = outcome;
    const delayMs = retryDelay(error, attempt);
    const notRetried = !error.retryable
      ? "not retryable"
      : !request.idempotent && outcome.mayHaveBeenProcessed
        ? "not idempotent and may have reached the server"
        : attempt >= maxAttempts
          ? "attempts exhausted"
          : error.retryAfterMs !== undefined && error.retryAfterMs > maxRetryAfterMs
            ? "Retry-After exceeds maxRetryAfterMs"
            : options.deadline !== undefined && clock.now() + delayMs >= options.deadline
              ? "the deadline would pass"
              : undefined;
    const logFields = {
      operation: request.operation,
      attempt,
      errorName: error.name,
      status: error.status,
      correlationId: error.correlationId,
    };
    if (notRetried !== undefined) {
      options.log?.debug("Genesys call failed", { ...logFields, notRetried });
      throw error;
    }
    options.log?.warn("Genesys call failed; retrying", { ...logFields, delayMs });
    await clock.sleep(delayMs);
  }

  function retryDelay(error: GenesysError, attempt: number): number {
    if (error.retryAfterMs !== undefined) return error.retryAfterMs;
    // Equal jitter (docs/design.md#backoff-and-jitter): the retry follows a 5xx, a timeout or a throttle
    // without Retry-After, and with three attempts a wait near zero would spend one on the same failure.
    return equalJitter(exponentialDelay(attempt - 1, BACKOFF), random);
  }
}

type AttemptOutcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: GenesysError;
      /** False only when the server certainly did not act on the request. */
      mayHaveBeenProcessed: boolean;
    };

async function attemptOnce<T>(
  request: GenesysHttpRequest,
  interpret: ResponseInterpreter<T>,
  context: { dispatcher: Dispatcher; clock: Clock; timeoutMs: number },
): Promise<AttemptOutcome<T>> {
  const { request: undiciRequest } = await loadUndici();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AttemptTimeout()), context.timeoutMs);
  let response: GenesysHttpResponse;
  try {
    const raw = await undiciRequest(request.url, {
      method: request.method,
      headers: { "user-agent": USER_AGENT, accept: "application/json", ...request.headers },
      ...(request.body === undefined ? {} : { body: request.body }),
      dispatcher: context.dispatcher,
      signal: controller.signal,
    });
    const receivedAt = context.clock.now();
    const body = await readBody(raw.body, request.operation);
    const headers = raw.headers;
    const correlationId = sanitizeCode(firstHeader(headers["inin-correlation-id"]));
    const retryAfterMs = parseRetryAfter(firstHeader(headers["retry-after"]), receivedAt);
    response = {
      operation: request.operation,
      status: raw.statusCode,
      headers,
      body,
      receivedAt,
      ...(correlationId === undefined ? {} : { correlationId }),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  } catch (cause) {
    if (cause instanceof GenesysProtocolError) return { ok: false, error: cause, mayHaveBeenProcessed: true };
    return networkFailure(request, cause, controller.signal, context.timeoutMs);
  } finally {
    clearTimeout(timer);
  }
  try {
    return { ok: true, value: interpret(response) };
  } catch (error) {
    if (!(error instanceof GenesysError)) throw error;
    // A throttled request was refused before the operation ran (Genesys' normalised 429 says "Retry the
    // request"), so even a non-idempotent call may be repeated after it.
    const refusedUnprocessed =
      error instanceof GenesysApiRateLimitError || error instanceof GenesysTokenRateLimitError;
    return { ok: false, error, mayHaveBeenProcessed: !refusedUnprocessed };
  }
}

class AttemptTimeout extends Error {
  override readonly name = "AttemptTimeout";
}

function networkFailure(
  request: GenesysHttpRequest,
  cause: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): AttemptOutcome<never> {
  if (signal.aborted && signal.reason instanceof AttemptTimeout) {
    return {
      ok: false,
      error: new GenesysTransientError(`no complete response within ${timeoutMs} ms`, {
        operation: request.operation,
      }),
      mayHaveBeenProcessed: true,
    };
  }
  const code = networkErrorCode(cause);
  const notSent = code !== undefined && NOT_SENT_ERROR_CODES.has(code);
  return {
    ok: false,
    error: new GenesysTransientError(
      `${notSent ? "could not connect" : "the connection failed before a complete response"}${code === undefined ? "" : ` (${code})`}`,
      { operation: request.operation, cause },
    ),
    mayHaveBeenProcessed: !notSent,
  };
}

/** The most specific error code in an undici/Node error chain (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  let found: string | undefined;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") found = sanitizeCode(code);
    // Prefer the OS-level code of the root cause (ECONNREFUSED) over undici's wrapper code.
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

async function readBody(body: AsyncIterable<Uint8Array>, operation: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_BODY_BYTES) {
      throw new GenesysProtocolError(`response body larger than ${MAX_BODY_BYTES} bytes`, { operation });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
