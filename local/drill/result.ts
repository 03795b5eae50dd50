/**
 * The outcome of a drill: the record `runDrill` returns, the verdict (exit code), the human summary
 * table and the `--json` line. Nothing here carries a secret or a token: client ids and counts only.
 */
import type { Strategy } from "../../lambda/shared/secret-value.ts";
import type { HostileConsumerStats } from "./consumers.ts";
import type { EmergencyOutcome } from "./emergency.ts";
import type { ForgedCacheStats } from "./fault-injector.ts";
import type { FaultName, ScheduledFault } from "./faults.ts";
import type { FailureKinds, StepRecord, TimelineBucket } from "./metrics.ts";

/** How one rotation ended. */
export interface RotationOutcome {
  /** 0-based index in the drill. */
  index: number;
  /** ms since traffic start. */
  startMs: number;
  endMs: number;
  /** `timeout`: no terminal event before the drill's deadline. */
  outcome: "succeeded" | "failed" | "abandoned" | "timeout";
  /** Whole-rotation attempts Secrets Manager made. */
  attempts: number;
  /** Step of the last failure, e.g. `testSecret`. */
  failedStep?: string;
  /** Error name of the last failure (from the rotation function). */
  cause?: string;
  /** Client named by AWSCURRENT before and after. */
  clientBefore: string;
  clientAfter: string;
  /** For an unsuccessful rotation: AWSCURRENT is the value it was before, and Genesys still accepts it. */
  awsCurrentIntact?: boolean;
  /** Faults active at some moment of the rotation. */
  faultsActive: FaultName[];
  /** For an unsuccessful rotation: the failure is safe and one of `faultsActive` may fail a rotation. */
  explained?: boolean;
}

/** A change of the client AWSCURRENT names. */
export interface ActiveClientChange {
  /** Seconds since traffic start (0 = the seeded value). */
  atSeconds: number;
  clientId: string;
  /** Short label of the seeded client, e.g. `app-a`. */
  label: string;
}

/**
 * The most application token grants the drill may see when false reports are capped (hostile-consumer),
 * and what each part allows for. Counted against Genesys' own grants (`applicationTokenMints`), not
 * against anything the vendor reports about itself. docs/drill.md, "hostile-consumer".
 */
export interface MintAllowance {
  total: number;
  /** Refreshes: one per fresh span (¾ of a token's life) plus the one under way, per vendor container. */
  refreshes: number;
  /** Two per rotation step invoked (testSecret's test token, the cache warming after finishSecret). */
  rotations: number;
  /** One replacement per forged item written. */
  forgeries: number;
  /** One per vendor container per DynamoDB outage window (each container mints directly meanwhile). */
  outages: number;
  /** The cap: one mint per `REJECTION_MINT_INTERVAL_SECONDS` (+1), per vendor container (degraded mode caps per container). */
  rejectionCap: number;
  /** The drill's `REJECTION_MINT_INTERVAL_SECONDS`. */
  rejectionMintIntervalSeconds: number;
}

/** What the hostile-consumer fault sent and met. */
export interface HostileConsumerOutcome extends HostileConsumerStats {
  reportsPerSecond: number;
  mintAllowance: MintAllowance;
}

/** What the forged-cache fault did, and whether a forgery reached a consumer. */
export interface ForgedCacheOutcome extends ForgedCacheStats {
  /** Vend answers (to any drill consumer) that carried a forged token. Must be 0. */
  served: number;
  /** Vend answers the drill's consumers got in all (each checked against the forgeries). */
  vendedTokensChecked: number;
}

/** `--consumer-kind notifications`: what the listeners received against what the emulator pushed. */
export interface NotificationsOutcome {
  listeners: number;
  /** Numbered events pushed while the listeners were open. */
  eventsPushed: number;
  /** Pushed events a listener never received (summed over listeners). */
  eventsLost: number;
  /** Events a listener received more than once. */
  duplicates: number;
  /** Of the lost events, those outside every gap the helper reported. */
  unreportedLosses: number;
  gapsReported: number;
  /** Channel switchovers the listeners made (expiry, socket_closing, dead sockets). */
  switchovers: number;
  channelsCreated: number;
  /** Listeners that gave up (or could not open), by error name. */
  failures: string[];
}

