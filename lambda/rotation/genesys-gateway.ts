/**
 * The rotation's view of Genesys Cloud: resolve an environment, mint a client-credentials token, and
 * open a Platform API client. One interface so the rotation logic takes Genesys as a parameter and tests
 * can observe or fail any call (they wrap the production gateway rather than replace it).
 */
import type { Clock } from "../shared/clock.ts";
import { type GenesysApi, GenesysApi as GenesysApiClient } from "../shared/genesys/api.ts";
import { type GenesysEndpoints, resolveEndpoints } from "../shared/genesys/environments.ts";
import type { GenesysCallOptions } from "../shared/genesys/http.ts";
import { type AccessToken, requestClientCredentialsToken } from "../shared/genesys/oauth.ts";
import type { Log } from "../shared/log.ts";

/** The Platform API calls the rotation makes. */
export type RotationGenesysApi = Pick<
  GenesysApi,
  | "getOAuthClient"
  | "regenerateClientSecret"
  | "getTokenInfo"
  | "getIntegrationCredential"
  | "updateIntegrationCredential"
>;

/** Per-call limits the rotation passes down (e.g. the propagation deadline). */
export type TokenRequestLimits = Pick<GenesysCallOptions, "deadline" | "maxAttempts">;

/** Everything the rotation needs from Genesys Cloud. */
export interface GenesysGateway {
  /**
   * Validates an environment domain against the known list and the deploy-time extras, and returns
   * its hosts. Throws a ValidationError for anything else, before any request is sent.
   */
  endpoints(environment: string): GenesysEndpoints;
  /** RFC 6749 §4.4 client-credentials grant. Throws the typed Genesys errors (invalid_client, rate limit, ...). */
  requestToken(
    endpoints: GenesysEndpoints,
    clientId: string,
    clientSecret: string,
    limits?: TokenRequestLimits,
  ): Promise<AccessToken>;
  /** A Platform API client acting with `accessToken`; `limits` (e.g. the step's deadline) apply to every call. */
  api(endpoints: GenesysEndpoints, accessToken: string, limits?: TokenRequestLimits): RotationGenesysApi;
}

/** Options of {@link createGenesysGateway}. */
export interface GenesysGatewayOptions {
  /** Environment domains accepted besides the built-in list (deploy-time config, never from a secret). */
  extraEnvironments: readonly string[];
  /** One base URL replacing login and API hosts (local mode). @default none */
  endpointOverride?: string;
  clock: Clock;
  log: Log;
  /** Per-attempt timeout. @default the shared client's (5000 ms) */
  timeoutMs?: number;
}

/** The production gateway over the shared Genesys client (lambda/shared/genesys). */
export function createGenesysGateway(options: GenesysGatewayOptions): GenesysGateway {
  const callOptions: GenesysCallOptions = { clock: options.clock, log: options.log };
  if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
  return {
    endpoints: (environment) =>
      resolveEndpoints(environment, {
        extraEnvironments: options.extraEnvironments,
        // An empty string means "no override" rather than "use the environment variable".
        endpointOverride: options.endpointOverride ?? "",
      }),
    requestToken: (endpoints, clientId, clientSecret, limits) =>
      requestClientCredentialsToken({ endpoints, clientId, clientSecret }, { ...callOptions, ...limits }),
    api: (endpoints, accessToken, limits) =>
      new GenesysApiClient(endpoints, accessToken, { ...callOptions, ...limits }),
  };
}
