/**
 * Genesys Cloud environments (regions) and the hosts a credential may be sent to.
 *
 * Security rule (docs/genesys-facts.md#environments-and-regions): the environment named in a secret value selects one of a FIXED set of
 * domains. Anything else (a region newer than this list, or a local emulator) is allowed only by
 * process configuration set at deploy time (`GENESYS_EXTRA_ENVIRONMENTS`, `GENESYS_ENDPOINT_OVERRIDE`)
 * or by explicit options from code — never by the secret value itself, so whoever can edit a secret
 * cannot make the rotator send client credentials to a host of their choosing.
 */
import { ConfigurationError, ValidationError } from "../errors.ts";

/**
 * The Genesys Cloud region domains, as in the official SDKs' `PureCloudRegionHosts` (see
 * docs/genesys-facts.md#environments-and-regions). Token endpoint `https://login.<domain>/oauth/token`, API `https://api.<domain>`.
 */
export const GENESYS_ENVIRONMENTS: readonly string[] = Object.freeze([
  "mypurecloud.com",
  "use2.us-gov-pure.cloud",
  "usw2.pure.cloud",
  "cac1.pure.cloud",
  "sae1.pure.cloud",
  "mxc1.pure.cloud",
  "mypurecloud.ie",
  "euw2.pure.cloud",
  "mypurecloud.de",
  "euc2.pure.cloud",
  "mec1.pure.cloud",
  "aps1.pure.cloud",
  "apse1.pure.cloud",
  "mypurecloud.com.au",
  "mypurecloud.jp",
  "apne2.pure.cloud",
  "apne3.pure.cloud",
  "edee1.eusc-pure.cloud",
]);

/** Environment variable: comma-separated extra environment domains allowed at deploy time. */
export const EXTRA_ENVIRONMENTS_VARIABLE = "GENESYS_EXTRA_ENVIRONMENTS";
/** Environment variable: one base URL that replaces both the login and the API host (local mode, proxies). */
export const ENDPOINT_OVERRIDE_VARIABLE = "GENESYS_ENDPOINT_OVERRIDE";

/** Where requests for one Genesys Cloud environment go. Base URLs have no trailing slash. */
export interface GenesysEndpoints {
  /** The validated environment domain, e.g. `mypurecloud.ie`. */
  environment: string;
  /** Base of the login service: `https://login.<environment>` (token endpoint `/oauth/token`). */
  loginBaseUrl: string;
  /** Base of the Platform API: `https://api.<environment>` (paths `/api/v2/...`). */
  apiBaseUrl: string;
}

/** Options of {@link resolveEndpoints} and {@link allowedEnvironments}. */
export interface EnvironmentOptions {
  /**
   * Extra environment domains to accept besides {@link GENESYS_ENVIRONMENTS}.
   * @default the comma-separated list in `GENESYS_EXTRA_ENVIRONMENTS`, or none
   */
  extraEnvironments?: readonly string[];
}

/** Options of {@link resolveEndpoints}. */
export interface ResolveEndpointsOptions extends EnvironmentOptions {
  /**
   * A base URL that replaces both hosts, e.g. `http://127.0.0.1:4010` for the local emulator. Must be
   * `https://`, or `http://` to a loopback host (127.0.0.1, localhost, [::1]); no credentials, query or fragment.
   * @default `GENESYS_ENDPOINT_OVERRIDE`, or none
   */
  endpointOverride?: string;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens; at least two labels.
const DOMAIN_PATTERN =
  /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The rule an environment must satisfy, worded for error messages. */
export const ENVIRONMENT_RULE = `must be a known Genesys Cloud domain such as mypurecloud.com or mypurecloud.ie, or be listed in ${EXTRA_ENVIRONMENTS_VARIABLE}`;

/**
 * The environment domains accepted by this process: the built-in list plus the deploy-time extras.
 * @throws ConfigurationError when an extra is not a syntactically valid domain name.
 */
export function allowedEnvironments(options: EnvironmentOptions = {}): ReadonlySet<string> {
  const extras =
    options.extraEnvironments ?? parseExtraEnvironments(process.env[EXTRA_ENVIRONMENTS_VARIABLE]);
  const key = options.extraEnvironments === undefined ? EXTRA_ENVIRONMENTS_VARIABLE : "extraEnvironments";
  for (const extra of extras) {
    if (!DOMAIN_PATTERN.test(extra)) {
      throw new ConfigurationError(
        key,
        "every entry must be a lower-case domain name such as xyz1.pure.cloud (no scheme, no login./api. prefix)",
      );
    }
  }
  return new Set([...GENESYS_ENVIRONMENTS, ...extras]);
}

/** True when `environment` is one of {@link allowedEnvironments}. */
export function isAllowedEnvironment(environment: string, options: EnvironmentOptions = {}): boolean {
  return allowedEnvironments(options).has(environment);
}

/**
 * Validates `environment` and returns the login and API base URLs for it. With an endpoint override
 * (local mode) both URLs are the override; the environment is still validated so that a secret that
 * works locally also works in the cloud.
 *
 * @throws ValidationError (field `environment`) when the environment is not allowed.
 * @throws ConfigurationError when the extras or the override are malformed.
 */
export function resolveEndpoints(
  environment: string,
  options: ResolveEndpointsOptions = {},
): GenesysEndpoints {
  if (typeof environment !== "string" || !isAllowedEnvironment(environment, options)) {
    // The value is not echoed: it comes from a secret value, whose fields are never printed.
    throw new ValidationError("Genesys environment", "environment", ENVIRONMENT_RULE);
  }
  const override = (options.endpointOverride ?? process.env[ENDPOINT_OVERRIDE_VARIABLE] ?? "").trim();
  if (override !== "") {
    const key = options.endpointOverride === undefined ? ENDPOINT_OVERRIDE_VARIABLE : "endpointOverride";
    const base = parseEndpointOverride(override, key);
    return { environment, loginBaseUrl: base, apiBaseUrl: base };
  }
  return {
    environment,
    loginBaseUrl: `https://login.${environment}`,
    apiBaseUrl: `https://api.${environment}`,
  };
}

/** Splits the `GENESYS_EXTRA_ENVIRONMENTS` format (comma-separated, blanks ignored). */
export function parseExtraEnvironments(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/**
 * Validates an endpoint override and returns it without a trailing slash.
 * @param key the configuration key named in the error.
 */
function parseEndpointOverride(raw: string, key: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(key, "must be an absolute http(s) URL such as http://127.0.0.1:4010");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(key, "must use https:// (or http:// for a loopback host)");
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    // Plain HTTP would put client secrets and tokens on the network unencrypted.
    throw new ConfigurationError(
      key,
      "may use http:// only for a loopback host (127.0.0.1, localhost, [::1])",
    );
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new ConfigurationError(key, "must not contain credentials, a query or a fragment");
  }
  return url.href.replace(/\/+$/, "");
}
