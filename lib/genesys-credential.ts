/**
 * One rotated Genesys Cloud credential: a Secrets Manager secret (created or imported) plus its rotation
 * schedule on the shared rotation function.
 */
import { type Duration, RemovalPolicy, SecretValue, Stack, Tags } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import { isAllowedEnvironment } from "../lambda/shared/genesys/environments.ts";
import { isCompleteSecretArn } from "../lambda/shared/secret-arn.ts";
import type { Strategy } from "../lambda/shared/secret-value.ts";
import { CREDENTIAL_NAME_RULE, isCredentialNameShape } from "../lambda/shared/vendor-alias.ts";
import { createdSecretNamePrefix, secretNameOfArn } from "./private/secret-arn.ts";
import type { GenesysRotationFunction } from "./rotation-function.ts";

/**
 * The value of a secret created by this construct until an operator seeds it (docs/deploy.md). It fails
 * the secret-value schema on purpose, so nothing can mint with it, and it must NEVER change: CloudFormation
 * writes SecretString again whenever it changes, which would overwrite the seeded credential.
 */
export const UNSEEDED_SECRET_VALUE = JSON.stringify({
  unseeded: "put the credential JSON here, see docs/deploy.md (Seeding the secrets)",
});

/** When a credential rotates. */
export interface RotationScheduleOptions {
  /**
   * `rate(N days)`, `rate(N hours)` (at least 4) or `cron(0 H D M W *)` in UTC.
   * @default "rate(90 days)"
   */
  readonly expression?: string;
  /**
   * The rotation window (Secrets Manager `RotationRules.Duration`), whole hours from 1 to 24.
   * @default Secrets Manager's default: the rest of the UTC day for days, one hour for hours
   */
  readonly window?: Duration;
}

/** Properties shared by every strategy. */
export interface GenesysCredentialBaseProps {
  /** The function that rotates the secret. */
  readonly rotationFunction: GenesysRotationFunction;
  /** Genesys Cloud environment domain, e.g. `mypurecloud.ie` (a known domain or one of `extraEnvironments`). */
  readonly environment: string;
  /** Name of the credential, as consumers pass it to the token vendor. @default the construct id */
  readonly credentialName?: string;
  /** Domains allowed besides the built-in Genesys list (also given to the functions). @default none */
  readonly extraEnvironments?: readonly string[];
  /**
   * An existing secret to rotate (e.g. `Secret.fromSecretCompleteArn(...)`). Its key must be passed as
   * `secretEncryptionKey` unless it uses the AWS managed key.
   * @default a new secret, encrypted with `encryptionKey`, seeded by an operator after deploy
   */
  readonly secret?: secretsmanager.ISecret;
  /** The customer managed key of an imported `secret`. @default `secret.encryptionKey` (none = aws/secretsmanager) */
  readonly secretEncryptionKey?: kms.IKey;
  /** Key for a created secret. Required unless `secret` is given. */
  readonly encryptionKey?: kms.IKey;
  /** Name of a created secret. @default `<stack name>/genesys/<credentialName>` */
  readonly secretName?: string;
  /** @default rate(90 days), Secrets Manager's default window */
  readonly schedule?: RotationScheduleOptions;
  /** Genesys integration credential ids (Data Actions) to update after each rotation. @default none */
  readonly integrationCredentialIds?: readonly string[];
}

/** Properties of {@link GenesysCredential.alternating}. */
export interface AlternatingCredentialProps extends GenesysCredentialBaseProps {
  /**
   * The admin credential that regenerates the inactive client's secret.
   * @default none: the pair manages itself (the active client regenerates its twin), as an admin credential does
   */
  readonly admin?: GenesysCredential;
}

/** Properties of {@link GenesysCredential.single}. */
export interface SingleCredentialProps extends GenesysCredentialBaseProps {
  /** The admin credential that regenerates the client's secret (required: a lost new secret must be regenerable). */
  readonly admin: GenesysCredential;
}

