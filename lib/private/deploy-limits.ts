/**
 * Deploy-time limits of AWS that a synthesized template can break although `cdk synth` succeeds: the
 * functions' environment, the roles' policy sizes, the template's resource and output counts and its size.
 * The template's tokens are resolved to realistic values first (a secret's Ref is a full secret ARN, not
 * `{"Ref": ...}`), because the limits apply to what CloudFormation resolves, not to what CDK writes
 * (docs/deploy.md, "How many credentials one stack holds").
 */
import type { Stack } from "aws-cdk-lib";
import { ConfigurationError } from "../../lambda/shared/errors.ts";

/** AWS Lambda quotas, "Function configuration, deployment, and execution": environment variables, 4 KB in aggregate. */
export const LAMBDA_ENVIRONMENT_MAX_BYTES = 4096;
/** AWS CloudFormation quotas, "Resources": resources declared in a template. */
export const CLOUDFORMATION_MAX_RESOURCES = 500;
/** AWS CloudFormation quotas, "Outputs": outputs declared in a template. */
export const CLOUDFORMATION_MAX_OUTPUTS = 200;
/** AWS CloudFormation quotas, "Template body size in an Amazon S3 object" (CDK deploys large templates through S3). */
export const CLOUDFORMATION_MAX_TEMPLATE_BYTES = 1_000_000;
/** IAM and AWS STS quotas, "Role policy size": all inline policies of one role together, whitespace excluded. */
export const IAM_ROLE_INLINE_POLICIES_MAX_CHARS = 10_240;
/** IAM and AWS STS quotas, "Managed policy size": one customer managed policy, whitespace excluded. */
export const IAM_MANAGED_POLICY_MAX_CHARS = 6_144;
/** IAM and AWS STS quotas, "Managed policies attached to an IAM role" (the default; raisable to 20). */
export const IAM_ROLE_MAX_MANAGED_POLICIES = 10;

/** What a resolved token is assumed to be: long but realistic values (a long region, a 64-character name). */
const REGION = "ap-southeast-2";
const ACCOUNT = "123456789012";
const GENERATED_NAME = "x".repeat(64);
const SECRET_SUFFIX = "-AbCdEf";

