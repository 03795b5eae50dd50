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
import { EmulatorCounters, type ErrorKind } from "./counters.ts";
import { EmulatorFaults } from "./faults.ts";
import { IssuedCredentials } from "./issued.ts";
import { EmulatorState, type GenesysState } from "./state.ts";
import {
  apiErrorBody,
  integrationCredentialBody,
  integrationCredentialInfoBody,
  isRequestProblem,
  MESSAGES,
  oauthClientBody,
  oauthClientListingBody,
  oauthErrorBody,
  organizationBody,
  parseCredentialRequest,
  parseOAuthClientRequest,
  parsePagingQuery,
  permissionCovers,
  type RequestProblem,
  SERVER_ERRORS,
  tokenInfoBody,
} from "./wire.ts";

export { EmulatorCounters, type ErrorKind } from "./counters.ts";
export { EmulatorFaults } from "./faults.ts";
export { IssuedCredentials } from "./issued.ts";
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
  /** Seed of the random source behind the `probability` fault knobs. @default 1 */
  randomSeed?: number;
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

/** A handler's answer; `send` turns it into the HTTP response. */
interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Counted in `counters.errorsServed(kind)` when set. */
  errorKind?: ErrorKind;
}

interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage["headers"];
  rawBody: Buffer;
  correlationId: string;
}

/** Context of an authenticated Platform API request. */
interface ApiContext extends RequestContext {
  accessToken: string;
  clientId: string;
}

interface Route {
  method: string;
  /** The counter key, e.g. `GET /api/v2/oauth/clients/{clientId}`. */
  pattern: string;
  regex: RegExp;
  paramNames: string[];
  handle: (ctx: RequestContext) => Reply;
}

const MAX_BODY_BYTES = 512_000; // Genesys' documented request.bytes.max