/** Everything a drill measured. `toJsonSummary` picks the `--json` fields. */
export interface DrillResult {
  seed: number;
  strategy: Strategy;
  consumers: number;
  /** How the consumers called Genesys (`--consumer-kind`). */
  consumerKinds: readonly string[];
  /** Calls and failures per consumer kind. */
  consumerCallsByKind?: Record<string, { calls: number; failures: number }>;
  targetRate: number;
  tokenLifetimeSeconds: number;
  dynamoDbEngine: string;
  /** Length of the traffic phase actually run (≥ --duration when a rotation ran late). */
  durationSeconds: number;
  achievedRate: number;
  rotationsRequested: number;
  rotations: RotationOutcome[];
  consumerCalls: number;
  consumerFailures: number;
  failureKinds: FailureKinds;
  /** Calls not started because a consumer already had its maximum in flight (a sign of overload). */
  skippedCalls: number;
  /** Successful token grants Genesys served during the traffic phase, all clients (rotation's own included). */
  tokenMints: number;
  /** Of which, grants to the rotated application credential's clients (what consumers depend on). */
  applicationTokenMints: number;
  /** Secret regenerations of the application credential's clients (one per successful rotation, more after retries). */
  applicationSecretRegenerations: number;
  vendorInvocations: number;
  vendorErrors: number;
  /** Consumer-side retries of Genesys API 429/5xx, as served by the emulator. */
  genesys: { api429: number; serverErrors: number; tokenRateLimited: number; unauthorized: number };
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  faults: ScheduledFault[];
  activeClientHistory: ActiveClientChange[];
  steps: StepRecord[];
  timeline: TimelineBucket[];
  /** Set when the drill was interrupted (Ctrl-C) before it finished. */
  interrupted: boolean;
  /** `--emergency-at`: what the emergency did and found (absent when it was not asked for or not reached). */
  emergency?: EmergencyOutcome;
  /** `--emergency-at` was given. */
  emergencyRequested?: boolean;
  /** With the hostile-consumer fault. */
  hostileConsumer?: HostileConsumerOutcome;
  /** With the forged-cache fault. */
  forgedCache?: ForgedCacheOutcome;
  /** With `notifications` consumers. */
  notifications?: NotificationsOutcome;
}

/** Rotations that failed (or never finished) in a way the faults do not explain. */
export function unexplainedRotationFailures(result: DrillResult): RotationOutcome[] {
  return result.rotations.filter((r) => r.outcome !== "succeeded" && r.explained !== true);
}

/**
 * Why the drill failed, one line per reason; empty when it passed. A drill passes when no consumer call
 * failed, every requested rotation ran, and every rotation that did not succeed is explained (a fault that
 * may fail a rotation was active, and AWSCURRENT stayed intact); with forged-cache, no forged token was
 * served; with hostile-consumer, every request its alias does not grant was refused as not granted and
 * the application's token grants stayed within the allowance.
 *
 * An interrupted drill lists only what it found before the interruption: rotations it never reached are
 * not a finding (its verdict, {@link drillVerdict}, is INTERRUPTED whatever this returns).
 */
