/** Configuration and payload validation of the vending function (no I/O). */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  readVendingConfig,
  secretIdMatchesArn,
  VENDOR_AWS_CALL_LIMITS,
} from "../../lambda/vending/config.ts";
import { grantOfInvocation } from "../../lambda/vending/invocation.ts";
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
      { ...ENV, CREDENTIALS: JSON.stringify({ ok: "arn:aws:secretsmanager:eu-west-1:1:secret:x" }) },
      /^CREDENTIALS: the value of "ok" must be a Secrets Manager secret ARN/,
    ],
    [
      { ...ENV, CREDENTIALS: JSON.stringify({ ok: "genesys app" }) },
      /^CREDENTIALS: the value of "ok" must be a secret ARN, a secret name, "\.\/<rest>"/,
    ],
    [
      { ...ENV, CREDENTIALS: JSON.stringify({ ok: 42 }) },
      /^CREDENTIALS: the value of "ok" must be a secret ARN, a secret name/,
    ],
    [{ ...ENV, SECRET_NAME_PREFIX: "stack genesys/" }, /^SECRET_NAME_PREFIX: must be at most 256 characters/],
    // A name is also the alias consumers invoke: no version-like names, no reserved alias.
    [
      { ...ENV, CREDENTIALS: JSON.stringify({ "2024": ARN_A }) },
      /^CREDENTIALS: the name "2024" may not be all digits/,
    ],
    [
      { ...ENV, CREDENTIALS: JSON.stringify({ "cache-warming": ARN_A }) },
      /^CREDENTIALS: the name "cache-warming" .*reserved/,
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

test("configuration: AWS call limits are the deployed ones unless AWS_CALL_LIMITS replaces a client's (local stacks)", () => {
  assert.deepEqual(readVendingConfig(ENV).awsCallLimits, {
    dynamoDb: { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 2 },
    secretsManager: { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 2 },
  });
  assert.deepEqual(readVendingConfig({ ...ENV, AWS_CALL_LIMITS: " " }).awsCallLimits, VENDOR_AWS_CALL_LIMITS);
  const long = { connectionTimeoutMs: 30_000, requestTimeoutMs: 60_000, maxAttempts: 3 };
  assert.deepEqual(
    readVendingConfig({ ...ENV, AWS_CALL_LIMITS: JSON.stringify({ dynamoDb: long }) }).awsCallLimits,
    {
      dynamoDb: long,
      secretsManager: VENDOR_AWS_CALL_LIMITS.secretsManager,
    },
  );
  const json = JSON.stringify;
  const rejected: [string, RegExp][] = [
    ["{", /^AWS_CALL_LIMITS: is not valid JSON/],
    [json([long]), /^AWS_CALL_LIMITS: must be a JSON object/],
    [json({ dynamodb: long }), /^AWS_CALL_LIMITS: must be a JSON object/],
    [
      json({ dynamoDb: { connectionTimeoutMs: 1000, requestTimeoutMs: 2000 } }),
      /^AWS_CALL_LIMITS: dynamoDb: must be/,
    ],
    [json({ secretsManager: { ...long, maxAttempts: 0 } }), /^AWS_CALL_LIMITS: secretsManager: must be/],
    [json({ dynamoDb: { ...long, requestTimeoutMs: 1.5 } }), /^AWS_CALL_LIMITS: dynamoDb: must be/],
    [json({ dynamoDb: { ...long, requestTimeoutMs: "60000" } }), /^AWS_CALL_LIMITS: dynamoDb: must be/],
    [json({ dynamoDb: { ...long, retries: 1 } }), /^AWS_CALL_LIMITS: dynamoDb: must be/],
  ];
  for (const [value, message] of rejected) {
    assert.throws(
      () => readVendingConfig({ ...ENV, AWS_CALL_LIMITS: value }),
      (error: Error) => {
        assert.equal(error.name, "ConfigurationError");
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

const FUNCTION_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:vendor";

test("payload: defaults and a valid request, on the alias of the credential", () => {
  const { credentials } = readVendingConfig(ENV);
  const reporting = grantOfInvocation(`${FUNCTION_ARN}:reporting`, credentials);
  const legacy = grantOfInvocation(`${FUNCTION_ARN}:legacy`, credentials);
  assert.deepEqual(parseVendingPayload({}, credentials, reporting), {
    kind: "token",
    credential: credentials[0],
    minTtlSeconds: 0,
  });
  assert.deepEqual(parseVendingPayload(null, credentials, legacy), {
    kind: "token",
    credential: credentials[1],
    minTtlSeconds: 0,
  });
  const token = "eyJhbGciOiJIUzI1NiJ9.abc-def_ghi";
  assert.deepEqual(
    parseVendingPayload(
      { credential: "legacy", minTtlSeconds: 3600, rejectedToken: token },
      credentials,
      legacy,
    ),
    {
      kind: "token",
      credential: credentials[1],
      minTtlSeconds: 3600,
      rejectedToken: token,
    },
  );
  const warming = grantOfInvocation(`${FUNCTION_ARN}:cache-warming`, credentials);
  assert.deepEqual(parseVendingPayload({ warm: { secretArn: ARN_B } }, credentials, warming), {
    kind: "warm",
    credential: credentials[1],
  });
});

test("configuration: secrets by name, relative to SECRET_NAME_PREFIX (the compact form the CDK writes)", () => {
  const { credentials } = readVendingConfig({
    ...ENV,
    SECRET_NAME_PREFIX: "Stack/genesys/",
    CREDENTIALS: JSON.stringify({
      reporting: "",
      legacy: "./old-legacy",
      other: "team/other",
      imported: ARN_B,
    }),
  });
  assert.deepEqual(credentials, [
    { name: "reporting", secretArn: "Stack/genesys/reporting" },
    { name: "legacy", secretArn: "Stack/genesys/old-legacy" },
    { name: "other", secretArn: "team/other" },
    { name: "imported", secretArn: ARN_B },
  ]);
  // Without a prefix, "" is the credential's own name.
  assert.deepEqual(readVendingConfig({ ...ENV, CREDENTIALS: '{"app":""}' }).credentials, [
    { name: "app", secretArn: "app" },
  ]);
});

test("warm: the rotated secret's complete ARN finds a credential configured by the secret's name", () => {
  const { credentials } = readVendingConfig({
    ...ENV,
    SECRET_NAME_PREFIX: "genesys/",
    CREDENTIALS: JSON.stringify({ reporting: "./app", legacy: ARN_B }),
  });
  const warming = grantOfInvocation(`${FUNCTION_ARN}:cache-warming`, credentials);
  assert.deepEqual(parseVendingPayload({ warm: { secretArn: ARN_A } }, credentials, warming), {
    kind: "warm",
    credential: credentials[0],
  });
  assert.equal(secretIdMatchesArn("genesys/app", ARN_A), true);
  // A name is not the secret of a longer name, nor of a partial ARN (no random suffix to strip).
  assert.equal(secretIdMatchesArn("genesys/ap", ARN_A), false);
  assert.equal(
    secretIdMatchesArn("genesys/app", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/app"),
    false,
  );
  // An ARN matches only itself.
  assert.equal(secretIdMatchesArn(ARN_B, ARN_A), false);
});

test("invocation: the alias decides the credential; unqualified only with one credential", () => {
  const { credentials } = readVendingConfig(ENV);
  assert.equal(grantOfInvocation(`${FUNCTION_ARN}:legacy`, credentials).kind, "credential");
  for (const invoked of [undefined, FUNCTION_ARN, `${FUNCTION_ARN}:$LATEST`, `${FUNCTION_ARN}:3`]) {
    assert.throws(
      () => grantOfInvocation(invoked, credentials),
      (error: Error & { field?: string }) => {
        assert.equal(error.name, "CredentialNotGrantedError");
        assert.equal(error.field, "(qualifier)");
        assert.match(error.message, /invoke (vendor|<function>):<credential>/);
        return true;
      },
    );
  }
  const one = readVendingConfig({ ...ENV, CREDENTIALS: JSON.stringify({ reporting: ARN_A }) }).credentials;
  for (const invoked of [undefined, FUNCTION_ARN, `${FUNCTION_ARN}:$LATEST`]) {
    const grant = grantOfInvocation(invoked, one);
    assert.equal(grant.kind === "credential" && grant.credential.name, "reporting");
  }
  assert.throws(() => grantOfInvocation(`${FUNCTION_ARN}:sales`, credentials), {
    name: "UnknownCredentialError",
    message: 'credential "sales" (the invoked alias) is not configured; known credentials: reporting, legacy',
  });
});

test("payload: a credential other than the alias's is refused; a name that is not a name is not echoed", () => {
  const { credentials } = readVendingConfig(ENV);
  const legacy = grantOfInvocation(`${FUNCTION_ARN}:legacy`, credentials);
  for (const requested of ["reporting", "sales"]) {
    assert.throws(
      () => parseVendingPayload({ credential: requested }, credentials, legacy),
      (error: Error & { field?: string }) => {
        assert.equal(error.name, "CredentialNotGrantedError");
        assert.equal(error.field, "credential");
        assert.match(
          error.message,
          new RegExp(`names "${requested}", but the invoked vendor:legacy grants only credential "legacy"`),
        );
        return true;
      },
    );
  }
  const pasted = "Bearer abc.def.ghi secret-looking value";
  assert.throws(
    () => parseVendingPayload({ credential: pasted }, credentials, legacy),
    (error: Error) => {
      assert.equal(error.name, "CredentialNotGrantedError");
      assert.ok(!error.message.includes("abc.def"));
      return true;
    },
  );
});

test("payload: warm only on the cache-warming alias, and only warm there", () => {
  const { credentials } = readVendingConfig(ENV);
  const legacy = grantOfInvocation(`${FUNCTION_ARN}:legacy`, credentials);
  const warming = grantOfInvocation(`${FUNCTION_ARN}:cache-warming`, credentials);
  assert.throws(
    () => parseVendingPayload({ warm: { secretArn: ARN_B } }, credentials, legacy),
    (error: Error & { field?: string }) => {
      assert.equal(error.name, "CredentialNotGrantedError");
      assert.equal(error.field, "warm");
      assert.match(error.message, /only on the "cache-warming" alias/);
      return true;
    },
  );
  for (const payload of [{}, { credential: "legacy" }, null]) {
    assert.throws(() => parseVendingPayload(payload, credentials, warming), {
      name: "CredentialNotGrantedError",
      message: /field "warm" is required: the "cache-warming" alias accepts only/,
    });
  }
});

test("payload: a rejected token that does not look like a bearer token is refused without being echoed", () => {
  const { credentials } = readVendingConfig(ENV);
  const value = "not a token but maybe a secret!";
  const grant = grantOfInvocation(`${FUNCTION_ARN}:reporting`, credentials);
  assert.throws(
    () => parseVendingPayload({ rejectedToken: value }, credentials, grant),
    (error: Error & { field?: string }) => {
      assert.equal(error.name, "ValidationError");
      assert.equal(error.field, "rejectedToken");
      assert.ok(!error.message.includes(value));
      return true;
    },
  );
});
