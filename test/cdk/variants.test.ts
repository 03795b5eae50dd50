/**
 * Configuration options that change the stack: static egress, cron schedule with a window, an existing
 * alarm topic, no cache warming, x86_64, extra environments, a lease.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Match } from "aws-cdk-lib/assertions";
import { synthesize } from "./synth.ts";

describe("static egress", () => {
  const synth = synthesize({
    credentials: [{ name: "default", environment: "mypurecloud.ie" }],
    staticEgress: { natGateways: 2 },
  });
  after(() => synth.cleanup());
  const template = synth.template();
  const { stack } = synth;

  test("both functions run in the private subnets behind NAT gateways with Elastic IPs", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 2);
    template.resourceCountIs("AWS::EC2::EIP", 2);
    for (const fn of [stack.rotationFunction.function, stack.tokenVendor.function]) {
      const props = template.toJSON().Resources[synth.logicalId(fn)].Properties;
      assert.deepEqual(props.VpcConfig.SecurityGroupIds, [
        { "Fn::GetAtt": [synth.logicalId(stack.network?.securityGroup as object), "GroupId"] },
      ]);
      const privateSubnets = stack.network?.vpc.privateSubnets.map((s) => ({ Ref: synth.logicalId(s) }));
      assert.deepEqual(props.VpcConfig.SubnetIds, privateSubnets);
    }
  });

  test("the security group allows outbound HTTPS only, nothing inbound", () => {
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      SecurityGroupEgress: [
        { CidrIp: "0.0.0.0/0", IpProtocol: "tcp", FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
      SecurityGroupIngress: Match.absent(),
    });
  });

  test("the egress addresses are stack outputs, and the VPC has a flow log and a DynamoDB endpoint", () => {
    const outputs = template.toJSON().Outputs;
    assert.ok(outputs.EgressIp1 && outputs.EgressIp2);
    template.resourceCountIs("AWS::EC2::FlowLog", 1);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Gateway" });
  });

  test("the roles get exactly the VPC access managed policy", () => {
    for (const role of [stack.rotationFunction.role, stack.tokenVendor.role]) {
      const props = template.toJSON().Resources[synth.logicalId(role)].Properties;
      assert.deepEqual(props.ManagedPolicyArns, [
        {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            ],
          ],
        },
      ]);
    }
  });
});

describe("bring-your-own Elastic IPs", () => {
  const synth = synthesize({
    credentials: [{ name: "default", environment: "mypurecloud.ie" }],
    staticEgress: { eipAllocationIds: ["eipalloc-0123456789abcdef0"] },
  });
  after(() => synth.cleanup());

  test("no Elastic IP is created; the NAT gateway uses the given allocation", () => {
    const template = synth.template();
    template.resourceCountIs("AWS::EC2::EIP", 0);
    template.hasResourceProperties("AWS::EC2::NatGateway", { AllocationId: "eipalloc-0123456789abcdef0" });
  });
});

describe("other options", () => {
  const synth = synthesize({
    stackName: "GenesysRotatorEu",
    credentials: [{ name: "eu", environment: "xyz9.pure.cloud" }],
    extraEnvironments: ["xyz9.pure.cloud"],
    schedule: { expression: "cron(0 14 ? 1/3 TUE#2 *)", windowHours: 3, maxSecretAgeDays: 100 },
    alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    architecture: "x86_64",
    warmTokenCache: false,
    vendingFunction: {
      leaseSeconds: 20,
      timeoutSeconds: 15,
      memorySize: 1024,
      rejectionMintSeconds: 120,
    },
    logRetentionDays: 90,
  });
  after(() => synth.cleanup());
  const template = synth.template();
  const { stack } = synth;
  const functionProps = (fn: object) => template.toJSON().Resources[synth.logicalId(fn)].Properties;

  test("the stack name comes from the configuration", () => {
    assert.equal(stack.stackName, "GenesysRotatorEu");
  });

  test("a cron schedule with a 3-hour window", () => {
    template.hasResourceProperties("AWS::SecretsManager::RotationSchedule", {
      RotationRules: { ScheduleExpression: "cron(0 14 ? 1/3 TUE#2 *)", Duration: "3h" },
      RotateImmediatelyOnUpdate: false,
    });
  });

  test("an existing topic: no topic, policy or subscription is created, alarms and events go to it", () => {
    template.resourceCountIs("AWS::SNS::Topic", 0);
    template.resourceCountIs("AWS::SNS::TopicPolicy", 0);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmActions: ["arn:aws:sns:eu-west-1:123456789012:ops-alarms"],
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      Targets: [Match.objectLike({ Arn: "arn:aws:sns:eu-west-1:123456789012:ops-alarms" })],
    });
  });

  test("without cache warming the rotation function may not invoke the vendor", () => {
    const rotation = functionProps(stack.rotationFunction.function);
    assert.equal(rotation.Environment.Variables.TOKEN_VENDOR_FUNCTION_NAME, undefined);
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /WarmTokenVendorCache/);
  });

  test("x86_64, extra environments, lease, timeout, memory and retention reach the functions", () => {
    const rotation = functionProps(stack.rotationFunction.function);
    const vendor = functionProps(stack.tokenVendor.function);
    assert.deepEqual(rotation.Architectures, ["x86_64"]);
    assert.deepEqual(vendor.Architectures, ["x86_64"]);
    assert.equal(rotation.Environment.Variables.GENESYS_EXTRA_ENVIRONMENTS, "xyz9.pure.cloud");
    assert.equal(vendor.Environment.Variables.GENESYS_EXTRA_ENVIRONMENTS, "xyz9.pure.cloud");
    assert.equal(vendor.Environment.Variables.LEASE_SECONDS, "20");
    assert.equal(vendor.Environment.Variables.REJECTION_MINT_INTERVAL_SECONDS, "120");
    assert.equal(vendor.Timeout, 15);
    assert.equal(vendor.MemorySize, 1024);
    template.allResourcesProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  test("the secret-age alarm uses the configured maximum age", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "SecondsSinceLastRotation",
      Threshold: 100 * 86400,
    });
  });
});
