/**
 * The deployed stack's outputs (CloudFormation DescribeStacks), so that commands find the token table,
 * the vendor's credentials and the rotation function by the stack's name instead of flags. The output
 * keys are the ones lib/stack.ts declares; a stack deployed before they existed lacks some of them, and
 * each is then `undefined` (the caller says which flag to pass instead).
 */
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { OptionSpec, ParsedValues } from "./args.ts";
import { optionalString } from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { type CliDependencies, callAws } from "./runtime.ts";

/** The stack name `cdk deploy` uses by default (cdk.json `stackName`). */
export const DEFAULT_STACK_NAME = "GenesysOAuthRotator";

/** The `--stack` flag. */
export const STACK_OPTION: OptionSpec = {
  type: "string",
  value: "<name>",
  description: `the deployed stack whose outputs name the token table and rotation function (default ${DEFAULT_STACK_NAME})`,
};

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** `--stack`, validated; the default stack name when absent. */
export function stackNameOption(values: ParsedValues): string {
  const value = optionalString(values, "stack") ?? DEFAULT_STACK_NAME;
  if (!STACK_NAME.test(value)) {
    throw new UsageError(
      "--stack",
      "must be a CloudFormation stack name: a letter, then letters, digits and '-'",
    );
  }
  return value;
}

/** What the stack publishes for operators (lib/stack.ts outputs). */
export interface StackOutputs {
  stackName: string;
  /** `TokenTableName`. */
  tokenTable?: string;
  /** `TokenVendorFunctionName`. */
  vendorFunction?: string;
  /** `RotationFunctionArn`. */
  rotationFunctionArn?: string;
  /** `TokenVendorCredentials`: credential name → secret ARN (complete, or partial for an imported secret). */
  credentials?: Record<string, string>;
}

/** DescribeStacks on `stackName` → its outputs. AWS failures (missing stack, AccessDenied) are AwsCallErrors. */
export async function readStackOutputs(
  deps: Pick<CliDependencies, "target" | "cloudformation">,
  stackName: string,
): Promise<StackOutputs> {
  const response = await callAws(
    deps,
    () => deps.cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
    { service: "cloudformation", operation: "DescribeStacks", resource: stackName },
  );
  const outputs = new Map(
    (response.Stacks?.[0]?.Outputs ?? []).flatMap((output) =>
      output.OutputKey === undefined || output.OutputValue === undefined
        ? []
        : [[output.OutputKey, output.OutputValue]],
    ),
  );
  const result: StackOutputs = { stackName };
  const tokenTable = outputs.get("TokenTableName");
  const vendorFunction = outputs.get("TokenVendorFunctionName");
  const rotationFunctionArn = outputs.get("RotationFunctionArn");
  const credentials = outputs.get("TokenVendorCredentials");
  if (tokenTable !== undefined) result.tokenTable = tokenTable;
  if (vendorFunction !== undefined) result.vendorFunction = vendorFunction;
  if (rotationFunctionArn !== undefined) result.rotationFunctionArn = rotationFunctionArn;
  if (credentials !== undefined) result.credentials = parseCredentials(credentials, stackName);
  return result;
}

function parseCredentials(json: string, stackName: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((arn) => typeof arn === "string")
  ) {
    throw new CliError(
      `Stack ${stackName}: output TokenVendorCredentials is not a JSON object of secret ARNs; redeploy the stack.`,
    );
  }
  return value as Record<string, string>;
}

/**
 * The credential whose secret is `secretArn` in a name → ARN map. A partial ARN (an imported secret named
 * without Secrets Manager's 6-character suffix) matches the full ARN it is a prefix of.
 */
export function credentialOfSecret(
  credentials: Readonly<Record<string, string>>,
  secretArn: string,
): string | undefined {
  return Object.entries(credentials).find(
    ([, arn]) =>
      arn === secretArn || (secretArn.startsWith(`${arn}-`) && secretArn.length === arn.length + 7),
  )?.[0];
}
