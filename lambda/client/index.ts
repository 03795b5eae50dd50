/**
 * `genesys-oauth-rotator/client`: Genesys Cloud access tokens for consumer Lambdas, from the
 * token-vending function (docs/design.md#consumer-library). See README.md in this folder.
 */
export { defaultTokenProvider, getToken, TOKEN_VENDOR_FUNCTION_NAME_ENV } from "./default-provider.ts";
export {
  ConfigurationError,
  CredentialNotGrantedError,
  CredentialRejectedError,
  ForeignOriginError,
  GenesysRateLimitedError,
  NotificationChannelError,
  type NotificationOperation,
  TokenUnavailableError,
  UnknownCredentialError,
  ValidationError,
  VendorError,
  VendorInvokeError,
  VendorResponseError,
} from "./errors.ts";
export { type FetchFunction, type GenesysFetchOptions, genesysFetch } from "./fetch.ts";
export { type BearerAuthOptions, bearerAuth } from "./interceptor.ts";
export type { LambdaInvoker } from "./invoke.ts";
export type { VendedToken, VendRequest } from "./payload.ts";
export {
  createTokenProvider,
  type GetTokenOptions,
  TokenProvider,
  type TokenProviderProps,
  type TokenSource,
} from "./token-provider.ts";
