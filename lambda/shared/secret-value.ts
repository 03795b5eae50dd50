/**
 * The value of a rotated Genesys credential secret (docs/design.md#the-secret-value), validated on every read and write.
 *
 * A zod/mini schema for the shape, whose every rule is worded here: a failure names exactly one field and
 * the rule it broke (lambda/shared/schema-issues.ts), and nothing from the value — not a character of it,
 * not a JSON parser's excerpt of it — can reach an error message: whoever reads rotation logs must not
 * learn a secret from a typo.
 */
import * as z from "zod/mini";
import { ValidationError } from "./errors.ts";
import { ENVIRONMENT_RULE, type EnvironmentOptions, isAllowedEnvironment } from "./genesys/environments.ts";
import { defaultRule, schemaProblems } from "./schema-issues.ts";
import { isSecretArn, SECRET_ARN_RULE } from "./secret-arn.ts";

/** How a credential rotates: two alternating clients (zero downtime) or one client (opt-in). */
export type Strategy = "alternating" | "single";

/** A validated credential secret value. */
export interface CredentialSecret {
  /** Genesys environment domain, e.g. `mypurecloud.ie`: the known list plus deploy-time extras. */
  environment: string;
  /** The client whose secret this is (the active one). */
  clientId: string;
  /** Secret: never log it. */
  clientSecret: string;
  strategy: Strategy;
  /** The twin client: required for alternating, forbidden for single, different from clientId. */
  alternateClientId?: string;
  /** The admin credential's secret ARN: required for single; optional for alternating (absent = self-managed pair). */
  adminSecretArn?: string;
}

/** A secret value that violates the schema. Names the field and the rule, never the value. */
export class SecretValueError extends ValidationError {
  override readonly name = "SecretValueError";

  constructor(field: string, rule: string) {
    super("credential secret value", field, rule);
  }
}

/** The longest secret value accepted, in characters (a valid one is well under 1 kB). */
export const MAX_SECRET_VALUE_LENGTH = 4096;

const STRATEGIES: readonly Strategy[] = ["alternating", "single"];
const KEYS = [
  "environment",
  "clientId",
  "clientSecret",
  "strategy",
  "alternateClientId",
  "adminSecretArn",
] as const;
type Key = (typeof KEYS)[number];

/**
 * A Genesys Cloud id as this project accepts it (real ids are UUIDs): 1–128 of `[A-Za-z0-9-]`. The one
 * rule for client ids in secret values, CLI flags and the emulator's state.
 */
export const GENESYS_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;
/** The rule of {@link GENESYS_ID_PATTERN}, as error messages state it. */
export const GENESYS_ID_RULE = "must be 1-128 characters of [A-Za-z0-9-]";
const SECRET_PATTERN = /^[\x21-\x7e]{1,512}$/;
const SECRET_RULE = "must be 1-512 printable ASCII characters without whitespace";
/** Key names are quoted in errors only when they look like identifiers (a pasted secret could be a key). */
const PRINTABLE_KEY = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** A required, non-empty string field; `checks` add its rule. The value is never quoted. */
function text(...checks: z.core.$ZodCheck<string>[]) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
    .check(z.minLength(1, { error: "must not be empty" }), ...checks);
}

/** The shape of a value; the environment list and the cross-field rules are checked after it. */
const credentialSecretSchema = z.strictObject(
  {
    environment: text(),
    clientId: text(z.regex(GENESYS_ID_PATTERN, { error: GENESYS_ID_RULE })),
    clientSecret: text(z.regex(SECRET_PATTERN, { error: SECRET_RULE })),
    strategy: text(
      z.refine((strategy) => (STRATEGIES as readonly string[]).includes(strategy), {
        error: `must be one of ${STRATEGIES.join(", ")}`,
      }),
    ),
    alternateClientId: z.optional(text(z.regex(GENESYS_ID_PATTERN, { error: GENESYS_ID_RULE }))),
    adminSecretArn: z.optional(text(z.refine(isSecretArn, { error: SECRET_ARN_RULE }))),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `is not allowed (allowed keys: ${KEYS.join(", ")})`
        : "must be a JSON object",
  },
);

/**
 * Parses and validates a secret's `SecretString`.
 *
 * Rules: a JSON object of at most {@link MAX_SECRET_VALUE_LENGTH} characters; no unknown or duplicate keys;
 * `environment` allowed (see resolveEndpoints); ids 1–128 of `[A-Za-z0-9-]`; `clientSecret` 1–512
 * printable ASCII without whitespace; `strategy` alternating|single; alternating needs
 * `alternateClientId` ≠ `clientId`; single needs `adminSecretArn` and forbids `alternateClientId`.
 *
 * @param options.extraEnvironments environments accepted besides the built-in list
 *   (default: `GENESYS_EXTRA_ENVIRONMENTS`). Never taken from the value itself.
 * @throws SecretValueError naming the first offending field.
 */
