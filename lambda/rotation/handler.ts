/**
 * The Secrets Manager rotation function (entry `handler`). Thin by design: validate the event, build the
 * dependencies from the environment (once per container), run {@link rotate}, map errors, publish
 * metrics. All logic lives in rotate.ts and steps.ts.
 *
 * Environment: docs/ARCHITECTURE.md ("Lambda functions: entry points and environment") and config.ts.
 */

import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientLimits } from "../shared/aws-client-config.ts";
import { type Clock, type Random, systemClock, systemRandom } from "../shared/clock.ts";
import { describeError, RotatorError } from "../shared/errors.ts";
import { createGenesysGateway, type GenesysGateway } from "../shared/genesys/gateway.ts";
import { createHandlerLog, type Log } from "../shared/log.ts";
import { createMetrics } from "../shared/metrics.ts";
import { readRotationConfig } from "./config.ts";
import type { RotationGenesysApi } from "./context.ts";
import { UnexpectedRotationError } from "./errors.ts";
import { parseRotationEvent } from "./event.ts";
import { cacheWarmingHook, type FinishHook, integrationCredentialsHook } from "./finish-hooks.ts";
import { type RotationDependencies, type RotationMetrics, rotate, type StepOutcome } from "./rotate.ts";

/** The `service` of logs and metrics when `POWERTOOLS_SERVICE_NAME` is not set. */
const SERVICE_NAME = "genesys-oauth-rotation";

/** Overrides for {@link createRotationHandler}; everything defaults to production behaviour. */
export interface RotationHandlerOptions {
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default systemClock */
  clock?: Clock;
  /** @default Math.random */
  random?: Random;
  /** @default a Powertools logger named after `POWERTOOLS_SERVICE_NAME` */
  log?: Log;
  /** @default `createMetrics` of lambda/shared/metrics.ts (Powertools, EMF on stdout) */
  metrics?: Metrics;
  /** @default a client for `SECRETS_MANAGER_ENDPOINT` or the SDK's default endpoint */
  secretsManager?: SecretsManagerClient;
  /** @default the shared Genesys gateway (lambda/shared/genesys/gateway.ts), honouring `GENESYS_ENDPOINT_OVERRIDE` */
  genesys?: GenesysGateway<RotationGenesysApi>;
  /** @default cache warming and integration credentials, as configured by the environment */
  finishHooks?: readonly FinishHook[];
}

/** The part of the Lambda context the handler reads. */
export interface DeadlineContext {
  getRemainingTimeInMillis(): number;
}

/** Time kept back from Lambda's remaining time, to log, publish metrics and answer before the timeout. */
const HANDLER_SAFETY_MARGIN_MS = 2_000;

/**
 * A rotation handler: resolves when the step succeeded, throws (a named error) when it failed. With a
 * Lambda `context`, the step works against its remaining time (no deadline without one), and every log
 * line carries the request id and the cold-start flag.
 */
export type RotationHandler = (event: unknown, context?: DeadlineContext) => Promise<StepOutcome>;

/**
 * Builds a handler. Configuration and clients are created on the first invocation and reused by the
 * container; a configuration error fails every invocation with a ConfigurationError naming the variable.
 */
