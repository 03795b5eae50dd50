/**
 * The four steps of the Secrets Manager rotation protocol for Genesys Cloud OAuth clients (docs/rotation.md#step-by-step).
 *
 * Secrets Manager retries whole rotations and may call any step again at any moment, so each step
 * starts by checking whether its work is already done, and every external effect is either repeatable
 * (reads, PutSecretValue with the same token, moving a label) or made harmless on repeat (regenerating
 * the inactive client of an alternating pair, which nobody uses).
 */
import type { OAuthClient } from "../shared/genesys/api.ts";
import { GenesysNotFoundError } from "../shared/genesys/errors.ts";
import type { AccessToken } from "../shared/genesys/oauth.ts";
import { nextCredentialSecret, serializeCredentialSecret } from "../shared/secret-value.ts";
import type { RotationStep } from "../shared/staging-labels.ts";
import type { CredentialRole, StepContext } from "./context.ts";
import {
  assertPendingContinuesCurrent,
  type StagedCredential,
  sameCredential,
  targetClientId,
} from "./credentials.ts";
import { IdentityMismatchError, PendingClientStateError, PendingValueMissingError } from "./errors.ts";
import { runFinishHooks } from "./finish-hooks.ts";
import { clearOwnMarker, resolvePutConflict, storePendingValue } from "./pending-put.ts";
import {
  assertMinRotationGap,
  assertTimeToRegenerate,
  checkRegenerationMarker,
  resyncIntegrationCredentials,
} from "./preconditions.ts";
import { waitForAcceptedCredential } from "./propagation.ts";
import { assertTwinsFitToRotate, guardBeforeRegeneration } from "./regeneration-guards.ts";
import { markRegeneration, promoteToCurrent } from "./secrets.ts";

export type { RotationStep };

/** What a step did. */
export type StepResult =
  /** The token's version already carries AWSCURRENT: the rotation finished earlier (finishSecret re-ran its hooks). */
  | "already-current"
  /** createSecret found the pending value stored by an earlier attempt. */
  | "already-created"
  /** The step did its work. */
  | "completed"
  /** testSecret ran without a pending value (RotateSecret with RotateImmediately=false) and tested AWSCURRENT. */
  | "tested-current";

/** A step function: takes the step's context, returns what it did or throws a typed error. */
export type StepFunction = (context: StepContext) => Promise<StepResult>;

/**
 * createSecret: store the new credentials under AWSPENDING.
 *
 * Reads and validates AWSCURRENT and the admin credential, then — before anything is regenerated —
 * checks the preconditions of preconditions.ts (no unsaved earlier regeneration, the minimum gap between
 * rotations, integration credentials re-synced) and runs the confused-deputy guards
 * ({@link guardBeforeRegeneration}); refuses to start a regeneration too close to the invocation's
 * deadline. For a single client it marks the rotation's version (staging label GENESYS_REGENERATING)
 * before regenerating, so that a crash before the result is stored stops later attempts instead of
 * regenerating (and losing) the secret again. It then regenerates the secret of the inactive client
 * (alternating: the twin; single: the client itself) with the admin token and stores the result,
 * retrying the put in-process ({@link storePendingValue}); if that fails, see {@link resolvePutConflict}.
 */
export async function createSecret(context: StepContext): Promise<StepResult> {
  if (context.version.isCurrent) return "already-current";
  const current = await context.current();
  const existing = await context.pending();
  if (existing !== undefined) {
    assertPendingContinuesCurrent(current, existing);
    if (context.version.regenerationMarkerVersionId === context.version.token) await clearOwnMarker(context);
    context.log.info("pending value already stored by an earlier attempt", {
      clientId: existing.value.clientId,
    });
    return "already-created";
  }
  await checkRegenerationMarker(context, current);
  await assertMinRotationGap(context, current);
  await guardBeforeRegeneration(context, current);
  await resyncIntegrationCredentials(context, current);
  const target = targetClientId(current.value);
  const adminApi = await context.adminApi();
  assertTimeToRegenerate(context, target);
  const single = current.value.strategy === "single";
  if (single)
    await markRegeneration(context.deps.secretsManager, context.version.secretArn, context.version.token);
  const regenerated = await adminApi.regenerateClientSecret(target);
  context.metrics.count("SecretRegenerated");
  const pending = nextCredentialSecret(current.value, regenerated.secret);
  let result: StepResult = "completed";
  try {
    await storePendingValue(
      context,
      serializeCredentialSecret(pending, { extraEnvironments: context.deps.extraEnvironments }),
    );
  } catch (error) {
    result = await resolvePutConflict(context, current, pending, error);
  }
  if (single) await clearOwnMarker(context);
  if (result === "completed") {
    context.log.info("regenerated the secret and stored it as AWSPENDING", { clientId: target });
  }
  return result;
}

/**
 * setSecret: Genesys generated the value, so there is nothing to send. Verifies that the pending client
 * exists and is `active` (an inactive client cannot mint tokens, and would fail only later).
 */
export async function setSecret(context: StepContext): Promise<StepResult> {
  if (context.version.isCurrent) return "already-current";
  const current = await context.current();
  const pending = await requirePending(context, current);
  let client: OAuthClient;
  try {
    client = await (await context.adminApi()).getOAuthClient(pending.value.clientId);
  } catch (error) {
    if (error instanceof GenesysNotFoundError) {
      throw new PendingClientStateError(`${pending.where}: client ${pending.value.clientId} does not exist`, {
        cause: error,
      });
    }
    throw error;
  }
  if (client.state !== "active") {
    throw new PendingClientStateError(
      `${pending.where}: client ${pending.value.clientId} is ${client.state}; it must be active to mint tokens`,
    );
  }
  return "completed";
}

