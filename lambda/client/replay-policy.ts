import type { VendedToken } from "./payload.ts";

/**
 * How often one request is replayed after a `401` (the fetch helper and the undici interceptor share it).
 *
 * The first `401` is reported to the vendor (`rejectedToken`) and the request is replayed with the
 * replacement. When that replay is rejected too and it carried a DIFFERENT token, the replacement died
 * with the first one — a cache (this process's, or the vendor's) handed out another token from before
 * the same regeneration or revocation — so it is reported as well: the vendor then holds the reported
 * token, asks Genesys about it and replaces it. That is the last replay. A replay with the SAME token
 * means the vendor found the token still accepted: the `401` is not the token's fault (wrong
 * organisation, a revoked grant), and is returned without another report, so a persistent `401` never
 * turns every request into reports.
 */
export const MAX_REPLAYS = 2;

/**
 * Whether a `401` answered to the request's attempt number `attempt` (0 = the original request) with
 * `tokens[attempt]` is reported and replayed; `tokens` lists the token of every attempt so far.
 */
export function replaysAfter401(attempt: number, tokens: readonly string[]): boolean {
  if (attempt >= MAX_REPLAYS) return false;
  if (attempt === 0) return true;
  const current = tokens[attempt];
  return current !== undefined && !tokens.slice(0, attempt).includes(current);
}

/**
 * Sends a request with a token and replays it after a `401` as {@link replaysAfter401} says, for an
 * adapter that sends whole requests (`genesysFetch`, the official SDK adapter). Each `401` that is replayed is reported
 * through `token(rejectedToken)`; callers reporting the same token at once share one vend (the provider's
 * single-flight). A request whose body cannot be sent again is not replayed: its token is passed to
 * `invalidate`, so the next request gets a replacement, and the `401` is returned.
 */
export async function sendWithReplays<T>(
  token: (rejectedToken?: string) => Promise<VendedToken>,
  send: (token: VendedToken) => Promise<T>,
  answer: { status(response: T): number; discard?(response: T): unknown },
  replayable: boolean,
  invalidate: (token: VendedToken) => void,
): Promise<T> {
  let current = await token();
  let response = await send(current);
  if (answer.status(response) !== 401) return response;
  if (!replayable) {
    invalidate(current);
    return response;
  }
  const tokens = [current.accessToken];
  for (let attempt = 0; answer.status(response) === 401 && replaysAfter401(attempt, tokens); attempt++) {
    await answer.discard?.(response);
    current = await token(current.accessToken);
    tokens.push(current.accessToken);
    response = await send(current);
  }
  return response;
}

/**
 * Whether an axios-style HTTP client (axios itself, and the official SDK's, which is axios by default)
 * can send request `data` again: anything but a body that sending consumes — a Node stream, a web
 * `ReadableStream` or an async iterable. Plain values, JSON objects, strings, buffers and forms are
 * serialised afresh on every send.
 */
export function isReplayableData(data: unknown): boolean {
  if (typeof data !== "object" || data === null) return true;
  const body = data as Record<string | symbol, unknown>;
  if (typeof body.pipe === "function" || typeof body.getReader === "function") return false;
  return !(Symbol.asyncIterator in body);
}
