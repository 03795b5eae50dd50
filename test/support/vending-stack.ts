/**
 * A complete local token-vending setup: the rotation stack (Genesys Cloud emulator with an alternating
 * app pair, a single client and an admin pair; Secrets Manager emulator holding their secrets, rotation
 * function wired in), plus a local DynamoDB with the token table, plus the vending function — either as
 * in-process "containers" (each with its own L1, clock and recorders) or registered in the Lambda
 * emulator with N isolated worker containers (`startFleet`).
 *
 * Tests reuse it; the local-stack pieces (token table, handler environment, fake AWS credentials) are
 * those of the local stack (local/stack/stack.ts). Every server binds 127.0.0.1 on a free port;
 * `stop()` closes everything.
 */

import { Writable } from "node:stream";
import { after, afterEach, before } from "node:test";
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type Clock, type Random, systemClock } from "../../lambda/shared/clock.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { CACHE_WARMING_ALIAS } from "../../lambda/shared/vendor-alias.ts";
import { readVendingConfig } from "../../lambda/vending/config.ts";
import {
  type DeadlineContext,
  handleVendingEvent,
  type VendingResponse,
  type WarmResponse,
} from "../../lambda/vending/handler.ts";
import type { VendMetricName, VendMetrics } from "../../lambda/vending/metrics.ts";
import type { TokenRequester } from "../../lambda/vending/mint.ts";
import { createVendingRuntime, type VendingRuntime } from "../../lambda/vending/runtime.ts";
import { decodeItem, type TokenItem } from "../../lambda/vending/token-table.ts";
import type { LocalDynamoDb } from "../../local/aws/dynamodb/index.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../local/aws/lambda/index.ts";
import {
  LOADED_MACHINE_AWS_CALL_LIMITS,
  LOCAL_AWS,
  localHandlerEnvironment,
  startTokenTable,
  VENDING_HANDLER_MODULE,
  vendingEnvironment,
} from "../../local/stack/stack.ts";
import { assertNoSecrets, type SecretsByKind } from "./log-capture.ts";
import {
  RecordingLog,
  type RotationStack,
  type RotationStackOptions,
  startRotationStack,
} from "./rotation-stack.ts";

export { LOCAL_AWS, VENDING_HANDLER_MODULE } from "../../local/stack/stack.ts";
export { RecordingLog, STACK_IDS, STACK_SECRET_NAMES } from "./rotation-stack.ts";

/** Credential names the stack configures (first = default). */
export const VENDING_CREDENTIALS = { app: "reporting", single: "legacy" } as const;
/** The vending function's name in the emulator and in the ARNs the in-process containers are "invoked" with. */
export const VENDING_FUNCTION_NAME = "genesys-token-vending";

/**
 * The alias a payload is sent through when a test names none, as the real callers choose it: a warm
 * payload goes through `cache-warming` (the rotation function), a token payload through its
 * `credential`'s alias (the consumer library), else through the first credential's alias (a consumer
 * granted the default credential).
 */
export function aliasFor(payload: unknown): string {
  const fields = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : {};
  if ("warm" in fields) return CACHE_WARMING_ALIAS;
  return typeof fields.credential === "string" ? fields.credential : VENDING_CREDENTIALS.app;
}

/** How a test addresses the vendor: an alias, or `null` for an unqualified invoke. @default {@link aliasFor} the payload */
export interface InvokeTarget {
  qualifier?: string | null;
}
/** The token table's name. */
export const TOKEN_TABLE_NAME = "genesys-oauth-tokens";

/** Options of {@link startVendingStack}. */
export interface VendingStackOptions {
  /** Shared by the emulators and the default in-process containers. @default systemClock */
  clock?: Clock;
  /** Genesys: lifetime of every new token, seconds. @default the clients' own (3600 for the app pair) */
  tokenLifetimeSeconds?: number;
  /** Vending `LEASE_SECONDS`. @default 30 */
  leaseSeconds?: number;
  /** Use dynalite instead of DynamoDB Local. @default false (DynamoDB Local when Java is present) */
  preferDynalite?: boolean;
  /** Passed to the rotation stack (propagation delay, token survival, ...). */
  rotation?: Omit<RotationStackOptions, "clock">;
}

/** A counting {@link VendMetrics}. */
export class RecordingMetrics implements VendMetrics {
  readonly counts = new Map<VendMetricName, number>();

  count(name: VendMetricName, value = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + value);
  }

  /** The count of one metric (0 when never counted). */
  get(name: VendMetricName): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Options of {@link VendingStack.createContainer}. */
