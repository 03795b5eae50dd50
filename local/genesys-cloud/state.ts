/**
 * The emulated organisation: roles, OAuth clients (each with ONE current secret), access tokens and
 * integration credentials, plus the rules that decide whether a secret or a token is accepted. The HTTP
 * layer (emulator.ts) only translates these decisions into Genesys wire responses.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "../../lambda/shared/clock.ts";
import { ValidationError } from "../../lambda/shared/errors.ts";
import { GENESYS_ID_PATTERN, GENESYS_ID_RULE } from "../../lambda/shared/secret-value.ts";
import type { EmulatorCounters } from "./counters.ts";
import type { EmulatorFaults } from "./faults.ts";
import type { IssuedCredentials } from "./issued.ts";

/** OAuth client states as Genesys documents them. Customers set active/inactive; support sets disabled. */
export type ClientState = "active" | "inactive" | "disabled";
export const CLIENT_STATES: readonly ClientState[] = ["active", "inactive", "disabled"];

/** Genesys' documented range for `accessTokenValiditySeconds` (5 min to 48 h), and its default (24 h). */
export const MIN_TOKEN_VALIDITY_SECONDS = 300;
export const MAX_TOKEN_VALIDITY_SECONDS = 172_800;
export const DEFAULT_TOKEN_VALIDITY_SECONDS = 86_400;

/** A role assignment of a client-credentials client. */
export interface RoleDivision {
  roleId: string;
  divisionId: string;
}

/** An authorization role: a name and its permission strings (`domain:entity:action`, `*` wildcards allowed). */
export interface Role {
  id: string;
  name: string;
  permissions: string[];
}

/** The organisation every client and token belongs to. */
export interface Organization {
  id: string;
  name: string;
  /** Short org name (`thirdPartyOrgName` in Genesys). @default derived from `name` */
  domain?: string;
  /** The division used when a roleDivision omits `divisionId`. @default a fixed UUID */
  homeDivisionId?: string;
}

/** A client-credentials OAuth client as a state file (or `state.addClient`) describes it. */
export interface ClientSeed {
  id: string;
  name: string;
  /** The client's current secret. `state.addClient` generates one when omitted. */
  secret: string;
  roleDivisions: RoleDivision[];
  /** @default 86400 */
  accessTokenValiditySeconds?: number;
  /** @default "active" */
  state?: ClientState;
  description?: string;
}

/** An integration credential (e.g. type `pureCloudOAuthClient` holding a client id and secret). */
export interface IntegrationCredentialSeed {
  id: string;
  name: string;
  /** Credential type name, e.g. `pureCloudOAuthClient`. */
  type: string;
  credentialFields: Record<string, string>;
}

/** The emulator state file format (see README "Emulator state file"). */
export interface GenesysState {
  organization: Organization;
  roles: Role[];
  clients: ClientSeed[];
  integrationCredentials?: IntegrationCredentialSeed[];
}

/** What `state.getClient` returns: the client as Genesys stores it, INCLUDING its current secret (tests only). */
export interface ClientSnapshot {
  id: string;
  name: string;
  description: string | undefined;
  secret: string;
  roleDivisions: RoleDivision[];
  accessTokenValiditySeconds: number;
  authorizedGrantType: "CLIENT-CREDENTIALS";
  state: ClientState;
  /** Epoch ms (emulator clock). */
  dateCreated: number;
  dateModified: number;
  /** Epoch ms from which the current secret is accepted (creation/regeneration + propagation delay). */
  secretUsableFrom: number;
  /** Incremented by every regeneration (0 for the seeded or created secret). */
  secretGeneration: number;
}

/** An issued access token. */
export interface TokenRecord {
  clientId: string;
  issuedAt: number;
  expiresAt: number;
  /** The client's `secretGeneration` when the token was issued. */
  secretGeneration: number;
}

/** The state file (or a seed object) is invalid. Names the field and the rule, never a value. */
export class GenesysStateError extends ValidationError {
  override readonly name = "GenesysStateError";

