import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../lambda/shared/errors.ts";
import {
  type CredentialSecret,
  nextCredentialSecret,
  parseCredentialSecret,
  SecretValueError,
  serializeCredentialSecret,
} from "../../lambda/shared/secret-value.ts";

// A realistic Genesys-shaped secret (43 base64url characters). Every rejection below must not echo it.
const SECRET = "Zq3V9xL0-tR7mKp2Wc8Hn4Jy6Ud1Fs5Ab0Eg3Qi7Ox";
const ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:genesys/admin-AbCdEf";

const alternating: CredentialSecret = {
  environment: "mypurecloud.ie",
  clientId: "3f1e9c2a-0b5d-4e7f-8a91-1c2d3e4f5a6b",
  clientSecret: SECRET,
  strategy: "alternating",
  alternateClientId: "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d",
};
const single: CredentialSecret = {
  environment: "usw2.pure.cloud",
  clientId: "3f1e9c2a-0b5d-4e7f-8a91-1c2d3e4f5a6b",
  clientSecret: SECRET,
  strategy: "single",
  adminSecretArn: ADMIN_ARN,
};

const json = (value: unknown) => JSON.stringify(value);
const withFields = (base: CredentialSecret, fields: Record<string, unknown>) => json({ ...base, ...fields });

/** Asserts a SecretValueError naming `field`, and that nothing of the secret leaked into it. */
function assertRejected(raw: string | undefined, field: string, rule: RegExp, options = {}): void {
  let caught: unknown;
  try {
    parseCredentialSecret(raw, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SecretValueError, `expected SecretValueError, got ${String(caught)}`);
  assert.ok(caught instanceof ValidationError);
  assert.equal(caught.name, "SecretValueError");
  assert.equal(caught.retryable, false);
  assert.equal(caught.field, field);
  assert.match(caught.message, new RegExp(`"${field.replace(/[()]/g, "\\$&")}"`));
  assert.match(caught.rule, rule);
  const visible = `${caught.message} ${caught.rule} ${caught.field} ${caught.stack ?? ""} ${JSON.stringify(caught)}`;
  assert.ok(!visible.includes(SECRET.slice(0, 8)), "the error must not contain any part of the secret");
  assert.ok(!visible.includes(SECRET.slice(-8)), "the error must not contain any part of the secret");
}

describe("parseCredentialSecret accepts valid values", () => {
  it("parses an alternating value", () => {
    assert.deepEqual(parseCredentialSecret(json(alternating)), alternating);
  });

  it("parses an alternating value with an admin secret ARN", () => {
    const value = { ...alternating, adminSecretArn: ADMIN_ARN };
    assert.deepEqual(parseCredentialSecret(json(value)), value);
  });

  it("parses a single value (GovCloud-style partition in the ARN too)", () => {
    const value = {
      ...single,
      adminSecretArn: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a",
    };
    assert.deepEqual(parseCredentialSecret(json(value)), value);
  });

  it("does not mistake quotes, colons, braces or key names inside a value for duplicate keys", () => {
    const value = { ...alternating, clientSecret: `a\\":{"clientSecret":["}]${SECRET.slice(0, 8)}` };
    const raw = `{ "environment" : "mypurecloud.ie",\n "clientId":"${alternating.clientId}", "clientSecret": ${json(value.clientSecret)}, "strategy":"alternating","alternateClientId":"${alternating.alternateClientId}"}`;
    assert.deepEqual(parseCredentialSecret(raw), value);
  });

  it("accepts an environment only when it is listed as an extra", () => {
    const raw = withFields(alternating, { environment: "xyz9.pure.cloud" });
    assertRejected(raw, "environment", /GENESYS_EXTRA_ENVIRONMENTS/);
    assert.equal(
      parseCredentialSecret(raw, { extraEnvironments: ["xyz9.pure.cloud"] }).environment,
      "xyz9.pure.cloud",
    );
  });

  it("takes extras from GENESYS_EXTRA_ENVIRONMENTS by default", () => {
    const raw = withFields(alternating, { environment: "xyz9.pure.cloud" });
    const saved = process.env.GENESYS_EXTRA_ENVIRONMENTS;
    process.env.GENESYS_EXTRA_ENVIRONMENTS = " abc1.pure.cloud , xyz9.pure.cloud ";
    try {
      assert.equal(parseCredentialSecret(raw).environment, "xyz9.pure.cloud");
    } finally {
      if (saved === undefined) delete process.env.GENESYS_EXTRA_ENVIRONMENTS;
      else process.env.GENESYS_EXTRA_ENVIRONMENTS = saved;
    }
  });
});

describe("parseCredentialSecret rejects malformed values, naming the field and never the secret", () => {
  const cases: [string, string | undefined, string, RegExp][] = [
    ["no SecretString", undefined, "(value)", /must be present/],
    ["an empty string", "", "(value)", /must be present/],
    ["non-JSON text that contains the secret", `clientSecret=${SECRET}`, "(value)", /valid JSON/],
    ["truncated JSON", json(alternating).slice(0, 60), "(value)", /valid JSON/],
    ["a JSON array", json([alternating]), "(value)", /JSON object/],
    ["a JSON string", json(SECRET), "(value)", /JSON object/],
    ["null", "null", "(value)", /JSON object/],
    [
      "an oversized value",
      withFields(alternating, { clientSecret: `${SECRET}${"x".repeat(5000)}` }),
      "(value)",
      /at most 4096/,
    ],
    ["an unknown key", withFields(alternating, { region: "eu-west-1" }), "region", /not allowed/],
    ["a secret pasted as a key", json({ ...alternating, [SECRET]: true }), "(unknown key)", /not allowed/],
    [
      "__proto__ as a key",
      `{"__proto__":{"x":1},${json(alternating).slice(1)}`,
      "(unknown key)",
      /not allowed/,
    ],
    [
      "a duplicate clientSecret (JSON.parse would keep the last one)",
      `{"clientSecret":"first-${SECRET}",${json(alternating).slice(1)}`,
      "clientSecret",
      /must appear only once/,
    ],
    [
      "a duplicate clientId spelled with an escape",
      `{"client\\u0049d":"other-client",${json(alternating).slice(1)}`,
      "clientId",
      /duplicate keys are not allowed/,
    ],
    [
      "a duplicate key in a nested object",
      withFields(alternating, { environment: { a: 1 } }).replace('{"a":1}', '{"a":1, "a" :2}'),
      "a",
      /must appear only once/,
    ],
    [
      "a secret pasted twice as a key",
      `{"${SECRET}":1,"${SECRET}":2,${json(alternating).slice(1)}`,
      "(duplicate key)",
      /must appear only once/,
    ],
    ["a missing environment", json({ ...alternating, environment: undefined }), "environment", /is required/],
    [
      "an unknown environment",
      withFields(alternating, { environment: "evil.example.com" }),
      "environment",
      /known Genesys Cloud domain/,
    ],
    [
      "an environment with a scheme",
      withFields(alternating, { environment: "https://mypurecloud.ie" }),
      "environment",
      /known Genesys Cloud domain/,
    ],
    [
      "an api. prefixed environment",
      withFields(alternating, { environment: "api.mypurecloud.ie" }),
      "environment",
      /known Genesys Cloud domain/,
    ],
    ["a numeric clientId", withFields(alternating, { clientId: 42 }), "clientId", /must be a string/],
    ["an empty clientId", withFields(alternating, { clientId: "" }), "clientId", /must not be empty/],
    ["a clientId with a colon", withFields(alternating, { clientId: "a:b" }), "clientId", /\[A-Za-z0-9-\]/],
    [
      "a missing clientSecret",
      json({ ...alternating, clientSecret: undefined }),
      "clientSecret",
      /is required/,
    ],
    [
      "an empty clientSecret",
      withFields(alternating, { clientSecret: "" }),
      "clientSecret",
      /must not be empty/,
    ],
    [
      "a clientSecret with a trailing newline",
      withFields(alternating, { clientSecret: `${SECRET}\n` }),
      "clientSecret",
      /without whitespace/,
    ],
    [
      "a clientSecret with an inner space",
      withFields(alternating, { clientSecret: `${SECRET.slice(0, 20)} ${SECRET.slice(20)}` }),
      "clientSecret",
      /without whitespace/,
    ],
    [
      "a clientSecret with a control character",
      withFields(alternating, { clientSecret: `${SECRET}\u0007` }),
      "clientSecret",
      /printable ASCII/,
    ],
    [
      "a non-ASCII clientSecret",
      withFields(alternating, { clientSecret: `${SECRET}é` }),
      "clientSecret",
      /printable ASCII/,
    ],
    [
      "a clientSecret of the wrong type",
      withFields(alternating, { clientSecret: [SECRET] }),
      "clientSecret",
      /must be a string/,
    ],
    [
      "an unknown strategy",
      withFields(alternating, { strategy: "blue-green" }),
      "strategy",
      /alternating, single/,
    ],
    [
      "alternating without alternateClientId",
      json({ ...alternating, alternateClientId: undefined }),
      "alternateClientId",
      /required when strategy is "alternating"/,
    ],
    [
      "alternateClientId equal to clientId",
      withFields(alternating, { alternateClientId: alternating.clientId }),
      "alternateClientId",
      /must differ/,
    ],
    [
      "alternateClientId equal to clientId but for case",
      withFields(alternating, { alternateClientId: alternating.clientId.toUpperCase() }),
      "alternateClientId",
      /must differ from clientId \(ignoring case\)/,
    ],
    [
      "a null alternateClientId",
      withFields(alternating, { alternateClientId: null }),
      "alternateClientId",
      /must be a string/,
    ],
    [
      "single without adminSecretArn",
      json({ ...single, adminSecretArn: undefined }),
      "adminSecretArn",
      /required when strategy is "single"/,
    ],
    [
      "single with alternateClientId",
      withFields(single, { alternateClientId: alternating.alternateClientId }),
      "alternateClientId",
      /not allowed when strategy is "single"/,
    ],
    [
      "an adminSecretArn of another service",
      withFields(single, { adminSecretArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/x" }),
      "adminSecretArn",
      /Secrets Manager secret ARN/,
    ],
    [
      "an adminSecretArn with a short account",
      withFields(single, { adminSecretArn: "arn:aws:secretsmanager:eu-west-1:1234:secret:x" }),
      "adminSecretArn",
      /Secrets Manager secret ARN/,
    ],
  ];
  for (const [what, raw, field, rule] of cases) {
    it(`rejects ${what}`, () => assertRejected(raw, field, rule));
  }
});

describe("serializeCredentialSecret", () => {
  it("round-trips through parseCredentialSecret with a fixed key order", () => {
    const text = serializeCredentialSecret({ ...single, strategy: "single" });
    assert.deepEqual(parseCredentialSecret(text), single);
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      "environment",
      "clientId",
      "clientSecret",
      "strategy",
      "adminSecretArn",
    ]);
  });

  it("refuses to serialise an invalid value", () => {
    assert.throws(
      () => serializeCredentialSecret({ ...alternating, alternateClientId: alternating.clientId }),
      (error: unknown) => error instanceof SecretValueError && error.field === "alternateClientId",
    );
  });

  it("refuses keys that are not part of the schema (they would fail every later read)", () => {
    assert.throws(
      () => serializeCredentialSecret({ ...alternating, extra: "x" } as CredentialSecret),
      (error: unknown) => error instanceof SecretValueError && error.field === "extra",
    );
  });
});

describe("nextCredentialSecret", () => {
  const NEW_SECRET = "Nw8pX2mQ7vK4tB9zR1cL6yH3dS5fJ0gA-uE7iO2wT4n";

  it("swaps the twins of an alternating value and carries the new secret", () => {
    const adminManaged = { ...alternating, adminSecretArn: ADMIN_ARN };
    assert.deepEqual(nextCredentialSecret(adminManaged, NEW_SECRET), {
      environment: alternating.environment,
      clientId: alternating.alternateClientId,
      alternateClientId: alternating.clientId,
      clientSecret: NEW_SECRET,
      strategy: "alternating",
      adminSecretArn: ADMIN_ARN,
    });
  });

  it("keeps the client of a single value", () => {
    assert.deepEqual(nextCredentialSecret(single, NEW_SECRET), { ...single, clientSecret: NEW_SECRET });
  });

  it("rejects a malformed new secret without echoing it", () => {
    assert.throws(
      () => nextCredentialSecret(single, `${NEW_SECRET} `),
      (error: unknown) =>
        error instanceof SecretValueError &&
        error.field === "clientSecret" &&
        !error.message.includes(NEW_SECRET.slice(0, 8)),
    );
  });

  it("produces a value that serialises and parses back", () => {
    const next = nextCredentialSecret(alternating, NEW_SECRET);
    assert.deepEqual(parseCredentialSecret(serializeCredentialSecret(next)), next);
  });
});
