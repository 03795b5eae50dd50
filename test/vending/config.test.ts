/** Configuration and payload validation of the vending function (no I/O). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readVendingConfig } from "../../lambda/vending/config.ts";
import { parseVendingPayload } from "../../lambda/vending/payload.ts";

const ARN_A = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/app-AbCdEf";
const ARN_B = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/legacy-GhIjKl";
const ENV = { CREDENTIALS: JSON.stringify({ reporting: ARN_A, legacy: ARN_B }), TOKEN_TABLE_NAME: "tokens" };

test("configuration: credentials keep their order (first = default), lease defaults to 30 s", () => {
  const config = readVendingConfig(ENV);
  assert.deepEqual(
    config.credentials.map((c) => c.name),
    ["reporting", "legacy"],
  );
  assert.equal(config.leaseMs, 30_000);
  assert.equal(config.rejectionMintIntervalMs, 30_000);
  assert.equal(
    readVendingConfig({ ...ENV, REJECTION_MINT_INTERVAL_SECONDS: "120" }).rejectionMintIntervalMs,
    120_000,
  );
  assert.equal(config.dynamoDbEndpoint, undefined);
  assert.deepEqual(config.genesys, { extraEnvironments: [] });
});

test("configuration errors name the variable and the rule", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ TOKEN_TABLE_NAME: "t" }, /^CREDENTIALS: is required/],
    [{ ...ENV, CREDENTIALS: "{" }, /^CREDENTIALS: is not valid JSON/],
    [{ ...ENV, CREDENTIALS: "{}" }, /^CREDENTIALS: must be a JSON object/],
    [{ ...ENV, CREDENTIALS: JSON.stringify({ "bad name": ARN_A }) }, /^CREDENTIALS: every name must be/],
    [
      { ...ENV, CREDENTIALS: JSON.stringify({ ok: "genesys/app" }) },
      /^CREDENTIALS: the value of "ok" must be a Secrets Manager secret ARN/,
    ],
    [{ CREDENTIALS: ENV.CREDENTIALS }, /^TOKEN_TABLE_NAME: is required/],
    [{ ...ENV, LEASE_SECONDS: "0" }, /^LEASE_SECONDS: must be a whole number of seconds from 1 to 900/],
    [{ ...ENV, LEASE_SECONDS: "1.5" }, /^LEASE_SECONDS/],
    [
      { ...ENV, REJECTION_MINT_INTERVAL_SECONDS: "0" },
      /^REJECTION_MINT_INTERVAL_SECONDS: must be a whole number of seconds from 1 to 3600/,
    ],
    [{ ...ENV, REJECTION_MINT_INTERVAL_SECONDS: "3601" }, /^REJECTION_MINT_INTERVAL_SECONDS/],
    [
      { ...ENV, DYNAMODB_ENDPOINT: "localhost:8000" },
      /^DYNAMODB_ENDPOINT: must be an absolute http\(s\) URL/,
    ],
    [
      { ...ENV, GENESYS_EXTRA_ENVIRONMENTS: "https://x.pure.cloud" },
      /^GENESYS_EXTRA_ENVIRONMENTS: every entry must be/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => readVendingConfig(env),
      (error: Error) => {
        assert.equal(error.name, "ConfigurationError");
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test("payload: defaults and a valid request", () => {
  const { credentials } = readVendingConfig(ENV);
  assert.deepEqual(parseVendingPayload({}, credentials), {
    kind: "token",
    credential: credentials[0],
    minTtlSeconds: 0,
  });
  assert.deepEqual(parseVendingPayload(null, credentials), {
    kind: "token",
    credential: credentials[0],
    minTtlSeconds: 0,
  });
  const token = "eyJhbGciOiJIUzI1NiJ9.abc-def_ghi";
  assert.deepEqual(
    parseVendingPayload({ credential: "legacy", minTtlSeconds: 3600, rejectedToken: token }, credentials),
    {
      kind: "token",
      credential: credentials[1],
      minTtlSeconds: 3600,
      rejectedToken: token,
    },
  );
  assert.deepEqual(parseVendingPayload({ warm: { secretArn: ARN_B } }, credentials), {
    kind: "warm",
    credential: credentials[1],
  });
});

test("payload: an unknown credential lists the known names; a name that is not a name is not echoed", () => {
  const { credentials } = readVendingConfig(ENV);
  assert.throws(() => parseVendingPayload({ credential: "sales" }, credentials), {
    name: "UnknownCredentialError",
    message: 'credential "sales" is not configured; known credentials: reporting, legacy',
  });
  const pasted = "Bearer abc.def.ghi secret-looking value";
  assert.throws(
    () => parseVendingPayload({ credential: pasted }, credentials),
    (error: Error) => {
      assert.equal(error.name, "UnknownCredentialError");
      assert.ok(!error.message.includes("abc.def"));
      return true;
    },
  );
});

test("payload: a rejected token that does not look like a bearer token is refused without being echoed", () => {
  const { credentials } = readVendingConfig(ENV);
  const value = "not a token but maybe a secret!";
  assert.throws(
    () => parseVendingPayload({ rejectedToken: value }, credentials),
    (error: Error & { field?: string }) => {
      assert.equal(error.name, "ValidationError");
      assert.equal(error.field, "rejectedToken");
      assert.ok(!error.message.includes(value));
      return true;
    },
  );
});
