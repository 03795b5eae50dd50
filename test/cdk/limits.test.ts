/**
 * 100 credentials in one stack: what CloudFormation, Lambda and IAM resolve must stay under their deploy-time
 * limits (lib/private/deploy-limits.ts), and a stack that would not deploy fails at synth instead.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { App, CfnOutput, CfnResource, Fn, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { readRotationConfig } from "../../lambda/rotation/config.ts";
import { readVendingConfig } from "../../lambda/vending/config.ts";
import {
  CLOUDFORMATION_MAX_OUTPUTS,
  CLOUDFORMATION_MAX_RESOURCES,
  CLOUDFORMATION_MAX_TEMPLATE_BYTES,
  IAM_MANAGED_POLICY_MAX_CHARS,
  IAM_ROLE_INLINE_POLICIES_MAX_CHARS,
  LAMBDA_ENVIRONMENT_MAX_BYTES,
  measureDeployLimits,
} from "../../lib/private/deploy-limits.ts";
import { MAX_RESOURCES_PER_STATEMENT } from "../../lib/private/growing-statement.ts";
import { synthesize } from "./synth.ts";

/** A realistic full ARN of a secret created by the stack (name + Secrets Manager's random suffix). */
const secretArnOf = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;

function config(count: number, name: (index: number) => string) {
  return {
    credentials: Array.from({ length: count }, (_, index) => ({
      name: name(index),
      environment: "mypurecloud.ie",
      admin: "admin",
      ...(index % 10 === 0 ? { integrationCredentialIds: ["1f6e3f0a-aaaa-bbbb-cccc-0123456789ab"] } : {}),
    })),
    adminCredentials: [{ name: "admin", environment: "mypurecloud.ie" }],
    alarmEmail: "ops@example.com",
  };
}

type Json = Record<string, unknown>;

