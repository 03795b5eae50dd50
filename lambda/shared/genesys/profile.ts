/**
 * The Genesys behaviour profile: what `genesys-rotator probe` measured in one organisation (the behaviours
 * docs/genesys-facts.md lists as unconfirmed), in one JSON format that the probe writes and the Genesys
 * emulator, the drill and the CDK configuration read (docs/cli.md "probe" explains each field).
 *
 * Nothing in a profile is secret: it holds statuses, durations, booleans, the environment and the
 * organisation's id and name — never a client secret, an access token or a client id of the org.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { ValidationError } from "../errors.ts";

/** The `format` of every profile this version reads and writes. */
export const GENESYS_PROFILE_FORMAT = "genesys-oauth-rotator/genesys-profile@1";

/** Propagation of a regenerated secret: ms from the regeneration's answer until it was accepted for good. */
export interface PropagationDelay {
  min: number;
  median: number;
  max: number;
  /** One per regeneration, in order. */
  samples: number[];
}

/** A profile as `probe` writes it. */
export interface GenesysProfile {
  format: typeof GENESYS_PROFILE_FORMAT;
  /** ISO-8601 time of the measurement (end of the run). */
  measuredAt: string;
  /** The Genesys domain, e.g. `mypurecloud.ie` (or the endpoint override's URL for a local run). */
  environment: string;
  organization?: { id: string; name: string };
  /** HTTP status of the token endpoint's answer to a wrong secret (400 observed by third parties, 401 allowed). */
  invalidClientStatus: number;
  /** `error` field and sorted key names of that answer's JSON body (values other than `error` are not kept). */
  invalidClientBody: { error: string | null; keys: string[] };
  propagationDelayMs: PropagationDelay;
  /** Consecutive accepted token requests that counted as "accepted" in `propagationDelayMs`. */
  acceptedStreak: number;
  /** Whether a token minted before a regeneration still worked on `GET /api/v2/tokens/me` after it. */
  tokensSurviveRegeneration: boolean;
  /** How long after the regeneration that token was last checked, in ms. */
  tokenSurvivalCheckedForMs: number;
  /** Whether the client's `dateModified` changed when its secret was regenerated. */
  dateModifiedMovesOnRegeneration: boolean;
  /** Median of (Genesys `Date` header − local clock) in ms; the header has a 1 s resolution. null: no header seen. */
  clockSkewMs: number | null;
  /** False when `GET /api/v2/oauth/clients/{id}` with the id upper-cased found the client. */
  clientIdsCaseSensitive: boolean;
  /** `expires_in` of a token of a client created without `accessTokenValiditySeconds` (the org's default). */
  tokenLifetimeSeconds: number;
  /** Retry-After seconds of a token-endpoint rate-limit answer, if one was seen (never provoked); else null. */
  tokenRateLimitRetryAfter: number | null;
  /** Whether a token-endpoint rate-limit answer was seen at all. */
  tokenRateLimitSeen: boolean;
  /** HTTP requests the probe sent, in total. */
  requests: number;
}

/** A profile (file) that does not have the documented shape. Names the field and the rule. */
export class GenesysProfileError extends ValidationError {
  override readonly name = "GenesysProfileError";

  constructor(field: string, rule: string) {
    super("Genesys profile", field, rule);
  }
}

const KEYS = [
  "format",
  "measuredAt",
  "environment",
  "organization",
  "invalidClientStatus",
  "invalidClientBody",
  "propagationDelayMs",
  "acceptedStreak",
  "tokensSurviveRegeneration",
  "tokenSurvivalCheckedForMs",
  "dateModifiedMovesOnRegeneration",
  "clockSkewMs",
  "clientIdsCaseSensitive",
  "tokenLifetimeSeconds",
  "tokenRateLimitRetryAfter",
  "tokenRateLimitSeen",
  "requests",
] as const;
const OPTIONAL_KEYS = new Set<string>(["organization"]);
/** Longest propagation delay a profile may state: 10 minutes (the rotation function's limit). */
const MAX_DELAY_MS = 600_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new GenesysProfileError(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") throw new GenesysProfileError(field, "must be true or false");
  return value;
}

function text(value: unknown, field: string, pattern: RegExp, rule: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new GenesysProfileError(field, rule);
  return value;
}

/**
 * Validates a parsed profile. Unknown keys are refused (a typo must not silently fall back to a
 * default); `organization` may be absent.
 * @throws GenesysProfileError naming the first offending field and its rule (never its value).
 */
