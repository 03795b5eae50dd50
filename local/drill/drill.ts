/**
 * The drill: rotations under live consumer traffic, with injected faults. `runDrill` starts the local
 * stack, runs the consumers and the rotations on schedule, switches faults on and off, and returns what
 * it measured; main.ts turns that into output and an exit code.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { systemClock } from "../../lambda/shared/clock.ts";
import { describeError } from "../../lambda/shared/errors.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import type { RotationEventRecord } from "../aws/secrets-manager/index.ts";
import { checkEventSequence, type PushedEvent, startEventSequence } from "../genesys-cloud/event-sequence.ts";
import { CLIENT_LABELS, DRILL_ENVIRONMENT } from "../stack/seed.ts";
import {
  DRILL_NAMES,
  type DrillStack,
  type DrillStackOptions,
  LOCAL_AWS,
  startDrillStack,
} from "../stack/stack.ts";
import {
  DRILL_CHANNEL_KNOBS,
  DRILL_EVENT_INTERVAL_MS,
  DRILL_NOTIFICATION_TOPIC,
} from "./consumer-kinds/notifications.ts";
import {
  type ConsumerFleet,
  type HostileConsumer,
  startConsumerFleet,
  startHostileConsumer,
  VendedTokenLedger,
} from "./consumers.ts";
import { type EmergencyOutcome, runDrillEmergency } from "./emergency.ts";
import { startFaultInjector, tokenTableForger } from "./fault-injector.ts";
import { FAULTS, type FaultName, faultsDuring, planFaults, type ScheduledFault } from "./faults.ts";
import { DrillMetrics, type StepRecord } from "./metrics.ts";
import type { DrillOptions } from "./options.ts";
import { type ProgressReporter, silentProgress } from "./progress.ts";
import type {
  ActiveClientChange,
  DrillResult,
  ForgedCacheOutcome,
  HostileConsumerOutcome,
  MintAllowance,
  NotificationsOutcome,
  RotationOutcome,
} from "./result.ts";

/** Rotations still running at the end of --duration get this long to finish before they count as timed out. */
const ROTATION_GRACE_MS = 90_000;
/** Added latency on the admin API while a crash is armed, so the kill lands while the step is mid-request. */
const CRASH_LATENCY_MS = 400;
const CRASH_LATENCY_PATH = "/api/v2/oauth/clients";
const SAMPLE_INTERVAL_MS = 250;
/**
 * The vendor's REJECTION_MINT_INTERVAL_SECONDS in the drill: short enough that the cap on mints caused
 * by reports (docs/vending.md, "Reported tokens") comes into play, and ends, several times within a
 * short drill.
 */
export const DRILL_REJECTION_MINT_INTERVAL_SECONDS = 5;

/** How the caller observes and controls a drill. */
export interface DrillHooks {
  /** Live progress and milestones. @default silent */
  progress?: ProgressReporter;
  /**
   * Abort (Ctrl-C), honoured at any moment: during the stack's start-up (at the next component), while
   * warming up, and during traffic. The drill stops what runs and returns a result with `interrupted`.
   */
  signal?: AbortSignal;
  /** Overrides of the stack options (tests: faster Secrets Manager retries, fewer containers, log sink). */
  stack?: Partial<DrillStackOptions>;
  /** Called once the stack runs (tests: keep a reference to check the emulators afterwards). */
  onStack?: (stack: DrillStack) => void;
}

/**
 * Runs one drill. Never leaves a server running, also when it throws or is aborted. An abort is not an
 * error: the result says `interrupted`, with whatever was measured until then.
 */
