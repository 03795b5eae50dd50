/**
 * Storing createSecret's regenerated secret under AWSPENDING (docs/rotation.md, "Retries and crashes"
 * and "Concurrent createSecret"): the put is retried in-process ({@link storePendingValue}); when it
 * still fails, {@link resolvePutConflict} reads the version back and decides — done, regenerate again,
 * a concurrent createSecret, or (single) the rescue write of the live secret as AWSCURRENT. The
 * regeneration marker that guards a single client's unsaved secret is removed here once the value is
 * stored ({@link clearOwnMarker}).
 */
import { randomUUID } from "node:crypto";
import { describeError, RotatorError } from "../shared/errors.ts";
import { type CredentialSecret, serializeCredentialSecret } from "../shared/secret-value.ts";
import type { StepContext } from "./context.ts";
import { assertPendingContinuesCurrent, type StagedCredential, sameCredential } from "./credentials.ts";
import { ConcurrentRegenerationError, PendingPutFailedError } from "./errors.ts";
import { backoffDelay, whichSecretIsLive } from "./propagation.ts";
import { clearRegenerationMarker, putCurrentValue, putPendingValue } from "./secrets.ts";
import type { StepResult } from "./steps.ts";

/** Attempts of the AWSPENDING put after a regeneration (each one with the SDK's own retries). */
export const PENDING_PUT_ATTEMPTS = 4;
/** Time kept for the rescue write when the in-process put retries give up. */
const RESCUE_RESERVE_MS = 5_000;

/**
 * Stores the regenerated value under the rotation's token, retrying retryable failures in-process with
 * jittered backoff ({@link backoffDelay}) — the regenerated secret must not be dropped for a transient
 * error — within {@link PENDING_PUT_ATTEMPTS} and the invocation's deadline (each attempt is aborted
 * when the deadline, less the rescue write's reserve, passes). Repeating the put is safe: the same
 * token with the same value is a no-op.
 */
export async function storePendingValue(context: StepContext, value: string): Promise<void> {
  const { secretsManager, clock, random } = context.deps;
  for (let attempt = 0; ; attempt++) {
    const budgetMs = context.remainingMs() - RESCUE_RESERVE_MS;
    try {
      await putPendingValue(
        secretsManager,
        context.version.secretArn,
        context.version.token,
        value,
        Number.isFinite(budgetMs) ? { abortSignal: AbortSignal.timeout(Math.max(1, budgetMs)) } : {},
      );
      return;
    } catch (error) {
      const waitMs = backoffDelay(attempt, random);
      const retryable = error instanceof RotatorError && error.retryable;
      if (
        !retryable ||
        attempt + 1 >= PENDING_PUT_ATTEMPTS ||
        context.remainingMs() - RESCUE_RESERVE_MS <= waitMs
      ) {
        throw error;
      }
      context.metrics.count("PendingPutRetried");
      context.log.warn("storing the regenerated secret failed; retrying", {
        attempt: attempt + 1,
        waitMs,
        ...describeError(error),
      });
      await clock.sleep(waitMs);
    }
  }
}

/** Removes the regeneration marker from the rotation's version once its value is stored (best effort). */
export async function clearOwnMarker(context: StepContext): Promise<void> {
  try {
    await clearRegenerationMarker(
      context.deps.secretsManager,
      context.version.secretArn,
      context.version.token,
    );
  } catch (error) {
    // Harmless: finishSecret (or the next createSecret) finds the marker on a version with a value and removes it.
    context.log.warn("could not remove the regeneration marker", describeError(error));
  }
}

/**
 * createSecret's PutSecretValue failed after the regeneration. Three cases, told apart by reading the
 * version back:
 *
 * - it holds our value (the put landed, its response was lost): done;
 * - it is still empty: rethrow; the next attempt regenerates again;
 * - it holds ANOTHER value that continues AWSCURRENT: Secrets Manager re-invoked createSecret while this
 *   invocation ran, and both regenerated the same client. Only the later regeneration is live, so the
 *   token endpoint decides ({@link whichSecretIsLive}): if the stored one is live, ours is the earlier,
 *   dead one → `already-created`. If ours is live, the stored AWSPENDING can never work:
 *   alternating → {@link ConcurrentRegenerationError} (AWSCURRENT is intact; runbook: abandon and rotate);
 *   single → the live secret exists nowhere else, so it is written as a new AWSCURRENT version (this
 *   abandons the rotation: service restored, RotationAbandoned alarms) and the step still fails.
 */
