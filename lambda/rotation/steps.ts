/**
 * The four steps of the Secrets Manager rotation protocol for Genesys Cloud OAuth clients (docs/rotation.md#step-by-step).
 *
 * Secrets Manager retries whole rotations and may call any step again at any moment, so each step
 * starts by checking whether its work is already done, and every external effect is either repeatable
 * (reads, PutSecretValue with the same token, moving a label) or made harmless on repeat (regenerating
 * the inactive client of an alternating pair, which nobody uses).
 */
import { randomUUID } from "node:crypto";
import { describeError, RotatorError } from "../shared/errors.ts";
import type { OAuthClient } from "../shared/genesys/api.ts";
import { GenesysError, GenesysInvalidClientError, GenesysNotFoundError } from "../shared/genesys/errors.ts";
import type { AccessToken } from "../shared/genesys/oauth.ts";
import {
  type CredentialSecret,
  nextCredentialSecret,
  sameClientId,
  serializeCredentialSecret,
} from "../shared/secret-value.ts";
import type { RotationStep } from "../shared/staging-labels.ts";
import type { CredentialRole, StepContext } from "./context.ts";
import {
  assertPendingContinuesCurrent,
  assertTargetIsNotAdminClient,
  type StagedCredential,
  sameCredential,
  targetClientId,
} from "./credentials.ts";
import { describeTwinDrift } from "./drift.ts";
import {
  ConcurrentRegenerationError,
  IdentityMismatchError,
  InvalidSecretValueError,
  OrganizationMismatchError,
  PendingClientStateError,
  PendingPutFailedError,
  PendingValueMissingError,
  PropagationTimeoutError,
  RoleDriftError,
} from "./errors.ts";
import { runFinishHooks } from "./finish-hooks.ts";
import {
  assertMinRotationGap,
  assertTimeToRegenerate,
  checkRegenerationMarker,
  resyncIntegrationCredentials,
} from "./preconditions.ts";
import {
  clearRegenerationMarker,
  markRegeneration,
  promoteToCurrent,
  putCurrentValue,
  putPendingValue,
} from "./secrets.ts";

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
async function storePendingValue(context: StepContext, value: string): Promise<void> {
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
async function clearOwnMarker(context: StepContext): Promise<void> {
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
 * Everything that must hold before the admin regenerates a secret, cheapest first. A writer of the
 * rotated secret (who may not read the admin secret) must not be able to obtain, or destroy, any secret
 * beyond the one of the client the value already proves to hold:
 *
 * 1. every value valid and its environment allowed; `adminSecretArn` the pinned one (`ADMIN_SECRET_ARNS`,
 *    checked before the admin secret is read);
 * 2. the target is not a client of an external admin ({@link assertTargetIsNotAdminClient});
 * 3. AWSCURRENT mints a token ({@link guardCurrentCredential});
 * 4. with an external admin, AWSCURRENT's organisation is the admin token's ({@link assertSameOrganization});
 * 5. alternating: the twins exist, are client-credentials clients, the target is active, and both grant
 *    exactly the same roles and token lifetime ({@link assertTwinsFitToRotate}) — so a target with other
 *    roles is never regenerated.
 *
 * What remains possible is documented in docs/rotation.md ("What the guards do not prevent").
 */
async function guardBeforeRegeneration(context: StepContext, current: StagedCredential): Promise<void> {
  context.endpoints(current.value);
  const admin = await context.admin();
  context.endpoints(admin.value);
  assertTargetIsNotAdminClient(current, admin);
  await guardCurrentCredential(context, current);
  await assertSameOrganization(context, current, admin);
  if (current.value.strategy === "alternating") await assertTwinsFitToRotate(context, current);
}

/**
 * `GET /api/v2/tokens/me` with the AWSCURRENT token and with the admin token must name the same
 * organisation; otherwise `adminSecretArn` points at the admin of another organisation, whose clients
 * the value could then name. Nothing to compare for a self-managed pair (it is its own admin).
 *
 * @throws OrganizationMismatchError naming both organisation ids.
 */
async function assertSameOrganization(
  context: StepContext,
  current: StagedCredential,
  admin: StagedCredential,
): Promise<void> {
  if (current.value.adminSecretArn === undefined) return;
  const currentToken = await context.mint(current, "current");
  const currentApi = context.deps.genesys.api(
    context.endpoints(current.value),
    currentToken.accessToken,
    context.callLimits(),
  );
  // Both API clients first: a request must not fail unobserved while another is still being set up.
  const adminApi = await context.adminApi();
  const [currentInfo, adminInfo] = await Promise.all([currentApi.getTokenInfo(), adminApi.getTokenInfo()]);
  if (currentInfo.organization.id !== adminInfo.organization.id) {
    throw new OrganizationMismatchError(
      `${current.where}: client ${current.value.clientId} belongs to organisation ${currentInfo.organization.id}, ` +
        `but the admin credential (${admin.where}) to organisation ${adminInfo.organization.id}; ` +
        'field "adminSecretArn" must name the admin of the same organisation. Nothing was regenerated',
    );
  }
}

/**
 * The confused-deputy guard: before the admin regenerates anything, the AWSCURRENT credentials must
 * mint a token. Otherwise whoever can write the secret value could name a client whose secret they do
 * not hold and have the rotator hand them a fresh one. There is no exception: a single client whose
 * secret an earlier attempt regenerated and could not store is caught before this guard, by the
 * regeneration marker (preconditions.ts, `checkRegenerationMarker`), and needs the operator.
 */
async function guardCurrentCredential(context: StepContext, current: StagedCredential): Promise<void> {
  await context.mint(current, "current");
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
async function resolvePutConflict(
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

/**
 * Of two secrets of the same client, which one the token endpoint accepts. Polls both (propagation lag
 * can reject the live one for a while) until exactly one is accepted or the propagation deadline passes;
 * then `stored` if the stored one is accepted at all, else `unknown`.
 */
async function whichSecretIsLive(
  context: StepContext,
  stored: StagedCredential,
  ours: StagedCredential,
): Promise<"stored" | "ours" | "unknown"> {
  const { clock, propagationTimeoutMs } = context.deps;
  const deadline = Math.min(clock.now() + propagationTimeoutMs, context.deadline ?? Number.POSITIVE_INFINITY);
  for (let attempt = 0; ; attempt++) {
    const [storedProbe, ourProbe] = await Promise.all([
      probeToken(context, stored, deadline),
      probeToken(context, ours, deadline),
    ]);
    if (storedProbe.kind === "accepted" && ourProbe.kind === "rejected") return "stored";
    if (ourProbe.kind === "accepted" && storedProbe.kind === "rejected") return "ours";
    const remainingMs = deadline - clock.now();
    if (remainingMs <= 0) return storedProbe.kind === "accepted" ? "stored" : "unknown";
    await clock.sleep(retryDelay(context, attempt, remainingMs, storedProbe, ourProbe));
  }
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

/** Polls the token endpoint with the pending credentials until accepted or the propagation deadline passes. */
async function waitForAcceptedCredential(
  context: StepContext,
  pending: StagedCredential,
): Promise<AccessToken> {
  const { clock, propagationTimeoutMs } = context.deps;
  const startedAt = clock.now();
  const deadline = Math.min(startedAt + propagationTimeoutMs, context.deadline ?? Number.POSITIVE_INFINITY);
  for (let attempt = 0; ; attempt++) {
    const probe = await probeToken(context, pending, deadline);
    if (probe.kind === "accepted") {
      const waitedMs = clock.now() - startedAt;
      context.metrics.milliseconds("PropagationWait", waitedMs);
      context.log.info("the token endpoint accepted the pending credentials", {
        clientId: pending.value.clientId,
        attempts: attempt + 1,
        waitedMs,
      });
      return probe.token;
    }
    const remainingMs = deadline - clock.now();
    if (remainingMs <= 0) {
      throw new PropagationTimeoutError(
        `${pending.where}: client ${pending.value.clientId} was not accepted by the token endpoint within ` +
          `${Math.round(propagationTimeoutMs / 1000)} s (last failure: ${probe.error.name}); Genesys normally ` +
          "accepts a new secret within ~10 s. The next rotation attempt polls again; if it keeps failing see docs/rotation.md",
        { cause: probe.error },
      );
    }
    const waitMs = retryDelay(context, attempt, remainingMs, probe);
    context.log.debug("pending credentials not accepted yet; retrying", {
      clientId: pending.value.clientId,
      attempt: attempt + 1,
      waitMs,
      errorName: probe.error.name,
    });
    await clock.sleep(waitMs);
  }
}

/** One token request's verdict on a credential; anything but these three is thrown. */
type TokenProbe =
  | { kind: "accepted"; token: AccessToken }
  /** `invalid_client`: a wrong secret, or a new one not propagated yet. */
  | { kind: "rejected"; error: Error }
  /** A retryable failure (throttling, 5xx, timeout): no verdict. */
  | { kind: "unavailable"; error: Error; retryAfterMs: number | undefined };

/** One token request (no retries: the caller's loop owns retries, backoff and the deadline). */
async function probeToken(
  context: StepContext,
  staged: StagedCredential,
  deadline: number,
): Promise<TokenProbe> {
  const { clientId, clientSecret } = staged.value;
  try {
    const token = await context.deps.genesys.requestToken(
      context.endpoints(staged.value),
      clientId,
      clientSecret,
      {
        deadline,
        maxAttempts: 1,
      },
    );
    return { kind: "accepted", token };
  } catch (error) {
    if (error instanceof GenesysInvalidClientError) return { kind: "rejected", error };
    if (error instanceof RotatorError && error.retryable) {
      return {
        kind: "unavailable",
        error,
        retryAfterMs: error instanceof GenesysError ? error.retryAfterMs : undefined,
      };
    }
    throw error;
  }
}

/** The pause before the next probe round: the longest Retry-After asked for, else jittered backoff; never past the deadline. */
function retryDelay(
  context: StepContext,
  attempt: number,
  remainingMs: number,
  ...probes: TokenProbe[]
): number {
  const retryAfters = probes.flatMap((probe) =>
    probe.kind === "unavailable" && probe.retryAfterMs !== undefined ? [probe.retryAfterMs] : [],
  );
  const delay =
    retryAfters.length > 0 ? Math.max(...retryAfters) : backoffDelay(attempt, context.deps.random);
  return Math.min(remainingMs, delay);
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelay(attempt: number, random: () => number, baseMs = 250, capMs = 4000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/**
 * An alternating pair is fit to rotate when both clients exist in the admin's organisation, both are
 * client-credentials clients, the target (`alternateClientId`) is active, and they grant exactly the same
 * roleDivisions and token lifetime. Run before the regeneration (so a target with other roles is never
 * regenerated) and again in testSecret (drift may appear meanwhile, and a dry run must prove it).
 *
 * @throws PendingClientStateError when a client is missing, not client-credentials, or the target inactive.
 * @throws RoleDriftError naming every difference.
 */
async function assertTwinsFitToRotate(context: StepContext, current: StagedCredential): Promise<void> {
  const api = await context.adminApi();
  const read = async (id: string): Promise<OAuthClient> => {
    try {
      return await api.getOAuthClient(id);
    } catch (error) {
      if (error instanceof GenesysNotFoundError) {
        throw new PendingClientStateError(
          `${current.where}: client ${id} does not exist (or is not in the admin's organisation)`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  const [active, twin] = await Promise.all([
    read(current.value.clientId),
    read(current.value.alternateClientId as string),
  ]);
  if (sameClientId(active.id, twin.id)) {
    // Two ids that Genesys resolves to one client (e.g. differing in case): the "twin" is the active client.
    throw new InvalidSecretValueError(
      `${current.where}: fields "clientId" and "alternateClientId" both resolve to client ${twin.id} in Genesys; ` +
        "an alternating pair needs two distinct clients. Nothing was regenerated",
    );
  }
  for (const client of [active, twin]) {
    if (client.authorizedGrantType !== CLIENT_CREDENTIALS_GRANT) {
      throw new PendingClientStateError(
        `${current.where}: client ${client.id} has grant type ${client.authorizedGrantType}; both twins must be ${CLIENT_CREDENTIALS_GRANT} clients`,
      );
    }
  }
  if (twin.state !== "active") {
    throw new PendingClientStateError(
      `${current.where}: client ${twin.id} (alternateClientId) is ${twin.state}; it must be active to take over`,
    );
  }
  const drift = describeTwinDrift(active, twin);
  if (drift !== undefined) throw new RoleDriftError(`${current.where}: ${drift}`);
}

/** `authorizedGrantType` of a client-credentials client, as the Platform API spells it. */
const CLIENT_CREDENTIALS_GRANT = "CLIENT-CREDENTIALS";

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
