/**
 * The rules that live once in lambda/shared and are used by every layer (docs/ARCHITECTURE.md, "Rules"):
 * each as an accepts/rejects table.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as z from "zod/mini";
import { parseJsonObjectVariable } from "../../lambda/shared/env-json.ts";
import { ConfigurationError } from "../../lambda/shared/errors.ts";
import { defaultRule, schemaProblems } from "../../lambda/shared/schema-issues.ts";
import {
  isCompleteSecretArn,
  isSecretArn,
  isSecretName,
  secretArnResource,
  secretNameFromArn,
} from "../../lambda/shared/secret-arn.ts";
import { silentLog } from "../../lambda/shared/silent-log.ts";
import { ROTATION_STEPS } from "../../lambda/shared/staging-labels.ts";
import {
  CACHE_WARMING_ALIAS,
  CREDENTIAL_NAME_RULE,
  credentialNameProblem,
  isCredentialNameShape,
  VENDED_NAME_EXTRA_RULE,
} from "../../lambda/shared/vendor-alias.ts";

const PREFIX = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:";

describe("secret ARN rule", () => {
  const accepted: Array<[string, string]> = [
    ["a partial ARN", `${PREFIX}genesys/app`],
    ["a complete ARN", `${PREFIX}genesys/app-AbCdEf`],
    ["the aws-cn partition", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:app"],
    ["the aws-us-gov partition", "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app"],
    ["every name character", `${PREFIX}a/b_c+d=e.f@g-h`],
    ["a 512-character name", `${PREFIX}${"n".repeat(512)}`],
    ["a 512-character name with its suffix", `${PREFIX}${"n".repeat(512)}-AbCdEf`],
  ];
  const rejected: Array<[string, string]> = [
    ["another service", "arn:aws:ssm:eu-west-1:123456789012:parameter/app"],
    ["another partition", `arn:azure:secretsmanager:eu-west-1:123456789012:secret:app`],
    ["no region", "arn:aws:secretsmanager::123456789012:secret:app"],
    ["an 11-digit account", "arn:aws:secretsmanager:eu-west-1:12345678901:secret:app"],
    ["a 13-digit account", "arn:aws:secretsmanager:eu-west-1:1234567890123:secret:app"],
    ["no name", PREFIX],
    ["a space in the name", `${PREFIX}my app`],
    ["a colon in the name", `${PREFIX}app:1`],
    ["a 513-character name without a suffix", `${PREFIX}${"n".repeat(513)}`],
    ["a 513-character name with a suffix", `${PREFIX}${"n".repeat(513)}-AbCdEf`],
    ["a name", "genesys/app"],
  ];
  for (const [what, arn] of accepted) {
    it(`accepts ${what}`, () => assert.equal(isSecretArn(arn), true));
  }
  for (const [what, arn] of rejected) {
    it(`rejects ${what}`, () => assert.equal(isSecretArn(arn), false));
  }

  it("tells a complete ARN (name + -XXXXXX) from a partial one and reads the name", () => {
    const table: Array<[string, boolean, string | undefined, string | undefined]> = [
      [`${PREFIX}genesys/app-AbCdEf`, true, "genesys/app", "genesys/app-AbCdEf"],
      [`${PREFIX}genesys/app`, false, "genesys/app", "genesys/app"],
      [`${PREFIX}app-AbCdE`, false, "app-AbCdE", "app-AbCdE"],
      // Only a suffix, no name before it: a partial ARN of a 7-character name.
      [`${PREFIX}-AbCdEf`, false, "-AbCdEf", "-AbCdEf"],
      ["genesys/app-AbCdEf", false, undefined, undefined],
    ];
    for (const [arn, complete, name, resource] of table) {
      assert.equal(isCompleteSecretArn(arn), complete, arn);
      assert.equal(secretNameFromArn(arn), name, arn);
      assert.equal(secretArnResource(arn), resource, arn);
    }
  });

  it("secret names: 1-512 of [A-Za-z0-9/_+=.@-]", () => {
    for (const name of ["a", "genesys/app", "a/b_c+d=e.f@g-h", "n".repeat(512)])
      assert.ok(isSecretName(name), name);
    for (const name of ["", "n".repeat(513), "my app", "app:1", "app*", "ä"])
      assert.ok(!isSecretName(name), name);
  });
});

describe("credential name rule (a Lambda alias name)", () => {
  const accepted = ["a", "A", "0a", "reporting", "reporting-prod", "team_1", "1-2", "n".repeat(48)];
  const shapeRejected = ["", "-a", "_a", "a.b", "a b", "a/b", "ä", "n".repeat(49)];
  const aliasRejected = ["0", "2024", CACHE_WARMING_ALIAS];
  for (const name of accepted) {
    it(`accepts ${JSON.stringify(name)}`, () => assert.equal(credentialNameProblem(name), undefined));
  }
  for (const name of shapeRejected) {
    it(`rejects ${JSON.stringify(name)} (characters or length)`, () => {
      assert.equal(isCredentialNameShape(name), false);
      assert.equal(credentialNameProblem(name), CREDENTIAL_NAME_RULE);
    });
  }
  for (const name of aliasRejected) {
    it(`rejects ${JSON.stringify(name)} (all digits reads as a version; cache-warming is reserved)`, () => {
      assert.equal(isCredentialNameShape(name), true);
      assert.equal(credentialNameProblem(name), VENDED_NAME_EXTRA_RULE);
    });
  }
});

describe("JSON-object environment variables", () => {
  const RULE = 'must be a JSON object {"<name>": "<secret>"}';
  it("accepts a JSON object", () => {
    assert.deepEqual(parseJsonObjectVariable("CREDENTIALS", '{"a":"b"}', RULE), { a: "b" });
    assert.deepEqual(parseJsonObjectVariable("CREDENTIALS", " {} ", RULE), {});
  });
  const rejected: Array<[string, string, string]> = [
    ["not JSON", "{a:b}", `CREDENTIALS: is not valid JSON; ${RULE}`],
    ["an array", "[]", `CREDENTIALS: ${RULE}`],
    ["null", "null", `CREDENTIALS: ${RULE}`],
    ["a string", '"a"', `CREDENTIALS: ${RULE}`],
    ["a number", "1", `CREDENTIALS: ${RULE}`],
  ];
  for (const [what, value, message] of rejected) {
    it(`rejects ${what}, naming the variable and the rule`, () => {
      assert.throws(
        () => parseJsonObjectVariable("CREDENTIALS", value, RULE),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.message === message &&
          error.key === "CREDENTIALS" &&
          error.rule === message.slice("CREDENTIALS: ".length),
      );
    });
  }
});

describe("ConfigurationError", () => {
  it("keeps its key and rule apart from the message", () => {
    const error = new ConfigurationError("LEASE_SECONDS", "must be a whole number of seconds from 1 to 900");
    assert.equal(error.key, "LEASE_SECONDS");
    assert.equal(error.rule, "must be a whole number of seconds from 1 to 900");
    assert.equal(error.message, "LEASE_SECONDS: must be a whole number of seconds from 1 to 900");
  });
});

describe("one home for the rest", () => {
  it("ROTATION_STEPS: the protocol's four steps in the order Secrets Manager calls them", () => {
    assert.deepEqual(ROTATION_STEPS, ["createSecret", "setSecret", "testSecret", "finishSecret"]);
  });
  it("silentLog drops everything", () => {
    for (const level of ["debug", "info", "warn", "error"] as const) silentLog[level]("nothing", { a: 1 });
  });
});

describe("schema issues → field + rule (lambda/shared/schema-issues.ts)", () => {
  const SECRET = "Zq3V9xL0-tR7mKp2Wc8Hn4Jy6Ud1Fs5Ab0Eg3Qi7Ox";
  const schema = z.strictObject({
    name: z.string().check(z.regex(/^[a-z]+$/, { error: "must be lower-case letters" })),
    size: z.optional(z.int().check(z.gte(1), z.lte(9))),
    tags: z.optional(z.array(z.strictObject({ id: z.string() }))),
  });
  function problems(value: unknown) {
    const result = schema.safeParse(value, { error: defaultRule });
    assert.equal(result.success, false);
    return result.success ? [] : schemaProblems(result.error, { root: "(value)" });
  }

  it("names the path and the schema's own rule or a default one, outermost (and unknown keys) first", () => {
    assert.deepEqual(problems({ name: "A", size: 10, tags: [{ id: 1 }], extra: true }), [
      { path: "extra", rule: "is not allowed" },
      { path: "name", rule: "must be lower-case letters" },
      { path: "size", rule: "must be at most 9" },
      { path: "tags[0].id", rule: "must be string" },
    ]);
    assert.deepEqual(problems({}), [{ path: "name", rule: "is required" }]);
    assert.deepEqual(problems([]), [{ path: "(value)", rule: "must be object" }]);
  });

  it("prefixes the root when asked", () => {
    const result = schema.safeParse({ name: "ok", tags: [{}] }, { error: defaultRule });
    assert.ok(!result.success);
    assert.deepEqual(schemaProblems(result.error, { root: "ctx", prefixRoot: true }), [
      { path: "ctx.tags[0].id", rule: "is required" },
    ]);
  });

  it("never quotes the received value", () => {
    for (const value of [{ name: SECRET }, { name: 1, [SECRET]: 1 }, SECRET, { size: SECRET, name: "a" }]) {
      const result = schema.safeParse(value, { error: defaultRule });
      assert.ok(!result.success);
      const rules = schemaProblems(result.error, { root: "(value)" }).map((problem) => problem.rule);
      for (const rule of rules) assert.ok(!rule.includes(SECRET), rule);
    }
  });
});
