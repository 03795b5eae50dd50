/**
 * Secrets Manager ARNs: a complete ARN ends with `-` and 6 random characters that Secrets Manager appends
 * to the name; a partial ARN (name only) does not. IAM and EventBridge compare complete ARNs.
 */
import { Stack, Token } from "aws-cdk-lib";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { IConstruct } from "constructs";
import { secretNameFromArn } from "../../lambda/shared/secret-arn.ts";

/**
 * The IAM resource for a secret: its complete ARN, or for a partial ARN the ARN plus `-??????`, which
 * matches exactly the 6-character suffix Secrets Manager appends (AWS's documented pattern; the same
 * thing `RotationSchedule` does for imported secrets).
 */
export function secretResourceArn(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/**
 * The secret's name from a (literal) ARN: the part after `secret:`, without the random suffix of a
 * complete ARN (the rule: lambda/shared/secret-arn.ts). An ARN with unresolved tokens (an imported
 * secret's partition, region or account) is read as partial.
 */
export function secretNameOfArn(arn: string): string {
  return secretNameFromArn(arn) ?? arn.slice(arn.indexOf(":secret:") + ":secret:".length);
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
