/**
 * The rotation function's configuration, read once from the environment (docs/ARCHITECTURE.md,
 * "Lambda functions: entry points and environment"). Invalid values fail the first invocation with a
 * ConfigurationError naming the variable, before any secret is read.
 */
import { parseJsonObjectVariable } from "../shared/env-json.ts";
import { ConfigurationError } from "../shared/errors.ts";
import { parseExtraEnvironments } from "../shared/genesys/environments.ts";
import { DEFAULT_MIN_ROTATION_GAP_SECONDS, MAX_MIN_ROTATION_GAP_SECONDS } from "../shared/rotation-gap.ts";
import { isSecretArn } from "../shared/secret-arn.ts";
import { CACHE_WARMING_ALIAS, splitFunctionReference } from "../shared/vendor-alias.ts";

/** Validated configuration of the rotation function. */
export interface RotationConfig {
  /** `SECRETS_MANAGER_ENDPOINT`: endpoint override (VPC endpoint, local emulator). @default the SDK's */
  secretsManagerEndpoint: string | undefined;
  /** `GENESYS_ENDPOINT_OVERRIDE`: one base URL for login and API (local mode only). @default none */
  genesysEndpointOverride: string | undefined;
  /** `GENESYS_EXTRA_ENVIRONMENTS`: environment domains accepted besides the built-in list. @default none */
  extraEnvironments: string[];
  /** `PROPAGATION_TIMEOUT_SECONDS`: how long testSecret waits for a new secret to be accepted. @default 60 */
  propagationTimeoutSeconds: number;
  /**
   * `TOKEN_VENDOR_FUNCTION_NAME`: the vending function to warm after finishSecret, invoked through its
   * `cache-warming` alias (a qualifier, when present, must be that alias). @default none (no warming)
   */
  tokenVendorFunctionName: string | undefined;
  /** `LAMBDA_ENDPOINT`: endpoint override for the Lambda client (local emulator). @default the SDK's */
  lambdaEndpoint: string | undefined;
  /** `INTEGRATION_CREDENTIALS`: secret name or ARN → Genesys integration credential ids to update. @default {} */
  integrationCredentials: Record<string, string[]>;
  /**
   * `ADMIN_SECRET_ARNS`: secret name or ARN → the only admin secret ARN its value may name (`""`: a
   * self-managed pair, no `adminSecretArn` allowed). When set, every rotated secret must be listed.
   * @default undefined (not pinned: the value's `adminSecretArn` is trusted, within the role's permissions)
   */
  adminSecretArns: Readonly<Record<string, string>> | undefined;
  /**
   * `MIN_ROTATION_GAP_SECONDS`: createSecret refuses to regenerate a client that AWSPREVIOUS names until
   * AWSPREVIOUS was replaced at least this long ago (docs/rotation.md, "Minimum gap between rotations").
   * @default {@link DEFAULT_MIN_ROTATION_GAP_SECONDS}
   */
  minRotationGapSeconds: number;
}

/** Longest propagation wait accepted: the steps must fit in a Lambda's 15-minute maximum with room to spare. */
export const MAX_PROPAGATION_TIMEOUT_SECONDS = 600;
export const DEFAULT_PROPAGATION_TIMEOUT_SECONDS = 60;

/** Reads and validates the configuration. @throws ConfigurationError naming the variable and the rule. */
export function readRotationConfig(env: Readonly<Record<string, string | undefined>>): RotationConfig {
  const prefix = secretNamePrefix(env);
  return {
    secretsManagerEndpoint: optionalUrl(env, "SECRETS_MANAGER_ENDPOINT"),
    // resolveEndpoints validates the override's shape (https, or http to loopback) on first use.
    genesysEndpointOverride: optionalString(env, "GENESYS_ENDPOINT_OVERRIDE"),
    extraEnvironments: parseExtraEnvironments(env.GENESYS_EXTRA_ENVIRONMENTS),
    propagationTimeoutSeconds: propagationTimeout(env),
    tokenVendorFunctionName: tokenVendorFunctionName(env),
    lambdaEndpoint: optionalUrl(env, "LAMBDA_ENDPOINT"),
    integrationCredentials: integrationCredentials(env, prefix),
    adminSecretArns: adminSecretArns(env, prefix),
    minRotationGapSeconds: minRotationGap(env),
  };
}

