/**
 * Lambda entry point of the token-vending function (docs/vending.md, docs/design.md#token-vending).
 *
 * In:  `{ credential?, minTtlSeconds?, rejectedToken? }` through the alias `<function>:<credential>` →
 *      `{ accessToken, tokenType: "Bearer", expiresAt, expiresInSeconds, environment, apiBaseUrl }`
 * In:  `{ warm: { secretArn } }` through `<function>:cache-warming` (the rotation function) →
 *      `{ warmed, credential, expiresAt }`
 * The invoked alias (`context.invokedFunctionArn`) decides the credential, see invocation.ts.
 * Errors leave with a stable `name` (Lambda's `errorType`): ValidationError, UnknownCredentialError,
 * CredentialNotGrantedError, CredentialRejectedError, GenesysRateLimitedError, TokenUnavailableError,
 * ConfigurationError.
 */

import { ConfigurationError, describeError, RotatorError, ValidationError } from "../shared/errors.ts";
import { resolveEndpoints } from "../shared/genesys/environments.ts";
import { createHandlerLog, type Log } from "../shared/log.ts";
import { readVendingConfig, type VendingConfig } from "./config.ts";
import {
  CredentialNotGrantedError,
  CredentialRejectedError,
  GenesysRateLimitedError,
  TokenUnavailableError,
  UnknownCredentialError,
} from "./errors.ts";
import { grantOfInvocation } from "./invocation.ts";
import { PowertoolsVendMetrics } from "./metrics.ts";
import { parseVendingPayload } from "./payload.ts";
import { createVendingRuntime, type VendingRuntime } from "./runtime.ts";
import type { CachedToken } from "./token-cache.ts";
import { vendToken } from "./vend.ts";
import { warmCache } from "./warm-cache.ts";

/** A vended token. */
export interface VendingResponse {
  /** Secret: the consumer sends it as `Authorization: Bearer <accessToken>` and never logs it. */
  accessToken: string;
  tokenType: "Bearer";
  /** ISO-8601 UTC. */
  expiresAt: string;
  /** Whole seconds left at the time of the answer. */
  expiresInSeconds: number;
  /** The Genesys environment domain, e.g. `mypurecloud.ie`. */
  environment: string;
  /** Base URL of the Platform API for that environment, e.g. `https://api.mypurecloud.ie`. */
  apiBaseUrl: string;
}

/** The answer to a warm payload: never a token. */
export interface WarmResponse {
  warmed: boolean;
  credential: string;
  expiresAt: string;
}

/** The part of the Lambda context the handler reads. */
export interface DeadlineContext {
  getRemainingTimeInMillis(): number;
  /**
   * The ARN the caller invoked, with the alias as qualifier (`...:function:<name>:<credential>`); it
   * decides the credential (invocation.ts). Absent (direct calls from tools and tests) = unqualified:
   * allowed only when exactly one credential is configured.
   */
  invokedFunctionArn?: string;
}

/** Used when no Lambda context is given (direct calls from tools). */
const DEFAULT_BUDGET_MS = 10_000;
/** The answer must leave before Lambda's timeout: keep 10% of the remaining time, 100 ms–1 s. */
const MIN_SAFETY_MARGIN_MS = 100;
const MAX_SAFETY_MARGIN_MS = 1000;

/** The `service` of logs and metrics (as the CDK stack sets `POWERTOOLS_SERVICE_NAME`, TokenVendor.SERVICE_NAME). */
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? "token-vending";
const { log, addContext: addLambdaContext } = createHandlerLog(serviceName);
const metrics = new PowertoolsVendMetrics(serviceName);
let runtime: VendingRuntime | undefined;

/** The Lambda handler. Configuration is read on the first invocation of a container. */
export async function handler(
  event: unknown,
  context?: DeadlineContext,
): Promise<VendingResponse | WarmResponse> {
  addLambdaContext(context);
  try {
    runtime ??= createVendingRuntime(readVendingConfig(), log, metrics);
  } catch (error) {
    log.error("Invalid vending configuration", describeError(error));
    throw error;
  }
  try {
    return await handleVendingEvent(event, context, runtime, log);
  } finally {
    metrics.flush();
  }
}

