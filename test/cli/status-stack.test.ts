/**
 * `status` against "real AWS" stand-ins: the Secrets Manager emulator, and a 127.0.0.1 server that answers
 * CloudFormation DescribeStacks (AWS query protocol) and DynamoDB GetItem. The token table and the
 * credential come from the stack's outputs; `--all` lists the stack's rotated secrets from metadata.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { StatusAllReport, StatusReport } from "../../bin/cli/status.ts";
import { ManualClock } from "../../lambda/shared/clock.ts";
import { serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { inProcessInvoker, startSecretsManagerEmulator } from "../../local/aws/secrets-manager/index.ts";
import { runCli } from "./support.ts";

const REGION = "eu-west-1";
const STACK = "GenesysOAuthRotator";
const ROTATION_ARN = `arn:aws:lambda:${REGION}:123456789012:function:GenesysOAuthRotator-Rotation`;
const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
const emulator = await startSecretsManagerEmulator({ clock, region: REGION, accountId: "123456789012" });
after(() => emulator.stop());
// Test rotations only (RotateImmediately=false): the function is called for testSecret and succeeds.
emulator.setInvoker(inProcessInvoker({ [ROTATION_ARN]: async () => {} }));
const secretsManager = new SecretsManagerClient(emulator.clientConfig);
after(() => secretsManager.destroy());

const value = (clientId: string) =>
  serializeCredentialSecret({
    environment: "mypurecloud.ie",
    clientId,
    clientSecret: "not-a-real-secret-1",
    strategy: "alternating",
    alternateClientId: `${clientId}-twin`,
  });
const create = async (name: string, tags: { Key: string; Value: string }[] = []) =>
  (
    await secretsManager.send(
      new CreateSecretCommand({ Name: name, SecretString: value(name.replace(/\W/g, "-")), Tags: tags }),
    )
  ).ARN as string;
const configureRotation = async (name: string) => {
  await secretsManager.send(
    new RotateSecretCommand({
      SecretId: name,
      RotationLambdaARN: ROTATION_ARN,
      RotationRules: { ScheduleExpression: "rate(90 days)" },
      RotateImmediately: false,
    }),
  );
  await emulator.waitForRotation(name);
};

const appArn = await create("genesys/app");
await configureRotation("genesys/app");
await create("genesys/admin", [{ Key: "aws:cloudformation:stack-name", Value: STACK }]);
await create("other/unrelated");
await create("genesys/stuck");
await configureRotation("genesys/stuck");
await secretsManager.send(
  new PutSecretValueCommand({
    SecretId: "genesys/stuck",
    SecretString: value("stuck-next"),
    VersionStages: ["AWSPENDING"],
  }),
);
clock.advance(60 * 60_000);

/** DescribeStacks (form-encoded query protocol, XML answer) and GetItem (JSON 1.0) on one loopback server. */
const getItems: unknown[] = [];
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    if (String(request.headers["x-amz-target"] ?? "").startsWith("DynamoDB_20120810.GetItem")) {
      getItems.push(JSON.parse(body));
      response.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
      response.end("{}");
      return;
    }
    const form = new URLSearchParams(body);
    const name = form.get("StackName");
    if (form.get("Action") !== "DescribeStacks" || name !== STACK) {
      response.writeHead(400, { "content-type": "text/xml" });
      response.end(
        `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
      );
      return;
    }
    const outputs = {
      TokenTableName: "genesys-tokens",
      TokenVendorFunctionName: "GenesysOAuthRotator-TokenVendor",
      TokenVendorCredentials: JSON.stringify({ app: appArn }),
      RotationFunctionArn: ROTATION_ARN,
    };
    const members = Object.entries(outputs)
      .map(
        ([key, output]) =>
          `<member><OutputKey>${key}</OutputKey><OutputValue>${escapeXml(output)}</OutputValue></member>`,
      )
      .join("");
    response.writeHead(200, { "content-type": "text/xml" });
    response.end(
      `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
        `<StackName>${STACK}</StackName><StackId>arn:aws:cloudformation:${REGION}:123456789012:stack/${STACK}/1</StackId>` +
        `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
        `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r2</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  });
});
server.listen(0, "127.0.0.1");
await once(server, "listening");
after(() => server.close());
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const awsClient = {
  region: REGION,
  endpoint,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
};
const cloudformation = new CloudFormationClient(awsClient);
const dynamodb = new DynamoDBClient(awsClient);
after(() => {
  cloudformation.destroy();
  dynamodb.destroy();
});

