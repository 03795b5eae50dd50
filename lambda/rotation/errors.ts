/**
 * Typed failures of the rotation function. Secrets Manager only sees "the step threw"; these classes
 * exist for the humans and alarms reading the logs and the RotationFailed event: each has a stable
 * `name`, says whether a retry of the whole rotation can help (`retryable`), and names the secret,
 * version or client involved — never a secret or a token.
 *
 * Retryable: throttling, 5xx, timeouts, propagation lag (Secrets Manager's own retries will likely fix it).
 * Fatal: bad configuration, rejected AWSCURRENT credentials, role drift, identity mismatch (a human must act;
 * see docs/rotation.md).
 */
import { RotatorError, ValidationError } from "../shared/errors.ts";

/** The rotation event is malformed (Step, SecretId, ClientRequestToken, RotationToken). Nothing was touched. */
export class RotationEventError extends ValidationError {
  override readonly name = "RotationEventError";

  constructor(field: string, rule: string) {
    super("rotation event", field, rule);
  }
}

/**
 * The secret's metadata does not allow this step: rotation disabled, unknown version, version not
 * AWSPENDING, no AWSCURRENT version. Fatal: Secrets Manager is not in the state a rotation needs.
 */
export class RotationStateError extends RotatorError {
  override readonly name = "RotationStateError";
  readonly retryable = false;
}

/**
 * A staged value of a secret (or of its admin secret) fails the schema of docs/design.md#the-secret-value, or does not fit
 * with the other staged values (different environment, pending client not the twin). Fatal.
 */
export class InvalidSecretValueError extends RotatorError {
  override readonly name = "InvalidSecretValueError";
  readonly retryable = false;
}

/**
 * Genesys rejected the AWSCURRENT credentials (`invalid_client`) before anything was changed. This is the
 * confused-deputy guard: the rotator refuses to regenerate a client whose current secret the secret's
 * owner cannot prove to hold. Fatal.
 */
export class CurrentCredentialRejectedError extends RotatorError {
  override readonly name = "CurrentCredentialRejectedError";
  readonly retryable = false;
}

/** The admin credential cannot act: rejected, missing permission, wrong organisation or misconfigured. Fatal. */
export class AdminCredentialError extends RotatorError {
  override readonly name = "AdminCredentialError";
  readonly retryable = false;
}

/**
 * The value names, as the client to regenerate, a client of the admin credential itself (its
 * `clientId` or `alternateClientId`). Regenerating it would hand the secret's writer a working admin
 * secret (in AWSPENDING) and kill the admin's own AWSCURRENT. Checked before any regeneration. Fatal.
 */
export class TargetIsAdminClientError extends RotatorError {
  override readonly name = "TargetIsAdminClientError";
  readonly retryable = false;
}

/**
 * The organisation of the AWSCURRENT credentials (`GET /api/v2/tokens/me`) is not the admin token's
 * organisation: `adminSecretArn` names the admin of another organisation. Checked before any
 * regeneration. Fatal.
 */
export class OrganizationMismatchError extends RotatorError {
  override readonly name = "OrganizationMismatchError";
  readonly retryable = false;
}

/**
 * `adminSecretArn` of the value is not the admin secret pinned for this secret at deploy time
 * (`ADMIN_SECRET_ARNS`), or the secret has no pin although pins are configured. Checked before the admin
 * secret is read. Fatal.
 */
export class AdminSecretPinError extends RotatorError {
  override readonly name = "AdminSecretPinError";
  readonly retryable = false;
}

/**
 * Two createSecret invocations of the same rotation regenerated the secret concurrently and the version
 * holds the earlier (dead) secret. Alternating: AWSCURRENT is intact; abandon the rotation (remove
 * AWSPENDING) and rotate again. Single: the live secret was written as a new AWSCURRENT version (which
 * abandons the rotation), or — if even that failed — it is lost. Fatal.
 */
export class ConcurrentRegenerationError extends RotatorError {
  override readonly name = "ConcurrentRegenerationError";
  readonly retryable = false;
}

/**
 * Single strategy: the regenerated secret could not be stored as AWSPENDING (the put kept failing, e.g.
 * AccessDenied or a disabled KMS key). It was written as a new AWSCURRENT version instead, which abandons
 * the rotation (service restored: rotate again) — or, if that failed too, the message says it is lost.
 * Fatal.
 */
