/**
 * The Secrets Manager rotation function (lambda/rotation/handler.ts) and its exact permissions.
 */
import { Duration, Lazy, Stack } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { Strategy } from "../lambda/shared/secret-value.ts";
import { GrowingStatement, SecretKeyAccess } from "./private/growing-statement.ts";
import { type GenesysFunctionProps, HandlerFunction, scopedServiceName } from "./private/node-function.ts";
import { secretResourceArn } from "./private/secret-arn.ts";
import type { TokenVendor } from "./token-vendor.ts";

/** Properties of {@link GenesysRotationFunction}. */
export interface GenesysRotationFunctionProps extends GenesysFunctionProps {
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * The whole rotation step must finish within this time; Secrets Manager retries a failed rotation.
   * Must leave room for `propagationTimeout` plus the Genesys calls around it.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /** How long testSecret waits for a freshly generated Genesys secret to be accepted. @default Duration.seconds(60) */
  readonly propagationTimeout?: Duration;
}

/**
 * The function that rotates every Genesys credential of the stack. Its role grows only through
 * {@link grantRotation}, {@link grantCacheWarming}: four Secrets Manager actions on exactly the rotated
 * secrets, KMS through Secrets Manager only, and — unlike `secret.addRotationSchedule()` — no
 * `secretsmanager:GetRandomPassword`, because Genesys generates the new secrets, not Secrets Manager.
 */
export class GenesysRotationFunction extends Construct {
  /** Name of the permission that lets Secrets Manager invoke the function (same account only). */
  static readonly INVOKE_PERMISSION_ID = "InvokedBySecretsManager";

  readonly function: lambda.IFunction;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  /** Lets secretsmanager.amazonaws.com invoke the function, conditioned on this account (confused-deputy guard). */
  readonly invokePermission: lambda.CfnPermission;
  /**
   * The function's POWERTOOLS_SERVICE_NAME: the `service` key of its log lines and the `service` dimension
   * of its custom metrics (RotationStepSucceeded, RotationStepFailed, ...), unique to this construct.
   */
  readonly serviceName: string;

  readonly #secretAccess: GrowingStatement;
  readonly #versionDates: GrowingStatement;
  readonly #keyAccess: SecretKeyAccess;
  readonly #integrationCredentials = new Map<string, readonly string[]>();
  /** Secret name → admin secret ARN ("" = self-managed); becomes ADMIN_SECRET_ARNS. */
  readonly #adminPins = new Map<string, string>();
  readonly #handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: GenesysRotationFunctionProps = {}) {
    super(scope, id);
    this.serviceName = scopedServiceName(this);
    const timeout = props.timeout ?? Duration.minutes(5);
    const propagationTimeout = props.propagationTimeout ?? Duration.seconds(60);
    if (propagationTimeout.toSeconds() + 30 > timeout.toSeconds()) {
      throw new ConfigurationError(
        `${this.node.path}: propagationTimeout`,
        `must be at least 30 seconds shorter than timeout (${timeout.toSeconds()} s), got ${propagationTimeout.toSeconds()} s`,
      );
    }
    const environment: Record<string, string> = {
      PROPAGATION_TIMEOUT_SECONDS: String(propagationTimeout.toSeconds()),
      INTEGRATION_CREDENTIALS: Lazy.string({
        produce: () => JSON.stringify(Object.fromEntries(this.#integrationCredentials)),
      }),
    };
    this.#handler = new HandlerFunction(this, "Handler", {
      entry: "lambda/rotation/handler.ts",
      description: "Rotates Genesys Cloud OAuth client secrets (Secrets Manager rotation function)",
      serviceName: this.serviceName,
      environment,
      timeout,
      memorySize: props.memorySize ?? 256,
      architecture: props.architecture,
      extraEnvironments: props.extraEnvironments,
      logRetention: props.logRetention,
      network: props.network,
    });
    this.function = this.#handler.function;
    this.role = this.#handler.role;
    this.logGroup = this.#handler.logGroup;

