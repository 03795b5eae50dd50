/**
 * `genesys-oauth-rotator/client/notifications`: a Genesys Cloud Notification Service channel that stays
 * up. It creates a channel with a token fetched right before the call, connects the channel's WebSocket,
 * subscribes the topics, watches heartbeats, and before the channel expires (or when the socket dies)
 * switches to a new channel without losing events, or reports the gap when it cannot know. See README.md
 * in this folder, "Notifications", and docs/genesys-facts.md, "Notification Service".
 *
 * Its own package entry: a consumer that does not use it never loads it.
 */
import { type ExponentialBackoff, exponentialDelay, fullJitter } from "../shared/backoff.ts";
import { type Clock, type Random, sleepUnlessAborted, systemClock, systemRandom } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import type { Log } from "../shared/log.ts";
import { parseRetryAfter } from "../shared/retry-after.ts";
import { silentLog } from "../shared/silent-log.ts";
import { defaultTokenProvider } from "./default-provider.ts";
import { ConfigurationError, NotificationChannelError, ValidationError } from "./errors.ts";
import { type FetchFunction, genesysFetch } from "./fetch.ts";
import type { TokenSource } from "./token-provider.ts";

export { NotificationChannelError, type NotificationOperation } from "./errors.ts";

/** One notification as Genesys sends it on the channel's WebSocket. */
export interface NotificationEvent<Body = unknown> {
  /** e.g. `v2.users.{id}.presence` */
  topicName: string;
  /** The event schema's version, e.g. `"2"`. */
  version?: string;
  eventBody: Body;
  /** `CorrelationId` identifies the event: the helper delivers each one once, even during a switchover. */
  metadata?: { CorrelationId?: string; [key: string]: unknown };
}

/** Why the helper moved (or tried to move) to a new channel. */
export type RenewalReason =
  /** `renewBeforeExpiryMs` before the channel's `expires`. */
  | "expiring"
  /** Genesys announced the socket's end (`v2.system.socket_closing`). */
  | "socket-closing"
  /** The socket closed without the helper asking. */
  | "connection-lost"
  /** Nothing at all arrived within `pongTimeoutMs` of a ping. */
  | "heartbeat-timeout"
  /** {@link NotificationsHandle.renew} was called. */
  | "requested";

/**
 * A stretch of time in which events may have been lost: the old socket was dead (or could not be drained)
 * before the new channel was subscribed. Events Genesys sent in it never reach `onEvent`; fetch the
 * current state through the Platform API if it matters.
 */
export interface NotificationGap {
  /**
   * Epoch ms (the helper's clock): every event sent on the old socket before this moment is known to have
   * arrived (the send time of its last answered ping, or its subscription). It may lie up to about
   * `pingIntervalMs` before the socket actually died: a gap is a bound, never an understatement.
   */
  from: number;
  /** Epoch ms: when the new channel's subscription was confirmed. */
  to: number;
  reason: "connection-lost" | "heartbeat-timeout" | "drain-timeout";
  /** The topics subscribed at the time. */
  topics: string[];
}

/** The helper's state. */
export type NotificationsState = "connecting" | "open" | "renewing" | "reconnecting" | "closed" | "failed";

/** What {@link NotificationsOptions.onStateChange} receives. */
export interface NotificationsStateChange {
  state: NotificationsState;
  /** For `renewing`/`reconnecting` and the `open` that ends them. */
  reason?: RenewalReason;
  /** For `failed`: why the helper gave up. */
  error?: Error;
}

/**
 * The part of the WHATWG `WebSocket` the helper uses. Node 22+ has one as `globalThis.WebSocket`; on
 * Node 20 pass undici's (`import { WebSocket } from "undici"`) or the `ws` package's.
 */
export interface NotificationSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: unknown) => void): void;
}

/**
 * A `WebSocket` class: `new webSocket(connectUri)`. `globalThis.WebSocket` (Node 22+), undici's and the ws
 * package's fit as they are.
 */
