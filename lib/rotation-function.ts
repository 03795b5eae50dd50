/**
 * The Secrets Manager rotation function (lambda/rotation/handler.ts) and its exact permissions.
 */
import { Duration, Lazy, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import { ROTATION_STEPS } from "../lambda/shared/staging-labels.ts";
import { GrowingStatement, SecretKeyAccess } from "./private/growing-statement.ts";
import {
  type GenesysFunctionProps,
  HandlerFunction,
  METRICS_NAMESPACE,
  scopedServiceName,
} from "./private/node-function.ts";
import { createdSecretNamePrefix, secretResourceArn } from "./private/secret-arn.ts";
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
  /**
   * MIN_ROTATION_GAP_SECONDS: how long after a client stopped being AWSCURRENT a rotation may regenerate
   * it (docs/rotation.md, "Minimum gap between rotations"). @default the function's (176400 s)
   */
  readonly minRotationGap?: Duration;
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
  readonly #keyAccess: SecretKeyAccess;
  readonly #integrationCredentials = new Map<string, readonly string[]>();
  /** Secret name → admin secret ARN ("" = self-managed); becomes ADMIN_SECRET_ARNS (grouped by admin). */
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
      ...(props.minRotationGap === undefined
        ? {}
        : { MIN_ROTATION_GAP_SECONDS: String(props.minRotationGap.toSeconds()) }),
      INTEGRATION_CREDENTIALS: Lazy.string({
        produce: () => JSON.stringify(Object.fromEntries(this.#integrationCredentials)),
      }),
      SECRET_NAME_PREFIX: createdSecretNamePrefix(this),
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
  grantRotation(secret: secretsmanager.ISecret, encryptionKey?: kms.IKey): void {
    const secretArn = secretResourceArn(secret);
    this.#secretAccess.addResource(secretArn);
    this.#keyAccess.addKey(encryptionKey ?? secret.encryptionKey);
  }

  /**
   * Sets TOKEN_VENDOR_FUNCTION_NAME to the vendor's `cache-warming` alias and allows
   * lambda:InvokeFunction on that alias only (no credential's alias: this function never gets a token),
   * so that each finishSecret refreshes the vendor's cached token from the new secret (best effort).
   */
  grantCacheWarming(vendor: TokenVendor): void {
    const alias = vendor.cacheWarmingAlias;
    this.#handler.function.addEnvironment("TOKEN_VENDOR_FUNCTION_NAME", alias.functionName);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "WarmTokenVendorCache",
        actions: ["lambda:InvokeFunction"],
        resources: [alias.functionArn],
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
        Lazy.string({ produce: () => this.#adminPinsJson() }),
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
    this.#integrationCredentials.set(this.#relativeName(secretName), [...integrationCredentialIds]);
  }

  /**
   * ADMIN_SECRET_ARNS grouped by admin, `{ "<admin secret ARN>" | "": ["<secret>", ...] }`, secrets named
   * after SECRET_NAME_PREFIX: each admin ARN once, so that 100 credentials fit the 4 KB environment.
   */
  #adminPinsJson(): string {
    const groups = new Map<string, string[]>();
    for (const [secretName, admin] of this.#adminPins) {
      groups.set(admin, [...(groups.get(admin) ?? []), this.#relativeName(secretName)]);
    }
    // Written by hand: an admin ARN created in this stack is a token (Ref), and tokens cannot be JSON keys
    // of toJsonString. ARNs and secret names hold no character JSON would escape.
    return `{${[...groups].map(([admin, secrets]) => `"${admin}":${JSON.stringify(secrets)}`).join(",")}}`;
  }

  /** A secret name as the function's configuration gives it: `./<rest>` when it has SECRET_NAME_PREFIX. */
  #relativeName(secretName: string): string {
    const prefix = createdSecretNamePrefix(this);
    return !Token.isUnresolved(secretName) && secretName.startsWith(prefix)
      ? `./${secretName.slice(prefix.length)}`
      : secretName;
  }

  /** Errors of the rotation function (any failed step). */
  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#handler.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum", ...props });
  }

  /** Rotations completed: finishSecret moved AWSCURRENT to the new version (custom metric `RotationFinished`). */
  metricRotationsFinished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#stepMetric("RotationFinished", "finishSecret", props);
  }

  /** Rotation steps that failed, all four steps summed (custom metric `RotationStepFailed`, per `step`). */
  metricStepFailures(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    const usingMetrics = Object.fromEntries(
      ROTATION_STEPS.map((step) => [step, this.#stepMetric("RotationStepFailed", step)]),
    );
    return new cloudwatch.MathExpression({
      expression: ROTATION_STEPS.map((step) => `FILL(${step}, 0)`).join(" + "),
      usingMetrics,
      period: Duration.minutes(5),
      label: "Failed rotation steps",
      ...props,
    });
  }

  /**
   * Failed best-effort actions after finishSecret (metric `FinishHookFailed`): cache warming, or an
   * integration credential (Data Action) that still holds the old secret.
   */
  metricFinishHookFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#stepMetric("FinishHookFailed", "finishSecret", props);
  }

  /** Throttled invocations: Secrets Manager retries, but a throttled rotation is delayed or fails. */
  metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#handler.function.metricThrottles({
      period: Duration.minutes(5),
      statistic: "Sum",
      ...props,
    });
  }

  #stepMetric(metricName: string, step: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName, step },
      period: Duration.minutes(5),
      statistic: "Sum",
      ...props,
    });
  }
}
