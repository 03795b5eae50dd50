/**
 * The Secrets Manager calls of the rotation protocol, each mapped to the project's typed errors. Values
 * returned here are raw strings; callers validate them with `parseCredentialSecret` before use.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { awsErrorFields } from "../shared/aws-errors.ts";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, REGENERATION_MARKER } from "../shared/staging-labels.ts";
import { RotationStateError, SecretsManagerCallError } from "./errors.ts";

/** What the guard learned about the secret and the rotation's version (see {@link describeRotationVersion}). */
export interface RotationVersion {
  /** The secret's full ARN (the event may carry a name). */
  secretArn: string;
  /** The secret's name. */
  secretName: string;
  /** The rotation's version id (= the event's ClientRequestToken). */
  token: string;
  /** True when the token's version already carries AWSCURRENT: the rotation is finished. */
  isCurrent: boolean;
  /** The version that carries AWSCURRENT now (the token's own when `isCurrent`). */
  currentVersionId: string;
  /** The version that carries AWSPREVIOUS, if any. */
  previousVersionId?: string | undefined;
  /** The secret's LastRotatedDate (epoch ms), if it ever rotated. */
  lastRotatedAt?: number | undefined;
  /** The version carrying {@link REGENERATION_MARKER}, if any (a single-client regeneration in flight). */
  regenerationMarkerVersionId?: string | undefined;
}

/**
 * The guard every step runs first, as AWS's rotation templates do: rotation must not be disabled, the
 * token must be a version of the secret, and — unless it is already AWSCURRENT (a late retry of a
 * finished rotation, which every step treats as done) — it must carry AWSPENDING.
 *
 * @throws RotationStateError when the secret is not in a state this rotation may act on.
 */
export async function describeRotationVersion(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
): Promise<RotationVersion> {
  const metadata = await call("DescribeSecret", () =>
    client.send(new DescribeSecretCommand({ SecretId: secretId })),
  );
  const secretArn = metadata.ARN ?? secretId;
  // AWS's multi-user templates tolerate an absent flag; only an explicit false stops the rotation.
  if (metadata.RotationEnabled === false) {
    throw new RotationStateError(`secret ${secretArn}: rotation is not enabled`);
  }
  const versions = metadata.VersionIdsToStages ?? {};
  const stages = versions[token];
  if (stages === undefined) {
    throw new RotationStateError(
      `secret ${secretArn}: ClientRequestToken ${token} is not a version of the secret (it has no stage for rotation)`,
    );
  }
  const currentVersionId = Object.entries(versions).find(([, labels]) => labels.includes(AWSCURRENT))?.[0];
  if (currentVersionId === undefined) {
    throw new RotationStateError(
      `secret ${secretArn}: no version carries AWSCURRENT; store an initial value before rotating`,
    );
  }
  const isCurrent = stages.includes(AWSCURRENT);
  if (!isCurrent && !stages.includes(AWSPENDING)) {
    throw new RotationStateError(
      `secret ${secretArn}: version ${token} is neither AWSCURRENT nor AWSPENDING; this rotation was abandoned or superseded`,
    );
  }
  const holderOf = (label: string) =>
    Object.entries(versions).find(([, labels]) => labels.includes(label))?.[0];
  return {
    secretArn,
    secretName: metadata.Name ?? secretId,
    token,
    isCurrent,
    currentVersionId,
    previousVersionId: holderOf(AWSPREVIOUS),
    lastRotatedAt: metadata.LastRotatedDate?.getTime(),
    regenerationMarkerVersionId: holderOf(REGENERATION_MARKER),
  };
}

/**
 * Reads one staged value. Returns `undefined` when the version exists but has no value (the empty
 * AWSPENDING placeholder RotateSecret creates) or no version carries the label.
 */
export async function getStagedValue(
  client: SecretsManagerClient,
  secretId: string,
  selector: { stage: string; versionId?: string },
): Promise<{ value: string; versionId: string; createdAt?: number | undefined } | undefined> {
  try {
    const response = await client.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        VersionStage: selector.stage,
        VersionId: selector.versionId,
      }),
    );
    if (response.SecretString === undefined) return undefined;
    return {
      value: response.SecretString,
      versionId: response.VersionId ?? selector.versionId ?? "",
      createdAt: response.CreatedDate?.getTime(),
    };
  } catch (error) {
    if (awsErrorFields(error).name === "ResourceNotFoundException") return undefined;
    throw toSecretsManagerError("GetSecretValue", error);
  }
}

