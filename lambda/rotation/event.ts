/**
 * Validation of the event Secrets Manager sends to a rotation function:
 * `{ Step, SecretId, ClientRequestToken, RotationToken? }` (AWS: rotate-secrets_lambda.html). Nothing is
 * read or changed before the event passes.
 */

import { ROTATION_STEPS, type RotationStep } from "../shared/staging-labels.ts";
import { RotationEventError } from "./errors.ts";

/** A validated rotation event. */
export interface RotationEvent {
  Step: RotationStep;
  /** Secret ARN (Secrets Manager sends the ARN) or name. */
  SecretId: string;
  /** The rotation's version id: 32–64 characters (the RotateSecret ClientRequestToken constraint). */
  ClientRequestToken: string;
  /** Present for rotations with an assumed role / cross-account; opaque to this function. */
  RotationToken?: string;
}

/** Secrets Manager's limit on a secret ARN or name. */
const MAX_SECRET_ID_LENGTH = 2048;
// ClientRequestToken: 32–64 printable ASCII characters without whitespace (AWS generates UUIDs).
const CLIENT_REQUEST_TOKEN = /^[\x21-\x7e]{32,64}$/;

/**
 * Validates a raw event. Unknown keys are ignored (AWS may add fields); values are never echoed.
 * @throws RotationEventError naming the field and the rule.
 */
export function parseRotationEvent(event: unknown): RotationEvent {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new RotationEventError("(event)", "must be a JSON object");
  }
  const record = event as Record<string, unknown>;
  const step = record.Step;
  if (typeof step !== "string" || !(ROTATION_STEPS as readonly string[]).includes(step)) {
    throw new RotationEventError("Step", `must be one of ${ROTATION_STEPS.join(", ")}`);
  }
  const secretId = record.SecretId;
  if (typeof secretId !== "string" || secretId.trim() === "" || secretId.length > MAX_SECRET_ID_LENGTH) {
    throw new RotationEventError(
      "SecretId",
      `must be a non-empty string of at most ${MAX_SECRET_ID_LENGTH} characters`,
    );
  }
  const token = record.ClientRequestToken;
  if (typeof token !== "string" || !CLIENT_REQUEST_TOKEN.test(token)) {
    throw new RotationEventError(
      "ClientRequestToken",
      "must be a string of 32 to 64 printable characters without whitespace",
    );
  }
  const rotationToken = record.RotationToken;
  if (rotationToken !== undefined && (typeof rotationToken !== "string" || rotationToken.length > 4096)) {
    throw new RotationEventError("RotationToken", "must be a string of at most 4096 characters when present");
  }
  const parsed: RotationEvent = { Step: step as RotationStep, SecretId: secretId, ClientRequestToken: token };
  if (rotationToken !== undefined) parsed.RotationToken = rotationToken;
  return parsed;
}
