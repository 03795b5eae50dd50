/**
 * `npm run bench`: the performance figures of token vending (see README.md in this folder).
 *
 * Prints one human-readable line per figure and, as its LAST line, one JSON object with every figure, for
 * tools. Targets are printed, never asserted: a loaded laptop must not turn the bench into a failure.
 * Everything it starts (emulators, DynamoDB Local, Lambda containers) is stopped at the end, on error and
 * on Ctrl-C.
 */
import { Agent } from "node:http";
import { performance } from "node:perf_hooks";
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { TokenProvider } from "../../lambda/client/index.ts";
import { silentLog } from "../../lambda/shared/silent-log.ts";
import type { CredentialConfig } from "../../lambda/vending/config.ts";
import { readVendingConfig } from "../../lambda/vending/config.ts";
import type { VendMetrics } from "../../lambda/vending/metrics.ts";
import { createVendingRuntime, type VendingRuntime } from "../../lambda/vending/runtime.ts";
import { DynamoDbTokenTable } from "../../lambda/vending/token-table.ts";
import { vendToken } from "../../lambda/vending/vend.ts";
import { percentile } from "../shared/percentile.ts";
import { DRILL_NAMES, type DrillStack, LOCAL_AWS, startDrillStack } from "../stack/stack.ts";
import { type ColdStartFigures, measureColdStarts } from "./cold-start.ts";

/** What the bench measures; the last output line is this object as JSON. */
export interface BenchResult extends ColdStartFigures {
  l1VendsPerSecond: number;
  l2VendP50Ms: number;
  l2VendP99Ms: number;
  getItemP50Ms: number;
  getItemP99Ms: number;
  l2ToGetItemP99Ratio: number;
  coldFleetTokenRequests: number;
  coldFleetInvocations: number;
  coldFleetErrors: number;
  clientCachedGetTokenPerSecond: number;
  dynamoDbEngine: string;
}

const TARGETS = {
  l1VendsPerSecond: 200_000,
  l2ToGetItemP99Ratio: 1.3,
  coldFleetTokenRequests: 1,
  vendingColdStartRatio: 1.15,
};
const THROUGHPUT_WINDOW_MS = 2_000;
const WARMUP_WINDOW_MS = 500;
const LATENCY_SAMPLES = 1_000;
const LATENCY_WARMUP = 100;
const FLEET_CONTAINERS = 8;
const FLEET_CALLERS_PER_CONTAINER = 25;
/** The vending function's default LEASE_SECONDS, as deployed (the drill shortens it for its short tokens). */
const LEASE_SECONDS = 30;

/** DynamoDB client settings of the vending runtime (lambda/vending/runtime.ts), so L2 and bare GetItem compare fairly. */
const DYNAMODB_CLIENT_SETTINGS = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
} as const;

const noMetrics: VendMetrics = { count() {} };