export function drillProblems(result: DrillResult): string[] {
  const problems: string[] = [];
  if (result.consumerFailures > 0) problems.push(`${result.consumerFailures} consumer call(s) failed`);
  const notifications = result.notifications;
  if (notifications !== undefined) {
    if (notifications.eventsLost > 0) problems.push(`${notifications.eventsLost} notification event(s) lost`);
    if (notifications.duplicates > 0)
      problems.push(`${notifications.duplicates} notification event(s) delivered twice`);
    if (notifications.failures.length > 0)
      problems.push(`notification listener(s) failed: ${notifications.failures.join(", ")}`);
    if (!result.interrupted && notifications.eventsPushed === 0)
      problems.push("no notification event was pushed");
  }
  if (!result.interrupted && result.rotations.length < result.rotationsRequested) {
    problems.push(`only ${result.rotations.length} of ${result.rotationsRequested} rotations ran`);
  }
  const emergency = result.emergency;
  if (emergency !== undefined) {
    if (emergency.exitCode !== 0)
      problems.push(`the emergency failed (exit ${emergency.exitCode}: ${emergency.error})`);
    if (!emergency.leakedSecretRejected)
      problems.push("the leaked secret still mints tokens after the emergency");
    if (!emergency.leakedTokenRejected)
      problems.push("a token minted with the leaked secret still works after the emergency");
  } else if (result.emergencyRequested === true && !result.interrupted)
    problems.push("the emergency never ran");
  for (const rotation of unexplainedRotationFailures(result)) {
    const safety = rotation.awsCurrentIntact === false ? "; AWSCURRENT NOT intact" : "";
    problems.push(
      `rotation ${rotation.index + 1} ${rotation.outcome}${rotation.failedStep ? ` at ${rotation.failedStep}` : ""}` +
        `${rotation.cause ? ` (${rotation.cause})` : ""} and no active fault explains it${safety}`,
    );
  }
  if (result.forgedCache !== undefined && result.forgedCache.served > 0) {
    problems.push(`${result.forgedCache.served} vend answer(s) carried a forged token from the token table`);
  }
  const hostile = result.hostileConsumer;
  if (hostile !== undefined) {
    const { ungranted, mintAllowance } = hostile;
    if (ungranted.answered > 0) {
      problems.push(
        `${ungranted.answered} of ${ungranted.requests} request(s) the invoked alias does not grant were answered instead of refused`,
      );
    }
    const otherwise = Object.entries(ungranted.refusedOtherwise);
    if (otherwise.length > 0) {
      problems.push(
        `${sum(otherwise.map(([, count]) => count))} request(s) the invoked alias does not grant were refused with another error than CredentialNotGrantedError (${otherwise.map(([name, count]) => `${name}: ${count}`).join(", ")})`,
      );
    }
    if (result.applicationTokenMints > mintAllowance.total) {
      problems.push(
        `${result.applicationTokenMints} application token grants exceed the allowance of ${mintAllowance.total}: false reports were not capped`,
      );
    }
  }
  return problems;
}

/** The drill's verdict. INTERRUPTED wins: the figures of an interrupted run cover only part of a drill. */
export function drillVerdict(result: DrillResult): "PASS" | "FAIL" | "INTERRUPTED" {
  if (result.interrupted) return "INTERRUPTED";
  return drillProblems(result).length === 0 ? "PASS" : "FAIL";
}

/** The exit code of `npm start`: 0 pass, 1 the drill found a problem, 130 interrupted. */
export function drillExitCode(result: DrillResult): number {
  const verdict = drillVerdict(result);
  return verdict === "PASS" ? 0 : verdict === "FAIL" ? 1 : 130;
}

/** Whether the drill got as far as consumer traffic (an interrupted start did not). */
export function trafficRan(result: DrillResult): boolean {
  return result.durationSeconds > 0;
}