export interface ContainerOptions {
  clock?: Clock;
  random?: Random;
  /** Replaces the Genesys token request (e.g. to delay or count it). */
  requestToken?: TokenRequester;
  /** @default a RecordingLog (the container's `log`) */
  log?: Log;
  stageRefreshMs?: number;
  dynamoDbProbeIntervalMs?: number;
  /** Overrides of the vending environment (e.g. `LEASE_SECONDS`). */
  environment?: Record<string, string>;
}

/** One in-process container of the vending function: its own L1, single-flight and recorders. */
export interface VendingContainer {
  runtime: VendingRuntime;
  metrics: RecordingMetrics;
  log: Log;
  /**
   * Calls the handler logic as Lambda would; `remainingMs` is what getRemainingTimeInMillis reports
   * (default 10000), `qualifier` the alias in `invokedFunctionArn` (default {@link aliasFor} the payload).
   */
  invoke(
    payload: unknown,
    options?: { remainingMs?: number } & InvokeTarget,
  ): Promise<VendingResponse | WarmResponse>;
  /** Like `invoke`, for token payloads. */
  token(
    payload?: Record<string, unknown>,
    options?: { remainingMs?: number } & InvokeTarget,
  ): Promise<VendingResponse>;
  /** Like `invoke`, for a warm payload. */
  warm(secretArn: string): Promise<WarmResponse>;
}

/** Options of {@link VendingStack.startFleet}. */
export interface FleetOptions {
  /** Isolated containers (worker threads), i.e. the function's concurrency. */
  containers: number;
  /**
   * Invocation timeout; the handler's deadline is this minus its safety margin. @default 120000 (long: a
   * loaded machine may take many seconds per invocation, and a test about the deadline sets its own)
   */
  timeoutMs?: number;
  /** Overrides of the vending environment (e.g. `LEASE_SECONDS`). */
  environment?: Record<string, string>;
  /** Invocations that may queue for a busy container. @default 1000 */
  maxQueued?: number;
}

/** The vending function deployed in a Lambda emulator. */
export interface VendingFleet {
  lambda: LambdaEmulator;
  /** The function name in the emulator. */
  name: string;
  /**
   * Invokes the function (RequestResponse) through `qualifier` (default {@link aliasFor} the payload);
   * rejects with the emulator's LambdaFunctionError on a function error.
   */
  invoke(payload?: unknown, target?: InvokeTarget): Promise<unknown>;
  /** Like `invoke`, for token payloads. */
  token(payload?: Record<string, unknown>, target?: InvokeTarget): Promise<VendingResponse>;
  /** Every line the containers printed (their logs), for leak checks. */
  output(): string;
  /** Stops the emulator and its containers. */
  stop(): Promise<void>;
}

/** A running stack (see the module comment). */
export interface VendingStack {
  rotation: RotationStack;
  dynamoDb: LocalDynamoDb;
  /** A DynamoDB client on the stack's table endpoint (through the outage proxy). */
  dynamoDbClient: DynamoDBClient;
  clock: Clock;
  /** Credential name → secret ARN, as in `CREDENTIALS`. */
  credentials: Record<string, string>;
  /** The vending function's environment (what a Lambda emulator registration passes). */
  environment: Record<string, string>;
  /** Creates an in-process container. */
  createContainer(options?: ContainerOptions): VendingContainer;
  /** Reads a credential's L2 item (consistent), bypassing the outage proxy's state only if it is up. */
  readItem(credential: string): Promise<TokenItem | undefined>;
  /** Starts a Lambda emulator running the vending handler (the real module, one worker per container). */
  startFleet(options: FleetOptions): Promise<VendingFleet>;
  /** Deletes every credential's L2 item (between tests; containers created before keep their L1). */
  clearTable(): Promise<void>;
  /**
   * Writes a credential's L2 item as given, bypassing the vending code (forged or corrupted items);
   * build one with `forgedTokenItem` (test/support/forged-items.ts).
   */
  writeRawItem(credential: string, item: Record<string, AttributeValue>): Promise<void>;
  /**
   * Makes Genesys reject `accessToken` from now on (`DELETE /api/v2/tokens/me` at the emulator), as a
   * consumer's 401 would say.
   */
  revokeToken(accessToken: string): Promise<void>;
  /** Stops DynamoDB, the emulators and the clients. */
  stop(): Promise<void>;
}

