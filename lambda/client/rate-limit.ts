/**
 * The opt-in retry of Genesys Platform API `429`s, one policy for every adapter of this library
 * (`genesysFetch`, the undici interceptor, axios, the official SDK): docs/design.md#consumer-library.
 *
 * Genesys answers a request over its rate limit with `429` and `Retry-After` (seconds). The policy
 * waits what the header asks, or a jittered backoff when it is missing, and gives up — handing the
 * `429` to the caller — once the retries or the wait budget are spent, so one request never waits
 * without bound. Only idempotent methods are retried unless the caller says otherwise: a `POST` that
 * was counted before it was refused is rare, but a duplicated conversation or message is not ours to
 * risk.
 */
import { type ExponentialBackoff, equalJitter, exponentialDelay } from "../shared/backoff.ts";
import { type Clock, type Random, systemClock, systemRandom } from "../shared/clock.ts";
import { parseRetryAfter } from "../shared/retry-after.ts";
import { ValidationError } from "./errors.ts";

/** How a `429` is retried; `true` takes every default. */
export interface RateLimitRetryOptions {
  /**
   * Retries after a `429`, beyond the first attempt.
   * @default 3
   */
  maxRetries?: number;
  /**
   * The longest the retries of one request may wait in total, in milliseconds. A `Retry-After` that
   * would take the request past it is not waited for: the `429` is returned at once.
   * @default 30000
   */
  maxWaitMs?: number;
  /**
   * Methods (upper case) that are retried.
   * @default ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] (idempotent per RFC 9110 §9.2.2)
   */
  methods?: readonly string[];
  /** @default the system clock */
  clock?: Clock;
  /** Jitter source of the backoff used when `Retry-After` is missing. @default Math.random */
  random?: Random;
}

/** What an adapter's `retryRateLimited` option accepts: off (the default), on with defaults, or tuned. */
export type RateLimitRetry = boolean | RateLimitRetryOptions;

const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_MAX_WAIT_MS = 30_000;
const IDEMPOTENT_METHODS: readonly string[] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"];
/** Without `Retry-After`: 1 s doubling to 8 s, equal jitter (a wait near zero would only repeat the 429). */
const FALLBACK_BACKOFF: ExponentialBackoff = { baseMs: 1_000, capMs: 8_000 };

/** A validated {@link RateLimitRetryOptions}. */
export class RateLimitRetryPolicy {
  readonly maxRetries: number;
  readonly maxWaitMs: number;
  readonly clock: Clock;
  private readonly methods: ReadonlySet<string>;
  private readonly random: Random;

  /**
   * The policy an adapter option asks for, or undefined when it is off.
   * @throws {ValidationError} for a negative or non-integer `maxRetries`/`maxWaitMs`, or an empty method
   */
  static from(option: RateLimitRetry | undefined, subject: string): RateLimitRetryPolicy | undefined {
    if (option === undefined || option === false) return undefined;
    return new RateLimitRetryPolicy(option === true ? {} : option, subject);
  }

  private constructor(options: RateLimitRetryOptions, subject: string) {
    this.maxRetries = wholeNumber(
      options.maxRetries ?? DEFAULT_MAX_RETRIES,
      subject,
      "retryRateLimited.maxRetries",
    );
    this.maxWaitMs = wholeNumber(
      options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      subject,
      "retryRateLimited.maxWaitMs",
    );
    const methods = options.methods ?? IDEMPOTENT_METHODS;
    for (const method of methods) {
      if (typeof method !== "string" || method.trim() === "") {
        throw new ValidationError(subject, "retryRateLimited.methods", "must list HTTP method names");
      }
    }
    this.methods = new Set(methods.map((method) => method.toUpperCase()));
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
  }

  /** Whether requests with this method are retried at all. */
  appliesTo(method: string): boolean {
    return this.methods.has(method.toUpperCase());
  }

  /**
   * The wait before retry number `retry` (0 for the first) of a request that got a `429` with this
   * `Retry-After` value after waiting `waitedMs` in earlier retries; undefined means give up and return
   * the `429`.
   */
  delayMs(retry: number, retryAfter: string | null | undefined, waitedMs: number): number | undefined {
    if (retry >= this.maxRetries) return undefined;
    const asked = parseRetryAfter(retryAfter ?? undefined, this.clock.now());
    const delay = asked ?? equalJitter(exponentialDelay(retry, FALLBACK_BACKOFF), this.random);
    return waitedMs + delay > this.maxWaitMs ? undefined : delay;
  }
}

/**
 * Sends `attempt` until it answers something other than a retryable `429`, waiting as `policy` says in
 * between; `retryAfterOf` reads the answer's `Retry-After`, `discard` frees an answer that is retried.
 * With no policy, or a method it does not cover, `attempt` runs once.
 */
export async function retryingRateLimited<T>(
  policy: RateLimitRetryPolicy | undefined,
  method: string,
  attempt: () => Promise<T>,
  answer: {
    status(response: T): number;
    retryAfter(response: T): string | null | undefined;
    discard?(response: T): unknown;
  },
  signal?: AbortSignal,
): Promise<T> {
  let response = await attempt();
  if (policy === undefined || !policy.appliesTo(method)) return response;
  let waitedMs = 0;
  for (let retry = 0; answer.status(response) === 429; retry++) {
    const delay = policy.delayMs(retry, answer.retryAfter(response), waitedMs);
    if (delay === undefined) return response;
    await answer.discard?.(response);
    await policy.clock.sleep(delay, signal);
    waitedMs += delay;
    response = await attempt();
  }
  return response;
}

/**
 * The `Retry-After` of an axios-style response (axios', and the official SDK's, which is axios by
 * default): its headers are a plain object or `AxiosHeaders`, keyed in any letter case.
 */
export function retryAfterOf(headers: unknown): string | undefined {
  if (typeof headers !== "object" || headers === null) return undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== "retry-after") continue;
    const first: unknown = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === null ? undefined : String(first);
  }
  return undefined;
}

function wholeNumber(value: number, subject: string, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(subject, field, "must be a whole number, 0 or more");
  }
  return value;
}
