/**
 * `openNotifications` against the Genesys emulator, with tokens minted straight from it (the vendor's
 * part is covered by end-to-end.test.ts). One JumpingClock drives both sides: a channel's day passes in a
 * jump while real sockets keep flowing. Assertions hold under any scheduling: a test waits for a state
 * (never for a duration) and checks the numbered events the emulator pushed, each exactly once, or lost
 * only inside a gap the helper reported.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { WebSocket as UndiciWebSocket } from "undici";
import WebSocket from "ws";
import { NotificationChannelError, ValidationError } from "../../lambda/client/index.ts";
import {
  type NotificationEvent,
  type NotificationGap,
  type NotificationsHandle,
  type NotificationsOptions,
  type NotificationsStateChange,
  openNotifications,
} from "../../lambda/client/notifications.ts";
import {
  checkEventSequence,
  type EventSequence,
  type GenesysEmulator,
  sequenceOf,
  startEventSequence,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";
import { TARGET, testState } from "../genesys-emulator/support.ts";
import { JumpingClock } from "../support/jumping-clock.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { RecordingLog } from "../support/rotation-stack.ts";
import { EmulatorTokenSource, waitFor } from "./support.ts";

const TOPIC = "v2.users.6b2f0000-0000-4000-8000-000000000001.presence";
const OTHER_TOPIC = "v2.users.6b2f0000-0000-4000-8000-000000000002.presence";
const DAY_MS = 24 * 3600 * 1000;

/** A helper under test with everything it reported. */
interface Opened {
  handle: NotificationsHandle;
  events: NotificationEvent[];
  gaps: NotificationGap[];
  states: NotificationsStateChange[];
  log: RecordingLog;
  /** Sequence numbers received, in order. */
  numbers(): number[];
  /** How many times the helper reached `open` again after a switchover. */
  reopened(): number;
}