export async function runDrill(options: DrillOptions, hooks: DrillHooks = {}): Promise<DrillResult> {
  const progress = hooks.progress ?? silentProgress;
  const signal = hooks.signal ?? new AbortController().signal;
  const plannedMs = options.durationSeconds * 1000;
  const rotationStartsMs = Array.from({ length: options.rotations }, (_, i) =>
    Math.round((plannedMs * (i + 1)) / (options.rotations + 1)),
  );
  const plan = planFaults({
    faults: options.faults,
    seed: options.seed,
    durationMs: plannedMs,
    rotationStartsMs,
  });

  // Say at once that Ctrl-C was heard: stopping a stack that is still starting takes a few seconds.
  const onAbort = () => progress.note("Interrupted: stopping the consumers and the local stack…");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal.aborted) return resultWithoutTraffic(options, plan, "not started");
    progress.note(
      `Starting the local stack (${options.dynalite ? "dynalite" : "DynamoDB Local when Java is found"}; ` +
        `handlers: ${options.fromSource ? "TypeScript sources" : "shipped bundles, rebuilt if stale"})…`,
    );
    let stack: DrillStack;
    try {
      stack = await startDrillStack({
        strategy: options.strategy,
        tokenLifetimeSeconds: options.tokenLifetimeSeconds,
        verbose: options.verbose,
        preferDynalite: options.dynalite,
        handlerCode: options.fromSource ? "sources" : "bundles",
        vendorContainers: Math.max(2, Math.min(4, Math.ceil(options.consumers / 4))),
        rejectionMintIntervalSeconds: DRILL_REJECTION_MINT_INTERVAL_SECONDS,
        ...(options.genesysProfile === undefined ? {} : { genesysProfile: options.genesysProfile }),
        ...hooks.stack,
        signal,
      });
    } catch (error) {
      // An abort may also surface as a component's own failure (Ctrl-C reaches DynamoDB Local's JVM too).
      if (!signal.aborted) throw error;
      return resultWithoutTraffic(options, plan, "not started");
    }
    try {
      hooks.onStack?.(stack);
      return await drive(stack, options, plan, rotationStartsMs, progress, signal);
    } finally {
      await stack.stop();
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    progress.close();
  }
}

/** The result of a drill interrupted before traffic started: nothing measured, nothing ran. */
function resultWithoutTraffic(
  options: DrillOptions,
  plan: ScheduledFault[],
  dynamoDbEngine: string,
): DrillResult {
  return {
    seed: options.seed,
    strategy: options.strategy,
    consumers: options.consumers,
    consumerKinds: options.consumerKinds,
    targetRate: options.rate,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    dynamoDbEngine,
    durationSeconds: 0,
    achievedRate: 0,
    rotationsRequested: options.rotations,
    rotations: [],
    consumerCalls: 0,
    consumerFailures: 0,
    failureKinds: {},
    skippedCalls: 0,
    tokenMints: 0,
    applicationTokenMints: 0,
    applicationSecretRegenerations: 0,
    vendorInvocations: 0,
    vendorErrors: 0,
    genesys: { api429: 0, serverErrors: 0, tokenRateLimited: 0, unauthorized: 0 },
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    faults: plan,
    activeClientHistory: [],
    steps: [],
    timeline: [],
    interrupted: true,
  };
}

