/**
 * Genesys Cloud wire shapes: response bodies, error bodies and request-body validation. Field names and
 * codes follow docs/genesys-facts.md (SDK models, Genesys' normalised 429 announcement, observed errors);
 * README "Fidelity" lists which of them are confirmed.
 */
import {
  type ClientFields,
  type ClientSnapshot,
  isValidTokenValidity,
  type Organization,
  type Role,
  type RoleDivision,
} from "./state.ts";

/** The Platform API error body (`ErrorBody` in the SDKs). */
export interface ApiErrorBody {
  message: string;
  code: string;
  status: number;
  contextId: string;
  details: unknown[];
  errors: unknown[];
}

/** The login service error body (`AuthErrorResponse` in the Go SDK). */
export interface OAuthErrorBody {
  error: string;
  description: string;
  error_description: string;
}

/** Builds a Platform API error body; `contextId` is the response's ININ-Correlation-Id. */
export function apiErrorBody(status: number, code: string, message: string, contextId: string): ApiErrorBody {
  return { message, code, status, contextId, details: [], errors: [] };
}

/** Builds a login-service error body; Genesys repeats the description in both fields. */
export function oauthErrorBody(error: string, description: string): OAuthErrorBody {
  return { error, description, error_description: description };
}

/** Standard Genesys messages, kept in one place so every route words them the same way. */
export const MESSAGES = {
  authenticationRequired: "No authentication bearer token specified in authorization header.",
  badCredentials: "Invalid login credentials.",
  credentialsExpired: "The supplied credentials are expired and cannot be used.",
  badRequest: "The request could not be understood by the server due to malformed syntax.",
  notFound: "The requested resource was not found.",
  unsupportedMediaType:
    "Unsupported Media Type - Unsupported or incorrect media type, such as an incorrect Content-Type value in the header.",
  rateLimited: (seconds: number) =>
    `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
  missingAnyPermission: (permissions: readonly string[]) =>
    `Unable to perform the requested action. You must have at least one of the following permissions assigned: [${permissions.join(", ")}]`,
} as const;

/** Status → code/message of the injected 5xx responses. */
export const SERVER_ERRORS: Record<number, { code: string; message: string }> = {
  500: {
    code: "internal.server.error",
    message: "The server encountered an unexpected condition which prevented it from fulfilling the request.",
  },
  502: { code: "bad.gateway", message: "Bad Gateway" },
  503: {
    code: "service.unavailable",
    message:
      "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
  },
  504: { code: "request.timeout", message: "The request timed out." },
};

const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The fields `OAuthClient` and TokenInfo's `OAuthClient` share, as both render them. */
function clientCoreBody(client: ClientSnapshot): Record<string, unknown> {
  return {
    id: client.id,
    name: client.name,
    dateCreated: iso(client.dateCreated),
    dateModified: iso(client.dateModified),
    authorizedGrantType: client.authorizedGrantType,
    scope: [],
    roleDivisions: client.roleDivisions.map((rd) => ({ ...rd })),
    state: client.state,
  };
}

/** `OAuthClient` as `GET/PUT /api/v2/oauth/clients/{id}` return it; `secret` only when asked (POST create / regenerate). */
export function oauthClientBody(
  client: ClientSnapshot,
  options: { includeSecret: boolean },
): Record<string, unknown> {
  return {
    ...clientCoreBody(client),
    accessTokenValiditySeconds: client.accessTokenValiditySeconds,
    ...(client.description === undefined ? {} : { description: client.description }),
    registeredRedirectUri: [],
    ...(options.includeSecret ? { secret: client.secret } : {}),
    roleIds: [...new Set(client.roleDivisions.map((rd) => rd.roleId))],
    selfUri: `/api/v2/oauth/clients/${client.id}`,
  };
}

/**
 * `OAuthClientEntityListing`. The SDKs model the endpoint without paging parameters (docs/genesys-facts.md#oauth-clients), so
 * without `pageSize` one page holds everything; given `pageSize` (and `pageNumber`, default 1) the clients
 * are paged as Genesys' other listings are (verify against the real API).
 */
export function oauthClientListingBody(
  clients: readonly ClientSnapshot[],
  paging: { pageSize?: number; pageNumber?: number } = {},
): Record<string, unknown> {
  const uri = "/api/v2/oauth/clients";
  const pageSize = paging.pageSize ?? Math.max(25, clients.length);
  const pageNumber = paging.pageNumber ?? 1;
  const pageCount = Math.max(1, Math.ceil(clients.length / pageSize));
  const pageUri = (page: number) => `${uri}?pageSize=${pageSize}&pageNumber=${page}`;
  return {
    entities: clients
      .slice((pageNumber - 1) * pageSize, pageNumber * pageSize)
      .map((client) => oauthClientBody(client, { includeSecret: false })),
    pageSize,
    pageNumber,
    total: clients.length,
    firstUri: pageUri(1),
    selfUri: pageUri(pageNumber),
    ...(pageNumber < pageCount ? { nextUri: pageUri(pageNumber + 1) } : {}),
    ...(pageNumber > 1 ? { previousUri: pageUri(pageNumber - 1) } : {}),
    lastUri: pageUri(pageCount),
    pageCount,
  };
}

/**
 * Reads the `pageSize` / `pageNumber` query parameters of a listing: absent, or positive integers
 * (`pageSize` at most 500, `pageNumber` at most 1,000,000).
 */
export function parsePagingQuery(
  query: URLSearchParams,
): { pageSize?: number; pageNumber?: number } | RequestProblem {
  const paging: { pageSize?: number; pageNumber?: number } = {};
  for (const [field, max] of [
    ["pageSize", 500],
    ["pageNumber", 1_000_000],
  ] as const) {
    const raw = query.get(field);
    if (raw === null) continue;
    const value = Number(raw);
    if (!/^\d{1,7}$/.test(raw) || value < 1 || value > max) {
      return {
        code: "invalid.value",
        message: `Value [${raw.slice(0, 20)}] is not valid for field [${field}]: an integer from 1 to ${max}.`,
      };
    }
    paging[field] = value;
  }
  return paging;
}

/** `TokenInfo` for a client-credentials token (`GET /api/v2/tokens/me`). The key really is `OAuthClient`. */
export function tokenInfoBody(client: ClientSnapshot, org: Required<Organization>): Record<string, unknown> {
  const organization = { id: org.id, name: org.name, selfUri: `/api/v2/organizations/${org.id}` };
  return {
    organization,
    homeOrganization: { ...organization },
    authorizedScope: [],
    OAuthClient: { ...clientCoreBody(client), organization: { id: org.id, name: org.name } },
  };
}

/** `Organization` (`GET /api/v2/organizations/me`). */
export function organizationBody(org: Required<Organization>): Record<string, unknown> {
  return {
    id: org.id,
    name: org.name,
    defaultLanguage: "en-us",
    defaultCountryCode: "US",
    thirdPartyOrgName: org.domain,
    domain: org.domain,
    version: 1,
    state: "active",
    productPlatform: "PureCloud",
    selfUri: `/api/v2/organizations/${org.id}`,
  };
}

/** `Credential` (`GET /api/v2/integrations/credentials/{id}`): sensitive fields redacted (omitted). */
export function integrationCredentialBody(credential: {
  id: string;
  name: string;
  type: string;
  credentialFields: Record<string, string>;
}): Record<string, unknown> {
  return {
    id: credential.id,
    name: credential.name,
    type: { name: credential.type },
    credentialFields: Object.fromEntries(
      Object.entries(credential.credentialFields).filter(([key]) => !SENSITIVE_FIELD.test(key)),
    ),
    selfUri: `/api/v2/integrations/credentials/${credential.id}`,
  };
}

/** `CredentialInfo` (`PUT /api/v2/integrations/credentials/{id}`). */
export function integrationCredentialInfoBody(credential: {
  id: string;
  name: string;
  type: string;
  dateModified: number;
}): Record<string, unknown> {
  return {
    id: credential.id,
    name: credential.name,
    modifiedDate: iso(credential.dateModified),
    type: { name: credential.type },
    selfUri: `/api/v2/integrations/credentials/${credential.id}`,
  };
}

const SENSITIVE_FIELD = /secret|password|token|key/i;

// ---------------------------------------------------------------------------------------------------
// Request validation. A failure is `{ code, message }` for a 400 body; the message names the field.

/** A 400 verdict on a request body. */
export interface RequestProblem {
  code: "bad.request" | "invalid.value";
  message: string;
}

/**
 * Checks what both request bodies modelled here require: a JSON object with a non-empty string `name`.
 * Returns the problem, or undefined when the body passes.
 */
function namedObjectProblem(body: unknown): RequestProblem | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { code: "bad.request", message: MESSAGES.badRequest };
  }
  const { name } = body as Record<string, unknown>;
  if (typeof name !== "string" || name.trim() === "") {
    return { code: "bad.request", message: "The field [name] is required and must be a non-empty string." };
  }
  return undefined;
}

/** True for a {@link RequestProblem} verdict (rather than a parsed value). */
export function isRequestProblem<T>(value: T | RequestProblem): value is RequestProblem {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

/** `authorizedGrantType` values of the real API (hyphenated). Only CLIENT-CREDENTIALS is modelled. */
const GRANT_TYPES = ["CODE", "TOKEN", "SAML2-BEARER", "PASSWORD", "CLIENT-CREDENTIALS"];

/**
 * Validates an `OAuthClientRequest` (POST create / PUT replace). PUT has replace semantics: omitted
 * optional fields fall back to their defaults (validity 86400, state active, no roles, no description).
 * `secret` in the body is ignored, as the request model has no such field.
 */
export function parseOAuthClientRequest(
  body: unknown,
  context: { roles: ReadonlyMap<string, Role>; homeDivisionId: string },
): ClientFields | RequestProblem {
  const problem = namedObjectProblem(body);
  if (problem !== undefined) return problem;
  const request = body as Record<string, unknown> & { name: string };
  if (request.authorizedGrantType === undefined) {
    return { code: "bad.request", message: "The field [authorizedGrantType] is required." };
  }
  if (!GRANT_TYPES.includes(request.authorizedGrantType as string)) {
    return {
      code: "invalid.value",
      message: `Value [${String(request.authorizedGrantType)}] is not valid for field type [authorizedGrantType]. Allowable values are: ${GRANT_TYPES.join(", ")}`,
    };
  }
  if (request.authorizedGrantType !== "CLIENT-CREDENTIALS") {
    return {
      code: "bad.request",
      message:
        "The emulator models CLIENT-CREDENTIALS clients only; [authorizedGrantType] must be CLIENT-CREDENTIALS.",
    };
  }
  let accessTokenValiditySeconds = 86_400;
  if (request.accessTokenValiditySeconds !== undefined) {
    if (!isValidTokenValidity(request.accessTokenValiditySeconds)) {
      return {
        code: "bad.request",
        message: "The field [accessTokenValiditySeconds] must be an integer between 300 and 172800.",
      };
    }
    accessTokenValiditySeconds = request.accessTokenValiditySeconds;
  }
  let state: "active" | "inactive" = "active";
  if (request.state !== undefined) {
    if (request.state !== "active" && request.state !== "inactive") {
      return {
        code: "invalid.value",
        message: `Value [${String(request.state)}] is not valid for field type [state]. Allowable values are: active, inactive`,
      };
    }
    state = request.state;
  }
  let description: string | undefined;
  if (request.description !== undefined && request.description !== null) {
    if (typeof request.description !== "string") {
      return { code: "bad.request", message: "The field [description] must be a string." };
    }
    description = request.description;
  }
  const roleDivisions = parseRoleDivisions(request, context);
  if (!Array.isArray(roleDivisions)) return roleDivisions;
  return { name: request.name, description, accessTokenValiditySeconds, roleDivisions, state };
}

function parseRoleDivisions(
  request: Record<string, unknown>,
  context: { roles: ReadonlyMap<string, Role>; homeDivisionId: string },
): RoleDivision[] | RequestProblem {
  // roleIds is deprecated but still accepted: each role in the home division.
  const raw =
    request.roleDivisions ??
    (Array.isArray(request.roleIds) ? request.roleIds.map((roleId) => ({ roleId })) : undefined) ??
    [];
  if (!Array.isArray(raw))
    return { code: "bad.request", message: "The field [roleDivisions] must be an array." };
  const result: RoleDivision[] = [];
  for (const [i, entry] of raw.entries()) {
    const rd = entry as Record<string, unknown> | null;
    if (typeof rd !== "object" || rd === null || typeof rd.roleId !== "string") {
      return { code: "bad.request", message: `The field [roleDivisions[${i}].roleId] is required.` };
    }
    if (!context.roles.has(rd.roleId)) {
      return {
        code: "bad.request",
        message: `Role [${rd.roleId}] in [roleDivisions[${i}].roleId] does not exist.`,
      };
    }
    if (rd.divisionId !== undefined && typeof rd.divisionId !== "string") {
      return { code: "bad.request", message: `The field [roleDivisions[${i}].divisionId] must be a string.` };
    }
    result.push({
      roleId: rd.roleId,
      divisionId: (rd.divisionId as string | undefined) ?? context.homeDivisionId,
    });
  }
  return result;
}

/** Validates the `Credential` body of `PUT /api/v2/integrations/credentials/{id}`: `{name, type: {name}, credentialFields}`. */
export function parseCredentialRequest(
  body: unknown,
): { name: string; type: string; credentialFields: Record<string, string> } | RequestProblem {
  const problem = namedObjectProblem(body);
  if (problem !== undefined) return problem;
  const request = body as Record<string, unknown> & { name: string };
  const type = request.type as Record<string, unknown> | undefined;
  // The wire model is CredentialType {name, ...}; a bare string does not deserialise in the real API.
  if (typeof type !== "object" || type === null || typeof type.name !== "string" || type.name === "") {
    return {
      code: "bad.request",
      message: "The field [type] must be an object with a non-empty [type.name].",
    };
  }
  const fields = request.credentialFields as Record<string, unknown> | undefined;
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    return { code: "bad.request", message: "The field [credentialFields] must be an object of strings." };
  }
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value !== "string") {
      return { code: "bad.request", message: `The field [credentialFields.${key}] must be a string.` };
    }
  }
  return { name: request.name, type: type.name, credentialFields: fields as Record<string, string> };
}

/** True when `granted` (which may use `*` segments, e.g. `oauth:client:*` or `*`) covers `required`. */
export function permissionCovers(granted: string, required: string): boolean {
  const have = granted.split(":");
  const need = required.split(":");
  if (have.length === 1 && have[0] === "*") return true;
  return need.every((segment, i) => have[i] === "*" || have[i] === segment);
}