export async function resolvePutConflict(
  context: StepContext,
  current: StagedCredential,
  ours: CredentialSecret,
  putError: unknown,
): Promise<StepResult> {
  const clientId = ours.clientId;
  let stored: StagedCredential | undefined;
  try {
    stored = await context.pending();
  } catch (readError) {
    context.log.warn("cannot read the pending version back after a failed put", describeError(readError));
  }
  if (stored !== undefined && sameCredential(stored.value, ours)) {
    context.log.info("the pending value was stored although PutSecretValue reported a failure", { clientId });
    return "completed";
  }
  if (stored === undefined) {
    context.metrics.count("PendingPutFailedAfterRegeneration");
    if (current.value.strategy === "alternating") {
      // The twin has no users: the next attempt regenerates it again, which loses nothing.
      context.log.error("the regenerated secret could not be stored; the next attempt regenerates it again", {
        clientId,
        ...describeError(putError),
      });
      throw putError;
    }
    // Single: the regenerated secret is the client's only live one; store it as AWSCURRENT instead.
    return rescueSingleSecret(
      context,
      ours,
      `AWSPENDING version ${context.version.token} of ${context.version.secretArn}: the regenerated secret of ` +
        `client ${clientId} could not be stored (${describeError(putError).errorName})`,
      putError,
      PendingPutFailedError,
    );
  }
  assertPendingContinuesCurrent(current, stored);
  context.metrics.count("ConcurrentRegeneration");
  context.log.warn("another invocation of createSecret stored its own regeneration of the same client", {
    clientId,
  });
  const live = await whichSecretIsLive(context, stored, {
    value: ours,
    where: `the secret this invocation regenerated for client ${clientId}`,
  });
  if (live === "stored") {
    context.log.info(
      "the stored pending secret is the live one; this invocation's regeneration is superseded",
      {
        clientId,
      },
    );
    return "already-created";
  }
  const runbook = "docs/rotation.md, runbook";
  if (live === "unknown") {
    throw new ConcurrentRegenerationError(
      `${stored.where}: a concurrent createSecret stored another regeneration of client ${clientId}, and neither ` +
        `secret was accepted by the token endpoint within ${Math.round(context.deps.propagationTimeoutMs / 1000)} s. ` +
        `Find which version works (${runbook}, "Find which version works")`,
      { cause: putError },
    );
  }
  if (current.value.strategy === "alternating") {
    throw new ConcurrentRegenerationError(
      `${stored.where}: a concurrent createSecret regenerated client ${clientId} again after the stored value was ` +
        "generated, so AWSPENDING holds a dead secret. AWSCURRENT is intact and every consumer keeps working. " +
        `Remove AWSPENDING from version ${context.version.token} and rotate again (${runbook}, "Stuck AWSPENDING")`,
      { cause: putError },
    );
  }
  return rescueSingleSecret(
    context,
    ours,
    `${stored.where}: a concurrent createSecret left a dead secret in AWSPENDING`,
    putError,
    ConcurrentRegenerationError,
  );
}

/**
 * Single strategy, ours is the client's only live secret and AWSPENDING cannot hold it (a concurrent
 * createSecret stored a dead one, or the put kept failing): store it as a new AWSCURRENT version at once
 * (abandoning the rotation), remove the regeneration marker, then fail the step so the rotation is
 * rerun. If even that write fails the marker stays, and later attempts refuse instead of regenerating.
 *
 * @param reason what went wrong, starting with where (for the error message).
 * @param ErrorClass the error the step fails with.
 */
async function rescueSingleSecret(
  context: StepContext,
  ours: CredentialSecret,
  reason: string,
  putError: unknown,
  ErrorClass: typeof ConcurrentRegenerationError | typeof PendingPutFailedError,
): Promise<never> {
  const rescueVersion = randomUUID();
  const budgetMs = context.remainingMs();
  try {
    await putCurrentValue(
      context.deps.secretsManager,
      context.version.secretArn,
      rescueVersion,
      serializeCredentialSecret(ours, { extraEnvironments: context.deps.extraEnvironments }),
      Number.isFinite(budgetMs) ? { abortSignal: AbortSignal.timeout(Math.max(1, budgetMs)) } : {},
    );
  } catch (rescueError) {
    context.log.error("could not store the live secret of the single client; it is lost", {
      clientId: ours.clientId,
      ...describeError(rescueError),
    });
    throw new ErrorClass(
      `${reason}, and storing the live secret of client ${ours.clientId} as AWSCURRENT failed too; no staged ` +
        "version works. Regenerate the secret by hand " +
        '(docs/rotation.md, runbook "Single strategy: AWSCURRENT is dead", step 2)',
      { cause: rescueError },
    );
  }
  await clearOwnMarker(context);
  context.metrics.count("SingleSecretRescued");
  context.log.warn("stored the live secret as a new AWSCURRENT version; the rotation is abandoned", {
    clientId: ours.clientId,
    rescueVersionId: rescueVersion,
  });
  throw new ErrorClass(
    `${reason}; the live secret of client ` +
      `${ours.clientId} was stored as new AWSCURRENT version ${rescueVersion}, which abandons this rotation ` +
      "(RotationAbandoned). Service is restored; rotate again",
    { cause: putError },
  );
}
