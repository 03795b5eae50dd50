/**
 * The drill's fault catalogue and its seeded schedule. Planning is pure (no I/O, no clock): the same
 * seed, options and rotation times give the same schedule, so a drill that failed can be re-run with
 * `--seed N` and see the faults at the same moments. Applying the schedule to the running stack lives
 * in fault-injector.ts.
 */
import { seededRandom } from "../../lambda/shared/clock.ts";
import { FORGERY_KINDS, type ForgeryKind } from "../shared/forged-token-items.ts";

/** Every fault the drill can inject, in the order `--help` lists them. */
export const FAULT_NAMES = [
  "token-rate-limit",
  "api-429",
  "genesys-5xx",
  "propagation-delay",
  "dynamodb-outage",
  "crash-rotation",
  "tokens-die-on-regeneration",
  "hostile-consumer",
  "forged-cache",
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** The rotation steps the crash fault may hit: each calls the Genesys admin API, so it can be caught mid-flight. */
export const CRASHABLE_STEPS = ["createSecret", "setSecret", "testSecret"] as const;
export type CrashableStep = (typeof CRASHABLE_STEPS)[number];

/** What a fault does and what it is allowed to cost. */
export interface FaultDescription {
  /** One line for `--help` and the summary. */
  summary: string;
  /**
   * Whether this fault may make a whole rotation fail (every Secrets Manager attempt) without that being a
   * bug. Such a failure must still be safe: AWSCURRENT unchanged and still accepted by Genesys.
   */
  mayFailRotation: boolean;
  /** Why (for docs/drill.md and the summary). */
  rationale: string;
}

/**
 * The catalogue. A rotation may legitimately fail only when Genesys itself refuses service (throttling or
 * 5xx) for longer than Secrets Manager's retry budget: failing, with AWSCURRENT intact, is then the
 * correct outcome and the next scheduled rotation converges. The other faults are things the rotator is
 * designed to absorb, so a failed rotation under them is a bug.
 */
export const FAULTS: Readonly<Record<FaultName, FaultDescription>> = {
  "token-rate-limit": {
    summary:
      "Genesys throttles the token endpoint (400 invalid_request 'rate limit exceeded', Retry-After 1)",
    mayFailRotation: true,
    rationale:
      "createSecret and testSecret must mint tokens; a throttle outlasting every attempt leaves AWSPENDING unverified, so the rotation must fail rather than promote it",
  },
  "api-429": {
    summary: "Genesys answers 429 + Retry-After to every Nth Platform API request",
    mayFailRotation: true,
    rationale:
      "secret regeneration is not idempotent and is never retried blindly; a step may fail on a 429, and a rotation whose attempts all meet one fails safely",
  },
  "genesys-5xx": {
    summary: "Genesys answers a share of requests (login and API) with 500/502/503/504",
    mayFailRotation: true,
    rationale:
      "an outage of Genesys longer than the retry budget cannot be rotated through; it must fail safely",
  },
  "propagation-delay": {
    summary: "a regenerated secret is rejected (invalid_client) for a few seconds",
    mayFailRotation: false,
    rationale:
      "testSecret polls with backoff up to PROPAGATION_TIMEOUT_SECONDS, far above the injected delay",
  },
  "dynamodb-outage": {
    summary: "the token table refuses connections (or hangs) for a few seconds",
    mayFailRotation: false,
    rationale:
      "rotation does not use the table; the vendor degrades to its in-memory cache and direct minting",
  },
  "crash-rotation": {
    summary: "the rotation function's container is killed in the middle of a step, once per rotation",
    mayFailRotation: false,
    rationale: "every step is idempotent; Secrets Manager retries the rotation and it must converge",
  },
  "tokens-die-on-regeneration": {
    summary: "tokens issued before a client's secret regeneration get 401 from then on",
    mayFailRotation: false,
    rationale:
      "alternating regenerates the idle client; consumers report a 401 through the vendor's rejectedToken path and replay it (at most twice)",
  },
  "hostile-consumer": {
    summary:
      "an extra consumer reports valid tokens as rejected, tens per second, and asks for what its alias does not grant",
    mayFailRotation: false,
    rationale:
      "rotation does not depend on vending; the vendor checks a reported token with Genesys before minting and caps the mints reports cause",
  },
  "forged-cache": {
    summary: "forged items of every kind are written into the token table at planned moments",
    mayFailRotation: false,
    rationale:
      "rotation does not use the table; the vendor vets every item it reads back and treats a forged one as absent",
  },
};

/** Faults that stay on from the first call until the drill ends (also when rotations run past --duration). */
export const DRILL_WIDE_FAULTS: ReadonlySet<FaultName> = new Set([
  "propagation-delay",
  "tokens-die-on-regeneration",
  "hostile-consumer",
]);

/** Parameters of one scheduled fault. Times are milliseconds since the drill's traffic started. */
export type ScheduledFault =
  | { fault: "token-rate-limit"; startMs: number; endMs: number; retryAfterSeconds: number }
  | { fault: "api-429"; startMs: number; endMs: number; everyNth: number; retryAfterSeconds: number }
  | {
      fault: "genesys-5xx";
      startMs: number;
      endMs: number;
      probability: number;
      status: 500 | 502 | 503 | 504;
    }
  | { fault: "dynamodb-outage"; startMs: number; endMs: number; mode: "refuse" | "hang" }
  | { fault: "propagation-delay"; startMs: number; endMs: number; delayMs: number }
  | { fault: "tokens-die-on-regeneration"; startMs: number; endMs: number }
  | {
      fault: "hostile-consumer";
      startMs: number;
      endMs: number;
      /** False reports (`rejectedToken` = the valid token it holds) per second. */
      reportsPerSecond: number;
      /** Requests its alias does not grant (another credential, unqualified, a warm payload) per second. */
      ungrantedPerSecond: number;
    }
  | {
      fault: "forged-cache";
      /** The moment the item is written (a one-off: `endMs` = `startMs`). */
      startMs: number;
      endMs: number;
      kind: ForgeryKind;
    }
  | {
      fault: "crash-rotation";
      startMs: number;
      endMs: number;
      /** 0-based index of the rotation whose first attempt is crashed. */
      rotation: number;
      step: CrashableStep;
      /** How long after the step's invocation began the container is killed. */
      afterMs: number;
    };

/** Inputs of {@link planFaults}. */
export interface FaultPlanRequest {
  faults: readonly FaultName[];
  seed: number;
  /** Length of the traffic phase. */
  durationMs: number;
  /** Planned start of each rotation, ms since traffic started. */
  rotationStartsMs: readonly number[];
}

/** Window lengths per windowed fault: short enough for Secrets Manager's retries to outlast them. */
const WINDOW_LENGTH_MS: Readonly<
  Record<"token-rate-limit" | "api-429" | "genesys-5xx" | "dynamodb-outage", [number, number]>
> = {
  "token-rate-limit": [1500, 3000],
  "api-429": [2000, 4000],
  "genesys-5xx": [1500, 3000],
  "dynamodb-outage": [2000, 5000],
};
/** A window opens this much before to this much after a rotation's planned start, so it overlaps the steps. */
const WINDOW_LEAD_MS: [number, number] = [-1500, 500];

/**
 * Plans every fault of a drill. Windowed faults get one window around each planned rotation plus one
 * at a random moment (so the vendor also meets the fault while refreshing, not only while rotating);
 * drill-wide faults span the whole drill; crash-rotation picks a step and a moment per rotation.
 * Deterministic for a given request.
 */
export function planFaults(request: FaultPlanRequest): ScheduledFault[] {
  const plan: ScheduledFault[] = [];
  const { durationMs } = request;
  // One independent stream per fault, so adding a fault to the set does not move the others' windows.
  for (const fault of FAULT_NAMES) {
    if (!request.faults.includes(fault)) continue;
    const random = seededRandom(request.seed * 31 + FAULT_NAMES.indexOf(fault) + 1);
    const between = (low: number, high: number) => low + (high - low) * random();
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    switch (fault) {
      case "propagation-delay":
        plan.push({ fault, startMs: 0, endMs: durationMs, delayMs: Math.round(between(1500, 4000)) });
        break;
      case "tokens-die-on-regeneration":
        plan.push({ fault, startMs: 0, endMs: durationMs });
        break;
      case "hostile-consumer":
        plan.push({
          fault,
          startMs: 0,
          endMs: durationMs,
          reportsPerSecond: Math.round(between(10, 30)),
          ungrantedPerSecond: 2,
        });
        break;
      case "forged-cache":
        // Every kind once, at a random moment; the first and last 5% are left out so that the vendor
        // has a real item to forge over and reads the forgery back while traffic still flows.
        for (const kind of FORGERY_KINDS) {
          const startMs = Math.round(between(0.05, 0.95) * durationMs);
          plan.push({ fault, startMs, endMs: startMs, kind });
        }
        break;
      case "crash-rotation":
        request.rotationStartsMs.forEach((startMs, rotation) => {
          plan.push({
            fault,
            startMs,
            endMs: startMs,
            rotation,
            step: pick(CRASHABLE_STEPS),
            afterMs: Math.round(between(20, 150)),
          });
        });
        break;
      default: {
        const anchors = [...request.rotationStartsMs, between(0.1, 0.9) * durationMs];
        for (const anchor of anchors) {
          const [shortest, longest] = WINDOW_LENGTH_MS[fault];
          const startMs = clamp(Math.round(anchor + between(...WINDOW_LEAD_MS)), 0, durationMs);
          const endMs = clamp(Math.round(startMs + between(shortest, longest)), startMs, durationMs);
          if (endMs <= startMs) continue;
          if (fault === "token-rate-limit") plan.push({ fault, startMs, endMs, retryAfterSeconds: 1 });
          else if (fault === "api-429") {
            plan.push({ fault, startMs, endMs, everyNth: Math.round(between(5, 15)), retryAfterSeconds: 1 });
          } else if (fault === "genesys-5xx") {
            plan.push({
              fault,
              startMs,
              endMs,
              probability: Math.round(between(0.05, 0.2) * 100) / 100,
              status: pick([500, 502, 503, 504] as const),
            });
          } else plan.push({ fault, startMs, endMs, mode: pick(["refuse", "hang"] as const) });
        }
      }
    }
  }
  return plan.sort((a, b) => a.startMs - b.startMs || a.fault.localeCompare(b.fault));
}

/**
 * Timed and drill-wide faults of `plan` active at some moment of [startMs, endMs] (crashes are per
 * rotation, not timed; a forgery is a moment, active when it falls inside the span).
 */
export function faultsDuring(plan: readonly ScheduledFault[], startMs: number, endMs: number): FaultName[] {
  const active = plan.filter((f) => {
    if (DRILL_WIDE_FAULTS.has(f.fault)) return true;
    if (f.fault === "crash-rotation") return false;
    return f.startMs <= endMs && f.endMs >= startMs;
  });
  return [...new Set(active.map((f) => f.fault))];
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