/**
 * Stores the pending value under the rotation's token. Repeating it with the same value is a no-op on
 * the AWS side, which is what makes an SDK retry after a lost response safe.
 */
export async function putPendingValue(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
  value: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  await putVersion(client, secretId, token, value, AWSPENDING, options);
}

/**
 * Stores `value` as a NEW version labelled AWSCURRENT (version id `token`, which must be fresh). While a
 * rotation is pending this abandons it (Secrets Manager removes AWSPENDING, event RotationAbandoned):
 * used only to rescue a live single-client secret that the rotation can no longer stage.
 */
export async function putCurrentValue(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
  value: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<void> {
  await putVersion(client, secretId, token, value, AWSCURRENT, options);
}

/**
 * Attaches {@link REGENERATION_MARKER} to the rotation's version (idempotent). Fails when another version
 * carries it (the caller checks that first).
 */
export async function markRegeneration(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
): Promise<void> {
  await call("UpdateSecretVersionStage", () =>
    client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: REGENERATION_MARKER,
        MoveToVersionId: token,
      }),
    ),
  );
}

/** Removes {@link REGENERATION_MARKER} from `versionId`; a version that no longer carries it is fine. */
export async function clearRegenerationMarker(
  client: SecretsManagerClient,
  secretId: string,
  versionId: string,
): Promise<void> {
  try {
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: REGENERATION_MARKER,
        RemoveFromVersionId: versionId,
      }),
    );
  } catch (error) {
    // "The staging label is not attached to the version": already cleared (a retry, or the operator).
    if (awsErrorFields(error).name === "InvalidParameterException") return;
    throw toSecretsManagerError("UpdateSecretVersionStage", error);
  }
}

/** Moves AWSCURRENT to the token's version; Secrets Manager moves AWSPREVIOUS to the old one itself. */
export async function promoteToCurrent(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
  currentVersionId: string,
): Promise<void> {
  await call("UpdateSecretVersionStage", () =>
    client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: AWSCURRENT,
        MoveToVersionId: token,
        RemoveFromVersionId: currentVersionId,
      }),
    ),
  );
}

/** Runs one SDK call and maps its failure to a {@link SecretsManagerCallError}. */
async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toSecretsManagerError(operation, error);
  }
}

const RETRYABLE_AWS_ERRORS = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestTimeout",
  "RequestTimeoutException",
  "InternalServiceError",
  "ServiceUnavailable",
  "TimeoutError",
]);

/**
 * Classifies an SDK failure: server faults, throttling and network errors (no HTTP response) are
 * retryable; client faults (AccessDenied, InvalidRequest, ResourceNotFound, DecryptionFailure) are not.
 */
export function toSecretsManagerError(operation: string, error: unknown): SecretsManagerCallError {
  const fields = awsErrorFields(error);
  const name = fields.name ?? "UnknownError";
  const retryable =
    RETRYABLE_AWS_ERRORS.has(name) ||
    fields.fault === "server" ||
    fields.sdkRetryable ||
    // No HTTP response and no fault classification: a network failure (reset, timeout, DNS).
    (error instanceof Error && fields.httpStatusCode === undefined && fields.fault === undefined);
  // AWS error messages name ARNs and version ids, never secret values; keep them short for log lines.
  const detail = error instanceof Error ? error.message.slice(0, 300) : typeof error;
  return new SecretsManagerCallError(operation, name, detail, retryable, error);
}

/** PutSecretValue of `value` as version `token` carrying `stage`. */
async function putVersion(
  client: SecretsManagerClient,
  secretId: string,
  token: string,
  value: string,
  stage: typeof AWSPENDING | typeof AWSCURRENT,
  options: { abortSignal?: AbortSignal },
): Promise<void> {
  await call("PutSecretValue", () =>
    client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: value,
        VersionStages: [stage],
      }),
      options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal },
    ),
  );
}
