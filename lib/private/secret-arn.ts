/**
 * Secrets Manager ARNs: a complete ARN ends with `-` and 6 random characters that Secrets Manager appends
 * to the name; a partial ARN (name only) does not. IAM and EventBridge compare complete ARNs.
 */
import { Stack, Token } from "aws-cdk-lib";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { IConstruct } from "constructs";

/** A secret ARN whose name ends with Secrets Manager's `-XXXXXX` suffix. */
const COMPLETE_ARN = /^arn:[^:]+:secretsmanager:[^:]*:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;

/** True when `arn` looks like a complete secret ARN (with the random suffix). */
export function isCompleteSecretArn(arn: string): boolean {
  return COMPLETE_ARN.test(arn);
}

/**
 * The IAM resource for a secret: its complete ARN, or for a partial ARN the ARN plus `-??????`, which
 * matches exactly the 6-character suffix Secrets Manager appends (AWS's documented pattern; the same
 * thing `RotationSchedule` does for imported secrets).
 */
export function secretResourceArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** The secret's name from an ARN: the part after `secret:`, without the random suffix of a complete ARN. */
export function secretNameFromArn(arn: string): string {
  const name = arn.slice(arn.indexOf(":secret:") + ":secret:".length);
  return isCompleteSecretArn(arn) ? name.slice(0, -7) : name;
}

/**
 * The name prefix of the secrets {@link GenesysCredential} creates, `<stack name>/genesys/`. The functions
 * get it as SECRET_NAME_PREFIX and are told such a secret by the rest of its name only: a whole ARN per
 * credential would not fit Lambda's 4 KB environment with 100 credentials.
 */
export function createdSecretNamePrefix(scope: IConstruct): string {
  return `${Stack.of(scope).stackName}/genesys/`;
}

/**
 * How a function's configuration names a secret the stack created: `./<rest>` when its name is
 * `<prefix><rest>` (SECRET_NAME_PREFIX), else its ARN.
 */
export function secretReference(secret: secretsmanager.ISecret, secretName: string, prefix: string): string {
  if (!Token.isUnresolved(secretName) && !Token.isUnresolved(prefix) && secretName.startsWith(prefix)) {
    return `./${secretName.slice(prefix.length)}`;
  }
  return secret.secretArn;
}
