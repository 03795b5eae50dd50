/**
 * Validation of the vending function's payload (docs/vending.md#calling-it, docs/ARCHITECTURE.md). Hand-written
 * rather than a schema library: four fields do not justify the cold-start cost, and each rule gets a
 * message that names the field.
 */
import { ValidationError } from "../shared/errors.ts";
import { CACHE_WARMING_ALIAS } from "../shared/vendor-alias.ts";
import { type CredentialConfig, secretIdMatchesArn } from "./config.ts";
import { CredentialNotGrantedError, UnknownCredentialError } from "./errors.ts";
import type { InvocationGrant } from "./invocation.ts";

/** A request for a token. */
export interface TokenRequestPayload {
  kind: "token";
  /** The credential the invoked alias grants (the payload's `credential`, when present, must name it). */
  credential: CredentialConfig;
  /** The token must stay valid at least this long (capped, see token-cache.ts `satisfies`). @default 0 */
  minTtlSeconds: number;
  /** A token a consumer got 401 with. Secret: never log it. */
  rejectedToken?: string;
}

/** A cache-warming request from the rotation function after finishSecret. */
export interface WarmPayload {
  kind: "warm";
  credential: CredentialConfig;
}

export type VendingPayload = TokenRequestPayload | WarmPayload;

const SUBJECT = "vending payload";
const TOKEN_FIELDS = new Set(["credential", "minTtlSeconds", "rejectedToken"]);
export const MAX_MIN_TTL_SECONDS = 3600;
/**
 * RFC 6750 §2.1 `b64token` (what a Bearer token may look like), 16–4096 characters: anything else
 * cannot be a token we handed out, and is refused before it is hashed or compared.
 */
export const PLAUSIBLE_TOKEN = /^[A-Za-z0-9\-._~+/]{16,4096}=*$/;

/**
 * Validates `event` against what the invocation is allowed to ask for (invocation.ts).
 * @param credentials the configured credentials, first = default.
 * @param grant what the invoked alias grants: a token payload needs a credential alias (its `credential`
 *   field, when present, must name that credential), a warm payload the cache-warming alias.
 * @throws ValidationError naming the field and rule; CredentialNotGrantedError when the payload asks for
 *   what the alias does not grant; UnknownCredentialError for a warm request with an unconfigured ARN.
 */
export function parseVendingPayload(
  event: unknown,
  credentials: readonly CredentialConfig[],
  grant: InvocationGrant,
): VendingPayload {
  // Invoking with no payload at all is a request for the credential the alias grants.
  const body = event === undefined || event === null ? {} : event;
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError(SUBJECT, "(payload)", "must be a JSON object");
  }
  const fields = body as Record<string, unknown>;
  if ("warm" in fields) {
    if (grant.kind !== "cache-warming") {
      throw new CredentialNotGrantedError(
        "warm",
        `is accepted only on the "${CACHE_WARMING_ALIAS}" alias (the rotation function's); the invoked ${grant.invoked} grants only credential "${grant.credential.name}"`,
      );
    }
    return parseWarm(fields, credentials);
  }
  if (grant.kind === "cache-warming") {
    throw new CredentialNotGrantedError(
      "warm",
      `is required: the "${CACHE_WARMING_ALIAS}" alias accepts only {"warm": {"secretArn": ...}} payloads; invoke <function>:<credential> for a token`,
    );
  }

  for (const key of Object.keys(fields)) {
    if (!TOKEN_FIELDS.has(key)) {
      throw new ValidationError(
        SUBJECT,
        key,
        "is not allowed; allowed fields: credential, minTtlSeconds, rejectedToken (or warm alone)",
      );
    }
  }
  const credential = grant.credential;
  if (fields.credential !== undefined) {
    if (typeof fields.credential !== "string" || fields.credential === "") {
      throw new ValidationError(SUBJECT, "credential", "must be a non-empty string");
    }
    const requested = fields.credential;
    if (requested !== credential.name) {
      // Echo the name only when it looks like a name: a caller could paste something secret here.
      const shown = /^[A-Za-z0-9._-]{1,64}$/.test(requested)
        ? `names "${requested}"`
        : `names another credential (${requested.length} characters, not a valid name)`;
      throw new CredentialNotGrantedError(
        "credential",
        `${shown}, but the invoked ${grant.invoked} grants only credential "${credential.name}"; invoke <function>:<credential> (the alias you are granted) for another credential`,
      );
    }
  }

  let minTtlSeconds = 0;
  if (fields.minTtlSeconds !== undefined) {
    const value = fields.minTtlSeconds;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_MIN_TTL_SECONDS) {
      throw new ValidationError(
        SUBJECT,
        "minTtlSeconds",
        `must be a whole number from 0 to ${MAX_MIN_TTL_SECONDS}`,
      );
    }
    minTtlSeconds = value;
  }

  const payload: TokenRequestPayload = { kind: "token", credential, minTtlSeconds };
  if (fields.rejectedToken !== undefined) {
    if (typeof fields.rejectedToken !== "string" || !PLAUSIBLE_TOKEN.test(fields.rejectedToken)) {
      throw new ValidationError(
        SUBJECT,
        "rejectedToken",
        "must be the bearer token string that was rejected (16-4096 characters of A-Z a-z 0-9 - . _ ~ + / and trailing =)",
      );
    }
    payload.rejectedToken = fields.rejectedToken;
  }
  return payload;
}

function parseWarm(fields: Record<string, unknown>, credentials: readonly CredentialConfig[]): WarmPayload {
  for (const key of Object.keys(fields)) {
    if (key !== "warm") throw new ValidationError(SUBJECT, key, 'is not allowed together with "warm"');
  }
  const warm = fields.warm;
  if (typeof warm !== "object" || warm === null || Array.isArray(warm)) {
    throw new ValidationError(SUBJECT, "warm", "must be an object {secretArn}");
  }
  const warmFields = warm as Record<string, unknown>;
  for (const key of Object.keys(warmFields)) {
    if (key !== "secretArn")
      throw new ValidationError(SUBJECT, `warm.${key}`, "is not allowed; allowed: secretArn");
  }
  if (typeof warmFields.secretArn !== "string" || warmFields.secretArn === "") {
    throw new ValidationError(
      SUBJECT,
      "warm.secretArn",
      "must be a non-empty string (the rotated secret's ARN)",
    );
  }
  const secretArn = warmFields.secretArn;
  const credential = credentials.find((candidate) => secretIdMatchesArn(candidate.secretArn, secretArn));
  if (credential === undefined) {
    // An ARN is not secret: naming it helps the operator find the misconfiguration.
    throw new UnknownCredentialError(
      `no credential uses secret ${secretArn.slice(0, 300)}`,
      credentials.map((candidate) => candidate.name),
    );
  }
  return { kind: "warm", credential };
}
