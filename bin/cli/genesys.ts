/**
 * The Genesys Cloud operations the CLI composes from the shared client: "does this credential mint a
 * token?", an admin session, and waiting out the propagation lag of a new secret.
 */
import type { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import type { GenesysEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { GenesysInvalidClientError } from "../../lambda/shared/genesys/errors.ts";
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
    return { endpoints, api: deps.genesys.api(endpoints, token.accessToken) };
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
