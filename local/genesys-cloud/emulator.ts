/**
 * A Genesys Cloud stand-in that speaks the real wire protocol of the parts a client-credentials secret
 * rotator touches: the login service's `POST /oauth/token` and the Platform API's token introspection,
 * organisation, OAuth client and integration credential endpoints. One node:http server on 127.0.0.1
 * serves both (real Genesys uses `login.<domain>` and `api.<domain>`; the rotator's endpoint override
 * points both at this URL). See README.md for what is modelled and how faithfully.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { type Clock, systemClock } from "../../lambda/shared/clock.ts";
import { ConfigurationError } from "../../lambda/shared/errors.ts";
import { EmulatorCounters } from "./counters.ts";
import { EmulatorFaults, type InvalidClientStatus } from "./faults.ts";
import { IssuedCredentials } from "./issued.ts";
import { NotificationHub, type NotificationKnobs } from "./notifications.ts";
import { compileRoutes, matchRoute, type Reply, type RequestContext, type RouteMatch } from "./routes.ts";
import { EmulatorState, type GenesysState } from "./state.ts";
import { apiErrorBody, MESSAGES, SERVER_ERRORS } from "./wire.ts";

export { EmulatorCounters, type ErrorKind } from "./counters.ts";
export {
  checkEventSequence,
  type EventSequence,
  type EventSequenceCheck,
  type PushedEvent,
  sequenceOf,
  startEventSequence,
} from "./event-sequence.ts";
export { EmulatorFaults, type InvalidClientStatus } from "./faults.ts";
export { IssuedCredentials } from "./issued.ts";
export {
  type ChannelSnapshot,
  DEFAULT_NOTIFICATION_KNOBS,
  NotificationHub,
  type NotificationKnobs,
  type PushResult,
} from "./notifications.ts";
export {
  type ClientSnapshot,
  type ClientState,
  EmulatorState,
  type GenesysState,
  GenesysStateError,
  parseGenesysState,
} from "./state.ts";

/** Options of `startGenesysEmulator`. */
export interface GenesysEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 (any free port) */
  port?: number;
  /** Only loopback is allowed. @default "127.0.0.1" */
  host?: "127.0.0.1";
  /** Organisation, roles, clients and integration credentials. @default DEFAULT_GENESYS_STATE (no clients) */
  state?: GenesysState;
  /** Time source for token expiry, propagation delay and the per-client token rate limit. @default systemClock */
  clock?: Clock;
  /** Overrides every client's `accessTokenValiditySeconds` (any integer ≥ 1; real range 300–172800). @default undefined */
  tokenLifetimeSeconds?: number;
  /** A new secret is rejected (invalid_client) for this long after creation/regeneration. @default 0 */
  propagationDelayMs?: number;
  /** Whether tokens issued before a regeneration stay valid (unconfirmed for real Genesys). @default true */
  tokensSurviveRegeneration?: boolean;
  /** Status of the token endpoint's `invalid_client` answers (unconfirmed for real Genesys). @default 400 */
  invalidClientStatus?: InvalidClientStatus;
  /** Whether a secret regeneration updates the client's `dateModified` (unconfirmed). @default true */
  dateModifiedMovesOnRegeneration?: boolean;
  /** Whether client ids are matched exactly; false: in any letter case (unconfirmed). @default true */
  clientIdsCaseSensitive?: boolean;
  /** Seed of the random source behind the `probability` fault knobs. @default 1 */
  randomSeed?: number;
  /** Initial knobs of the Notification Service (heartbeat interval, channel lifetime, …). @default DEFAULT_NOTIFICATION_KNOBS */
  notifications?: Partial<NotificationKnobs>;
}

/** A running emulator. */
export interface GenesysEmulator {
  /** `http://127.0.0.1:<port>`: serves `/oauth/token` and `/api/v2/...`. */
  url: string;
  /** Seed and inspect the organisation (clients with their current secrets, roles, credentials). */
  state: EmulatorState;
  /** Runtime-mutable fault knobs. */
  faults: EmulatorFaults;
  /** What was served. */
  counters: EmulatorCounters;
  /** The Notification Service: knobs, channels, and the hooks that push events and break sockets. */
  notifications: NotificationHub;
  /** Every secret and access token the emulator knows (for leak checks; never print them). */
  issued: IssuedCredentials;
  /** The clock the emulator runs on. */
  clock: Clock;
  /** Closes the server and every open connection. Idempotent. */
  stop(): Promise<void>;
}

