/**
 * The few Genesys Cloud Platform API operations the rotator needs, called with a bearer token.
 * Response bodies are validated (zod/mini) before anything reads them: a body of the wrong shape is a
 * GenesysProtocolError naming the field, never a silent `undefined` deep inside the rotation logic.
 * Field names are the real API's (`OAuthClient` in TokenInfo, `roleDivisions`, `authorizedGrantType`...).
 */
import * as z from "zod/mini";
import { ValidationError } from "../errors.ts";
import { defaultRule, schemaProblems } from "../schema-issues.ts";
import type { GenesysEndpoints } from "./environments.ts";
import {
  type GenesysCallOptions,
  type GenesysHttpRequest,
  type GenesysHttpResponse,
  sendGenesysRequest,
} from "./http.ts";
import { errorForStatus, parseJsonBody, responseFieldError } from "./responses.ts";

// Re-exported because docs/ARCHITECTURE.md lists the call options with this module.
export type { GenesysCallOptions } from "./http.ts";

/** A role granted to a client-credentials client in one division (`"*"` = all divisions). */
export interface RoleDivision {
  roleId: string;
  divisionId: string;
}

/** OAuth client states: `active` mints tokens; `inactive` cannot mint (customer-set); `disabled` is set by support. */
export type OAuthClientState = "active" | "inactive" | "disabled" | "deleted";

/** An OAuth client as `GET/PUT /api/v2/oauth/clients/{id}` return it (no secret since June 2025). */
export interface OAuthClient {
  id: string;
  name: string;
  description?: string;
  /** Lifetime of the tokens this client mints, 300–172800 s. */
  accessTokenValiditySeconds: number;
  /** `CLIENT-CREDENTIALS` for the clients this project manages (hyphenated on the wire). */
  authorizedGrantType: string;
  /** Roles of a client-credentials client; empty when it has none. */
  roleDivisions: RoleDivision[];
  state: OAuthClientState;
  dateCreated?: string;
  dateModified?: string;
}

/** The body of `POST /api/v2/oauth/clients` and `PUT /api/v2/oauth/clients/{id}` (PUT replaces the client). */
export interface OAuthClientRequest {
  name: string;
  description?: string;
  /** @default 86400 (Genesys' default) */
  accessTokenValiditySeconds?: number;
  authorizedGrantType: "CLIENT-CREDENTIALS";
  roleDivisions: RoleDivision[];
  /** Customers may set only these two. @default "active" */
  state?: "active" | "inactive";
}

/**
 * One entry of `GET /api/v2/oauth/clients`. Only `id` and `name` are validated: an organisation holds
 * clients of every grant type, and one whose shape this project does not vouch for must not make the whole
 * listing unreadable. Read a client in full with {@link GenesysApi.getOAuthClient}.
 */
export interface OAuthClientSummary {
  id: string;
  name: string;
}

/**
 * One page of `GET /api/v2/oauth/clients` (`OAuthClientEntityListing`). The paging fields are optional
 * because the SDKs model the endpoint without paging parameters (docs/genesys-facts.md#oauth-clients): a server that ignores
 * them answers with everything on one page.
 */
export interface OAuthClientListing {
  entities: OAuthClientSummary[];
  pageNumber?: number;
  pageSize?: number;
  /** Clients in the organisation, across all pages. */
  total?: number;
  pageCount?: number;
}

/** Paging of {@link GenesysApi.listOAuthClients}; absent values are not sent (the server's defaults apply). */
export interface ListOAuthClientsOptions {
  /** Entries per page, 1–{@link MAX_OAUTH_CLIENT_PAGE_SIZE}. */
  pageSize?: number;
  /** 1-based page number. */
  pageNumber?: number;
}

/**
 * The largest page {@link GenesysApi.listOAuthClients} asks for, and the one
 * {@link GenesysApi.findOAuthClientsByName} uses (Genesys listings cap `pageSize`; 100 is the common cap).
 */
export const MAX_OAUTH_CLIENT_PAGE_SIZE = 100;
/** Pages {@link GenesysApi.findOAuthClientsByName} reads at most: a bound on a server that never ends a listing. */
const MAX_OAUTH_CLIENT_PAGES = 20;