/** Starts the stack. The caller stops it (`after(() => stack.stop())`). */
export async function startVendingStack(options: VendingStackOptions = {}): Promise<VendingStack> {
  const clock = options.clock ?? systemClock;
  const rotation = await startRotationStack({ ...options.rotation, clock });
  if (options.tokenLifetimeSeconds !== undefined) {
    rotation.genesys.faults.tokenLifetimeSeconds = options.tokenLifetimeSeconds;
  }
  let dynamoDb: LocalDynamoDb;
  let dynamoDbClient: DynamoDBClient;
  try {
    ({ dynamoDb, client: dynamoDbClient } = await startTokenTable(TOKEN_TABLE_NAME, {
      preferDynalite: options.preferDynalite ?? false,
    }));
  } catch (error) {
    await rotation.stop();
    throw error;
  }
  const fleets = new Set<VendingFleet>();
  const stop = async () => {
    await Promise.allSettled([...fleets].map((fleet) => fleet.stop()));
    dynamoDbClient.destroy();
    await Promise.allSettled([dynamoDb.stop(), rotation.stop()]);
  };
  const credentials: Record<string, string> = {
    [VENDING_CREDENTIALS.app]: rotation.secrets.app,
    [VENDING_CREDENTIALS.single]: rotation.secrets.single,
  };
  const environment: Record<string, string> = {
    ...localHandlerEnvironment({
      secretsManager: rotation.secretsManager.url,
      genesys: rotation.genesys.url,
    }),
    ...vendingEnvironment({
      credentials,
      tableName: TOKEN_TABLE_NAME,
      dynamoDbEndpoint: dynamoDb.endpoint,
      leaseSeconds: options.leaseSeconds ?? 30,
      // No test of this stack is about the deployed limits unless it sets them (AWS_CALL_LIMITS).
      awsCallLimits: LOADED_MACHINE_AWS_CALL_LIMITS,
    }),
    POWERTOOLS_SERVICE_NAME: "token-vending",
  };

  return {
    rotation,
    dynamoDb,
    dynamoDbClient,
    clock,
    credentials,
    environment,
    createContainer(containerOptions = {}) {
      const log = containerOptions.log ?? new RecordingLog();
      const metrics = new RecordingMetrics();
      const config = readVendingConfig({ ...environment, ...containerOptions.environment });
      const containerClock = containerOptions.clock ?? clock;
      const runtime = createVendingRuntime(config, log, metrics, {
        clock: containerClock,
        // No in-process test is about these; the caller's deadline still ends a call that hangs.
        genesysTimeouts: { tokenRequestMs: 60_000, probeMs: 60_000 },
        awsClientConfig: { region: LOCAL_AWS.region, credentials: { ...LOCAL_AWS.credentials } },
        ...(containerOptions.random === undefined ? {} : { random: containerOptions.random }),
        ...(containerOptions.requestToken === undefined
          ? {}
          : { requestToken: containerOptions.requestToken }),
        ...(containerOptions.stageRefreshMs === undefined
          ? {}
          : { stageRefreshMs: containerOptions.stageRefreshMs }),
        ...(containerOptions.dynamoDbProbeIntervalMs === undefined
          ? {}
          : { dynamoDbProbeIntervalMs: containerOptions.dynamoDbProbeIntervalMs }),
      });
      const invoke = (payload: unknown, invokeOptions: { remainingMs?: number } & InvokeTarget = {}) => {
        const context: DeadlineContext = {
          getRemainingTimeInMillis: () => invokeOptions.remainingMs ?? 10_000,
          invokedFunctionArn: invokedArn(payload, invokeOptions),
        };
        return handleVendingEvent(payload, context, runtime, log);
      };
      return {
        runtime,
        metrics,
        log,
        invoke,
        token: async (payload = {}, invokeOptions = {}) =>
          (await invoke(payload, invokeOptions)) as VendingResponse,
        warm: async (secretArn) => (await invoke({ warm: { secretArn } })) as WarmResponse,
      };
    },
    async readItem(credential) {
      const output = await dynamoDbClient.send(
        new GetItemCommand({
          TableName: TOKEN_TABLE_NAME,
          Key: { pk: { S: credential } },
          ConsistentRead: true,
        }),
      );
      const secretArn = credentials[credential];
      if (output.Item === undefined || secretArn === undefined) return undefined;
      return decodeItem(output.Item, secretArn);
    },
    async startFleet(fleetOptions) {
      const chunks: string[] = [];
      const logOutput = new Writable({
        write(chunk: Buffer | string, _encoding, done) {
          chunks.push(chunk.toString());
          done();
        },
      });
      const lambda = await startLambdaEmulator({ region: LOCAL_AWS.region, logOutput });
      const name = VENDING_FUNCTION_NAME;
      try {
        await lambda.register(name, {
          aliases: [...Object.keys(credentials), CACHE_WARMING_ALIAS],
          module: VENDING_HANDLER_MODULE,
          environment: { ...environment, ...fleetOptions.environment },
          containers: fleetOptions.containers,
          timeoutMs: fleetOptions.timeoutMs ?? 120_000,
          // No fleet test is about cold-start time; a loaded machine may take well over the default 10 s.
          initTimeoutMs: 120_000,
          maxQueued: fleetOptions.maxQueued ?? 1000,
        });
      } catch (error) {
        await lambda.stop();
        throw error;
      }
      let stopping: Promise<void> | undefined;
      const fleet: VendingFleet = {
        lambda,
        name,
        invoke: (payload, target) => lambda.invoke(qualified(name, payload, target), payload ?? {}),
        token: async (payload = {}, target) =>
          (await lambda.invoke(qualified(name, payload, target), payload)) as VendingResponse,
        output: () => chunks.join(""),
        stop() {
          fleets.delete(fleet);
          stopping ??= lambda.stop();
          return stopping;
        },
      };
      fleets.add(fleet);
      return fleet;
    },
    async clearTable() {
      for (const credential of Object.keys(credentials)) {
        await dynamoDbClient.send(
          new DeleteItemCommand({ TableName: TOKEN_TABLE_NAME, Key: { pk: { S: credential } } }),
        );
      }
    },
    async writeRawItem(credential, item) {
      await dynamoDbClient.send(
        new PutItemCommand({ TableName: TOKEN_TABLE_NAME, Item: { ...item, pk: { S: credential } } }),
      );
    },
    async revokeToken(accessToken) {
      const response = await fetch(`${rotation.genesys.url}/api/v2/tokens/me`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${accessToken}` },
      });
      await response.body?.cancel();
      if (response.status !== 204) throw new Error(`revoking a token: HTTP ${response.status}`);
    },
    stop,
  };
}

/** `name` or `name:<alias>` for a test's invoke (see {@link InvokeTarget}). */
function qualified(name: string, payload: unknown, target: InvokeTarget = {}): string {
  const qualifier = target.qualifier === undefined ? aliasFor(payload) : target.qualifier;
  return qualifier === null ? name : `${name}:${qualifier}`;
}

/** The `invokedFunctionArn` an in-process container gets (the emulator's default account and region). */
function invokedArn(payload: unknown, target: InvokeTarget): string {
  return `arn:aws:lambda:${LOCAL_AWS.region}:000000000000:function:${qualified(VENDING_FUNCTION_NAME, payload, target)}`;
}

/**
 * One vend before a test, so that its first container does not pay for a fresh DynamoDB Local (its
 * first requests are slow) and the first load of the mint path: on a loaded machine that outlasted the
 * deployed DynamoDB limits (which a test may set), and the container degraded. Nothing of it remains
 * for the test: Genesys counters reset, table cleared. Pass a `log` that is checked for leaks.
 */
export async function warmUp(stack: VendingStack, log: Log): Promise<void> {
  await stack
    .createContainer({ log })
    .token({}, { remainingMs: 120_000 })
    .catch(() => undefined);
  stack.rotation.genesys.counters.reset();
  await stack.clearTable();
}

/** What {@link useSharedVendingStack} gives a test file. */
export interface SharedVendingStack {
  /** Every log {@link SharedVendingStack.container} created; push others to have them checked too. */
  readonly logs: RecordingLog[];
  /** A container of the shared stack whose log is checked for leaks at the end. */
  container(options?: ContainerOptions): VendingContainer;
}

/**
 * Registers the hooks of a test file that shares one vending stack: start it before the tests and hand it
 * to `onStart`; after each test, reset the Genesys faults and counters, end any DynamoDB outage and clear
 * the table; at the end check every container's log for the access tokens and client secrets the emulator
 * issued (and `neverLogged`), then stop the stack.
 */
export function useSharedVendingStack(
  onStart: (stack: VendingStack) => void,
  neverLogged: SecretsByKind = {},
): SharedVendingStack {
  let stack: VendingStack | undefined;
  const logs: RecordingLog[] = [];
  const started = (): VendingStack => {
    if (stack === undefined) throw new Error("the shared vending stack did not start");
    return stack;
  };
  before(async () => {
    stack = await startVendingStack();
    const log = new RecordingLog();
    logs.push(log);
    await warmUp(stack, log);
    onStart(stack);
  });
  after(async () => {
    // Runs before the stack stops, so the emulator still knows every secret and token it issued.
    const text = logs.flatMap((log) => log.lines).join("\n");
    try {
      assertNoSecrets(text, {
        "access token": started().rotation.genesys.issued.accessTokens,
        "client secret": started().rotation.genesys.issued.secrets,
        ...neverLogged,
      });
    } finally {
      await stack?.stop();
    }
  });
  afterEach(async () => {
    const genesys = started().rotation.genesys;
    genesys.faults.reset();
    genesys.counters.reset();
    started().dynamoDb.outage.end();
    await started().clearTable();
  });
  return {
    logs,
    container(options: ContainerOptions = {}) {
      const log = new RecordingLog();
      logs.push(log);
      return started().createContainer({ log, ...options });
    },
  };
}
