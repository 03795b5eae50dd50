/**
 * Simulated consumer Lambdas. Each consumer is one "container": its own TokenProvider (the consumer
 * library, real @aws-sdk/client-lambda against the Lambda emulator) and its own pacing loop. Calls are
 * open-loop — started on schedule whether or not earlier ones finished — so a slow call shows up as
 * latency, not as a silently lower rate. Each call is `GET /api/v2/organizations/me` through the
 * library's `genesysFetch`, so a 401 exercises the rejectedToken → replay path.
 *
 * A consumer that behaves well retries Genesys' own 429 (honouring Retry-After) and 5xx on an idempotent
 * GET; that is undici's retry interceptor on the consumer's HTTP dispatcher, not the rotator's job. A call
 * counts as failed when its final answer is not 2xx or when getting a token failed.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, type Dispatcher, interceptors, fetch as undiciFetch } from "undici";
import { type FetchFunction, genesysFetch } from "../../lambda/client/fetch.ts";
import type { LambdaInvoker } from "../../lambda/client/invoke.ts";
import { TokenProvider } from "../../lambda/client/token-provider.ts";
import { describeError } from "../../lambda/shared/errors.ts";
import type { DrillMetrics } from "./metrics.ts";

/** The Genesys API every consumer call hits (no permission needed, cheap). */
export const CONSUMER_API_PATH = "/api/v2/organizations/me";
/** A consumer with this many calls in flight skips its next slot (and counts it) instead of piling up. */
const MAX_IN_FLIGHT_PER_CONSUMER = 64;
/** A call (token + request + retries) is abandoned, and counted failed, after this long. */
const CALL_TIMEOUT_MS = 20_000;
/** When a consumer falls this far behind its schedule (event loop stalled), it drops the backlog. */
const MAX_BACKLOG_MS = 1000;

/** Options of {@link startConsumerFleet}. */
export interface ConsumerFleetOptions {
  consumers: number;
  /** Target calls per second, all consumers together. */
  rate: number;
  /** The vending function's name in the Lambda emulator. */
  functionName: string;
  /** Credential name to ask the vendor for. */
  credential: string;
  /** A new Lambda client per consumer container. */
  createLambdaClient: () => LambdaInvoker & { destroy?(): void };
  metrics: DrillMetrics;
  /** ms since traffic start (the metrics' time base). */
  elapsedMs: () => number;
}

/** A running fleet. */
export interface ConsumerFleet {
  /** Stops scheduling calls, waits for the ones in flight (bounded by their timeout), closes clients. */
  stop(): Promise<void>;
}

/** Starts the consumers; their first calls go out at once, spread over one interval. */
export function startConsumerFleet(options: ConsumerFleetOptions): ConsumerFleet {
  // Ending the schedule must not abort calls already started: they are part of the measurement.
  const scheduling = new AbortController();
  const cancelling = new AbortController();
  const dispatcher = retryingDispatcher();
  const fetchWithRetry: FetchFunction = (input, init) =>
    // undici's own fetch, so the dispatcher (with its retry interceptor) is the one the package built.
    undiciFetch(
      input as string,
      { ...(init as object), dispatcher } as never,
    ) as unknown as Promise<Response>;
  const inFlight = new Set<Promise<void>>();
  const lambdaClients: { destroy?: () => void }[] = [];
  const intervalMs = (1000 * options.consumers) / options.rate;

  const loops = Array.from({ length: options.consumers }, (_, index) => {
    const lambdaClient = options.createLambdaClient();
    lambdaClients.push(lambdaClient);
    const provider = new TokenProvider({
      functionName: options.functionName,
      credential: options.credential,
      lambdaClient,
    });
    let ownInFlight = 0;

    const call = async () => {
      const started = performance.now();
      let failure: string | undefined;
      try {
        const response = await genesysFetch(
          CONSUMER_API_PATH,
          { signal: AbortSignal.any([AbortSignal.timeout(CALL_TIMEOUT_MS), cancelling.signal]) },
          { provider, fetch: fetchWithRetry },
        );
        await response.arrayBuffer();
        if (!response.ok) failure = `HTTP ${response.status}`;
      } catch (error) {
        failure = describeError(error).errorName;
      }
      // A call cut short by the end of the drill measured nothing: do not count it either way.
      if (cancelling.signal.aborted && failure !== undefined) return;
      options.metrics.recordCall(options.elapsedMs(), performance.now() - started, failure);
    };

    return (async () => {
      // Spread the consumers' slots over one interval, as independent containers would be.
      let next = performance.now() + (intervalMs * index) / options.consumers;
      while (!scheduling.signal.aborted) {
        const wait = next - performance.now();
        if (wait > 0) {
          try {
            await sleep(wait, undefined, { signal: scheduling.signal });
          } catch {
            break;
          }
        } else if (-wait > MAX_BACKLOG_MS) {
          const dropped = Math.floor(-wait / intervalMs);
          for (let i = 0; i < dropped; i++) options.metrics.recordSkipped();
          next += dropped * intervalMs;
        }
        next += intervalMs;
        if (ownInFlight >= MAX_IN_FLIGHT_PER_CONSUMER) {
          options.metrics.recordSkipped();
          continue;
        }
        ownInFlight++;
        const running = call().finally(() => {
          ownInFlight--;
          inFlight.delete(running);
        });
        inFlight.add(running);
      }
    })();
  });

  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        scheduling.abort();
        await Promise.all(loops);
        const cutOff = setTimeout(() => cancelling.abort(), CALL_TIMEOUT_MS);
        await Promise.allSettled([...inFlight]);
        clearTimeout(cutOff);
        for (const client of lambdaClients) client.destroy?.();
        await dispatcher.close();
      })();
      return stopped;
    },
  };
}

/**
 * The consumers' HTTP dispatcher: keep-alive connections plus undici's retry interceptor for what a
 * well-behaved Genesys client retries on a GET — 429 (after Retry-After) and 5xx. The budget (8 retries,
 * backoff capped at 2 s: about 9 s) outlasts the longest fault window (4 s), as a production client's
 * budget should outlast a Genesys incident it is meant to ride out; a smaller one made the all-faults
 * drill fail now and then on a call whose every retry landed in overlapping 429 and 5xx windows.
 * 401 is not retried here: the fetch helper handles it through the vendor.
 */
function retryingDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: 10_000 }).compose(
    interceptors.retry({
      maxRetries: 8,
      minTimeout: 100,
      maxTimeout: 2000,
      timeoutFactor: 2,
      methods: ["GET", "HEAD"],
      statusCodes: [429, 500, 502, 503, 504],
      // Pass the last answer through instead of throwing, so the failure is counted by its status.
      throwOnError: false,
    }),
  );
}