export class PendingPutFailedError extends RotatorError {
  override readonly name = "PendingPutFailedError";
  readonly retryable = false;
}

/**
 * The client a rotation regenerates (before the regeneration) or the pending client (setSecret,
 * testSecret) does not exist, is not `active`, or is not a client-credentials client. Fatal.
 */
export class PendingClientStateError extends RotatorError {
  override readonly name = "PendingClientStateError";
  readonly retryable = false;
}

/**
 * The pending value is missing where a previous step should have stored it. Retryable: the next whole
 * rotation attempt starts again at createSecret, which stores it.
 */
export class PendingValueMissingError extends RotatorError {
  override readonly name = "PendingValueMissingError";
  readonly retryable = true;
}

/**
 * The pending credentials were still not accepted by the token endpoint when the propagation deadline
 * passed. Retryable: Genesys' auth service is eventually consistent and the next attempt polls again.
 */
export class PropagationTimeoutError extends RotatorError {
  override readonly name = "PropagationTimeoutError";
  readonly retryable = true;
}

/** A token minted with the pending credentials belongs to another client or another organisation. Fatal. */
export class IdentityMismatchError extends RotatorError {
  override readonly name = "IdentityMismatchError";
  readonly retryable = false;
}

/** The two clients of an alternating pair differ in roleDivisions or accessTokenValiditySeconds. Fatal. */
export class RoleDriftError extends RotatorError {
  override readonly name = "RoleDriftError";
  readonly retryable = false;
}

/** A Secrets Manager call failed. `retryable` follows the SDK's classification (throttling, 5xx, network). */
export class SecretsManagerCallError extends RotatorError {
  override readonly name = "SecretsManagerCallError";
  readonly retryable: boolean;
  /** The API operation, e.g. `PutSecretValue`. */
  readonly operation: string;
  /** The AWS error name, e.g. `ThrottlingException`. */
  readonly awsErrorName: string;

  constructor(operation: string, awsErrorName: string, detail: string, retryable: boolean, cause: unknown) {
    super(`Secrets Manager ${operation} failed: ${awsErrorName}: ${detail}`, { cause });
    this.operation = operation;
    this.awsErrorName = awsErrorName;
    this.retryable = retryable;
  }
}

/** Something failed that no other class describes (a bug or an unforeseen response). Not retryable by default. */
export class UnexpectedRotationError extends RotatorError {
  override readonly name = "UnexpectedRotationError";
  readonly retryable = false;
}

/**
 * createSecret refused to regenerate: the client it would regenerate was handed out as AWSCURRENT too
 * recently (AWSPREVIOUS names it and was replaced less than `MIN_ROTATION_GAP_SECONDS` ago), so tokens
 * minted with it and raw readers' cached copies may still be in use. Nothing was changed. Retryable: a
 * later attempt passes once the gap has elapsed; `genesys-rotator rotate --ignore-min-gap` overrides it.
 */
export class MinRotationGapError extends RotatorError {
  override readonly name = "MinRotationGapError";
  readonly retryable = true;
  /** How long until the gap has elapsed, ms. */
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Too little of the invocation's time is left to regenerate a secret AND store it (the Lambda timeout is
 * near). Nothing was changed. Retryable: the next attempt starts with a fresh invocation.
 */
export class DeadlineTooCloseError extends RotatorError {
  override readonly name = "DeadlineTooCloseError";
  readonly retryable = true;
}

/**
 * Single strategy: an earlier createSecret marked the secret (staging label `GENESYS_REGENERATING`) before
 * regenerating the client, and the regenerated secret was never stored: it may exist only in Genesys now
 * (or nowhere). Regenerating again would lose it for good, so the rotation refuses until an operator
 * runs `genesys-rotator recover`, which clears the marker. Fatal.
 */
export class UnsavedRegenerationError extends RotatorError {
  override readonly name = "UnsavedRegenerationError";
  readonly retryable = false;
}

/**
 * An integration credential (Data Action) configured for this secret still holds the client the
 * rotation would regenerate, and re-syncing it to AWSCURRENT failed. Regenerating would break it.
 * Nothing was regenerated. Retryable (the integration API may be throttled or briefly unavailable).
 */
export class IntegrationCredentialStaleError extends RotatorError {
  override readonly name = "IntegrationCredentialStaleError";
  readonly retryable = true;
}
