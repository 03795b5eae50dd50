/**
 * The constructs used on their own (outside GenesysOAuthRotatorStack): props validated in the
 * constructors with messages naming the prop.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { App, Duration, Stack } from "aws-cdk-lib";
import * as kms from "aws-cdk-lib/aws-kms";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { GenesysCredential } from "../../lib/genesys-credential.ts";
import { GenesysRotationFunction } from "../../lib/rotation-function.ts";
import { TokenVendor } from "../../lib/token-vendor.ts";
import { ensureHandlerBundles } from "../../scripts/build.ts";

await ensureHandlerBundles();

function scope() {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "Test");
  const encryptionKey = new kms.Key(stack, "Key", { enableKeyRotation: true });
  const rotationFunction = new GenesysRotationFunction(stack, "Rotation");
  return { stack, encryptionKey, rotationFunction };
}

describe("GenesysCredential", () => {
  test("an admin must be in the same environment", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    const admin = GenesysCredential.alternating(stack, "Admin", {
      rotationFunction,
      encryptionKey,
      environment: "mypurecloud.de",
    });
    assert.throws(
      () =>
        GenesysCredential.single(stack, "Legacy", {
          rotationFunction,
          encryptionKey,
          environment: "mypurecloud.ie",
          admin,
        }),
      { name: "ConfigurationError", message: /^Test\/Legacy: admin: "Admin" is in mypurecloud\.de/ },
    );
  });

  test("an admin must itself be a self-managed alternating credential", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    const environment = "mypurecloud.ie";
    const root = GenesysCredential.alternating(stack, "Root", {
      rotationFunction,
      encryptionKey,
      environment,
    });
    const managed = GenesysCredential.alternating(stack, "Managed", {
      rotationFunction,
      encryptionKey,
      environment,
      admin: root,
    });
    assert.throws(
      () =>
        GenesysCredential.alternating(stack, "X", {
          rotationFunction,
          encryptionKey,
          environment,
          admin: managed,
        }),
      { message: /X: admin: "Managed" must be a self-managed alternating credential/ },
    );
  });

  test("a created secret needs a key; an imported one keeps its own", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    assert.throws(
      () =>
        GenesysCredential.alternating(stack, "NoKey", { rotationFunction, environment: "mypurecloud.ie" }),
      { message: /NoKey: encryptionKey: is required when the secret is created/ },
    );
    const secret = secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      "Imported",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123",
    );
    assert.throws(
      () =>
        GenesysCredential.alternating(stack, "Both", {
          rotationFunction,
          environment: "mypurecloud.ie",
          secret,
          encryptionKey,
        }),
      { message: /Both: secret: an imported secret keeps its own key and name/ },
    );
  });

  test("the rotation window is whole hours from 1 to 24", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    assert.throws(
      () =>
        GenesysCredential.alternating(stack, "W", {
          rotationFunction,
          encryptionKey,
          environment: "mypurecloud.ie",
          schedule: { expression: "cron(0 2 * * ? *)", window: Duration.minutes(90) },
        }),
      { message: /W: schedule\.window: must be whole hours from 1 to 24, got 1\.5 hours/ },
    );
  });

  test("an unknown environment is rejected unless listed in extraEnvironments", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    assert.throws(
      () =>
        GenesysCredential.alternating(stack, "Far", {
          rotationFunction,
          encryptionKey,
          environment: "xyz9.pure.cloud",
        }),
      { message: /Far: environment: "xyz9\.pure\.cloud" is not a known Genesys Cloud domain/ },
    );
    GenesysCredential.alternating(stack, "Near", {
      rotationFunction,
      encryptionKey,
      environment: "xyz9.pure.cloud",
      extraEnvironments: ["xyz9.pure.cloud"],
    });
  });
});

describe("GenesysRotationFunction", () => {
  test("the propagation wait must leave room within the timeout", () => {
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Test");
    assert.throws(
      () =>
        new GenesysRotationFunction(stack, "Rotation", {
          timeout: Duration.minutes(2),
          propagationTimeout: Duration.seconds(100),
        }),
      {
        message:
          /Test\/Rotation: propagationTimeout: must be at least 30 seconds shorter than timeout \(120 s\), got 100 s/,
      },
    );
  });

  test("ADMIN_SECRET_ARNS is set only once something is pinned; a secret has exactly one admin", () => {
    const { stack, rotationFunction } = scope();
    const variables = () =>
      (
        stack.resolve((rotationFunction.function.node.defaultChild as CfnFunction).environment) as {
          variables: Record<string, unknown>;
        }
      ).variables;
    assert.equal(variables().ADMIN_SECRET_ARNS, undefined, "not pinned: the function trusts adminSecretArn");
    const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
    const admin = secretsmanager.Secret.fromSecretCompleteArn(stack, "Admin", arn("genesys/admin"));
    const other = secretsmanager.Secret.fromSecretCompleteArn(stack, "Other", arn("genesys/other-admin"));
    rotationFunction.pinAdminSecret("genesys/admin", undefined);
    rotationFunction.pinAdminSecret("genesys/app", admin);
    rotationFunction.pinAdminSecret("genesys/app", admin);
    // Grouped by admin (each admin ARN once: 100 credentials fit the 4 KB environment).
    assert.deepEqual(JSON.parse(variables().ADMIN_SECRET_ARNS as string), {
      "": ["genesys/admin"],
      [arn("genesys/admin")]: ["genesys/app"],
    });
    assert.throws(() => rotationFunction.pinAdminSecret("genesys/app", other), {
      name: "ConfigurationError",
      message: /^Test\/Rotation: admin secret of genesys\/app: is already pinned to another admin secret/,
    });
  });
});

describe("TokenVendor", () => {
  test("a vended credential's name must be able to be its alias; grantVend needs a vended credential", () => {
    const { stack, encryptionKey, rotationFunction } = scope();
    const vendor = new TokenVendor(stack, "Vendor", { encryptionKey });
    const credential = (name: string) =>
      GenesysCredential.alternating(stack, `Credential${name}`, {
        rotationFunction,
        encryptionKey,
        environment: "mypurecloud.ie",
        credentialName: name,
      });
    assert.throws(() => vendor.grantVend(rotationFunction.role), {
      name: "ConfigurationError",
      message: /^Test\/Vendor: credentialName: no credential is vended yet/,
    });
    for (const name of ["2024", "cache-warming"]) {
      assert.throws(() => vendor.addCredential(credential(name)), {
        name: "ConfigurationError",
        message: new RegExp(`^Test/Vendor: credentials: "${name}" may not be all digits`),
      });
    }
    vendor.addCredential(credential("reporting"));
    assert.deepEqual(vendor.credentialNames, ["reporting"]);
    assert.equal(vendor.credentialAlias().aliasName, "reporting");
    assert.throws(() => vendor.vendorFunctionNameFor("sales"), {
      name: "ConfigurationError",
      message: /"sales" is not vended here; vended credentials: reporting/,
    });
  });
});
