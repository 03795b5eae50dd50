/**
 * Errors of the Secrets Manager emulator. `AwsServiceError` is what an operation throws to produce an
 * AWS error response (`__type` + `message`, HTTP status); the emulator's HTTP layer serialises it the
 * way the real awsJson1_1 service does, so the AWS SDK maps it to its own exception classes
 * (`ResourceNotFoundException`, `InvalidRequestException`, ...).
 *
 * Message texts: the ones marked "AWS text" were taken from recorded real-service responses (LocalStack
 * snapshot tests, moto tests validated against AWS, user reports quoting the service). The others are
 * the emulator's own wording for conditions whose exact AWS text no stored source shows.
 */
import { RotatorError } from "../../../lambda/shared/errors.ts";

/** An AWS error response of the emulated service. */
export class AwsServiceError extends RotatorError {
  override readonly name = "AwsServiceError";
  /** The AWS error code sent as `__type` and `x-amzn-ErrorType`, e.g. `ResourceNotFoundException`. */
  readonly errorType: string;
  /** HTTP status of the response: 400 for client errors, 500 for `InternalServiceError`. */
  readonly statusCode: number;
  readonly retryable: boolean;

  constructor(errorType: string, message: string, statusCode = 400) {
    super(message);
    this.errorType = errorType;
    this.statusCode = statusCode;
    this.retryable = statusCode >= 500 || errorType === "ThrottlingException";
  }
}

/** A misuse of the emulator's test API (`waitForRotation`), not an AWS error. */
export class EmulatorUsageError extends RotatorError {
  override readonly name = "EmulatorUsageError";
  readonly retryable = false;
}

/** HTTP status the real service uses for an error type (server faults are 5xx, the rest 400). */
export function statusForErrorType(errorType: string): number {
  if (errorType === "InternalServiceError" || errorType === "InternalFailure") return 500;
  if (errorType === "ServiceUnavailable" || errorType === "ServiceUnavailableException") return 503;
  return 400;
}

const notFound = (message: string) => new AwsServiceError("ResourceNotFoundException", message);
const invalidRequest = (message: string) => new AwsServiceError("InvalidRequestException", message);
const invalidParameter = (message: string) => new AwsServiceError("InvalidParameterException", message);

/** Every error the emulated operations raise, in one place so tests and README can refer to them. */
export const SecretsManagerErrors = {
  /** AWS text. */
  secretNotFound: () => notFound("Secrets Manager can't find the specified secret."),
  /** AWS text (also what a GetSecretValue on the empty AWSPENDING placeholder returns). */
  noValueForStage: (stage: string) =>
    notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`),
  /** AWS text. */
  noValueForVersionId: (versionId: string) =>
    notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`),
  /** AWS text (GetSecretValue with a VersionId that does not carry the given VersionStage). */
  stageNotOnVersion: () =>
    invalidRequest("You provided a VersionStage that is not associated to the provided VersionId."),
  /** AWS text (reads and writes of a secret scheduled for deletion). */
  markedForDeletion: () =>
    invalidRequest("You can't perform this operation on the secret because it was marked for deletion."),
  /** AWS text (DeleteSecret of a secret already scheduled for deletion). */
  alreadyMarkedDeleted: () =>
    invalidRequest("You tried to perform the operation on a secret that's currently marked deleted."),
  /** AWS text. */
  createWhileScheduledForDeletion: () =>
    invalidRequest(
      "You can't create this secret because a secret with this name is already scheduled for deletion.",
    ),
  /** AWS text. */
  secretExists: (name: string) =>
    new AwsServiceError(
      "ResourceExistsException",
      `The operation failed because the secret ${name} already exists.`,
    ),
  /** AWS text (a ClientRequestToken naming an existing version with a different value). */
  tokenInUse: (token: string, arn: string) =>
    new AwsServiceError(
      "ResourceExistsException",
      `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${arn}`,
    ),
  /** AWS text. */
  valueRequired: () => invalidRequest("You must provide either SecretString or SecretBinary."),
  /** Emulator wording. */
  bothValues: () =>
    invalidParameter("You can't specify both SecretString and SecretBinary in the same request."),
  /** AWS text. */
  previousRotationIncomplete: () =>
    invalidRequest("A previous rotation isn't complete. That rotation will be reattempted."),
  /** AWS text (quoted in moto PR #3912 from the AWS CLI). */
  noRotationLambda: () => invalidRequest("No Lambda rotation function ARN is associated with this secret."),
  /** AWS text (the documented InvalidRequestException reason, which the service also uses for CancelRotateSecret). */
  cancelWithoutRotation: () =>
    invalidRequest(
      "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.",
    ),
  /** AWS text. */
  recoveryWindowRange: () =>
    invalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."),
  /** AWS text. */
  forceDeleteWithWindow: () =>
    invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."),
  /** AWS text. */
  removeFromVersionIdRequired: (stage: string, holder: string) =>
    invalidParameter(
      `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
    ),
  /** Emulator wording. */
  stageNotOnRemoveFromVersion: (stage: string, versionId: string) =>
    invalidParameter(
      `The staging label ${stage} is not attached to version ${versionId}, so you can't remove it from that version.`,
    ),
  /** Emulator wording. */
  versionNotFound: (parameter: string, versionId: string) =>
    invalidParameter(
      `The parameter ${parameter} refers to version ${versionId}, which doesn't exist in this secret.`,
    ),
  /** Emulator wording. */
  moveOrRemoveRequired: () =>
    invalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both."),
  /** Emulator wording. */
  cannotDropCurrent: () =>
    invalidParameter(
      "You can't remove the staging label AWSCURRENT without moving it to another version: specify MoveToVersionId.",
    ),
  /** Emulator wording. */
  invalidRotationRules: (rule: string) => invalidParameter(`RotationRules: ${rule}`),
  /** AWS text (localstack snapshot). */
  invalidName: () =>
    new AwsServiceError(
      "ValidationException",
      "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
    ),
  /** The standard AWS model-validation text, e.g. `Value null at 'secretId' failed to satisfy constraint: Member must not be null`. */
  constraint: (value: string, member: string, constraint: string) =>
    new AwsServiceError(
      "ValidationException",
      `1 validation error detected: Value ${value} at '${member}' failed to satisfy constraint: ${constraint}`,
    ),
  /** AWS text (awsJson protocol). */
  missingAuthentication: () =>
    new AwsServiceError("MissingAuthenticationTokenException", "Missing Authentication Token"),
  /** Emulator wording (the real service sends no message). */
  unknownOperation: (target: string) =>
    new AwsServiceError("UnknownOperationException", `Unknown operation ${JSON.stringify(target)}`),
  /** Emulator wording. */
  serialization: (detail: string) => new AwsServiceError("SerializationException", detail),
} as const;