/** The state used when none is given: one org and an admin role, no clients. */
export const DEFAULT_GENESYS_STATE: GenesysState = {
  organization: { id: "6f1c3f0e-0000-4000-8000-00000000e0e0", name: "Emulated Org" },
  roles: [
    {
      id: "7a1b0000-0000-4000-8000-00000000a001",
      name: "OAuth Client Admin",
      permissions: ["oauth:client:*", "integrations:integration:*"],
    },
  ],
  clients: [],
};

const MAX_BODY_BYTES = 512_000; // Genesys' documented request.bytes.max

/** Starts an emulator. Stop it with `stop()` (tests: in `after()`/`finally`). */
export async function startGenesysEmulator(options: GenesysEmulatorOptions = {}): Promise<GenesysEmulator> {
  validateOptions(options);
  const clock = options.clock ?? systemClock;
  const faults = new EmulatorFaults({
    propagationDelayMs: options.propagationDelayMs,
    tokensSurviveRegeneration: options.tokensSurviveRegeneration,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    invalidClientStatus: options.invalidClientStatus,
    dateModifiedMovesOnRegeneration: options.dateModifiedMovesOnRegeneration,
    clientIdsCaseSensitive: options.clientIdsCaseSensitive,
    randomSeed: options.randomSeed,
  });
  const counters = new EmulatorCounters();
  const issued = new IssuedCredentials();
  const state = new EmulatorState(options.state ?? DEFAULT_GENESYS_STATE, {
    clock,
    faults,
    counters,
    issued,
  });
  const notifications = new NotificationHub({ clock, state, knobs: options.notifications });
  const routes = compileRoutes({ state, faults, counters, clock, notifications });

  const sockets = new Set<Socket>();
  const stopping = new AbortController();
  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      // A bug in the emulator, not a modelled failure: answer 500 rather than hang the client.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify(apiErrorBody(500, "internal.server.error", describe(error), randomUUID())));
      }
    });
  });
  // Notification channels' WebSockets (`connectUri`): ws://127.0.0.1:<port>/channels/<id>.
  server.on("upgrade", (req, socket, head) => notifications.handleUpgrade(req, socket, head));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  /**
   * One request: the body is read (413 when too large), then the injected faults in README.md's order —
   * latency, connection reset (before), 5xx, API 429 — then the route's handler (or 404/405), and a
   * reset "after" drops the reply the handler built. A fault knob is consumed only when its step is
   * reached (a reset before the reply leaves a pending 5xx for the next request), so the steps stay in
   * this order.
   */
  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlationId = randomUUID();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname;
    const match = matchRoute(routes, method, path);
    counters.countRequest(
      match.kind === "route" ? `${method} ${match.route.pattern}` : `${method} (unmatched)`,
    );

    const rawBody = await readBody(req);
    if (rawBody === undefined) {
      counters.countError("400");
      send(res, correlationId, method, tooLarge(correlationId));
      return;
    }
    if (!(await injectLatency(path))) return; // stopping: the socket is being closed anyway

    const reset = faults.takeConnectionReset(method, path);
    if (reset === "before") return resetConnection(req);
    const reply =
      injectedFailure(method, path, correlationId) ??
      dispatch(match, {
        method,
        path,
        query: url.searchParams,
        params: match.kind === "route" ? match.params : {},
        headers: req.headers,
        rawBody,
        correlationId,
      });
    if (reset === "after") return resetConnection(req);
    if (reply.errorKind) counters.countError(reply.errorKind);
    send(res, correlationId, method, reply);
  }

  /** Waits the injected latency of `path`; false when the emulator stopped meanwhile. */
  async function injectLatency(path: string): Promise<boolean> {
    const latency = faults.latencyFor(path);
    if (latency <= 0) return true;
    try {
      await delay(latency, undefined, { signal: stopping.signal });
      return true;
    } catch {
      return false;
    }
  }

  function resetConnection(req: IncomingMessage): void {
    counters.countError("reset");
    req.socket.resetAndDestroy();
  }

  /** An injected 5xx, else (Platform API only) an injected 429; undefined when neither is due. */
  function injectedFailure(method: string, path: string, correlationId: string): Reply | undefined {
    const serverError = faults.takeServerError(method, path);
    if (serverError !== undefined) {
      const { code, message } = SERVER_ERRORS[serverError] ?? SERVER_ERRORS[500]!;
      return {
        status: serverError,
        body: apiErrorBody(serverError, code, message, correlationId),
        errorKind: "5xx",
      };
    }
    const retryAfter = path.startsWith("/api/") ? faults.takeApiRateLimit() : undefined;
    if (retryAfter === undefined) return undefined;
    return {
      status: 429,
      headers: { "retry-after": String(retryAfter) },
      body: apiErrorBody(
        429,
        "too.many.requests.retry.after",
        MESSAGES.rateLimited(retryAfter),
        correlationId,
      ),
      errorKind: "api_429",
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  notifications.setBaseUrl(`http://127.0.0.1:${port}`);

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    faults,
    counters,
    notifications,
    issued,
    clock,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stopping.abort();
        notifications.stop();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopped;
    },
  };
}

