/**
 * An example consumer Lambda on the official Genesys Cloud SDK (`purecloud-platform-client-v2`): the
 * SDK's `ApiClient` gets its tokens from the vending function through
 * `genesys-oauth-rotator/client/genesys-sdk`, and the handler returns a small summary of the
 * organisation (never the token).
 *
 * Deploy it like lambda/examples/consumer.ts (`TOKEN_VENDOR_FUNCTION_NAME` = the vendor alias of its
 * credential, `grantVend` on that alias) and bundle the SDK with it. There is no login, no
 * `setAccessToken` and no `setEnvironment`: every call fetches the cached token right before it is sent
 * and goes to the token's region; a 401 is reported to the vendor and replayed, a 429 waits its
 * Retry-After within a bounded budget (lambda/client/README.md, "The official Genesys SDK").
 */
import platformClient from "purecloud-platform-client-v2";
import { useVendedTokens } from "../client/genesys-sdk.ts";

// Module scope: warm invocations reuse the ApiClient and the provider's cached token.
const apiClient = new platformClient.ApiClientClass();
useVendedTokens(apiClient);
const organizations = new platformClient.OrganizationApi(apiClient);

/** What the example returns. */
export interface OrganizationSummary {
  organizationId: string;
  organizationName: string;
}

export async function handler(): Promise<OrganizationSummary> {
  // The SDK rejects a failed call with the Genesys error body ({ status, code, message }), never the token.
  const organization = await organizations.getOrganizationsMe();
  return { organizationId: String(organization.id), organizationName: String(organization.name) };
}
