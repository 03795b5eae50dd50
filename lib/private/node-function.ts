/**
 * The one place that decides how this project's Lambda handlers are built and run: runtime, bundling,
 * role and log group. Both functions use it, so they cannot drift apart.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../../lambda/shared/metrics.ts";

/** The repository root (lib/private/ → ../..). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The CloudWatch namespace of every custom metric of this project: the handlers' own (one definition). */
export { METRICS_NAMESPACE } from "../../lambda/shared/metrics.ts";

/** Where a function runs when static egress is configured. */
export interface FunctionNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
}

/** Properties every Genesys function construct accepts and hands to {@link HandlerFunction} unchanged. */
export interface GenesysFunctionProps {
  /** @default lambda.Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** Genesys environment domains allowed besides the built-in list (GENESYS_EXTRA_ENVIRONMENTS). @default none */
  readonly extraEnvironments?: readonly string[];
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** @default outside any VPC (Genesys Cloud is a public SaaS; a VPC only adds failure modes) */
  readonly network?: FunctionNetwork;
}

/** Properties of {@link HandlerFunction}. */
export interface HandlerFunctionProps extends GenesysFunctionProps {
  /** Entry file relative to the project root, e.g. `lambda/rotation/handler.ts` (export `handler`). */
  readonly entry: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME: the `service` key of every log line and metric. */
  readonly serviceName: string;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly memorySize: number;
  /**
   * Map stack traces to the TypeScript sources at run time (NODE_OPTIONS=--enable-source-maps). Costs
   * time whenever a stack trace is built; the map ships in the bundle either way.
   * @default true
   */
  readonly enableSourceMaps?: boolean;
}

/**
 * A Node.js 24 Lambda function bundled locally by esbuild, with its own role (no AWS managed policy:
 * it may only write to its own log group until grants are added) and an explicit log group with retention.
 */
export class HandlerFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      // Rotation and vending logs are the audit trail of who got which credential: keep them.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of: ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);
    if (props.network !== undefined) {
      // ENI management for a VPC function; AWS documents this managed policy for exactly this purpose.
      this.role.addManagedPolicy(
        iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaVPCAccessExecutionRole"),
      );
    }

    this.function = new nodejs.NodejsFunction(this, "Function", {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: "handler",
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(props.enableSourceMaps === false ? {} : { NODE_OPTIONS: "--enable-source-maps" }),
        ...props.environment,
        ...(props.extraEnvironments === undefined || props.extraEnvironments.length === 0
          ? {}
          : { GENESYS_EXTRA_ENVIRONMENTS: props.extraEnvironments.join(",") }),
      },
      bundling: {
        // Local esbuild (a devDependency): synth needs neither Docker nor the network.
        forceDockerBundling: false,
        // ESM output keeps our sources' semantics (import.meta, top-level await); the banner gives
        // CommonJS dependencies (undici) the `require` that ESM lacks.
        format: nodejs.OutputFormat.ESM,
        mainFields: ["module", "main"],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // Pin the AWS SDK we test against instead of whatever version the runtime ships.
        bundleAwsSDK: true,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: "node24",
      },
      ...(props.network === undefined
        ? {}
        : {
            vpc: props.network.vpc,
            vpcSubnets: props.network.vpcSubnets,
            securityGroups: props.network.securityGroups,
          }),
    });
  }
}