/** One measurement of the template against one limit. */
export interface DeployLimitMeasurement {
  /** The limit, as the quota names it, e.g. `Lambda environment variables`. */
  readonly limit: string;
  /** What was measured: a logical id, or `template`. */
  readonly subject: string;
  readonly value: number;
  readonly maximum: number;
  readonly unit: "bytes" | "characters" | "resources" | "outputs" | "policies";
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resources = Record<string, { Type: string; Properties?: Record<string, Json> }>;

/**
 * Measures the synthesized template of `stack` against every limit above (tokens resolved to realistic
 * values). Call it during validation, after every construct has been added.
 */
export function measureDeployLimits(stack: Stack): DeployLimitMeasurement[] {
  // The template exactly as it is written to the cloud assembly (the same method `cdk synth` uses).
  const template = (stack as unknown as { _toCloudFormation(): Record<string, Json> })._toCloudFormation();
  const resources = (template.Resources ?? {}) as unknown as Resources;
  const outputs = (template.Outputs ?? {}) as Record<string, Json>;
  const realistic = (value: Json): string => realisticValue(value, resources, stack.stackName);
  const measurements: DeployLimitMeasurement[] = [
    {
      limit: "CloudFormation resources per template",
      subject: "template",
      value: Object.keys(resources).length,
      maximum: CLOUDFORMATION_MAX_RESOURCES,
      unit: "resources",
    },
    {
      limit: "CloudFormation outputs per template",
      subject: "template",
      value: Object.keys(outputs).length,
      maximum: CLOUDFORMATION_MAX_OUTPUTS,
      unit: "outputs",
    },
    {
      limit: "CloudFormation template body size (S3)",
      subject: "template",
      // cdk synth writes the template with one space of indentation.
      value: Buffer.byteLength(JSON.stringify(template, undefined, 1)),
      maximum: CLOUDFORMATION_MAX_TEMPLATE_BYTES,
      unit: "bytes",
    },
  ];
  const inlinePolicyChars = new Map<string, number>();
  const managedPolicies = new Map<string, number>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === "AWS::Lambda::Function") {
      const variables = (properties.Environment as { Variables?: Record<string, Json> } | undefined)
        ?.Variables;
      const resolved = Object.fromEntries(
        Object.entries(variables ?? {}).map(([key, value]) => [key, realistic(value)]),
      );
      measurements.push({
        limit: "Lambda environment variables",
        subject: logicalId,
        value: Buffer.byteLength(JSON.stringify(resolved)),
        maximum: LAMBDA_ENVIRONMENT_MAX_BYTES,
        unit: "bytes",
      });
    }
    if (resource.Type === "AWS::IAM::ManagedPolicy") {
      measurements.push({
        limit: "IAM managed policy size",
        subject: logicalId,
        value: resolvedDocumentChars(properties.PolicyDocument ?? null, realistic),
        maximum: IAM_MANAGED_POLICY_MAX_CHARS,
        unit: "characters",
      });
      for (const role of roleIds(properties.Roles)) {
        managedPolicies.set(role, (managedPolicies.get(role) ?? 0) + 1);
      }
    }
    if (resource.Type === "AWS::IAM::Policy") {
      const chars = resolvedDocumentChars(properties.PolicyDocument ?? null, realistic);
      for (const role of roleIds(properties.Roles)) {
        inlinePolicyChars.set(role, (inlinePolicyChars.get(role) ?? 0) + chars);
      }
    }
    if (resource.Type === "AWS::IAM::Role") {
      const inline = (properties.Policies ?? []) as { PolicyDocument: Json }[];
      for (const policy of inline) {
        const chars = resolvedDocumentChars(policy.PolicyDocument, realistic);
        inlinePolicyChars.set(logicalId, (inlinePolicyChars.get(logicalId) ?? 0) + chars);
      }
      const attached = Array.isArray(properties.ManagedPolicyArns) ? properties.ManagedPolicyArns.length : 0;
      managedPolicies.set(logicalId, (managedPolicies.get(logicalId) ?? 0) + attached);
    }
  }
  for (const [role, chars] of inlinePolicyChars) {
    measurements.push({
      limit: "IAM role inline policies size",
      subject: role,
      value: chars,
      maximum: IAM_ROLE_INLINE_POLICIES_MAX_CHARS,
      unit: "characters",
    });
  }
  for (const [role, count] of managedPolicies) {
    measurements.push({
      limit: "IAM managed policies per role",
      subject: role,
      value: count,
      maximum: IAM_ROLE_MAX_MANAGED_POLICIES,
      unit: "policies",
    });
  }
  return measurements;
}

/**
 * Throws when the template of `stack` breaks a deploy-time limit: one ConfigurationError listing every
 * broken limit, its measured value and its maximum, so that synth fails instead of the deployment.
 */
export function assertDeployLimits(stack: Stack, key: string): void {
  const broken = measureDeployLimits(stack).filter((measurement) => measurement.value > measurement.maximum);
  if (broken.length === 0) return;
  const details = broken
    .map((m) => `${m.limit} of ${m.subject}: ${m.value} ${m.unit}, maximum ${m.maximum}`)
    .join("; ");
  throw new ConfigurationError(
    key,
    `the stack would fail to deploy: ${details} (fewer credentials per stack, or shorter credential names; docs/deploy.md, "How many credentials one stack holds")`,
  );
}

function roleIds(roles: Json | undefined): string[] {
  if (!Array.isArray(roles)) return [];
  return roles.flatMap((role) =>
    role !== null && typeof role === "object" && !Array.isArray(role) && typeof role.Ref === "string"
      ? [role.Ref]
      : [],
  );
}

/** Characters of a policy document as IAM counts them (no whitespace), tokens resolved. */
function resolvedDocumentChars(document: Json, realistic: (value: Json) => string): number {
  return JSON.stringify(resolveAll(document, realistic)).length;
}

