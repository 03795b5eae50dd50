/**
 * cdk-nag AwsSolutions (v3, policy-validation plugin): synthesis fails on any finding that is not
 * acknowledged, so these tests fail on any new unacknowledged finding.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as sns from "aws-cdk-lib/aws-sns";
import { FULL_CONFIG, synthesize } from "./synth.ts";

function assertNagClean(raw: unknown): void {
  const synth = synthesize(raw, { nag: true });
  try {
    // Throws "Validation failed" (and prints the findings) when a finding is not acknowledged.
    synth.app.synth();
  } finally {
    synth.cleanup();
  }
}

test("the full configuration has no unacknowledged finding", () => {
  assertNagClean(FULL_CONFIG);
});

test("static egress (VPC, NAT, flow log) and an imported topic have no unacknowledged finding", () => {
  assertNagClean({
    ...FULL_CONFIG,
    alarmEmail: undefined,
    alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops-alarms",
    staticEgress: { natGateways: 2 },
  });
});

test("the check is live: a resource with a finding fails synthesis", () => {
  const synth = synthesize(FULL_CONFIG, { nag: true });
  try {
    new sns.Topic(synth.stack, "UnencryptedTopic");
    assert.throws(() => synth.app.synth(), /Validation failed/);
  } finally {
    synth.cleanup();
  }
});
