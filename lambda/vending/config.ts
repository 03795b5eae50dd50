/**
 * The vending function's configuration, read once per container from its environment
 * (docs/ARCHITECTURE.md, "Lambda functions: entry points and environment").
 */
import type { AwsCallLimits } from "../shared/aws-client-config.ts";
import { parseJsonObjectVariable } from "../shared/env-json.ts";
import { ConfigurationError } from "../shared/errors.ts";
import {
  allowedEnvironments,
  ENDPOINT_OVERRIDE_VARIABLE,
  EXTRA_ENVIRONMENTS_VARIABLE,
  parseExtraEnvironments,
  type ResolveEndpointsOptions,
} from "../shared/genesys/environments.ts";
import {
  isCompleteSecretArn,
  isSecretArn,
  isSecretName,
  SECRET_ARN_RULE,
  secretNameFromArn,
} from "../shared/secret-arn.ts";
import { credentialNameProblem, isCredentialNameShape } from "../shared/vendor-alias.ts";

/** One credential the function vends tokens for. */
export interface CredentialConfig {
  /** The alias callers invoke (`<function>:<name>`), the optional payload `credential`, and the L2 item's `pk`. */
  name: string;
  /**
   * The rotated secret holding the credential (docs/design.md#the-secret-value), as the `SecretId` of
   * Secrets Manager calls: its ARN, or its full name (`SECRET_NAME_PREFIX` applied) for a secret the
   * stack created. {@link secretIdMatchesArn} compares it with a secret's ARN.
   */
  secretArn: string;
}

/** Everything the vending function reads from its environment. */
export interface VendingConfig {
  /** In `CREDENTIALS` order; with exactly one, an unqualified invoke gets it (invocation.ts). */
  credentials: readonly CredentialConfig[];
  /** `TOKEN_TABLE_NAME`. */
  tableName: string;
  /** `DYNAMODB_ENDPOINT` (local mode), else the SDK default. */
  dynamoDbEndpoint?: string;
  /** `SECRETS_MANAGER_ENDPOINT` (local mode), else the SDK default. */
  secretsManagerEndpoint?: string;
  /** `LEASE_SECONDS` × 1000: how long one caller may mint before another may take over. */
  leaseMs: number;
  /**
   * `REJECTION_MINT_INTERVAL_SECONDS` × 1000: the shortest time between two mints that replace a
   * reported token Genesys could not be asked about, per credential and fleet-wide (a confirmed
   * rejection is always replaced).
   */
  rejectionMintIntervalMs: number;
  /** The limits of the function's DynamoDB and Secrets Manager calls: {@link VENDOR_AWS_CALL_LIMITS}, or `AWS_CALL_LIMITS`. */
  awsCallLimits: VendorAwsCallLimits;
  /**
   * Where Genesys requests may go: `GENESYS_EXTRA_ENVIRONMENTS` and `GENESYS_ENDPOINT_OVERRIDE`, read
   * here once so that every mint and answer of the container uses the same deploy-time settings.
   */
  genesys: ResolveEndpointsOptions & { extraEnvironments: readonly string[] };
}

/** Limits of the vending function's AWS clients. */
export interface VendorAwsCallLimits {
  readonly dynamoDb: AwsCallLimits;
  readonly secretsManager: AwsCallLimits;
}

/**
 * The vendor's AWS calls fail fast: a vend has seconds, not minutes, so a slow table must degrade the
 * container to L1 and direct mints (docs/vending.md, "Failure modes") and a slow Secrets Manager must end
 * in a typed error, rather than either eating the caller's deadline. A deployment always runs with these;
 * `AWS_CALL_LIMITS` exists for local stacks on a loaded machine, where a healthy DynamoDB Local can take
 * longer than 2 s to answer and a test that is not about these limits must not degrade on it.
 */
export const VENDOR_AWS_CALL_LIMITS: VendorAwsCallLimits = {
  dynamoDb: { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 },
  secretsManager: { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 2 },
};

const DEFAULT_LEASE_SECONDS = 30;
const MAX_LEASE_SECONDS = 900;
export const DEFAULT_REJECTION_MINT_INTERVAL_SECONDS = 30;
export const MAX_REJECTION_MINT_INTERVAL_SECONDS = 3600;

/**
 * Parses and validates the vending configuration.
 * @throws ConfigurationError naming the variable and the rule it breaks.
 */
