/**
 * The emulator's Notification Service: channels (`POST /api/v2/notifications/channels`), their topic
 * subscriptions, and the WebSocket each channel's `connectUri` points at (`ws://127.0.0.1:<port>/channels/<id>`).
 * The REST handlers live in routes.ts and call this hub; emulator.ts hands it the HTTP server's upgrade
 * requests. What is confirmed about the real service and what is assumed: docs/genesys-facts.md,
 * "Notification Service".
 *
 * Time (heartbeats, channel expiry, the socket_closing lead) runs on the emulator's clock, so a test that
 * moves the clock moves the channels' lives with it. Control hooks (push an event, drop connections,
 * expire a channel now, silence a socket) are for tests and the drill.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { type Clock, sleepUnlessAborted } from "../../lambda/shared/clock.ts";
import type { EmulatorState } from "./state.ts";

/** Runtime-mutable knobs of the Notification Service (`emulator.notifications.knobs`). */
export interface NotificationKnobs {
  /** Emulator-clock time between two `WebSocket Heartbeat` messages on every connected socket. @default 30000 */
  heartbeatIntervalMs: number;
  /** While true no heartbeat is sent (sockets stay open). @default false */
  heartbeatsPaused: boolean;
  /** Lifetime of a new channel (emulator clock); Genesys documents 24 hours. @default 86400000 */
  channelLifetimeMs: number;
  /** `v2.system.socket_closing` is sent this long before an expiring channel's socket is closed. @default 60000 */
  socketClosingLeadMs: number;
  /** Channels per OAuth client; creating one more replaces the least recently used (idle ones first). @default 20 */
  maxChannelsPerClient: number;
  /** Topics per channel; a subscription beyond it is answered 400. @default 1000 */
  maxTopicsPerChannel: number;
  /**
   * When true, a channel whose creating token stops working (regenerated with `tokensSurviveRegeneration`
   * false, revoked, expired) is closed at the next heartbeat tick or push (unconfirmed for real Genesys).
   * @default false
   */
  channelsDieWithToken: boolean;
}

/** Defaults of {@link NotificationKnobs}. */
export const DEFAULT_NOTIFICATION_KNOBS: Readonly<NotificationKnobs> = {
  heartbeatIntervalMs: 30_000,
  heartbeatsPaused: false,
  channelLifetimeMs: 24 * 60 * 60 * 1000,
  socketClosingLeadMs: 60_000,
  maxChannelsPerClient: 20,
  maxTopicsPerChannel: 1000,
  channelsDieWithToken: false,
};

/** The REST view of a channel (Genesys' `Channel` model). */
export interface ChannelBody {
  connectUri: string;
  id: string;
  /** ISO-8601. */
  expires: string;
}

/** A channel as tests see it (`emulator.notifications.channels()`). */
export interface ChannelSnapshot {
  id: string;
  clientId: string;
  topics: string[];
  connected: boolean;
  silenced: boolean;
  createdAt: number;
  expiresAt: number;
}

/** What one push did. */
export interface PushResult {
  /** `metadata.CorrelationId` of the event (the same on every channel it reached). */
  correlationId: string;
  /** Sockets the event was written to. */
  delivered: number;
}

/** Options of {@link NotificationHub.push}. */
export interface PushOptions {
  /** @default a random UUID */
  correlationId?: string;
}

/** Counts since start (or `counters.reset()`). */
export interface NotificationCounters {
  channelsCreated: number;
  /** WebSocket connections accepted. */
  connections: number;
  /** Events pushed through {@link NotificationHub.push}. */
  pushed: number;
  /** Event messages written to sockets (one push may reach several channels). */
  delivered: number;
  /** Pushes that reached no socket. */
  undelivered: number;
  heartbeats: number;
  pongs: number;
  socketClosings: number;
}

/** A subscription request that breaks a rule: the 400 the route answers. */
export interface SubscriptionProblem {
  code: "bad.request" | "invalid.value";
  message: string;
}

interface Channel {
  readonly id: string;
  readonly clientId: string;
  /** The token that created it (only compared, never shown). */
  readonly accessToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  lastUsedAt: number;
  /** Lower-case topic → topic as subscribed. */
  readonly topics: Map<string, string>;
  socket: WebSocket | undefined;
  silenced: boolean;
  /** Aborts the channel's expiry task. */
  readonly lifetime: AbortController;
}

const WEBSOCKET_OPEN = 1;
const CHANNEL_PATH = /^\/channels\/([A-Za-z0-9-]+)\/?$/;

