/**
 * The emulator's routes: one table (`ROUTES`) of method, path pattern, authentication and a small named
 * handler per endpoint (README.md, "What is modelled"). Handlers build a `Reply`; the HTTP plumbing, the
 * fault pipeline that runs before them and the 404/405 answers live in emulator.ts.
 *
 * Platform API routes declare the permission they need; `compileRoutes` puts bearer authentication and
 * the permission check in front of their handler, so a handler only ever runs for an allowed caller.
 */
import type { IncomingMessage } from "node:http";
import type { Clock } from "../../lambda/shared/clock.ts";
import type { EmulatorCounters, ErrorKind } from "./counters.ts";
import type { EmulatorFaults } from "./faults.ts";
import type { NotificationHub } from "./notifications.ts";
import type { EmulatorState } from "./state.ts";
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
  tokenInfoBody,
} from "./wire.ts";

/** A handler's answer; emulator.ts turns it into the HTTP response. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Counted in `counters.errorsServed(kind)` when set. */
  errorKind?: ErrorKind;
}

/** One request as a handler sees it. */
export interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Path parameters by name, e.g. `clientId` of `/api/v2/oauth/clients/{clientId}`. */
  params: Record<string, string>;
  headers: IncomingMessage["headers"];
  rawBody: Buffer;
  correlationId: string;
}

/** Context of an authenticated Platform API request. */
export interface ApiContext extends RequestContext {
  accessToken: string;
  clientId: string;
}

/** What handlers work on. */
export interface RouteDependencies {
  state: EmulatorState;
  faults: EmulatorFaults;
  counters: EmulatorCounters;
  clock: Clock;
  notifications: NotificationHub;
}

/** A route of the login service: the caller authenticates in the handler (client credentials). */
interface LoginRoute {
  method: string;
  pattern: string;
  handle: (ctx: RequestContext, deps: RouteDependencies) => Reply;
}

/** A Platform API route: bearer token required; `permission` (if any) must be covered by the caller's roles. */
interface ApiRoute {
  method: string;
  pattern: string;
  permission: string | undefined;
  api: (ctx: ApiContext, deps: RouteDependencies) => Reply;
}

/** The route table: every endpoint the emulator serves, in README.md's order. */
export const ROUTES: readonly (LoginRoute | ApiRoute)[] = [
  { method: "POST", pattern: "/oauth/token", handle: requestToken },

  { method: "GET", pattern: "/api/v2/tokens/me", permission: undefined, api: getTokenInfo },
  { method: "HEAD", pattern: "/api/v2/tokens/me", permission: undefined, api: probeToken },
  { method: "DELETE", pattern: "/api/v2/tokens/me", permission: undefined, api: revokeToken },
  { method: "GET", pattern: "/api/v2/organizations/me", permission: undefined, api: getOrganization },

  { method: "GET", pattern: "/api/v2/oauth/clients", permission: "oauth:client:view", api: listOAuthClients },
  {
    method: "POST",
    pattern: "/api/v2/oauth/clients",
    permission: "oauth:client:add",
    api: createOAuthClient,
  },
  {
    method: "GET",
    pattern: "/api/v2/oauth/clients/{clientId}",
    permission: "oauth:client:view",
    api: getOAuthClient,
  },
  {
    method: "PUT",
    pattern: "/api/v2/oauth/clients/{clientId}",
    permission: "oauth:client:edit",
    api: updateOAuthClient,
  },
  {
    method: "DELETE",
    pattern: "/api/v2/oauth/clients/{clientId}",
    permission: "oauth:client:delete",
    api: deleteOAuthClient,
  },
  {
    method: "POST",
    pattern: "/api/v2/oauth/clients/{clientId}/secret",
    permission: "oauth:client:edit",
    api: regenerateClientSecret,
  },

  {
    method: "GET",
    pattern: "/api/v2/integrations/credentials/{credentialId}",
    permission: "integrations:integration:view",
    api: getIntegrationCredential,
  },
  {
    method: "PUT",
    pattern: "/api/v2/integrations/credentials/{credentialId}",
    permission: "integrations:integration:edit",
    api: updateIntegrationCredential,
  },

  // Notification Service. Genesys requires no permission for these; a channel belongs to the client whose
  // token created it. There is no GET of one channel: HEAD tells whether it still exists.
  { method: "GET", pattern: "/api/v2/notifications/channels", permission: undefined, api: listChannels },
  { method: "POST", pattern: "/api/v2/notifications/channels", permission: undefined, api: createChannel },
  {
    method: "HEAD",
    pattern: "/api/v2/notifications/channels/{channelId}",
    permission: undefined,
    api: probeChannel,
  },
  {
    method: "GET",
    pattern: "/api/v2/notifications/channels/{channelId}/subscriptions",
    permission: undefined,
    api: getSubscriptions,
  },
  {
    method: "PUT",
    pattern: "/api/v2/notifications/channels/{channelId}/subscriptions",
    permission: undefined,
    api: (ctx, deps) => changeSubscriptions(ctx, deps, "replace"),
  },
  {
    method: "POST",
    pattern: "/api/v2/notifications/channels/{channelId}/subscriptions",
    permission: undefined,
    api: (ctx, deps) => changeSubscriptions(ctx, deps, "add"),
  },
  {
    method: "DELETE",
    pattern: "/api/v2/notifications/channels/{channelId}/subscriptions",
    permission: undefined,
    api: deleteSubscriptions,
  },
];

