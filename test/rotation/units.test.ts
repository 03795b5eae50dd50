/**
 * The rotation function's pure parts: event validation, configuration, backoff (twin comparison:
 * test/genesys-client/twins.test.ts).
 * (Behaviour against both emulators is in rotation.test.ts and the other suites of this folder.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readRotationConfig } from "../../lambda/rotation/config.ts";
import { assertAdminSecretPinned, sameSecretArn } from "../../lambda/rotation/credentials.ts";
import { AdminSecretPinError, RotationEventError } from "../../lambda/rotation/errors.ts";
import { parseRotationEvent } from "../../lambda/rotation/event.ts";
import { backoffDelay } from "../../lambda/rotation/propagation.ts";
import { ConfigurationError, ValidationError } from "../../lambda/shared/errors.ts";

const TOKEN = "2f7c8d4e-1b3a-4c5d-9e8f-0a1b2c3d4e5f";
const ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/admin-AbCdEf";
const VALID = {
  Step: "createSecret",
  SecretId: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x",
  ClientRequestToken: TOKEN,
};

describe("parseRotationEvent", () => {
  test("accepts the four steps, with or without RotationToken, and ignores unknown keys", () => {
    for (const Step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) {
      assert.deepEqual(parseRotationEvent({ ...VALID, Step }), { ...VALID, Step });
    }
    assert.equal(parseRotationEvent({ ...VALID, RotationToken: "opaque", Extra: 1 }).RotationToken, "opaque");
  });

  const malformed: [string, unknown, string][] = [
    ["null", null, "(event)"],
    ["an array", [VALID], "(event)"],
    ["a string", "createSecret", "(event)"],
    ["no Step", { ...VALID, Step: undefined }, "Step"],
    ["an unknown Step", { ...VALID, Step: "deleteSecret" }, "Step"],
    ["a Step in the wrong case", { ...VALID, Step: "CreateSecret" }, "Step"],
    ["no SecretId", { ...VALID, SecretId: undefined }, "SecretId"],
    ["an empty SecretId", { ...VALID, SecretId: " " }, "SecretId"],
    ["a numeric SecretId", { ...VALID, SecretId: 42 }, "SecretId"],
    ["a too long SecretId", { ...VALID, SecretId: "a".repeat(2049) }, "SecretId"],
    ["no ClientRequestToken", { ...VALID, ClientRequestToken: undefined }, "ClientRequestToken"],
    ["a 31-character token", { ...VALID, ClientRequestToken: "a".repeat(31) }, "ClientRequestToken"],
    ["a 65-character token", { ...VALID, ClientRequestToken: "a".repeat(65) }, "ClientRequestToken"],
    [
      "a token with a space",
      { ...VALID, ClientRequestToken: `${"a".repeat(20)} ${"b".repeat(20)}` },
      "ClientRequestToken",
    ],
    ["a numeric RotationToken", { ...VALID, RotationToken: 7 }, "RotationToken"],
  ];
  for (const [label, event, field] of malformed) {
    test(`rejects ${label}, naming ${field}`, () => {
      assert.throws(
        () => parseRotationEvent(event),
        (error: unknown) => {
          assert.ok(error instanceof RotationEventError);
          assert.ok(error instanceof ValidationError);
          assert.equal(error.name, "RotationEventError");
          assert.equal(error.field, field);
          assert.match(error.message, new RegExp(`"${field.replace(/[()]/g, "\\$&")}"`));
          return true;
        },
      );
    });
  }
});

describe("readRotationConfig", () => {
  test("defaults", () => {
    const config = readRotationConfig({});
    assert.equal(config.propagationTimeoutSeconds, 60);
    assert.deepEqual(config.integrationCredentials, {});
    assert.equal(config.tokenVendorFunctionName, undefined);
    assert.deepEqual(config.extraEnvironments, []);
    assert.equal(config.adminSecretArns, undefined, "not pinned unless configured");
    assert.equal(
      config.minRotationGapSeconds,
      172_800 + 3_600,
      "longest token lifetime + raw-secret cache TTL",
    );
  });

  test("reads every variable", () => {
    const config = readRotationConfig({
      SECRETS_MANAGER_ENDPOINT: "http://127.0.0.1:4566",
      GENESYS_ENDPOINT_OVERRIDE: "http://127.0.0.1:4010",
      GENESYS_EXTRA_ENVIRONMENTS: "xyz1.pure.cloud, abc2.pure.cloud",
      PROPAGATION_TIMEOUT_SECONDS: "90",
      TOKEN_VENDOR_FUNCTION_NAME: "vendor:cache-warming",
      LAMBDA_ENDPOINT: "http://127.0.0.1:9001",
      INTEGRATION_CREDENTIALS: '{"genesys/app":["c-1","c-2"]}',
      ADMIN_SECRET_ARNS: `{"genesys/app":"${ADMIN_ARN}","genesys/admin":""}`,
      MIN_ROTATION_GAP_SECONDS: "0",
    });
    assert.equal(config.minRotationGapSeconds, 0);
    assert.deepEqual(config.adminSecretArns, { "genesys/app": ADMIN_ARN, "genesys/admin": "" });
    assert.equal(config.propagationTimeoutSeconds, 90);
    assert.deepEqual(config.extraEnvironments, ["xyz1.pure.cloud", "abc2.pure.cloud"]);
    assert.deepEqual(config.integrationCredentials, { "genesys/app": ["c-1", "c-2"] });
    assert.equal(config.tokenVendorFunctionName, "vendor:cache-warming");
    assert.equal(
      readRotationConfig({ TOKEN_VENDOR_FUNCTION_NAME: "vendor" }).tokenVendorFunctionName,
      "vendor",
    );
  });

  test("grouped admin pins and names relative to SECRET_NAME_PREFIX (the compact form the CDK writes)", () => {
    const config = readRotationConfig({
      SECRET_NAME_PREFIX: "Stack/genesys/",
      ADMIN_SECRET_ARNS: JSON.stringify({
        [ADMIN_ARN]: ["./app", "./other", "team/imported"],
        "": ["./admin"],
        "Stack/genesys/flat": "",
      }),
      INTEGRATION_CREDENTIALS: '{"./app":["c-1"],"team/imported":["c-2"]}',
    });
    assert.deepEqual(config.adminSecretArns, {
      "Stack/genesys/app": ADMIN_ARN,
      "Stack/genesys/other": ADMIN_ARN,
      "team/imported": ADMIN_ARN,
      "Stack/genesys/admin": "",
      "Stack/genesys/flat": "",
    });
    assert.deepEqual(config.integrationCredentials, {
      "Stack/genesys/app": ["c-1"],
      "team/imported": ["c-2"],
    });
  });

  const invalid: [string, Record<string, string>][] = [
    // Only the cache-warming alias accepts a warm request.
    ["TOKEN_VENDOR_FUNCTION_NAME", { TOKEN_VENDOR_FUNCTION_NAME: "vendor:reporting" }],
    ["PROPAGATION_TIMEOUT_SECONDS", { PROPAGATION_TIMEOUT_SECONDS: "soon" }],
    ["PROPAGATION_TIMEOUT_SECONDS", { PROPAGATION_TIMEOUT_SECONDS: "0" }],
    ["PROPAGATION_TIMEOUT_SECONDS", { PROPAGATION_TIMEOUT_SECONDS: "601" }],
    ["MIN_ROTATION_GAP_SECONDS", { MIN_ROTATION_GAP_SECONDS: "-1" }],
    ["MIN_ROTATION_GAP_SECONDS", { MIN_ROTATION_GAP_SECONDS: "1.5" }],
    ["MIN_ROTATION_GAP_SECONDS", { MIN_ROTATION_GAP_SECONDS: "31536001" }],
    ["INTEGRATION_CREDENTIALS", { INTEGRATION_CREDENTIALS: "[]" }],
    ["INTEGRATION_CREDENTIALS", { INTEGRATION_CREDENTIALS: '{"s":"c-1"}' }],
    ["INTEGRATION_CREDENTIALS", { INTEGRATION_CREDENTIALS: '{"s":["has space"]}' }],
    ["SECRETS_MANAGER_ENDPOINT", { SECRETS_MANAGER_ENDPOINT: "not a url" }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: "not json" }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: '["genesys/app"]' }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: '{"genesys/app":"genesys/admin"}' }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: '{"genesys/app":null}' }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: `{"":"${ADMIN_ARN}"}` }],
    // Grouped: the key is the admin (an ARN or ""), every member a secret, each secret pinned once.
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: '{"genesys/admin":["genesys/app"]}' }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: '{"":["genesys/app", 7]}' }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: `{"${ADMIN_ARN}":["genesys/app"],"":["genesys/app"]}` }],
    ["ADMIN_SECRET_ARNS", { ADMIN_SECRET_ARNS: `{"${ADMIN_ARN}":["genesys/app"],"genesys/app":""}` }],
    ["SECRET_NAME_PREFIX", { SECRET_NAME_PREFIX: "has space/" }],
  ];
  for (const [key, env] of invalid) {
    test(`rejects ${key}=${Object.values(env)[0]}`, () => {
      assert.throws(
        () => readRotationConfig(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.equal(error.key, key);
          return true;
        },
      );
    });
  }
});

test("backoffDelay grows, is jittered within [half, full] of its ceiling, and is capped", () => {
  assert.equal(
    backoffDelay(0, () => 0),
    125,
  );
  assert.equal(backoffDelay(0, () => 0.999999) < 250, true);
  assert.equal(
    backoffDelay(3, () => 0),
    1000,
  );
  assert.equal(
    backoffDelay(20, () => 0),
    2000,
  );
  assert.ok(backoffDelay(20, () => 0.999999) <= 4000);
});

describe("admin secret pins", () => {
  const partial = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/admin";

  test("sameSecretArn: equal, or a complete ARN and its partial form; nothing else", () => {
    assert.equal(sameSecretArn(ADMIN_ARN, ADMIN_ARN), true);
    assert.equal(sameSecretArn(ADMIN_ARN, partial), true);
    assert.equal(sameSecretArn(partial, ADMIN_ARN), true);
    assert.equal(
      sameSecretArn(`${partial}-2`, partial),
      false,
      "another secret whose name extends the pinned one",
    );
    assert.equal(sameSecretArn(`${partial}-AbCdEf-x`, partial), false);
    assert.equal(sameSecretArn(`${partial}x-AbCdEf`, partial), false);
  });

  const version = {
    secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/app-QwErTy",
    secretName: "genesys/app",
  };
  const value = {
    environment: "mypurecloud.ie",
    clientId: "a",
    clientSecret: "s",
    strategy: "alternating" as const,
    alternateClientId: "b",
  };

  test("looked up by ARN, then by name; a pinned partial ARN accepts the complete one", () => {
    assertAdminSecretPinned(version, { ...value, adminSecretArn: ADMIN_ARN }, { "genesys/app": partial });
    assertAdminSecretPinned(
      version,
      { ...value, adminSecretArn: ADMIN_ARN },
      { [version.secretArn]: ADMIN_ARN },
    );
    assertAdminSecretPinned(version, value, { "genesys/app": "" });
  });

  test("refusals name the rule", () => {
    const refused = (pins: Record<string, string>, adminSecretArn: string | undefined, rule: RegExp) =>
      assert.throws(
        () =>
          assertAdminSecretPinned(
            version,
            adminSecretArn === undefined ? value : { ...value, adminSecretArn },
            pins,
          ),
        (error: unknown) => error instanceof AdminSecretPinError && rule.test(error.message),
      );
    refused({ "genesys/other": "" }, undefined, /has no entry for this secret/);
    refused({ "genesys/app": ADMIN_ARN }, undefined, /"adminSecretArn" is absent/);
    refused({ "genesys/app": "" }, ADMIN_ARN, /must be absent: the secret is pinned as a self-managed pair/);
    refused(
      { "genesys/app": ADMIN_ARN },
      `${partial}2-AbCdEf`,
      /names .* but ADMIN_SECRET_ARNS pins admin secret/,
    );
  });
});