/** Starts an emulator. Stop it with `stop()` (tests: in `after()`/`finally`). */
export async function startGenesysEmulator(options: GenesysEmulatorOptions = {}): Promise<GenesysEmulator> {
  validateOptions(options);
  const clock = options.clock ?? systemClock;
  const faults = new EmulatorFaults({
    propagationDelayMs: options.propagationDelayMs,
    tokensSurviveRegeneration: options.tokensSurviveRegeneration,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
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
  const routes = buildRoutes({ state, faults, counters, clock });

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
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

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
      send(res, correlationId, method, {
        status: 413,
        body: apiErrorBody(413, "request.entity.too.large", "Request entity too large.", correlationId),
      });
      return;
    }
    const latency = faults.latencyFor(path);
    if (latency > 0) {
      try {
        await delay(latency, undefined, { signal: stopping.signal });
      } catch {
        return; // stopping: the socket is being closed anyway
      }
    }

    const reset = faults.takeConnectionReset(method, path);
    if (reset === "before") {
      counters.countError("reset");
      req.socket.resetAndDestroy();
      return;
    }
    let reply: Reply;
    const serverError = faults.takeServerError(method, path);
    if (serverError !== undefined) {
      const { code, message } = SERVER_ERRORS[serverError] ?? SERVER_ERRORS[500]!;
      reply = {
        status: serverError,
        body: apiErrorBody(serverError, code, message, correlationId),
        errorKind: "5xx",
      };
    } else {
      const retryAfter = path.startsWith("/api/") ? faults.takeApiRateLimit() : undefined;
      if (retryAfter !== undefined) {
        reply = {
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
      } else {
        const ctx: RequestContext = {
          method,
          path,
          query: url.searchParams,
          params: match.kind === "route" ? match.params : {},
          headers: req.headers,
          rawBody,
          correlationId,
        };
        reply =
          match.kind === "route"
            ? match.route.handle(ctx)
            : match.kind === "method"
              ? {
                  status: 405,
                  headers: { allow: match.allowed.join(", ") },
                  body: apiErrorBody(
                    405,
                    "method.not.allowed",
                    `HTTP method ${method} is not allowed here.`,
                    correlationId,
                  ),
                  errorKind: "405",
                }
              : {
                  status: 404,
                  body: apiErrorBody(404, "not.found", MESSAGES.notFound, correlationId),
                  errorKind: "404",
                };
      }
    }
    if (reset === "after") {
      counters.countError("reset");
      req.socket.resetAndDestroy();
      return;
    }
    if (reply.errorKind) counters.countError(reply.errorKind);
    send(res, correlationId, method, reply);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    faults,
    counters,
    issued,
    clock,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        stopping.abort();
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
}

// ---------------------------------------------------------------------------------------------------
// Routes

interface RouteDependencies {
  state: EmulatorState;
  faults: EmulatorFaults;
  counters: EmulatorCounters;
  clock: Clock;
}

function buildRoutes(deps: RouteDependencies): Route[] {
  const { state } = deps;
  const api = (permission: string | undefined, handle: (ctx: ApiContext) => Reply) =>
    withBearer(state, permission, handle);
  const clientContext = () => ({
    roles: new Map(state.roles().map((role) => [role.id, role])),
    homeDivisionId: state.organization.homeDivisionId,
  });
  const json = (status: number, body?: unknown): Reply => ({ status, body });
  const notFound = (ctx: RequestContext, what: string): Reply => ({
    status: 404,
    body: apiErrorBody(
      404,
      "not.found",
      `${what} [${Object.values(ctx.params)[0]}] was not found.`,
      ctx.correlationId,
    ),
    errorKind: "404",
  });

  return [
    route("POST", "/oauth/token", tokenEndpoint(deps)),

    route(
      "GET",
      "/api/v2/tokens/me",
      api(undefined, (ctx) => json(200, tokenInfoBody(state.getClient(ctx.clientId)!, state.organization))),
    ),
    // HEAD: 200 without a body; the 401 comes from withBearer (also without a body).
    route(
      "HEAD",
      "/api/v2/tokens/me",
      api(undefined, () => json(200)),
    ),
    route(
      "DELETE",
      "/api/v2/tokens/me",
      api(undefined, (ctx) => {
        state.revokeToken(ctx.accessToken);
        return json(204);
      }),
    ),
    route(
      "GET",
      "/api/v2/organizations/me",
      api(undefined, () => json(200, organizationBody(state.organization))),
    ),

    route(
      "GET",
      "/api/v2/oauth/clients",
      api("oauth:client:view", (ctx) => {
        const paging = parsePagingQuery(ctx.query);
        if (isRequestProblem(paging)) return badRequest(ctx, paging);
        return json(200, oauthClientListingBody(state.clients(), paging));
      }),
    ),
    route(
      "POST",
      "/api/v2/oauth/clients",
      api("oauth:client:add", (ctx) => {
        const parsed = parseJson(ctx);
        if ("reply" in parsed) return parsed.reply;
        const fields = parseOAuthClientRequest(parsed.value, clientContext());
        if (isRequestProblem(fields)) return badRequest(ctx, fields);
        return json(200, oauthClientBody(state.createClientFromApi(fields), { includeSecret: true }));
      }),
    ),
    route(
      "GET",
      "/api/v2/oauth/clients/{clientId}",
      api("oauth:client:view", (ctx) => {
        const client = state.getClient(ctx.params.clientId!);
        return client
          ? json(200, oauthClientBody(client, { includeSecret: false }))
          : notFound(ctx, "OAuth client");
      }),
    ),
    route(
      "PUT",
      "/api/v2/oauth/clients/{clientId}",
      api("oauth:client:edit", (ctx) => {
        const id = ctx.params.clientId!;
        if (!state.getClient(id)) return notFound(ctx, "OAuth client");
        const parsed = parseJson(ctx);
        if ("reply" in parsed) return parsed.reply;
        const fields = parseOAuthClientRequest(parsed.value, clientContext());
        if (isRequestProblem(fields)) return badRequest(ctx, fields);
        return json(200, oauthClientBody(state.replaceClientFields(id, fields), { includeSecret: false }));
      }),
    ),
    route(
      "DELETE",
      "/api/v2/oauth/clients/{clientId}",
      api("oauth:client:delete", (ctx) => {
        const id = ctx.params.clientId!;
        if (!state.getClient(id)) return notFound(ctx, "OAuth client");
        state.deleteClient(id);
        return json(204);
      }),
    ),
    route(
      "POST",
      "/api/v2/oauth/clients/{clientId}/secret",
      api("oauth:client:edit", (ctx) => {
        const id = ctx.params.clientId!;
        if (!state.getClient(id)) return notFound(ctx, "OAuth client");
        return json(200, oauthClientBody(state.regenerateSecret(id), { includeSecret: true }));
      }),
    ),

    route(
      "GET",
      "/api/v2/integrations/credentials/{credentialId}",
      api("integrations:integration:view", (ctx) => {
        const credential = state.getIntegrationCredential(ctx.params.credentialId!);
        return credential ? json(200, integrationCredentialBody(credential)) : notFound(ctx, "Credential");
      }),
    ),
    route(
      "PUT",
      "/api/v2/integrations/credentials/{credentialId}",
      api("integrations:integration:edit", (ctx) => {
        const id = ctx.params.credentialId!;
        if (!state.hasIntegrationCredential(id)) return notFound(ctx, "Credential");
        const parsed = parseJson(ctx);
        if ("reply" in parsed) return parsed.reply;
        const update = parseCredentialRequest(parsed.value);
        if (isRequestProblem(update)) return badRequest(ctx, update);
        state.replaceIntegrationCredential(id, update);
        return json(200, integrationCredentialInfoBody(state.getIntegrationCredential(id)!));
      }),
    ),
  ];
}

function route(method: string, pattern: string, handle: (ctx: RequestContext) => Reply): Route {
  const paramNames: string[] = [];
  const source = pattern.replace(/\{(\w+)\}/g, (_, name: string) => {
    paramNames.push(name);
    return "([^/]+)";
  });
  return { method, pattern, regex: new RegExp(`^${source}/?$`), paramNames, handle };
}

type RouteMatch =
  | { kind: "route"; route: Route; params: Record<string, string> }
  | { kind: "method"; allowed: string[] }
  | { kind: "none" };

function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const allowed: string[] = [];
  for (const candidate of routes) {
    const found = candidate.regex.exec(path);
    if (!found) continue;
    if (candidate.method !== method) {
      allowed.push(candidate.method);
      continue;
    }
    const params: Record<string, string> = {};
    try {
      candidate.paramNames.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]!);
      });
    } catch {
      return { kind: "none" }; // malformed percent-encoding: no such resource
    }
    return { kind: "route", route: candidate, params };
  }
  return allowed.length > 0 ? { kind: "method", allowed } : { kind: "none" };
}

