/**
 * Numbered events through the emulator's Notification Service, and the check that none was lost: what a
 * test (or a drill mode with a notifications consumer) needs to prove a channel switchover loses nothing.
 *
 * The pusher sends `{sequence: n}` (n = 1, 2, …) on one topic at a steady rate of emulator-clock time and
 * records when each number was pushed and how many sockets it reached; `checkEventSequence` compares what
 * a consumer received with that record.
 */
import { type Clock, sleepUnlessAborted } from "../../lambda/shared/clock.ts";
import type { NotificationHub } from "./notifications.ts";

/** Options of {@link startEventSequence}. */
export interface EventSequenceOptions {
  /** Topic the events are pushed on, e.g. `v2.users.<id>.presence`. */
  topic: string;
  /** Emulator-clock time between two events. @default 10 */
  intervalMs?: number;
  /** Stop after this many events. @default unbounded (until `stop()`) */
  count?: number;
}

/** One pushed number. */
export interface PushedEvent {
  sequence: number;
  /** Epoch ms, emulator clock. */
  pushedAt: number;
  /** Sockets it reached (0: no connected channel was subscribed at that moment). */
  delivered: number;
}

/** A running pusher. */
export interface EventSequence {
  /** What was pushed so far, in order. */
  readonly pushed: readonly PushedEvent[];
  /** Resolves with the full record once the pusher stopped (after `stop()` or `count` events). */
  readonly done: Promise<readonly PushedEvent[]>;
  /** Stops after the event being pushed; resolves with the full record. */
  stop(): Promise<readonly PushedEvent[]>;
}

/** The body of each event: `eventBody.sequence` is the number. */
export interface SequenceEventBody {
  sequence: number;
}

/** Starts pushing numbered events on `options.topic` through `hub`, paced by `clock`. */
export function startEventSequence(
  hub: NotificationHub,
  clock: Clock,
  options: EventSequenceOptions,
): EventSequence {
  const intervalMs = options.intervalMs ?? 10;
  const pushed: PushedEvent[] = [];
  const stopping = new AbortController();
  const done = (async () => {
    for (let sequence = 1; options.count === undefined || sequence <= options.count; sequence++) {
      if (stopping.signal.aborted) break;
      const { delivered } = hub.push(options.topic, { sequence } satisfies SequenceEventBody);
      pushed.push({ sequence, pushedAt: clock.now(), delivered });
      if (!(await sleepUnlessAborted(clock, intervalMs, stopping.signal))) break;
    }
    return pushed;
  })();
  return {
    pushed,
    done,
    stop() {
      stopping.abort();
      return done;
    },
  };
}

/** The sequence number of an event a consumer received, if it is one of the pusher's. */
export function sequenceOf(event: { topicName?: unknown; eventBody?: unknown }): number | undefined {
  const sequence = (event.eventBody as { sequence?: unknown } | null | undefined)?.sequence;
  return typeof sequence === "number" && Number.isInteger(sequence) && sequence > 0 ? sequence : undefined;
}

/** A stretch of time in which the consumer reported possible loss (epoch ms, same clock as the pusher). */
export interface ReportedGap {
  from: number;
  to: number;
}

/** What {@link checkEventSequence} found. */
export interface EventSequenceCheck {
  pushed: number;
  /** Distinct numbers received. */
  received: number;
  /** Pushed, never received. */
  missing: number[];
  /** Received more than once. */
  duplicates: number[];
  /** Received but never pushed. */
  unexpected: number[];
  /** Missing numbers pushed outside every reported gap: losses the consumer did not report. */
  unreported: number[];
  /** True when every number arrived exactly once. */
  exactlyOnce: boolean;
}

/**
 * Compares what a consumer received (sequence numbers, in arrival order) with what was pushed. A missing
 * number is "reported" when it was pushed inside one of `gaps` (from ≤ pushedAt ≤ to).
 */
export function checkEventSequence(
  pushed: readonly PushedEvent[],
  received: Iterable<number>,
  gaps: readonly ReportedGap[] = [],
): EventSequenceCheck {
  const counts = new Map<number, number>();
  for (const sequence of received) counts.set(sequence, (counts.get(sequence) ?? 0) + 1);
  const pushedNumbers = new Set(pushed.map((event) => event.sequence));
  const missingEvents = pushed.filter((event) => !counts.has(event.sequence));
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([sequence]) => sequence);
  const unexpected = [...counts.keys()].filter((sequence) => !pushedNumbers.has(sequence));
  const unreported = missingEvents
    .filter((event) => !gaps.some((gap) => gap.from <= event.pushedAt && event.pushedAt <= gap.to))
    .map((event) => event.sequence);
  return {
    pushed: pushed.length,
    received: counts.size,
    missing: missingEvents.map((event) => event.sequence),
    duplicates,
    unexpected,
    unreported,
    exactlyOnce: missingEvents.length === 0 && duplicates.length === 0 && unexpected.length === 0,
  };
}