/** The Notification Service of one emulator. */
export class NotificationHub {
  /** Mutable at runtime; read afresh at each use. */
  readonly knobs: NotificationKnobs = { ...DEFAULT_NOTIFICATION_KNOBS };
  readonly #clock: Clock;
  readonly #state: EmulatorState;
  readonly #channels = new Map<string, Channel>();
  readonly #server = new WebSocketServer({ noServer: true });
  readonly #stopping = new AbortController();
  #counters: NotificationCounters = emptyCounters();
  /** The heartbeat loop runs only while a socket is connected (a clock whose sleep returns at once must not spin it). */
  #heartbeating = false;
  #baseUrl = "ws://127.0.0.1";

  constructor(deps: { clock: Clock; state: EmulatorState; knobs?: Partial<NotificationKnobs> }) {
    this.#clock = deps.clock;
    this.#state = deps.state;
    Object.assign(this.knobs, deps.knobs);
  }

  /** @internal emulator.ts: where connectUri points, once the server listens. */
  setBaseUrl(httpUrl: string): void {
    this.#baseUrl = httpUrl.replace(/^http/, "ws");
  }

  /** Counts since start or the last `resetCounters()`. */
  counters(): Readonly<NotificationCounters> {
    return { ...this.#counters };
  }

  resetCounters(): void {
    this.#counters = emptyCounters();
  }

  /** Every live channel. */
  channels(): ChannelSnapshot[] {
    return [...this.#channels.values()].map((channel) => ({
      id: channel.id,
      clientId: channel.clientId,
      topics: [...channel.topics.values()],
      connected: isOpen(channel.socket),
      silenced: channel.silenced,
      createdAt: channel.createdAt,
      expiresAt: channel.expiresAt,
    }));
  }

  // -------------------------------------------------------------------------------------------------
  // Control hooks (tests, drill)

  /**
   * Sends an event on `topicName` to every connected channel subscribed to it (topic names match in any
   * letter case): `{topicName, version: "2", eventBody, metadata: {CorrelationId}}`. A channel without a
   * connection does not get it later: Genesys does not queue notifications.
   */
  push(topicName: string, eventBody: unknown, options: PushOptions = {}): PushResult {
    this.#closeChannelsOfDeadTokens();
    const correlationId = options.correlationId ?? randomUUID();
    const message = JSON.stringify({
      topicName,
      version: "2",
      eventBody,
      metadata: { CorrelationId: correlationId },
    });
    const key = topicName.toLowerCase();
    let delivered = 0;
    for (const channel of this.#channels.values()) {
      if (!channel.topics.has(key) || channel.silenced || !isOpen(channel.socket)) continue;
      channel.socket!.send(message);
      delivered++;
    }
    this.#counters.pushed++;
    this.#counters.delivered += delivered;
    if (delivered === 0) this.#counters.undelivered++;
    return { correlationId, delivered };
  }

  /**
   * Drops WebSocket connections without a close frame (as a network failure or a crashed node would):
   * every connection, or that of one channel. The channels themselves live on. Returns how many were dropped.
   */
  closeConnections(filter: { channelId?: string } = {}): number {
    let dropped = 0;
    for (const channel of this.#channels.values()) {
      if (filter.channelId !== undefined && channel.id !== filter.channelId) continue;
      if (channel.socket === undefined) continue;
      channel.socket.terminate();
      channel.socket = undefined;
      dropped++;
    }
    return dropped;
  }

  /**
   * Expires a channel now (or every channel): `v2.system.socket_closing` at once, then after `leadMs` of
   * emulator-clock time the socket is closed (code 1000) and the channel is gone. Returns how many expire.
   */
  expireChannel(channelId?: string, options: { leadMs?: number } = {}): number {
    const targets = [...this.#channels.values()].filter(
      (channel) => channelId === undefined || channel.id === channelId,
    );
    for (const channel of targets) {
      channel.lifetime.abort();
      void this.#closeAfterWarning(channel, options.leadMs ?? 0);
    }
    return targets.length;
  }

  /**
   * A half-open connection: the socket of the channel (or of every channel) stays open, but nothing is sent
   * on it any more (no heartbeat, pong or event; pushes to it are lost). `false` ends the silence.
   */
  silence(channelId?: string, silent = true): number {
    let count = 0;
    for (const channel of this.#channels.values()) {
      if (channelId !== undefined && channel.id !== channelId) continue;
      channel.silenced = silent;
      count++;
    }
    return count;
  }

  // -------------------------------------------------------------------------------------------------
  // REST side (routes.ts)

  /** @internal POST /api/v2/notifications/channels. */
  createChannel(clientId: string, accessToken: string): ChannelBody {
    const now = this.#clock.now();
    this.#enforceChannelLimit(clientId);
    const channel: Channel = {
      id: `streaming-0-${randomBytes(20)
        .toString("base64url")
        .toLowerCase()
        .replace(/[^a-z0-9]/g, "0")
        .slice(0, 26)}`,
      clientId,
      accessToken,
      createdAt: now,
      expiresAt: now + this.knobs.channelLifetimeMs,
      lastUsedAt: now,
      topics: new Map(),
      socket: undefined,
      silenced: false,
      lifetime: new AbortController(),
    };
    this.#channels.set(channel.id, channel);
    this.#counters.channelsCreated++;
    void this.#expireInTime(channel);
    return this.#body(channel);
  }

  /** @internal GET /api/v2/notifications/channels: the caller's token's channels (or the client's). */
  listChannels(
    clientId: string,
    accessToken: string,
    scope: "token" | "oauthclient",
  ): (ChannelBody | { expires: string })[] {
    const listed: (ChannelBody | { expires: string })[] = [];
    for (const channel of this.#channels.values()) {
      if (channel.clientId !== clientId) continue;
      if (channel.accessToken === accessToken) listed.push(this.#body(channel));
      // Genesys: channels of the client's other tokens are shown without their ids.
      else if (scope === "oauthclient") listed.push({ expires: new Date(channel.expiresAt).toISOString() });
    }
    return listed;
  }

  /** @internal Whether the client owns a live channel of that id (HEAD, subscriptions). */
  hasChannel(clientId: string, channelId: string): boolean {
    return this.#channels.get(channelId)?.clientId === clientId;
  }

  /** @internal GET …/subscriptions. */
  topicsOf(channelId: string): string[] {
    return [...(this.#channels.get(channelId)?.topics.values() ?? [])];
  }

  /**
   * @internal PUT (replace) or POST (add) …/subscriptions; the channel's topics afterwards, or the 400 problem.
   * `body` is the parsed JSON request body.
   */
  subscribe(channelId: string, body: unknown, mode: "replace" | "add"): string[] | SubscriptionProblem {
    const channel = this.#channels.get(channelId);
    if (!channel) return { code: "bad.request", message: `Channel [${channelId}] was not found.` };
    const topics = parseTopicList(body);
    if (!Array.isArray(topics)) return topics;
    const next = new Map(mode === "add" ? channel.topics : []);
    for (const topic of topics) next.set(topic.toLowerCase(), topic);
    if (next.size > this.knobs.maxTopicsPerChannel) {
      return {
        code: "bad.request",
        message: `A channel can subscribe to at most ${this.knobs.maxTopicsPerChannel} topics; the request would make ${next.size}.`,
      };
    }
    channel.topics.clear();
    for (const [key, topic] of next) channel.topics.set(key, topic);
    channel.lastUsedAt = this.#clock.now();
    return [...channel.topics.values()];
  }

  /** @internal DELETE …/subscriptions. */
  unsubscribeAll(channelId: string): void {
    this.#channels.get(channelId)?.topics.clear();
  }

  // -------------------------------------------------------------------------------------------------
  // WebSocket side (emulator.ts)

  /** @internal The HTTP server's `upgrade` event: `/channels/<id>` of a live channel, else 404. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const channel = this.#channels.get(CHANNEL_PATH.exec(path)?.[1] ?? "");
    if (!channel || this.#stopping.signal.aborted) {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    this.#server.handleUpgrade(request, socket, head, (ws) => this.#accept(channel, ws));
  }

  /** @internal Stops the timers and drops every socket. */
  stop(): void {
    this.#stopping.abort();
    for (const channel of this.#channels.values()) {
      channel.lifetime.abort();
      channel.socket?.terminate();
    }
    this.#channels.clear();
    this.#server.close();
  }

  #accept(channel: Channel, ws: WebSocket): void {
    // One WebSocket per channel: a second connection disconnects the first (Genesys documents this).
    if (channel.socket !== undefined && channel.socket !== ws) channel.socket.close(1000);
    channel.socket = ws;
    channel.lastUsedAt = this.#clock.now();
    this.#counters.connections++;
    if (!this.#heartbeating) {
      this.#heartbeating = true;
      void this.#heartbeatLoop();
    }
    ws.on("message", (data, isBinary) => {
      if (isBinary || channel.socket !== ws || channel.silenced) return;
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      if ((message as { message?: unknown } | null)?.message === "ping") {
        this.#counters.pongs++;
        ws.send(JSON.stringify({ topicName: "channel.metadata", eventBody: { message: "pong" } }));
      }
    });
    ws.on("close", () => {
      if (channel.socket === ws) channel.socket = undefined;
    });
    ws.on("error", () => {
      if (channel.socket === ws) channel.socket = undefined;
    });
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      if (!(await this.#sleep(Math.max(1, this.knobs.heartbeatIntervalMs), signal))) {
        this.#heartbeating = false;
        return;
      }
      this.#closeChannelsOfDeadTokens();
      const open = [...this.#channels.values()].filter((channel) => isOpen(channel.socket));
      if (open.length === 0) {
        this.#heartbeating = false; // the next connection starts the loop again
        return;
      }
      if (this.knobs.heartbeatsPaused) continue;
      const heartbeat = JSON.stringify({
        topicName: "channel.metadata",
        eventBody: { message: "WebSocket Heartbeat" },
      });
      for (const channel of open) {
        if (channel.silenced) continue;
        channel.socket!.send(heartbeat);
        this.#counters.heartbeats++;
      }
    }
  }

  /** Waits for the channel's natural end: the warning `socketClosingLeadMs` before it, then the close. */
  async #expireInTime(channel: Channel): Promise<void> {
    const lead = Math.min(this.knobs.socketClosingLeadMs, channel.expiresAt - channel.createdAt);
    const wait = Math.max(0, channel.expiresAt - lead - this.#clock.now());
    if (!(await this.#sleep(wait, channel.lifetime.signal))) return; // expired early, removed or stopping
    await this.#closeAfterWarning(channel, Math.max(0, channel.expiresAt - this.#clock.now()));
  }

  async #closeAfterWarning(channel: Channel, leadMs: number): Promise<void> {
    if (isOpen(channel.socket) && !channel.silenced) {
      this.#counters.socketClosings++;
      channel.socket!.send(
        JSON.stringify({
          topicName: "v2.system.socket_closing",
          version: "2",
          eventBody: {
            channelId: channel.id,
            systemTopicType: "socket_closing",
            correlationId: randomUUID(),
            oauthClientId: channel.clientId,
            organizationId: this.#state.organization.id,
            reason: "channel expiring",
            message: "The socket will close shortly; create a new channel and subscribe again.",
          },
          metadata: { CorrelationId: randomUUID() },
        }),
      );
    }
    if (leadMs > 0 && !(await this.#sleep(leadMs, this.#stopping.signal))) return;
    this.#remove(channel, 1000);
  }

  /** Sleeps on the clock; false when `signal` aborted first. */
  #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return sleepUnlessAborted(this.#clock, ms, signal);
  }

  #remove(channel: Channel, closeCode: number): void {
    channel.lifetime.abort();
    if (this.#channels.get(channel.id) === channel) this.#channels.delete(channel.id);
    if (channel.socket !== undefined) {
      channel.socket.close(closeCode);
      channel.socket = undefined;
    }
  }

  /** 20 channels per client: the 21st replaces the least recently used, channels without a connection first. */
  #enforceChannelLimit(clientId: string): void {
    const own = [...this.#channels.values()].filter((channel) => channel.clientId === clientId);
    const excess = own.length - this.knobs.maxChannelsPerClient + 1;
    if (excess <= 0) return;
    own.sort((a, b) => Number(isOpen(a.socket)) - Number(isOpen(b.socket)) || a.lastUsedAt - b.lastUsedAt);
    for (const channel of own.slice(0, excess)) this.#remove(channel, 1000);
  }

  #closeChannelsOfDeadTokens(): void {
    if (!this.knobs.channelsDieWithToken) return;
    for (const channel of [...this.#channels.values()]) {
      if (!this.#state.checkToken(channel.accessToken).ok) this.#remove(channel, 1000);
    }
  }

  #body(channel: Channel): ChannelBody {
    return {
      connectUri: `${this.#baseUrl}/channels/${channel.id}`,
      id: channel.id,
      expires: new Date(channel.expiresAt).toISOString(),
    };
  }
}

/** `[{"id": "<topic>"}, …]` → the topic names, or the 400 problem. */
function parseTopicList(body: unknown): string[] | SubscriptionProblem {
  if (!Array.isArray(body)) {
    return {
      code: "bad.request",
      message: 'The request body must be a list of topics: [{"id": "<topic>"}].',
    };
  }
  const topics: string[] = [];
  for (const [index, entry] of body.entries()) {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._?&:-]{0,499}$/.test(id)) {
      return {
        code: "invalid.value",
        message: `Topic [${index}].id must be a topic name such as v2.users.{id}.presence.`,
      };
    }
    topics.push(id);
  }
  return topics;
}

function isOpen(socket: WebSocket | undefined): boolean {
  return socket !== undefined && socket.readyState === WEBSOCKET_OPEN;
}

function emptyCounters(): NotificationCounters {
  return {
    channelsCreated: 0,
    connections: 0,
    pushed: 0,
    delivered: 0,
    undelivered: 0,
    heartbeats: 0,
    pongs: 0,
    socketClosings: 0,
  };
}
