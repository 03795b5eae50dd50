/**
 * The Genesys Cloud operations the CLI composes from the shared client: "does this credential mint a
 * token?", an admin session, waiting out the propagation lag of a new secret, and finding an OAuth client
 * by name (for seeding idempotently: a twin created by an interrupted run is found, not created again).
 */
import * as z from "zod/mini";
import type { GenesysApi, OAuthClient } from "../../lambda/shared/genesys/api.ts";
import type { GenesysEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { GenesysInvalidClientError, GenesysProtocolError } from "../../lambda/shared/genesys/errors.ts";
import {
  errorForStatus,
  parseJsonBody,
  responseDetails,
  sendGenesysRequest,
} from "../../lambda/shared/genesys/http.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import { CliError } from "./errors.ts";
import type { CliDependencies } from "./runtime.ts";

/** The result of trying a credential against the token endpoint. */
export type MintCheck =
  | { outcome: "works"; organizationId?: string }
  /** invalid_client: wrong secret, unknown or inactive client. */
  | { outcome: "rejected" }
  /** Could not tell (throttling, 5xx, network): never a reason to move labels. */
  | { outcome: "unknown"; reason: string };

/**
 * Tries the client-credentials grant once (one retry for transient failures) with `credential`. The
 * token is used for nothing else and dropped at once.
 */
export async function checkMints(
  deps: Pick<CliDependencies, "genesys">,
  credential: Pick<CredentialSecret, "environment" | "clientId" | "clientSecret">,
): Promise<MintCheck> {
  try {
    const endpoints = deps.genesys.endpoints(credential.environment);
    await deps.genesys.requestToken(endpoints, credential.clientId, credential.clientSecret, {
      maxAttempts: 2,
    });
    return { outcome: "works" };
  } catch (error) {
    if (error instanceof GenesysInvalidClientError) return { outcome: "rejected" };
    return {
      outcome: "unknown",
      reason: error instanceof Error ? `${error.name}: ${error.message}` : "unknown error",
    };
  }
}

/** A Platform API session acting as an admin credential. */
export interface AdminSession {
  endpoints: GenesysEndpoints;
  api: GenesysApi;
  /** Bearer token of the session (for calls the shared client does not wrap). Never print it. */
  accessToken: string;
}

/**
 * Mints a token for the admin credential and opens a Platform API session with it.
 * @param what names the credential in errors, e.g. `the admin credential in genesys/admin`.
 */
export async function openAdminSession(
  deps: Pick<CliDependencies, "genesys">,
  admin: Pick<CredentialSecret, "environment" | "clientId" | "clientSecret">,
  what: string,
): Promise<AdminSession> {
  const endpoints = deps.genesys.endpoints(admin.environment);
  try {
    const token = await deps.genesys.requestToken(endpoints, admin.clientId, admin.clientSecret);
    return { endpoints, api: deps.genesys.api(endpoints, token.accessToken), accessToken: token.accessToken };
  } catch (error) {
    if (error instanceof GenesysInvalidClientError) {
      throw new CliError(
        `Genesys rejected ${what} (client ${admin.clientId}): its secret is wrong or the client is inactive.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Polls the token endpoint until a freshly created or regenerated secret works: Genesys' auth service is
 * eventually consistent and may reject a new secret for ~10 s.
 * @throws CliError when it still fails at the deadline.
 */
export async function waitUntilMints(
  deps: Pick<CliDependencies, "genesys" | "clock">,
  credential: Pick<CredentialSecret, "environment" | "clientId" | "clientSecret">,
  timeoutMs: number,
): Promise<void> {
  const deadline = deps.clock.now() + timeoutMs;
  let delayMs = 250;
  for (;;) {
    const check = await checkMints(deps, credential);
    if (check.outcome === "works") return;
    if (deps.clock.now() + delayMs > deadline) {
      throw new CliError(
        `The new secret of client ${credential.clientId} did not mint a token within ${Math.round(timeoutMs / 1000)} s ` +
          `(${check.outcome === "rejected" ? "invalid_client" : check.reason}).`,
      );
    }
    await deps.clock.sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 4000);
  }
}

const listingSchema = z.object({
  entities: z._default(
    z.array(
      z.object({
        id: z.string().check(z.minLength(1)),
        name: z.string(),
      }),
    ),
    () => [],
  ),
  pageCount: z.optional(z.number()),
});

/** Pages read at most when searching clients by name (100 clients a page). */
const MAX_PAGES = 20;

/**
 * Finds OAuth clients named exactly `name` (`GET /api/v2/oauth/clients`, permission `oauth:client:view`)
 * and returns them in full.
 */
export async function findOAuthClientsByName(
  session: AdminSession,
  name: string,
  deps: Pick<CliDependencies, "clock">,
): Promise<OAuthClient[]> {
  const matches: { id: string }[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const listing = await sendGenesysRequest(
      {
        operation: "GET /api/v2/oauth/clients",
        method: "GET",
        url: `${session.endpoints.apiBaseUrl}/api/v2/oauth/clients?pageSize=100&pageNumber=${page}`,
        headers: { authorization: `Bearer ${session.accessToken}` },
        idempotent: true,
      },
      (response) => {
        if (response.status < 200 || response.status >= 300) throw errorForStatus(response);
        const parsed = listingSchema.safeParse(parseJsonBody(response));
        if (!parsed.success)
          throw new GenesysProtocolError("unexpected client listing body", responseDetails(response));
        return parsed.data;
      },
      { clock: deps.clock },
    );
    matches.push(...listing.entities.filter((entity) => entity.name === name));
    if (listing.entities.length < 100 || (listing.pageCount ?? 1) <= page) break;
  }
  return Promise.all(matches.map((match) => session.api.getOAuthClient(match.id)));
}
