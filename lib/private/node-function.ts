/**
 * The one place that decides how this project's Lambda handlers are deployed and run: runtime, code,
 * role and log group. Both functions use it, so they cannot drift apart.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ConfigurationError } from "../../lambda/shared/errors.ts";
import { METRICS_NAMESPACE } from "../../lambda/shared/metrics-namespace.ts";

const MODULE_PATH = fileURLToPath(import.meta.url);

/**
 * The pre-built handler bundles (`npm run build`, docs/ARCHITECTURE.md "Package"): `dist/functions/` of
 * the package when this module runs from dist/lib/private/, or of this checkout when it runs from
 * lib/private/ (the TypeScript sources). Synthesis only copies them: no esbuild, no TypeScript.
 */
export const FUNCTIONS_DIR = MODULE_PATH.endsWith(".ts")
  ? path.resolve(path.dirname(MODULE_PATH), "..", "..", "dist", "functions")
  : path.resolve(path.dirname(MODULE_PATH), "..", "..", "functions");

/** The CloudWatch namespace of every custom metric of this project: the handlers' own (one definition). */
export { METRICS_NAMESPACE } from "../../lambda/shared/metrics-namespace.ts";

/**
 * The `service` of a function construct (POWERTOOLS_SERVICE_NAME: the `service` key of its log lines and
 * the `service` dimension of its custom metrics): its stack's name and its path in the stack, e.g.
 * `GenesysOAuthRotator/Default/TokenVendor`. Stack names are unique in an account and region, so two
 * stacks (or two constructs in one stack) never count into each other's metrics and alarms.
 */
export function scopedServiceName(scope: Construct): string {
  const stack = Stack.of(scope);
  const pathInStack = scope.node.path.slice(stack.node.path.length).replace(/^\//, "");
  return pathInStack === "" ? stack.stackName : `${stack.stackName}/${pathInStack}`;
}

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
  /**
   * Entry file relative to the project root, e.g. `lambda/rotation/handler.ts` (export `handler`); the
   * function deploys its pre-built bundle `FUNCTIONS_DIR/<entry's folder>/index.mjs`.
   */
  readonly entry: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME: the `service` key of every log line and metric ({@link scopedServiceName}). */
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
 * A Node.js 24 Lambda function running its pre-built bundle, with its own role (no AWS managed policy:
 * it may only write to its own log group until grants are added) and an explicit log group with retention.
 */
export class HandlerFunction extends Construct {
  readonly function: lambda.Function;
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

    this.function = new lambda.Function(this, "Function", {
      code: lambda.Code.fromAsset(handlerBundle(props.entry)),
      handler: "index.handler",
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(props.enableSourceMaps === false ? {} : { NODE_OPTIONS: "--enable-source-maps" }),
        ...props.environment,
        ...(props.extraEnvironments === undefined || props.extraEnvironments.length === 0
          ? {}
          : { GENESYS_EXTRA_ENVIRONMENTS: props.extraEnvironments.join(",") }),
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

/**
 * The directory of a handler's pre-built bundle (minified ESM with the AWS SDK inside, its source map
 * next to it; scripts/build.ts). Missing only in a checkout that was never built.
 */
function handlerBundle(entry: string): string {
  const directory = path.join(FUNCTIONS_DIR, path.basename(path.dirname(entry)));
  if (!existsSync(path.join(directory, "index.mjs"))) {
    throw new ConfigurationError(
      "entry",
      `the pre-built bundle of ${entry} is missing (${path.join(directory, "index.mjs")}); run \`npm run build\` first`,
    );
  }
  return directory;
}
