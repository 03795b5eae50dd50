/**
 * `GenesysOAuthRotator`: the whole rotator (what the repository's own stack deploys) as one construct for
 * your own CDK app. Its props are the `genesys-oauth-rotator` context object of cdk.json: same keys, same
 * defaults, same validation (lib/config.ts).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Tags, Validations } from "aws-cdk-lib";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { GenesysProfile } from "../lambda/shared/genesys/profile.ts";
import { isCompleteSecretArn } from "../lambda/shared/secret-arn.ts";
import type { Strategy } from "../lambda/shared/secret-value.ts";
import {
  type AdminCredentialConfig,
  type CredentialConfig,
  outputIdFragment,
  parseRotatorConfig,
  type RotatorConfig,
} from "./config.ts";
import { GenesysCredential, type RotationScheduleOptions } from "./genesys-credential.ts";
import { warnAboutGenesysProfile } from "./genesys-profile-config.ts";
import { assertDeployLimits } from "./private/deploy-limits.ts";
import { GenesysRotationFunction } from "./rotation-function.ts";
import { RotatorAlarms } from "./rotator-alarms.ts";
import { RotatorDashboard } from "./rotator-dashboard.ts";
import { SecretAgeMonitor } from "./secret-age-monitor.ts";
import { StaticEgressNetwork } from "./static-egress.ts";
import { TokenVendor } from "./token-vendor.ts";

/** One entry of {@link GenesysOAuthRotatorProps.credentials} (see `CredentialConfig` for each key). */
export interface GenesysOAuthRotatorCredentialProps {
  readonly name: string;
  readonly environment: string;
  /** @default "alternating" */
  readonly strategy?: Strategy;
  readonly importSecretArn?: string;
  readonly importSecretKmsKeyArn?: string;
  readonly admin?: string;
  /** @default none */
  readonly integrationCredentialIds?: readonly string[];
}

/** One entry of {@link GenesysOAuthRotatorProps.adminCredentials} (see `AdminCredentialConfig`). */
export interface GenesysOAuthRotatorAdminCredentialProps {
  readonly name: string;
  readonly environment: string;
  readonly importSecretArn?: string;
  readonly importSecretKmsKeyArn?: string;
}

/**
 * Properties of {@link GenesysOAuthRotator}: the `genesys-oauth-rotator` context object of cdk.json, key
 * for key (docs and defaults: `RotatorConfig` in lib/config.ts). A validated `RotatorConfig` is accepted too.
 */
export interface GenesysOAuthRotatorProps {
  /** Used by the repository's own app as the stack name; the construct itself ignores it. */
  readonly stackName?: string;
  readonly credentials: readonly GenesysOAuthRotatorCredentialProps[];
  /** @default none */
  readonly adminCredentials?: readonly GenesysOAuthRotatorAdminCredentialProps[];
  /** @default { expression: "rate(90 days)" } */
  readonly schedule?: {
    readonly expression?: string;
    readonly windowHours?: number;
    readonly maxSecretAgeDays?: number;
  };
  readonly alarmEmail?: string;
  readonly alarmTopicArn?: string;
  /** @default "arm64" */
  readonly architecture?: "arm64" | "x86_64";
  readonly staticEgress?: {
    readonly eipAllocationIds?: readonly string[];
    readonly natGateways?: number;
    readonly maxAzs?: number;
  };
  /** @default none */
  readonly extraEnvironments?: readonly string[];
  /** @default true */
  readonly warmTokenCache?: boolean;
  /** Create the CloudWatch dashboard (docs/deploy.md#dashboard). @default true */
  readonly dashboard?: boolean;
  readonly rotationFunction?: {
    readonly memorySize?: number;
    readonly propagationTimeoutSeconds?: number;
    /**
     * Shortest time between two rotations of one secret: a client that was AWSCURRENT is not regenerated
     * sooner (docs/rotation.md). @default 176400 (48 h token lifetime + 1 h secret cache), capped by the schedule
     */
    readonly minRotationGapSeconds?: number;
  };
  readonly vendingFunction?: {
    readonly memorySize?: number;
    readonly timeoutSeconds?: number;
    readonly leaseSeconds?: number;
    /** Shortest interval between two mints caused by reported 401s, per credential (fleet-wide). @default 30 */
    readonly rejectionMintSeconds?: number;
  };
  /** @default 365 */
  readonly logRetentionDays?: number;
  /**
   * A profile written by `genesys-rotator probe` (a file path, relative to where `cdk` runs, or the parsed
   * object): sizes `rotationFunction.propagationTimeoutSeconds` when that is unset, and synth warns where
   * the configuration contradicts it. @default none
   */
  readonly genesysProfile?: string | GenesysProfile;
}