  constructor(field: string, rule: string) {
    super("Genesys emulator state", field, rule);
  }
}

/** Result of checking client credentials at the token endpoint. */
export type ClientAuthentication =
  | { ok: true; client: ClientSnapshot }
  | { ok: false; reason: "client not found" | "authentication failed" };

/** Result of checking a bearer token on the Platform API. */
export type TokenCheck =
  | { ok: true; token: TokenRecord; client: ClientSnapshot }
  | { ok: false; reason: "bad.credentials" | "credentials.expired" };

const FALLBACK_HOME_DIVISION = "00000000-0000-4000-8000-000000000001";

/** Dependencies shared with the emulator instance. */
export interface StateDependencies {
  clock: Clock;
  faults: EmulatorFaults;
  counters: EmulatorCounters;
  issued: IssuedCredentials;
}

/**
 * The mutable state of one emulator. Tests use the public methods to seed and inspect; the HTTP layer
 * uses the methods marked @internal.
 */
export class EmulatorState {
  #organization: Required<Organization>;
  readonly #roles = new Map<string, Role>();
  readonly #clients = new Map<string, ClientSnapshot>();
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #credentials = new Map<string, IntegrationCredentialSeed & { dateModified: number }>();
  readonly #deps: StateDependencies;

  constructor(seed: GenesysState, deps: StateDependencies) {
    this.#deps = deps;
    const valid = parseGenesysState(seed);
    this.#organization = withOrganizationDefaults(valid.organization);
    for (const role of valid.roles) this.#roles.set(role.id, structuredClone(role));
    for (const client of valid.clients) this.addClient(client);
    for (const credential of valid.integrationCredentials ?? []) this.addIntegrationCredential(credential);
  }

  /** The organisation (a copy). */
  get organization(): Required<Organization> {
    return { ...this.#organization };
  }

  /** Replaces organisation fields (e.g. to test an org-mismatch check). */
  setOrganization(update: Partial<Organization>): void {
    this.#organization = withOrganizationDefaults({ ...this.#organization, ...update });
  }

  /** Every role (copies). */
  roles(): Role[] {
    return [...this.#roles.values()].map((role) => structuredClone(role));
  }

  /** One role (a copy), or undefined. */
  getRole(id: string): Role | undefined {
    const role = this.#roles.get(id);
    return role && structuredClone(role);
  }

  /** Adds or replaces a role. Permissions take effect for existing tokens at once. */
  putRole(role: Role): void {
    const [valid] = parseGenesysState({
      organization: this.#organization,
      roles: [role],
      clients: [],
    }).roles;
    this.#roles.set(role.id, valid!);
  }

  /** Every client (copies, secrets included). */
  clients(): ClientSnapshot[] {
    return [...this.#clients.values()].map((client) => ({
      ...client,
      roleDivisions: [...client.roleDivisions],
    }));
  }

  /** One client including its current secret (a copy), or undefined when unknown or deleted. */
  getClient(id: string): ClientSnapshot | undefined {
    const client = this.#find(id);
    return client && { ...client, roleDivisions: client.roleDivisions.map((rd) => ({ ...rd })) };
  }