/** Things to stop, newest first; run once, on success, failure or a signal. */
const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop()!;
      await cleanup().catch((error: unknown) => console.error("bench: cleanup failed:", describe(error)));
    }
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping everything…`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  // Local tools stay quiet: the vendor's own Powertools logger would otherwise print per request.
  process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  // `--from-source`: the Lambda emulator runs the TypeScript sources instead of the shipped bundles.
  const handlerCode = process.argv.slice(2).includes("--from-source") ? "sources" : "bundles";

  line("building the handler bundles and loading each in fresh Node processes (cold start)…");
  const coldStart = await measureColdStarts();
  line(
    `cold start (whole process, median): vending ${ms(coldStart.vendingColdStartMs)}, rotation ` +
      `${ms(coldStart.rotationColdStartMs)}, bare DynamoDB handler ${ms(coldStart.bareColdStartMs)}; vending ratio ` +
      `${coldStart.vendingColdStartRatio.toFixed(2)} (target ≤ ${TARGETS.vendingColdStartRatio}), rotation ratio ` +
      `${coldStart.rotationColdStartRatio.toFixed(2)}; loaded at init: vending ${kB(coldStart.vendingBundleBytes)}, ` +
      `rotation ${kB(coldStart.rotationBundleBytes)}, bare ${kB(coldStart.bareBundleBytes)}`,
  );

  line("starting the local stack (Genesys and Secrets Manager emulators, DynamoDB Local, Lambda emulator)…");
  const stack = await startDrillStack({ leaseSeconds: LEASE_SECONDS, handlerCode });
  cleanups.push(() => stack.stop());
  line(`DynamoDB engine: ${stack.dynamoDb.engine}`);

  const dynamoDb = new DynamoDBClient({
    ...LOCAL_AWS,
    endpoint: stack.dynamoDb.endpoint,
    ...DYNAMODB_CLIENT_SETTINGS,
  });
  cleanups.push(async () => dynamoDb.destroy());
  const config = readVendingConfig(stack.vendorEnvironment);
  const credential = config.credentials[0]!;
  // One client for both the vendor's L2 reads and the bare GetItem: same connection pool, same settings.
  const runtime = createVendingRuntime(config, silentLog, noMetrics, {
    table: new DynamoDbTokenTable(dynamoDb, DRILL_NAMES.tokenTable),
    awsClientConfig: { region: LOCAL_AWS.region, credentials: { ...LOCAL_AWS.credentials } },
  });
  await vend(runtime, credential); // mints once: L1 and L2 now hold a fresh token

  const l1VendsPerSecond = await throughput(() => vend(runtime, credential));
  line(
    `L1 hit path (vendToken in-process): ${format(l1VendsPerSecond)} vends/s (target ≥ ${format(TARGETS.l1VendsPerSecond)})`,
  );

  const latency = await l2AgainstGetItem(runtime, credential, dynamoDb);
  const ratio = latency.l2.p99 / latency.getItem.p99;
  line(
    `L2 vend (L1 cleared each call): p50 ${ms(latency.l2.p50)}, p99 ${ms(latency.l2.p99)}; ` +
      `bare GetItem: p50 ${ms(latency.getItem.p50)}, p99 ${ms(latency.getItem.p99)}; ` +
      `p99 ratio ${ratio.toFixed(2)} (target ≤ ${TARGETS.l2ToGetItemP99Ratio})`,
  );

  line(`registering a vending function with ${FLEET_CONTAINERS} containers in the Lambda emulator…`);
  // 200 concurrent consumers: allow as many sockets, or the SDK queues them and warns.
  const lambdaClient = new LambdaClient({
    ...LOCAL_AWS,
    endpoint: stack.lambda.url,
    maxAttempts: 1,
    requestHandler: {
      httpAgent: new Agent({ keepAlive: true, maxSockets: FLEET_CONTAINERS * FLEET_CALLERS_PER_CONTAINER }),
    },
  });
  cleanups.push(async () => lambdaClient.destroy());
  const fleet = await coldFleet(stack, credential, dynamoDb, lambdaClient);
  line(
    `cold fleet (${FLEET_CONTAINERS} containers × ${FLEET_CALLERS_PER_CONTAINER} concurrent callers): ` +
      `${fleet.tokenRequests} token request(s) reached Genesys (target ${TARGETS.coldFleetTokenRequests}); ` +
      `${fleet.invocations} invocations (${fleet.coldStarts} cold starts), ${fleet.errors} errors`,
  );

  const cachedProvider = new TokenProvider({
    functionName: fleet.functionName,
    credential: credential.name,
    lambdaClient,
  });
  await cachedProvider.getToken();
  const clientCachedGetTokenPerSecond = await throughput(() => cachedProvider.getToken());
  line(`consumer library cached getToken: ${format(clientCachedGetTokenPerSecond)} calls/s`);

  const result: BenchResult = {
    ...coldStart,
    l1VendsPerSecond: Math.round(l1VendsPerSecond),
    l2VendP50Ms: round(latency.l2.p50),
    l2VendP99Ms: round(latency.l2.p99),
    getItemP50Ms: round(latency.getItem.p50),
    getItemP99Ms: round(latency.getItem.p99),
    l2ToGetItemP99Ratio: round(ratio),
    coldFleetTokenRequests: fleet.tokenRequests,
    coldFleetInvocations: fleet.invocations,
    coldFleetErrors: fleet.errors,
    clientCachedGetTokenPerSecond: Math.round(clientCachedGetTokenPerSecond),
    dynamoDbEngine: stack.dynamoDb.engine,
  };
  await cleanUp();
  console.log(JSON.stringify(result));
}

/** One vend through the domain function, as the handler calls it. */
function vend(runtime: VendingRuntime, credential: CredentialConfig): Promise<unknown> {
  const { deps } = runtime;
  return vendToken({ credential, minTtlSeconds: 0, deadline: deps.clock.now() + 10_000 }, deps);
}

/** Calls per second of `call`, awaited one after another, over a fixed window after a warm-up. */
async function throughput(call: () => Promise<unknown>): Promise<number> {
  const run = async (windowMs: number) => {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < windowMs) {
      for (let i = 0; i < 1000; i++) await call();
      calls += 1000;
      elapsed = performance.now() - start;
    }
    return calls / (elapsed / 1000);
  };
  await run(WARMUP_WINDOW_MS);
  return run(THROUGHPUT_WINDOW_MS);
}

interface Percentiles {
  p50: number;
  p99: number;
}

/**
 * L2 vend latency and bare GetItem latency, sampled alternately so both see the same machine load.
 * The L1 is emptied before every vend, so each one reads the DynamoDB item.
 */
async function l2AgainstGetItem(
  runtime: VendingRuntime,
  credential: CredentialConfig,
  dynamoDb: DynamoDBClient,
): Promise<{ l2: Percentiles; getItem: Percentiles }> {
  const l2: number[] = [];
  const getItem: number[] = [];
  const bareGetItem = new GetItemCommand({
    TableName: DRILL_NAMES.tokenTable,
    Key: { pk: { S: credential.name } },
    ConsistentRead: true,
  });
  for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
    runtime.deps.l1.clear();
    let start = performance.now();
    await vend(runtime, credential);
    const l2Ms = performance.now() - start;
    start = performance.now();
    await dynamoDb.send(bareGetItem);
    const getItemMs = performance.now() - start;
    if (i >= LATENCY_WARMUP) {
      l2.push(l2Ms);
      getItem.push(getItemMs);
    }
  }
  return { l2: percentiles(l2), getItem: percentiles(getItem) };
}

/**
 * A cold fleet: empty L2, fresh containers, every caller at once. Counts the token requests that reach
 * the Genesys emulator (the design's promise: one per token lifetime for the whole fleet).
 */
async function coldFleet(
  stack: DrillStack,
  credential: CredentialConfig,
  dynamoDb: DynamoDBClient,
  lambdaClient: LambdaClient,
): Promise<{
  functionName: string;
  tokenRequests: number;
  invocations: number;
  coldStarts: number;
  errors: number;
}> {
  const functionName = "token-vending-bench";
  const emulator = stack.lambda;
  await dynamoDb.send(
    new DeleteItemCommand({ TableName: DRILL_NAMES.tokenTable, Key: { pk: { S: credential.name } } }),
  );
  await emulator.register(functionName, {
    module: stack.vendingModule,
    environment: stack.vendorEnvironment,
    containers: FLEET_CONTAINERS,
    // The vendor serves a credential only through its alias (docs/vending.md).
    aliases: readVendingConfig(stack.vendorEnvironment).credentials.map((entry) => entry.name),
    // Every caller waits for a container rather than being throttled: the figure is about minting, not queueing.
    maxQueued: FLEET_CONTAINERS * FLEET_CALLERS_PER_CONTAINER,
  });
  const genesys = stack.genesys;
  const before = genesys.counters.tokenRequests();
  // One provider per caller: each simulates a different consumer process, so nothing is shared client-side.
  const callers = Array.from(
    { length: FLEET_CONTAINERS * FLEET_CALLERS_PER_CONTAINER },
    () =>
      new TokenProvider({ functionName, credential: credential.name, lambdaClient, maxInvokeAttempts: 1 }),
  );
  const outcomes = await Promise.allSettled(callers.map((provider) => provider.getToken()));
  const counters = emulator.counters(functionName);
  return {
    functionName,
    tokenRequests: genesys.counters.tokenRequests() - before,
    invocations: counters.invocations,
    coldStarts: counters.coldStarts,
    errors: outcomes.filter((outcome) => outcome.status === "rejected").length,
  };
}

function percentiles(samples: number[]): Percentiles {
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

function line(text: string): void {
  console.log(`bench: ${text}`);
}

function format(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function kB(bytes: number): string {
  return `${Math.round(bytes / 1000)} kB`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

main().catch(async (error: unknown) => {
  console.error(`bench failed: ${describe(error)}`);
  await cleanUp();
  process.exit(1);
});