// ---------------------------------------------------------------------------------------------------
// Login service: POST /oauth/token (RFC 6749 §4.4 client credentials, Genesys flavour)

function tokenEndpoint({ state, faults, counters, clock }: RouteDependencies) {
  const oauthError = (
    errorKind: ErrorKind,
    error: string,
    description: string,
    headers?: Record<string, string>,
  ) => ({ status: 400, body: oauthErrorBody(error, description), errorKind, headers }) satisfies Reply;

  return (ctx: RequestContext): Reply => {
    const credentials = parseBasicAuthorization(ctx.headers.authorization);
    counters.countTokenRequest(credentials?.clientId);

    const throttledByFault = faults.takeTokenRateLimit();
    const throttledByLimit =
      credentials !== undefined && faults.takePerClientTokenLimit(credentials.clientId, clock.now());
    if (throttledByFault || throttledByLimit) {
      const retryAfter = faults.tokenRateLimit.retryAfterSeconds;
      return oauthError(
        "token_rate_limit",
        "invalid_request",
        "rate limit exceeded; too many token requests for this client, retry later",
        retryAfter === undefined ? undefined : { "retry-after": String(retryAfter) },
      );
    }
    // Client authentication is by HTTP Basic only (what every official SDK sends); body parameters
    // client_id/client_secret are not accepted. Missing or unreadable Basic → 400 invalid_client.
    if (!credentials) return oauthError("invalid_client", "invalid_client", "authentication failed");
    const authentication = state.authenticateClient(credentials.clientId, credentials.clientSecret);
    if (!authentication.ok) return oauthError("invalid_client", "invalid_client", authentication.reason);

    const form = isContentType(ctx.headers["content-type"], "application/x-www-form-urlencoded")
      ? new URLSearchParams(ctx.rawBody.toString("utf8"))
      : new URLSearchParams();
    const grantType = form.get("grant_type");
    if (grantType === null) return oauthError("invalid_request", "invalid_request", "Missing grant type");
    if (grantType !== "client_credentials") {
      return oauthError(
        "unsupported_grant_type",
        "unsupported_grant_type",
        `Unsupported grant type: ${grantType}`,
      );
    }
    const { accessToken, expiresInSeconds } = state.issueToken(authentication.client.id);
    return {
      status: 200,
      headers: { "cache-control": "no-store", pragma: "no-cache" },
      body: { access_token: accessToken, token_type: "bearer", expires_in: expiresInSeconds },
    };
  };
}

