/**
 * A local AWS Secrets Manager that speaks the real wire protocol (awsJson1_1: `POST /`,
 * `X-Amz-Target: secretsmanager.<Operation>`, JSON bodies, epoch-second timestamps, errors as
 * `{"__type", "message"}` + `x-amzn-ErrorType`), so `@aws-sdk/client-secrets-manager` (or any AWS SDK)
 * works against it with an `endpoint` override and dummy credentials. It models staging labels the way
 * the service does, including the empty AWSPENDING placeholder, and drives rotations through a
 * pluggable invoker with whole-rotation retries. See README.md for what is modelled and the choices.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { type Clock, systemClock } from "../../../lambda/shared/clock.ts";
import { ConfigurationError } from "../../../lambda/shared/errors.ts";
import { SecretsManagerBackend, type TestRotationPendingValue } from "./backend.ts";
import { AwsServiceError, SecretsManagerErrors } from "./errors.ts";
import { RotationEventLog, type RotationEventRecord, type RotationInvocationRecord } from "./events.ts";
import { SecretsManagerFaults } from "./faults.ts";
import { missingInvoker, RotationDriver, type RotationInvoker } from "./rotation.ts";
import type { JsonObject } from "./wire.ts";

export {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  ROTATION_STEPS,
  type RotationStep,
} from "../../../lambda/shared/staging-labels.ts";
export type { RotationRules, TestRotationPendingValue } from "./backend.ts";
export { AwsServiceError, EmulatorUsageError, SecretsManagerErrors } from "./errors.ts";
export type { RotationEventName, RotationEventRecord, RotationInvocationRecord } from "./events.ts";
export { type FailNextOptions, SecretsManagerFaults } from "./faults.ts";
export {
  type InProcessRotationHandler,
  inProcessInvoker,
  type RotationEvent,
  RotationFunctionNotFoundError,
  type RotationInvoker,
} from "./rotation.ts";

/** Options of `startSecretsManagerEmulator`. */
export interface SecretsManagerEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Only loopback is allowed. @default "127.0.0.1" */
  host?: "127.0.0.1";
  /** Time source of every date the service reports. @default systemClock */
  clock?: Clock;
  /** How rotation functions are called. @default an invoker that fails every step ("no invoker configured") */
  invoker?: RotationInvoker;
  /** Whole-rotation attempts before RotationFailed (AWS retries "multiple times"). @default 3 */
  maxRotationAttempts?: number;
  /** Pause between rotation attempts on `clock` (0 = none; with a ManualClock it waits for `advance`). @default 0 */
  rotationRetryDelayMs?: number;
  /** Region in ARNs and in `clientConfig`. @default "us-east-1" */
  region?: string;
  /** 12-digit account in ARNs. @default "123456789012" */
  accountId?: string;
  /**
   * Value of the AWSPENDING version a RotateImmediately=false test run creates: a copy of AWSCURRENT
   * (what moto settled on, PR #8547) or empty (GetSecretValue on it fails, as during a real rotation).
   * @default "currentCopy"
   */
  testRotationPendingValue?: TestRotationPendingValue;
  /**
   * When RotateSecret is refused with "A previous rotation isn't complete. That rotation will be
   * reattempted.", reattempt the stuck rotation (same token) as the message says.
   * @default true
   */
  reattemptStuckRotations?: boolean;
}

/** What `@aws-sdk/client-secrets-manager` needs to talk to the emulator. */
export interface SecretsManagerClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A running emulator. */
export interface SecretsManagerEmulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  region: string;
  accountId: string;
  /** `new SecretsManagerClient(emulator.clientConfig)` talks to this emulator with dummy credentials. */
  clientConfig: SecretsManagerClientConfig;
  /** Replaces the rotation invoker (takes effect at the next step). */
  setInvoker(invoker: RotationInvoker): void;
  /** Rotation service events in order (RotationStarted/Succeeded/Failed/Abandoned, TestRotation*). */
  events: RotationEventRecord[];
  /** Every rotation-function invocation in order. */
  invocations: RotationInvocationRecord[];
  /**
   * Resolves with the Succeeded/Failed/Abandoned event of the latest rotation of `secretId` (name or
   * ARN), at once if it already ended. Rejects with EmulatorUsageError if no rotation was started or
   * after `timeoutMs` (wall clock, default 30000), with AwsServiceError if the secret does not exist.
   */
  waitForRotation(secretId: string, options?: { timeoutMs?: number }): Promise<RotationEventRecord>;
  /** Fault injection: `failNext("PutSecretValue", "InternalServiceError", 3)`, `delay(op, ms)`. */
  faults: SecretsManagerFaults;
  /** Stops rotations at their next step boundary, rejects waiters and closes every socket. */
  stop(): Promise<void>;
}

const TARGET_PREFIX = "secretsmanager.";
const MAX_BODY_BYTES = 1024 * 1024;
/** How long `stop()` waits for rotation steps already running. */
const STOP_GRACE_MS = 2000;

