/**
 * A Lambda Invoke emulator: the `Invoke` operation of the Lambda API (restJson1,
 * `POST /2015-03-31/functions/{FunctionName}/invocations`) served on 127.0.0.1, so the real
 * @aws-sdk/client-lambda can call handlers that run in isolated containers (worker threads).
 * See README.md beside this file for what is and is not emulated.
 */
import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import type { Writable } from "node:stream";
import { RotatorError, ValidationError } from "../../../lambda/shared/errors.ts";
import type { InvocationOutcome } from "./container.ts";
import { type FunctionCounters, FunctionHost, ThrottledError } from "./function-host.ts";

export type { FunctionCounters } from "./function-host.ts";
export type { FunctionErrorBody } from "./protocol.ts";

/** Options of {@link startLambdaEmulator}. */
export interface LambdaEmulatorOptions {
  /** @default 0 (any free port on 127.0.0.1) */
  port?: number;
  /** Region used in ARNs and in the functions' `AWS_REGION`. @default "us-east-1" */
  region?: string;
  /** Account used in ARNs. @default "000000000000" */
  accountId?: string;
  /** Where the containers' stdout and stderr lines go, unchanged. @default process.stdout */
  logOutput?: Writable;
}

/** How a function is run. */
export interface FunctionDefinition {
  /** Absolute path of a .ts/.js module. */
  module: string;
  /** Export name. @default "handler" */
  handler?: string;
  /** The function's environment variables (on top of the Lambda-provided ones). */
  environment?: Record<string, string>;
  /** Isolated containers (worker threads), i.e. the function's concurrency limit. @default 1 */
  containers?: number;
  /** Invocation timeout. @default 30000 */
  timeoutMs?: number;
  /** Limit of the init phase (module load) of a cold start; Lambda's own limit is 10 s. @default 10000 */
  initTimeoutMs?: number;
  /** Requests that may wait for a busy container before the function is throttled (429). @default 100 */
  maxQueued?: number;
  /** Reported as `memoryLimitInMB` and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; not enforced. @default 128 */
  memorySizeMb?: number;
  /**
   * Alias names, each pointing at `$LATEST`: an invoke qualified with one of them (or `$LATEST`) runs
   * this function with the qualifier in `context.invokedFunctionArn`; any other qualifier is
   * ResourceNotFoundException, as in AWS. @default none
   */
  aliases?: readonly string[];
}

/** A running emulator. */
export interface LambdaEmulator {
  /** `http://127.0.0.1:<port>`: the endpoint for @aws-sdk/client-lambda. */
  url: string;
  region: string;
  /**
   * Registers a function, or replaces one: later invocations use the new definition, queued ones move
   * to it, and the old containers stop once their in-flight invocations end. May be called at any time.
   */
  register(name: string, fn: FunctionDefinition): Promise<void>;
  /** Kills a container mid-invocation: that call fails with Runtime.ExitError, a fresh cold container replaces it. */
  killContainer(name: string, index?: number): Promise<void>;
  counters(name: string): FunctionCounters;
  /**
   * Invokes in process through the same dispatch as HTTP (RequestResponse). `name` may carry a
   * qualifier (`name:alias`, or an ARN), as Invoke's `FunctionName` may. Resolves with the decoded
   * result; rejects with LambdaFunctionError (function error), FunctionNotFoundError (also for an
   * unknown qualifier) or LambdaThrottledError.
   */
  invoke(name: string, payload?: unknown): Promise<unknown>;
  /** The ARN of a registered (or future) function. */
  functionArn(name: string): string;
  /** Closes the server and terminates every container. */
  stop(): Promise<void>;
}

/** The invoked function threw, timed out or died. */
export class LambdaFunctionError extends RotatorError {
  override readonly name = "LambdaFunctionError";
  readonly retryable = false;
  /** `errorType` of the Lambda error document, e.g. the handler's error name or `Sandbox.Timedout`. */
  readonly errorType: string;
  readonly errorMessage: string;

  constructor(functionName: string, errorType: string, errorMessage: string) {
    super(`${functionName} failed: ${errorType}: ${errorMessage}`);
    this.errorType = errorType;
    this.errorMessage = errorMessage;
  }
}

/** No function of that name is registered. */
export class FunctionNotFoundError extends RotatorError {
  override readonly name = "FunctionNotFoundError";
  readonly retryable = false;
}