  /**
   * Adds a client-credentials client. `id` defaults to a random UUID and `secret` to a generated one;
   * the secret is usable at once (no propagation delay: this is seeding, not an API call).
   */
  addClient(
    input: Omit<ClientSeed, "id" | "secret" | "roleDivisions"> &
      Partial<Pick<ClientSeed, "id" | "secret" | "roleDivisions">>,
  ): ClientSnapshot {
    const id = input.id ?? randomUUID();
    const secret = input.secret ?? generateSecret();
    const seed: ClientSeed = { ...input, id, secret, roleDivisions: input.roleDivisions ?? [] };
    const [valid] = parseGenesysState({
      organization: this.#organization,
      roles: this.roles(),
      clients: [seed],
    }).clients;
    if (this.#clients.has(id)) throw new GenesysStateError("clients[].id", `must be unique; "${id}" exists`);
    const now = this.#deps.clock.now();
    this.#clients.set(id, {
      id,
      name: valid!.name,
      description: valid!.description,
      secret,
      roleDivisions: valid!.roleDivisions,
      accessTokenValiditySeconds: valid!.accessTokenValiditySeconds ?? DEFAULT_TOKEN_VALIDITY_SECONDS,
      authorizedGrantType: "CLIENT-CREDENTIALS",
      state: valid!.state ?? "active",
      dateCreated: now,
      dateModified: now,
      secretUsableFrom: Number.NEGATIVE_INFINITY,
      secretGeneration: 0,
    });
    this.#deps.issued.addSecret(secret);
    return this.getClient(id)!;
  }

  /** Sets a client's state; `disabled` also invalidates the client's existing tokens (Genesys docs). */
  setClientState(id: string, state: ClientState): void {
    const client = this.#requireClient(id);
    if (!CLIENT_STATES.includes(state))
      throw new GenesysStateError("state", `must be one of ${CLIENT_STATES}`);
    client.state = state;
    client.dateModified = this.#deps.clock.now();
  }

  /**
   * Regenerates a client's secret exactly as `POST /api/v2/oauth/clients/{id}/secret` does: the old secret
   * stops working at once, the new one only after `faults.propagationDelayMs`.
   */
  regenerateSecret(id: string): ClientSnapshot {
    const client = this.#requireClient(id);
    const now = this.#deps.clock.now();
    client.secret = generateSecret();
    client.secretGeneration += 1;
    client.secretUsableFrom = now + this.#deps.faults.propagationDelayMs;
    if (this.#deps.faults.dateModifiedMovesOnRegeneration) client.dateModified = now;
    this.#deps.issued.addSecret(client.secret);
    this.#deps.counters.countRegeneration(client.id);
    return this.getClient(client.id)!;
  }

  /** Deletes a client; its tokens stop working and its id becomes unknown (404 / "client not found"). */
  deleteClient(id: string): void {
    this.#clients.delete(this.#requireClient(id).id);
  }

  /** Adds or replaces an integration credential. */
  addIntegrationCredential(credential: IntegrationCredentialSeed): void {
    const [valid] = parseGenesysState({
      organization: this.#organization,
      roles: [],
      clients: [],
      integrationCredentials: [credential],
    }).integrationCredentials!;
    this.#credentials.set(valid!.id, { ...valid!, dateModified: this.#deps.clock.now() });
  }

  /** An integration credential INCLUDING its secret fields (a copy), or undefined. */
  getIntegrationCredential(id: string): (IntegrationCredentialSeed & { dateModified: number }) | undefined {
    const credential = this.#credentials.get(id);
    return credential && structuredClone(credential);
  }

  /** The whole state in state-file format (current secrets included), e.g. for `--state-out`. */
  snapshot(): GenesysState {
    return {
      organization: this.organization,
      roles: this.roles(),
      clients: [...this.#clients.values()].map((client) => ({
        id: client.id,
        name: client.name,
        secret: client.secret,
        roleDivisions: client.roleDivisions.map((rd) => ({ ...rd })),
        accessTokenValiditySeconds: client.accessTokenValiditySeconds,
        state: client.state,
        ...(client.description === undefined ? {} : { description: client.description }),
      })),
      integrationCredentials: [...this.#credentials.values()].map(({ dateModified: _, ...rest }) =>
        structuredClone(rest),
      ),
    };
  }

  /** @internal Checks client credentials as the token endpoint does. */
  authenticateClient(id: string, secret: string): ClientAuthentication {
    const client = this.#find(id);
    if (!client) return { ok: false, reason: "client not found" };
    if (client.secret !== secret || this.#deps.clock.now() < client.secretUsableFrom) {
      return { ok: false, reason: "authentication failed" };
    }
    if (client.state !== "active") return { ok: false, reason: "authentication failed" };
    return { ok: true, client: this.getClient(client.id)! };
  }

  /** @internal Issues an access token for an authenticated client. */
  issueToken(clientId: string): { accessToken: string; expiresInSeconds: number } {
    const client = this.#requireClient(clientId);
    const expiresInSeconds = this.#deps.faults.tokenLifetimeSeconds ?? client.accessTokenValiditySeconds;
    const now = this.#deps.clock.now();
    // Opaque, like Genesys' tokens: 64 random bytes, base64url (86 characters).
    const accessToken = randomBytes(64).toString("base64url");
    this.#pruneExpiredTokens(now);
    this.#tokens.set(accessToken, {
      clientId,
      issuedAt: now,
      expiresAt: now + expiresInSeconds * 1000,
      secretGeneration: client.secretGeneration,
    });
    this.#deps.issued.addAccessToken(accessToken);
    this.#deps.counters.countMint(clientId);
    return { accessToken, expiresInSeconds };
  }

  /** @internal Decides whether a bearer token is accepted right now. */
  checkToken(accessToken: string): TokenCheck {
    const token = this.#tokens.get(accessToken);
    if (!token) return { ok: false, reason: "bad.credentials" };
    if (this.#deps.clock.now() >= token.expiresAt) return { ok: false, reason: "credentials.expired" };
    const client = this.#clients.get(token.clientId);
    // Deleted and disabled clients' tokens are invalid; inactive clients' existing tokens keep working
    // (the docs only say inactive clients cannot create new ones).
    if (!client || client.state === "disabled") return { ok: false, reason: "bad.credentials" };
    if (!this.#deps.faults.tokensSurviveRegeneration && token.secretGeneration < client.secretGeneration) {
      return { ok: false, reason: "bad.credentials" };
    }
    return { ok: true, token: { ...token }, client: this.getClient(client.id)! };
  }

  /** @internal Revokes one token (`DELETE /api/v2/tokens/me`). */
  revokeToken(accessToken: string): void {
    this.#tokens.delete(accessToken);
  }

  /** @internal The union of the permissions of a client's roles. */
  permissionsOf(clientId: string): string[] {
    const client = this.#clients.get(clientId);
    if (!client) return [];
    const permissions = new Set<string>();
    for (const { roleId } of client.roleDivisions) {
      for (const permission of this.#roles.get(roleId)?.permissions ?? []) permissions.add(permission);
    }
    return [...permissions];
  }

  /** @internal Creates a client through the API: a generated secret subject to the propagation delay. */
  createClientFromApi(fields: ClientFields): ClientSnapshot {
    const now = this.#deps.clock.now();
    const id = randomUUID();
    const secret = generateSecret();
    this.#clients.set(id, {
      id,
      ...fields,
      authorizedGrantType: "CLIENT-CREDENTIALS",
      secret,
      dateCreated: now,
      dateModified: now,
      secretUsableFrom: now + this.#deps.faults.propagationDelayMs,
      secretGeneration: 0,
    });
    this.#deps.issued.addSecret(secret);
    return this.getClient(id)!;
  }

  /** @internal Replaces a client's editable fields (PUT). */
  replaceClientFields(id: string, fields: ClientFields): ClientSnapshot {
    const client = this.#requireClient(id);
    Object.assign(client, fields, { dateModified: this.#deps.clock.now() });
    return this.getClient(client.id)!;
  }

  /** @internal Replaces an integration credential's name, type and fields (PUT). */
  replaceIntegrationCredential(id: string, update: Omit<IntegrationCredentialSeed, "id">): void {
    this.#credentials.set(id, { id, ...structuredClone(update), dateModified: this.#deps.clock.now() });
  }

  /** @internal */
  hasIntegrationCredential(id: string): boolean {
    return this.#credentials.has(id);
  }

  #requireClient(id: string): ClientSnapshot {
    const client = this.#find(id);
    if (!client) throw new GenesysStateError("clientId", `must name an existing client; "${id}" is unknown`);
    return client;
  }

  /** A client by id: exact, or in any letter case when `faults.clientIdsCaseSensitive` is false. */
  #find(id: string): ClientSnapshot | undefined {
    const exact = this.#clients.get(id);
    if (exact !== undefined || this.#deps.faults.clientIdsCaseSensitive) return exact;
    const wanted = id.toLowerCase();
    for (const client of this.#clients.values()) if (client.id.toLowerCase() === wanted) return client;
    return undefined;
  }

  /** Keeps a long drill from growing the token map without bound. */
  #pruneExpiredTokens(now: number): void {
    if (this.#tokens.size < 10_000) return;
    for (const [token, record] of this.#tokens) if (record.expiresAt <= now) this.#tokens.delete(token);
  }
}

/** The fields of a client that `POST`/`PUT /api/v2/oauth/clients` set. */
export interface ClientFields {
  name: string;
  description: string | undefined;
  accessTokenValiditySeconds: number;
  roleDivisions: RoleDivision[];
  state: ClientState;
}

/** A secret shaped like Genesys': 32 random bytes, base64url, 43 characters. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

function withOrganizationDefaults(org: Organization): Required<Organization> {
  return {
    id: org.id,
    name: org.name,
    domain: org.domain ?? (org.name.toLowerCase().replace(/[^a-z0-9]+/g, "") || "org"),
    homeDivisionId: org.homeDivisionId ?? FALLBACK_HOME_DIVISION,
  };
}

// ---------------------------------------------------------------------------------------------------
// State file validation. Messages name the field path and the rule, never a value (secrets live here).

/**
 * Validates a state object (e.g. parsed from the state file) and returns it typed. Throws
 * GenesysStateError naming the first offending field, e.g. `clients[1].roleDivisions[0].roleId`.
 */
export function parseGenesysState(raw: unknown): GenesysState {
  const root = object(raw, "(root)", ["organization", "roles", "clients", "integrationCredentials"]);
  const orgRaw = object(root.organization, "organization", ["id", "name", "domain", "homeDivisionId"]);
  const organization: Organization = {
    id: id(orgRaw.id, "organization.id"),
    name: text(orgRaw.name, "organization.name"),
  };
  if (orgRaw.domain !== undefined) organization.domain = text(orgRaw.domain, "organization.domain");
  if (orgRaw.homeDivisionId !== undefined) {
    organization.homeDivisionId = id(orgRaw.homeDivisionId, "organization.homeDivisionId");
  }

  const roles = array(root.roles, "roles").map((entry, i): Role => {
    const at = `roles[${i}]`;
    const role = object(entry, at, ["id", "name", "permissions"]);
    return {
      id: id(role.id, `${at}.id`),
      name: text(role.name, `${at}.name`),
      permissions: array(role.permissions, `${at}.permissions`).map((permission, j) =>
        permissionString(permission, `${at}.permissions[${j}]`),
      ),
    };
  });
  unique(roles, "roles");
  const roleIds = new Set(roles.map((role) => role.id));

  const clients = array(root.clients, "clients").map((entry, i): ClientSeed => {
    const at = `clients[${i}]`;
    const client = object(entry, at, [
      "id",
      "name",
      "secret",
      "roleDivisions",
      "accessTokenValiditySeconds",
      "state",
      "description",
    ]);
    const seed: ClientSeed = {
      id: id(client.id, `${at}.id`),
      name: text(client.name, `${at}.name`),
      secret: secretString(client.secret, `${at}.secret`),
      roleDivisions: array(client.roleDivisions, `${at}.roleDivisions`).map((rdRaw, j) => {
        const rdAt = `${at}.roleDivisions[${j}]`;
        const rd = object(rdRaw, rdAt, ["roleId", "divisionId"]);
        const roleId = id(rd.roleId, `${rdAt}.roleId`);
        if (!roleIds.has(roleId))
          throw new GenesysStateError(`${rdAt}.roleId`, "must name a role in roles[]");
        // "*" = all divisions, as Genesys accepts it.
        const divisionId = rd.divisionId === "*" ? "*" : id(rd.divisionId, `${rdAt}.divisionId`);
        return { roleId, divisionId };
      }),
    };
    if (client.accessTokenValiditySeconds !== undefined) {
      seed.accessTokenValiditySeconds = tokenValidity(
        client.accessTokenValiditySeconds,
        `${at}.accessTokenValiditySeconds`,
      );
    }
    if (client.state !== undefined) seed.state = clientState(client.state, `${at}.state`);
    if (client.description !== undefined)
      seed.description = plainString(client.description, `${at}.description`);
    return seed;
  });
  unique(clients, "clients");

  const state: GenesysState = { organization, roles, clients };
  if (root.integrationCredentials !== undefined) {
    state.integrationCredentials = array(root.integrationCredentials, "integrationCredentials").map(
      (entry, i): IntegrationCredentialSeed => {
        const at = `integrationCredentials[${i}]`;
        const credential = object(entry, at, ["id", "name", "type", "credentialFields"]);
        const fields = object(credential.credentialFields, `${at}.credentialFields`);
        return {
          id: id(credential.id, `${at}.id`),
          name: text(credential.name, `${at}.name`),
          type: text(credential.type, `${at}.type`),
          credentialFields: Object.fromEntries(
            Object.entries(fields).map(([key, value]) => [
              key,
              plainString(value, `${at}.credentialFields.${key}`),
            ]),
          ),
        };
      },
    );
    unique(state.integrationCredentials, "integrationCredentials");
  }
  return state;
}

/** Validates a token validity value (also used by the API request validation). */
export function isValidTokenValidity(value: unknown): value is number {
  return (
    Number.isInteger(value) &&
    (value as number) >= MIN_TOKEN_VALIDITY_SECONDS &&
    (value as number) <= MAX_TOKEN_VALIDITY_SECONDS
  );
}

function object(value: unknown, field: string, allowedKeys?: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new GenesysStateError(field, "must be a JSON object");
  }
  if (allowedKeys) {
    for (const key of Object.keys(value)) {
      if (!allowedKeys.includes(key)) {
        throw new GenesysStateError(
          field === "(root)" ? key : `${field}.${key}`,
          `is not a known key (allowed: ${allowedKeys.join(", ")})`,
        );
      }
    }
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new GenesysStateError(field, "must be a JSON array");
  return value;
}

function plainString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new GenesysStateError(field, "must be a string");
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > 200) {
    throw new GenesysStateError(field, "must be a non-empty string of at most 200 characters");
  }
  return value;
}

