/**
 * The OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against Genesys Cloud's login service, split
 * as in oauth4webapi: a pure function builds the request, another processes the response, and
 * {@link requestClientCredentialsToken} joins them through the shared transport in http.ts.
 */
import * as z from "zod/mini";
import { ValidationError } from "../errors.ts";
import { defaultRule, schemaProblems } from "../schema-issues.ts";
import type { GenesysEndpoints } from "./environments.ts";
import {
  GenesysInvalidClientError,
  GenesysPermissionError,
  type GenesysProtocolError,
  GenesysTokenRateLimitError,
  sanitizeCode,
} from "./errors.ts";
import {
  type GenesysCallOptions,
  type GenesysHttpRequest,
  type GenesysHttpResponse,
  sendGenesysRequest,
} from "./http.ts";
import {
  errorForStatus,
  parseJsonBody,
  responseDetails,
  responseFieldError,
  tryParseObject,
} from "./responses.ts";

/** An access token and when it expires. */
export interface AccessToken {
  /** The bearer token. Secret: never log it. */
  accessToken: string;
  /** Always `Bearer` (the only type this client accepts), normalised from Genesys' `bearer`. */
  tokenType: string;
  /** Absolute expiry, epoch ms on the caller's clock, computed when the response arrived. */
  expiresAt: number;
  /** `expires_in` as Genesys sent it. */
  expiresInSeconds: number;
}

/** What a token request needs. */
export interface ClientCredentialsRequest {
  endpoints: GenesysEndpoints;
  clientId: string;
  /** Secret: never log it. */
  clientSecret: string;
}

const TOKEN_PATH = "/oauth/token";
const OPERATION = `POST ${TOKEN_PATH}`;
/** Genesys' token-endpoint throttling signal (docs/genesys-facts.md#rate-limits): HTTP 400 invalid_request "rate limit exceeded; ...". */
const RATE_LIMIT_DESCRIPTION = /^rate limit exceeded/i;

/**
 * Builds the token request exactly as the official Genesys SDKs do: `Authorization: Basic
 * base64(clientId:clientSecret)` with NO form-URL-encoding of id or secret, and the form body
 * `grant_type=client_credentials` (no scope).
 *
 * @throws ValidationError when the id or the secret is empty, or the id contains ":" (RFC 7617 forbids
 *   it in a Basic user-id; Genesys ids are UUIDs).
 */
export function buildClientCredentialsTokenRequest(request: ClientCredentialsRequest): GenesysHttpRequest {
  if (typeof request.clientId !== "string" || request.clientId === "" || request.clientId.includes(":")) {
    throw new ValidationError("token request", "clientId", 'must be a non-empty string without ":"');
  }
  if (typeof request.clientSecret !== "string" || request.clientSecret === "") {
    throw new ValidationError("token request", "clientSecret", "must be a non-empty string");
  }
  const basic = Buffer.from(`${request.clientId}:${request.clientSecret}`, "utf8").toString("base64");
  return {
    operation: OPERATION,
    method: "POST",
    url: `${request.endpoints.loginBaseUrl}${TOKEN_PATH}`,
    headers: {
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
    // Minting twice is harmless: each success is an independent token.
    idempotent: true,
  };
}

/**
 * Interprets a token-endpoint response. Success (200) is validated strictly; failures map to:
 * - 400 `invalid_client` or any 401 → GenesysInvalidClientError (wrong secret, unknown or inactive client);
 * - 400 `invalid_request` "rate limit exceeded…", or 429 → GenesysTokenRateLimitError (Retry-After kept);
 * - 403 → GenesysPermissionError (e.g. the caller's IP is not on the client's allow-list);
 * - 5xx → GenesysTransientError; anything else → GenesysProtocolError.
 *
 * @param receivedAt clock time of receipt; `expiresAt = receivedAt + expires_in`.
 */
export function processClientCredentialsTokenResponse(
  response: GenesysHttpResponse,
  receivedAt: number = response.receivedAt,
): AccessToken {
  if (response.status !== 200) throw tokenEndpointError(response);
  const result = tokenResponseSchema.safeParse(parseJsonBody(response), { error: defaultRule });
  if (!result.success) {
    const problem = schemaProblems(result.error, { root: "(body)" })[0] ?? {
      path: "(body)",
      rule: "is invalid",
    };
    throw protocolError(response, problem.path, problem.rule);
  }
  const { access_token: accessToken, expires_in: expiresIn } = result.data;
  return {
    accessToken,
    tokenType: "Bearer",
    expiresAt: receivedAt + expiresIn * 1000,
    expiresInSeconds: expiresIn,
  };
}

const ACCESS_TOKEN_RULE = "must be a non-empty string of printable ASCII characters";
const EXPIRES_IN_RULE = "must be a positive integer number of seconds";
/** The token endpoint's answer (RFC 6749 §5.1); other members (scope, …) are ignored. */
const tokenResponseSchema = z.looseObject(
  {
    access_token: z
      .string({ error: ACCESS_TOKEN_RULE })
      .check(z.regex(/^[\x21-\x7e]+$/, { error: ACCESS_TOKEN_RULE })),
    token_type: z
      .string({ error: 'must be "bearer"' })
      .check(z.refine((type) => type.toLowerCase() === "bearer", { error: 'must be "bearer"' })),
    expires_in: z.int({ error: EXPIRES_IN_RULE }).check(z.positive({ error: EXPIRES_IN_RULE })),
  },
  { error: "must be a JSON object" },
);

/**
 * Requests an access token with the client-credentials grant (RFC 6749 §4.4). Retries throttling and
 * transient failures within `options.maxAttempts` / `options.deadline`; never retries invalid_client.
 */
export function requestClientCredentialsToken(
  request: ClientCredentialsRequest,
  options: GenesysCallOptions = {},
): Promise<AccessToken> {
  return sendGenesysRequest(
    buildClientCredentialsTokenRequest(request),
    (response) => processClientCredentialsTokenResponse(response),
    options,
  );
}

function tokenEndpointError(response: GenesysHttpResponse): Error {
  const body = tryParseObject(response.body);
  const error = sanitizeCode(body?.error);
  const description = [body?.description, body?.error_description].find((text) => typeof text === "string");
  const details = responseDetails(response, error);
  if (response.status === 401 || (response.status === 400 && error === "invalid_client")) {
    // Genesys answers invalid_client "authentication failed" or "client not found" (observed as 400; RFC 6749
    // allows 401): either way these credentials do not work. The description text is deliberately ignored.
    return new GenesysInvalidClientError("the client id or secret was rejected", details);
  }
  if (
    response.status === 429 ||
    (response.status === 400 &&
      error === "invalid_request" &&
      RATE_LIMIT_DESCRIPTION.test(String(description)))
  ) {
    return new GenesysTokenRateLimitError("token requests for this client are rate limited", details);
  }
  if (response.status === 403) {
    return new GenesysPermissionError(
      "the token request was forbidden (is the caller's IP address allowed for this OAuth client?)",
      details,
    );
  }
  return errorForStatus(response);
}

function protocolError(response: GenesysHttpResponse, field: string, rule: string): GenesysProtocolError {
  return responseFieldError(response, field, rule, "token response");
}
