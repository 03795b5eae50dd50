/**
 * What every drill consumer kind shares: the call it makes, and how a well-behaved consumer rides out
 * Genesys' own 5xx on that idempotent GET when its HTTP client does not (the fetch kind's undici
 * dispatcher does, consumers.ts): the same budget, about 9 s, that outlasts the longest fault window.
 */
import { exponentialDelay, fullJitter } from "../../../lambda/shared/backoff.ts";
import { systemClock } from "../../../lambda/shared/clock.ts";

/** The Genesys API every consumer call hits (no permission needed, cheap). */
export const CONSUMER_API_PATH = "/api/v2/organizations/me";

/** 8 retries, 100 ms doubling to 2 s, full jitter: the fetch kind's undici retry interceptor's budget. */
const SERVER_ERROR_RETRIES = 8;
const SERVER_ERROR_BACKOFF = { baseMs: 100, capMs: 2_000 };

/** Runs `call` again after a 5xx answer, within the budget; the last answer is returned as it is. */
export async function retryingServerErrors(
  call: () => Promise<{ status: number }>,
  signal: AbortSignal,
): Promise<{ status: number }> {
  let answer = await call();
  for (let retry = 0; answer.status >= 500 && retry < SERVER_ERROR_RETRIES; retry++) {
    await systemClock.sleep(fullJitter(exponentialDelay(retry, SERVER_ERROR_BACKOFF)), signal);
    answer = await call();
  }
  return answer;
}
