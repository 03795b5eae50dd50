/**
 * Applies a fault schedule (faults.ts) to the running stack: timers switch the emulators' fault knobs on
 * and off at the planned moments, and write the forged-cache items at theirs. crash-rotation is not
 * timed here — it is tied to a rotation step and applied by the rotation invoker; the hostile consumer
 * runs beside the honest ones (both in drill.ts): here it only shows as active.
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { GENESYS_ENVIRONMENTS } from "../../lambda/shared/genesys/environments.ts";
import { hashToken } from "../../lambda/vending/token-cache.ts";
import type { LocalDynamoDb } from "../aws/dynamodb/index.ts";
import type { GenesysEmulator } from "../genesys-cloud/emulator.ts";
import { type ForgeryKind, forgedTokenItem } from "../shared/forged-token-items.ts";
import { DRILL_WIDE_FAULTS, type FaultName, type ScheduledFault } from "./faults.ts";

/** The parts of the stack faults act on. */
export interface FaultTargets {
  genesys: Pick<GenesysEmulator, "faults">;
  dynamoDb: Pick<LocalDynamoDb, "outage">;
  /** Writes a forged item of `kind` over the honest consumers' token-table item (forged-cache). */
  forgeCacheItem(kind: ForgeryKind): void;
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
    if (fault.fault === "forged-cache") {
      // A moment, not a window: nothing to switch off.
      const { kind } = fault;
      timers.push(setTimeout(() => targets.forgeCacheItem(kind), fault.startMs));
      continue;
    }
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
    case "hostile-consumer":
    case "forged-cache":
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
    // Back to the emulator's baseline (a drill under a profile keeps the measured behaviour).
    case "propagation-delay":
      knobs.propagationDelayMs = knobs.baseline().propagationDelayMs ?? 0;
      break;
    case "tokens-die-on-regeneration":
      knobs.tokensSurviveRegeneration = knobs.baseline().tokensSurviveRegeneration ?? true;
      break;
    case "crash-rotation":
    case "hostile-consumer":
    case "forged-cache":
      break;
  }
}

/** What the forged-cache fault did. */
export interface ForgedCacheStats {
  /** Forgeries planned (the moments that came during the drill). */
  planned: number;
  /** Written into the table. */
  written: number;
  /** Not written: DynamoDB did not take them (an outage) within the attempts. */
  failed: number;
}

/** Writes forged items into the token table: the forged-cache fault's target. */
export interface CacheForger {
  forge(kind: ForgeryKind): void;
  /** Waits for the writes in progress, then says what was done. */
  settle(): Promise<ForgedCacheStats>;
  /**
   * SHA-256 of every forged token, taken before its write was sent (a write whose answer was lost may
   * still have landed): what no consumer may ever be served.
   */
  readonly forgedTokenHashes: ReadonlySet<string>;
}

const FORGERY_ATTEMPTS = 10;
const FORGERY_RETRY_MS = 1000;
const FORGERY_CALL_TIMEOUT_MS = 2000;

/**
 * A forger writing over `credential`'s item in `tableName`: it reads the real item and puts a forged one
 * in its place with the same generation (so the vendor's conditional writes still apply) and the same
 * `lastRejectionMintAt` (the forgery is about tokens, not about resetting the rejection mint cap). Each
 * forgery is tried {@link FORGERY_ATTEMPTS} times, a second apart, so a DynamoDB outage delays it.
 */
export function tokenTableForger(options: {
  client: DynamoDBClient;
  tableName: string;
  credential: string;
  /** The credential's secret ARN, as the vendor is configured with it. */
  secretArn: string;
  /** The secret's Genesys environment. */
  environment: string;
}): CacheForger {
  const forgedTokenHashes = new Set<string>();
  const writes = new Set<Promise<void>>();
  const stats: ForgedCacheStats = { planned: 0, written: 0, failed: 0 };
  const otherEnvironment = GENESYS_ENVIRONMENTS.find((domain) => domain !== options.environment) ?? "";
  const key = { pk: { S: options.credential } };
  const call = () => ({ abortSignal: AbortSignal.timeout(FORGERY_CALL_TIMEOUT_MS) });

  const writeOnce = async (kind: ForgeryKind): Promise<void> => {
    const { Item: real } = await options.client.send(
      new GetItemCommand({ TableName: options.tableName, Key: key, ConsistentRead: true }),
      call(),
    );
    const forged = forgedTokenItem(kind, {
      secretArn: options.secretArn,
      environment: options.environment,
      otherEnvironment,
      generation: Number(real?.generation?.N ?? 0),
      now: Date.now(),
    });
    forgedTokenHashes.add(hashToken(forged.accessToken));
    const item: Record<string, AttributeValue> = { ...forged.item, ...key };
    if (real?.lastRejectionMintAt !== undefined) item.lastRejectionMintAt = real.lastRejectionMintAt;
    await options.client.send(new PutItemCommand({ TableName: options.tableName, Item: item }), call());
  };

  return {
    forgedTokenHashes,
    forge(kind) {
      stats.planned++;
      const write = (async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            await writeOnce(kind);
            stats.written++;
            return;
          } catch {
            if (attempt >= FORGERY_ATTEMPTS) {
              stats.failed++;
              return;
            }
            await sleep(FORGERY_RETRY_MS);
          }
        }
      })();
      writes.add(write);
      write.finally(() => writes.delete(write));
    },
    async settle() {
      await Promise.all([...writes]);
      return { ...stats };
    },
  };
}