/**
 * KMS key, credentials (secrets + rotation schedules), the rotation function, the token vendor, the
 * alarms, the stack outputs and, optionally, the static-egress network. Invalid props throw
 * `RotatorConfigError` listing every problem by its key path (`genesys-oauth-rotator.<key>`), before
 * anything is added to the scope.
 */
export class GenesysOAuthRotator extends Construct {
  /** The validated props with every default applied. */
  readonly config: RotatorConfig;
  readonly encryptionKey: kms.Key;
  readonly rotationFunction: GenesysRotationFunction;
  readonly tokenVendor: TokenVendor;
  /** Credentials vended to consumers, in configuration order. */
  readonly credentials: readonly GenesysCredential[];
  /** Admin credentials, by configured name. */
  readonly adminCredentials: ReadonlyMap<string, GenesysCredential>;
  readonly alarms: RotatorAlarms;
  readonly secretAgeMonitor: SecretAgeMonitor;
  /** Absent with `dashboard: false`. */
  readonly dashboard?: RotatorDashboard;
  readonly network?: StaticEgressNetwork;

  constructor(scope: Construct, id: string, props: GenesysOAuthRotatorProps) {
    // Validate before the construct joins the tree: a bad configuration leaves the scope untouched.
    const config = parseRotatorConfig(props);
    super(scope, id);
    this.config = config;
    warnAboutGenesysProfile(this, config);
    Tags.of(this).add("project", "genesys-oauth-rotator");
    const logRetention = config.logRetentionDays as logs.RetentionDays;
    const architecture =
      config.architecture === "x86_64" ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64;

    this.encryptionKey = new kms.Key(this, "EncryptionKey", {
      description: "Genesys OAuth rotator: credential secrets, token table, alarm topic",
      enableKeyRotation: true,
      // Retained secrets stay readable only while their key exists.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (config.staticEgress !== undefined) {
      this.network = new StaticEgressNetwork(this, "StaticEgress", {
        eipAllocationIds: config.staticEgress.eipAllocationIds,
        natGateways: config.staticEgress.natGateways,
        maxAzs: config.staticEgress.maxAzs,
        flowLogRetention: logRetention,
      });
    }
    const network = this.network?.functionNetwork;

    this.rotationFunction = new GenesysRotationFunction(this, "Rotation", {
      architecture,
      memorySize: config.rotationFunction.memorySize,
      propagationTimeout: Duration.seconds(config.rotationFunction.propagationTimeoutSeconds),
      minRotationGap: Duration.seconds(config.rotationFunction.minRotationGapSeconds),
      extraEnvironments: config.extraEnvironments,
      logRetention,
      ...(network === undefined ? {} : { network }),
    });

    const schedule: RotationScheduleOptions = {
      expression: config.schedule.expression,
      ...(config.schedule.windowHours === undefined
        ? {}
        : { window: Duration.hours(config.schedule.windowHours) }),
    };
    const admins = new Map<string, GenesysCredential>();
    for (const admin of config.adminCredentials) {
      admins.set(
        admin.name,
        GenesysCredential.alternating(this, `Admin${outputIdFragment(admin.name)}`, {
          ...this.#credentialBase(admin, schedule, config),
        }),
      );
    }
    this.adminCredentials = admins;
    this.credentials = config.credentials.map((credential) => {
      const base = {
        ...this.#credentialBase(credential, schedule, config),
        integrationCredentialIds: credential.integrationCredentialIds,
      };
      const id = `Credential${outputIdFragment(credential.name)}`;
      const admin = credential.admin === undefined ? undefined : admins.get(credential.admin);
      if (credential.strategy === "single") {
        // parseRotatorConfig guarantees the admin of a single credential.
        return GenesysCredential.single(this, id, { ...base, admin: admin as GenesysCredential });
      }
      return GenesysCredential.alternating(this, id, { ...base, ...(admin === undefined ? {} : { admin }) });
    });

    this.tokenVendor = new TokenVendor(this, "TokenVendor", {
      encryptionKey: this.encryptionKey,
      credentials: this.credentials,
      architecture,
      memorySize: config.vendingFunction.memorySize,
      timeout: Duration.seconds(config.vendingFunction.timeoutSeconds),
      extraEnvironments: config.extraEnvironments,
      logRetention,
      ...(config.vendingFunction.leaseSeconds === undefined
        ? {}
        : { lease: Duration.seconds(config.vendingFunction.leaseSeconds) }),
      ...(config.vendingFunction.rejectionMintSeconds === undefined
        ? {}
        : { rejectionMintInterval: Duration.seconds(config.vendingFunction.rejectionMintSeconds) }),
      ...(network === undefined ? {} : { network }),
    });
    if (config.warmTokenCache) this.rotationFunction.grantCacheWarming(this.tokenVendor);

    const everyCredential = [...this.credentials, ...admins.values()];
    this.secretAgeMonitor = new SecretAgeMonitor(this, "SecretAgeMonitor", {
      credentials: everyCredential,
      logRetention,
    });
    this.alarms = new RotatorAlarms(this, "Alarms", {
      credentials: everyCredential,
      rotationFunction: this.rotationFunction,
      tokenVendor: this.tokenVendor,
      secretAgeMonitor: this.secretAgeMonitor,
      maxSecretAge: Duration.days(config.schedule.maxSecretAgeDays),
      ...(config.alarmTopicArn === undefined
        ? { encryptionKey: this.encryptionKey }
        : { topic: sns.Topic.fromTopicArn(this, "AlarmTopic", config.alarmTopicArn) }),
      ...(config.alarmEmail === undefined ? {} : { email: config.alarmEmail }),
    });

    if (config.dashboard) {
      const stack = Stack.of(this);
      this.dashboard = new RotatorDashboard(this, "Dashboard", {
        credentials: everyCredential,
        rotationFunction: this.rotationFunction,
        tokenVendor: this.tokenVendor,
        secretAgeMonitor: this.secretAgeMonitor,
        maxSecretAge: Duration.days(config.schedule.maxSecretAgeDays),
        // Dashboard names are unique per account across regions.
        dashboardName: `${stack.stackName}-${stack.region}`,
      });
    }

    this.#outputs(everyCredential);
    this.#acknowledgeFindings();
    // Synth must fail where the deployment would: environment, policy sizes, resources, outputs, template size.
    this.node.addValidation({
      validate: () => {
        assertDeployLimits(Stack.of(this), `${this.node.path}: credentials`);
        return [];
      },
    });
  }

  #credentialBase(
    entry: CredentialConfig | AdminCredentialConfig,
    schedule: RotationScheduleOptions,
    config: RotatorConfig,
  ) {
    const id = outputIdFragment(entry.name);
    const common = {
      rotationFunction: this.rotationFunction,
      environment: entry.environment,
      credentialName: entry.name,
      extraEnvironments: config.extraEnvironments,
      schedule,
    };
    if (entry.importSecretArn === undefined) return { ...common, encryptionKey: this.encryptionKey };
    const secret = isCompleteSecretArn(entry.importSecretArn)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, `Imported${id}Secret`, entry.importSecretArn)
      : secretsmanager.Secret.fromSecretPartialArn(this, `Imported${id}Secret`, entry.importSecretArn);
    return {
      ...common,
      secret,
      ...(entry.importSecretKmsKeyArn === undefined
        ? {}
        : { secretEncryptionKey: kms.Key.fromKeyArn(this, `Imported${id}Key`, entry.importSecretKmsKeyArn) }),
    };
  }

  #outputs(credentials: readonly GenesysCredential[]): void {
    new CfnOutput(this, "TokenVendorFunctionName", {
      description:
        "Token vendor function; consumers invoke the alias of their credential, <name>:<credential> (their TOKEN_VENDOR_FUNCTION_NAME)",
      value: this.tokenVendor.function.functionName,
    });
    new CfnOutput(this, "TokenVendorFunctionArn", {
      description:
        "Token vendor function ARN; a consumer is granted only its credential's alias, <ARN>:<credential>",
      value: this.tokenVendor.function.functionArn,
    });
    // No output per credential for `<function name>:<credential>`: CloudFormation allows 200 outputs, and
    // with one secret ARN output per credential that would cap a stack below 100 credentials.
    new CfnOutput(this, "TokenTableName", {
      description: "Token vendor's DynamoDB token cache (genesys-rotator status reads it)",
      value: this.tokenVendor.table.tableName,
    });
    new CfnOutput(this, "TokenVendorCredentials", {
      description: "Token vendor's credentials as JSON: name -> secret ARN (genesys-rotator status reads it)",
      value: Stack.of(this).toJsonString(
        Object.fromEntries(
          this.credentials.map((credential) => [credential.credentialName, credential.secret.secretArn]),
        ),
      ),
    });
    new CfnOutput(this, "RotationFunctionArn", {
      description:
        "Rotation function of every credential secret (genesys-rotator status --all selects by it)",
      value: this.rotationFunction.function.functionArn,
    });
    for (const credential of credentials) {
      new CfnOutput(this, `${credential.node.id}SecretArn`, {
        description: `Secret of Genesys credential "${credential.credentialName}"${credential.created ? " (seed it after the first deploy)" : ""}`,
        value: credential.secret.secretArn,
      });
    }
    new CfnOutput(this, "AlarmTopicArn", {
      description: "SNS topic of alarms and rotation-failure events",
      value: this.alarms.topic.topicArn,
    });
    this.network?.publicIps.forEach((ip, index) => {
      if (ip === undefined) return;
      new CfnOutput(this, `EgressIp${index + 1}`, {
        description:
          "Public egress address of the functions: add it to the Genesys OAuth clients' IP allow-list",
        value: ip,
      });
    });
  }

  /**
   * cdk-nag AwsSolutions findings that are deliberate, each acknowledged on the construct it concerns,
   * by its exact finding id, with the reason.
   */
  #acknowledgeFindings(): void {
    Validations.of(this.tokenVendor.role).acknowledge(
      {
        id: "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        reason:
          "Limited to the stack's own key and to calls made through DynamoDB (kms:ViaService): the action set DynamoDB documents for principals using a table under a customer managed key.",
      },
      {
        id: "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
        reason:
          "Limited to the stack's own key and to calls made through DynamoDB (kms:ViaService): the action set DynamoDB documents for principals using a table under a customer managed key.",
      },
    );
    const stateMachine = this.secretAgeMonitor.stateMachine;
    Validations.of(stateMachine.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "cloudwatch:PutMetricData (limited by the cloudwatch:namespace condition) and the CloudWatch Logs delivery actions Step Functions needs for logging support no resource-level permissions.",
    });
    Validations.of(stateMachine).acknowledge({
      id: "AwsSolutions-SF2",
      reason:
        "Two SDK calls per secret once an hour: the execution history and the ALL-level log show every step; X-Ray would add cost and wildcard permissions for no insight.",
    });
    if (this.network !== undefined) {
      for (const role of [this.rotationFunction.role, this.tokenVendor.role]) {
        Validations.of(role).acknowledge({
          id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
          reason:
            "Static egress puts the function in a VPC; this AWS managed policy is the documented minimum for Lambda's network interfaces (the EC2 ENI actions support no resource-level scoping).",
        });
      }
    }
  }
}