export type WebSocketConstructor = new (url: string) => NotificationSocket;

/** Options of {@link openNotifications}. */
export interface NotificationsOptions {
  /** Topics to subscribe, e.g. `v2.users.{id}.presence` (at most 1000: Genesys' limit per channel). */
  topics: readonly string[];
  /** Every event, once (heartbeats, pongs and socket_closing are handled here and not passed on). */
  onEvent(event: NotificationEvent): void;
  /** Called when events may have been lost between two channels. @default a warning in `log` */
  onGap?(gap: NotificationGap): void;
  onStateChange?(change: NotificationsStateChange): void;
  /** Where tokens come from. @default the process-wide provider bound to `TOKEN_VENDOR_FUNCTION_NAME` */
  provider?: TokenSource;
  /** @default the provider's default credential */
  credential?: string;
  /** @default globalThis.WebSocket (Node 22+); on Node 20 pass undici's or ws's `WebSocket` */
  webSocket?: WebSocketConstructor;
  /** For the REST calls (through `genesysFetch`). @default globalThis.fetch */
  fetch?: FetchFunction;
  /** @default the system clock */
  clock?: Clock;
  /** Jitter of the reconnect backoff. @default Math.random */
  random?: Random;
  /** Never receives a token or a channel's connectUri. @default no logging */
  log?: Log;
  /** Move to a new channel this long before the channel's `expires`. @default 600000 (10 min) */
  renewBeforeExpiryMs?: number;
  /**
   * The helper pings the socket this often: a message of any kind within `pongTimeoutMs` proves it alive,
   * and each pong proves every event sent before that ping arrived (the start of a gap, should the socket
   * die later). @default 30000
   */
  pingIntervalMs?: number;
  /** A ping unanswered this long means the socket is dead. @default 15000 */
  pongTimeoutMs?: number;
  /** Limit of one WebSocket connect. @default 10000 */
  connectTimeoutMs?: number;
  /** How long the old socket may take to answer the ping that proves it delivered everything. @default 10000 */
  drainTimeoutMs?: number;
  /** Attempts to open a channel (create, connect, subscribe) before giving up. @default 6 */
  maxAttempts?: number;
  /** How long an event's CorrelationId is remembered to drop its repeats. @default 600000 */
  dedupWindowMs?: number;
}

/** Handle of an open notification channel. */
export interface NotificationsHandle {
  readonly state: NotificationsState;
  /** The current channel's id (a capability: do not log it). */
  readonly channelId: string | undefined;
  readonly topics: readonly string[];
  /** Adds topics (POST …/subscriptions on the current channel; every later channel gets them too). */
  subscribe(topics: readonly string[]): Promise<void>;
  /** Removes topics (PUT …/subscriptions with the rest). */
  unsubscribe(topics: readonly string[]): Promise<void>;
  /** Switches to a new channel now, as before an expiry (no event lost). */
  renew(): Promise<void>;
  /** Closes the socket and drops the channel's subscriptions. Idempotent. */
  close(): Promise<void>;
  /** Settles when the helper stops: `error` set when it gave up (attempts exhausted, a non-retryable error). */
  readonly closed: Promise<{ error?: Error }>;
}

const DEFAULTS = {
  renewBeforeExpiryMs: 600_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  drainTimeoutMs: 10_000,
  maxAttempts: 6,
  dedupWindowMs: 600_000,
} as const;
/** Genesys' documented limit of topics per channel. */
export const MAX_TOPICS_PER_CHANNEL = 1000;
/** A channel whose `expires` is missing is assumed to live this long (Genesys documents 24 hours). */
const ASSUMED_CHANNEL_LIFETIME_MS = 24 * 60 * 60 * 1000;
/**
 * Between attempts to open a channel: 500 ms doubling to 30 s, full jitter — when Genesys drops its
 * sockets every consumer reconnects at once, and spreading them widest clears the crowd soonest
 * (docs/design.md#backoff-and-jitter). A `Retry-After` longer than the wait is honoured (up to 60 s).
 */