/** The `--json` object: the fields the issue requires plus context. No timeline (see the HTML report). */
export function toJsonSummary(result: DrillResult): Record<string, unknown> {
  const failed = result.rotations.filter((r) => r.outcome !== "succeeded");
  return {
    ok: drillExitCode(result) === 0,
    problems: drillProblems(result),
    seed: result.seed,
    strategy: result.strategy,
    consumers: result.consumers,
    consumerKinds: result.consumerKinds,
    targetRate: result.targetRate,
    achievedRate: round(result.achievedRate, 1),
    durationSeconds: round(result.durationSeconds, 1),
    tokenLifetimeSeconds: result.tokenLifetimeSeconds,
    dynamoDbEngine: result.dynamoDbEngine,
    rotations: result.rotations.length,
    rotationsRequested: result.rotationsRequested,
    rotationsSucceeded: result.rotations.filter((r) => r.outcome === "succeeded").length,
    rotationFailuresExplained: failed.filter((r) => r.explained === true).length,
    rotationFailuresUnexplained: failed.filter((r) => r.explained !== true).length,
    consumerCalls: result.consumerCalls,
    consumerFailures: result.consumerFailures,
    ...(result.consumerCallsByKind === undefined ? {} : { consumerCallsByKind: result.consumerCallsByKind }),
    failureKinds: result.failureKinds,
    skippedCalls: result.skippedCalls,
    tokenMints: result.tokenMints,
    applicationTokenMints: result.applicationTokenMints,
    applicationSecretRegenerations: result.applicationSecretRegenerations,
    vendorInvocations: result.vendorInvocations,
    vendorErrors: result.vendorErrors,
    genesys: result.genesys,
    p50Ms: round(result.p50Ms, 1),
    p99Ms: round(result.p99Ms, 1),
    maxMs: round(result.maxMs, 1),
    faults: [...new Set(result.faults.map((f) => f.fault))],
    faultSchedule: result.faults,
    activeClientHistory: result.activeClientHistory,
    // Sub-millisecond timestamps are measurement noise: whole ms in the JSON.
    rotationDetails: result.rotations.map((r) => ({
      ...r,
      startMs: Math.round(r.startMs),
      endMs: Math.round(r.endMs),
    })),
    interrupted: result.interrupted,
    ...(result.emergency === undefined ? {} : { emergency: result.emergency }),
    ...(result.hostileConsumer === undefined ? {} : { hostileConsumer: result.hostileConsumer }),
    ...(result.forgedCache === undefined ? {} : { forgedCache: result.forgedCache }),
    ...(result.notifications === undefined ? {} : { notifications: result.notifications }),
  };
}

/**
 * The human summary: a two-column table, the rotations, and the verdict. Durations, rates and latencies
 * all carry one decimal, so a column of figures reads alike. A drill interrupted before traffic started
 * has nothing to show but that.
 */