export function readVendingConfig(env: NodeJS.ProcessEnv = process.env): VendingConfig {
  const extraEnvironments = parseExtraEnvironments(env[EXTRA_ENVIRONMENTS_VARIABLE]);
  // Fail at the first invocation, not at the first mint, when the extras are malformed.
  try {
    allowedEnvironments({ extraEnvironments });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    // Re-keyed to the variable the operator sets.
    throw new ConfigurationError(EXTRA_ENVIRONMENTS_VARIABLE, error.rule);
  }
  const config: VendingConfig = {
    credentials: parseCredentials(env.CREDENTIALS, parseSecretNamePrefix(env.SECRET_NAME_PREFIX)),
    tableName: required(env, "TOKEN_TABLE_NAME"),
    leaseMs: parseLeaseSeconds(env.LEASE_SECONDS) * 1000,
    rejectionMintIntervalMs: parseRejectionMintInterval(env.REJECTION_MINT_INTERVAL_SECONDS) * 1000,
    awsCallLimits: parseAwsCallLimits(env.AWS_CALL_LIMITS),
    genesys: { extraEnvironments },
  };
  const endpointOverride = env[ENDPOINT_OVERRIDE_VARIABLE]?.trim();
  // resolveEndpoints validates the override (https, or http to loopback only) on first use.
  if (endpointOverride !== undefined && endpointOverride !== "")
    config.genesys.endpointOverride = endpointOverride;
  const dynamoDbEndpoint = optionalUrl(env, "DYNAMODB_ENDPOINT");
  const secretsManagerEndpoint = optionalUrl(env, "SECRETS_MANAGER_ENDPOINT");
  if (dynamoDbEndpoint !== undefined) config.dynamoDbEndpoint = dynamoDbEndpoint;
  if (secretsManagerEndpoint !== undefined) config.secretsManagerEndpoint = secretsManagerEndpoint;
  return config;
}

/** Marks a secret name in `CREDENTIALS` given relative to `SECRET_NAME_PREFIX`, e.g. `./reporting`. */
export const RELATIVE_SECRET_NAME = "./";

/**
 * `SECRET_NAME_PREFIX`: what `""` and `./<rest>` in `CREDENTIALS` are relative to (the CDK sets it to the
 * common prefix of the secrets it creates, so that 100 credentials fit Lambda's 4 KB environment).
 */
export function parseSecretNamePrefix(raw: string | undefined): string {
  const prefix = raw?.trim() ?? "";
  if (prefix !== "" && (!isSecretName(prefix) || prefix.length > 256)) {
    throw new ConfigurationError(
      "SECRET_NAME_PREFIX",
      "must be at most 256 characters of letters, digits and /_+=.@-",
    );
  }
  return prefix;
}

/**
 * `CREDENTIALS`: a JSON object `{ "<name>": "<secret>" }` with at least one entry. `<secret>` is the
 * secret's ARN or name; `./<rest>` stands for `<secretNamePrefix><rest>` and `""` for
 * `<secretNamePrefix><name>`, so that a secret created by the stack costs a few bytes of the environment.
 */
export function parseCredentials(raw: string | undefined, secretNamePrefix = ""): CredentialConfig[] {
  const rule = 'must be a JSON object {"<name>": "<secret ARN or name>"} with at least one entry';
  if (raw === undefined || raw.trim() === "")
    throw new ConfigurationError("CREDENTIALS", `is required; ${rule}`);
  const entries = Object.entries(parseJsonObjectVariable("CREDENTIALS", raw, rule));
  if (entries.length === 0) throw new ConfigurationError("CREDENTIALS", rule);
  return entries.map(([name, secret]) => {
    // A name is also the alias consumers invoke (invocation.ts).
    const problem = credentialNameProblem(name);
    if (problem !== undefined) {
      throw new ConfigurationError(
        "CREDENTIALS",
        isCredentialNameShape(name) ? `the name "${name}" ${problem}` : `every name ${problem}`,
      );
    }
    if (typeof secret === "string" && secret.startsWith("arn:")) {
      if (!isSecretArn(secret)) {
        throw new ConfigurationError("CREDENTIALS", `the value of "${name}" ${SECRET_ARN_RULE}`);
      }
      return { name, secretArn: secret };
    }
    const secretName =
      secret === ""
        ? `${secretNamePrefix}${name}`
        : typeof secret === "string" && secret.startsWith(RELATIVE_SECRET_NAME)
          ? `${secretNamePrefix}${secret.slice(RELATIVE_SECRET_NAME.length)}`
          : secret;
    if (typeof secretName !== "string" || !isSecretName(secretName)) {
      throw new ConfigurationError(
        "CREDENTIALS",
        `the value of "${name}" must be a secret ARN, a secret name, "./<rest>" for <SECRET_NAME_PREFIX><rest>, or "" for <SECRET_NAME_PREFIX>${name}; names are at most 512 characters of letters, digits and /_+=.@-`,
      );
    }
    return { name, secretArn: secretName };
  });
}