/** Every container was busy and the queue full. */
export class LambdaThrottledError extends RotatorError {
  override readonly name = "LambdaThrottledError";
  readonly retryable = true;
}

const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Lambda's alias name rule: 1-128 of [A-Za-z0-9_-], not all digits (that is a version). */
const ALIAS_NAME = /^(?![0-9]+$)[A-Za-z0-9_-]{1,128}$/;
/** Lambda's synchronous payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Parent variables a local function needs to behave like the rest of the local stack (quiet logs, SDK warnings). */
const INHERITED_VARIABLES = [
  "PATH",
  "HOME",
  "TMPDIR",
  "LOG_LEVEL",
  "POWERTOOLS_LOG_LEVEL",
  "POWERTOOLS_DEV",
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
];

/** Starts the emulator on 127.0.0.1. */
export async function startLambdaEmulator(options: LambdaEmulatorOptions = {}): Promise<LambdaEmulator> {
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "000000000000";
  const logOutput = options.logOutput ?? process.stdout;
  const hosts = new Map<string, FunctionHost>();
  /** Alias names of each registered function (all pointing at $LATEST). */
  const aliases = new Map<string, ReadonlySet<string>>();
  /** Replaced definitions whose in-flight invocations are still finishing. */
  const retiring = new Set<FunctionHost>();
  const functionArn = (name: string) => `arn:aws:lambda:${region}:${accountId}:function:${name}`;

  const hostOf = (name: string): FunctionHost => {
    const host = hosts.get(name);
    if (host === undefined) throw new FunctionNotFoundError(`Function not found: ${functionArn(name)}`);
    return host;
  };
  /** The function of a qualified invoke: $LATEST or one of its aliases, else not found (as in AWS). */
  const resolveTarget = (name: string, qualifier: string | undefined): FunctionHost => {
    const host = hostOf(name);
    if (qualifier !== undefined && qualifier !== "$LATEST" && !aliases.get(name)?.has(qualifier)) {
      throw new FunctionNotFoundError(`Function not found: ${functionArn(name)}:${qualifier}`);
    }
    return host;
  };

  const register = async (name: string, fn: FunctionDefinition): Promise<void> => {
    const spec = await validateDefinition(name, fn);
    const host = new FunctionHost({
      ...spec,
      functionName: name,
      environment: lambdaEnvironment(name, region, spec.memoryLimitInMB, fn.environment ?? {}),
      logOutput,
    });
    const previous = hosts.get(name);
    hosts.set(name, host);
    aliases.set(name, new Set(spec.aliases));
    if (previous !== undefined) {
      // New invocations use the new definition at once; the old containers finish what they run.
      retiring.add(previous);
      void previous.retire(host).then(() => retiring.delete(previous));
    }
  };

  /** The single dispatch path of HTTP and in-process invocations. */
  const dispatch = (
    name: string,
    payload: string,
    invokedFunctionArn: string,
    options: { unbounded?: boolean; clientContext?: unknown } = {},
  ): { requestId: string; outcome: Promise<InvocationOutcome> } => {
    const host = hostOf(name);
    const requestId = randomUUID();
    const outcome = host.invoke(
      { requestId, payload, invokedFunctionArn, clientContext: options.clientContext },
      options,
    );
    return { requestId, outcome };
  };

  const server = http.createServer((request, response) => {
    void handleRequest(request, response, { dispatch, functionArn, resolve: resolveTarget }).catch(
      (error: unknown) => {
        sendServiceError(response, 500, "ServiceException", `emulator failure: ${(error as Error).message}`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("lambda emulator: no TCP address");

  return {
    url: `http://127.0.0.1:${address.port}`,
    region,
    register,
    functionArn,
    async killContainer(name, index = 0) {
      await hostOf(name).kill(index);
    },
    counters: (name) => hostOf(name).counters(),
    async invoke(reference, payload) {
      const target = parseFunctionName(reference);
      if ("invalid" in target) throw new FunctionNotFoundError(target.invalid);
      const { name, qualifier } = target;
      resolveTarget(name, qualifier);
      const invokedArn = qualifier === undefined ? functionArn(name) : `${functionArn(name)}:${qualifier}`;
      let outcome: InvocationOutcome;
      try {
        outcome = await dispatch(name, JSON.stringify(payload ?? {}), invokedArn).outcome;
      } catch (error) {
        if (error instanceof ThrottledError) throw new LambdaThrottledError(error.message);
        throw error;
      }
      if (!outcome.ok)
        throw new LambdaFunctionError(name, outcome.error.errorType, outcome.error.errorMessage);
      return JSON.parse(outcome.body) as unknown;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      // Retiring again without a successor kills what replaced definitions still run.
      await Promise.all([...hosts.values(), ...retiring].map((host) => host.retire()));
      hosts.clear();
      await closed;
    },
  };
}

async function validateDefinition(name: string, fn: FunctionDefinition) {
  const subject = `Lambda function ${JSON.stringify(name)}`;
  if (!FUNCTION_NAME.test(name))
    throw new ValidationError(subject, "name", "must be 1-64 characters of [A-Za-z0-9_-]");
  if (!path.isAbsolute(fn.module)) throw new ValidationError(subject, "module", "must be an absolute path");
  const isFile = await stat(fn.module).then(
    (stats) => stats.isFile(),
    () => false,
  );
  if (!isFile) throw new ValidationError(subject, "module", `must be an existing file (${fn.module})`);
  const integer = (field: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const actual = value ?? fallback;
    if (!Number.isInteger(actual) || actual < min || actual > max) {
      throw new ValidationError(subject, field, `must be an integer in ${min}..${max}`);
    }
    return actual;
  };
  return {
    modulePath: fn.module,
    handlerName: fn.handler ?? "handler",
    containers: integer("containers", fn.containers, 1, 1, 64),
    timeoutMs: integer("timeoutMs", fn.timeoutMs, 30_000, 1, 900_000),
    initTimeoutMs: integer("initTimeoutMs", fn.initTimeoutMs, 10_000, 1, 900_000),
    maxQueued: integer("maxQueued", fn.maxQueued, 100, 0, 100_000),
    memoryLimitInMB: integer("memorySizeMb", fn.memorySizeMb, 128, 128, 10_240),
    aliases: validateAliases(subject, fn.aliases ?? []),
  };
}

function validateAliases(subject: string, aliases: readonly string[]): string[] {
  for (const alias of aliases) {
    if (!ALIAS_NAME.test(alias)) {
      throw new ValidationError(
        subject,
        "aliases",
        `must be alias names: 1-128 characters of [A-Za-z0-9_-], not all digits (${JSON.stringify(alias).slice(0, 140)})`,
      );
    }
  }
  if (new Set(aliases).size !== aliases.length)
    throw new ValidationError(subject, "aliases", "must not repeat a name");
  return [...aliases];
}

/** The variables Lambda sets, a few inherited from the parent, then the function's own. */
function lambdaEnvironment(
  name: string,
  region: string,
  memoryLimitInMB: number,
  own: Record<string, string>,
): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const key of INHERITED_VARIABLES) {
    const value = process.env[key];
    if (value !== undefined) inherited[key] = value;
  }
  return {
    ...inherited,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryLimitInMB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    // Every container here starts on demand (Powertools reads it for the logs' `cold_start`).
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    // Dummy credentials, as Lambda provides the execution role's: local stand-ins accept any.
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: "local",
    ...own,
  };
}

interface Routing {
  dispatch: (
    name: string,
    payload: string,
    invokedFunctionArn: string,
    options?: { unbounded?: boolean; clientContext?: unknown },
  ) => { requestId: string; outcome: Promise<InvocationOutcome> };
  functionArn: (name: string) => string;
  resolve: (name: string, qualifier: string | undefined) => FunctionHost;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;

async function handleRequest(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  routing: Routing,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const match = INVOKE_PATH.exec(url.pathname);
  if (request.method !== "POST" || match === null) {
    request.resume();
    sendServiceError(
      response,
      404,
      "UnknownOperationException",
      `${request.method} ${url.pathname} is not emulated (only Invoke)`,
    );
    return;
  }
  const body = await readBody(request, MAX_PAYLOAD_BYTES);
  if (body === undefined) {
    sendServiceError(
      response,
      413,
      "RequestTooLargeException",
      "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
    );
    return;
  }
  const target = parseFunctionName(
    decodeURIComponent(match[1]!),
    url.searchParams.get("Qualifier") ?? undefined,
  );
  if ("invalid" in target) {
    sendServiceError(response, 400, "InvalidParameterValueException", target.invalid);
    return;
  }
  const arn = routing.functionArn(target.name);
  try {
    routing.resolve(target.name, target.qualifier);
  } catch (error) {
    sendServiceError(response, 404, "ResourceNotFoundException", (error as Error).message);
    return;
  }

  const payload = body.length === 0 ? "{}" : body.toString("utf8");
  try {
    JSON.parse(payload);
  } catch (error) {
    sendServiceError(
      response,
      400,
      "InvalidRequestContentException",
      `Could not parse request body into json: ${(error as Error).message}`,
    );
    return;
  }
  const invocationType = headerValue(request, "x-amz-invocation-type") ?? "RequestResponse";
  if (invocationType === "DryRun") {
    response.writeHead(204, { "x-amzn-RequestId": randomUUID() }).end();
    return;
  }
  if (invocationType !== "RequestResponse" && invocationType !== "Event") {
    sendServiceError(
      response,
      400,
      "InvalidParameterValueException",
      `InvocationType ${invocationType} is not one of RequestResponse, Event, DryRun`,
    );
    return;
  }
  const clientContextHeader = headerValue(request, "x-amz-client-context");
  const clientContext =
    clientContextHeader === undefined ? undefined : decodeClientContext(clientContextHeader);
  const invokedFunctionArn = target.qualifier === undefined ? arn : `${arn}:${target.qualifier}`;

  let requestId: string;
  let outcome: Promise<InvocationOutcome>;
  try {
    ({ requestId, outcome } = routing.dispatch(target.name, payload, invokedFunctionArn, {
      unbounded: invocationType === "Event",
      clientContext,
    }));
  } catch (error) {
    if (error instanceof FunctionNotFoundError) {
      sendServiceError(response, 404, "ResourceNotFoundException", error.message);
      return;
    }
    throw error;
  }
  if (invocationType === "Event") {
    // Accepted and queued; the result is only visible in logs and counters, as in AWS.
    void outcome.catch(() => undefined);
    response.writeHead(202, { "x-amzn-RequestId": requestId }).end();
    return;
  }
  let result: InvocationOutcome;
  try {
    result = await outcome;
  } catch (error) {
    if (error instanceof ThrottledError) {
      sendServiceError(response, 429, "TooManyRequestsException", "Rate Exceeded.", {
        Reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
      });
      return;
    }
    throw error;
  }
  const headers: http.OutgoingHttpHeaders = {
    "Content-Type": "application/json",
    "X-Amz-Executed-Version": "$LATEST",
    "x-amzn-RequestId": requestId,
  };
  if (result.ok) {
    response.writeHead(200, headers).end(result.body);
  } else {
    response
      .writeHead(200, { ...headers, "X-Amz-Function-Error": "Unhandled" })
      .end(JSON.stringify(result.error));
  }
}

/**
 * Accepts a function name, a partial ARN (`123456789012:function:name`) or a full ARN, each with an
 * optional `:qualifier`; the `Qualifier` query parameter must agree with one in the name.
 */
export function parseFunctionName(
  raw: string,
  queryQualifier?: string,
): { name: string; qualifier?: string } | { invalid: string } {
  let rest = raw;
  const arn = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:(.+)$/.exec(raw);
  const partial = /^\d{12}:function:(.+)$/.exec(raw);
  if (arn !== null) rest = arn[1]!;
  else if (partial !== null) rest = partial[1]!;
  const [name, qualifier, ...extra] = rest.split(":");
  if (name === undefined || !FUNCTION_NAME.test(name) || extra.length > 0 || qualifier === "") {
    return {
      invalid: `1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint`,
    };
  }
  if (qualifier !== undefined && queryQualifier !== undefined && qualifier !== queryQualifier) {
    return {
      invalid: "The derived qualifier from the function name does not match the specified qualifier.",
    };
  }
  const effective = qualifier ?? queryQualifier;
  return effective === undefined ? { name } : { name, qualifier: effective };
}

/** Sends an error the restJson1 way Lambda does: `x-amzn-ErrorType` plus `{"Type":"User","message":...}`. */
function sendServiceError(
  response: http.ServerResponse,
  status: number,
  errorType: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const headers: http.OutgoingHttpHeaders = {
    "Content-Type": "application/json",
    "x-amzn-ErrorType": errorType,
    "x-amzn-RequestId": randomUUID(),
  };
  if (status === 429) headers["Retry-After"] = "1";
  const type = status >= 500 ? "Service" : "User";
  response.writeHead(status, headers).end(JSON.stringify({ ...extra, Type: type, message }));
}

function headerValue(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodeClientContext(header: string): unknown {
  try {
    return JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The request body, or undefined when it exceeds `limit` bytes. */
async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}
