/**
 * Typed failures of calls to Genesys Cloud. Callers switch on the class (or the stable `name` across a
 * Lambda boundary) and on `retryable`; nobody parses messages.
 *
 * Safety: a message names the operation (`POST /oauth/token`), the HTTP status, Genesys' error code and
 * the correlation id — never a secret, a token, an Authorization header or Genesys' free-text message
 * (which may echo request fields). Codes are sanitised to identifier characters before use.
 */
import { RotatorError } from "../errors.ts";

/** What is known about one failed call. All fields are log-safe. */
export interface GenesysErrorDetails {
  /** The operation in log-safe form, e.g. `POST /api/v2/oauth/clients/{id}/secret`. */
  operation: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Milliseconds the server asked to wait (Retry-After), when it said so. */
  retryAfterMs?: number;
  /** Genesys' error code: `code` of an API error body or `error` of a login error body. */
  genesysCode?: string;
  /** `ININ-Correlation-Id` (or the body's `contextId`): what Genesys support asks for. */
  correlationId?: string;
  /** The underlying network error, for stack traces. Never a response body. */
  cause?: unknown;
}

/** The base of every Genesys call failure. */
export abstract class GenesysError extends RotatorError {
  /** The operation that failed, e.g. `GET /api/v2/tokens/me`. */
  readonly operation: string;
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** Milliseconds the server asked to wait before retrying (Retry-After), when it said so. */
  readonly retryAfterMs?: number;
  /** Genesys' error code (`invalid_client`, `too.many.requests.retry.after`, ...), when the body had one. */
  readonly genesysCode?: string;
  /** Genesys' correlation id of the response, when present. */
  readonly correlationId?: string;

  constructor(summary: string, details: GenesysErrorDetails) {
    super(
      formatMessage(summary, details),
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.operation = details.operation;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.genesysCode !== undefined) this.genesysCode = details.genesysCode;
    if (details.correlationId !== undefined) this.correlationId = details.correlationId;
  }
}

/** The token endpoint rejected the client id/secret (`invalid_client`, HTTP 400 or 401): wrong secret, unknown or inactive client. */
export class GenesysInvalidClientError extends GenesysError {
  override readonly name = "GenesysInvalidClientError";
  readonly retryable = false;
}

/**
 * The token endpoint throttled this client: HTTP 400 `invalid_request` "rate limit exceeded…" (how
 * Genesys signals it) or 429. `retryAfterMs` is set when the response carried Retry-After.
 */
export class GenesysTokenRateLimitError extends GenesysError {
  override readonly name = "GenesysTokenRateLimitError";
  readonly retryable = true;
}

/** A Platform API call was throttled: 429 `too.many.requests.retry.after`; `retryAfterMs` from Retry-After. */
export class GenesysApiRateLimitError extends GenesysError {
  override readonly name = "GenesysApiRateLimitError";
  readonly retryable = true;
}

/** The Platform API rejected the bearer token (401): expired, revoked, or its client disabled/deleted. */
export class GenesysUnauthorizedError extends GenesysError {
  override readonly name = "GenesysUnauthorizedError";
  readonly retryable = false;
}

/** 403: the token's client lacks a permission (e.g. `oauth:client:edit`) or the caller's IP is not allowed. */
export class GenesysPermissionError extends GenesysError {
  override readonly name = "GenesysPermissionError";
  readonly retryable = false;
}

/** 404: the OAuth client / integration credential does not exist (or was deleted). */
export class GenesysNotFoundError extends GenesysError {
  override readonly name = "GenesysNotFoundError";
  readonly retryable = false;
}

/** 5xx (except 501), a timeout, a refused or reset connection: the same call may succeed later. */
export class GenesysTransientError extends GenesysError {
  override readonly name = "GenesysTransientError";
  readonly retryable = true;
}

/** Any other status, or a response body that does not have the documented shape. */
export class GenesysProtocolError extends GenesysError {
  override readonly name = "GenesysProtocolError";
  readonly retryable = false;
}

/** Keeps only identifier characters of a server-supplied code, so a body cannot inject text into logs. */
export function sanitizeCode(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const cleaned = value.replace(/[^A-Za-z0-9._:-]/g, "").slice(0, 100);
  return cleaned === "" ? undefined : cleaned;
}

function formatMessage(summary: string, details: GenesysErrorDetails): string {
  const facts = [
    details.status === undefined ? undefined : `status ${details.status}`,
    details.genesysCode === undefined ? undefined : `code ${details.genesysCode}`,
    details.retryAfterMs === undefined ? undefined : `retry after ${details.retryAfterMs} ms`,
    details.correlationId === undefined ? undefined : `correlation id ${details.correlationId}`,
  ].filter((fact) => fact !== undefined);
  return `${details.operation}: ${summary}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`;
}