interface GenesysCredentialProps extends GenesysCredentialBaseProps {
  readonly strategy: Strategy;
  readonly admin?: GenesysCredential;
}

/**
 * A Genesys Cloud OAuth credential whose client secret Secrets Manager rotates through Genesys.
 * Create one with a strategy factory:
 *
 * ```ts
 * const admin = GenesysCredential.alternating(this, "Admin", { rotationFunction, environment, encryptionKey });
 * GenesysCredential.alternating(this, "Reporting", { rotationFunction, environment, encryptionKey, admin });
 * GenesysCredential.single(this, "Legacy", { rotationFunction, environment, encryptionKey, admin });
 * ```
 *
 * The rotation schedule is an `AWS::SecretsManager::RotationSchedule` written directly (not
 * `secret.addRotationSchedule()`), so that the function's policy stays exact: no GetRandomPassword, no
 * root-delete deny statement, and `RotateImmediatelyOnUpdate: false` so that a deploy never rotates.
 */
export class GenesysCredential extends Construct {
  /** Two OAuth clients with identical roles; each rotation regenerates the inactive one. Zero downtime. */
  static alternating(scope: Construct, id: string, props: AlternatingCredentialProps): GenesysCredential {
    return new GenesysCredential(scope, id, { ...props, strategy: "alternating" });
  }

  /** One OAuth client that regenerates in place; readers of the raw secret see a short gap. Needs an admin. */
  static single(scope: Construct, id: string, props: SingleCredentialProps): GenesysCredential {
    return new GenesysCredential(scope, id, { ...props, strategy: "single" });
  }

  readonly credentialName: string;
  readonly environment: string;
  readonly strategy: Strategy;
  readonly secret: secretsmanager.ISecret;
  /** The secret's customer managed key, if any. */
  readonly encryptionKey?: kms.IKey;
  readonly admin?: GenesysCredential;
  /** The secret's name (Genesys integration credentials are keyed by it). */
  readonly secretName: string;
  /** True when this construct created the secret (it then needs seeding after the first deploy). */
  readonly created: boolean;
  readonly rotationSchedule: secretsmanager.CfnRotationSchedule;