/** Starts an emulator on 127.0.0.1. */
export async function startSecretsManagerEmulator(
  options: SecretsManagerEmulatorOptions = {},
): Promise<SecretsManagerEmulator> {
  const host = options.host ?? "127.0.0.1";
  if (host !== "127.0.0.1")
    throw new ConfigurationError("host", "must be 127.0.0.1 (local emulators bind loopback only)");
  const region = options.region ?? "us-east-1";
  const accountId = options.accountId ?? "123456789012";
  if (!/^\d{12}$/.test(accountId)) throw new ConfigurationError("accountId", "must be 12 digits");
  const maxRotationAttempts = options.maxRotationAttempts ?? 3;
  if (!Number.isInteger(maxRotationAttempts) || maxRotationAttempts < 1) {
    throw new ConfigurationError("maxRotationAttempts", "must be an integer ≥ 1");
  }
  const clock = options.clock ?? systemClock;
  const reattemptStuckRotations = options.reattemptStuckRotations ?? true;

  const log = new RotationEventLog();
  const faults = new SecretsManagerFaults();
  const backend = new SecretsManagerBackend({
    clock,
    region,
    accountId,
    events: log,
    testRotationPendingValue: options.testRotationPendingValue ?? "currentCopy",
  });
  let invoker = options.invoker ?? missingInvoker;
  const driver = new RotationDriver({
    backend,
    log,
    clock,
    invoker: () => invoker,
    maxAttempts: maxRotationAttempts,
    retryDelayMs: options.rotationRetryDelayMs ?? 0,
  });

  const rotateSecret = (input: JsonObject): JsonObject => {
    try {
      const { output, plan } = backend.rotateSecret(input);
      if (plan) driver.start(plan);
      return output;
    } catch (error) {
      if (reattemptStuckRotations && isPreviousRotationIncomplete(error)) {
        const stuck = backend.stuckRotation(backend.arnOf(String(input.SecretId)));
        if (stuck && !driver.isRunning(stuck.secretArn, stuck.token)) driver.start(stuck);
      }
      throw error;
    }
  };

  const operations: Record<string, (input: JsonObject) => JsonObject> = {
    CancelRotateSecret: (input) => backend.cancelRotateSecret(input),
    CreateSecret: (input) => backend.createSecret(input),
    DeleteSecret: (input) => backend.deleteSecret(input),
    DescribeSecret: (input) => backend.describeSecret(input),
    GetSecretValue: (input) => backend.getSecretValue(input),
    ListSecrets: (input) => backend.listSecrets(input),
    ListSecretVersionIds: (input) => backend.listSecretVersionIds(input),
    PutSecretValue: (input) => backend.putSecretValue(input),
    RestoreSecret: (input) => backend.restoreSecret(input),
    RotateSecret: rotateSecret,
    TagResource: (input) => backend.tagResource(input),
    UntagResource: (input) => backend.untagResource(input),
    UpdateSecretVersionStage: (input) => backend.updateSecretVersionStage(input),
  };

  const server = createServer((request, response) => {
    void serve(request, response, operations, faults);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    url,
    region,
    accountId,
    clientConfig: { endpoint: url, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } },
    setInvoker: (next) => {
      invoker = next;
    },
    events: log.events,
    invocations: log.invocations,
    waitForRotation: async (secretId, waitOptions) =>
      log.waitForLatest(backend.arnOf(secretId), waitOptions?.timeoutMs ?? 30_000),
    faults,
    stop: () => {
      stopped ??= (async () => {
        await driver.stop(STOP_GRACE_MS);
        log.rejectAllWaiters("the Secrets Manager emulator stopped");
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return stopped;
    },
  };
}

function isPreviousRotationIncomplete(error: unknown): boolean {
  return (
    error instanceof AwsServiceError &&
    error.message === SecretsManagerErrors.previousRotationIncomplete().message
  );
}

/** Handles one HTTP request: awsJson1_1 framing, authentication presence, faults, dispatch. */
async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  operations: Record<string, (input: JsonObject) => JsonObject>,
  faults: SecretsManagerFaults,
): Promise<void> {
  const requestId = randomUUID();
  try {
    const body = await readBody(request);
    if (request.method !== "POST" || (request.url ?? "/").split("?")[0] !== "/") {
      throw SecretsManagerErrors.unknownOperation(`${request.method} ${request.url}`);
    }
    // SigV4 is not verified, but an unsigned request is refused as the service does.
    if (!request.headers.authorization) throw SecretsManagerErrors.missingAuthentication();
    const target = String(request.headers["x-amz-target"] ?? "");
    const operationName = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    const operation = operations[operationName];
    if (!operation) throw SecretsManagerErrors.unknownOperation(target);
    const input = parseInput(body);

    const fault = faults.decide(operationName);
    if (fault.delayMs > 0) await delay(fault.delayMs);
    if (fault.failBefore) throw fault.failBefore;
    const output = operation(input);
    if (fault.failAfter) throw fault.failAfter;
    send(response, 200, requestId, output);
  } catch (error) {
    const failure =
      error instanceof AwsServiceError
        ? error
        : new AwsServiceError("InternalServiceError", "The emulator failed to process the request.", 500);
    send(
      response,
      failure.statusCode,
      requestId,
      { __type: failure.errorType, message: failure.message },
      failure,
    );
  }
}

function parseInput(body: string): JsonObject {
  if (body.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw SecretsManagerErrors.serialization("The request body is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw SecretsManagerErrors.serialization("The request body must be a JSON object.");
  }
  return parsed as JsonObject;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw SecretsManagerErrors.serialization("The request body is too large.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: JsonObject,
  error?: AwsServiceError,
): void {
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(payload),
    "x-amzn-requestid": requestId,
  };
  if (error) headers["x-amzn-errortype"] = error.errorType;
  response.writeHead(status, headers);
  response.end(payload);
}