const OPEN_BACKOFF: ExponentialBackoff = { baseMs: 500, capMs: 30_000 };
const MAX_RETRY_AFTER_MS = 60_000;
const WEBSOCKET_OPEN = 1;
const CHANNELS_PATH = "/api/v2/notifications/channels";

/**
 * Opens a notification channel for `topics` and keeps it open until `close()`: resolves once the first
 * channel is connected and subscribed.
 *
 * @throws {@link ValidationError} / {@link ConfigurationError} for bad options (nothing is sent),
 *   {@link NotificationChannelError} when no channel could be opened within `maxAttempts`, or what the
 *   token provider throws (typed vendor errors)
 */
export async function openNotifications(options: NotificationsOptions): Promise<NotificationsHandle> {
  const session = new NotificationsSession(options);
  await session.start();
  return session;
}

/** One channel and its socket. */
interface Connection {
  readonly channelId: string;
  /** Epoch ms (helper clock) at which the channel expires. */
  readonly expiresAt: number;
  readonly socket: NotificationSocket;
  /** Aborted when the helper retires the connection (timers stop; its close is not a loss). */
  readonly retired: AbortController;
  /**
   * Every event Genesys sent on this socket before this moment has arrived (helper clock): the send time
   * of the last answered ping, else the moment the subscription was sent. Where a gap starts.
   */
  provenUntil: number;
  /** Send times of the pings not yet answered, oldest first (pongs come in order). */
  pingsSentAt: number[];
  /** Set once the socket is known dead: why. */
  died: "connection-lost" | "heartbeat-timeout" | undefined;
  /** Resolved by the next message / the next pong. */
  messageWaiters: Set<() => void>;
  pongWaiters: Set<() => void>;
  deathWaiters: Set<() => void>;
}

class NotificationsSession implements NotificationsHandle {
  readonly #provider: TokenSource;
  readonly #credential: string | undefined;
  readonly #webSocket: WebSocketConstructor;
  readonly #fetch: FetchFunction | undefined;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #log: Log;
  readonly #onEvent: (event: NotificationEvent) => void;
  readonly #onGap: ((gap: NotificationGap) => void) | undefined;
  readonly #onStateChange: ((change: NotificationsStateChange) => void) | undefined;
  readonly #settings: { -readonly [K in keyof typeof DEFAULTS]: number };
  readonly #topics: Set<string>;
  /** Bumped on every topic change, so a channel being opened re-subscribes when it missed one. */
  #topicsVersion = 0;
  readonly #stopping = new AbortController();
  #state: NotificationsState = "connecting";
  #current: Connection | undefined;
  #renewal: Promise<void> | undefined;
  /** Connections being opened (closed too when the helper closes). */
  readonly #opening = new Set<NotificationSocket>();
  /** CorrelationId → when first seen (insertion order = age). */
  readonly #seen = new Map<string, number>();
  #closedResolve!: (result: { error?: Error }) => void;
  readonly closed: Promise<{ error?: Error }>;
  #closing: Promise<void> | undefined;