/**
 * Reads `Authorization: Basic base64(id:secret)`. Like the official SDKs (and unlike RFC 6749 §2.3.1),
 * id and secret are NOT form-urlencoded before base64, so no decoding is applied.
 */
function parseBasicAuthorization(
  header: string | undefined,
): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

// ---------------------------------------------------------------------------------------------------
// Platform API helpers

/** Wraps an API handler with bearer-token authentication and an optional permission check. */
function withBearer(
  state: EmulatorState,
  permission: string | undefined,
  handle: (ctx: ApiContext) => Reply,
): (ctx: RequestContext) => Reply {
  return (ctx) => {
    const unauthorized = (code: string, message: string): Reply => ({
      status: 401,
      body: apiErrorBody(401, code, message, ctx.correlationId),
      errorKind: "401",
    });
    const match = /^Bearer\s+(\S+)\s*$/i.exec(ctx.headers.authorization ?? "");
    if (!match) return unauthorized("authentication.required", MESSAGES.authenticationRequired);
    const accessToken = match[1]!;
    const check = state.checkToken(accessToken);
    if (!check.ok) {
      return check.reason === "credentials.expired"
        ? unauthorized("credentials.expired", MESSAGES.credentialsExpired)
        : unauthorized("bad.credentials", MESSAGES.badCredentials);
    }
    if (permission !== undefined) {
      const granted = state.permissionsOf(check.client.id);
      if (!granted.some((have) => permissionCovers(have, permission))) {
        return {
          status: 403,
          body: apiErrorBody(
            403,
            "missing.any.permissions",
            MESSAGES.missingAnyPermission([permission]),
            ctx.correlationId,
          ),
          errorKind: "403",
        };
      }
    }
    return handle({ ...ctx, accessToken, clientId: check.client.id });
  };
}

/** Parses a JSON request body, or gives the 400/415 reply Genesys would send instead. */
function parseJson(ctx: RequestContext): { value: unknown } | { reply: Reply } {
  if (ctx.rawBody.length === 0) {
    return { reply: badRequest(ctx, { code: "bad.request", message: MESSAGES.badRequest }) };
  }
  if (!isContentType(ctx.headers["content-type"], "application/json")) {
    return {
      reply: {
        status: 415,
        body: apiErrorBody(415, "unsupported.media.type", MESSAGES.unsupportedMediaType, ctx.correlationId),
        errorKind: "415",
      },
    };
  }
  try {
    return { value: JSON.parse(ctx.rawBody.toString("utf8")) };
  } catch {
    return { reply: badRequest(ctx, { code: "bad.request", message: MESSAGES.badRequest }) };
  }
}

function badRequest(ctx: RequestContext, problem: RequestProblem): Reply {
  return {
    status: 400,
    body: apiErrorBody(400, problem.code, problem.message, ctx.correlationId),
    errorKind: "400",
  };
}

function isContentType(header: string | undefined, expected: string): boolean {
  return (header ?? "").split(";")[0]!.trim().toLowerCase() === expected;
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