/** Ids follow the secret schema's rule, so every id the emulator serves can be stored in a secret value. */
function id(value: unknown, field: string): string {
  if (typeof value !== "string" || !GENESYS_ID_PATTERN.test(value)) {
    throw new GenesysStateError(field, GENESYS_ID_RULE);
  }
  return value;
}

function secretString(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,512}$/.test(value)) {
    throw new GenesysStateError(field, "must be 1-512 printable ASCII characters without whitespace");
  }
  return value;
}

function permissionString(value: unknown, field: string): string {
  if (typeof value !== "string" || !/^([A-Za-z0-9_-]+|\*)(:([A-Za-z0-9_-]+|\*)){0,2}$/.test(value)) {
    throw new GenesysStateError(field, 'must look like "domain:entity:action" (segments may be "*")');
  }
  return value;
}

function tokenValidity(value: unknown, field: string): number {
  if (!isValidTokenValidity(value)) {
    throw new GenesysStateError(
      field,
      `must be an integer from ${MIN_TOKEN_VALIDITY_SECONDS} to ${MAX_TOKEN_VALIDITY_SECONDS}`,
    );
  }
  return value;
}

function clientState(value: unknown, field: string): ClientState {
  if (!CLIENT_STATES.includes(value as ClientState)) {
    throw new GenesysStateError(field, `must be one of ${CLIENT_STATES.join(", ")}`);
  }
  return value as ClientState;
}

function unique(entries: readonly { id: string }[], field: string): void {
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    if (seen.has(entry.id)) throw new GenesysStateError(`${field}[${i}].id`, "must be unique");
    seen.add(entry.id);
  });
}