export function parseGenesysProfile(raw: unknown): GenesysProfile {
  if (!isObject(raw)) throw new GenesysProfileError("(profile)", "must be a JSON object");
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new GenesysProfileError(key.replace(/[^\w.-]/g, "?").slice(0, 60), "is not a profile field");
    }
  }
  for (const key of KEYS) {
    if (!OPTIONAL_KEYS.has(key) && !(key in raw)) throw new GenesysProfileError(key, "is required");
  }
  if (raw.format !== GENESYS_PROFILE_FORMAT) {
    throw new GenesysProfileError(
      "format",
      `must be "${GENESYS_PROFILE_FORMAT}" (a profile written by probe)`,
    );
  }
  const measuredAt = text(
    raw.measuredAt,
    "measuredAt",
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/,
    "must be an ISO-8601 UTC time",
  );
  const environment = text(raw.environment, "environment", /^[\x21-\x7e]{1,253}$/, "must be a domain or URL");
  let organization: GenesysProfile["organization"];
  if (raw.organization !== undefined) {
    if (!isObject(raw.organization)) throw new GenesysProfileError("organization", "must be {id, name}");
    organization = {
      id: text(raw.organization.id, "organization.id", /^[\w-]{1,128}$/, "must be an id"),
      name: text(raw.organization.name, "organization.name", /^[^\n\r]{0,256}$/, "must be one line"),
    };
  }
  const body = raw.invalidClientBody;
  if (!isObject(body)) throw new GenesysProfileError("invalidClientBody", "must be {error, keys}");
  const error =
    body.error === null
      ? null
      : text(body.error, "invalidClientBody.error", /^[\w.-]{1,64}$/, "must be an error code or null");
  if (
    !Array.isArray(body.keys) ||
    body.keys.some((key) => typeof key !== "string" || !/^[\w.-]{1,64}$/.test(key))
  ) {
    throw new GenesysProfileError("invalidClientBody.keys", "must be a list of field names");
  }
  const delay = raw.propagationDelayMs;
  if (!isObject(delay))
    throw new GenesysProfileError("propagationDelayMs", "must be {min, median, max, samples}");
  if (!Array.isArray(delay.samples) || delay.samples.length === 0) {
    throw new GenesysProfileError("propagationDelayMs.samples", "must be a non-empty list of milliseconds");
  }
  const samples = delay.samples.map((sample, index) =>
    integer(sample, `propagationDelayMs.samples[${index}]`, 0, MAX_DELAY_MS),
  );
  const propagationDelayMs: PropagationDelay = {
    min: integer(delay.min, "propagationDelayMs.min", 0, MAX_DELAY_MS),
    median: integer(delay.median, "propagationDelayMs.median", 0, MAX_DELAY_MS),
    max: integer(delay.max, "propagationDelayMs.max", 0, MAX_DELAY_MS),
    samples,
  };
  if (
    propagationDelayMs.min > propagationDelayMs.median ||
    propagationDelayMs.median > propagationDelayMs.max
  ) {
    throw new GenesysProfileError("propagationDelayMs", "must have min ≤ median ≤ max");
  }
  const retryAfter = raw.tokenRateLimitRetryAfter;
  return {
    format: GENESYS_PROFILE_FORMAT,
    measuredAt,
    environment,
    ...(organization === undefined ? {} : { organization }),
    invalidClientStatus: integer(raw.invalidClientStatus, "invalidClientStatus", 400, 499),
    invalidClientBody: { error, keys: [...(body.keys as string[])] },
    propagationDelayMs,
    acceptedStreak: integer(raw.acceptedStreak, "acceptedStreak", 1, 100),
    tokensSurviveRegeneration: boolean(raw.tokensSurviveRegeneration, "tokensSurviveRegeneration"),
    tokenSurvivalCheckedForMs: integer(
      raw.tokenSurvivalCheckedForMs,
      "tokenSurvivalCheckedForMs",
      0,
      86_400_000,
    ),
    dateModifiedMovesOnRegeneration: boolean(
      raw.dateModifiedMovesOnRegeneration,
      "dateModifiedMovesOnRegeneration",
    ),
    clockSkewMs:
      raw.clockSkewMs === null ? null : integer(raw.clockSkewMs, "clockSkewMs", -86_400_000, 86_400_000),
    clientIdsCaseSensitive: boolean(raw.clientIdsCaseSensitive, "clientIdsCaseSensitive"),
    tokenLifetimeSeconds: integer(raw.tokenLifetimeSeconds, "tokenLifetimeSeconds", 1, 172_800),
    tokenRateLimitRetryAfter:
      retryAfter === null ? null : integer(retryAfter, "tokenRateLimitRetryAfter", 0, 86_400),
    tokenRateLimitSeen: boolean(raw.tokenRateLimitSeen, "tokenRateLimitSeen"),
    requests: integer(raw.requests, "requests", 0, 1_000_000),
  };
}

/** The profile as the file holds it: pretty JSON, keys in the documented order, a final newline. */
export function serializeGenesysProfile(profile: GenesysProfile): string {
  const valid = parseGenesysProfile(profile);
  return `${JSON.stringify(valid, [...KEYS, "id", "name", "error", "keys", "min", "median", "max", "samples"], 2)}\n`;
}

/**
 * Reads and validates a profile file.
 * @throws GenesysProfileError when the file cannot be read, is not JSON or not a profile (the path is named).
 */
export function readGenesysProfileFile(path: string): GenesysProfile {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch {
    throw new GenesysProfileError("(file)", `${path} cannot be read`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch {
    throw new GenesysProfileError("(file)", `${path} is not valid JSON`);
  }
  return parseGenesysProfile(raw);
}

/** Writes a profile file (validated first, so that no other field can ever reach the file). */
export function writeGenesysProfileFile(path: string, profile: GenesysProfile): void {
  writeFileSync(path, serializeGenesysProfile(profile), { mode: 0o644 });
}

/** The timeout floor a profile never lowers: the rotation function's default PROPAGATION_TIMEOUT_SECONDS. */
export const DEFAULT_PROPAGATION_TIMEOUT_SECONDS = 60;

/**
 * PROPAGATION_TIMEOUT_SECONDS sized from a profile: twice the slowest measured propagation plus 10 s (a
 * few samples do not show the tail), never below `floorSeconds` — a profile may only raise the timeout.
 */
export function propagationTimeoutSecondsFor(
  profile: Pick<GenesysProfile, "propagationDelayMs">,
  floorSeconds: number = DEFAULT_PROPAGATION_TIMEOUT_SECONDS,
): number {
  return Math.max(floorSeconds, Math.ceil((2 * profile.propagationDelayMs.max + 10_000) / 1000));
}

/** The median of non-empty `values` (the lower middle for an even count: a measured value, not an average). */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}
