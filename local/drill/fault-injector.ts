/**
 * Applies a fault schedule (faults.ts) to the running stack: timers switch the emulators' fault knobs on
 * and off at the planned moments. crash-rotation is not timed here — it is tied to a rotation step and
 * applied by the rotation invoker (see drill.ts).
 */

import type { LocalDynamoDb } from "../aws/dynamodb/index.ts";
import type { GenesysEmulator } from "../genesys-cloud/emulator.ts";
import { DRILL_WIDE_FAULTS, type FaultName, type ScheduledFault } from "./faults.ts";

/** The parts of the stack faults act on. */
export interface FaultTargets {
  genesys: Pick<GenesysEmulator, "faults">;
  dynamoDb: Pick<LocalDynamoDb, "outage">;
}

/** A running injector. */
export interface FaultInjector {
  /** Faults switched on right now. */
  active(): FaultName[];
  /** Cancels pending timers and switches every active fault off. Idempotent. */
  stop(): void;
}

/**
 * Schedules every timed fault of `plan`, relative to now (= traffic start). Overlapping windows of the
 * same fault are merged: the fault goes off when the last of them ends.
 */
export function startFaultInjector(plan: readonly ScheduledFault[], targets: FaultTargets): FaultInjector {
  const timers: NodeJS.Timeout[] = [];
  const depth = new Map<FaultName, number>();
  const on = (fault: ScheduledFault) => {
    depth.set(fault.fault, (depth.get(fault.fault) ?? 0) + 1);
    switchOn(fault, targets);
  };
  const off = (fault: ScheduledFault) => {
    const remaining = (depth.get(fault.fault) ?? 1) - 1;
    depth.set(fault.fault, remaining);
    if (remaining === 0) switchOff(fault.fault, targets);
  };
  for (const fault of plan) {
    if (fault.fault === "crash-rotation") continue;
    if (fault.startMs <= 0) on(fault);
    else timers.push(setTimeout(() => on(fault), fault.startMs));
    if (!DRILL_WIDE_FAULTS.has(fault.fault)) timers.push(setTimeout(() => off(fault), fault.endMs));
  }
  return {
    active: () => [...depth].filter(([, count]) => count > 0).map(([name]) => name),
    stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.length = 0;
      for (const [name, count] of depth) if (count > 0) switchOff(name, targets);
      depth.clear();
    },
  };
}

function switchOn(fault: ScheduledFault, { genesys, dynamoDb }: FaultTargets): void {
  const knobs = genesys.faults;
  switch (fault.fault) {
    case "token-rate-limit":
      knobs.tokenRateLimit.enabled = true;
      knobs.tokenRateLimit.retryAfterSeconds = fault.retryAfterSeconds;
      break;
    case "api-429":
      knobs.apiRateLimit.everyNth = fault.everyNth;
      knobs.apiRateLimit.retryAfterSeconds = fault.retryAfterSeconds;
      break;
    case "genesys-5xx":
      knobs.serverErrors.probability = fault.probability;
      knobs.serverErrors.status = fault.status;
      break;
    case "dynamodb-outage":
      dynamoDb.outage.begin(fault.mode);
      break;
    case "propagation-delay":
      knobs.propagationDelayMs = fault.delayMs;
      break;
    case "tokens-die-on-regeneration":
      knobs.tokensSurviveRegeneration = false;
      break;
    case "crash-rotation":
      break;
  }
}

function switchOff(name: FaultName, { genesys, dynamoDb }: FaultTargets): void {
  const knobs = genesys.faults;
  switch (name) {
    case "token-rate-limit":
      knobs.tokenRateLimit.enabled = false;
      break;
    case "api-429":
      knobs.apiRateLimit.everyNth = 0;
      break;
    case "genesys-5xx":
      knobs.serverErrors.probability = 0;
      break;
    case "dynamodb-outage":
      dynamoDb.outage.end();
      break;
    case "propagation-delay":
      knobs.propagationDelayMs = 0;
      break;
    case "tokens-die-on-regeneration":
      knobs.tokensSurviveRegeneration = true;
      break;
    case "crash-rotation":
      break;
  }
}