/**
 * True when `secretId` (a configured secret: ARN or name) is the secret whose ARN is `arn` (e.g. the
 * rotated secret of a warm request). A name matches the complete ARN of the secret of that name.
 */
export function secretIdMatchesArn(secretId: string, arn: string): boolean {
  if (secretId === arn) return true;
  if (secretId.startsWith("arn:")) return false;
  return isCompleteSecretArn(arn) && secretNameFromArn(arn) === secretId;
}

function parseLeaseSeconds(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_LEASE_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_LEASE_SECONDS) {
    throw new ConfigurationError(
      "LEASE_SECONDS",
      `must be a whole number of seconds from 1 to ${MAX_LEASE_SECONDS}`,
    );
  }
  return value;
}

function parseRejectionMintInterval(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_REJECTION_MINT_INTERVAL_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_REJECTION_MINT_INTERVAL_SECONDS) {
    throw new ConfigurationError(
      "REJECTION_MINT_INTERVAL_SECONDS",
      `must be a whole number of seconds from 1 to ${MAX_REJECTION_MINT_INTERVAL_SECONDS}`,
    );
  }
  return value;
}

const AWS_CALL_LIMITS_RULE =
  'must be a JSON object {"dynamoDb"?: <limits>, "secretsManager"?: <limits>}, each <limits> {"connectionTimeoutMs", "requestTimeoutMs", "maxAttempts"} of whole numbers from 1 to 900000 (attempts 1 to 10)';

/**
 * `AWS_CALL_LIMITS` (local stacks only): replaces the limits of one or both AWS clients, each with all
 * three numbers; absent = {@link VENDOR_AWS_CALL_LIMITS}.
 */
function parseAwsCallLimits(raw: string | undefined): VendorAwsCallLimits {
  if (raw === undefined || raw.trim() === "") return VENDOR_AWS_CALL_LIMITS;
  const fields = parseJsonObjectVariable("AWS_CALL_LIMITS", raw, AWS_CALL_LIMITS_RULE);
  const clients = ["dynamoDb", "secretsManager"] as const;
  if (Object.keys(fields).some((key) => !(clients as readonly string[]).includes(key))) {
    throw new ConfigurationError("AWS_CALL_LIMITS", AWS_CALL_LIMITS_RULE);
  }
  const limitsOf = (client: (typeof clients)[number]): AwsCallLimits => {
    const value = fields[client];
    if (value === undefined) return VENDOR_AWS_CALL_LIMITS[client];
    const limits = value as Record<string, unknown>;
    const valid =
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      Object.keys(limits).length === 3 &&
      isWholeNumber(limits.connectionTimeoutMs, 900_000) &&
      isWholeNumber(limits.requestTimeoutMs, 900_000) &&
      isWholeNumber(limits.maxAttempts, 10);
    if (!valid) throw new ConfigurationError("AWS_CALL_LIMITS", `${client}: ${AWS_CALL_LIMITS_RULE}`);
    return {
      connectionTimeoutMs: limits.connectionTimeoutMs as number,
      requestTimeoutMs: limits.requestTimeoutMs as number,
      maxAttempts: limits.maxAttempts as number,
    };
  };
  return { dynamoDb: limitsOf("dynamoDb"), secretsManager: limitsOf("secretsManager") };
}

function isWholeNumber(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= max;
}

function required(env: NodeJS.ProcessEnv, key: string): string {
  const value = env[key]?.trim();
  if (value === undefined || value === "") throw new ConfigurationError(key, "is required");
  return value;
}

function optionalUrl(env: NodeJS.ProcessEnv, key: string): string | undefined {
  const value = env[key]?.trim();
  if (value === undefined || value === "") return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
  } catch {
    throw new ConfigurationError(key, "must be an absolute http(s) URL, e.g. http://127.0.0.1:8000");
  }
  return value;
}
