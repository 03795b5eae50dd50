/**
 * More than one rotator per account and region, and consumers in other stacks or apps:
 * - each vendor and rotation function has its own `service` (logs and custom metric dimension), and its
 *   alarms select on that value only, so one stack's failures never fire another stack's alarms;
 * - `TokenVendor.fromFunctionArn` lets a consumer stack grant itself vending of one credential.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { GenesysOAuthRotator, type GenesysOAuthRotatorProps } from "../../lib/index.ts";
import { TokenVendor } from "../../lib/token-vendor.ts";
import { ensureHandlerBundles } from "../../scripts/build.ts";

await ensureHandlerBundles();

const PROPS = {
  credentials: [{ name: "default", environment: "mypurecloud.ie" }],
} as unknown as GenesysOAuthRotatorProps;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by the assertions below
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** The `service` each function is configured with and its custom-metric alarms select on. */
function servicesOf(stack: Stack, rotator: GenesysOAuthRotator) {
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const variables = (fn: { node: { defaultChild?: unknown } }) => {
    const id = stack.getLogicalId(fn.node.defaultChild as never);
    return resources[id]!.Properties.Environment.Variables as Record<string, unknown>;
  };
  const alarmDimensions = Object.values(resources)
    .filter((resource) => resource.Type === "AWS::CloudWatch::Alarm")
    .filter((alarm) => alarm.Properties.Namespace === "GenesysOAuthRotator")
    .map((alarm) => ({
      metric: alarm.Properties.MetricName as string,
      dimensions: alarm.Properties.Dimensions as { Name: string; Value: unknown }[],
    }));
  return {
    vendor: variables(rotator.tokenVendor.function).POWERTOOLS_SERVICE_NAME,
    rotation: variables(rotator.rotationFunction.function).POWERTOOLS_SERVICE_NAME,
    alarmDimensions,
  };
}

describe("two rotators in one account and region", () => {
  test("each function has its own service, and each stack's alarms select on its own vendor's", () => {
    const app = new App();
    const stacks = ["TeamA", "TeamB"].map((name) => {
      const stack = new Stack(app, name);
      return { stack, rotator: new GenesysOAuthRotator(stack, "Rotator", PROPS) };
    });
    const [a, b] = stacks.map(({ stack, rotator }) => servicesOf(stack, rotator));
    assert.equal(a!.vendor, "TeamA/Rotator/TokenVendor");
    assert.equal(b!.vendor, "TeamB/Rotator/TokenVendor");
    assert.equal(a!.rotation, "TeamA/Rotator/Rotation");
    assert.equal(b!.rotation, "TeamB/Rotator/Rotation");
    for (const [services, rotator] of [
      [a!, stacks[0]!.rotator],
      [b!, stacks[1]!.rotator],
    ] as const) {
      assert.equal(rotator.tokenVendor.serviceName, services.vendor);
      assert.equal(rotator.rotationFunction.serviceName, services.rotation);
      const vendorMetrics = ["FallbackStageRejected", "TokenMintFailures"];
      const vendorAlarms = services.alarmDimensions.filter((alarm) => vendorMetrics.includes(alarm.metric));
      assert.deepEqual(vendorAlarms.map((alarm) => alarm.metric).sort(), vendorMetrics);
      for (const alarm of vendorAlarms) {
        assert.deepEqual(alarm.dimensions, [{ Name: "service", Value: services.vendor }], alarm.metric);
      }
      // The rotation function's finish-hook alarm selects on its own service (and the step).
      const hookAlarms = services.alarmDimensions.filter((alarm) => alarm.metric === "FinishHookFailed");
      assert.equal(hookAlarms.length, 1);
      assert.deepEqual(hookAlarms[0]!.dimensions, [
        { Name: "service", Value: services.rotation },
        { Name: "step", Value: "finishSecret" },
      ]);
      // The other custom metric (the secret age) is per secret ARN, which no other stack shares.
      const perSecret = (alarm: { metric: string }) =>
        !vendorMetrics.includes(alarm.metric) && alarm.metric !== "FinishHookFailed";
      for (const alarm of services.alarmDimensions.filter(perSecret)) {
        assert.deepEqual(
          alarm.dimensions.map((dimension) => dimension.Name),
          ["SecretId"],
          alarm.metric,
        );
      }
    }
  });

  test("two vendors in one stack get different services too", () => {
    const stack = new Stack(new App(), "Shared");
    const first = new GenesysOAuthRotator(stack, "First", PROPS);
    const second = new GenesysOAuthRotator(stack, "Second", PROPS);
    assert.notEqual(first.tokenVendor.serviceName, second.tokenVendor.serviceName);
    assert.deepEqual(first.tokenVendor.metricTokenMintFailures().dimensions, {
      service: "Shared/First/TokenVendor",
    });
    assert.deepEqual(second.tokenVendor.metricTokenMintFailures().dimensions, {
      service: "Shared/Second/TokenVendor",
    });
  });
});

describe("TokenVendor.fromFunctionArn", () => {
  const ARN = "arn:aws:lambda:eu-west-1:123456789012:function:Vendor-abc123";

  test("a consumer stack grants itself lambda:InvokeFunction on one credential's alias only", () => {
    const stack = new Stack(new App(), "Consumer");
    const vendor = TokenVendor.fromFunctionArn(stack, "Vendor", ARN);
    assert.equal(vendor.functionName, "Vendor-abc123");
    assert.equal(vendor.functionArn, ARN);
    const role = new iam.Role(stack, "ConsumerRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    vendor.grantVend(role, "reporting");
    const policies = Template.fromStack(stack).findResources("AWS::IAM::Policy");
    const statements = Object.values(policies).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
          .Statement,
    );
    assert.deepEqual(statements, [
      { Action: "lambda:InvokeFunction", Effect: "Allow", Resource: `${ARN}:reporting` },
    ]);
  });

  test("bad input names the field and the rule", () => {
    const stack = new Stack(new App(), "Consumer");
    for (const arn of [`${ARN}:reporting`, "Vendor-abc123", "arn:aws:lambda:eu-west-1:123:function:x"]) {
      assert.throws(() => TokenVendor.fromFunctionArn(stack, `Bad${arn.length}`, arn), {
        name: "ConfigurationError",
        message: /functionArn.*unqualified Lambda function ARN/,
      });
    }
    const vendor = TokenVendor.fromFunctionArn(stack, "Vendor", ARN);
    const role = new iam.Role(stack, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    assert.throws(() => vendor.grantVend(role, "no spaces"), {
      name: "ConfigurationError",
      message: /credentialName.*letters, digits/,
    });
  });
});
