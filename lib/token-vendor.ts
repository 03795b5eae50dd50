/**
 * The token-vending function (lambda/vending/handler.ts) with its DynamoDB token cache.
 */
import { ArnFormat, Aws, Duration, Lazy, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct, type IConstruct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import { GrowingStatement, SecretKeyAccess } from "./private/growing-statement.ts";
import {
  type GenesysFunctionProps,
  HandlerFunction,
  METRICS_NAMESPACE,
  scopedServiceName,
} from "./private/node-function.ts";
import { secretResourceArn } from "./private/secret-arn.ts";

/** Properties of {@link TokenVendor}. */
export interface TokenVendorProps extends GenesysFunctionProps {
  /** Key for the token table (tokens are bearer credentials: encrypt them with a key you control). */
  readonly encryptionKey: kms.IKey;
  /** Credentials to vend, in order; the first is the default. More can be added with {@link TokenVendor.addCredential}. @default none */
  readonly credentials?: readonly GenesysCredential[];
  /** @default 512 (more memory = more CPU = a faster cold start) */
  readonly memorySize?: number;
  /** Longest time a caller waits for a token, including a mint under rate limiting. @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** How long one caller may mint before another takes over (LEASE_SECONDS). @default the function's default, 30 s */
  readonly lease?: Duration;
  /** The table only caches tokens, so it is deleted with the stack by default. @default RemovalPolicy.DESTROY */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

/** A token vendor a consumer can be granted: one of this app ({@link TokenVendor}) or an imported one. */
export interface ITokenVendor extends IConstruct {
  /** The vending function's unqualified ARN. */
  readonly functionArn: string;
  /** The vending function's name (what the consumer library's `functionName` takes). */
  readonly functionName: string;
  /** Lets `grantee` (a consumer function's role) ask for tokens of `credentialName`. */
  grantVend(grantee: iam.IGrantable, credentialName: string): iam.Grant;
}

/** The rule of a credential name (as GenesysCredential's `credentialName`), also a Lambda alias name. */
const CREDENTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
/** An unqualified Lambda function ARN (no version or alias suffix). */
const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}$/;

/** A vendor of another stack or app: only grants (see {@link TokenVendor.fromFunctionArn}). */
class ImportedTokenVendor extends Construct implements ITokenVendor {
  readonly functionArn: string;
  readonly functionName: string;

  constructor(scope: Construct, id: string, functionArn: string) {
    super(scope, id);
    if (!Token.isUnresolved(functionArn) && !FUNCTION_ARN.test(functionArn)) {
      throw new ConfigurationError(
        `${this.node.path}: functionArn`,
        "must be an unqualified Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>, no version or alias)",
      );
    }
    this.functionArn = functionArn;
    this.functionName = Stack.of(this).splitArn(functionArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
  }

  /** lambda:InvokeFunction on `<functionArn>:<credentialName>` only (the vendor's alias of that credential). */
  grantVend(grantee: iam.IGrantable, credentialName: string): iam.Grant {
    if (!CREDENTIAL_NAME.test(credentialName)) {
      throw new ConfigurationError(
        `${this.node.path}: credentialName`,
        `"${credentialName}" must be 1-48 characters of letters, digits, '-' or '_'`,
      );
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ["lambda:InvokeFunction"],
      resourceArns: [`${this.functionArn}:${credentialName}`],
      scope: this,
    });
  }
}

/**
 * Serves Genesys access tokens to consumer functions, so that they never hold a client secret and the
 * whole fleet mints one token per lifetime. Grant consumers with {@link grantVend}.
 */
export class TokenVendor extends Construct implements ITokenVendor {
  /** The metric the vending function emits for every failed mint (Powertools, dimension `service`). */
  static readonly MINT_FAILURES_METRIC = "TokenMintFailures";
  /** The metric the vending function emits when it refuses a staged secret value as a fallback. */
  static readonly FALLBACK_REJECTED_METRIC = "FallbackStageRejected";

  /**
   * A vendor deployed elsewhere (another stack or app), by its function's unqualified ARN: a consumer
   * stack grants itself vending with {@link ITokenVendor.grantVend}. The ARN is the `TokenVendorFunctionArn`
   * output of the stack that deploys the vendor.
   */
  static fromFunctionArn(scope: Construct, id: string, functionArn: string): ITokenVendor {
    return new ImportedTokenVendor(scope, id, functionArn);
  }

  readonly function: lambda.IFunction;
  readonly table: dynamodb.ITable;
  /**
   * The function's POWERTOOLS_SERVICE_NAME: the `service` key of its log lines and the `service` dimension
   * of its custom metrics, unique to this construct, so that the metric methods and alarms of one vendor
   * never count another's.
   */
  readonly serviceName: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;

  readonly #credentials = new Map<string, GenesysCredential>();
  readonly #secretAccess: GrowingStatement;
  readonly #keyAccess: SecretKeyAccess;

  constructor(scope: Construct, id: string, props: TokenVendorProps) {
    super(scope, id);
    this.serviceName = scopedServiceName(this);
    const timeout = props.timeout ?? Duration.seconds(10);
    if (props.lease !== undefined && props.lease.toSeconds() >= 900) {
      throw new ConfigurationError(`${this.node.path}: lease`, "must be shorter than 900 seconds");
    }

    const table = new dynamodb.Table(this, "TokenTable", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      // Expired items are removed eventually; the function never trusts TTL and compares expiresAt.
      timeToLiveAttribute: "ttl",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.table = table;

    const environment: Record<string, string> = {
      CREDENTIALS: Lazy.string({ produce: () => this.#credentialsJson() }),
      TOKEN_TABLE_NAME: table.tableName,
    };
    if (props.lease !== undefined) environment.LEASE_SECONDS = String(props.lease.toSeconds());
    const handler = new HandlerFunction(this, "Handler", {
      entry: "lambda/vending/handler.ts",
      description: "Vends Genesys Cloud access tokens (token-vending function)",
      serviceName: this.serviceName,
      environment,
      timeout,
      memorySize: props.memorySize ?? 512,
      // On the consumers' hot path: no source-map work per stack trace (errors carry stable names anyway).
      enableSourceMaps: false,
      architecture: props.architecture,
      extraEnvironments: props.extraEnvironments,
      logRetention: props.logRetention,
      network: props.network,
    });
    this.function = handler.function;
    this.role = handler.role;
    this.logGroup = handler.logGroup;
    this.#secretAccess = new GrowingStatement(this.role, {
      sid: "ReadVendedCredentialSecrets",
      // DescribeSecret maps staging labels to versions; GetSecretValue reads a version (by VersionId).
      actions: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
    });
    this.#keyAccess = new SecretKeyAccess(this.role, {
      sid: "DecryptCredentialSecretsThroughSecretsManager",
      actions: ["kms:Decrypt"],
    });

    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "TokenCacheItems",
        // Reads and conditional writes of single items (lease, generation); no scans, no deletes.
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [table.tableArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "TokenCacheKeyThroughDynamoDb",
        // The set DynamoDB documents for principals using a table under a customer managed key.
        actions: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        resources: [props.encryptionKey.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `dynamodb.${Aws.REGION}.amazonaws.com` } },
      }),
    );
    for (const credential of props.credentials ?? []) this.addCredential(credential);
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  get functionName(): string {
    return this.function.functionName;
  }

  /** Names of the vended credentials, in order (the first is the default). */
  get credentialNames(): string[] {
    return [...this.#credentials.keys()];
  }

  /** Vends tokens for `credential` and lets the function read (only) its secret. */
  addCredential(credential: GenesysCredential): void {
    if (this.#credentials.has(credential.credentialName)) {
      throw new ConfigurationError(
        `${this.node.path}: credentials`,
        `"${credential.credentialName}" is already vended; credential names must be unique`,
      );
    }
    this.#credentials.set(credential.credentialName, credential);
    this.#secretAccess.addResource(secretResourceArn(credential.secret));
    this.#keyAccess.addKey(credential.encryptionKey);
  }

  /** Lets `grantee` (a consumer function's role) ask for tokens: lambda:InvokeFunction on the vendor only. */
  grantVend(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }

  /** Failed invocations (errors a consumer saw: unknown credential, rejected credential, rate limit, ...). */
  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum", ...props });
  }

  /** Throttled invocations: consumers got no token at all. */
  metricThrottles(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), statistic: "Sum", ...props });
  }

  /** Latency seen by consumers. */
  metricDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricDuration({ period: Duration.minutes(5), statistic: "p99", ...props });
  }

  /** Mint attempts that failed at the Genesys token endpoint (custom metric of the vending function). */
  metricTokenMintFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric(TokenVendor.MINT_FAILURES_METRIC, props);
  }

  /**
   * AWSPENDING/AWSPREVIOUS values the vendor refused as a fallback because they do not continue AWSCURRENT's
   * client pair (other client, environment or strategy): a failed or tampered rotation left them behind.
   */
  metricFallbackStageRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric(TokenVendor.FALLBACK_REJECTED_METRIC, props);
  }

  #customMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      period: Duration.minutes(5),
      statistic: "Sum",
      ...props,
    });
  }

  /** CREDENTIALS: `{ "<name>": "<secret ARN>" }` in insertion order (the first is the default). */
  #credentialsJson(): string {
    if (this.#credentials.size === 0) {
      throw new ConfigurationError(`${this.node.path}: credentials`, "must contain at least one credential");
    }
    const mapping = Object.fromEntries(
      [...this.#credentials].map(([name, credential]) => [name, credential.secret.secretArn]),
    );
    return Stack.of(this).toJsonString(mapping);
  }
}
