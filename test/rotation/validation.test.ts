/**
 * Bad input never reaches Genesys: invalid secret values (of the rotated secret and of its admin secret)
 * and malformed events fail with an error naming the field and the rule, and the Genesys emulator sees
 * no request at all — in particular no regeneration.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
} from "@aws-sdk/client-secrets-manager";
import { RotationEventError } from "../../lambda/rotation/errors.ts";
import {
  type RotationStack,
  STACK_ENVIRONMENT,
  STACK_IDS,
  startRotationStack,
} from "../support/rotation-stack.ts";
import { recordingLog } from "./helpers.ts";

const ADMIN_ARN_PLACEHOLDER = "<admin>";
const SELF_ARN_PLACEHOLDER = "<self>";

/** A valid alternating value managed by the stack's admin secret; cases below break one thing each. */
function validValue(): Record<string, unknown> {
  return {
    environment: STACK_ENVIRONMENT,
    clientId: STACK_IDS.appA,
    clientSecret: "fake-secret-value-for-validation-tests-xxxxx",
    strategy: "alternating",
    alternateClientId: STACK_IDS.appB,
    adminSecretArn: ADMIN_ARN_PLACEHOLDER,
  };
}

interface Case {
  name: string;
  /** The secret's value (raw text, or an object serialised as JSON). */
  value: string | Record<string, unknown>;
  /** A value for a separate admin secret the case's value points at. */
  admin?: Record<string, unknown>;
  /** What the rotation's failure cause must match. */
  expect: RegExp;
}

const CASES: Case[] = [
  { name: "not JSON", value: "clientId=abc", expect: /InvalidSecretValueError/ },
  { name: "a JSON array", value: "[]", expect: /InvalidSecretValueError/ },
  { name: "a JSON string", value: '"hello"', expect: /InvalidSecretValueError/ },
  { name: "missing clientId", value: { ...validValue(), clientId: undefined }, expect: /"clientId"/ },
  {
    name: "missing clientSecret",
    value: { ...validValue(), clientSecret: undefined },
    expect: /"clientSecret"/,
  },
  { name: "an unknown key", value: { ...validValue(), password: "x" }, expect: /"password"/ },
  {
    name: "an unknown environment",
    value: { ...validValue(), environment: "evil.example.com" },
    expect: /"environment"/,
  },
  {
    name: "an environment given as a URL",
    value: { ...validValue(), environment: "https://login.mypurecloud.ie" },
    expect: /"environment"/,
  },
  { name: "an unknown strategy", value: { ...validValue(), strategy: "triple" }, expect: /"strategy"/ },
  {
    name: "alternating without alternateClientId",
    value: { ...validValue(), alternateClientId: undefined },
    expect: /"alternateClientId"/,
  },
  {
    name: "alternateClientId equal to clientId",
    value: { ...validValue(), alternateClientId: STACK_IDS.appA },
    expect: /"alternateClientId"/,
  },
  {
    name: "single without adminSecretArn",
    value: { ...validValue(), strategy: "single", alternateClientId: undefined, adminSecretArn: undefined },
    expect: /"adminSecretArn"/,
  },
  {
    name: "single with alternateClientId",
    value: { ...validValue(), strategy: "single" },
    expect: /"alternateClientId"/,
  },
  {
    name: "a clientSecret with whitespace",
    value: { ...validValue(), clientSecret: "two words" },
    expect: /"clientSecret"/,
  },
  {
    name: "a clientId with a slash",
    value: { ...validValue(), clientId: "../../etc" },
    expect: /"clientId"/,
  },
  { name: "a numeric clientId", value: { ...validValue(), clientId: 42 }, expect: /"clientId"/ },
  {
    name: "a malformed adminSecretArn",
    value: { ...validValue(), adminSecretArn: "genesys/admin" },
    expect: /"adminSecretArn"/,
  },
  {
    name: "an adminSecretArn of a secret that does not exist",
    value: {
      ...validValue(),
      adminSecretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:nope-AbCdEf",
    },
    expect: /AdminCredentialError: .*does not exist/,
  },
  {
    name: "an adminSecretArn naming the rotated secret itself",
    value: { ...validValue(), adminSecretArn: SELF_ARN_PLACEHOLDER },
    expect: /AdminCredentialError: .*"adminSecretArn" must name another secret/,
  },
  {
    name: "an admin secret that is not a self-managed pair",
    value: { ...validValue(), adminSecretArn: "<case-admin>" },
    admin: {
      ...validValue(),
      clientId: STACK_IDS.adminA,
      alternateClientId: STACK_IDS.adminB,
      adminSecretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf",
    },
    expect: /AdminCredentialError: .*self-managed alternating pair/,
  },
  {
    name: "an admin secret in another environment",
    value: { ...validValue(), adminSecretArn: "<case-admin>" },
    admin: {
      ...validValue(),
      environment: "mypurecloud.de",
      clientId: STACK_IDS.adminA,
      alternateClientId: STACK_IDS.adminB,
      adminSecretArn: undefined,
    },
    expect: /AdminCredentialError: .*"environment"/,
  },
  {
    name: "an invalid admin secret value",
    value: { ...validValue(), adminSecretArn: "<case-admin>" },
    admin: { environment: STACK_ENVIRONMENT },
    expect: /AdminCredentialError: .*is not a valid credential secret/,
  },
];

