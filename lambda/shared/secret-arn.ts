/**
 * The Secrets Manager secret ARN and name rules, in one place: the secret value's `adminSecretArn`, the
 * functions' configuration (CREDENTIALS, ADMIN_SECRET_ARNS), the CDK configuration (`importSecretArn`),
 * the CDK constructs, the operator CLI and the Secrets Manager emulator all use them.
 *
 * `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:<name>[-XXXXXX]`: the partition is
 * `aws` or `aws-<something>` (aws-cn, aws-us-gov, …); the name is 1–512 characters of `[A-Za-z0-9/_+=.@-]`;
 * a complete ARN ends with `-` and the 6 random characters Secrets Manager appends to the name, a partial
 * ARN (what you can write before the secret exists) does not. IAM and EventBridge compare complete ARNs.
 */

/** The characters Secrets Manager allows in a secret name. */
const NAME_CHARACTERS = "[A-Za-z0-9/_+=.@-]";
/** The longest secret name Secrets Manager accepts. */
export const MAX_SECRET_NAME_LENGTH = 512;

const SECRET_NAME = new RegExp(`^${NAME_CHARACTERS}{1,${MAX_SECRET_NAME_LENGTH}}$`);
/** Everything up to and including `:secret:`; group 1 is what follows it. */
const SECRET_ARN = new RegExp(
  `^arn:aws[-a-z]*:secretsmanager:[a-z0-9-]+:\\d{12}:secret:(${NAME_CHARACTERS}{1,${MAX_SECRET_NAME_LENGTH + 7}})$`,
);
/** The `-XXXXXX` Secrets Manager appends to the name in a complete ARN. */
const RANDOM_SUFFIX = /-[A-Za-z0-9]{6}$/;
const RANDOM_SUFFIX_LENGTH = 7;

/** The rule of {@link isSecretArn}, as error messages state it. */
export const SECRET_ARN_RULE =
  "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)";
/** The rule of {@link isSecretName}, as error messages state it. */
export const SECRET_NAME_RULE = `must be 1-${MAX_SECRET_NAME_LENGTH} characters of letters, digits and /_+=.@-`;

/** True when `name` is a valid secret name (1–512 characters of `[A-Za-z0-9/_+=.@-]`). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * The part of a secret ARN after `:secret:` (the name, plus the random suffix of a complete ARN), or
 * undefined when `arn` is not a secret ARN.
 */
function nameWithSuffix(arn: string): string | undefined {
  const rest = SECRET_ARN.exec(arn)?.[1];
  if (rest === undefined) return undefined;
  // The name itself is at most 512 characters; only a complete ARN may have 7 more.
  if (rest.length <= MAX_SECRET_NAME_LENGTH) return rest;
  return RANDOM_SUFFIX.test(rest) ? rest : undefined;
}

/** True when `arn` is a Secrets Manager secret ARN, partial or complete. */
export function isSecretArn(arn: string): boolean {
  return nameWithSuffix(arn) !== undefined;
}

/**
 * True when `arn` is a secret ARN whose name ends with `-` and 6 letters or digits, i.e. looks complete.
 * (A partial ARN of a name that itself ends that way cannot be told apart; Secrets Manager advises
 * against such names.)
 */
export function isCompleteSecretArn(arn: string): boolean {
  const rest = nameWithSuffix(arn);
  return rest !== undefined && rest.length > RANDOM_SUFFIX_LENGTH && RANDOM_SUFFIX.test(rest);
}

/**
 * The secret's name from its ARN: the part after `secret:`, without the random suffix of a complete ARN;
 * undefined when `arn` is not a secret ARN.
 */
export function secretNameFromArn(arn: string): string | undefined {
  const rest = nameWithSuffix(arn);
  if (rest === undefined) return undefined;
  return isCompleteSecretArn(arn) ? rest.slice(0, -RANDOM_SUFFIX_LENGTH) : rest;
}

/**
 * The part of a secret ARN after `secret:` as written (with the random suffix, if any): what a partial ARN
 * names. Undefined when `arn` is not a secret ARN.
 */
export function secretArnResource(arn: string): string | undefined {
  return nameWithSuffix(arn);
}
