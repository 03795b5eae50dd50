/**
 * The Genesys emulator's Notification Service on the wire: the REST routes (channels, subscriptions) with
 * plain fetch, the channel WebSocket with a raw `ws` client, and the control hooks tests and the drill
 * use. Time is a ManualClock: heartbeats, socket_closing and expiry happen when the test moves it.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  checkEventSequence,
  type GenesysEmulator,
  startEventSequence,
} from "../../local/genesys-cloud/emulator.ts";
import { ADMIN, requestToken, startTestEmulator, TARGET } from "../genesys-emulator/support.ts";
import { api, SocketProbe, waitFor } from "./support.ts";

const CHANNELS = "/api/v2/notifications/channels";
const TOPIC = "v2.users.6b2f0000-0000-4000-8000-000000000001.presence";

async function tokenOf(emulator: GenesysEmulator, client: { id: string; secret: string }): Promise<string> {
  const response = await requestToken(emulator.url, client.id, client.secret);
  return ((await response.json()) as { access_token: string }).access_token;
}

describe("Genesys emulator: notification channels", () => {
  let emulator: Awaited<ReturnType<typeof startTestEmulator>>;
  let token: string;
  const probes: SocketProbe[] = [];

  before(async () => {
    emulator = await startTestEmulator();
    token = await tokenOf(emulator, TARGET);
  });
  // Tests move the clock by hours: every test starts with a token that is valid now.
  beforeEach(async () => {
    token = await tokenOf(emulator, TARGET);
  });
  after(async () => {
    for (const probe of probes) probe.close();
    await emulator?.stop();
  });

  async function newChannel(): Promise<{ id: string; connectUri: string; expires: string }> {
    const created = await api(emulator, token, "POST", CHANNELS);
    assert.equal(created.status, 200);
    return created.body as { id: string; connectUri: string; expires: string };
  }

  async function connect(connectUri: string): Promise<SocketProbe> {
    const probe = await SocketProbe.connect(connectUri);
    probes.push(probe);
    return probe;
  }

  it("POST /channels needs a bearer token and answers {id, connectUri, expires} (24 h, emulator clock)", async () => {
    const refused = await api(emulator, undefined, "POST", CHANNELS);
    assert.equal(refused.status, 401);
    assert.equal((refused.body as { code: string }).code, "authentication.required");
    assert.equal((await api(emulator, "not-a-token", "POST", CHANNELS)).status, 401);

    const channel = await newChannel();
    assert.deepEqual(Object.keys(channel).sort(), ["connectUri", "expires", "id"]);
    assert.match(channel.id, /^streaming-0-[a-z0-9]{26}$/);
    assert.equal(channel.connectUri, `${emulator.url.replace("http", "ws")}/channels/${channel.id}`);
    assert.equal(Date.parse(channel.expires), emulator.clock.now() + 24 * 3600 * 1000);
  });

  it("HEAD tells whether a channel exists (for its own client only); there is no GET of one channel", async () => {
    const channel = await newChannel();
    assert.equal((await api(emulator, token, "HEAD", `${CHANNELS}/${channel.id}`)).status, 200);
    assert.equal((await api(emulator, token, "HEAD", `${CHANNELS}/streaming-0-unknown`)).status, 404);
    const other = await tokenOf(emulator, ADMIN);
    assert.equal((await api(emulator, other, "HEAD", `${CHANNELS}/${channel.id}`)).status, 404);
    const get = await api(emulator, token, "GET", `${CHANNELS}/${channel.id}`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "HEAD");
  });

  it("GET /channels lists the token's channels; includechannels=oauthclient shows the client's others without ids", async () => {
    const mine = await newChannel();
    const other = await tokenOf(emulator, TARGET);
    const listed = (await api(emulator, token, "GET", CHANNELS)).body as { entities: { id?: string }[] };
    assert.ok(listed.entities.some((entity) => entity.id === mine.id));
    const fromOther = (await api(emulator, other, "GET", CHANNELS)).body as { entities: unknown[] };
    assert.equal(fromOther.entities.length, 0);
    const wide = (await api(emulator, other, "GET", `${CHANNELS}?includechannels=oauthclient`)).body as {
      entities: { id?: string; expires: string }[];
    };
    assert.ok(wide.entities.length >= 1);
    assert.ok(wide.entities.every((entity) => entity.id === undefined && typeof entity.expires === "string"));
  });

  it("subscriptions: PUT replaces, POST adds, GET lists, DELETE empties; bad bodies and >1000 topics are 400", async () => {
    const { id } = await newChannel();
    const path = `${CHANNELS}/${id}/subscriptions`;
    const put = await api(emulator, token, "PUT", path, [
      { id: "v2.users.a.presence" },
      { id: "v2.users.b.presence" },
    ]);
    assert.deepEqual(put, {
      ...put,
      status: 200,
      body: { entities: [{ id: "v2.users.a.presence" }, { id: "v2.users.b.presence" }] },
    });
    const post = await api(emulator, token, "POST", path, [{ id: "v2.users.c.presence" }]);
    assert.deepEqual(
      (post.body as { entities: { id: string }[] }).entities.map((e) => e.id),
      ["v2.users.a.presence", "v2.users.b.presence", "v2.users.c.presence"],
    );
    const replaced = await api(emulator, token, "PUT", path, [{ id: "v2.users.c.presence" }]);
    assert.deepEqual(replaced.body, { entities: [{ id: "v2.users.c.presence" }] });
    assert.deepEqual((await api(emulator, token, "GET", path)).body, {
      entities: [{ id: "v2.users.c.presence" }],
    });
    assert.equal((await api(emulator, token, "DELETE", path)).status, 204);
    assert.deepEqual((await api(emulator, token, "GET", path)).body, { entities: [] });

    assert.equal((await api(emulator, token, "PUT", path, { id: "v2.users.a.presence" })).status, 400);
    assert.equal((await api(emulator, token, "PUT", path, [{ topic: "x" }])).status, 400);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `v2.users.u${i}.presence` }));
    const refused = await api(emulator, token, "PUT", path, tooMany);
    assert.equal(refused.status, 400);
    assert.match((refused.body as { message: string }).message, /at most 1000 topics/);
    assert.equal(
      (await api(emulator, token, "PUT", `${CHANNELS}/streaming-0-gone/subscriptions`, [])).status,
      404,
    );
  });

  it("the WebSocket: events to subscribed channels, heartbeats by the clock, ping → pong", async () => {
    const channel = await newChannel();
    await api(emulator, token, "PUT", `${CHANNELS}/${channel.id}/subscriptions`, [{ id: TOPIC }]);
    const probe = await connect(channel.connectUri);

    const pushed = emulator.notifications.push(TOPIC.toUpperCase(), { presence: "Available" });
    assert.equal(pushed.delivered, 1);
    await waitFor("the event", () => probe.of(TOPIC.toUpperCase()).length === 1);
    assert.deepEqual(probe.of(TOPIC.toUpperCase())[0], {
      topicName: TOPIC.toUpperCase(),
      version: "2",
      eventBody: { presence: "Available" },
      metadata: { CorrelationId: pushed.correlationId },
    });
    assert.equal(emulator.notifications.push("v2.users.other.presence", {}).delivered, 0);

    emulator.clock.advance(30_000);
    await waitFor("a heartbeat", () => probe.of("channel.metadata", "WebSocket Heartbeat").length >= 1);
    assert.deepEqual(probe.of("channel.metadata", "WebSocket Heartbeat")[0], {
      topicName: "channel.metadata",
      eventBody: { message: "WebSocket Heartbeat" },
    });

    probe.socket.send(JSON.stringify({ message: "ping" }));
    await waitFor("the pong", () => probe.of("channel.metadata", "pong").length === 1);
  });

  it("one connection per channel: a second socket disconnects the first", async () => {
    const channel = await newChannel();
    const first = await connect(channel.connectUri);
    const second = await connect(channel.connectUri);
    await waitFor("the first socket's close", () => first.closed !== undefined);
    assert.equal(second.closed, undefined);
  });

  it("expiry: socket_closing, then after the lead the socket closes and the channel is gone", async () => {
    const channel = await newChannel();
    const probe = await connect(channel.connectUri);
    emulator.clock.advance(24 * 3600 * 1000 - 60_000);
    await waitFor("socket_closing", () => probe.of("v2.system.socket_closing").length === 1);
    const closing = probe.of("v2.system.socket_closing")[0] as { eventBody: Record<string, unknown> };
    assert.equal(closing.eventBody.channelId, channel.id);
    assert.equal(probe.closed, undefined, "closed only after the lead");
    emulator.clock.advance(60_000);
    await waitFor("the close", () => probe.closed !== undefined);
    assert.equal((probe.closed as SocketProbe["closed"])?.code, 1000);
    const fresh = await tokenOf(emulator, TARGET); // a day has passed: the test's token expired
    assert.equal((await api(emulator, fresh, "HEAD", `${CHANNELS}/${channel.id}`)).status, 404);
  });

  it("hooks: expireChannel now, closeConnections drops sockets without a close frame, silence", async () => {
    const a = await newChannel();
    const probeA = await connect(a.connectUri);
    assert.equal(emulator.notifications.expireChannel(a.id), 1);
    await waitFor("the expired socket's close", () => probeA.closed !== undefined);
    assert.equal(probeA.of("v2.system.socket_closing").length, 1);

    const b = await newChannel();
    await api(emulator, token, "PUT", `${CHANNELS}/${b.id}/subscriptions`, [{ id: TOPIC }]);
    const probeB = await connect(b.connectUri);
    emulator.notifications.silence(b.id);
    assert.equal(emulator.notifications.push(TOPIC, {}).delivered, 0, "a silenced socket gets nothing");
    probeB.socket.send(JSON.stringify({ message: "ping" }));
    emulator.notifications.silence(b.id, false);
    assert.equal(emulator.notifications.closeConnections({ channelId: b.id }), 1);
    await waitFor("the dropped socket's close", () => probeB.closed !== undefined);
    assert.equal((probeB.closed as SocketProbe["closed"])?.code, 1006, "no close frame");
    assert.equal(probeB.of("channel.metadata", "pong").length, 0);
    assert.equal(
      (await api(emulator, token, "HEAD", `${CHANNELS}/${b.id}`)).status,
      200,
      "the channel lives on",
    );
  });

  it("20 channels per client: the 21st replaces the least recently used, idle ones first", async () => {
    const own = () => emulator.notifications.channels().filter((channel) => channel.clientId === TARGET.id);
    for (const channel of own()) emulator.notifications.expireChannel(channel.id);
    await waitFor("old channels gone", () => own().length === 0);
    const first = await newChannel();
    const connected = await connect(first.connectUri);
    const created = [first];
    for (let i = 0; i < 19; i++) created.push(await newChannel());
    assert.equal(own().length, 20);
    const twentyFirst = await newChannel();
    const ids = own().map((channel) => channel.id);
    assert.equal(ids.length, 20);
    assert.ok(ids.includes(first.id), "the connected channel stays although it is the oldest");
    assert.ok(!ids.includes(created[1]!.id), "the oldest idle channel was replaced");
    assert.ok(ids.includes(twentyFirst.id));
    connected.close();
  });

  it("an unknown channel's WebSocket is refused with 404", async () => {
    await assert.rejects(
      SocketProbe.connect(`${emulator.url.replace("http", "ws")}/channels/streaming-0-nope`),
      /404/,
    );
  });

  it("the event sequence: numbered pushes at a rate, and the check of what a consumer received", async () => {
    const channel = await newChannel();
    await api(emulator, token, "PUT", `${CHANNELS}/${channel.id}/subscriptions`, [{ id: TOPIC }]);
    const probe = await connect(channel.connectUri);
    const sequence = startEventSequence(emulator.notifications, emulator.clock, {
      topic: TOPIC,
      intervalMs: 10,
      count: 5,
    });
    for (let i = 0; i < 5; i++) {
      await waitFor(`push ${i + 1}`, () => sequence.pushed.length === i + 1);
      emulator.clock.advance(10);
    }
    const pushed = await sequence.done;
    assert.deepEqual(
      pushed.map((event) => event.sequence),
      [1, 2, 3, 4, 5],
    );
    await waitFor("five events", () => probe.of(TOPIC).length === 5);
    const received = probe.of(TOPIC).map((m) => (m.eventBody as { sequence: number }).sequence);
    assert.equal(checkEventSequence(pushed, received).exactlyOnce, true);

    const lossy = checkEventSequence(
      pushed,
      [1, 2, 2, 5, 9],
      [{ from: pushed[2]!.pushedAt, to: pushed[2]!.pushedAt }],
    );
    assert.deepEqual(
      {
        missing: lossy.missing,
        duplicates: lossy.duplicates,
        unexpected: lossy.unexpected,
        unreported: lossy.unreported,
      },
      { missing: [3, 4], duplicates: [2], unexpected: [9], unreported: [4] },
    );
  });
});