    this.#secretAccess = new GrowingStatement(this.role, {
      sid: "RotateGenesysCredentialSecrets",
      actions: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
      ],
    });
    // Single-client secrets only: after a lost PutSecretValue, the live secret exists only in Genesys and
    // AWSCURRENT is dead by the rotation's own hand. The retry may regenerate again only with evidence that
    // the client changed after this rotation's AWSPENDING version was created — a date that only
    // ListSecretVersionIds returns (read-only metadata, no secret value).
    this.#versionDates = new GrowingStatement(this.role, {
      sid: "ReadVersionDatesOfSingleClientSecrets",
      actions: ["secretsmanager:ListSecretVersionIds"],
    });
    this.#keyAccess = new SecretKeyAccess(this.role, {
      sid: "UseSecretKeysThroughSecretsManager",
      // Decrypt for GetSecretValue, GenerateDataKey for PutSecretValue: what Secrets Manager asks KMS for.
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
    });

    this.#handler.function.addPermission(GenesysRotationFunction.INVOKE_PERMISSION_ID, {
      principal: new iam.ServicePrincipal("secretsmanager.amazonaws.com"),
      action: "lambda:InvokeFunction",
      // AWS's advice: SourceAccount, not SourceArn (that would pin the function to one secret).
      sourceAccount: Stack.of(this).account,
    });
    this.invokePermission = this.#handler.function.node.findChild(
      GenesysRotationFunction.INVOKE_PERMISSION_ID,
    ) as lambda.CfnPermission;
  }

  /**
   * Allows this function to rotate `secret`: Describe/Get/Put/UpdateVersionStage on exactly that secret
   * (a partial ARN of an imported secret gets Secrets Manager's `-??????` suffix), and Decrypt/GenerateDataKey
   * on `encryptionKey` when Secrets Manager calls KMS for it.
   *
   * @param encryptionKey the secret's customer managed key. @default `secret.encryptionKey` (none = aws/secretsmanager)
   */
  grantRotation(
    secret: secretsmanager.ISecret,
    encryptionKey?: kms.IKey,
    options: { readonly strategy?: Strategy } = {},
  ): void {
    const secretArn = secretResourceArn(secret);
    this.#secretAccess.addResource(secretArn);
    if (options.strategy === "single") this.#versionDates.addResource(secretArn);
    this.#keyAccess.addKey(encryptionKey ?? secret.encryptionKey);
  }

  /**
   * Sets TOKEN_VENDOR_FUNCTION_NAME and allows lambda:InvokeFunction on the vendor, so that each
   * finishSecret refreshes the vendor's cached token from the new secret (best effort).
   */
  grantCacheWarming(vendor: TokenVendor): void {
    this.#handler.function.addEnvironment("TOKEN_VENDOR_FUNCTION_NAME", vendor.function.functionName);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "WarmTokenVendorCache",
        actions: ["lambda:InvokeFunction"],
        resources: [vendor.function.functionArn],
      }),
    );
  }

  /**
   * Pins the admin secret that the value of the secret named `secretName` may name in `adminSecretArn`
   * (`undefined`: none, the secret is a self-managed pair). The function then refuses, before reading any
   * admin secret, a value whose `adminSecretArn` differs — so whoever can write a rotated secret cannot
   * choose which admin acts on it. Sets `ADMIN_SECRET_ARNS` on the first call; from then on every secret
   * the function rotates must be pinned (an unlisted secret is refused). {@link GenesysCredential} pins
   * each credential it creates or imports.
   */
  pinAdminSecret(secretName: string, adminSecret: secretsmanager.ISecret | undefined): void {
    const pinned = adminSecret?.secretArn ?? "";
    const existing = this.#adminPins.get(secretName);
    if (existing !== undefined && existing !== pinned) {
      throw new ConfigurationError(
        `${this.node.path}: admin secret of ${secretName}`,
        "is already pinned to another admin secret; a secret has exactly one admin",
      );
    }
    if (this.#adminPins.size === 0) {
      this.#handler.function.addEnvironment(
        "ADMIN_SECRET_ARNS",
        // toJsonString: the ARN of a secret created in this stack is a token (Ref).
        Lazy.string({ produce: () => Stack.of(this).toJsonString(Object.fromEntries(this.#adminPins)) }),
      );
    }
    this.#adminPins.set(secretName, pinned);
  }

  /**
   * After each rotation of the secret named `secretName`, copy the new client id and secret into these
   * Genesys integration credentials (Data Actions), so that they keep working.
   */
  addIntegrationCredentials(secretName: string, integrationCredentialIds: readonly string[]): void {
    if (integrationCredentialIds.length === 0) return;
    if (this.#integrationCredentials.has(secretName)) {
      throw new ConfigurationError(
        `${this.node.path}: integration credentials of ${secretName}`,
        "are already set; pass every id in one call",
      );
    }
    this.#integrationCredentials.set(secretName, [...integrationCredentialIds]);
  }

  /** Errors of the rotation function (any failed step). */
  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#handler.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum", ...props });
  }

  /** Throttled invocations: Secrets Manager retries, but a throttled rotation is delayed or fails. */
  metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#handler.function.metricThrottles({
      period: Duration.minutes(5),
      statistic: "Sum",
      ...props,
    });
  }
}