/**
 * testSecret: proves the pending credentials work and are the right ones.
 *
 * 1. Polls the token endpoint with the pending credentials until accepted or the propagation deadline
 *    (a new secret can be rejected for ~10 s); throttling honours Retry-After.
 * 2. `GET /api/v2/tokens/me`: the token's client must be the pending client, its organisation the one of
 *    the reference credential (AWSCURRENT for alternating; the admin for single, whose AWSCURRENT secret
 *    was replaced by createSecret).
 * 3. Alternating: the twins must have the same roleDivisions and token lifetime.
 *
 * Alone (RotateSecret with RotateImmediately=false) there is no pending value, or a copy of AWSCURRENT:
 * then AWSCURRENT is tested the same way (mint, identity, twins), which is what such a dry run is for:
 * proving that the configuration, permissions and pair are fit to rotate.
 */
export async function testSecret(context: StepContext): Promise<StepResult> {
  if (context.version.isCurrent) return "already-current";
  const current = await context.current();
  const pending = await context.pending();
  const testOnly = pending === undefined || sameCredential(pending.value, current.value);
  let subject: StagedCredential;
  let token: AccessToken;
  if (testOnly) {
    subject = current;
    token = await context.mint(current, "current");
  } else {
    assertPendingContinuesCurrent(current, pending);
    subject = pending;
    token = await waitForAcceptedCredential(context, pending);
  }
  const endpoints = context.endpoints(subject.value);
  const info = await context.deps.genesys
    .api(endpoints, token.accessToken, context.callLimits())
    .getTokenInfo();
  if (info.OAuthClient.id !== subject.value.clientId) {
    throw new IdentityMismatchError(
      `${subject.where}: a token minted with it belongs to client ${info.OAuthClient.id}, expected ${subject.value.clientId}`,
    );
  }
  const reference = await referenceCredential(context, current, testOnly);
  if (reference !== undefined) {
    const referenceToken = await context.mint(reference.staged, reference.role);
    const expected = await context.deps.genesys
      .api(endpoints, referenceToken.accessToken, context.callLimits())
      .getTokenInfo();
    if (info.organization.id !== expected.organization.id) {
      throw new IdentityMismatchError(
        `${subject.where}: client ${subject.value.clientId} belongs to organisation ${info.organization.id}, ` +
          `expected ${expected.organization.id} (the organisation of ${reference.staged.where})`,
      );
    }
  }
  if (current.value.strategy === "alternating") await assertTwinsFitToRotate(context, current);
  context.log.info(
    testOnly ? "tested the AWSCURRENT credentials (no pending value)" : "tested the pending credentials",
    {
      clientId: subject.value.clientId,
    },
  );
  return testOnly ? "tested-current" : "completed";
}

/**
 * The credential whose organisation the tested client must share: AWSCURRENT when it is a different,
 * still-working client (alternating); else the admin (single, whose AWSCURRENT secret createSecret
 * replaced). `undefined` when the tested credential is itself the admin (a self-managed pair tested alone).
 */
async function referenceCredential(
  context: StepContext,
  current: StagedCredential,
  testOnly: boolean,
): Promise<{ staged: StagedCredential; role: CredentialRole } | undefined> {
  if (current.value.strategy === "alternating" && !testOnly) return { staged: current, role: "current" };
  if (current.value.adminSecretArn === undefined) return undefined;
  return { staged: await context.admin(), role: "admin" };
}

/** The validated pending value; its absence means createSecret has not stored it (yet). */
async function requirePending(context: StepContext, current: StagedCredential): Promise<StagedCredential> {
  const pending = await context.pending();
  if (pending === undefined) {
    throw new PendingValueMissingError(
      `AWSPENDING version ${context.version.token} of ${context.version.secretArn} has no value; createSecret must run first`,
    );
  }
  assertPendingContinuesCurrent(current, pending);
  return pending;
}

/**
 * finishSecret: moves AWSCURRENT to the token's version (Secrets Manager moves AWSPREVIOUS), removes a
 * regeneration marker createSecret left on it, then runs the best-effort hooks. If the move already happened (a retry after a crash), only the hooks run again:
 * they are idempotent, and re-running them is how a crash between the move and the hooks is repaired.
 */
export async function finishSecret(context: StepContext): Promise<StepResult> {
  const alreadyCurrent = context.version.isCurrent;
  if (!alreadyCurrent) {
    const current = await context.current();
    // Never promote a value that would not pass testSecret's own preconditions.
    await requirePending(context, current);
    await promoteToCurrent(
      context.deps.secretsManager,
      context.version.secretArn,
      context.version.token,
      context.version.currentVersionId,
    );
    context.metrics.count("RotationFinished");
    context.log.info("moved AWSCURRENT to the new version", {
      previousVersionId: context.version.currentVersionId,
    });
  }
  // createSecret could not remove its regeneration marker after the put (best effort): the value is
  // stored, so the marker is stale; remove it here rather than leave it to the next rotation.
  if (context.version.regenerationMarkerVersionId === context.version.token) await clearOwnMarker(context);
  await runFinishHooks(context);
  return alreadyCurrent ? "already-current" : "completed";
}

/** The dispatch table of the protocol: Step → step function. */
export const STEP_FUNCTIONS: Readonly<Record<RotationStep, StepFunction>> = {
  createSecret,
  setSecret,
  testSecret,
  finishSecret,
};
