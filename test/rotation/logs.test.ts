/**
 * What the rotation function writes: structured JSON logs with the step context, EMF metrics that do not
 * crash locally, and never a client secret or an access token — checked against every secret and token
 * the Genesys emulator ever issued, across successful, failed and hook-failing rotations.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { cacheWarmingHook } from "../../lambda/rotation/finish-hooks.ts";
import { assertNoSecrets, captureOutput } from "../support/log-capture.ts";
import { STACK_ENVIRONMENT, STACK_REGION, startRotationStack } from "../support/rotation-stack.ts";

// Debug lines too: the most verbose level must be as clean as the default one.
process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
delete process.env.POWERTOOLS_METRICS_DISABLED;

/** A stand-in for the Lambda Invoke API: records payloads; answers with a function error when told. */
async function startInvokeStub(): Promise<{
  url: string;
  payloads: unknown[];
  /** The request path and query of each invoke. */
  urls: string[];
  failNext: () => void;
  server: Server;
}> {
  const payloads: unknown[] = [];
  const urls: string[] = [];
  let fail = false;
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    payloads.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    urls.push(request.url ?? "");
    if (fail) {
      fail = false;
      response.writeHead(200, { "Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled" });
      response.end(
        JSON.stringify({ errorType: "UnknownCredentialError", errorMessage: "no credential for that ARN" }),
      );
      return;
    }
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ warmed: true, credential: "app", expiresAt: new Date().toISOString() }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, payloads, urls, failNext: () => (fail = true), server };
}

test("no secret or token in any log line; logs carry the step context; metrics are emitted", async () => {
  const stub = await startInvokeStub();
  const stack = await startRotationStack({ maxRotationAttempts: 1 });
  const invalidSecret = "fake-secret-in-an-invalid-value-xxxxxxxxxxxx";
  try {
    const lambda = new LambdaClient({
      endpoint: stub.url,
      region: STACK_REGION,
      credentials: { accessKeyId: "AKIDLOCALSTUB", secretAccessKey: "local-stub-not-a-secret" },
    });
    stack.setRotationFunction(stack.createHandler({ finishHooks: [cacheWarmingHook(lambda, "vendor")] }));
    const { output } = await captureOutput(async () => {
      for (const secretId of [stack.secrets.app, stack.secrets.single, stack.secrets.admin]) {
        const outcome = await stack.rotate(secretId);
        assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      }
      // A cache-warming failure is logged, not fatal.
      stub.failNext();
      assert.equal((await stack.rotate(stack.secrets.app)).eventName, "RotationSucceeded");
      // A failed rotation (AWSCURRENT rejected: the confused-deputy guard) and an invalid value.
      stack.genesys.state.regenerateSecret(
        (await stack.readStaged(stack.secrets.admin, "AWSCURRENT"))!.clientId,
      );
      assert.equal((await stack.rotate(stack.secrets.admin)).eventName, "RotationFailed");
      await stack.client.send(
        new PutSecretValueCommand({
          SecretId: stack.secrets.app,
          SecretString: JSON.stringify({
            environment: STACK_ENVIRONMENT,
            clientId: "x",
            clientSecret: invalidSecret,
          }),
        }),
      );
      assert.equal((await stack.rotate(stack.secrets.app)).eventName, "RotationFailed");
    });

    assertNoSecrets(output, {
      "client secret": [...stack.genesys.issued.secrets, invalidSecret],
      "access token": stack.genesys.issued.accessTokens,
    });
    assert.deepEqual(stack.genesys.issued.occurrencesIn(output), { secrets: 0, accessTokens: 0 });

    const lines = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const logs = lines.filter((line) => typeof line.message === "string");
    const created = logs.find(
      (line) => line.message === "rotation step succeeded" && line.strategy === "alternating",
    );
    assert.ok(created, "a success line with the strategy");
    for (const key of [
      "step",
      "secretArn",
      "clientRequestToken",
      "strategy",
      "service",
      "level",
      "timestamp",
    ]) {
      assert.ok(key in created, `log lines carry ${key}`);
    }
    const rejected = logs.find((line) => line.errorName === "CurrentCredentialRejectedError");
    assert.equal(rejected?.level, "ERROR");
    assert.match(String(rejected?.errorMessage), /confused-deputy guard/);
    const hookWarning = logs.find((line) => line.hook === "cacheWarming" && line.level === "WARN");
    assert.match(String(hookWarning?.errorMessage), /UnknownCredentialError/);
    const emf = lines.filter((line) => typeof line._aws === "object");
    assert.ok(
      emf.some((line) => "RotationStepSucceeded" in line),
      "EMF metrics were published",
    );
    assert.ok(emf.some((line) => "RotationStepFailed" in line));

    assert.deepEqual(stub.payloads[0], { warm: { secretArn: stack.secrets.app } });
    // Through the vendor's cache-warming alias, the only one that accepts a warm request.
    assert.equal(stub.urls[0], "/2015-03-31/functions/vendor/invocations?Qualifier=cache-warming");
  } finally {
    await stack.stop();
    stub.server.close();
  }
});
