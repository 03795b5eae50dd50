/**
 * One rotation step, independent of Lambda: run the guard (DescribeSecret), then dispatch on the step
 * through {@link STEP_FUNCTIONS}. The handler calls this with dependencies built from the environment;
 * tests and the local drill call it with their own.
 */
import { describeError } from "../shared/errors.ts";
import type { Strategy } from "../shared/secret-value.ts";
import { type RotationDependencies, StepContext, withLogKeys } from "./context.ts";
import { describeRotationVersion } from "./secrets.ts";
import { type RotationStep, STEP_FUNCTIONS, type StepResult } from "./steps.ts";

export { ROTATION_STEPS } from "../shared/staging-labels.ts";
export type { RotationDependencies, RotationMetrics } from "./context.ts";
export { NO_METRICS } from "./context.ts";
export type { RotationStep, StepResult } from "./steps.ts";

/** The validated identity of one rotation step (from the Secrets Manager event). */
export interface RotationRequest {
  /** Secret ARN or name. */
  secretId: string;
  /** The rotation's version id (ClientRequestToken). */
  token: string;
  /**
   * When the step must be done (epoch ms on `deps.clock`), from the Lambda context's remaining time.
   * @default undefined (no limit)
   */
  deadline?: number | undefined;
}

/** What {@link rotate} reports back. */
export interface StepOutcome {
  step: RotationStep;
  result: StepResult;
  /** The secret's full ARN. */
  secretArn: string;
  /** The secret's strategy, when the step read its value. */
  strategy: Strategy | undefined;
}

/**
 * Runs one step of the rotation of `request.secretId` to version `request.token`.
 * @throws RotatorError subclasses (see errors.ts); `retryable` says whether Secrets Manager's retry may help.
 */
export async function rotate(
  step: RotationStep,
  request: RotationRequest,
  deps: RotationDependencies,
): Promise<StepOutcome> {
  let log = withLogKeys(deps.log, { step, secretArn: request.secretId, clientRequestToken: request.token });
  let context: StepContext | undefined;
  try {
    const version = await describeRotationVersion(deps.secretsManager, request.secretId, request.token);
    log = withLogKeys(deps.log, { step, secretArn: version.secretArn, clientRequestToken: request.token });
    context = new StepContext(deps, version, log, request.deadline);
    const result = await STEP_FUNCTIONS[step](context);
    context.log.info("rotation step succeeded", { result });
    return { step, result, secretArn: version.secretArn, strategy: context.strategy };
  } catch (error) {
    // Logged here, where the step's full context (including the strategy) is known; never a secret.
    (context?.log ?? log).error("rotation step failed", describeError(error));
    throw error;
  }
}