describe("openNotifications against the Genesys emulator", () => {
  let clock: JumpingClock;
  let genesys: GenesysEmulator;
  let tokens: EmulatorTokenSource;
  const opened: Opened[] = [];
  const sequences: EventSequence[] = [];

  before(async () => {
    clock = new JumpingClock();
    // Tokens live for two days: the jumps below move through channel lifetimes, not token lifetimes.
    genesys = await startGenesysEmulator({ state: testState(), clock, tokenLifetimeSeconds: 2 * 86_400 });
  });
  afterEach(async () => {
    for (const sequence of sequences.splice(0)) await sequence.stop();
    for (const { handle } of opened.splice(0)) await handle.close();
    genesys.faults.reset();
    genesys.notifications.knobs.heartbeatsPaused = false;
  });
  after(async () => {
    await genesys?.stop();
  });

  async function open(options: Partial<NotificationsOptions> = {}): Promise<Opened> {
    tokens = new EmulatorTokenSource(genesys, TARGET);
    const events: NotificationEvent[] = [];
    const gaps: NotificationGap[] = [];
    const states: NotificationsStateChange[] = [];
    const log = new RecordingLog();
    const handle = await openNotifications({
      topics: [TOPIC],
      onEvent: (event) => events.push(event),
      onGap: (gap) => gaps.push(gap),
      onStateChange: (change) => states.push(change),
      provider: tokens,
      webSocket: WebSocket,
      clock,
      log,
      ...options,
    });
    const result: Opened = {
      handle,
      events,
      gaps,
      states,
      log,
      numbers: () => events.map((event) => sequenceOf(event)).filter((n) => n !== undefined),
      reopened: () =>
        states.filter((change) => change.state === "open" && change.reason !== undefined).length,
    };
    opened.push(result);
    return result;
  }

  function pushSequence(): EventSequence {
    const sequence = startEventSequence(genesys.notifications, clock, { topic: TOPIC, intervalMs: 5 });
    sequences.push(sequence);
    return sequence;
  }

  /** Stops the pusher and waits until the helper received the last number (or a gap could explain it). */
  async function finish(
    sequence: EventSequence,
    helper: Opened,
  ): Promise<ReturnType<typeof checkEventSequence>> {
    // One more number after the switchover proves the new channel delivers.
    const atStop = sequence.pushed.length;
    await waitFor("an event after the switchover", () => helper.numbers().some((n) => n > atStop));
    const pushed = await sequence.stop();
    const last = pushed.at(-1)!.sequence;
    await waitFor("the last event", () => helper.numbers().includes(last));
    return checkEventSequence(pushed, helper.numbers(), helper.gaps);
  }

  it("refuses bad options before sending anything", async () => {
    const before = genesys.counters.requests("POST /api/v2/notifications/channels");
    const base = { topics: [TOPIC], onEvent() {}, provider: new EmulatorTokenSource(genesys, TARGET), clock };
    const ws = WebSocket;
    await assert.rejects(
      openNotifications({ ...base, topics: "v2.x" as never, webSocket: ws }),
      ValidationError,
    );
    await assert.rejects(openNotifications({ ...base, topics: [""], webSocket: ws }), ValidationError);
    const tooMany = Array.from({ length: 1001 }, (_, i) => `v2.users.u${i}.presence`);
    await assert.rejects(openNotifications({ ...base, topics: tooMany, webSocket: ws }), /at most 1000/);
    await assert.rejects(openNotifications({ ...base, webSocket: ws, pingIntervalMs: 0 }), ValidationError);
    if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== "function") {
      await assert.rejects(openNotifications(base), { name: "ConfigurationError", message: /WebSocket/ });
    }
    assert.equal(genesys.counters.requests("POST /api/v2/notifications/channels"), before);
  });

  it("delivers events of the subscribed topics; subscribe/unsubscribe at run time; close drops the subscriptions", async () => {
    const helper = await open();
    assert.equal(helper.handle.state, "open");
    const channelId = helper.handle.channelId!;
    genesys.notifications.push(TOPIC, { presence: "Available" });
    await waitFor("the event", () => helper.events.length === 1);
    assert.deepEqual(helper.events[0]!.eventBody, { presence: "Available" });

    await helper.handle.subscribe([OTHER_TOPIC]);
    assert.deepEqual(helper.handle.topics, [TOPIC, OTHER_TOPIC]);
    genesys.notifications.push(OTHER_TOPIC, { presence: "Away" });
    await waitFor("the other topic's event", () => helper.events.length === 2);
    await helper.handle.unsubscribe([TOPIC]);
    assert.equal(genesys.notifications.push(TOPIC, {}).delivered, 0);
    assert.deepEqual(genesys.notifications.channels().find((c) => c.id === channelId)?.topics, [OTHER_TOPIC]);

    await helper.handle.close();
    assert.equal(helper.handle.state, "closed");
    assert.deepEqual(await helper.handle.closed, {});
    assert.deepEqual(genesys.notifications.channels().find((c) => c.id === channelId)?.topics, []);
  });

  it("works with undici's WebSocket too (what Node 22+ has as globalThis.WebSocket)", async () => {
    const helper = await open({ webSocket: UndiciWebSocket });
    genesys.notifications.push(TOPIC, { presence: "Busy" });
    await waitFor("the event", () => helper.events.length === 1);
  });

  it("before the channel's expiry: a new channel, a fresh token call, the same topics, no event lost or repeated", async () => {
    const helper = await open();
    const firstChannel = helper.handle.channelId;
    const calls = tokens.issued.length;
    const sequence = pushSequence();
    await waitFor("events on the first channel", () => helper.numbers().length > 20);
    clock.jump(DAY_MS - 10 * 60_000 + 1000); // past expires − renewBeforeExpiryMs (10 min)
    await waitFor("the switchover", () => helper.reopened() >= 1);
    const check = await finish(sequence, helper);
    assert.equal(check.exactlyOnce, true, JSON.stringify({ ...check, missing: check.missing.slice(0, 10) }));
    assert.notEqual(helper.handle.channelId, firstChannel);
    assert.deepEqual(helper.gaps, []);
    assert.ok(tokens.issued.length >= calls, "the token source was asked again");
    assert.deepEqual(
      helper.states.map((s) => [s.state, s.reason]),
      [
        ["open", undefined],
        ["renewing", "expiring"],
        ["open", "expiring"],
      ],
    );
    // The old channel's subscriptions are dropped; it expires on its own.
    await waitFor("the old channel unsubscribed", () =>
      genesys.notifications.channels().every((c) => c.id !== firstChannel || c.topics.length === 0),
    );
    clock.jump(10 * 60_000);
  });

  it("socket_closing (Genesys ends the channel early): switchover at once, exactly once", async () => {
    const helper = await open();
    const sequence = pushSequence();
    await waitFor("events", () => helper.numbers().length > 20);
    genesys.notifications.expireChannel(helper.handle.channelId, { leadMs: 60_000 });
    await waitFor("the switchover", () => helper.reopened() >= 1);
    const check = await finish(sequence, helper);
    assert.equal(check.exactlyOnce, true, JSON.stringify({ ...check, missing: check.missing.slice(0, 10) }));
    assert.deepEqual(helper.states[1], { state: "renewing", reason: "socket-closing" });
    clock.jump(60_000);
  });

  it("an abrupt close: a new channel at once; any loss lies inside the reported gap, nothing twice", async () => {
    const helper = await open();
    const sequence = pushSequence();
    await waitFor("events", () => helper.numbers().length > 20);
    genesys.notifications.closeConnections({ channelId: helper.handle.channelId });
    await waitFor("the reconnection", () => helper.reopened() >= 1);
    const check = await finish(sequence, helper);
    assert.deepEqual([check.duplicates, check.unexpected, check.unreported], [[], [], []]);
    assert.equal(helper.gaps.length, 1, "the dead socket's stretch is reported");
    assert.equal(helper.gaps[0]!.reason, "connection-lost");
    assert.ok(helper.gaps[0]!.from <= helper.gaps[0]!.to);
    assert.deepEqual(helper.states[1], { state: "reconnecting", reason: "connection-lost" });
  });

  it("heartbeats: the helper pings; a silent socket is replaced and its gap reported from the last answered ping", async () => {
    // The helper's pings, seen on the way out (a ws WebSocket that records what is sent).
    const pings: number[] = [];
    let pongsReceived = 0;
    class RecordingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        // Registered before the helper's own listener: when this runs, the helper sees the pong next.
        this.addEventListener("message", (event) => {
          if (String(event.data).includes('"pong"')) pongsReceived++;
        });
      }
      override send(data: string): void {
        if (data.includes('"ping"')) pings.push(clock.now());
        super.send(data);
      }
    }
    const helper = await open({
      webSocket: RecordingWebSocket,
      pingIntervalMs: 30_000,
      pongTimeoutMs: 15_000,
    });
    clock.jump(30_000);
    await waitFor("the emulator's heartbeat", () => genesys.notifications.counters().heartbeats > 0);
    // Once the pong is in, the helper's watchdog sleeps towards its next ping: a jump now reaches it.
    await waitFor("the helper's first ping answered", () => pongsReceived > 0);
    const sequence = pushSequence();
    await waitFor("events", () => helper.numbers().length > 10);
    const pongs = genesys.notifications.counters().pongs;
    genesys.notifications.silence(helper.handle.channelId);
    // Time passes until the helper gives the socket up: a ping, then pongTimeoutMs of silence (events
    // already in flight may still answer a first ping). Jumps stop as soon as it reconnects, so the new
    // channel's own timeouts run on real time.
    const silenced = helper.handle.channelId;
    await waitFor("the reconnection after the silence", () => {
      if (helper.handle.state === "open" && helper.handle.channelId === silenced) clock.jump(5_000);
      return helper.reopened() >= 1;
    });
    const check = await finish(sequence, helper);
    assert.deepEqual(
      [check.duplicates, check.unreported],
      [[], []],
      JSON.stringify({
        lost: sequence.pushed.filter((e) => check.missing.includes(e.sequence)).slice(0, 5),
        gaps: helper.gaps,
      }),
    );
    assert.equal(helper.gaps.length, 1);
    assert.equal(helper.gaps[0]!.reason, "heartbeat-timeout");
    assert.ok(pings.length >= 2, "the helper pinged on its own");
    assert.equal(genesys.notifications.counters().pongs, pongs, "the silenced socket answered no ping");

    // A live socket answers the ping: silence of events alone is no reason to switch.
    const switched = helper.reopened();
    clock.jump(30_000);
    await waitFor("a pong", () => genesys.notifications.counters().pongs > pongs);
    assert.equal(helper.reopened(), switched);
  });

  it("a revoked token: the channel create gets 401, the token is reported, the create replayed", async () => {
    const helper = await open();
    const revoked = tokens.issued.at(-1)!;
    await fetch(`${genesys.url}/api/v2/tokens/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${revoked}` },
    });
    await helper.handle.renew();
    assert.equal(helper.handle.state, "open");
    assert.deepEqual(tokens.rejected, [revoked]);
    genesys.notifications.push(TOPIC, { presence: "Meal" });
    await waitFor("an event on the new channel", () => helper.events.length === 1);
  });

  it("channel creation failing: retried with backoff; after maxAttempts a NotificationChannelError, no token in it or the log", async () => {
    genesys.faults.serverErrors.nextN = 2;
    genesys.faults.serverErrors.target = { pathPrefix: "/api/v2/notifications/channels", method: "POST" };
    const helper = await open();
    assert.equal(helper.handle.state, "open");

    genesys.faults.serverErrors.nextN = 10;
    const log = new RecordingLog();
    const error = await openNotifications({
      topics: [TOPIC],
      onEvent() {},
      provider: tokens,
      webSocket: WebSocket,
      clock,
      log,
      maxAttempts: 2,
    }).then(
      () => assert.fail("opened despite the failures"),
      (e: unknown) => e,
    );
    if (!(error instanceof NotificationChannelError)) throw error;
    assert.deepEqual([error.operation, error.status, error.retryable], ["createChannel", 503, false]);
    assertNoSecrets(`${error.message}\n${helper.log.lines.join("\n")}\n${log.lines.join("\n")}`, {
      "access token": tokens.issued,
    });
  });
});
