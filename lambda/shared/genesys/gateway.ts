/**
 * The one gateway to Genesys Cloud, used by the rotation function and by the operator CLI alike: resolve an
 * environment's hosts, request a client-credentials token (the only way either of them mints one), and open
 * a Platform API session (OAuth clients: get, find, create, update, regenerate, delete; the `tokens/me`
 * probe; integration credentials). Twin comparison, the other Genesys concept both use, is twins.ts.
 *
 * An interface, so callers take Genesys as a parameter and tests can observe or fail any call: tests wrap
 * the production gateway rather than replace it.
 */
import type { Clock } from "../clock.ts";
import type { Log } from "../log.ts";
import { GenesysApi } from "./api.ts";
import { type GenesysEndpoints, type ResolveEndpointsOptions, resolveEndpoints } from "./environments.ts";
import type { GenesysCallOptions } from "./http.ts";
import { type AccessToken, requestClientCredentialsToken } from "./oauth.ts";

/** Per-call limits a caller passes down (e.g. a rotation step's propagation deadline). */
export type GenesysCallLimits = Pick<GenesysCallOptions, "deadline" | "maxAttempts">;

/**
 * Everything the rotation and the CLI need from Genesys Cloud. `Api` is the session type `api` returns:
 * the full {@link GenesysApi} in production; a caller may narrow it to the calls it makes (the rotation
 * does), so that a test's stand-in session needs only those.
 */
export interface GenesysGateway<Api = GenesysApi> {
  /**
   * Validates an environment domain against the known list and the extras, and returns its hosts.
   * Throws a ValidationError for anything else, before any request is sent.
   */
  endpoints(environment: string): GenesysEndpoints;
  /** RFC 6749 §4.4 client-credentials grant. Throws the typed Genesys errors (invalid_client, rate limit, ...). */
  requestToken(
    endpoints: GenesysEndpoints,
    clientId: string,
    clientSecret: string,
    limits?: GenesysCallLimits,
  ): Promise<AccessToken>;
  /** A Platform API session acting with `accessToken`; `limits` (e.g. a step's deadline) apply to every call. */
  api(endpoints: GenesysEndpoints, accessToken: string, limits?: GenesysCallLimits): Api;
}

/** Options of {@link createGenesysGateway}. */
export interface GenesysGatewayOptions {
  /**
   * Environment domains accepted besides the built-in list (deploy-time config, never from a secret).
   * @default GENESYS_EXTRA_ENVIRONMENTS (environments.ts)
   */
  extraEnvironments?: readonly string[];
  /**
   * One base URL replacing login and API hosts (local mode); `""` means none.
   * @default GENESYS_ENDPOINT_OVERRIDE (environments.ts)
   */
  endpointOverride?: string;
  /** @default systemClock */
  clock?: Clock;
  /** Where attempts and retries are logged. @default none */
  log?: Log;
  /** Per-attempt timeout. @default the shared client's (5000 ms) */
  timeoutMs?: number;
}

/** The production gateway over the shared Genesys client (oauth.ts, api.ts). */
export function createGenesysGateway(options: GenesysGatewayOptions = {}): GenesysGateway {
  const callOptions: GenesysCallOptions = {};
  if (options.clock !== undefined) callOptions.clock = options.clock;
  if (options.log !== undefined) callOptions.log = options.log;
  if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
  // Only what was given: an absent option lets resolveEndpoints read its environment variable (and name
  // that variable, not the option, in a ConfigurationError).
  const endpointOptions: ResolveEndpointsOptions = {};
  if (options.extraEnvironments !== undefined) endpointOptions.extraEnvironments = options.extraEnvironments;
  if (options.endpointOverride !== undefined) endpointOptions.endpointOverride = options.endpointOverride;
  return {
    endpoints: (environment) => resolveEndpoints(environment, endpointOptions),
    requestToken: (endpoints, clientId, clientSecret, limits) =>
      requestClientCredentialsToken({ endpoints, clientId, clientSecret }, { ...callOptions, ...limits }),
    api: (endpoints, accessToken, limits) =>
      new GenesysApi(endpoints, accessToken, { ...callOptions, ...limits }),
  };
}
