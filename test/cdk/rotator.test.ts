/**
 * `GenesysOAuthRotator`, the L3 construct of the package entry: its props are the cdk.json context
 * object (same keys, defaults and validation), and the repository's stack built around it keeps the
 * logical ids the stack had before the construct existed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { CONTEXT_KEY, parseRotatorConfig, RotatorConfigError } from "../../lib/config.ts";
import { GenesysOAuthRotator, type GenesysOAuthRotatorProps } from "../../lib/index.ts";
import { GenesysOAuthRotatorStack } from "../../lib/stack.ts";
import { ensureHandlerBundles } from "../../scripts/build.ts";

await ensureHandlerBundles();

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CDK_JSON_CONTEXT = JSON.parse(readFileSync(path.join(ROOT, "cdk.json"), "utf8")).context[CONTEXT_KEY];

/** The `"genesys-oauth-rotator": { ... }` example of the README, as a JSON value. */
function readmeExample(): GenesysOAuthRotatorProps {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /```json\n\s*"genesys-oauth-rotator": (\{[\s\S]*?\n\s*\})\n\s*```/.exec(readme);
  assert.ok(block?.[1], "the README's cdk.json example");
  return JSON.parse(block[1]) as GenesysOAuthRotatorProps;
}

describe("GenesysOAuthRotator", () => {
  test("the README's cdk.json example works unchanged as props, with the same result as the repository's stack", () => {
    const example = readmeExample();
    // Same stack name in two apps: the stack name is part of secret names and descriptions.
    const userStack = new Stack(new App(), "Same");
    // "Default" is the id the repository's stack gives it (left out of logical ids).
    const rotator = new GenesysOAuthRotator(userStack, "Default", example);
    assert.equal(rotator.credentials.length, 1);
    assert.equal(rotator.config.schedule.maxSecretAgeDays, 99, "defaults applied as for cdk.json");

    const repoStack = new GenesysOAuthRotatorStack(new App(), "Same", {
      config: parseRotatorConfig(example),
    });
    const resources = (stack: Stack) => Template.fromStack(stack).toJSON().Resources;
    assert.deepEqual(resources(userStack), resources(repoStack));
  });

  test("a user's construct id prefixes the logical ids; the stack outputs come with it", () => {
    const stack = new Stack(new App(), "User");
    new GenesysOAuthRotator(stack, "Rotator", {
      ...readmeExample(),
      credentials: [
        { name: "default", environment: "mypurecloud.ie", admin: "admin" },
        { name: "reporting", environment: "mypurecloud.ie", admin: "admin" },
      ],
    });
    const template = Template.fromStack(stack).toJSON();
    const outputs = Object.keys(template.Outputs);
    for (const id of [
      "RotatorTokenVendorFunctionName",
      "RotatorCredentialDefaultSecretArn",
      "RotatorCredentialReportingSecretArn",
      "RotatorAdminAdminSecretArn",
    ]) {
      assert.ok(
        outputs.some((output) => output.startsWith(id)),
        `${id} in ${outputs.join(", ")}`,
      );
    }
  });

  test("invalid props fail with the cdk.json validation messages, naming the key, and add nothing", () => {
    const stack = new Stack(new App(), "User");
    const bad = {
      ...readmeExample(),
      credentials: [{ name: "default", environment: "foo.example", admin: "admin" }],
      schedule: { expression: "rate(90 days)", windowHours: 0 },
    };
    assert.throws(
      () => new GenesysOAuthRotator(stack, "Rotator", bad),
      (error: unknown) => {
        assert.ok(error instanceof RotatorConfigError);
        assert.deepEqual(
          error.issues.map((issue) => issue.path),
          [`${CONTEXT_KEY}.credentials[0].environment`, `${CONTEXT_KEY}.schedule.windowHours`],
        );
        assert.match(error.message, /"foo\.example" is not a known Genesys Cloud domain/);
        return true;
      },
    );
    assert.equal(stack.node.children.length, 0, "nothing was added to the scope");
  });

  test("the repository's stack keeps its logical ids (no replacement of secrets, key or table on update)", () => {
    const stack = new GenesysOAuthRotatorStack(new App(), "GenesysOAuthRotator", {
      config: parseRotatorConfig(CDK_JSON_CONTEXT),
    });
    const template = Template.fromStack(stack).toJSON();
    for (const id of [
      "EncryptionKey1B843E66",
      "CredentialDefaultSecretF308C4B3",
      "AdminAdminSecret5F58CB66",
      "TokenVendorTokenTableE42C1A00",
      "TokenVendorHandlerFunction1863B0E3",
      "RotationHandlerFunction774E9678",
      "AlarmsTopic3A2DFEBA",
    ]) {
      assert.ok(template.Resources[id], `${id} kept`);
    }
    for (const id of ["TokenVendorFunctionName", "CredentialDefaultSecretArn", "AlarmTopicArn"]) {
      assert.ok(template.Outputs[id], `output ${id} kept`);
    }
  });
});
