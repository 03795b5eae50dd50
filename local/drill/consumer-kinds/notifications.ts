/**
 * The drill's consumer kind `notifications` (`--consumer-kind notifications`): a long-running listener on
 * the Notification Service through the consumer library's helper (`openNotifications`), subscribed to the
 * topic the drill's pusher numbers its events on. The drill makes channels short-lived, so the listener
 * switches channels several times while rotations run; afterwards every number pushed is checked
 * against what the listener received (local/genesys-cloud/event-sequence.ts).
 */
import { type NotificationGap, openNotifications } from "../../../lambda/client/notifications.ts";
import type { TokenSource } from "../../../lambda/client/token-provider.ts";
import { describeError } from "../../../lambda/shared/errors.ts";
import { type ReportedGap, sequenceOf } from "../../genesys-cloud/event-sequence.ts";

/**
 * The listener's timing, scaled to the drill's short channels: it moves to a new channel 3 s before one
 * expires, pings every 2 s and treats 4 s of silence as a dead socket.
 */
export const DRILL_LISTENER_TIMING = {
  renewBeforeExpiryMs: 3_000,
  pingIntervalMs: 2_000,
  pongTimeoutMs: 4_000,
} as const;

/** A running listener and what it saw. */
export interface NotificationListener {
  /** Sequence numbers received, in arrival order. */
  readonly received: number[];
  /** Gaps the helper reported. */
  readonly gaps: ReportedGap[];
  /** Channel switchovers (renewals and reconnects) the helper made. */
  readonly switchovers: number;
  /** Set when the helper gave up (it could not open a channel within its attempts). */
  readonly failure: string | undefined;
  close(): Promise<void>;
}

/** Opens a listener for `topic` with `provider`'s tokens; resolves once its first channel is subscribed. */
export async function startNotificationListener(
  provider: TokenSource,
  topic: string,
): Promise<NotificationListener> {
  const received: number[] = [];
  const gaps: ReportedGap[] = [];
  let switchovers = 0;
  let failure: string | undefined;
  const handle = await openNotifications({
    provider,
    topics: [topic],
    ...DRILL_LISTENER_TIMING,
    onEvent(event) {
      const sequence = sequenceOf(event);
      if (sequence !== undefined) received.push(sequence);
    },
    onGap(gap: NotificationGap) {
      gaps.push({ from: gap.from, to: gap.to });
    },
    onStateChange(change) {
      if (change.state === "renewing" || change.state === "reconnecting") switchovers++;
      if (change.state === "failed") failure = describeError(change.error).errorName;
    },
  });
  return {
    received,
    gaps,
    get switchovers() {
      return switchovers;
    },
    get failure() {
      return failure;
    },
    close: () => handle.close(),
  };
}

/** The topic the drill's pusher numbers its events on (the application client's presence, as a stand-in). */
export const DRILL_NOTIFICATION_TOPIC = "v2.users.d7111000-0000-4000-8000-0000000a990a.presence";

/**
 * The emulator's Notification Service during a drill with listeners: channels live 10 s (Genesys: 24 h) and
 * announce their end 2 s ahead, heartbeats every 2 s, so every listener switches channels several times
 * while rotations run.
 */
export const DRILL_CHANNEL_KNOBS = {
  channelLifetimeMs: 10_000,
  socketClosingLeadMs: 2_000,
  heartbeatIntervalMs: 2_000,
} as const;

/** Emulator time between two numbered events. */
export const DRILL_EVENT_INTERVAL_MS = 50;
