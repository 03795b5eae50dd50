/**
 * `genesys-rotator vend`: invokes the token-vending function as a consumer would and prints what an
 * operator needs to know — which client and environment the token is for and when it expires — never the
 * token. The client is identified with `GET /api/v2/tokens/me` (best effort: an IP allowlist on the OAuth
 * client may refuse the operator's machine).
 */

import { VendorInvokeError } from "../../lambda/client/errors.ts";
import { invokeVendor, vendorTarget } from "../../lambda/client/invoke.ts";
import { systemRandom } from "../../lambda/shared/clock.ts";
import { RotatorError } from "../../lambda/shared/errors.ts";
import {
  type CommandSpec,
  credentialNameOption,
  flag,
  functionNameOption,
  integerOption,
  type ParsedValues,
} from "./args.ts";
import { toAwsCallError, UsageError } from "./errors.ts";
import type { CliDependencies } from "./runtime.ts";

export const vendSpec: CommandSpec = {
  name: "vend",
  summary: "Invoke the token-vending function and print the token's client and expiry (never the token).",
  details: [
    "Invokes the vending function (lambda:InvokeFunction) with {credential?, minTtlSeconds?}, exactly as the",
    "consumer library does: through the credential's alias <function>:<credential>, the only way the vendor",
    "serves a credential (the caller needs lambda:InvokeFunction on that alias). Without --credential the",
    "invoke is unqualified, which a vendor with exactly one credential serves (--local: the stack's first",
    "credential). Prints the environment, API base URL, expiry and - from GET /api/v2/tokens/me -",
    "the OAuth client and organisation the token belongs to. The access token is never printed.",
  ].join("\n"),
  options: {
    "function-name": {
      type: "string",
      value: "<name|arn>",
      description: "the vending function (required unless --local)",
    },
    credential: {
      type: "string",
      value: "<name>",
      description:
        "credential name: invokes <function>:<credential> (default: unqualified; --local: the first)",
    },
    "min-ttl-seconds": {
      type: "string",
      value: "<n>",
      description: "the token must stay valid this long (0-3600)",
    },
    "skip-whoami": {
      type: "boolean",
      description: "do not call GET /api/v2/tokens/me to identify the client",
    },
  },
  examples: [
    "vend --function-name genesys-token-vendor --credential reporting",
    "vend --local --credential app --json",
  ],
};

/** Validated input of `vend`. */
export interface VendInput {
  /** Absent in local mode: the local stack's vending function. */
  functionName?: string;
  credential?: string;
  minTtlSeconds?: number;
  whoami: boolean;
}

/** Parses and validates `vend` flags. */
export function parseVendInput(values: ParsedValues): VendInput {
  const input: VendInput = { whoami: !flag(values, "skip-whoami") };
  const functionName = functionNameOption(values, "function-name", false);
  const local = values.local === true || values.endpoints !== undefined;
  if (functionName === undefined && !local)
    throw new UsageError("--function-name", "is required (or use --local)");
  if (functionName !== undefined) input.functionName = functionName;
  const credential = credentialNameOption(values, "credential");
  if (credential !== undefined) input.credential = credential;
  if (values["min-ttl-seconds"] !== undefined) {
    input.minTtlSeconds = integerOption(values, "min-ttl-seconds", { min: 0, max: 3600, default: 0 });
  }
  return input;
}

/** What `vend` prints. */
export interface VendReport {
  functionName: string;
  credential?: string;
  environment: string;
  apiBaseUrl: string;
  tokenType: string;
  expiresAt: string;
  expiresInSeconds: number;
  /** From tokens/me, when it answered. */
  client?: { id: string; name: string };
  organization?: { id: string; name: string };
  /** Why the client is unknown, when tokens/me failed or was skipped. */
  whoamiNote?: string;
}

/** Runs `vend`. */
export async function runVend(input: VendInput, deps: CliDependencies): Promise<VendReport> {
  const functionName =
    input.functionName ?? (deps.target.kind === "local" ? deps.target.endpoints.vendingFunction : undefined);
  if (functionName === undefined) throw new UsageError("--function-name", "is required (or use --local)");
  // The local stack's vendor vends several credentials: an unqualified invoke would be refused.
  const credential =
    input.credential ??
    (deps.target.kind === "local" && input.functionName === undefined
      ? Object.keys(deps.target.endpoints.credentials)[0]
      : undefined);
  let token: Awaited<ReturnType<typeof invokeVendor>>;
  try {
    token = await invokeVendor(
      deps.lambda,
      functionName,
      {
        ...(credential === undefined ? {} : { credential }),
        ...(input.minTtlSeconds === undefined ? {} : { minTtlSeconds: input.minTtlSeconds }),
      },
      {
        invokeTimeoutMs: 30_000,
        maxAttempts: 2,
        backoff: { baseMs: 200, capMs: 2000 },
        clock: deps.clock,
        random: systemRandom,
      },
    );
  } catch (error) {
    // SDK-level failures (credentials, permissions, unknown function, unreachable endpoint) get the
    // CLI's common advice; the vendor's own typed errors (UnknownCredentialError...) pass through.
    if (error instanceof VendorInvokeError && error.reason !== "Timeout" && isSdkError(error.cause)) {
      throw toAwsCallError(error.cause, {
        service: "lambda",
        operation: "Invoke",
        // The alias invoked, `<function>:<credential>`: a credential the vendor does not vend has none.
        resource: vendorTarget(functionName, credential).display,
        ...(deps.target.kind === "local" ? { endpoint: deps.target.endpoints.lambda } : {}),
      });
    }
    throw error;
  }
  const report: VendReport = {
    functionName,
    environment: token.environment,
    apiBaseUrl: token.apiBaseUrl,
    tokenType: token.tokenType,
    expiresAt: token.expiresAt,
    expiresInSeconds: token.expiresInSeconds,
  };
  if (credential !== undefined) report.credential = credential;
  if (!input.whoami) {
    report.whoamiNote = "skipped (--skip-whoami)";
    return report;
  }
  try {
    // The API host comes from the validated environment, not from the vendor's answer.
    const info = await deps.genesys
      .api(deps.genesys.endpoints(token.environment), token.accessToken)
      .getTokenInfo();
    report.client = { id: info.OAuthClient.id, name: info.OAuthClient.name };
    report.organization = { id: info.organization.id, name: info.organization.name };
  } catch (error) {
    report.whoamiNote = `GET /api/v2/tokens/me failed: ${error instanceof Error ? error.message : "unknown error"}`;
  }
  return report;
}

function isSdkError(cause: unknown): boolean {
  return cause instanceof Error && !(cause instanceof RotatorError);
}

/** Human-readable `vend`. */
export function renderVend(report: VendReport): string {
  return [
    `Vended by    ${report.functionName}${report.credential === undefined ? " (unqualified: its only credential)" : ` (credential ${report.credential})`}`,
    `Client       ${report.client === undefined ? `unknown (${report.whoamiNote ?? "not checked"})` : `${report.client.id} (${report.client.name})`}`,
    ...(report.organization === undefined
      ? []
      : [`Organization ${report.organization.name} (${report.organization.id})`]),
    `Environment  ${report.environment}`,
    `API          ${report.apiBaseUrl}`,
    `Expires      ${report.expiresAt} (in ${report.expiresInSeconds}s)`,
    "Token        (not shown)",
  ].join("\n");
}
