/**
 * The vending function's wire contract (docs/vending.md#calling-it): the request payload the client sends and the strict
 * parser for the token it gets back.
 */
import { ValidationError, VendorResponseError } from "./errors.ts";

/** A request to the vending function. Every field is optional; absent fields are not sent. */
export interface VendRequest {
  /** Credential name from the vendor's `CREDENTIALS`; absent = the vendor's default (first) credential. */
  credential?: string;
  /** The token must stay valid for at least this many seconds. */
  minTtlSeconds?: number;
  /** A token a Genesys API answered 401 to: the vendor replaces it unless it already holds a newer one. */
  rejectedToken?: string;
}

/**
 * An access token as vended (docs/vending.md#calling-it). Serialising the object (`JSON.stringify`, `console.log`,
 * `util.inspect`) shows `accessToken` as `[redacted]`, so logging it by accident does not leak the token.
 */
export interface VendedToken {
  /** The bearer token. Send it only in an `Authorization` header; never log it. */
  readonly accessToken: string;
  /** Always `Bearer` for Genesys Cloud client-credentials tokens. */
  readonly tokenType: string;
  /** Absolute expiry, ISO-8601 UTC, as the vendor computed it. */
  readonly expiresAt: string;
  /** Seconds of validity left when this object was handed out (recomputed on every cache hit). */
  readonly expiresInSeconds: number;
  /** The Genesys Cloud environment domain of the credential, e.g. `mypurecloud.ie`. */
  readonly environment: string;
  /** Where the Platform API lives for this token, e.g. `https://api.mypurecloud.ie` (no trailing slash). */
  readonly apiBaseUrl: string;
}

/** Builds the Invoke payload, leaving out absent fields so the vendor sees exactly what the caller asked. */
export function encodeVendRequest(request: VendRequest): string {
  const payload: Record<string, string | number> = {};
  if (request.credential !== undefined) payload.credential = request.credential;
  if (request.minTtlSeconds !== undefined) payload.minTtlSeconds = request.minTtlSeconds;
  if (request.rejectedToken !== undefined) payload.rejectedToken = request.rejectedToken;
  return JSON.stringify(payload);
}

// Header-safe: the token goes verbatim into `Authorization: Bearer <token>`.
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;
const TOKEN_RULE = "must be a non-empty string of printable ASCII without spaces";

/**
 * The `Authorization` header value every adapter of this library sends with `token`. A token that could
 * not be a header value — possible only from a custom `TokenSource`, as the vendor's answer is
 * checked by {@link parseVendedToken} — is refused here: an HTTP client's own error for a bad header
 * value quotes the value, and that value is the token.
 *
 * @throws ValidationError naming the field and the rule, never the token
 */
export function bearerAuthorization(token: VendedToken): string {
  const { accessToken } = token;
  if (typeof accessToken !== "string" || !TOKEN_CHARACTERS.test(accessToken)) {
    throw new ValidationError("token source", "accessToken", TOKEN_RULE);
  }
  return `Bearer ${accessToken}`;
}
const ISO_8601_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Parses the vendor's successful response. Every documented field must be present and well-formed
 * (a malformed token must fail here, not as a confusing 401 later); fields this version does not know
 * are ignored so that a newer vendor can add some without breaking older consumers.
 *
 * @throws VendorResponseError naming the field and the rule it broke (never the token itself)
 */
export function parseVendedToken(raw: string): VendedToken {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new VendorResponseError("(payload)", "must be JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new VendorResponseError("(payload)", "must be a JSON object");
  }
  const record = value as Record<string, unknown>;
  const accessToken = record.accessToken;
  if (typeof accessToken !== "string" || !TOKEN_CHARACTERS.test(accessToken)) {
    throw new VendorResponseError("accessToken", TOKEN_RULE);
  }
  const tokenType = record.tokenType;
  if (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer") {
    throw new VendorResponseError("tokenType", 'must be "Bearer"');
  }
  const expiresAt = record.expiresAt;
  if (typeof expiresAt !== "string" || !ISO_8601_UTC.test(expiresAt) || Number.isNaN(Date.parse(expiresAt))) {
    throw new VendorResponseError("expiresAt", "must be an ISO-8601 UTC timestamp");
  }
  const expiresInSeconds = record.expiresInSeconds;
  if (typeof expiresInSeconds !== "number" || !Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
    throw new VendorResponseError("expiresInSeconds", "must be a positive number");
  }
  const environment = record.environment;
  if (typeof environment !== "string" || environment === "") {
    throw new VendorResponseError("environment", "must be a non-empty string");
  }
  const apiBaseUrl = record.apiBaseUrl;
  if (typeof apiBaseUrl !== "string" || !isHttpUrl(apiBaseUrl)) {
    throw new VendorResponseError("apiBaseUrl", "must be an http(s) URL");
  }
  return new RedactedToken(
    accessToken,
    expiresAt,
    expiresInSeconds,
    environment,
    apiBaseUrl.replace(/\/+$/, ""),
  );
}

/** The same token with its remaining validity recomputed (a cache hit hands out a fresh figure). */
export function withRemainingSeconds(token: VendedToken, expiresInSeconds: number): VendedToken {
  return new RedactedToken(
    token.accessToken,
    token.expiresAt,
    expiresInSeconds,
    token.environment,
    token.apiBaseUrl,
  );
}

/** A class rather than an object literal so the redacting serialisers live on the prototype (cheap per hit). */
class RedactedToken implements VendedToken {
  readonly tokenType = "Bearer";

  constructor(
    readonly accessToken: string,
    readonly expiresAt: string,
    readonly expiresInSeconds: number,
    readonly environment: string,
    readonly apiBaseUrl: string,
  ) {}

  toJSON(): Record<string, unknown> {
    return {
      accessToken: "[redacted]",
      tokenType: this.tokenType,
      expiresAt: this.expiresAt,
      expiresInSeconds: this.expiresInSeconds,
      environment: this.environment,
      apiBaseUrl: this.apiBaseUrl,
    };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return this.toJSON();
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}
