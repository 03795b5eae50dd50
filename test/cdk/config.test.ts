/**
 * lib/config.ts: defaults, and invalid configurations rejected with messages that name the key path.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRotatorConfig, RotatorConfigError } from "../../lib/config.ts";

const minimal = { credentials: [{ name: "default", environment: "mypurecloud.ie" }] };

function problems(raw: unknown): string[] {
  try {
    parseRotatorConfig(raw);
  } catch (error) {
    assert.ok(error instanceof RotatorConfigError, `expected RotatorConfigError, got ${String(error)}`);
    assert.equal(error.name, "ConfigurationError");
    return error.issues.map((issue) => `${issue.path}: ${issue.rule}`);
  }
  assert.fail("the configuration was accepted");
}

function assertRejected(raw: unknown, expected: RegExp): void {
  const found = problems(raw);
  assert.ok(
    found.some((problem) => expected.test(problem)),
    `no problem matched ${expected}; got:\n${found.join("\n")}`,
  );
}

describe("valid configurations", () => {
  test("a minimal configuration gets every default", () => {
    assert.deepEqual(parseRotatorConfig(minimal), {
      stackName: "GenesysOAuthRotator",
      credentials: [
        {
          name: "default",
          environment: "mypurecloud.ie",
          strategy: "alternating",
          integrationCredentialIds: [],
        },
      ],
      adminCredentials: [],
      schedule: { expression: "rate(90 days)", maxSecretAgeDays: 99 },
      architecture: "arm64",
      extraEnvironments: [],
      warmTokenCache: true,
      rotationFunction: { memorySize: 256, propagationTimeoutSeconds: 60, minRotationGapSeconds: 176400 },
      vendingFunction: { memorySize: 512, timeoutSeconds: 10 },
      logRetentionDays: 365,
      dashboard: true,
    });
  });

  test("dashboard: false omits the dashboard", () => {
    assert.equal(parseRotatorConfig({ ...minimal, dashboard: false }).dashboard, false);
  });

  test("minRotationGapSeconds: 48 h + 1 h by default, half of a shorter rate interval, explicit below the interval", () => {
    const gap = (raw: Record<string, unknown>) =>
      parseRotatorConfig({ ...minimal, ...raw }).rotationFunction.minRotationGapSeconds;
    assert.equal(gap({ schedule: { expression: "rate(1 day)" } }), 43200);
    assert.equal(
      gap({ schedule: { expression: "cron(0 14 ? 1/3 TUE#2 *)", maxSecretAgeDays: 100 } }),
      176400,
    );
    assert.equal(gap({ rotationFunction: { minRotationGapSeconds: 0 } }), 0);
    assert.equal(gap({ rotationFunction: { minRotationGapSeconds: 3600 } }), 3600);
    assertRejected(
      {
        ...minimal,
        schedule: { expression: "rate(1 day)" },
        rotationFunction: { minRotationGapSeconds: 86400 },
      },
      /rotationFunction\.minRotationGapSeconds: must be shorter than the rotation interval \(86400 s\)/,
    );
    assertRejected(
      { ...minimal, rotationFunction: { minRotationGapSeconds: -1 } },
      /rotationFunction\.minRotationGapSeconds: -1 is invalid: must be a whole number of seconds from 0 to 31536000/,
    );
  });

  test("a cron schedule with a window, an extra environment, static egress and x86_64", () => {
    const config = parseRotatorConfig({
      credentials: [{ name: "eu", environment: "xyz9.pure.cloud" }],
      extraEnvironments: ["xyz9.pure.cloud"],
      schedule: { expression: "cron(0 14 ? 1/3 TUE#2 *)", windowHours: 3, maxSecretAgeDays: 100 },
      staticEgress: true,
      architecture: "x86_64",
    });
    assert.deepEqual(config.schedule, {
      expression: "cron(0 14 ? 1/3 TUE#2 *)",
      windowHours: 3,
      maxSecretAgeDays: 100,
    });
    assert.deepEqual(config.staticEgress, { eipAllocationIds: [], natGateways: 1, maxAzs: 2 });
    assert.equal(config.architecture, "x86_64");
  });

  test("the secret-age threshold follows the interval: 30 days → 33, 4 hours → 2 days", () => {
    assert.equal(
      parseRotatorConfig({ ...minimal, schedule: { expression: "rate(30 days)" } }).schedule.maxSecretAgeDays,
      33,
    );
    assert.equal(
      parseRotatorConfig({ ...minimal, schedule: { expression: "rate(4 hours)" } }).schedule.maxSecretAgeDays,
      2,
    );
  });
});

describe("invalid configurations name the key and the rule", () => {
  test("missing context", () => {
    assertRejected(undefined, /^genesys-oauth-rotator: is required \(an object\)/);
  });

  test("no credentials", () => {
    assertRejected({ credentials: [] }, /^genesys-oauth-rotator\.credentials: must list at least 1 entry/);
  });

  test("an unknown Genesys environment", () => {
    assertRejected(
      { credentials: [minimal.credentials[0], { name: "two", environment: "foo.example" }] },
      /^genesys-oauth-rotator\.credentials\[1\]\.environment: "foo\.example" is not a known Genesys Cloud domain; add it to extraEnvironments to allow it$/,
    );
  });

  test("a malformed extra environment", () => {
    assertRejected(
      { ...minimal, extraEnvironments: ["https://login.xyz.pure.cloud"] },
      /^genesys-oauth-rotator\.extraEnvironments\[0\]: "https:\/\/login\.xyz\.pure\.cloud" every entry must be a lower-case domain name/,
    );
  });

  test("a single credential without admin", () => {
    assertRejected(
      { credentials: [{ name: "legacy", environment: "mypurecloud.ie", strategy: "single" }] },
      /^genesys-oauth-rotator\.credentials\[0\]\.admin: is required when strategy is "single"/,
    );
  });

  test("an admin that does not exist, or lives in another environment", () => {
    assertRejected(
      { credentials: [{ ...minimal.credentials[0], admin: "boss" }] },
      /^genesys-oauth-rotator\.credentials\[0\]\.admin: "boss" is not the name of an entry of adminCredentials/,
    );
    assertRejected(
      {
        credentials: [{ ...minimal.credentials[0], admin: "admin" }],
        adminCredentials: [{ name: "admin", environment: "mypurecloud.de" }],
      },
      /credentials\[0\]\.admin: admin credential "admin" is in environment mypurecloud\.de/,
    );
  });

  test("an unknown strategy", () => {
    assertRejected(
      { credentials: [{ ...minimal.credentials[0], strategy: "dual" }] },
      /^genesys-oauth-rotator\.credentials\[0\]\.strategy: "dual" is invalid: must be "alternating"/,
    );
  });

  test("a typo in a key", () => {
    assertRejected(
      { ...minimal, alarmEmial: "ops@example.com" },
      /^genesys-oauth-rotator\.alarmEmial: is not a known key; allowed keys are /,
    );
  });

  test("an import ARN that is not a Secrets Manager ARN, and a key without import", () => {
    assertRejected(
      {
        credentials: [
          { ...minimal.credentials[0], importSecretArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/x" },
        ],
      },
      /^genesys-oauth-rotator\.credentials\[0\]\.importSecretArn: .* must be a Secrets Manager secret ARN/,
    );
    assertRejected(
      {
        credentials: [
          {
            ...minimal.credentials[0],
            importSecretKmsKeyArn:
              "arn:aws:kms:eu-west-1:123456789012:key/0d3c0c8e-1111-2222-3333-444455556666",
          },
        ],
      },
      /credentials\[0\]\.importSecretKmsKeyArn: is only allowed with importSecretArn/,
    );
  });

  test("schedule expressions Secrets Manager rejects", () => {
    assertRejected(
      { ...minimal, schedule: { expression: "rate(2 hours)" } },
      /schedule\.expression: must rotate at most every 4 hours/,
    );
    assertRejected(
      { ...minimal, schedule: { expression: "rate(1 days)" } },
      /schedule\.expression: use "day" with 1/,
    );
    assertRejected(
      { ...minimal, schedule: { expression: "every 90 days" } },
      /schedule\.expression: must be rate\(N days\)/,
    );
    assertRejected(
      { ...minimal, schedule: { expression: "cron(30 14 ? 1/3 TUE#2 *)", maxSecretAgeDays: 100 } },
      /schedule\.expression: Secrets Manager requires minutes "0" and year "\*"/,
    );
    assertRejected(
      { ...minimal, schedule: { expression: "cron(0 14 ? 1/3 TUE#2 *)" } },
      /schedule\.maxSecretAgeDays: is required with a cron\(\.\.\.\) expression/,
    );
    assertRejected(
      { ...minimal, schedule: { expression: "rate(90 days)", maxSecretAgeDays: 30 } },
      /schedule\.maxSecretAgeDays: must be longer than the rotation interval \(90 days\)/,
    );
    assertRejected(
      { ...minimal, schedule: { windowHours: 25 } },
      /schedule\.windowHours: 25 is invalid: must be a whole number from 1 to 24/,
    );
  });

  test("both alarm destinations, or a bad e-mail address", () => {
    assertRejected(
      { ...minimal, alarmEmail: "ops@example.com", alarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops" },
      /^genesys-oauth-rotator\.alarmEmail: set either alarmEmail .* or alarmTopicArn .*, not both/,
    );
    assertRejected(
      { ...minimal, alarmEmail: "ops" },
      /^genesys-oauth-rotator\.alarmEmail: "ops" is invalid: must be an e-mail address/,
    );
  });

  test("duplicate names, including names that differ only in '-' or case", () => {
    assertRejected(
      { credentials: [minimal.credentials[0], { name: "De-fault", environment: "mypurecloud.ie" }] },
      /credentials\[1\]\.name: "De-fault" clashes with genesys-oauth-rotator\.credentials\[0\]\.name/,
    );
  });

  test("credential names that cannot be the vendor's alias: all digits, or the reserved cache-warming", () => {
    for (const name of ["2024", "cache-warming"]) {
      assertRejected(
        { credentials: [{ name, environment: "mypurecloud.ie" }] },
        new RegExp(
          `^genesys-oauth-rotator\\.credentials\\[0\\]\\.name: "${name}" is invalid: a credential name may not be all digits .* nor "cache-warming"`,
        ),
      );
    }
    // Admin credentials are never vended: no alias, no such restriction.
    assert.doesNotThrow(() =>
      parseRotatorConfig({ ...minimal, adminCredentials: [{ name: "2024", environment: "mypurecloud.ie" }] }),
    );
  });

  test("the same secret imported twice", () => {
    const importSecretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared-AbC123";
    assertRejected(
      {
        credentials: [
          { name: "a", environment: "mypurecloud.ie", importSecretArn },
          { name: "b", environment: "mypurecloud.ie", importSecretArn },
        ],
      },
      /credentials\[1\]\.importSecretArn: is also imported by .*credentials\[0\]\.importSecretArn/,
    );
  });

  test("static egress with the wrong number of Elastic IPs, an architecture, a retention, a propagation timeout", () => {
    assertRejected(
      { ...minimal, staticEgress: { natGateways: 2, eipAllocationIds: ["eipalloc-0123456789abcdef0"] } },
      /staticEgress\.eipAllocationIds: must list exactly one allocation id per NAT gateway/,
    );
    assertRejected(
      { ...minimal, architecture: "arm" },
      /^genesys-oauth-rotator\.architecture: "arm" is invalid/,
    );
    assertRejected(
      { ...minimal, logRetentionDays: 42 },
      /logRetentionDays: 42 is invalid: must be one of 1, 3, 5/,
    );
    assertRejected(
      { ...minimal, rotationFunction: { propagationTimeoutSeconds: 600 } },
      /rotationFunction\.propagationTimeoutSeconds: 600 is invalid: .*the function times out after 300 s/,
    );
    assertRejected(
      { ...minimal, dashboard: "no" },
      /^genesys-oauth-rotator\.dashboard: must be true or false$/,
    );
  });

  test("every problem is reported at once, one per line", () => {
    try {
      parseRotatorConfig({
        credentials: [{ name: "bad name!", environment: "foo.example", strategy: "single" }],
      });
      assert.fail("accepted");
    } catch (error) {
      assert.ok(error instanceof RotatorConfigError);
      assert.equal(error.issues.length, 3);
      assert.match(
        error.message,
        /^3 problems in cdk\.json context "genesys-oauth-rotator":\n {2}- genesys-oauth-rotator\.credentials\[0\]\.name: /,
      );
    }
  });
});
