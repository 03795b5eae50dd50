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