/** `value` with every intrinsic function replaced by its realistic string. */
function resolveAll(value: Json, realistic: (value: Json) => string): Json {
  if (Array.isArray(value)) return value.map((item) => resolveAll(item, realistic));
  if (value === null || typeof value !== "object") return value;
  if (isIntrinsic(value)) return realistic(value);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveAll(item, realistic)]));
}

function isIntrinsic(value: { [key: string]: Json }): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]?.startsWith("Fn::") === true);
}

/** A realistic deploy-time string for a template value (a literal, a Ref, a GetAtt, a Join, ...). */
function realisticValue(value: Json, resources: Resources, stackName: string): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return value.map((item) => realisticValue(item, resources, stackName)).join(",");
  const recurse = (item: Json) => realisticValue(item, resources, stackName);
  if ("Ref" in value && typeof value.Ref === "string") return realisticRef(value.Ref, resources, stackName);
  if ("Fn::GetAtt" in value && Array.isArray(value["Fn::GetAtt"])) {
    const [logicalId, attribute] = value["Fn::GetAtt"] as string[];
    return realisticAttribute(logicalId ?? "", attribute ?? "", resources, stackName);
  }
  if ("Fn::Join" in value && Array.isArray(value["Fn::Join"])) {
    const [separator, parts] = value["Fn::Join"] as [string, Json[]];
    return (Array.isArray(parts) ? parts : []).map(recurse).join(separator);
  }
  // Fn::Select, Fn::Sub, Fn::ImportValue, ...: not used for the values measured here; assume a long name.
  return GENERATED_NAME;
}

function realisticRef(ref: string, resources: Resources, stackName: string): string {
  switch (ref) {
    case "AWS::Region":
      return REGION;
    case "AWS::AccountId":
      return ACCOUNT;
    case "AWS::Partition":
      return "aws";
    case "AWS::URLSuffix":
      return "amazonaws.com";
    case "AWS::StackName":
      return stackName;
    case "AWS::StackId":
      return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/0d3c0c8e-1111-2222-3333-444455556666`;
  }
  const resource = resources[ref];
  switch (resource?.Type) {
    case "AWS::SecretsManager::Secret":
      return secretArn(resource, ref);
    case "AWS::KMS::Key":
      return "0d3c0c8e-1111-2222-3333-444455556666";
    case "AWS::SNS::Topic":
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${GENERATED_NAME}`;
    case "AWS::Lambda::Alias":
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${GENERATED_NAME}:${String(resource.Properties?.Name ?? "")}`;
    default:
      // Physical names CloudFormation generates: <stack>-<logical id>-<random>, up to 64 characters and more for tables.
      return GENERATED_NAME;
  }
}

function realisticAttribute(
  logicalId: string,
  attribute: string,
  resources: Resources,
  stackName: string,
): string {
  const resource = resources[logicalId];
  if (attribute !== "Arn") return GENERATED_NAME;
  switch (resource?.Type) {
    case "AWS::SecretsManager::Secret":
      return secretArn(resource, logicalId);
    case "AWS::Lambda::Function":
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${GENERATED_NAME}`;
    case "AWS::DynamoDB::Table":
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${stackName}-${logicalId}-ABCDEFGHIJKL`;
    case "AWS::KMS::Key":
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/0d3c0c8e-1111-2222-3333-444455556666`;
    case "AWS::IAM::Role":
      return `arn:aws:iam::${ACCOUNT}:role/${GENERATED_NAME}`;
    default:
      return `arn:aws:${(resource?.Type ?? "x::x").split("::")[1]?.toLowerCase()}:${REGION}:${ACCOUNT}:${GENERATED_NAME}`;
  }
}

/** The full ARN of a secret this template creates: its name plus Secrets Manager's 7-character suffix. */
function secretArn(resource: Resources[string], logicalId: string): string {
  const name = resource.Properties?.Name;
  return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${typeof name === "string" ? name : logicalId}${SECRET_SUFFIX}`;
}