const status = (argv: string[]) =>
  runCli(["status", ...argv], {
    target: { kind: "aws", region: REGION },
    secretsManager,
    cloudformation,
    dynamodb,
    clock,
  });

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

describe("status finds the token cache through the deployed stack's outputs", () => {
  it("reads the table and the credential of the secret from DescribeStacks (no --table needed)", async () => {
    const run = await status(["--secret-id", "genesys/app", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as StatusReport;
    assert.deepEqual(report.tokenCache, { table: "genesys-tokens", credential: "app", present: false });
    assert.deepEqual((getItems.at(-1) as { TableName: string; Key: unknown }).Key, { pk: { S: "app" } });
    assert.doesNotMatch(run.output.all(), /not-a-real-secret/);
  });

  it("--table overrides the output; a missing stack only empties the cache section (exit 0)", async () => {
    const missing = await status(["--secret-id", "genesys/app", "--stack", "Elsewhere", "--json"]);
    assert.equal(missing.code, 0, missing.stderr);
    const report = JSON.parse(missing.stdout) as StatusReport;
    assert.match(
      report.tokenCacheError ?? "",
      /Stack "Elsewhere" not found in region eu-west-1 \(DescribeStacks\)/,
    );

    const overridden = await status(["--secret-id", "genesys/app", "--table", "my-tokens", "--json"]);
    assert.equal((JSON.parse(overridden.stdout) as StatusReport).tokenCache?.table, "my-tokens");
  });
});

describe("status --all", () => {
  it("lists the stack's rotated and tagged secrets with age, outcome, next rotation and stuck AWSPENDING", async () => {
    const run = await status(["--all", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as StatusAllReport;
    assert.equal(report.stack, STACK);
    assert.deepEqual(
      report.secrets.map((secret) => secret.name),
      ["genesys/admin", "genesys/app", "genesys/stuck"],
      "rotated by the stack's function or tagged with its name; other/unrelated is not listed",
    );
    const [admin, app, stuck] = report.secrets;
    assert.equal(admin?.rotationEnabled, false);
    assert.equal(admin?.lastOutcome, "never rotated");
    assert.equal(app?.rotationEnabled, true);
    assert.equal(app?.lastOutcome, "never rotated");
    assert.equal(app?.ageSeconds, 3600);
    assert.ok(app?.nextRotationAt !== undefined && Date.parse(app.nextRotationAt) > clock.now());
    assert.equal(app?.overdue, false);
    assert.equal(stuck?.lastOutcome, "STUCK");
    assert.equal(stuck?.pendingRotation?.stuck, true);
    assert.equal(stuck?.pendingRotation?.ageSeconds, 3600);
    assert.deepEqual(report.fix, [
      `npx genesys-rotator recover --secret-id genesys/stuck --region ${REGION}`,
    ]);

    const text = await status(["--all"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Rotated secrets of stack GenesysOAuthRotator:/);
    assert.match(text.stdout, /secret +age +last outcome +last rotated +next rotation +AWSPENDING/);
    assert.match(text.stdout, /genesys\/stuck +60m +STUCK/);
    assert.match(text.stdout, /genesys\/admin +60m +never rotated, rotation DISABLED/);
    assert.doesNotMatch(text.output.all(), /not-a-real-secret/);
  });

  it("an unknown stack fails with the AWS error's exit code (3)", async () => {
    const run = await status(["--all", "--stack", "Elsewhere"]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /^error: Stack "Elsewhere" not found in region eu-west-1 \(DescribeStacks\)/);
  });
});
