/**
 * The Lambda Invoke emulator driven by the real @aws-sdk/client-lambda (endpoint override, dummy
 * credentials), with fixture handlers from test/fixtures/lambda/.
 */

import assert from "node:assert/strict";
import { Agent as HttpAgent } from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import {
  type FunctionDefinition,
  type LambdaEmulator,
  parseFunctionName,
  startLambdaEmulator,
} from "../../local/aws/lambda/index.ts";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/lambda/${name}`, import.meta.url));
const probe = fixture("probe.ts");

interface ProbeResult {
  value: unknown;
  containerId: string;
  invocationsInThisContainer: number;
  greeting?: string;
  functionNameFromEnv: string;
  logStream: string;
  awsRequestId: string;
  functionName: string;
  invokedFunctionArn: string;
  remainingMs: number;
}

const decode = <T>(output: InvokeCommandOutput): T =>
  JSON.parse(Buffer.from(output.Payload ?? []).toString("utf8")) as T;

describe("Lambda Invoke emulator", () => {
  let emulator: LambdaEmulator;
  let lambda: LambdaClient;
  const logLines: string[] = [];

  const call = (
    functionName: string,
    payload: unknown,
    extra: Partial<ConstructorParameters<typeof InvokeCommand>[0]> = {},
  ) =>
    lambda.send(
      new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload), ...extra }),
    );

  /**
   * Registers like `emulator.register`, with a long init limit: no test here is about the init limit,
   * and a loaded machine may take well over Lambda's 10 s to load a handler through tsx in a worker.
   */
  const register = (name: string, definition: FunctionDefinition) =>
    emulator.register(name, { initTimeoutMs: 120_000, ...definition });

  before(async () => {
    emulator = await startLambdaEmulator({
      logOutput: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
          done();
        },
      }),
    });
    lambda = new LambdaClient({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
      // A fresh connection per call: with one attempt, reusing a keep-alive socket the emulator is closing
      // (idle for its keep-alive timeout, which a loaded machine reaches between tests) fails the call.
      requestHandler: { httpAgent: new HttpAgent({ keepAlive: false }) },
    });
  });

  after(async () => {
    lambda?.destroy();
    await emulator?.stop();
  });

  it("answers a successful invocation like Lambda, with a full context", async () => {
    await register("probe", { module: probe, timeoutMs: 20_000 });
    const output = await call("probe", { value: 42 });
    assert.equal(output.StatusCode, 200);
    assert.equal(output.ExecutedVersion, "$LATEST");
    assert.equal(output.FunctionError, undefined);
    const result = decode<ProbeResult>(output);
    assert.equal(result.value, 42);
    assert.equal(result.awsRequestId, output.$metadata.requestId);
    assert.equal(result.functionName, "probe");
    assert.equal(result.functionNameFromEnv, "probe");
    assert.equal(result.invokedFunctionArn, "arn:aws:lambda:us-east-1:000000000000:function:probe");
    assert.ok(result.remainingMs > 0 && result.remainingMs <= 20_000, `remaining ${result.remainingMs}`);
  });

  it("accepts the function as a full or partial ARN and with the $LATEST qualifier", async () => {
    const arn = emulator.functionArn("probe");
    const viaArn = decode<ProbeResult>(await call(arn, { value: "arn" }));
    assert.equal(viaArn.invokedFunctionArn, arn);
    const viaPartial = decode<ProbeResult>(await call("000000000000:function:probe", { value: "partial" }));
    assert.equal(viaPartial.value, "partial");
    const viaQualifier = decode<ProbeResult>(await call("probe", {}, { Qualifier: "$LATEST" }));
    assert.equal(viaQualifier.invokedFunctionArn, `${arn}:$LATEST`);
  });

  it("routes an invoke qualified with a registered alias, with the alias in invokedFunctionArn", async () => {
    await register("aliased", { module: probe, aliases: ["default", "cache-warming"] });
    const arn = emulator.functionArn("aliased");
    const viaName = decode<ProbeResult>(await call("aliased:default", { value: 1 }));
    assert.equal(viaName.invokedFunctionArn, `${arn}:default`);
    const viaParameter = decode<ProbeResult>(await call("aliased", {}, { Qualifier: "cache-warming" }));
    assert.equal(viaParameter.invokedFunctionArn, `${arn}:cache-warming`);
    const viaArn = decode<ProbeResult>(await call(`${arn}:default`, {}));
    assert.equal(viaArn.invokedFunctionArn, `${arn}:default`);
    const unqualified = decode<ProbeResult>(await call("aliased", {}));
    assert.equal(unqualified.invokedFunctionArn, arn);
    // The in-process invoke takes the same qualified names.
    const inProcess = (await emulator.invoke("aliased:default", { value: 2 })) as ProbeResult;
    assert.equal(inProcess.invokedFunctionArn, `${arn}:default`);
    // An alias of another function, or none at all, does not exist here.
    await assert.rejects(call("aliased:reporting", {}), (error: Error) => {
      assert.equal(error.name, "ResourceNotFoundException");
      assert.match(error.message, /Function not found: .*:function:aliased:reporting/);
      return true;
    });
    await assert.rejects(call("probe:default", {}), { name: "ResourceNotFoundException" });
    await assert.rejects(emulator.invoke("aliased:reporting", {}), { name: "FunctionNotFoundError" });
    // Alias names follow Lambda's rule.
    for (const aliases of [["123"], ["a:b"], ["x", "x"]]) {
      await assert.rejects(emulator.register("bad-aliases", { module: probe, aliases }), {
        name: "ValidationError",
        message: /field "aliases"/,
      });
    }
  });

  it("maps a thrown error to X-Amz-Function-Error: Unhandled and the runtime's error document", async () => {
    const output = await call("probe", { action: "throw", value: "x" });
    assert.equal(output.StatusCode, 200);
    assert.equal(output.FunctionError, "Unhandled");
    const error = decode<{ errorType: string; errorMessage: string; trace: string[] }>(output);
    assert.equal(error.errorType, "ProbeFailure");
    assert.equal(error.errorMessage, 'asked to fail with "x"');
    assert.ok(Array.isArray(error.trace) && error.trace[0]?.startsWith("ProbeFailure"));
  });

  it("raises ResourceNotFoundException for an unknown function or qualifier", async () => {
    await assert.rejects(
      call("no-such-function", {}),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(error.name, "ResourceNotFoundException");
        assert.equal(error.$metadata?.httpStatusCode, 404);
        assert.match(
          error.message,
          /Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-function/,
        );
        return true;
      },
    );
    await assert.rejects(call("probe", {}, { Qualifier: "prod" }), { name: "ResourceNotFoundException" });
  });

  it("keeps module state per container", async () => {
    await register("stateful", { module: probe, containers: 2 });
    const [first, second] = await Promise.all([
      call("stateful", { action: "sleep", ms: 300 }),
      call("stateful", { action: "sleep", ms: 300 }),
    ]).then((outputs) => outputs.map((output) => decode<ProbeResult>(output)));
    assert.notEqual(first!.containerId, second!.containerId);
    assert.equal(first!.invocationsInThisContainer, 1);
    assert.equal(second!.invocationsInThisContainer, 1);
    assert.notEqual(first!.logStream, second!.logStream);
    // Sequential calls reuse a warm container: its module-scope counter goes on.
    const third = decode<ProbeResult>(await call("stateful", {}));
    assert.equal(third.invocationsInThisContainer, 2);
    assert.ok([first!.containerId, second!.containerId].includes(third.containerId));
    assert.equal(emulator.counters("stateful").coldStarts, 2);
  });

  it("gives each function its own environment, and each container its own process.env", async () => {
    await register("greeter-en", { module: probe, environment: { GREETING: "hello" } });
    await register("greeter-fr", { module: probe, environment: { GREETING: "bonjour" } });
    assert.equal(decode<ProbeResult>(await call("greeter-en", {})).greeting, "hello");
    assert.equal(decode<ProbeResult>(await call("greeter-fr", {})).greeting, "bonjour");
    assert.equal(process.env.GREETING, undefined);

    await register("env-writer", { module: probe, handler: "setEnv", containers: 2 });
    const warm = decode<{ before?: string }>(await call("env-writer", { key: "PROBE_MARK", value: "first" }));
    assert.equal(warm.before, undefined);
    // Two concurrent calls: one lands on the warm container (which wrote the variable), one on a cold one.
    // The warm one stays busy long enough for the other call to arrive on a loaded machine.
    const results = await Promise.all([
      call("env-writer", { key: "PROBE_MARK", value: "a", ms: 2_000 }),
      call("env-writer", { key: "PROBE_MARK", value: "b", ms: 2_000 }),
    ]).then((outputs) => outputs.map((output) => decode<{ before?: string }>(output).before));
    assert.deepEqual(results.sort(), ["first", undefined]);
    assert.equal(process.env.PROBE_MARK, undefined);
  });

  it("spreads concurrent invocations over the containers, one at a time each", async () => {
    await register("spread", { module: probe, containers: 3 });
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () => call("spread", { action: "sleep", ms: 300 })),
    );
    const containerIds = new Set(outputs.map((output) => decode<ProbeResult>(output).containerId));
    assert.equal(containerIds.size, 3);
    const counters = emulator.counters("spread");
    assert.equal(counters.invocations, 6);
    assert.equal(counters.coldStarts, 3);
    assert.equal(counters.perContainer.length, 3);
    assert.ok(
      counters.perContainer.every((count) => count >= 1),
      `perContainer ${counters.perContainer}`,
    );
  });

  it("throttles with TooManyRequestsException when every container is busy and the queue is full", async () => {
    await register("narrow", { module: probe, containers: 1, maxQueued: 1 });
    const settled = await Promise.allSettled([
      call("narrow", { action: "sleep", ms: 1_000 }),
      call("narrow", { action: "sleep", ms: 1_000 }),
      call("narrow", { action: "sleep", ms: 1_000 }),
    ]);
    const rejected = settled.filter((result) => result.status === "rejected");
    assert.equal(rejected.length, 1);
    assert.equal((rejected[0] as PromiseRejectedResult).reason.name, "TooManyRequestsException");
    assert.equal((rejected[0] as PromiseRejectedResult).reason.$metadata.httpStatusCode, 429);
    assert.equal(emulator.counters("narrow").throttles, 1);
    assert.equal(emulator.counters("narrow").invocations, 2);
  });

  it("killContainer fails the running invocation with Runtime.ExitError; a cold container replaces it", async () => {
    await register("victim", { module: probe });
    const warm = decode<ProbeResult>(await call("victim", {}));
    const pending = call("victim", { action: "sleep", ms: 10_000 });
    // Kill only once the invocation is inside the handler (the container is warm, so that is quick).
    while (emulator.counters("victim").invocations < 2)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await emulator.killContainer("victim", 0);
    const killed = await pending;
    assert.equal(killed.FunctionError, "Unhandled");
    const error = decode<{ errorType: string; errorMessage: string }>(killed);
    assert.equal(error.errorType, "Runtime.ExitError");
    assert.match(error.errorMessage, /Runtime exited with error: signal: killed/);
    const fresh = decode<ProbeResult>(await call("victim", {}));
    assert.notEqual(fresh.containerId, warm.containerId);
    assert.equal(fresh.invocationsInThisContainer, 1);
    assert.deepEqual(
      { ...emulator.counters("victim"), containers: undefined },
      { invocations: 3, errors: 1, coldStarts: 2, perContainer: [3], throttles: 0, containers: undefined },
    );
  });

  it("times out like Lambda (Sandbox.Timedout) and replaces the container", async () => {
    // Long enough that the echo calls around the timed-out one finish within it on a loaded machine.
    await register("slow", { module: probe, timeoutMs: 5_000 });
    const before = decode<ProbeResult>(await call("slow", {}));
    const output = await call("slow", { action: "sleep", ms: 600_000 });
    assert.equal(output.FunctionError, "Unhandled");
    const error = decode<{ errorType: string; errorMessage: string }>(output);
    assert.equal(error.errorType, "Sandbox.Timedout");
    assert.match(error.errorMessage, /^RequestId: [0-9a-f-]{36} Error: Task timed out after 5\.00 seconds$/);
    const after = decode<ProbeResult>(await call("slow", {}));
    assert.notEqual(after.containerId, before.containerId);
    assert.equal(emulator.counters("slow").coldStarts, 2);
  });

  it("loads TypeScript handlers through tsx inside the workers", async () => {
    await register("enum", { module: fixture("uses-enum.ts") });
    assert.deepEqual(decode(await call("enum", {})), { answer: "yes" });
  });

  it("reports init failures, process.exit and unhandled rejections as function errors", async () => {
    await register("broken", { module: fixture("broken-init.ts") });
    const broken = await call("broken", {});
    assert.equal(broken.FunctionError, "Unhandled");
    assert.deepEqual(
      { ...decode<{ errorType: string; errorMessage: string }>(broken), trace: undefined },
      { errorType: "TypeError", errorMessage: "init exploded", trace: undefined },
    );
    await register("quitter", { module: probe });
    const exited = decode<{ errorType: string; errorMessage: string }>(
      await call("quitter", { action: "exit" }),
    );
    assert.equal(exited.errorType, "Runtime.ExitError");
    assert.match(exited.errorMessage, /exit status 7/);
    const rejected = decode<{ errorType: string }>(await call("quitter", { action: "reject-later" }));
    assert.equal(rejected.errorType, "Runtime.UnhandledPromiseRejection");
    assert.equal(decode<ProbeResult>(await call("quitter", { value: 1 })).value, 1);
  });

  it("forwards the workers' log lines unchanged", async () => {
    const output = await call("probe", { action: "log" });
    const requestId = decode<ProbeResult>(output).awsRequestId;
    // A bound only so that a line never forwarded fails the test; a loaded machine may take seconds.
    const deadline = Date.now() + 60_000;
    let line: string | undefined;
    while (line === undefined && Date.now() < deadline) {
      line = logLines.find((candidate) => candidate.includes(requestId));
      if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(line, JSON.stringify({ level: "INFO", message: "probe log line", requestId }));
  });

  it("accepts Event invocations with 202 and runs them", async () => {
    await register("async", { module: probe });
    const output = await call("async", { value: 1 }, { InvocationType: "Event" });
    assert.equal(output.StatusCode, 202);
    const deadline = Date.now() + 15_000;
    while (emulator.counters("async").invocations < 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(emulator.counters("async").invocations, 1);
  });

  it("invoke() goes through the same dispatch and maps errors to typed errors", async () => {
    const before = emulator.counters("probe").invocations;
    const result = (await emulator.invoke("probe", { value: "in-process" })) as ProbeResult;
    assert.equal(result.value, "in-process");
    assert.equal(emulator.counters("probe").invocations, before + 1);
    await assert.rejects(emulator.invoke("probe", { action: "throw", value: 1 }), {
      name: "LambdaFunctionError",
      errorType: "ProbeFailure",
    });
    await assert.rejects(emulator.invoke("missing", {}), { name: "FunctionNotFoundError" });
  });

  it("re-registration replaces the function without failing in-flight calls; invalid definitions name the field", async () => {
    await register("changing", { module: probe, environment: { GREETING: "v1" } });
    assert.equal(decode<ProbeResult>(await call("changing", {})).greeting, "v1");
    const inFlight = call("changing", { action: "sleep", ms: 500 });
    while (emulator.counters("changing").invocations < 2)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await register("changing", { module: probe, environment: { GREETING: "v2" } });
    assert.equal(decode<ProbeResult>(await call("changing", {})).greeting, "v2");
    // The invocation that was running when the definition changed finishes on the old container.
    const finished = await inFlight;
    assert.equal(finished.FunctionError, undefined);
    assert.equal(decode<ProbeResult>(finished).greeting, "v1");
    await assert.rejects(emulator.register("relative", { module: "fixtures/probe.ts" }), {
      name: "ValidationError",
      message: /field "module" must be an absolute path/,
    });
    await assert.rejects(emulator.register("zero", { module: probe, containers: 0 }), {
      name: "ValidationError",
      message: /field "containers" must be an integer in 1\.\.64/,
    });
  });
});

describe("parseFunctionName", () => {
  it("accepts names, partial and full ARNs, with qualifiers", () => {
    assert.deepEqual(parseFunctionName("vend"), { name: "vend" });
    assert.deepEqual(parseFunctionName("vend:$LATEST"), { name: "vend", qualifier: "$LATEST" });
    assert.deepEqual(parseFunctionName("123456789012:function:vend"), { name: "vend" });
    assert.deepEqual(parseFunctionName("arn:aws:lambda:eu-west-1:123456789012:function:vend:live"), {
      name: "vend",
      qualifier: "live",
    });
    assert.deepEqual(parseFunctionName("vend", "$LATEST"), { name: "vend", qualifier: "$LATEST" });
    assert.ok("invalid" in parseFunctionName("vend:a", "b"));
    assert.ok("invalid" in parseFunctionName("bad name"));
  });
});