function optionalString(env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function optionalUrl(env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  const value = optionalString(env, key);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(key, "must be an absolute http(s) URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigurationError(key, "must use http(s)");
  return value;
}

function tokenVendorFunctionName(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const value = optionalString(env, "TOKEN_VENDOR_FUNCTION_NAME");
  if (value === undefined) return undefined;
  const { qualifier } = splitFunctionReference(value);
  if (qualifier !== undefined && qualifier !== CACHE_WARMING_ALIAS) {
    throw new ConfigurationError(
      "TOKEN_VENDOR_FUNCTION_NAME",
      `must name the vending function unqualified or with its "${CACHE_WARMING_ALIAS}" alias (the only alias that accepts a warm request), not ":${qualifier}"`,
    );
  }
  return value;
}

function propagationTimeout(env: Readonly<Record<string, string | undefined>>): number {
  const raw = optionalString(env, "PROPAGATION_TIMEOUT_SECONDS");
  if (raw === undefined) return DEFAULT_PROPAGATION_TIMEOUT_SECONDS;
  const seconds = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(seconds > 0) || seconds > MAX_PROPAGATION_TIMEOUT_SECONDS) {
    throw new ConfigurationError(
      "PROPAGATION_TIMEOUT_SECONDS",
      `must be a number of seconds greater than 0 and at most ${MAX_PROPAGATION_TIMEOUT_SECONDS}`,
    );
  }
  return seconds;
}

function minRotationGap(env: Readonly<Record<string, string | undefined>>): number {
  const raw = optionalString(env, "MIN_ROTATION_GAP_SECONDS");
  if (raw === undefined) return DEFAULT_MIN_ROTATION_GAP_SECONDS;
  const seconds = Number(raw);
  if (!/^\d+$/.test(raw) || seconds > MAX_MIN_ROTATION_GAP_SECONDS) {
    throw new ConfigurationError(
      "MIN_ROTATION_GAP_SECONDS",
      `must be a whole number of seconds from 0 to ${MAX_MIN_ROTATION_GAP_SECONDS}`,
    );
  }
  return seconds;
}

/** A Secrets Manager secret name (or the part of one); Secrets Manager allows these characters. */
const SECRET_NAME_PART = /^[A-Za-z0-9/_+=.@-]{0,256}$/;

/**
 * `SECRET_NAME_PREFIX`: what a secret name `./<rest>` in INTEGRATION_CREDENTIALS and ADMIN_SECRET_ARNS
 * stands for, `<prefix><rest>` (the CDK sets it to the common prefix of the secrets it creates, so that 100
 * credentials fit Lambda's 4 KB environment). @default ""
 */
function secretNamePrefix(env: Readonly<Record<string, string | undefined>>): string {
  const prefix = optionalString(env, "SECRET_NAME_PREFIX") ?? "";
  if (!SECRET_NAME_PART.test(prefix)) {
    throw new ConfigurationError(
      "SECRET_NAME_PREFIX",
      "must be at most 256 characters of letters, digits and /_+=.@-",
    );
  }
  return prefix;
}

/** Marks a secret name given relative to SECRET_NAME_PREFIX, e.g. `./reporting`. */
export const RELATIVE_SECRET_NAME = "./";

/** A secret key of a mapping: `./<rest>` is `<SECRET_NAME_PREFIX><rest>`; an ARN or other name as it is. */
function secretKey(secret: string, prefix: string): string {
  return secret.startsWith(RELATIVE_SECRET_NAME)
    ? `${prefix}${secret.slice(RELATIVE_SECRET_NAME.length)}`
    : secret;
}

const INTEGRATION_CREDENTIALS_RULE =
  'must be a JSON object mapping a secret name or ARN to an array of integration credential ids, e.g. {"my-secret":["id-1"]}';

function integrationCredentials(
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
): Record<string, string[]> {
  const raw = optionalString(env, "INTEGRATION_CREDENTIALS");
  if (raw === undefined) return {};
  const parsed = parseJsonObjectVariable("INTEGRATION_CREDENTIALS", raw, INTEGRATION_CREDENTIALS_RULE);
  const mapping: Record<string, string[]> = {};
  for (const [secret, ids] of Object.entries(parsed)) {
    if (
      secret === "" ||
      !Array.isArray(ids) ||
      !ids.every((id) => typeof id === "string" && /^[A-Za-z0-9._-]{1,128}$/.test(id))
    ) {
      throw new ConfigurationError("INTEGRATION_CREDENTIALS", INTEGRATION_CREDENTIALS_RULE);
    }
    mapping[secretKey(secret, prefix)] = ids as string[];
  }
  return mapping;
}

const ADMIN_SECRET_ARNS_RULE =
  'must be a JSON object mapping a secret name or ARN to its admin secret ARN, or to "" for a self-managed pair, e.g. {"team/app":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys/admin-AbCdEf","genesys/admin":""}; ' +
  'or, grouped, an admin secret ARN (or "") to the array of the secrets it manages, e.g. {"arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys/admin-AbCdEf":["team/app"],"":["genesys/admin"]}; ' +
  "every secret at most once; a name ./<rest> stands for <SECRET_NAME_PREFIX><rest>";

/**
 * Both shapes give the same pins; the grouped one names each admin ARN once, so that the pins of 100
 * credentials fit Lambda's 4 KB environment (the CDK writes it).
 */
function adminSecretArns(
  env: Readonly<Record<string, string | undefined>>,
  prefix: string,
): Readonly<Record<string, string>> | undefined {
  const raw = optionalString(env, "ADMIN_SECRET_ARNS");
  if (raw === undefined) return undefined;
  const parsed = parseJsonObjectVariable("ADMIN_SECRET_ARNS", raw, ADMIN_SECRET_ARNS_RULE);
  const pins: Record<string, string> = {};
  const pin = (secret: unknown, admin: string): void => {
    if (typeof secret !== "string" || secret === "" || (admin !== "" && !isSecretArn(admin))) {
      throw new ConfigurationError("ADMIN_SECRET_ARNS", ADMIN_SECRET_ARNS_RULE);
    }
    const key = secretKey(secret, prefix);
    if (Object.hasOwn(pins, key)) {
      throw new ConfigurationError(
        "ADMIN_SECRET_ARNS",
        `pins ${key} twice; every secret has exactly one admin`,
      );
    }
    pins[key] = admin;
  };
  for (const [key, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) {
      for (const secret of value) pin(secret, key);
    } else if (typeof value === "string") {
      pin(key, value);
    } else {
      throw new ConfigurationError("ADMIN_SECRET_ARNS", ADMIN_SECRET_ARNS_RULE);
    }
  }
  return pins;
}
