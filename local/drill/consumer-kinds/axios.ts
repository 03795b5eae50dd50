/**
 * The drill's axios consumer kind (for a `--consumer-kind axios`): one consumer call, `GET
 * /api/v2/organizations/me`, through an axios instance with the consumer library's axios adapter
 * (`attachGenesysAuth`, lambda/client/axios.ts), so a drill exercises its 401 report → replay and its
 * 429 retry under rotation and faults, as the default kind does with `genesysFetch`.
 *
 * One instance per provider (a consumer container), kept for its later calls. The call never throws for
 * an HTTP status: the drill counts any answer but 2xx as a failed call, by its status. 5xx answers are not
 * retried here (the adapter retries only 429s); the default kind retries them in its undici dispatcher.
 */
import axios, { type AxiosInstance } from "axios";
import { attachGenesysAuth } from "../../../lambda/client/axios.ts";
import type { RateLimitRetry } from "../../../lambda/client/rate-limit.ts";
import type { TokenSource } from "../../../lambda/client/token-provider.ts";
import { CONSUMER_API_PATH } from "./call.ts";

/**
 * The 429 budget of a drill consumer: eight retries within 20 s, about what the default kind's undici
 * retry allows, so a 429 fault window is ridden out the same way.
 */
const AXIOS_CONSUMER_RATE_LIMIT: RateLimitRetry = { maxRetries: 8, maxWaitMs: 20_000 };

/** Options of {@link axiosConsumerCall}. */
export interface AxiosConsumerCallOptions {
  /** Ends the call (axios rejects with its CanceledError). */
  signal?: AbortSignal;
}

const instances = new WeakMap<TokenSource, AxiosInstance>();

/**
 * The consumer's axios instance for `provider` (created on first use, the adapter attached). Requests go
 * to the token's apiBaseUrl (the vendor reports the emulator's URL under the endpoint override).
 */
function axiosConsumerInstance(provider: TokenSource): AxiosInstance {
  let instance = instances.get(provider);
  if (instance === undefined) {
    // The drill judges a call by its status: no status rejects.
    instance = axios.create({ validateStatus: () => true });
    attachGenesysAuth(instance, { provider, retryRateLimited: AXIOS_CONSUMER_RATE_LIMIT });
    instances.set(provider, instance);
  }
  return instance;
}

/**
 * One consumer call through axios: the final HTTP status after the adapter's replays and retries.
 * @throws what the token lookup throws (the vendor's typed errors), axios' errors for network failures
 *   and its CanceledError when `signal` aborts
 */
export async function axiosConsumerCall(
  provider: TokenSource,
  options: AxiosConsumerCallOptions = {},
): Promise<{ status: number }> {
  const response = await axiosConsumerInstance(provider).get(CONSUMER_API_PATH, {
    headers: { accept: "application/json" },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { status: response.status };
}