describe("100 credentials in one stack", () => {
  const synthesized = synthesize(config(100, (index) => `credential-${String(index).padStart(3, "0")}`));
  after(() => synthesized.cleanup());
  const template = synthesized.template().toJSON() as { Resources: Record<string, Json>; Outputs: Json };
  const resources = Object.entries(template.Resources) as [string, { Type: string; Properties: Json }][];
  const functions = new Map(
    resources
      .filter(([, resource]) => resource.Type === "AWS::Lambda::Function")
      .map(([id, resource]) => [id, resource.Properties] as const),
  );
  const environmentOf = (prefix: string) => {
    const entry = [...functions].find(([id]) => id.startsWith(prefix));
    assert.ok(entry, prefix);
    return (entry[1].Environment as { Variables: Record<string, unknown> }).Variables;
  };
  /** The template value with each secret's Ref replaced by its realistic ARN (what CloudFormation deploys). */
  const resolve = (value: unknown): string => {
    if (typeof value === "string") return value;
    const object = value as Json;
    if (typeof object.Ref === "string") {
      const secret = template.Resources[object.Ref] as { Properties: { Name: string } };
      return secretArnOf(secret.Properties.Name);
    }
    const [separator, parts] = object["Fn::Join"] as [string, unknown[]];
    return parts.map(resolve).join(separator);
  };

  test("synth succeeds and every measured value is within its AWS limit", () => {
    const measurements = measureDeployLimits(synthesized.stack);
    for (const measurement of measurements) {
      assert.ok(
        measurement.value <= measurement.maximum,
        `${measurement.limit} of ${measurement.subject}: ${measurement.value} > ${measurement.maximum}`,
      );
    }
    const byLimit = (limit: string) => measurements.filter((measurement) => measurement.limit === limit);
    // The limits this test is about, with the values AWS documents.
    assert.deepEqual(
      byLimit("Lambda environment variables").map((m) => m.maximum),
      [LAMBDA_ENVIRONMENT_MAX_BYTES, LAMBDA_ENVIRONMENT_MAX_BYTES],
    );
    assert.equal(LAMBDA_ENVIRONMENT_MAX_BYTES, 4096);
    assert.equal(CLOUDFORMATION_MAX_RESOURCES, 500);
    assert.equal(CLOUDFORMATION_MAX_OUTPUTS, 200);
    assert.equal(CLOUDFORMATION_MAX_TEMPLATE_BYTES, 1_000_000);
    assert.equal(IAM_ROLE_INLINE_POLICIES_MAX_CHARS, 10_240);
    assert.equal(IAM_MANAGED_POLICY_MAX_CHARS, 6_144);
    assert.ok(byLimit("IAM managed policy size").length >= 4, "the secrets' grants are split");
    assert.ok(byLimit("IAM role inline policies size").length >= 3);
  });

  test("resources, outputs and template size as CloudFormation counts them", () => {
    assert.ok(Object.keys(template.Resources).length <= CLOUDFORMATION_MAX_RESOURCES);
    assert.ok(Object.keys(template.Outputs).length <= CLOUDFORMATION_MAX_OUTPUTS);
    assert.ok(Buffer.byteLength(JSON.stringify(template, undefined, 1)) <= CLOUDFORMATION_MAX_TEMPLATE_BYTES);
  });

  test("the functions' resolved environments fit 4 KB and still name all 100 credentials", () => {
    const vendor = environmentOf("TokenVendorHandlerFunction");
    const vendorEnvironment = {
      ...Object.fromEntries(Object.entries(vendor).map(([key, value]) => [key, resolve(value)])),
      // A table name CloudFormation generates: <stack>-<logical id>-<random>.
      TOKEN_TABLE_NAME: `GenesysOAuthRotator-TokenVendorTokenTableE42C1A00-${"X".repeat(12)}`,
    };
    assert.ok(Buffer.byteLength(JSON.stringify(vendorEnvironment)) <= LAMBDA_ENVIRONMENT_MAX_BYTES);
    const { credentials } = readVendingConfig(vendorEnvironment);
    assert.equal(credentials.length, 100);
    assert.deepEqual(credentials[42], {
      name: "credential-042",
      secretArn: "GenesysOAuthRotator/genesys/credential-042",
    });

    const rotation = environmentOf("RotationHandlerFunction");
    const rotationEnvironment = Object.fromEntries(
      Object.entries(rotation)
        .filter(([key]) => key !== "TOKEN_VENDOR_FUNCTION_NAME")
        .map(([key, value]) => [key, resolve(value)]),
    );
    // The vendor's cache-warming alias: <64-character function name>:cache-warming.
    rotationEnvironment.TOKEN_VENDOR_FUNCTION_NAME = `${"x".repeat(64)}:cache-warming`;
    assert.ok(Buffer.byteLength(JSON.stringify(rotationEnvironment)) <= LAMBDA_ENVIRONMENT_MAX_BYTES);
    const rotationConfig = readRotationConfig(rotationEnvironment);
    const adminArn = secretArnOf("GenesysOAuthRotator/genesys/admin");
    // Every secret pinned: the 100 credentials to the admin, the admin to itself.
    assert.equal(Object.keys(rotationConfig.adminSecretArns ?? {}).length, 101);
    assert.equal(rotationConfig.adminSecretArns?.["GenesysOAuthRotator/genesys/credential-099"], adminArn);
    assert.equal(rotationConfig.adminSecretArns?.["GenesysOAuthRotator/genesys/admin"], "");
    assert.deepEqual(rotationConfig.integrationCredentials["GenesysOAuthRotator/genesys/credential-090"], [
      "1f6e3f0a-aaaa-bbbb-cccc-0123456789ab",
    ]);
  });

  test("the secret grants stay exact: each role lists exactly its secrets, split into bounded statements", () => {
    const grantedSecrets = (roleIdPrefix: string, action: string) => {
      const granted: string[] = [];
      for (const [, resource] of resources) {
        if (resource.Type !== "AWS::IAM::Policy" && resource.Type !== "AWS::IAM::ManagedPolicy") continue;
        const roles = (resource.Properties.Roles ?? []) as { Ref: string }[];
        if (!roles.some((role) => role.Ref.startsWith(roleIdPrefix))) continue;
        const document = resource.Properties.PolicyDocument as { Statement: Json[] };
        for (const statement of document.Statement) {
          const actions = [statement.Action].flat();
          if (!actions.includes(action)) continue;
          const list = [statement.Resource].flat() as { Ref: string }[];
          assert.ok(list.length <= MAX_RESOURCES_PER_STATEMENT, `${list.length} resources in one statement`);
          granted.push(...list.map((arn) => arn.Ref));
        }
      }
      return granted.sort();
    };
    const secretIds = (filter: (id: string) => boolean) =>
      resources
        .filter(([id, resource]) => resource.Type === "AWS::SecretsManager::Secret" && filter(id))
        .map(([id]) => id)
        .sort();
    // The vendor reads the 100 vended secrets, not the admin's.
    assert.deepEqual(
      grantedSecrets("TokenVendorHandlerRole", "secretsmanager:GetSecretValue"),
      secretIds((id) => id.startsWith("Credential")),
    );
    // The rotation function rotates all 101.
    assert.deepEqual(
      grantedSecrets("RotationHandlerRole", "secretsmanager:PutSecretValue"),
      secretIds(() => true),
    );
    assert.deepEqual(
      grantedSecrets("SecretAgeMonitorStateMachineRole", "secretsmanager:DescribeSecret"),
      secretIds(() => true),
    );
  });
});

