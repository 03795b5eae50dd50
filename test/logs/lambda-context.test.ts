/**
 * Both handlers put the Lambda context on their log lines (Powertools Logger.addContext): every line of
 * an invocation carries its request id, and `cold_start` is true on a container's first invocation only.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createRotationHandler } from "../../lambda/rotation/handler.ts";
import { captureOutput } from "../support/log-capture.ts";

process.env.POWERTOOLS_METRICS_DISABLED = "true";
process.env.POWERTOOLS_LOG_LEVEL = "INFO";
// Read by the vending handler on its first invocation; the payloads below fail validation before any I/O.
process.env.CREDENTIALS = JSON.stringify({
  default: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123",
});
process.env.TOKEN_TABLE_NAME = "tokens";
process.env.AWS_REGION = "eu-west-1";
// As Lambda sets it for an on-demand container; Powertools reports `cold_start: false` without it.
process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";

/** A Lambda context as the runtime passes it. */
function lambdaContext(awsRequestId: string) {
  return {
    awsRequestId,
    functionName: "vendor",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:vendor",
    memoryLimitInMB: "512",
    logGroupName: "/aws/lambda/vendor",
    logStreamName: "stream",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 5000,
  };
}

/** The JSON log lines written while `call` ran. */
async function logLines(call: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const { output } = await captureOutput(() => call().catch(() => undefined));
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("the vending handler's log lines carry the request id and the cold-start flag", async () => {
  const { handler } = await import("../../lambda/vending/handler.ts");
  const first = await logLines(() => handler({ credential: 5 }, lambdaContext("request-1")));
  const second = await logLines(() => handler({ credential: 5 }, lambdaContext("request-2")));
  assert.ok(first.length > 0 && second.length > 0, "the rejected payloads are logged");
  for (const line of first) {
    assert.equal(line.function_request_id, "request-1");
    assert.equal(line.cold_start, true);
    assert.equal(line.function_name, "vendor");
  }
  for (const line of second) {
    assert.equal(line.function_request_id, "request-2");
    assert.equal(line.cold_start, false);
  }
});

test("the rotation handler's log lines carry the request id and the cold-start flag", async () => {
  const handler = createRotationHandler({ env: {} });
  const first = await logLines(() => handler({ Step: "nope" }, lambdaContext("rotation-1")));
  const second = await logLines(() => handler({ Step: "nope" }, lambdaContext("rotation-2")));
  assert.ok(first.length > 0 && second.length > 0, "the rejected events are logged");
  assert.deepEqual(
    first.map((line) => [line.function_request_id, line.cold_start]),
    first.map(() => ["rotation-1", true]),
  );
  assert.deepEqual(
    second.map((line) => [line.function_request_id, line.cold_start]),
    second.map(() => ["rotation-2", false]),
  );
});