async function drive(
  stack: DrillStack,
  options: DrillOptions,
  plan: ScheduledFault[],
  rotationStartsMs: number[],
  progress: ProgressReporter,
  signal: AbortSignal,
): Promise<DrillResult> {
  const plannedMs = options.durationSeconds * 1000;
  const metrics = new DrillMetrics();
  let trafficStart = performance.now();
  const elapsed = () => performance.now() - trafficStart;
  const vendorCounters = () => stack.lambda.counters(DRILL_NAMES.vendorFunction);
  const totals = () => ({
    mints: stack.genesys.counters.mints(),
    vendorInvocations: vendorCounters().invocations,
  });
  const genesysErrors = () => ({
    api429: stack.genesys.counters.errorsServed("api_429"),
    serverErrors: stack.genesys.counters.errorsServed("5xx"),
    tokenRateLimited: stack.genesys.counters.errorsServed("token_rate_limit"),
    unauthorized: stack.genesys.counters.errorsServed("401"),
  });
  const appMints = () => stack.appClientIds.reduce((sum, id) => sum + stack.genesys.counters.mints(id), 0);
  const appRegenerations = () =>
    stack.appClientIds.reduce((sum, id) => sum + stack.genesys.counters.regenerations(id), 0);

  const rotationState = { index: -1, step: undefined as string | undefined };
  instrumentRotations(stack, plan, metrics, rotationState, elapsed);

  let initial: Awaited<ReturnType<DrillStack["readCurrent"]>>;
  try {
    signal.throwIfAborted();
    await abortable(stack.warmVendor(), signal);
    initial = await abortable(stack.readCurrent(), signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    return resultWithoutTraffic(options, plan, stack.dynamoDb.engine);
  }
  const history: ActiveClientChange[] = [change(0, initial.value)];
  const baseline = {
    ...totals(),
    errors: vendorCounters().errors,
    genesys: genesysErrors(),
    appMints: appMints(),
    appRegenerations: appRegenerations(),
  };

  progress.note(describeDrill(options, stack.dynamoDb.engine));
  // Every token any drill consumer is handed, for the forged-cache verdict.
  const ledger = new VendedTokenLedger();
  const forgerClient = new DynamoDBClient({
    ...LOCAL_AWS,
    endpoint: stack.dynamoDb.endpoint,
    maxAttempts: 1,
  });
  const forger = tokenTableForger({
    client: forgerClient,
    tableName: DRILL_NAMES.tokenTable,
    credential: DRILL_NAMES.credential,
    secretArn: stack.secrets.app,
    environment: DRILL_ENVIRONMENT,
  });
  trafficStart = performance.now();
  metrics.sample(0, totals());
  const injector = startFaultInjector(plan, {
    genesys: stack.genesys,
    dynamoDb: stack.dynamoDb,
    forgeCacheItem: (kind) => forger.forge(kind),
  });
  const listening = options.consumerKinds.includes("notifications");
  if (listening) Object.assign(stack.genesys.notifications.knobs, DRILL_CHANNEL_KNOBS);
  const fleet = startConsumerFleet({
    consumers: options.consumers,
    rate: options.rate,
    functionName: DRILL_NAMES.vendorFunction,
    credential: DRILL_NAMES.credential,
    kinds: options.consumerKinds,
    notificationTopic: DRILL_NOTIFICATION_TOPIC,
    createLambdaClient: stack.createLambdaClient,
    ledger,
    metrics,
    elapsedMs: elapsed,
  });
  // Numbered events start once every listener has its first channel: each must receive all of them.
  const pusher = listening
    ? fleet.listeners.then(() =>
        startEventSequence(stack.genesys.notifications, systemClock, {
          topic: DRILL_NOTIFICATION_TOPIC,
          intervalMs: DRILL_EVENT_INTERVAL_MS,
        }),
      )
    : undefined;
  pusher?.catch(() => {});
  let pushed: readonly PushedEvent[] | undefined;
  const hostilePlan = plan.find(
    (f): f is Extract<ScheduledFault, { fault: "hostile-consumer" }> => f.fault === "hostile-consumer",
  );
  const hostile: HostileConsumer | undefined =
    hostilePlan === undefined
      ? undefined
      : startHostileConsumer({
          functionName: DRILL_NAMES.vendorFunction,
          credential: DRILL_NAMES.credential,
          otherCredential: DRILL_NAMES.otherCredential,
          warmSecretArn: stack.secrets.app,
          reportsPerSecond: hostilePlan.reportsPerSecond,
          ungrantedPerSecond: hostilePlan.ungrantedPerSecond,
          createLambdaClient: stack.createLambdaClient,
          ledger,
        });
  const rotations: RotationOutcome[] = [];
  const ticker = setInterval(() => {
    const now = elapsed();
    metrics.sample(now, totals());
    progress.update({
      elapsedMs: now,
      plannedMs,
      callsPerSecond: metrics.recentCalls(now, 2) / 2,
      calls: metrics.calls,
      failures: metrics.failures,
      rotationsDone: rotations.length,
      rotationsRequested: options.rotations,
      rotationState: rotationState.step ? `#${rotationState.index + 1} ${rotationState.step}` : undefined,
      mints: totals().mints - baseline.mints,
      activeFaults: injector.active(),
    });
  }, SAMPLE_INTERVAL_MS);

  // Rotations and the emergency never overlap (Secrets Manager refuses a second pending rotation).
  let exclusive = Promise.resolve() as Promise<unknown>;
  const serially = <T>(run: () => Promise<T>): Promise<T> => {
    const next = exclusive.then(run, run);
    exclusive = next.catch(() => {});
    return next;
  };
  let emergency: EmergencyOutcome | undefined;
  const emergencyAtMs =
    options.emergencyAtSeconds === undefined ? undefined : options.emergencyAtSeconds * 1000;
  const emergencyRun =
    emergencyAtMs === undefined
      ? Promise.resolve()
      : sleep(Math.max(0, emergencyAtMs - elapsed()), undefined, { signal })
          .then(() => serially(() => runDrillEmergency(stack, elapsed)))
          .then((outcome) => {
            emergency = outcome;
            if (outcome.clientAfter !== history.at(-1)?.clientId) {
              const atSeconds = round1(outcome.endMs / 1000);
              history.push({ atSeconds, clientId: outcome.clientAfter, label: label(outcome.clientAfter) });
            }
            progress.note(
              `Emergency: ${outcome.exitCode === 0 ? "done" : `FAILED (exit ${outcome.exitCode})`}, active client ${label(outcome.leakedClientId)} → ${label(outcome.clientAfter)}`,
            );
          });
  emergencyRun.catch(() => {});
  let interrupted = false;
  let trafficEndMs = 0;
  let hostileStats: Awaited<ReturnType<HostileConsumer["stop"]>> | undefined;
  let forgeries: Awaited<ReturnType<typeof forger.settle>> | undefined;
  try {
    for (const [index, plannedStart] of rotationStartsMs.entries()) {
      await sleep(Math.max(0, plannedStart - elapsed()), undefined, { signal });
      const { outcome, current } = await serially(() =>
        rotateOnce(stack, index, plan, plannedMs + ROTATION_GRACE_MS, elapsed, rotationState, signal),
      );
      rotations.push(outcome);
      if (current.clientId !== history.at(-1)?.clientId) {
        history.push(change(round1(outcome.endMs / 1000), current));
      }
      progress.note(describeRotation(outcome));
    }
    await emergencyRun;
    // Traffic keeps flowing after the last rotation: tokens minted from the new secret must work too.
    await sleep(Math.max(0, plannedMs - elapsed()), undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
    interrupted = true;
  } finally {
    trafficEndMs = elapsed();
    clearInterval(ticker);
    pushed = await pusher?.then(
      (sequence) => sequence.stop(),
      () => undefined,
    );
    // The last events are on their way to the sockets.
    if (pushed !== undefined) await sleep(LAST_EVENTS_GRACE_MS);
    [, hostileStats] = await Promise.all([fleet.stop(), hostile?.stop()]);
    injector.stop();
    forgeries = await forger.settle();
    forgerClient.destroy();
    metrics.sample(elapsed(), totals());
    progress.close();
  }

  const notifications = listening
    ? await notificationOutcome(fleet, pushed, stack.genesys.notifications.counters().channelsCreated)
    : undefined;
  const vendor = vendorCounters();
  const genesys = genesysErrors();
  const hostileOutcome: HostileConsumerOutcome | undefined =
    hostilePlan === undefined || hostileStats === undefined
      ? undefined
      : {
          ...hostileStats,
          reportsPerSecond: hostilePlan.reportsPerSecond,
          mintAllowance: mintAllowance({
            trafficSeconds: trafficEndMs / 1000,
            tokenLifetimeSeconds: options.tokenLifetimeSeconds,
            vendorContainers: vendor.perContainer.length,
            rotationSteps: metrics.steps.length,
            forgeriesWritten: forgeries?.written ?? 0,
            outageWindows: plan.filter((f) => f.fault === "dynamodb-outage").length,
          }),
        };
  const forgedOutcome: ForgedCacheOutcome | undefined =
    forgeries !== undefined && plan.some((f) => f.fault === "forged-cache")
      ? {
          ...forgeries,
          served: ledger.timesServed(forger.forgedTokenHashes),
          vendedTokensChecked: ledger.answers,
        }
      : undefined;
  return {
    seed: options.seed,
    strategy: options.strategy,
    consumers: options.consumers,
    consumerKinds: options.consumerKinds,
    targetRate: options.rate,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    dynamoDbEngine: stack.dynamoDb.engine,
    durationSeconds: trafficEndMs / 1000,
    achievedRate: trafficEndMs > 0 ? metrics.calls / (trafficEndMs / 1000) : 0,
    rotationsRequested: options.rotations,
    rotations,
    consumerCalls: metrics.calls,
    consumerFailures: metrics.failures,
    consumerCallsByKind: metrics.callsByConsumerKind,
    failureKinds: metrics.failureKinds,
    skippedCalls: metrics.skipped,
    tokenMints: totals().mints - baseline.mints,
    applicationTokenMints: appMints() - baseline.appMints,
    applicationSecretRegenerations: appRegenerations() - baseline.appRegenerations,
    vendorInvocations: vendor.invocations - baseline.vendorInvocations,
    vendorErrors: vendor.errors - baseline.errors,
    genesys: {
      api429: genesys.api429 - baseline.genesys.api429,
      serverErrors: genesys.serverErrors - baseline.genesys.serverErrors,
      tokenRateLimited: genesys.tokenRateLimited - baseline.genesys.tokenRateLimited,
      unauthorized: genesys.unauthorized - baseline.genesys.unauthorized,
    },
    p50Ms: metrics.percentile(0.5),
    p99Ms: metrics.percentile(0.99),
    maxMs: metrics.percentile(1),
    faults: plan,
    activeClientHistory: history,
    steps: metrics.steps,
    timeline: metrics.timeline(Math.floor(trafficEndMs / 1000)),
    interrupted,
    ...(emergency === undefined ? {} : { emergency }),
    ...(emergencyAtMs === undefined ? {} : { emergencyRequested: true }),
    ...(hostileOutcome === undefined ? {} : { hostileConsumer: hostileOutcome }),
    ...(forgedOutcome === undefined ? {} : { forgedCache: forgedOutcome }),
    ...(notifications === undefined ? {} : { notifications }),
  };
}

/**
 * The most application token grants a drill may see when the vendor caps the mints reports cause
 * (docs/drill.md, "hostile-consumer"): a part for every legitimate reason to mint, each counted
 * generously, plus the cap itself. A vendor that minted once per false report would exceed it many
 * times over (the hostile consumer sends 10–30 a second).
 */
export function mintAllowance(inputs: {
  trafficSeconds: number;
  tokenLifetimeSeconds: number;
  vendorContainers: number;
  rotationSteps: number;
  forgeriesWritten: number;
  outageWindows: number;
}): MintAllowance {
  const containers = Math.max(1, inputs.vendorContainers);
  const intervalSeconds = DRILL_REJECTION_MINT_INTERVAL_SECONDS;
  // A short token is refreshed in the last quarter of its life (lambda/vending/token-cache.ts).
  const refreshes =
    containers * (Math.ceil(inputs.trafficSeconds / (0.75 * inputs.tokenLifetimeSeconds)) + 1);
  const rotations = 2 * inputs.rotationSteps;
  const forgeries = inputs.forgeriesWritten;
  const outages = containers * inputs.outageWindows;
  const rejectionCap = containers * (Math.ceil(inputs.trafficSeconds / intervalSeconds) + 1);
  return {
    total: refreshes + rotations + forgeries + outages + rejectionCap,
    refreshes,
    rotations,
    forgeries,
    outages,
    rejectionCap,
    rejectionMintIntervalSeconds: intervalSeconds,
  };
}

/**
 * Records every rotation step the Secrets Manager emulator invokes, and performs crash-rotation: on the
 * planned step of the planned rotation's first attempt, the admin API is slowed down and the rotation
 * function's container is killed `afterMs` into the step, so the kill lands mid-request.
 */
function instrumentRotations(
  stack: DrillStack,
  plan: readonly ScheduledFault[],
  metrics: DrillMetrics,
  state: { index: number; step: string | undefined },
  elapsed: () => number,
): void {
  const crashes = plan.flatMap((f) => (f.fault === "crash-rotation" ? [{ ...f, done: false }] : []));
  stack.wrapRotationInvoker((invoke) => async (arn, event) => {
    const record: StepRecord = {
      rotation: state.index,
      step: event.Step,
      startMs: elapsed(),
      endMs: 0,
      ok: false,
    };
    state.step = event.Step;
    const crash = crashes.find((c) => !c.done && c.rotation === state.index && c.step === event.Step);
    let killer: NodeJS.Timeout | undefined;
    if (crash) {
      crash.done = true;
      stack.genesys.faults.latencyByPathPrefix[CRASH_LATENCY_PATH] = CRASH_LATENCY_MS;
      killer = setTimeout(() => {
        record.crashed = true;
        stack.lambda.killContainer(DRILL_NAMES.rotationFunction).catch(() => {});
      }, crash.afterMs);
    }
    try {
      await invoke(arn, event);
      record.ok = true;
    } catch (error) {
      record.errorName = (error as Error).name;
      throw error;
    } finally {
      clearTimeout(killer);
      if (crash) delete stack.genesys.faults.latencyByPathPrefix[CRASH_LATENCY_PATH];
      record.endMs = elapsed();
      metrics.steps.push(record);
    }
  });
}

/**
 * One RotateSecret and its outcome, including whether a failure is safe and explained; `current` is the
 * AWSCURRENT value after it (the outcome names clients by label only).
 */
async function rotateOnce(
  stack: DrillStack,
  index: number,
  plan: readonly ScheduledFault[],
  deadlineMs: number,
  elapsed: () => number,
  state: { index: number; step: string | undefined },
  signal: AbortSignal,
): Promise<{ outcome: RotationOutcome; current: CredentialSecret }> {
  const before = await stack.readCurrent();
  const startMs = elapsed();
  state.index = index;
  let terminal: RotationEventRecord | undefined;
  let refusal: string | undefined;
  try {
    await stack.secretsManagerClient.send(
      new RotateSecretCommand({
        SecretId: stack.secrets.app,
        RotationLambdaARN: stack.rotationLambdaArn,
        RotateImmediately: true,
      }),
    );
  } catch (error) {
    // After a failed rotation AWS refuses a new one and reattempts the stuck one ("A previous rotation
    // isn't complete. That rotation will be reattempted."); this rotation then IS that reattempt.
    if (!/previous rotation isn't complete/i.test((error as Error).message)) refusal = (error as Error).name;
  }
  if (refusal === undefined) {
    const timeoutMs = Math.max(5_000, deadlineMs - elapsed());
    terminal = await abortable(
      stack.secretsManager.waitForRotation(stack.secrets.app, { timeoutMs }),
      signal,
    ).catch((error: unknown) => {
      if (signal.aborted) throw error;
      return undefined;
    });
  }
  const endMs = elapsed();
  state.step = undefined;
  const after = await stack.readCurrent();
  const outcome: RotationOutcome = {
    index,
    startMs,
    endMs,
    outcome:
      terminal === undefined
        ? refusal === undefined
          ? "timeout"
          : "failed"
        : terminal.eventName === "RotationSucceeded"
          ? "succeeded"
          : terminal.eventName === "RotationAbandoned"
            ? "abandoned"
            : "failed",
    attempts: terminal?.attempts ?? 0,
    clientBefore: label(before.value.clientId),
    clientAfter: label(after.value.clientId),
    faultsActive: faultsDuring(plan, startMs, endMs),
  };
  if (plan.some((f) => f.fault === "crash-rotation" && f.rotation === index))
    outcome.faultsActive.push("crash-rotation");
  if (refusal !== undefined) outcome.cause = `RotateSecret refused: ${refusal}`;
  else if (terminal?.step !== undefined) outcome.failedStep = terminal.step;
  if (terminal?.cause !== undefined && outcome.outcome !== "succeeded")
    outcome.cause = terminal.cause.split(":")[0];
  if (outcome.outcome !== "succeeded") {
    outcome.awsCurrentIntact = after.versionId === before.versionId && acceptedByGenesys(stack, after.value);
    // single: a failure after the regeneration leaves the live secret in AWSPENDING only. The vendor falls
    // back to it and Secrets Manager reattempts the rotation, so consumers are safe — but readers of the
    // raw AWSCURRENT are not (docs/design.md#single-opt-in). The drill reports it as not intact and does not explain it away.
    const mayFail = outcome.faultsActive.some((name: FaultName) => FAULTS[name].mayFailRotation);
    outcome.explained = outcome.awsCurrentIntact && mayFail;
  }
  return { outcome, current: after.value };
}

/** Whether Genesys issues tokens for this value right now (checked in-process: nothing is printed). */
function acceptedByGenesys(stack: DrillStack, value: CredentialSecret): boolean {
  const client = stack.genesys.state.getClient(value.clientId);
  return client !== undefined && client.state === "active" && client.secret === value.clientSecret;
}

/**
 * `promise`, or a rejection with `signal.reason` as soon as the signal aborts. The abandoned promise's
 * own rejection (a server stopped under it) is swallowed.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => {});
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function describeRotation(r: RotationOutcome): string {
  const seconds = round1((r.endMs - r.startMs) / 1000);
  if (r.outcome === "succeeded") {
    return `rotation ${r.index + 1} succeeded in ${seconds} s (${r.attempts} attempt(s)): ${r.clientBefore} → ${r.clientAfter}`;
  }
  return (
    `rotation ${r.index + 1} ${r.outcome} after ${seconds} s at ${r.failedStep ?? "?"} (${r.cause ?? "no cause"}); ` +
    `AWSCURRENT ${r.awsCurrentIntact ? "intact" : "NOT intact"}; ${r.explained ? "explained by" : "not explained by"} ${r.faultsActive.join(", ") || "no fault"}`
  );
}

/**
 * The header printed when traffic starts, wrapped so that no line reaches 80 columns (a long fault list
 * continues on indented lines).
 */
function describeDrill(options: DrillOptions, dynamoDbEngine: string): string {
  const [firstFault = "none", ...otherFaults] = options.faults;
  return wrapParts(
    [
      `Drill: ${options.rotations} rotation(s)`,
      `${options.consumers} consumers at ${options.rate} calls/s for ${options.durationSeconds} s`,
      `strategy ${options.strategy}`,
      `seed ${options.seed}`,
      `DynamoDB: ${dynamoDbEngine}`,
      `faults: ${firstFault}`,
      ...otherFaults,
    ],
    80,
  );
}

/** `parts` joined by ", " into lines shorter than `columns`; continuation lines are indented. */
function wrapParts(parts: readonly string[], columns: number): string {
  const lines: string[] = [];
  let line = "";
  for (const part of parts) {
    const candidate = line === "" ? part : `${line}, ${part}`;
    if (line !== "" && candidate.length + 1 >= columns) {
      lines.push(`${line},`);
      line = `  ${part}`;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines.join("\n");
}

function change(atSeconds: number, value: CredentialSecret): ActiveClientChange {
  return { atSeconds, clientId: value.clientId, label: label(value.clientId) };
}

function label(clientId: string): string {
  return CLIENT_LABELS[clientId] ?? clientId;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** How long the drill waits, after its last numbered event, before it closes the listeners. */
const LAST_EVENTS_GRACE_MS = 1_000;

/** What the `notifications` consumers received, against what was pushed. */
async function notificationOutcome(
  fleet: ConsumerFleet,
  pushed: readonly PushedEvent[] | undefined,
  channelsCreated: number,
): Promise<NotificationsOutcome> {
  let listeners: Awaited<ConsumerFleet["listeners"]>;
  try {
    listeners = await fleet.listeners;
  } catch (error) {
    return {
      listeners: 0,
      eventsPushed: 0,
      eventsLost: 0,
      duplicates: 0,
      unreportedLosses: 0,
      gapsReported: 0,
      switchovers: 0,
      channelsCreated,
      failures: [describeError(error).errorName],
    };
  }
  const checks = listeners.map((listener) =>
    checkEventSequence(pushed ?? [], listener.received, listener.gaps),
  );
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  return {
    listeners: listeners.length,
    eventsPushed: pushed?.length ?? 0,
    eventsLost: sum(checks.map((check) => check.missing.length)),
    duplicates: sum(checks.map((check) => check.duplicates.length)),
    unreportedLosses: sum(checks.map((check) => check.unreported.length)),
    gapsReported: sum(listeners.map((listener) => listener.gaps.length)),
    switchovers: sum(listeners.map((listener) => listener.switchovers)),
    channelsCreated,
    failures: listeners.flatMap((listener) => (listener.failure === undefined ? [] : [listener.failure])),
  };
}