/** What `GET /api/v2/tokens/me` says about the calling token. The key `OAuthClient` is the API's spelling. */
export interface TokenInfo {
  organization: { id: string; name: string };
  homeOrganization?: { id: string; name: string };
  /** The OAuth client that minted the token, with its organisation. */
  OAuthClient: {
    id: string;
    name: string;
    organization: { id: string; name: string };
    authorizedGrantType?: string;
    roleDivisions?: RoleDivision[];
    state?: string;
  };
  /** When the token expires through idleness (HIPAA orgs), ISO-8601. */
  dateTokenIdles?: string;
}

/** An integration credential (`GET /api/v2/integrations/credentials/{id}`); sensitive fields are not returned. */
export interface IntegrationCredentialInfo {
  id: string;
  name: string;
  /** The credential type, e.g. `{ name: "pureCloudOAuthClient" }`. */
  type: { name: string };
  /** The non-sensitive fields Genesys returns (e.g. `clientId`), when any. */
  credentialFields?: Record<string, string>;
}

const nonEmptyString = z.string().check(z.minLength(1));
const namedEntity = z.object({ id: nonEmptyString, name: z.string() });
const roleDivisionSchema = z.object({ roleId: nonEmptyString, divisionId: nonEmptyString });
const roleDivisionsSchema = z._default(z.array(roleDivisionSchema), () => []);

const oauthClientSchema = z.object({
  id: nonEmptyString,
  name: z.string(),
  description: z.optional(z.string()),
  accessTokenValiditySeconds: z.int().check(z.positive()),
  authorizedGrantType: nonEmptyString,
  roleDivisions: roleDivisionsSchema,
  state: z.enum(["active", "inactive", "disabled", "deleted"]),
  dateCreated: z.optional(z.string()),
  dateModified: z.optional(z.string()),
});

const oauthClientWithSecretSchema = z.extend(oauthClientSchema, {
  // Printable ASCII without whitespace, as the secret-value schema requires (so it can be stored).
  secret: z.string().check(z.regex(/^[\x21-\x7e]{1,512}$/)),
});

const optionalCount = z.optional(z.int().check(z.nonnegative()));
const oauthClientListingSchema = z.object({
  entities: z._default(z.array(namedEntity), () => []),
  pageNumber: optionalCount,
  pageSize: optionalCount,
  total: optionalCount,
  pageCount: optionalCount,
});

const tokenInfoSchema = z.object({
  organization: namedEntity,
  homeOrganization: z.optional(namedEntity),
  OAuthClient: z.object({
    id: nonEmptyString,
    name: z.string(),
    organization: namedEntity,
    authorizedGrantType: z.optional(z.string()),
    roleDivisions: z.optional(z.array(roleDivisionSchema)),
    state: z.optional(z.string()),
  }),
  dateTokenIdles: z.optional(z.string()),
});

const integrationCredentialSchema = z.object({
  id: nonEmptyString,
  name: z.string(),
  type: z.object({ name: nonEmptyString }),
  credentialFields: z.optional(z.record(z.string(), z.string())),
});

/**
 * A Platform API session with one bearer token. Every method accepts per-call options that override
 * the constructor's (e.g. a tighter `deadline`).
 *
 * Retries: GET, HEAD, PUT and DELETE are repeated on transient failures and throttling; secret
 * regeneration and client creation are repeated only when the request never reached the server (or was
 * refused with 429 before running), because repeating them would create a second client or discard a
 * secret that was generated and returned in a lost response.
 */
export class GenesysApi {
  readonly #endpoints: GenesysEndpoints;
  readonly #accessToken: string; // private field: not shown by console.log / util.inspect
  readonly #options: GenesysCallOptions;

  /**
   * @param endpoints from `resolveEndpoints` (only its `apiBaseUrl` is used).
   * @param accessToken a bearer token; secret, never logged.
   * @throws ValidationError when the token is empty or contains whitespace/control characters.
   */
  constructor(endpoints: GenesysEndpoints, accessToken: string, options: GenesysCallOptions = {}) {
    if (typeof accessToken !== "string" || !/^[\x21-\x7e]+$/.test(accessToken)) {
      throw new ValidationError("GenesysApi", "accessToken", "must be a non-empty string of printable ASCII");
    }
    this.#endpoints = endpoints;
    this.#accessToken = accessToken;
    this.#options = options;
  }

