/**
 * The awsJson1_1 wire contract (raw HTTP and the SDK's view of it), fault injection, and the
 * standalone command.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../../lambda/shared/clock.ts";
import { startWithClient, token } from "./helpers.ts";

const clock = new ManualClock(Date.UTC(2026, 4, 1, 8, 30, 0));
const { emulator, client } = await startWithClient({ clock });
await client.send(new CreateSecretCommand({ Name: "wire", SecretString: "v1" }));

/** One raw awsJson1_1 call. */
async function call(operation: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(emulator.url, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `secretsmanager.${operation}`,
      authorization:
        "AWS4-HMAC-SHA256 Credential=local/20260501/us-east-1/secretsmanager/aws4_request, Signature=x",
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe("awsJson1_1 wire format", () => {
  it("answers with application/x-amz-json-1.1, a request id, and epoch-second timestamps", async () => {
    const response = await call("DescribeSecret", { SecretId: "wire" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-amz-json-1.1");
    assert.match(response.headers.get("x-amzn-requestid") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(response.body.CreatedDate, clock.now() / 1000);
    assert.equal(typeof response.body.LastChangedDate, "number");
  });

  it("sends errors as HTTP 400 {__type, message} with x-amzn-ErrorType", async () => {
    const response = await call("GetSecretValue", { SecretId: "missing" });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("x-amzn-errortype"), "ResourceNotFoundException");
    assert.deepEqual(response.body, {
      __type: "ResourceNotFoundException",
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it("refuses an unsigned request, an unknown operation, a missing member and a malformed body", async () => {
    const unsigned = await fetch(emulator.url, {
      method: "POST",
      headers: {
        "x-amz-target": "secretsmanager.DescribeSecret",
        "content-type": "application/x-amz-json-1.1",
      },
      body: "{}",
    });
    assert.equal(unsigned.status, 400);
    assert.equal(
      ((await unsigned.json()) as { __type: string }).__type,
      "MissingAuthenticationTokenException",
    );

    assert.equal((await call("UpdateSecret", {})).body.__type, "UnknownOperationException");
    const missing = await call("DescribeSecret", {});
    assert.equal(missing.body.__type, "ValidationException");
    assert.equal(
      missing.body.message,
      "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null",
    );
    const shortToken = await call("PutSecretValue", {
      SecretId: "wire",
      SecretString: "x",
      ClientRequestToken: "short",
    });
    assert.equal(shortToken.body.__type, "ValidationException");

    const malformed = await fetch(emulator.url, {
      method: "POST",
      headers: { "x-amz-target": "secretsmanager.DescribeSecret", authorization: "x" },
      body: "{not json",
    });
    assert.equal(((await malformed.json()) as { __type: string }).__type, "SerializationException");
  });
});

describe("fault injection", () => {
  it("failNext serves the error N times, which the SDK maps (and by default retries)", async () => {
    emulator.faults.failNext("GetSecretValue", "InternalServiceError", 1);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "wire" })), (error: Error) => {
      assert.ok(error instanceof InternalServiceError);
      assert.equal((error as InternalServiceError).$metadata.httpStatusCode, 500);
      return true;
    });
    emulator.faults.failNext("GetSecretValue", "ThrottlingException", 2);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "wire" })), {
      name: "ThrottlingException",
    });
    assert.equal(emulator.faults.injected("GetSecretValue"), 2);

    const retrying = new SecretsManagerClient({ ...emulator.clientConfig, maxAttempts: 3 });
    try {
      const value = await retrying.send(new GetSecretValueCommand({ SecretId: "wire" }));
      assert.equal(value.$metadata.attempts, 2, "the SDK retried the remaining throttle once");
      assert.equal(value.SecretString, "v1");
    } finally {
      retrying.destroy();
    }
  });

  it("afterApplying returns the error after the change, so an idempotent retry sees it applied", async () => {
    emulator.faults.failNext("PutSecretValue", "InternalServiceError", 1, { afterApplying: true });
    const request = { SecretId: "wire", SecretString: "v2", ClientRequestToken: token("lost-answer") };
    await assert.rejects(client.send(new PutSecretValueCommand(request)), InternalServiceError);
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: "wire" }))).SecretString, "v2");
    const retried = await client.send(new PutSecretValueCommand(request));
    assert.equal(retried.VersionId, token("lost-answer"));
    const described = await client.send(new DescribeSecretCommand({ SecretId: "wire" }));
    assert.equal(Object.keys(described.VersionIdsToStages ?? {}).length, 2, "no third version");
  });

  it("delay slows an operation down and clear removes every fault", async () => {
    emulator.faults.delay("DescribeSecret", 150);
    const started = performance.now();
    await client.send(new DescribeSecretCommand({ SecretId: "wire" }));
    assert.ok(performance.now() - started >= 140);
    emulator.faults.failNext("*", "InternalServiceError", 5);
    emulator.faults.clear();
    await client.send(new DescribeSecretCommand({ SecretId: "wire" }));
  });
});

describe("standalone command", () => {
  it("prints {url, region} when ready, serves the SDK, and exits cleanly on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "local/aws/secrets-manager/main.ts", "--port", "0", "--region", "eu-central-1"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const ready = JSON.parse(line) as { url: string; region: string };
      assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(ready.region, "eu-central-1");

      const standalone = new SecretsManagerClient({
        endpoint: ready.url,
        region: ready.region,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      const created = await standalone.send(new CreateSecretCommand({ Name: "cli", SecretString: "x" }));
      assert.match(created.ARN ?? "", /^arn:aws:secretsmanager:eu-central-1:/);
      standalone.destroy();

      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("--help prints usage and exits 0", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "local/aws/secrets-manager/main.ts", "--help"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.match(output, /^Usage: npm run secrets-manager-emulator/);
  });
});