function validateOptions(options: GenesysEmulatorOptions): void {
  if (options.host !== undefined && options.host !== "127.0.0.1") {
    throw new ConfigurationError("host", "must be 127.0.0.1 (the emulator never listens on other addresses)");
  }
  if (
    options.port !== undefined &&
    (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
  ) {
    throw new ConfigurationError("port", "must be an integer from 0 to 65535");
  }
  if (
    options.tokenLifetimeSeconds !== undefined &&
    (!Number.isInteger(options.tokenLifetimeSeconds) || options.tokenLifetimeSeconds < 1)
  ) {
    throw new ConfigurationError("tokenLifetimeSeconds", "must be an integer ≥ 1");
  }
  if (
    options.propagationDelayMs !== undefined &&
    (!Number.isFinite(options.propagationDelayMs) || options.propagationDelayMs < 0)
  ) {
    throw new ConfigurationError("propagationDelayMs", "must be a number ≥ 0");
  }
  if (options.invalidClientStatus !== undefined && ![400, 401].includes(options.invalidClientStatus)) {
    throw new ConfigurationError("invalidClientStatus", "must be 400 or 401");
  }
}

// ---------------------------------------------------------------------------------------------------
// Dispatch

/** The matched route's reply; 405 with `Allow` for a known path and another method; 404 otherwise. */
function dispatch(match: RouteMatch, ctx: RequestContext): Reply {
  if (match.kind === "route") return match.route.handle(ctx);
  if (match.kind === "method") {
    return {
      status: 405,
      headers: { allow: match.allowed.join(", ") },
      body: apiErrorBody(
        405,
        "method.not.allowed",
        `HTTP method ${ctx.method} is not allowed here.`,
        ctx.correlationId,
      ),
      errorKind: "405",
    };
  }
  return {
    status: 404,
    body: apiErrorBody(404, "not.found", MESSAGES.notFound, ctx.correlationId),
    errorKind: "404",
  };
}

function tooLarge(correlationId: string): Reply {
  return {
    status: 413,
    body: apiErrorBody(413, "request.entity.too.large", "Request entity too large.", correlationId),
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP plumbing

/**
 * Reads the whole body; undefined when it exceeds MAX_BODY_BYTES. An oversized body is still drained
 * (not accumulated) so that the 413 response can be written on an intact connection.
 */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, correlationId: string, method: string, reply: Reply): void {
  const headers: Record<string, string> = { "inin-correlation-id": correlationId, ...reply.headers };
  const hasBody = reply.body !== undefined && method !== "HEAD" && reply.status !== 204;
  const payload = hasBody ? JSON.stringify(reply.body) : "";
  if (hasBody) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : "unexpected error";
}