export function formatSummary(result: DrillResult): string {
  if (result.interrupted && !trafficRan(result)) {
    return `\nINTERRUPTED before traffic started (seed ${result.seed}): nothing was measured.\n`;
  }
  const json = toJsonSummary(result);
  const rows: [string, string][] = [
    ["strategy", `${result.strategy} (seed ${result.seed})`],
    ["faults", (json.faults as string[]).join(", ") || "none"],
    ["duration", `${oneDecimal(result.durationSeconds)} s`],
    [
      "consumers",
      result.consumerKinds.length > 1 || result.consumerKinds[0] !== "fetch"
        ? `${result.consumers} (${result.consumerKinds.join(", ")})`
        : String(result.consumers),
    ],
    ["rate (target / achieved)", `${result.targetRate} / ${oneDecimal(result.achievedRate)} calls/s`],
    ["consumer calls", String(result.consumerCalls)],
    ["consumer failures", String(result.consumerFailures)],
    ...(result.notifications === undefined
      ? []
      : [
          [
            "notification events (pushed / lost / twice)",
            `${result.notifications.eventsPushed} / ${result.notifications.eventsLost} / ${result.notifications.duplicates} (${result.notifications.listeners} listener(s), ${result.notifications.switchovers} switchover(s))`,
          ] as [string, string],
        ]),
    [
      "latency p50 / p99 / max",
      `${oneDecimal(result.p50Ms)} / ${oneDecimal(result.p99Ms)} / ${oneDecimal(result.maxMs)} ms`,
    ],
    ["rotations (ok / requested)", `${json.rotationsSucceeded} / ${result.rotationsRequested}`],
    ["rotation failures explained", String(json.rotationFailuresExplained)],
    ["token mints (app / all)", `${result.applicationTokenMints} / ${result.tokenMints}`],
    ["secret regenerations (app)", String(result.applicationSecretRegenerations)],
    ["vendor invocations (errors)", `${result.vendorInvocations} (${result.vendorErrors})`],
    [
      "Genesys 429 / 5xx / token throttles / 401",
      `${result.genesys.api429} / ${result.genesys.serverErrors} / ${result.genesys.tokenRateLimited} / ${result.genesys.unauthorized}`,
    ],
    [
      "active client",
      result.activeClientHistory.map((c) => `${c.label}@${oneDecimal(c.atSeconds)}s`).join(" → "),
    ],
    ["DynamoDB", result.dynamoDbEngine],
  ];
  if (result.emergency !== undefined) {
    const e = result.emergency;
    rows.push([
      "emergency (replace-client)",
      `${e.exitCode === 0 ? "done" : `FAILED (exit ${e.exitCode})`} ${oneDecimal(e.startMs / 1000)}-${oneDecimal(e.endMs / 1000)} s; ` +
        `leaked secret ${e.leakedSecretRejected ? "rejected" : "STILL WORKS"}, its token ${e.leakedTokenRejected ? "rejected" : "STILL WORKS"}`,
    ]);
  }
  if (result.skippedCalls > 0) rows.push(["skipped calls (overload)", String(result.skippedCalls)]);
  const hostile = result.hostileConsumer;
  if (hostile !== undefined) {
    const refused = sum(Object.values(hostile.reportsRefused));
    rows.push(
      [
        "false reports (again / new / refused)",
        `${hostile.falseReports} (${hostile.reportsServedAgain} / ${hostile.reportsAnsweredWithNewToken} / ${refused})`,
      ],
      [
        "app token grants / allowance",
        `${result.applicationTokenMints} / ${hostile.mintAllowance.total} (cap ${hostile.mintAllowance.rejectionCap}, interval ${hostile.mintAllowance.rejectionMintIntervalSeconds} s)`,
      ],
      [
        "ungranted requests (refused / answered)",
        `${hostile.ungranted.requests} (${hostile.ungranted.refused} / ${hostile.ungranted.answered})`,
      ],
    );
  }
  const forged = result.forgedCache;
  if (forged !== undefined) {
    rows.push([
      "forged items written / served",
      `${forged.written} of ${forged.planned} / ${forged.served} of ${forged.vendedTokensChecked} vends`,
    ]);
  }
  for (const [kind, count] of Object.entries(result.failureKinds))
    rows.push([`  failure: ${kind}`, String(count)]);
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = [
    "",
    "Drill summary",
    "─".repeat(width + 30),
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
  ];
  lines.push("", "Rotations");
  for (const r of result.rotations) {
    const detail =
      r.outcome === "succeeded"
        ? `${r.clientBefore} → ${r.clientAfter}`
        : `${r.failedStep ?? ""} ${r.cause ?? ""}; AWSCURRENT ${r.awsCurrentIntact ? "intact" : "NOT intact"}; ${r.explained ? "explained by" : "NOT explained by"} [${r.faultsActive.join(", ")}]`;
    lines.push(
      `  #${r.index + 1} ${r.outcome.padEnd(9)} ${oneDecimal((r.endMs - r.startMs) / 1000)} s, ${r.attempts} attempt(s)  ${detail}`,
    );
  }
  const problems = drillProblems(result).map((p) => `  - ${p}`);
  lines.push("");
  if (result.interrupted) {
    lines.push(
      `INTERRUPTED after ${oneDecimal(result.durationSeconds)} s of traffic, ${result.rotations.length} of ` +
        `${result.rotationsRequested} rotation(s) run.`,
      "The figures above cover only that part of the drill.",
    );
    if (problems.length > 0) lines.push("Found before the interruption:", ...problems);
  } else {
    lines.push(problems.length === 0 ? "PASS" : "FAIL", ...problems);
  }
  lines.push("");
  return lines.join("\n");
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `10.0`, not `10`, next to `0.7`. */
function oneDecimal(value: number): string {
  return value.toFixed(1);
}
