/**
 * The token-vending function (lambda/vending/handler.ts) with its DynamoDB token cache.
 */
import { ArnFormat, Aws, Duration, Lazy, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct, type IConstruct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { VendMetricName } from "../lambda/shared/vend-metric-names.ts";
import {
  CACHE_WARMING_ALIAS,
  CREDENTIAL_NAME_RULE,
  isAliasableCredentialName,
  isCredentialNameShape,
  VENDED_NAME_EXTRA_RULE,
} from "../lambda/shared/vendor-alias.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import { GrowingStatement, SecretKeyAccess } from "./private/growing-statement.ts";
import {
  type GenesysFunctionProps,
  HandlerFunction,
  METRICS_NAMESPACE,
  scopedServiceName,
} from "./private/node-function.ts";
import { createdSecretNamePrefix, secretReference, secretResourceArn } from "./private/secret-arn.ts";

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
  /**
   * Shortest time between two mints that replace a token consumers reported rejected when Genesys
   * could not be asked whether it is (a confirmed rejection is always replaced), per credential
   * (REJECTION_MINT_INTERVAL_SECONDS, 1 s–1 h). @default the function's default, 30 s
   */
  readonly rejectionMintInterval?: Duration;
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
    if (!isCredentialNameShape(credentialName)) {
      throw new ConfigurationError(
        `${this.node.path}: credentialName`,
        `"${credentialName}" ${CREDENTIAL_NAME_RULE}`,
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
 *
 * Each vended credential has a Lambda alias of its name (pointing at `$LATEST`), and the vendor serves a
 * credential only through its alias: a consumer granted `<function>:<credential>` gets that credential's
 * tokens and no other's (docs/vending.md, "Who may vend which credential"). The `cache-warming` alias
 * accepts only the rotation function's warm requests.
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
  /** The alias only the rotation function may invoke (warm requests after a rotation). */
  readonly cacheWarmingAlias: lambda.Alias;

  readonly #credentials = new Map<string, GenesysCredential>();
  readonly #aliases = new Map<string, lambda.Alias>();
  readonly #secretAccess: GrowingStatement;
  readonly #keyAccess: SecretKeyAccess;

  constructor(scope: Construct, id: string, props: TokenVendorProps) {
    super(scope, id);
    this.serviceName = scopedServiceName(this);
    const timeout = props.timeout ?? Duration.seconds(10);
    if (props.lease !== undefined && props.lease.toSeconds() >= 900) {
      throw new ConfigurationError(`${this.node.path}: lease`, "must be shorter than 900 seconds");
    }
    const rejectionMintSeconds = props.rejectionMintInterval?.toSeconds();
    if (
      rejectionMintSeconds !== undefined &&
      (!Number.isInteger(rejectionMintSeconds) || rejectionMintSeconds < 1 || rejectionMintSeconds > 3600)
    ) {
      throw new ConfigurationError(
        `${this.node.path}: rejectionMintInterval`,
        "must be a whole number of seconds from 1 to 3600",
      );
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
      SECRET_NAME_PREFIX: createdSecretNamePrefix(this),
      TOKEN_TABLE_NAME: table.tableName,
    };
    if (props.lease !== undefined) environment.LEASE_SECONDS = String(props.lease.toSeconds());
    if (rejectionMintSeconds !== undefined) {
      environment.REJECTION_MINT_INTERVAL_SECONDS = String(rejectionMintSeconds);
    }
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
    // Aliases of $LATEST: no published versions pile up, and a code update reaches every alias at once.
    this.cacheWarmingAlias = new lambda.Alias(this, "CacheWarmingAlias", {
      aliasName: CACHE_WARMING_ALIAS,
      version: this.function.latestVersion,
      description: "Cache warming after a rotation (the rotation function only)",
    });
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
        // Reads and conditional updates of single items (lease, token, release: token-table.ts writes only with
        // UpdateItem); no puts, no scans, no deletes.
        actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
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

  /**
   * Vends tokens for `credential` through a new alias of its name, and lets the function read (only)
   * its secret.
   */
  addCredential(credential: GenesysCredential): void {
    const name = credential.credentialName;
    if (this.#credentials.has(name)) {
      throw new ConfigurationError(
        `${this.node.path}: credentials`,
        `"${name}" is already vended; credential names must be unique`,
      );
    }
    if (!isAliasableCredentialName(name)) {
      throw new ConfigurationError(`${this.node.path}: credentials`, `"${name}" ${VENDED_NAME_EXTRA_RULE}`);
    }
    this.#credentials.set(name, credential);
    this.#aliases.set(
      name,
      new lambda.Alias(this, `CredentialAlias-${name}`, {
        aliasName: name,
        version: this.function.latestVersion,
        description: `Vends tokens of Genesys credential "${name}" only`,
      }),
    );
    this.#secretAccess.addResource(secretResourceArn(credential.secret));
    this.#keyAccess.addKey(credential.encryptionKey);
  }

  /**
   * Lets `grantee` (a consumer function's role) ask for tokens of one credential: lambda:InvokeFunction
   * on that credential's alias only (not the function, not another alias). Give the consumer
   * {@link vendorFunctionNameFor} the same credential as its `TOKEN_VENDOR_FUNCTION_NAME`.
   *
   * @param credentialName @default the first credential
   * @throws ConfigurationError naming the credential when this vendor does not vend it
   */
  grantVend(grantee: iam.IGrantable, credentialName?: string): iam.Grant {
    return this.credentialAlias(credentialName).grantInvoke(grantee);
  }

  /**
   * The alias consumers of `credentialName` invoke (`<function>:<credential>`).
   * @param credentialName @default the first credential
   * @throws ConfigurationError naming the credential when this vendor does not vend it
   */
  credentialAlias(credentialName?: string): lambda.IAlias {
    const name = credentialName ?? this.credentialNames[0];
    const alias = name === undefined ? undefined : this.#aliases.get(name);
    if (alias === undefined) {
      throw new ConfigurationError(
        `${this.node.path}: credentialName`,
        name === undefined
          ? "no credential is vended yet (add one before granting)"
          : `"${name}" is not vended here; vended credentials: ${this.credentialNames.join(", ")}`,
      );
    }
    return alias;
  }

  /**
   * The function name a consumer of `credentialName` invokes, `<function name>:<credential>`: set it as
   * the consumer's `TOKEN_VENDOR_FUNCTION_NAME`.
   * @param credentialName @default the first credential
   */
  vendorFunctionNameFor(credentialName?: string): string {
    return this.credentialAlias(credentialName).functionName;
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

  /** Tokens minted at the Genesys token endpoint (every other request was served from a cache). */
  metricTokenMints(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("TokenMints", props);
  }

  /** Requests served from a container's in-memory cache (L1), without I/O. */
  metricL1Hits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("L1Hits", props);
  }

  /** Requests served from the DynamoDB token table (L2). */
  metricL2Hits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("L2Hits", props);
  }

  /** Requests that waited for another caller's mint (the lease was held elsewhere). */
  metricLeaseWaits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("LeaseWaits", props);
  }

  /** Requests served without DynamoDB (L1 or a direct mint) because the table failed. */
  metricDynamoDbDegraded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("DynamoDbDegraded", props);
  }

  /** Tokens minted from AWSPENDING or AWSPREVIOUS because Genesys rejected AWSCURRENT. */
  metricFallbackStageUsed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.#customMetric("FallbackStageUsed", props);
  }

  #customMetric(metricName: VendMetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      period: Duration.minutes(5),
      statistic: "Sum",
      ...props,
    });
  }

  /**
   * CREDENTIALS: `{ "<name>": "<secret>" }` in insertion order (the first is the default). A secret the
   * stack created is `""` (SECRET_NAME_PREFIX + the credential's name), any other its ARN.
   */
  #credentialsJson(): string {
    if (this.#credentials.size === 0) {
      throw new ConfigurationError(`${this.node.path}: credentials`, "must contain at least one credential");
    }
    const prefix = createdSecretNamePrefix(this);
    const mapping = Object.fromEntries(
      [...this.#credentials].map(([name, credential]) => {
        if (!credential.created) return [name, credential.secret.secretArn];
        const reference = secretReference(credential.secret, credential.secretName, prefix);
        return [name, reference === `./${name}` ? "" : reference];
      }),
    );
    return Stack.of(this).toJsonString(mapping);
  }
}