  private constructor(scope: Construct, id: string, props: GenesysCredentialProps) {
    super(scope, id);
    this.credentialName = props.credentialName ?? id;
    this.environment = props.environment;
    this.strategy = props.strategy;
    validateProps(this, props);
    if (props.admin !== undefined) this.admin = props.admin;

    if (props.secret !== undefined) {
      this.secret = props.secret;
      this.created = false;
      this.secretName = secretNameOfArn(props.secret.secretArn);
      const key = props.secretEncryptionKey ?? props.secret.encryptionKey;
      if (key !== undefined) this.encryptionKey = key;
    } else {
      // validateProps guarantees the key.
      const key = props.encryptionKey as kms.IKey;
      this.secretName = props.secretName ?? `${createdSecretNamePrefix(this)}${this.credentialName}`;
      this.secret = new secretsmanager.Secret(this, "Secret", {
        secretName: this.secretName,
        description: `Genesys Cloud OAuth credential "${this.credentialName}" (${props.strategy}, ${props.environment}); rotated by ${Stack.of(this).stackName}`,
        encryptionKey: key,
        // Not a secret: a fixed marker that fails validation until an operator seeds the real value.
        secretStringValue: SecretValue.unsafePlainText(UNSEEDED_SECRET_VALUE),
        // The value cannot be recovered from Genesys (it is shown once): never delete it with the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.encryptionKey = key;
      this.created = true;
      Tags.of(this.secret).add("genesys-environment", props.environment);
      Tags.of(this.secret).add("genesys-credential", this.credentialName);
    }

    props.rotationFunction.grantRotation(this.secret, this.encryptionKey);
    // The value's adminSecretArn is written by whoever can write the secret: pin it to the configuration.
    props.rotationFunction.pinAdminSecret(this.secretName, props.admin?.secret);
    if (props.integrationCredentialIds !== undefined) {
      props.rotationFunction.addIntegrationCredentials(this.secretName, props.integrationCredentialIds);
    }
    const window = props.schedule?.window;
    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, "RotationSchedule", {
      secretId: this.secret.secretArn,
      rotationLambdaArn: props.rotationFunction.function.functionArn,
      rotationRules: {
        scheduleExpression: props.schedule?.expression ?? "rate(90 days)",
        ...(window === undefined ? {} : { duration: `${window.toHours()}h` }),
      },
      // Otherwise every stack update that touches the schedule rotates at once (aws-cdk#25365).
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager checks at creation that it may invoke the function and that the function may rotate
    // the secret: create the permission and the role policy first.
    this.rotationSchedule.node.addDependency(props.rotationFunction);
  }

  /** Allows `grantee` to read the secret value. Consumers should use the token vendor instead. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }
}

function validateProps(credential: GenesysCredential, props: GenesysCredentialProps): void {
  const where = credential.node.path;
  if (!isCredentialNameShape(credential.credentialName)) {
    throw new ConfigurationError(
      `${where}: credentialName`,
      `"${credential.credentialName}" ${CREDENTIAL_NAME_RULE}`,
    );
  }
  if (!isAllowedEnvironment(props.environment, { extraEnvironments: props.extraEnvironments ?? [] })) {
    throw new ConfigurationError(
      `${where}: environment`,
      `"${props.environment}" is not a known Genesys Cloud domain; add it to extraEnvironments to allow it`,
    );
  }
  if (props.strategy === "single" && props.admin === undefined) {
    throw new ConfigurationError(`${where}: admin`, 'is required for the "single" strategy');
  }
  if (props.admin !== undefined) {
    if (props.admin.strategy !== "alternating" || props.admin.admin !== undefined) {
      throw new ConfigurationError(
        `${where}: admin`,
        `"${props.admin.credentialName}" must be a self-managed alternating credential (alternating, without admin)`,
      );
    }
    if (props.admin.environment !== props.environment) {
      throw new ConfigurationError(
        `${where}: admin`,
        `"${props.admin.credentialName}" is in ${props.admin.environment}, this credential in ${props.environment}; an admin manages clients of its own organization only`,
      );
    }
  }
  if (props.secret === undefined && props.encryptionKey === undefined) {
    throw new ConfigurationError(
      `${where}: encryptionKey`,
      "is required when the secret is created (no `secret` given)",
    );
  }
  if (props.secret !== undefined && (props.encryptionKey !== undefined || props.secretName !== undefined)) {
    throw new ConfigurationError(
      `${where}: secret`,
      "an imported secret keeps its own key and name: use secretEncryptionKey, and drop encryptionKey and secretName",
    );
  }
  if (props.secret === undefined && props.secretEncryptionKey !== undefined) {
    throw new ConfigurationError(
      `${where}: secretEncryptionKey`,
      "is only for an imported `secret`; use encryptionKey",
    );
  }
  const window = props.schedule?.window;
  if (window !== undefined) {
    const hours = window.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
      throw new ConfigurationError(
        `${where}: schedule.window`,
        `must be whole hours from 1 to 24, got ${hours} hours`,
      );
    }
  }
  const expression = props.schedule?.expression;
  if (expression !== undefined && !/^(rate|cron)\(.+\)$/.test(expression)) {
    throw new ConfigurationError(
      `${where}: schedule.expression`,
      `"${expression}" must be rate(...) or cron(...)`,
    );
  }
  if (
    props.secret !== undefined &&
    props.secret.secretFullArn === undefined &&
    isCompleteSecretArn(props.secret.secretArn)
  ) {
    // Imported with fromSecretPartialArn although the ARN is complete: IAM would then append -?????? twice.
    throw new ConfigurationError(
      `${where}: secret`,
      "looks like a complete ARN (name-XXXXXX); import it with Secret.fromSecretCompleteArn",
    );
  }
}