export function createRotationHandler(options: RotationHandlerOptions = {}): RotationHandler {
  const env = options.env ?? process.env;
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME;
  const handlerLog = options.log === undefined ? createHandlerLog(serviceName) : undefined;
  const log = options.log ?? handlerLog!.log;
  const metrics = options.metrics ?? createMetrics(serviceName, env);
  let deps: RotationDependencies | undefined;

  return async (event: unknown, lambdaContext?: DeadlineContext): Promise<StepOutcome> => {
    handlerLog?.addContext(lambdaContext);
    try {
      const request = parseRotationEvent(event);
      metrics.addDimension("step", request.Step);
      deps ??= buildDependencies(options, env, log, powertoolsMetrics(metrics));
      const remainingMs = lambdaContext?.getRemainingTimeInMillis?.();
      const outcome = await rotate(
        request.Step,
        {
          secretId: request.SecretId,
          token: request.ClientRequestToken,
          deadline:
            remainingMs === undefined
              ? undefined
              : deps.clock.now() + Math.max(0, remainingMs - HANDLER_SAFETY_MARGIN_MS),
        },
        deps,
      );
      metrics.addMetric("RotationStepSucceeded", MetricUnit.Count, 1);
      return outcome;
    } catch (error) {
      metrics.addMetric("RotationStepFailed", MetricUnit.Count, 1);
      if (!(error instanceof RotatorError) || deps === undefined) {
        // rotate() logs its own failures with the step's context; these happened before or outside it.
        log.error("rotation step failed before it started", describeError(error));
      }
      throw toHandlerError(error);
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** Errors leave the function with a stable name; anything unexpected is wrapped so its name is ours. */
function toHandlerError(error: unknown): Error {
  if (error instanceof RotatorError) return error;
  const { errorName, errorMessage } = describeError(error);
  return new UnexpectedRotationError(`${errorName}: ${errorMessage}`, { cause: error });
}

function buildDependencies(
  options: RotationHandlerOptions,
  env: Readonly<Record<string, string | undefined>>,
  log: Log,
  metrics: RotationMetrics,
): RotationDependencies {
  const config = readRotationConfig(env);
  const clock = options.clock ?? systemClock;
  const secretsManager =
    options.secretsManager ??
    new SecretsManagerClient({
      ...awsClientLimits(),
      ...(config.secretsManagerEndpoint === undefined ? {} : { endpoint: config.secretsManagerEndpoint }),
    });
  const genesys =
    options.genesys ??
    createGenesysGateway({
      extraEnvironments: config.extraEnvironments,
      // Only the function's configuration: "" (no override) rather than the process environment's variable.
      endpointOverride: config.genesysEndpointOverride ?? "",
      clock,
      log,
    });
  const finishHooks: FinishHook[] = [];
  if (options.finishHooks !== undefined) {
    finishHooks.push(...options.finishHooks);
  } else {
    if (config.tokenVendorFunctionName !== undefined) {
      // Warming waits for at most one mint; it is best effort, so one attempt with a bounded wait.
      const lambda = new LambdaClient({
        ...awsClientLimits({ connectionTimeoutMs: 3_000, requestTimeoutMs: 15_000, maxAttempts: 1 }),
        ...(config.lambdaEndpoint === undefined ? {} : { endpoint: config.lambdaEndpoint }),
      });
      finishHooks.push(cacheWarmingHook(lambda, config.tokenVendorFunctionName));
    }
    if (Object.keys(config.integrationCredentials).length > 0) {
      finishHooks.push(integrationCredentialsHook(config.integrationCredentials));
    }
  }
  return {
    secretsManager,
    genesys,
    clock,
    random: options.random ?? systemRandom,
    log,
    metrics,
    propagationTimeoutMs: config.propagationTimeoutSeconds * 1000,
    extraEnvironments: config.extraEnvironments,
    finishHooks,
    adminSecretPins: config.adminSecretArns,
    minRotationGapMs: config.minRotationGapSeconds * 1000,
    integrationCredentials: config.integrationCredentials,
  };
}

/** Adapts Powertools Metrics to the domain's metrics interface. */
function powertoolsMetrics(metrics: Metrics): RotationMetrics {
  return {
    count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    milliseconds: (name, value) => metrics.addMetric(name, MetricUnit.Milliseconds, value),
  };
}

let defaultHandler: RotationHandler | undefined;

/** The Lambda entry point. */
export const handler = (event: unknown, context?: DeadlineContext): Promise<StepOutcome> => {
  defaultHandler ??= createRotationHandler();
  return defaultHandler(event, context);
};