test("a stack that would not deploy fails at synth with a ConfigurationError naming the limit", () => {
  // 100 credentials with 48-character names: the vendor's CREDENTIALS alone exceed 4 KB.
  const synthesized = synthesize(
    config(100, (index) => `c${String(index).padStart(3, "0")}-${"n".repeat(43)}`),
  );
  try {
    assert.throws(
      () => synthesized.template(),
      (error: Error) => {
        assert.equal(error.name, "ConfigurationError");
        assert.match(
          error.message,
          /^GenesysOAuthRotator\/Default: credentials: the stack would fail to deploy: .*Lambda environment variables of TokenVendorHandlerFunction\w+: \d+ bytes, maximum 4096/,
        );
        return true;
      },
    );
  } finally {
    synthesized.cleanup();
  }
});

test("each limit is measured on the resolved template and named when broken", () => {
  const app = new App();
  const stack = new Stack(app, "Limits");
  for (let index = 0; index <= CLOUDFORMATION_MAX_OUTPUTS; index++) {
    new CfnOutput(stack, `Output${index}`, { value: "x" });
  }
  const role = new iam.Role(stack, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
  const secrets = Array.from(
    { length: 80 },
    (_, index) =>
      new CfnResource(stack, `Secret${index}`, {
        type: "AWS::SecretsManager::Secret",
        properties: { Name: `Limits/genesys/credential-${String(index).padStart(3, "0")}` },
      }),
  );
  // 80 secret Refs: small as tokens, ~7,000 characters once CloudFormation resolves them to ARNs.
  new iam.ManagedPolicy(stack, "Managed", {
    roles: [role],
    statements: [
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: secrets.map((secret) => secret.ref),
      }),
    ],
  });
  new CfnResource(stack, "Function", {
    type: "AWS::Lambda::Function",
    properties: {
      Environment: {
        Variables: {
          SECRETS: Fn.join(
            ",",
            secrets.map((secret) => secret.ref),
          ),
        },
      },
    },
  });
  const broken = measureDeployLimits(stack)
    .filter((measurement) => measurement.value > measurement.maximum)
    .map((measurement) => `${measurement.limit} of ${measurement.subject}`);
  assert.deepEqual(broken.sort(), [
    "CloudFormation outputs per template of template",
    `IAM managed policy size of ${stack.getLogicalId(stack.node.findChild("Managed").node.defaultChild as CfnResource)}`,
    "Lambda environment variables of Function",
  ]);
});