/** A route ready for matching: its pattern as a regular expression, authentication in front of API handlers. */
export interface Route {
  method: string;
  /** The counter key, e.g. `GET /api/v2/oauth/clients/{clientId}`. */
  pattern: string;
  regex: RegExp;
  paramNames: string[];
  handle: (ctx: RequestContext) => Reply;
}

/** Binds the table to one emulator's state. */
export function compileRoutes(deps: RouteDependencies, routes = ROUTES): Route[] {
  return routes.map((definition) => {
    const handle =
      "api" in definition
        ? withBearer(deps.state, definition.permission, (ctx) => definition.api(ctx, deps))
        : (ctx: RequestContext) => definition.handle(ctx, deps);
    const paramNames: string[] = [];
    const source = definition.pattern.replace(/\{(\w+)\}/g, (_, name: string) => {
      paramNames.push(name);
      return "([^/]+)";
    });
    return {
      method: definition.method,
      pattern: definition.pattern,
      regex: new RegExp(`^${source}/?$`),
      paramNames,
      handle,
    };
  });
}

/** Which route serves `method path`; or the methods the path allows (→ 405); or none (→ 404). */
export type RouteMatch =
  | { kind: "route"; route: Route; params: Record<string, string> }
  | { kind: "method"; allowed: string[] }
  | { kind: "none" };

export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
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

function requestToken(ctx: RequestContext, { state, faults, counters, clock }: RouteDependencies): Reply {
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
  // The status is a knob: 400 observed by third parties, 401 allowed by RFC 6749 (a probe profile says which).
  const invalidClient = (description: string): Reply => ({
    ...oauthError("invalid_client", "invalid_client", description),
    status: faults.invalidClientStatus,
  });
  if (!credentials) return invalidClient("authentication failed");
  const authentication = state.authenticateClient(credentials.clientId, credentials.clientSecret);
  if (!authentication.ok) return invalidClient(authentication.reason);

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
}