/**
 * Validates the event and answers it with `runtime` (tests and the drill call this with their own
 * runtime). Every error leaving is one of the vendor error names.
 */
export async function handleVendingEvent(
  event: unknown,
  context: DeadlineContext | undefined,
  runtime: VendingRuntime,
  log: Log,
): Promise<VendingResponse | WarmResponse> {
  const { config, deps } = runtime;
  const deadline = deadlineOf(context, deps.clock.now());
  let credentialName: string | undefined;
  try {
    const grant = grantOfInvocation(context?.invokedFunctionArn, config.credentials);
    const payload = parseVendingPayload(event, config.credentials, grant);
    credentialName = payload.credential.name;
    if (payload.kind === "warm") {
      const result = await warmCache(payload.credential, deadline, deps);
      log.info("Cache warm request answered", {
        credential: credentialName,
        warmed: result.warmed,
        secretVersionId: result.token.secretVersionId,
      });
      return {
        warmed: result.warmed,
        credential: credentialName,
        expiresAt: new Date(result.token.expiresAt).toISOString(),
      };
    }
    const token = await vendToken(
      {
        credential: payload.credential,
        minTtlSeconds: payload.minTtlSeconds,
        ...(payload.rejectedToken === undefined ? {} : { rejectedToken: payload.rejectedToken }),
        deadline,
      },
      deps,
    );
    return toResponse(token, deps.clock.now(), config);
  } catch (error) {
    const vendorError = toVendorError(error, credentialName ?? "(none)");
    // The caller's mistakes and transient trouble are warnings; ERROR is for what an operator must fix.
    const callerMistake =
      vendorError instanceof ValidationError ||
      vendorError instanceof UnknownCredentialError ||
      vendorError instanceof CredentialNotGrantedError;
    const level = vendorError.retryable || callerMistake ? "warn" : "error";
    log[level]("Token request failed", { credential: credentialName, ...describeError(vendorError) });
    throw vendorError;
  }
}

function toResponse(token: CachedToken, now: number, config: VendingConfig): VendingResponse {
  return {
    accessToken: token.accessToken,
    tokenType: "Bearer",
    expiresAt: new Date(token.expiresAt).toISOString(),
    expiresInSeconds: Math.max(0, Math.floor((token.expiresAt - now) / 1000)),
    environment: token.environment,
    apiBaseUrl: resolveEndpoints(token.environment, config.genesys).apiBaseUrl,
  };
}

/** The caller's deadline: Lambda's remaining time minus a safety margin to send the answer. */
function deadlineOf(context: DeadlineContext | undefined, now: number): number {
  const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_BUDGET_MS;
  const margin = Math.min(MAX_SAFETY_MARGIN_MS, Math.max(MIN_SAFETY_MARGIN_MS, remaining * 0.1));
  return now + Math.max(0, remaining - margin);
}

const VENDOR_ERRORS = [
  ValidationError,
  UnknownCredentialError,
  CredentialNotGrantedError,
  CredentialRejectedError,
  GenesysRateLimitedError,
  TokenUnavailableError,
  ConfigurationError,
];

/** Errors with a vendor name pass through; anything else becomes TokenUnavailableError (with its cause). */
function toVendorError(error: unknown, credential: string): RotatorError {
  if (error instanceof RotatorError && VENDOR_ERRORS.some((type) => error instanceof type)) {
    // A subclass (e.g. SecretValueError) must still reach the consumer under its contract name.
    if (error instanceof ValidationError && error.name !== "ValidationError") {
      return new ValidationError("vending payload", error.field, error.rule);
    }
    return error;
  }
  return new TokenUnavailableError(credential, `unexpected ${describeError(error).errorName}`, {
    cause: error,
  });
}
