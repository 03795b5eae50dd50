/**
 * The zero-configuration entry point: a process-wide {@link TokenProvider} bound to the vending function
 * named by the `TOKEN_VENDOR_FUNCTION_NAME` environment variable.
 */
import { ConfigurationError } from "./errors.ts";
import type { VendedToken } from "./payload.ts";
import { type GetTokenOptions, TokenProvider } from "./token-provider.ts";

/** The environment variable naming the token-vending function. */
export const TOKEN_VENDOR_FUNCTION_NAME_ENV = "TOKEN_VENDOR_FUNCTION_NAME";

let defaultProvider: TokenProvider | undefined;

/**
 * The process-wide provider, created on first use (module scope, so it survives warm Lambda invocations
 * and its cache is shared by every caller in the process).
 *
 * @throws ConfigurationError (not a `VendorError`) when `TOKEN_VENDOR_FUNCTION_NAME` is unset
 */
export function defaultTokenProvider(): TokenProvider {
  if (defaultProvider) return defaultProvider;
  const functionName = process.env[TOKEN_VENDOR_FUNCTION_NAME_ENV];
  if (!functionName) {
    throw new ConfigurationError(
      TOKEN_VENDOR_FUNCTION_NAME_ENV,
      "must be set to the token-vending function's name or ARN (an output of the deployed stack)",
    );
  }
  defaultProvider = new TokenProvider({ functionName });
  return defaultProvider;
}

/**
 * A token from the process-wide provider (see {@link defaultTokenProvider}); same contract as
 * {@link TokenProvider.getToken}.
 *
 * WebSocket users (Notifications API): call this right before every (re)connect — a channel URL or a
 * token captured at start-up expires, and the cache makes the call free while the token is fresh.
 */
export async function getToken(options?: GetTokenOptions): Promise<VendedToken> {
  // async: a missing variable rejects the promise instead of throwing synchronously at the call site.
  return defaultTokenProvider().getToken(options);
}