describe("invalid secret values fail createSecret before any Genesys call", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
  });
  after(() => stack?.stop());

  CASES.forEach((testCase, index) => {
    test(testCase.name, async () => {
      const name = `invalid/${index}`;
      let adminArn = stack.secrets.admin;
      if (testCase.admin !== undefined) {
        adminArn = await createSecret(stack, `${name}-admin`, JSON.stringify(testCase.admin));
      }
      const selfArn = await createCaseSecret(stack, name, testCase, adminArn);
      const requestsBefore = stack.genesys.counters.requests();
      const outcome = await stack.rotate(selfArn);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "createSecret");
      assert.match(outcome.cause ?? "", testCase.expect);
      assert.doesNotMatch(outcome.cause ?? "", /fake-secret-value/, "the value is never echoed");
      assert.equal(stack.genesys.counters.requests() - requestsBefore, 0, "no request reached Genesys");
      assert.equal(stack.genesys.counters.regenerations(), 0);
    });
  });
});

/** Creates the case's secret (resolving placeholders) and returns its ARN. */
async function createCaseSecret(
  stack: RotationStack,
  name: string,
  testCase: Case,
  adminArn: string,
): Promise<string> {
  if (typeof testCase.value === "string") return createSecret(stack, name, testCase.value);
  // The self-reference needs the ARN before the value exists: create first, then store the value.
  const arn = await createSecret(stack, name, undefined);
  const value = Object.fromEntries(
    Object.entries(testCase.value).map(([key, field]) => [
      key,
      field === ADMIN_ARN_PLACEHOLDER || field === "<case-admin>"
        ? adminArn
        : field === SELF_ARN_PLACEHOLDER
          ? arn
          : field,
    ]),
  );
  await stack.client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));
  return arn;
}

async function createSecret(stack: RotationStack, name: string, value: string | undefined): Promise<string> {
  const response = await stack.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  assert.ok(response.ARN);
  return response.ARN;
}

describe("malformed events fail before any Secrets Manager or Genesys call", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ log: recordingLog() });
  });
  after(() => stack?.stop());

  const token = "0f0e0d0c-0b0a-4908-8706-050403020100";
  const events: [string, unknown][] = [
    ["no event", undefined],
    ["an unknown step", { Step: "rotate", SecretId: "genesys/app", ClientRequestToken: token }],
    ["an empty SecretId", { Step: "createSecret", SecretId: "", ClientRequestToken: token }],
    ["a short token", { Step: "createSecret", SecretId: "genesys/app", ClientRequestToken: "abc" }],
    [
      "a RotationToken object",
      { Step: "createSecret", SecretId: "genesys/app", ClientRequestToken: token, RotationToken: {} },
    ],
  ];
  for (const [label, event] of events) {
    test(label, async () => {
      const requests = stack.genesys.counters.requests();
      const handler = stack.createHandler();
      await assert.rejects(handler(event), RotationEventError);
      assert.equal(stack.genesys.counters.requests(), requests);
    });
  }

  test("an unknown version or a version that is not AWSPENDING is refused by the guard", async () => {
    const handler = stack.createHandler();
    await assert.rejects(
      handler({ Step: "createSecret", SecretId: stack.secrets.app, ClientRequestToken: token }),
      /RotationStateError|is not a version of the secret/,
    );
    const described = await stack.client.send(new DescribeSecretCommand({ SecretId: stack.secrets.app }));
    const currentVersion = Object.entries(described.VersionIdsToStages ?? {})[0]?.[0];
    assert.ok(currentVersion);
    // The current version of a secret that is not rotating: already AWSCURRENT, so every step is a no-op.
    const outcome = await handler({
      Step: "createSecret",
      SecretId: stack.secrets.app,
      ClientRequestToken: currentVersion,
    });
    assert.equal(outcome.result, "already-current");
    assert.equal(stack.genesys.counters.requests(), 0);
  });
});
