/**
 * Response interpretation for Genesys Cloud calls: a received response (http.ts delivers it) becomes a
 * result or a typed error. The shared rules live here: the status → GenesysError mapping of the Platform
 * API (which the token endpoint falls back to after its own OAuth rules, oauth.ts), JSON body parsing,
 * and the protocol error that names a response field and its rule. Each operation's own success schema
 * stays with the operation (api.ts, oauth.ts) and is applied through these helpers.
 *
 * Nothing here sends, waits or retries: that is the transport's (http.ts). The message of an error never
 * echoes a body: it may hold a secret or a token.
 */
import {
  GenesysApiRateLimitError,
  type GenesysError,
  GenesysNotFoundError,
  GenesysPermissionError,
  GenesysProtocolError,
  GenesysTransientError,
  GenesysUnauthorizedError,
  sanitizeCode,
} from "./errors.ts";
import type { GenesysHttpResponse } from "./http.ts";

/** Parses a JSON body, or throws GenesysProtocolError naming the operation (never echoing the body). */
export function parseJsonBody(response: GenesysHttpResponse): unknown {
  try {
    return JSON.parse(response.body);
  } catch {
    throw new GenesysProtocolError("response body is not JSON", responseDetails(response));
  }
}

/**
 * The GenesysProtocolError for a response body field that broke a rule, e.g. `response field "state" must
 * be one of ...`. Names the field and the rule, never the value (it may be a secret or a token).
 */
export function responseFieldError(
  response: GenesysHttpResponse,
  field: string,
  rule: string,
  subject = "response",
): GenesysProtocolError {
  return new GenesysProtocolError(`${subject} field "${field}" ${rule}`, responseDetails(response));
}

/** The log-safe details of a response, for building a GenesysError. */
export function responseDetails(response: GenesysHttpResponse, genesysCode?: string) {
  return {
    operation: response.operation,
    status: response.status,
    ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
    ...(genesysCode === undefined ? {} : { genesysCode }),
    ...(response.correlationId === undefined ? {} : { correlationId: response.correlationId }),
  };
}

/**
 * The typed error for a non-2xx response, by status, shared by the token endpoint (after its own
 * OAuth-specific rules) and the Platform API. The error code comes from the body's `code` (API) or
 * `error` (login service); the free-text message is deliberately not used.
 */
export function errorForStatus(response: GenesysHttpResponse): GenesysError {
  const errorBody = tryParseObject(response.body);
  const genesysCode = sanitizeCode(errorBody?.code) ?? sanitizeCode(errorBody?.error);
  const correlationId = response.correlationId ?? sanitizeCode(errorBody?.contextId);
  const details = {
    ...responseDetails(response, genesysCode),
    ...(correlationId === undefined ? {} : { correlationId }),
  };
  const { status } = response;
  if (status === 429) return new GenesysApiRateLimitError("rate limited", details);
  if (status === 401) return new GenesysUnauthorizedError("the access token was rejected", details);
  if (status === 403) {
    return new GenesysPermissionError(
      "forbidden: the OAuth client lacks a permission for this call",
      details,
    );
  }
  if (status === 404) return new GenesysNotFoundError("not found", details);
  // 501 Not Implemented will not change by retrying (the official Go SDK makes the same exception).
  if (status >= 500 && status !== 501) return new GenesysTransientError("server error", details);
  return new GenesysProtocolError(`unexpected HTTP status ${status}`, details);
}

/** Parses a body as a JSON object, or undefined (error bodies are best effort). */
export function tryParseObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