export function parseCredentialSecret(
  raw: string | undefined,
  options: EnvironmentOptions = {},
): CredentialSecret {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new SecretValueError("(value)", "must be present: the secret version has no SecretString");
  }
  if (raw.length > MAX_SECRET_VALUE_LENGTH) {
    throw new SecretValueError("(value)", `must be at most ${MAX_SECRET_VALUE_LENGTH} characters`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // The SyntaxError is dropped on purpose: its message quotes part of the input.
    throw new SecretValueError("(value)", "must be valid JSON (a JSON object)");
  }
  // JSON.parse keeps the last of two equal keys without a word: a value whose readers could disagree
  // on which clientSecret counts is refused instead.
  const duplicate = firstDuplicateKey(raw);
  if (duplicate !== undefined) {
    throw new SecretValueError(
      PRINTABLE_KEY.test(duplicate) ? duplicate : "(duplicate key)",
      "must appear only once (duplicate keys are not allowed)",
    );
  }
  return validateCredentialSecret(parsed, options);
}

/**
 * The first key that occurs twice in one object of `json` (compared after unescaping, so `"client\u0049d"`
 * equals `"clientId"`), or undefined. `json` must already be valid JSON (JSON.parse accepted it).
 */
function firstDuplicateKey(json: string): string | undefined {
  const objects: (Set<string> | undefined)[] = []; // innermost last; undefined = an array
  for (let i = 0; i < json.length; i++) {
    const char = json[i];
    if (char === "{") objects.push(new Set());
    else if (char === "[") objects.push(undefined);
    else if (char === "}" || char === "]") objects.pop();
    else if (char === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === "\\" ? 2 : 1;
      let next = end + 1;
      while (/\s/.test(json[next] ?? "")) next++;
      const keys = objects.at(-1);
      if (json[next] === ":" && keys !== undefined) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}

/**
 * Validates an already-parsed value with the rules of {@link parseCredentialSecret} and returns a
 * clean copy holding only the known keys.
 * @throws SecretValueError naming the first offending field.
 */
export function validateCredentialSecret(value: unknown, options: EnvironmentOptions = {}): CredentialSecret {
  const result = credentialSecretSchema.safeParse(value, { error: defaultRule });
  const problems = result.success ? [] : schemaProblems(result.error, { root: "(value)" });
  const [first] = problems;
  // The order of the checks: unknown keys, then each field in KEYS order (environment first).
  if (first !== undefined && first.path !== "(value)" && !(KEYS as readonly string[]).includes(first.path)) {
    // A key is quoted only when it looks like an identifier: a pasted secret could be a key.
    throw new SecretValueError(PRINTABLE_KEY.test(first.path) ? first.path : "(unknown key)", first.rule);
  }
  if (first?.path === "(value)" || first?.path === "environment")
    throw new SecretValueError(first.path, first.rule);
  const environment = (value as { environment: string }).environment;
  if (!isAllowedEnvironment(environment, options))
    throw new SecretValueError("environment", ENVIRONMENT_RULE);
  if (first !== undefined || !result.success) {
    throw new SecretValueError(first?.path ?? "(value)", first?.rule ?? "must be a JSON object");
  }
  const { clientId, clientSecret, alternateClientId, adminSecretArn } = result.data;
  const strategy = result.data.strategy as Strategy;

  if (strategy === "alternating") {
    if (alternateClientId === undefined) {
      throw new SecretValueError("alternateClientId", 'is required when strategy is "alternating"');
    }
    // Genesys may resolve ids without regard to case: an upper-cased copy of clientId is the same client.
    if (sameClientId(alternateClientId, clientId))
      throw new SecretValueError("alternateClientId", "must differ from clientId (ignoring case)");
  } else {
    if (alternateClientId !== undefined) {
      throw new SecretValueError("alternateClientId", 'is not allowed when strategy is "single"');
    }
    if (adminSecretArn === undefined) {
      throw new SecretValueError(
        "adminSecretArn",
        'is required when strategy is "single" (a separate admin credential regenerates the secret)',
      );
    }
  }
  return {
    environment,
    clientId,
    clientSecret,
    strategy,
    ...(alternateClientId === undefined ? {} : { alternateClientId }),
    ...(adminSecretArn === undefined ? {} : { adminSecretArn }),
  };
}

/**
 * Serialises a value for PutSecretValue, keys in a fixed order. Validates first, so an invalid value is
 * never written (same rules and options as {@link parseCredentialSecret}).
 * @throws SecretValueError naming the first offending field.
 */
export function serializeCredentialSecret(value: CredentialSecret, options: EnvironmentOptions = {}): string {
  const valid = validateCredentialSecret(value, options);
  const ordered: Partial<Record<Key, string>> = {};
  for (const key of KEYS) if (valid[key] !== undefined) ordered[key] = valid[key];
  return JSON.stringify(ordered);
}

/**
 * The AWSPENDING value of a rotation. Alternating: the twin becomes the active client (ids swapped)
 * with the freshly generated secret; single: the same client with the new secret. Everything else is kept.
 * @throws SecretValueError (field `clientSecret`) when `newSecret` breaks the secret rule.
 */
export function nextCredentialSecret(current: CredentialSecret, newSecret: string): CredentialSecret {
  if (typeof newSecret !== "string" || !SECRET_PATTERN.test(newSecret)) {
    throw new SecretValueError("clientSecret", SECRET_RULE);
  }
  if (current.strategy === "alternating") {
    if (current.alternateClientId === undefined) {
      throw new SecretValueError("alternateClientId", 'is required when strategy is "alternating"');
    }
    return {
      ...current,
      clientId: current.alternateClientId,
      alternateClientId: current.clientId,
      clientSecret: newSecret,
    };
  }
  return { ...current, clientSecret: newSecret };
}

/** True when two Genesys client ids name the same client: ids are compared without regard to case. */
export function sameClientId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}