  constructor(options: NotificationsOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ValidationError("openNotifications", "options", "must be an object");
    }
    if (typeof options.onEvent !== "function") {
      throw new ValidationError("openNotifications", "onEvent", "must be a function");
    }
    this.#topics = new Set(validateTopics("topics", options.topics, true));
    if (this.#topics.size > MAX_TOPICS_PER_CHANNEL) {
      throw new ValidationError(
        "openNotifications",
        "topics",
        `must be at most ${MAX_TOPICS_PER_CHANNEL} topics`,
      );
    }
    const webSocket = options.webSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof webSocket !== "function") {
      throw new ConfigurationError(
        "webSocket",
        "this Node.js has no global WebSocket (Node 20): pass undici's or the ws package's WebSocket class",
      );
    }
    this.#settings = { ...DEFAULTS };
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const value = options[key];
      if (value === undefined) continue;
      const min = key === "renewBeforeExpiryMs" ? 0 : 1;
      if (!Number.isInteger(value) || value < min) {
        throw new ValidationError("openNotifications", key, `must be a whole number >= ${min}`);
      }
      this.#settings[key] = value;
    }
    this.#webSocket = webSocket;
    this.#provider = options.provider ?? defaultTokenProvider();
    this.#credential = options.credential;
    this.#fetch = options.fetch;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#log = options.log ?? silentLog;
    this.#onEvent = options.onEvent;
    this.#onGap = options.onGap;
    this.#onStateChange = options.onStateChange;
    this.closed = new Promise((resolve) => {
      this.#closedResolve = resolve;
    });
  }

  get state(): NotificationsState {
    return this.#state;
  }

  get channelId(): string | undefined {
    return this.#current?.channelId;
  }

  get topics(): readonly string[] {
    return [...this.#topics];
  }

  async start(): Promise<void> {
    try {
      this.#adopt(await this.#openChannel());
    } catch (error) {
      this.#finish(error instanceof Error ? error : new Error(String(error)), false);
      throw error;
    }
    this.#setState("open");
  }

  async subscribe(topics: readonly string[]): Promise<void> {
    const added = validateTopics("topics", topics, false).filter((topic) => !this.#topics.has(topic));
    if (this.#topics.size + added.length > MAX_TOPICS_PER_CHANNEL) {
      throw new ValidationError(
        "subscribe",
        "topics",
        `would make more than ${MAX_TOPICS_PER_CHANNEL} topics`,
      );
    }
    if (added.length === 0) return;
    for (const topic of added) this.#topics.add(topic);
    this.#topicsVersion++;
    const current = this.#current;
    if (current && !current.died) {
      await this.#rest(
        "subscribe",
        "POST",
        subscriptionsPath(current.channelId),
        added.map((id) => ({ id })),
      );
    }
  }

  async unsubscribe(topics: readonly string[]): Promise<void> {
    const removed = validateTopics("topics", topics, false).filter((topic) => this.#topics.has(topic));
    if (removed.length === 0) return;
    for (const topic of removed) this.#topics.delete(topic);
    this.#topicsVersion++;
    const current = this.#current;
    if (current && !current.died) await this.#putTopics(current.channelId);
  }

  renew(): Promise<void> {
    return this.#renew("requested");
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const current = this.#current;
    this.#finish(undefined, true);
    if (current) {
      // Best effort: Genesys stops routing events to a channel nobody reads.
      await this.#rest("unsubscribe", "DELETE", subscriptionsPath(current.channelId), undefined, {
        ignoreStop: true,
      }).catch((error: unknown) => {
        this.#log.debug("notification channel: dropping subscriptions on close failed", describeError(error));
      });
    }
  }

  /** Stops everything; `error` set = the helper gave up. */
  #finish(error: Error | undefined, notify: boolean): void {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort();
    for (const socket of this.#opening) closeQuietly(socket);
    this.#opening.clear();
    if (this.#current) this.#retire(this.#current);
    if (notify) this.#setState(error ? "failed" : "closed", error ? { error } : {});
    else this.#state = "failed";
    this.#closedResolve(error ? { error } : {});
  }

  // -------------------------------------------------------------------------------------------------
  // Opening a channel

  /** Creates a channel, connects its socket and subscribes every topic; bounded attempts with backoff. */
  async #openChannel(): Promise<Connection> {
    for (let attempt = 0; ; attempt++) {
      let connection: Connection | undefined;
      try {
        const channel = await this.#createChannel();
        connection = await this.#connect(channel);
        for (let round = 0; ; round++) {
          const version = this.#topicsVersion;
          await this.#putTopics(connection.channelId);
          if (version === this.#topicsVersion || round >= 3) break;
        }
        if (connection.died) throw new NotificationChannelError("connect", "closed while subscribing", true);
        return connection;
      } catch (error) {
        if (connection) this.#retire(connection);
        if (this.#stopping.signal.aborted) throw error;
        const retryable = (error as { retryable?: unknown }).retryable === true;
        if (!retryable || attempt + 1 >= this.#settings.maxAttempts) {
          throw error instanceof NotificationChannelError && retryable
            ? new NotificationChannelError(
                error.operation,
                `gave up after ${attempt + 1} attempts: ${error.message}`,
                false,
                { status: error.status, cause: error },
              )
            : error;
        }
        const retryAfterMs = Math.min(
          MAX_RETRY_AFTER_MS,
          (error as { retryAfterMs?: number }).retryAfterMs ?? 0,
        );
        const wait = Math.max(
          retryAfterMs,
          fullJitter(exponentialDelay(attempt, OPEN_BACKOFF), this.#random),
        );
        this.#log.debug("notification channel: opening failed; retrying", {
          attempt: attempt + 1,
          waitMs: wait,
          ...describeError(error),
        });
        if (!(await this.#sleep(wait, this.#stopping.signal))) throw error;
      }
    }
  }

  async #createChannel(): Promise<{ id: string; connectUri: string; expiresAt: number }> {
    const body = (await this.#rest("createChannel", "POST", CHANNELS_PATH)) as
      | Record<string, unknown>
      | undefined;
    const id = body?.id;
    const connectUri = body?.connectUri;
    if (typeof id !== "string" || id === "" || id.length > 256) {
      throw new NotificationChannelError("createChannel", 'the answer has no channel "id"', false);
    }
    const url = typeof connectUri === "string" ? URL.parse(connectUri) : null;
    if (url === null || (url.protocol !== "wss:" && url.protocol !== "ws:")) {
      throw new NotificationChannelError(
        "createChannel",
        'the answer\'s "connectUri" is not a ws(s) URL',
        false,
      );
    }
    const expires = typeof body?.expires === "string" ? Date.parse(body.expires) : Number.NaN;
    return {
      id,
      connectUri: url.href,
      expiresAt: Number.isFinite(expires) ? expires : this.#clock.now() + ASSUMED_CHANNEL_LIFETIME_MS,
    };
  }

  /** Connects the channel's socket: resolves once it is open. */
  #connect(channel: { id: string; connectUri: string; expiresAt: number }): Promise<Connection> {
    const socket = new this.#webSocket(channel.connectUri);
    this.#opening.add(socket);
    const connection: Connection = {
      channelId: channel.id,
      expiresAt: channel.expiresAt,
      socket,
      retired: new AbortController(),
      provenUntil: this.#clock.now(),
      pingsSentAt: [],
      died: undefined,
      messageWaiters: new Set(),
      pongWaiters: new Set(),
      deathWaiters: new Set(),
    };
    socket.addEventListener("message", (event) =>
      this.#onMessage(connection, (event as { data?: unknown }).data),
    );
    return new Promise<Connection>((resolve, reject) => {
      let settled = false;
      const timeout = new AbortController();
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        timeout.abort();
        this.#opening.delete(socket);
        if (error) {
          closeQuietly(socket);
          reject(error);
        } else resolve(connection);
      };
      socket.addEventListener("open", () => {
        settle();
      });
      socket.addEventListener("close", (event) => {
        settle(
          new NotificationChannelError(
            "connect",
            `the socket closed before it opened (code ${(event as { code?: number }).code ?? "?"})`,
            true,
          ),
        );
        this.#onClose(connection);
      });
      socket.addEventListener("error", () => {
        settle(new NotificationChannelError("connect", "the socket failed to open", true));
      });
      this.#clock.sleep(this.#settings.connectTimeoutMs, timeout.signal).then(
        () =>
          settle(
            new NotificationChannelError(
              "connect",
              `no open within ${this.#settings.connectTimeoutMs} ms`,
              true,
            ),
          ),
        () => {},
      );
      const onStop = () => settle(new NotificationChannelError("connect", "the helper was closed", false));
      this.#stopping.signal.addEventListener("abort", onStop, { once: true });
      timeout.signal.addEventListener(
        "abort",
        () => this.#stopping.signal.removeEventListener("abort", onStop),
        {
          once: true,
        },
      );
    });
  }

  async #putTopics(channelId: string): Promise<void> {
    await this.#rest(
      "subscribe",
      "PUT",
      subscriptionsPath(channelId),
      [...this.#topics].map((id) => ({ id })),
    );
  }

  /**
   * A Platform API call through `genesysFetch`: the token is fetched right before it, a 401 is reported to
   * the vendor and replayed (lambda/client/replay-policy.ts). Non-2xx → {@link NotificationChannelError}.
   */
  async #rest(
    operation: NotificationChannelError["operation"],
    method: string,
    path: string,
    body?: unknown,
    options: { ignoreStop?: boolean } = {},
  ): Promise<unknown> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await genesysFetch(
        path,
        {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: options.ignoreStop ? undefined : this.#stopping.signal,
        },
        { provider: this.#provider, credential: this.#credential, fetch: this.#fetch },
      );
    } catch (error) {
      // Token errors (typed vendor errors) and aborts pass as they are; a network failure is retryable.
      if (error instanceof TypeError) {
        throw new NotificationChannelError(operation, `${method} failed: ${error.message}`, true, {
          cause: error,
        });
      }
      throw error;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new NotificationChannelError(
        operation,
        `${method} answered ${response.status}`,
        isRetryableStatus(response.status),
        {
          status: response.status,
          retryAfterMs: parseRetryAfter(response.headers.get("retry-after") ?? undefined, this.#clock.now()),
        },
      );
    }
    if (response.status === 204 || method === "DELETE") {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    try {
      return await response.json();
    } catch (error) {
      throw new NotificationChannelError(operation, "the answer is not JSON", false, { cause: error });
    }
  }

  // -------------------------------------------------------------------------------------------------
  // A live connection

  /** Makes `connection` the current one: its expiry timer and heartbeat watchdog start. */
  #adopt(connection: Connection): void {
    this.#current = connection;
    void this.#renewBeforeExpiry(connection);
    void this.#watchHeartbeats(connection);
  }

  #onMessage(connection: Connection, data: unknown): void {
    if (connection.died) return;
    for (const wake of connection.messageWaiters) wake();
    const text =
      typeof data === "string"
        ? data
        : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? decodeText(data)
          : undefined;
    if (text === undefined) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#log.debug("notification channel: a message that is not JSON was ignored");
      return;
    }
    if (typeof message !== "object" || message === null) return;
    const { topicName, eventBody } = message as { topicName?: unknown; eventBody?: unknown };
    if (topicName === "channel.metadata") {
      if ((eventBody as { message?: unknown } | null)?.message === "pong") {
        const sentAt = connection.pingsSentAt.shift();
        if (sentAt !== undefined) connection.provenUntil = Math.max(connection.provenUntil, sentAt);
        for (const wake of connection.pongWaiters) wake();
      }
      return;
    }
    if (topicName === "v2.system.socket_closing") {
      if (connection === this.#current) void this.#renew("socket-closing");
      return;
    }
    if (typeof topicName !== "string" || eventBody === undefined) return; // subscription replies and the like
    const event = message as NotificationEvent;
    const correlationId = event.metadata?.CorrelationId;
    if (typeof correlationId === "string" && correlationId !== "") {
      if (this.#seen.has(correlationId)) return;
      this.#remember(correlationId);
    }
    try {
      this.#onEvent(event);
    } catch (error) {
      this.#log.error(
        "notification channel: onEvent threw; the event is not delivered again",
        describeError(error),
      );
    }
  }

  #remember(correlationId: string): void {
    const now = this.#clock.now();
    this.#seen.set(correlationId, now);
    for (const [id, seenAt] of this.#seen) {
      if (now - seenAt <= this.#settings.dedupWindowMs) break;
      this.#seen.delete(id);
    }
  }

  #onClose(connection: Connection): void {
    if (connection.retired.signal.aborted || connection.died) return;
    this.#markDead(connection, "connection-lost");
  }

  #markDead(connection: Connection, reason: "connection-lost" | "heartbeat-timeout"): void {
    if (connection.died) return;
    connection.died = reason;
    for (const wake of connection.deathWaiters) wake();
    closeQuietly(connection.socket);
    if (connection === this.#current && !this.#stopping.signal.aborted) {
      this.#log.warn("notification channel: the socket died; opening a new channel", { reason });
      void this.#renew(reason);
    }
  }

  async #renewBeforeExpiry(connection: Connection): Promise<void> {
    const now = this.#clock.now();
    const remaining = connection.expiresAt - now;
    // A channel shorter-lived than the margin is renewed halfway, never in a tight loop.
    const wait = Math.max(remaining - this.#settings.renewBeforeExpiryMs, Math.floor(remaining / 2), 1000);
    if (!(await this.#sleep(wait, connection.retired.signal))) return;
    if (connection === this.#current) await this.#renew("expiring");
  }

  /** Pings every `pingIntervalMs`; a ping followed by silence for `pongTimeoutMs` means the socket is dead. */
  async #watchHeartbeats(connection: Connection): Promise<void> {
    const { pingIntervalMs, pongTimeoutMs } = this.#settings;
    while (!connection.retired.signal.aborted && !connection.died) {
      if (!(await this.#sleep(pingIntervalMs, connection.retired.signal))) return;
      const answered = await this.#ping(connection, connection.messageWaiters, pongTimeoutMs);
      if (!answered && !connection.retired.signal.aborted) {
        this.#markDead(connection, "heartbeat-timeout");
        return;
      }
    }
  }

  /** Sleeps on the clock; false when `signal` aborted first. */
  #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return sleepUnlessAborted(this.#clock, ms, signal);
  }

  /** Sends `{"message":"ping"}` and waits up to `timeoutMs` for a wake-up from `waiters`; false on timeout or death. */
  async #ping(connection: Connection, waiters: Set<() => void>, timeoutMs: number): Promise<boolean> {
    if (connection.died || connection.socket.readyState !== WEBSOCKET_OPEN) return false;
    const done = new AbortController();
    const retired = () => done.abort();
    connection.retired.signal.addEventListener("abort", retired, { once: true });
    let wake!: () => void;
    let died!: () => void;
    const answered = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      died = () => resolve(false);
      waiters.add(wake);
      connection.deathWaiters.add(died);
    });
    try {
      connection.pingsSentAt.push(this.#clock.now());
      connection.socket.send(JSON.stringify({ message: "ping" }));
      return await Promise.race([
        answered,
        this.#clock.sleep(timeoutMs, done.signal).then(
          () => false,
          () => false,
        ),
      ]);
    } catch {
      return false;
    } finally {
      waiters.delete(wake);
      connection.deathWaiters.delete(died);
      done.abort();
      connection.retired.signal.removeEventListener("abort", retired);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Switching channels

  /** One switchover at a time; callers during one join it. */
  #renew(reason: RenewalReason): Promise<void> {
    if (this.#stopping.signal.aborted) return Promise.resolve();
    this.#renewal ??= this.#switchover(reason).finally(() => {
      this.#renewal = undefined;
      // The new channel died while the switchover finished: go again.
      const current = this.#current;
      if (current?.died && !this.#stopping.signal.aborted) void this.#renew(current.died);
    });
    return this.#renewal;
  }

  /**
   * Opens a new channel (fresh token, same topics), then retires the old one. While both live, events
   * arrive twice and are dropped by CorrelationId. The old socket is drained first: a ping sent after the
   * new subscription is confirmed is answered after every event Genesys wrote to it before, so once its
   * pong arrives nothing that went only to the old channel is still in flight. If the old socket died
   * before that, the stretch is reported through `onGap`.
   */
  async #switchover(reason: RenewalReason): Promise<void> {
    const old = this.#current;
    this.#setState(old?.died ? "reconnecting" : "renewing", { reason });
    let next: Connection;
    try {
      next = await this.#openChannel();
    } catch (error) {
      if (this.#stopping.signal.aborted) return;
      if (old && !old.died) {
        // The old channel still works: keep it; its socket_closing, expiry or death triggers the next try.
        this.#log.warn(
          "notification channel: renewal failed; keeping the current channel",
          describeError(error),
        );
        this.#setState("open", { reason });
        return;
      }
      this.#finish(error instanceof Error ? error : new Error(String(error)), true);
      return;
    }
    if (this.#stopping.signal.aborted) {
      this.#retire(next); // closed while the new channel was being opened
      return;
    }
    const subscribedAt = this.#clock.now();
    this.#adopt(next);
    if (old) {
      let gapReason: NotificationGap["reason"] | undefined = old.died;
      if (!old.died) {
        const drained = await this.#ping(old, old.pongWaiters, this.#settings.drainTimeoutMs);
        // `died` may have been set while the ping waited.
        if (!drained) gapReason = (old.died as Connection["died"]) ?? "drain-timeout";
      }
      this.#retire(old);
      if (gapReason)
        this.#reportGap({
          from: old.provenUntil,
          to: subscribedAt,
          reason: gapReason,
          topics: [...this.#topics],
        });
      // Best effort: Genesys stops routing to the old channel (it expires on its own anyway).
      void this.#rest("unsubscribe", "DELETE", subscriptionsPath(old.channelId)).catch((error: unknown) => {
        this.#log.debug(
          "notification channel: dropping the old channel's subscriptions failed",
          describeError(error),
        );
      });
    }
    if (!this.#stopping.signal.aborted) this.#setState("open", { reason });
  }

  #retire(connection: Connection): void {
    connection.retired.abort();
    closeQuietly(connection.socket);
  }

  #reportGap(gap: NotificationGap): void {
    if (!this.#onGap) {
      this.#log.warn("notification channel: events may have been lost between two channels", {
        fromMs: gap.from,
        toMs: gap.to,
        reason: gap.reason,
      });
      return;
    }
    try {
      this.#onGap(gap);
    } catch (error) {
      this.#log.error("notification channel: onGap threw", describeError(error));
    }
  }

  #setState(state: NotificationsState, details: { reason?: RenewalReason; error?: Error } = {}): void {
    this.#state = state;
    this.#log.debug("notification channel: state", { state, reason: details.reason });
    try {
      this.#onStateChange?.({ state, ...details });
    } catch (error) {
      this.#log.error("notification channel: onStateChange threw", describeError(error));
    }
  }
}

function subscriptionsPath(channelId: string): string {
  return `${CHANNELS_PATH}/${encodeURIComponent(channelId)}/subscriptions`;
}

function validateTopics(field: string, topics: unknown, allowEmpty: boolean): string[] {
  if (!Array.isArray(topics) || (!allowEmpty && topics.length === 0)) {
    throw new ValidationError(
      "notifications",
      field,
      allowEmpty ? "must be a list of topic names" : "must be a non-empty list of topic names",
    );
  }
  for (const topic of topics) {
    if (typeof topic !== "string" || topic.trim() === "" || topic.length > 500) {
      throw new ValidationError(
        "notifications",
        field,
        "must hold topic names such as v2.users.{id}.presence",
      );
    }
  }
  return [...new Set(topics as string[])];
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function closeQuietly(socket: NotificationSocket): void {
  try {
    socket.close(1000);
  } catch {
    // already closing
  }
}

function decodeText(data: ArrayBuffer | ArrayBufferView): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data as ArrayBuffer | Uint8Array);
  } catch {
    return undefined;
  }
}
