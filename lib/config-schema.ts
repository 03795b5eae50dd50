/**
 * The zod/mini schema of the cdk.json context `genesys-oauth-rotator` (lib/config.ts): every key, its
 * type and its rule, worded as the messages state it. `npm run schema` writes the JSON Schema editors use
 * (schema/cdk-context.schema.json) from it. What depends on another key (an admin's name, the environment
 * list with extraEnvironments, the schedule's interval) is checked by lib/config.ts after it.
 */
import * as z from "zod/mini";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import { allowedEnvironments } from "../lambda/shared/genesys/environments.ts";
import { MAX_MIN_ROTATION_GAP_SECONDS } from "../lambda/shared/rotation-gap.ts";
import { isSecretArn } from "../lambda/shared/secret-arn.ts";
import {
  CREDENTIAL_NAME_PATTERN,
  CREDENTIAL_NAME_RULE,
  isAliasableCredentialName,
  VENDED_NAME_EXTRA_RULE,
} from "../lambda/shared/vendor-alias.ts";

/** CloudWatch Logs retention values (days) that CloudFormation accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
/** The rotation function's own upper bound (lambda/rotation/config.ts) is 600 s; its timeout is 300 s. */
export const MAX_PROPAGATION_TIMEOUT_SECONDS = 240;

/** A secret ARN's shape for editors; {@link isSecretArn} is the exact rule. */
const SECRET_ARN_SHAPE = /^arn:aws[-a-z]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,519}$/;

function describeType(raw: unknown): string {
  if (raw === null) return "null";
  if (Array.isArray(raw)) return "list";
  return typeof raw;
}

/** `"<value>" is invalid: <rule>` (configuration is not secret: the value helps find the typo). */
function invalid(raw: unknown, rule: string): string {
  return `${typeof raw === "string" ? JSON.stringify(raw) : `a ${describeType(raw)}`} is invalid: ${rule}`;
}

/** A string matching `pattern` (and `test`, when the pattern alone is not the whole rule). */
function text(pattern: RegExp, rule: string, test?: (value: string) => boolean) {
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? `is required; it ${rule}` : invalid(issue.input, rule);
  const schema = z.string({ error }).check(z.regex(pattern, { error }));
  return test === undefined ? schema : schema.check(z.refine(test, { error }));
}

/** A whole number within limits; `rule` words them. */
function integer(min: number, max: number, rule = `must be a whole number from ${min} to ${max}`) {
  const error = (issue: { input?: unknown }) => `${JSON.stringify(issue.input)} is invalid: ${rule}`;
  return z.int({ error }).check(z.gte(min, { error }), z.lte(max, { error }));
}

/** One of `values` (an enum, so that editors offer them). */
function choice<const T extends readonly [string, ...string[]]>(values: T, rule: string) {
  const error = (issue: { input?: unknown }) =>
    issue.input === undefined ? `is required; it ${rule}` : invalid(issue.input, rule);
  return z.enum(values, { error });
}

const flag = () => z.boolean({ error: "must be true or false" });

function list<T extends z.core.SomeType>(item: T, minItems = 0) {
  const schema = z.array(item, {
    error: (issue) => (issue.input === undefined ? "is required (a list)" : "must be a list"),
  });
  return minItems === 0
    ? schema
    : schema.check(
        z.minLength(minItems, {
          error: `must list at least ${minItems} entr${minItems === 1 ? "y" : "ies"}`,
        }),
      );
}

/** An object with exactly these keys (each optional unless its schema says otherwise). */
function object<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `is not a known key; allowed keys are ${allowed}`
        : issue.input === undefined
          ? "is required (an object)"
          : "must be an object",
  });
}

const name = () => text(CREDENTIAL_NAME_PATTERN, CREDENTIAL_NAME_RULE);
const environment = () => text(/^\S+$/, "must be a Genesys Cloud domain such as mypurecloud.ie");
const importSecretArn = () =>
  z.optional(
    text(
      SECRET_ARN_SHAPE,
      "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)",
      isSecretArn,
    ),
  );
const importSecretKmsKeyArn = () =>
  z.optional(
    text(
      /^arn:aws[-a-z]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/,
      "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)",
    ),
  );

/** The rule `allowedEnvironments` states for an extra environment, or undefined when it is valid. */
function extraEnvironmentProblem(domain: string): string | undefined {
  try {
    // The same rule the functions apply to GENESYS_EXTRA_ENVIRONMENTS at run time.
    allowedEnvironments({ extraEnvironments: [domain] });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return error.rule;
  }
}