function oauthError(
  errorKind: ErrorKind,
  error: string,
  description: string,
  headers?: Record<string, string>,
): Reply {
  return { status: 400, body: oauthErrorBody(error, description), errorKind, headers };
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
// Platform API: tokens and organisation

function getTokenInfo(ctx: ApiContext, { state }: RouteDependencies): Reply {
  return json(200, tokenInfoBody(state.getClient(ctx.clientId)!, state.organization));
}

/** HEAD: 200 without a body; the 401 comes from withBearer (also without a body). */
function probeToken(): Reply {
  return json(200);
}

function revokeToken(ctx: ApiContext, { state }: RouteDependencies): Reply {
  state.revokeToken(ctx.accessToken);
  return json(204);
}

function getOrganization(_ctx: ApiContext, { state }: RouteDependencies): Reply {
  return json(200, organizationBody(state.organization));
}

// ---------------------------------------------------------------------------------------------------
// Platform API: OAuth clients

function listOAuthClients(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const paging = parsePagingQuery(ctx.query);
  if (isRequestProblem(paging)) return badRequest(ctx, paging);
  return json(200, oauthClientListingBody(state.clients(), paging));
}

function createOAuthClient(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const parsed = parseJson(ctx);
  if ("reply" in parsed) return parsed.reply;
  const fields = parseOAuthClientRequest(parsed.value, clientContext(state));
  if (isRequestProblem(fields)) return badRequest(ctx, fields);
  return json(200, oauthClientBody(state.createClientFromApi(fields), { includeSecret: true }));
}

function getOAuthClient(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const client = state.getClient(ctx.params.clientId!);
  return client
    ? json(200, oauthClientBody(client, { includeSecret: false }))
    : notFound(ctx, "OAuth client");
}

function updateOAuthClient(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const id = ctx.params.clientId!;
  if (!state.getClient(id)) return notFound(ctx, "OAuth client");
  const parsed = parseJson(ctx);
  if ("reply" in parsed) return parsed.reply;
  const fields = parseOAuthClientRequest(parsed.value, clientContext(state));
  if (isRequestProblem(fields)) return badRequest(ctx, fields);
  return json(200, oauthClientBody(state.replaceClientFields(id, fields), { includeSecret: false }));
}

function deleteOAuthClient(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const id = ctx.params.clientId!;
  if (!state.getClient(id)) return notFound(ctx, "OAuth client");
  state.deleteClient(id);
  return json(204);
}

function regenerateClientSecret(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const id = ctx.params.clientId!;
  if (!state.getClient(id)) return notFound(ctx, "OAuth client");
  return json(200, oauthClientBody(state.regenerateSecret(id), { includeSecret: true }));
}

/** What validating a client request needs: the roles that exist and the home division. */
function clientContext(state: EmulatorState) {
  return {
    roles: new Map(state.roles().map((role) => [role.id, role])),
    homeDivisionId: state.organization.homeDivisionId,
  };
}

// ---------------------------------------------------------------------------------------------------
// Platform API: integration credentials

function getIntegrationCredential(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const credential = state.getIntegrationCredential(ctx.params.credentialId!);
  return credential ? json(200, integrationCredentialBody(credential)) : notFound(ctx, "Credential");
}

function updateIntegrationCredential(ctx: ApiContext, { state }: RouteDependencies): Reply {
  const id = ctx.params.credentialId!;
  if (!state.hasIntegrationCredential(id)) return notFound(ctx, "Credential");
  const parsed = parseJson(ctx);
  if ("reply" in parsed) return parsed.reply;
  const update = parseCredentialRequest(parsed.value);
  if (isRequestProblem(update)) return badRequest(ctx, update);
  state.replaceIntegrationCredential(id, update);
  return json(200, integrationCredentialInfoBody(state.getIntegrationCredential(id)!));
}

// ---------------------------------------------------------------------------------------------------
// Platform API: notification channels (notifications.ts holds the channels and their WebSockets)

function listChannels(ctx: ApiContext, { notifications }: RouteDependencies): Reply {
  const scope = ctx.query.get("includechannels") === "oauthclient" ? "oauthclient" : "token";
  return json(200, { entities: notifications.listChannels(ctx.clientId, ctx.accessToken, scope) });
}

function createChannel(ctx: ApiContext, { notifications }: RouteDependencies): Reply {
  return json(200, notifications.createChannel(ctx.clientId, ctx.accessToken));
}

/** HEAD: 200 while the channel exists, 404 once it expired or was replaced (no body either way). */
function probeChannel(ctx: ApiContext, { notifications }: RouteDependencies): Reply {
  return notifications.hasChannel(ctx.clientId, ctx.params.channelId!) ? json(200) : notFound(ctx, "Channel");
}

function getSubscriptions(ctx: ApiContext, { notifications }: RouteDependencies): Reply {
  const id = ctx.params.channelId!;
  if (!notifications.hasChannel(ctx.clientId, id)) return notFound(ctx, "Channel");
  return json(200, topicListing(notifications.topicsOf(id)));
}

function changeSubscriptions(
  ctx: ApiContext,
  { notifications }: RouteDependencies,
  mode: "replace" | "add",
): Reply {
  const id = ctx.params.channelId!;
  if (!notifications.hasChannel(ctx.clientId, id)) return notFound(ctx, "Channel");
  const parsed = parseJson(ctx);
  if ("reply" in parsed) return parsed.reply;
  const topics = notifications.subscribe(id, parsed.value, mode);
  if (!Array.isArray(topics)) return badRequest(ctx, topics);
  return json(200, topicListing(topics));
}

function deleteSubscriptions(ctx: ApiContext, { notifications }: RouteDependencies): Reply {
  const id = ctx.params.channelId!;
  if (!notifications.hasChannel(ctx.clientId, id)) return notFound(ctx, "Channel");
  notifications.unsubscribeAll(id);
  return json(204);
}

/** `ChannelTopicEntityListing`. */
function topicListing(topics: readonly string[]): { entities: { id: string }[] } {
  return { entities: topics.map((id) => ({ id })) };
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

function json(status: number, body?: unknown): Reply {
  return { status, body };
}

function notFound(ctx: RequestContext, what: string): Reply {
  return {
    status: 404,
    body: apiErrorBody(
      404,
      "not.found",
      `${what} [${Object.values(ctx.params)[0]}] was not found.`,
      ctx.correlationId,
    ),
    errorKind: "404",
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
