/** The Genesys Cloud client: environments, the client-credentials grant, the admin API, the gateway over them, twin comparison and typed errors. */

export { parseRetryAfter } from "../retry-after.ts";
export {
  GenesysApi,
  type IntegrationCredentialInfo,
  type ListOAuthClientsOptions,
  MAX_OAUTH_CLIENT_PAGE_SIZE,
  type OAuthClient,
  type OAuthClientListing,
  type OAuthClientRequest,
  type OAuthClientState,
  type OAuthClientSummary,
  type RoleDivision,
  type TokenInfo,
} from "./api.ts";
export {
  allowedEnvironments,
  ENDPOINT_OVERRIDE_VARIABLE,
  ENVIRONMENT_RULE,
  type EnvironmentOptions,
  EXTRA_ENVIRONMENTS_VARIABLE,
  GENESYS_ENVIRONMENTS,
  type GenesysEndpoints,
  isAllowedEnvironment,
  parseExtraEnvironments,
  type ResolveEndpointsOptions,
  resolveEndpoints,
} from "./environments.ts";
export {
  GenesysApiRateLimitError,
  GenesysError,
  type GenesysErrorDetails,
  GenesysInvalidClientError,
  GenesysNotFoundError,
  GenesysPermissionError,
  GenesysProtocolError,
  GenesysTokenRateLimitError,
  GenesysTransientError,
  GenesysUnauthorizedError,
} from "./errors.ts";
export {
  createGenesysGateway,
  type GenesysCallLimits,
  type GenesysGateway,
  type GenesysGatewayOptions,
} from "./gateway.ts";
export {
  closeSharedDispatcher,
  type GenesysCallOptions,
  type GenesysHttpRequest,
  type GenesysHttpResponse,
  sendGenesysRequest,
  sharedDispatcher,
} from "./http.ts";
export {
  type AccessToken,
  buildClientCredentialsTokenRequest,
  type ClientCredentialsRequest,
  processClientCredentialsTokenResponse,
  requestClientCredentialsToken,
} from "./oauth.ts";
export { describeTwinDrift, type TwinClient, twinDifferences } from "./twins.ts";
