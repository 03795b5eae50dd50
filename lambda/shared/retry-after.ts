/**
 * The `Retry-After` header, read one way everywhere: by the Genesys HTTP loop of the Lambdas and the
 * CLI (genesys/http.ts) and by the consumer library's opt-in retry of API `429`s (client/rate-limit.ts).
 */

/**
 * Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds from
 * `now`, or undefined when absent or unparseable (the caller then uses its own backoff).
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-date always contains a month name; requiring a letter keeps Date.parse from reading "12.5".
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