const credentialSchema = object({
  name: name().check(
    z.refine(isAliasableCredentialName, {
      // The name is also the vending function's alias for this credential.
      error: (issue) =>
        `${JSON.stringify(issue.input)} is invalid: a credential name ${VENDED_NAME_EXTRA_RULE}`,
    }),
  ),
  environment: environment(),
  strategy: z.optional(
    choice(
      ["alternating", "single"],
      'must be "alternating" (two clients, zero downtime) or "single" (one client, needs admin)',
    ),
  ),
  importSecretArn: importSecretArn(),
  importSecretKmsKeyArn: importSecretKmsKeyArn(),
  admin: z.optional(name()),
  integrationCredentialIds: z.optional(
    list(
      text(
        /^[A-Za-z0-9._-]{1,128}$/,
        "must be a Genesys integration credential id (1-128 characters of letters, digits, '.', '_' or '-')",
      ),
    ),
  ),
});

const adminCredentialSchema = object({
  name: name(),
  environment: environment(),
  importSecretArn: importSecretArn(),
  importSecretKmsKeyArn: importSecretKmsKeyArn(),
});

/** The whole context value: types and per-key rules. */
export const rotatorContextSchema = object({
  stackName: z.optional(
    text(
      /^[A-Za-z][A-Za-z0-9-]{0,100}$/,
      "must be a CloudFormation stack name: a letter, then letters, digits and '-' (at most 101 characters)",
    ),
  ),
  credentials: list(credentialSchema, 1),
  adminCredentials: z.optional(list(adminCredentialSchema)),
  schedule: z.optional(
    object({
      expression: z.optional(text(/^\S.*$/, "must not be empty")),
      windowHours: z.optional(integer(1, 24)),
      maxSecretAgeDays: z.optional(integer(1, 1100)),
    }),
  ),
  alarmEmail: z.optional(
    text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be an e-mail address such as ops@example.com"),
  ),
  alarmTopicArn: z.optional(
    text(
      /^arn:aws[-a-z]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
      "must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    ),
  ),
  architecture: z.optional(choice(["arm64", "x86_64"], 'must be "arm64" or "x86_64"')),
  staticEgress: z.optional(
    z.union(
      [
        z.boolean(),
        object({
          eipAllocationIds: z.optional(
            list(
              text(
                /^eipalloc-[0-9a-f]{8,17}$/,
                "must be an Elastic IP allocation id such as eipalloc-0123456789abcdef0",
              ),
            ),
          ),
          natGateways: z.optional(integer(1, 6)),
          maxAzs: z.optional(integer(1, 6)),
        }),
      ],
      { error: "must be true, false or an object" },
    ),
  ),
  extraEnvironments: z.optional(
    list(
      text(/^\S+$/, "must be a domain name").check(
        z.refine((domain) => extraEnvironmentProblem(domain) === undefined, {
          error: (issue) => `${JSON.stringify(issue.input)} ${extraEnvironmentProblem(String(issue.input))}`,
        }),
      ),
    ),
  ),
  warmTokenCache: z.optional(flag()),
  rotationFunction: z.optional(
    object({
      memorySize: z.optional(integer(128, 10240)),
      propagationTimeoutSeconds: z.optional(
        integer(
          10,
          MAX_PROPAGATION_TIMEOUT_SECONDS,
          `must be a whole number of seconds from 10 to ${MAX_PROPAGATION_TIMEOUT_SECONDS} (the function times out after 300 s)`,
        ),
      ),
      minRotationGapSeconds: z.optional(
        integer(
          0,
          MAX_MIN_ROTATION_GAP_SECONDS,
          `must be a whole number of seconds from 0 to ${MAX_MIN_ROTATION_GAP_SECONDS}`,
        ),
      ),
    }),
  ),
  vendingFunction: z.optional(
    object({
      memorySize: z.optional(integer(128, 10240)),
      timeoutSeconds: z.optional(integer(3, 900)),
      leaseSeconds: z.optional(integer(1, 900)),
      rejectionMintSeconds: z.optional(integer(1, 3600)),
    }),
  ),
  logRetentionDays: z.optional(
    z.literal(LOG_RETENTION_DAYS, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is invalid: must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
    }),
  ),
  dashboard: z.optional(flag()),
  /** A profile written by `genesys-rotator probe` (a file path or the object); checked by genesys-profile-config.ts. */
  genesysProfile: z.optional(z.union([z.string(), z.record(z.string(), z.unknown())])),
});