  /** `GET /api/v2/oauth/clients/{id}` (permission `oauth:client:view`). */
  getOAuthClient(id: string, options?: GenesysCallOptions): Promise<OAuthClient> {
    return this.#call({ method: "GET", path: clientPath(id), idempotent: true }, options, (response) =>
      validateBody(oauthClientSchema, response),
    );
  }

  /**
   * `GET /api/v2/oauth/clients` (permission `oauth:client:view`): one page of the organisation's OAuth
   * clients, as summaries (see {@link OAuthClientSummary}).
   * @throws ValidationError when a paging value is not an integer in range (nothing is sent).
   */
  listOAuthClients(
    paging: ListOAuthClientsOptions = {},
    options?: GenesysCallOptions,
  ): Promise<OAuthClientListing> {
    const query = new URLSearchParams();
    if (paging.pageSize !== undefined) {
      query.set("pageSize", String(pagingValue(paging.pageSize, "pageSize", MAX_OAUTH_CLIENT_PAGE_SIZE)));
    }
    if (paging.pageNumber !== undefined) {
      query.set("pageNumber", String(pagingValue(paging.pageNumber, "pageNumber", Number.MAX_SAFE_INTEGER)));
    }
    return this.#call(
      {
        method: "GET",
        path: "/api/v2/oauth/clients",
        ...(query.size === 0 ? {} : { query: query.toString() }),
        idempotent: true,
      },
      options,
      (response) => validateBody(oauthClientListingSchema, response),
    );
  }

  /**
   * The OAuth clients named exactly `name`, read in full: pages through {@link listOAuthClients} (at most
   * 20 pages of {@link MAX_OAUTH_CLIENT_PAGE_SIZE}) and then GETs each match. Names are not unique in
   * Genesys, so the result may hold several clients (or none).
   */
  async findOAuthClientsByName(name: string, options?: GenesysCallOptions): Promise<OAuthClient[]> {
    const matches = new Set<string>();
    for (let page = 1; page <= MAX_OAUTH_CLIENT_PAGES; page++) {
      const listing = await this.listOAuthClients(
        { pageSize: MAX_OAUTH_CLIENT_PAGE_SIZE, pageNumber: page },
        options,
      );
      for (const entity of listing.entities) if (entity.name === name) matches.add(entity.id);
      // A short page is the last one; so is the only page of a server that ignores the paging parameters.
      if (listing.entities.length < MAX_OAUTH_CLIENT_PAGE_SIZE || (listing.pageCount ?? 1) <= page) break;
    }
    return Promise.all([...matches].map((id) => this.getOAuthClient(id, options)));
  }

  /**
   * `POST /api/v2/oauth/clients` (`oauth:client:add`). The response is the ONLY time Genesys returns the
   * new client's secret: persist it at once.
   */
  createOAuthClient(
    request: OAuthClientRequest,
    options?: GenesysCallOptions,
  ): Promise<OAuthClient & { secret: string }> {
    return this.#call(
      { method: "POST", path: "/api/v2/oauth/clients", body: request, idempotent: false },
      options,
      (response) => validateBody(oauthClientWithSecretSchema, response),
    );
  }

  /** `PUT /api/v2/oauth/clients/{id}` (`oauth:client:edit`): replaces the client's editable fields. */
  updateOAuthClient(
    id: string,
    request: OAuthClientRequest,
    options?: GenesysCallOptions,
  ): Promise<OAuthClient> {
    return this.#call(
      { method: "PUT", path: clientPath(id), body: request, idempotent: true },
      options,
      (response) => validateBody(oauthClientSchema, response),
    );
  }

  /**
   * `DELETE /api/v2/oauth/clients/{id}` (`oauth:client:delete`). Genesys requires the client to be
   * `inactive` first. A retried DELETE whose first attempt succeeded unseen ends in GenesysNotFoundError.
   */
  async deleteOAuthClient(id: string, options?: GenesysCallOptions): Promise<void> {
    await this.#call({ method: "DELETE", path: clientPath(id), idempotent: true }, options, () => undefined);
  }

  /**
   * `POST /api/v2/oauth/clients/{id}/secret` (`oauth:client:edit`): Genesys generates a new secret, the
   * old one stops minting tokens, and the response is the only copy of the new secret — persist it at
   * once. The new secret may be rejected for a few seconds (propagation); poll, do not sleep.
   */
  regenerateClientSecret(
    id: string,
    options?: GenesysCallOptions,
  ): Promise<OAuthClient & { secret: string }> {
    return this.#call(
      { method: "POST", path: `${clientPath(id)}/secret`, idempotent: false },
      options,
      (response) => validateBody(oauthClientWithSecretSchema, response),
    );
  }

  /**
   * `GET /api/v2/tokens/me?preserveIdleTTL=true` (no permission needed): which client and organisation
   * this token belongs to, without resetting a HIPAA idle timer.
   */
  getTokenInfo(options?: GenesysCallOptions): Promise<TokenInfo> {
    return this.#call(
      { method: "GET", path: "/api/v2/tokens/me", query: "preserveIdleTTL=true", idempotent: true },
      options,
      (response) => validateBody(tokenInfoSchema, response),
    );
  }

  /** `HEAD /api/v2/tokens/me`: true when the token is accepted (2xx), false when rejected (401). */
  probeToken(options?: GenesysCallOptions): Promise<boolean> {
    // 401 is an answer here, not a failure; every other non-2xx status still throws.
    return this.#call(
      { method: "HEAD", path: "/api/v2/tokens/me", idempotent: true },
      options,
      (response) => response.status !== 401,
      [401],
    );
  }

  /** `GET /api/v2/organizations/me` (no permission needed). */
  getOrganization(options?: GenesysCallOptions): Promise<{ id: string; name: string }> {
    return this.#call(
      { method: "GET", path: "/api/v2/organizations/me", idempotent: true },
      options,
      (response) => validateBody(namedEntity, response),
    );
  }

  /** `GET /api/v2/integrations/credentials/{id}` (`integrations:integration:view`). */
  getIntegrationCredential(id: string, options?: GenesysCallOptions): Promise<IntegrationCredentialInfo> {
    return this.#call(
      { method: "GET", path: `/api/v2/integrations/credentials/${pathId(id)}`, idempotent: true },
      options,
      (response) => validateBody(integrationCredentialSchema, response),
    );
  }

  /**
   * `PUT /api/v2/integrations/credentials/{id}` (`integrations:integration:edit`): replaces name, type and
   * fields, e.g. `{ name, type: "pureCloudOAuthClient", credentialFields: { clientId, clientSecret } }`.
   */
  async updateIntegrationCredential(
    id: string,
    update: { name: string; type: string; credentialFields: Record<string, string> },
    options?: GenesysCallOptions,
  ): Promise<void> {
    const body = {
      name: update.name,
      type: { name: update.type },
      credentialFields: update.credentialFields,
    };
    await this.#call(
      { method: "PUT", path: `/api/v2/integrations/credentials/${pathId(id)}`, body, idempotent: true },
      options,
      () => undefined,
    );
  }

  #call<T>(
    call: {
      method: GenesysHttpRequest["method"];
      path: string;
      query?: string;
      body?: unknown;
      idempotent: boolean;
    },
    options: GenesysCallOptions | undefined,
    interpretSuccess: (response: GenesysHttpResponse) => T,
    alsoAccepted: readonly number[] = [],
  ): Promise<T> {
    const request: GenesysHttpRequest = {
      operation: `${call.method} ${call.path}`,
      method: call.method,
      url: `${this.#endpoints.apiBaseUrl}${call.path}${call.query === undefined ? "" : `?${call.query}`}`,
      headers: {
        authorization: `Bearer ${this.#accessToken}`,
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
      idempotent: call.idempotent,
    };
    return sendGenesysRequest(
      request,
      (response) => {
        const ok =
          (response.status >= 200 && response.status < 300) || alsoAccepted.includes(response.status);
        if (!ok) throw errorForStatus(response);
        return interpretSuccess(response);
      },
      { ...this.#options, ...options },
    );
  }
}

function clientPath(id: string): string {
  return `/api/v2/oauth/clients/${pathId(id)}`;
}

/** Validates an id used in a path and encodes it, so an id can never change the path it is sent to. */
function pathId(id: string): string {
  if (typeof id !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(id)) {
    throw new ValidationError("Genesys API call", "id", "must be 1-128 characters of [A-Za-z0-9._-]");
  }
  return encodeURIComponent(id);
}

function pagingValue(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError("Genesys API call", field, `must be an integer from 1 to ${max}`);
  }
  return value;
}

/**
 * Parses and validates a JSON body, or throws GenesysProtocolError naming the first offending field
 * and the rule (zod's issue text is not used: it can quote received values).
 */
function validateBody<T>(schema: z.ZodMiniType<T>, response: GenesysHttpResponse): T {
  const result = schema.safeParse(parseJsonBody(response), { error: defaultRule });
  if (result.success) return result.data;
  const problem = schemaProblems(result.error, { root: "(body)" })[0] ?? {
    path: "(body)",
    rule: "is invalid",
  };
  throw responseFieldError(response, problem.path, problem.rule);
}
