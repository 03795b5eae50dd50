/**
 * The four steps of the Secrets Manager rotation protocol for Genesys Cloud OAuth clients (DESIGN §5).
 *
 * Secrets Manager retries whole rotations and may call any step again at any moment, so each step
 * starts by checking whether its work is already done, and every external effect is either repeatable
 * (reads, PutSecretValue with the same token, moving a label) or made harmless on repeat (regenerating
 * the inactive client of an alternating pair, which nobody uses).
 */
import { describeError, RotatorError } from "../shared/errors.ts";
import type { OAuthClient } from "../shared/genesys/api.ts";
import { GenesysError, GenesysInvalidClientError, GenesysNotFoundError } from "../shared/genesys/errors.ts";
import type { AccessToken } from "../shared/genesys/oauth.ts";
import { nextCredentialSecret, serializeCredentialSecret } from "../shared/secret-value.ts";
import type { CredentialRole, StepContext } from "./context.ts";
import { assertPendingContinuesCurrent, type StagedCredential, sameCredential } from "./credentials.ts";
import { describeTwinDrift } from "./drift.ts";
import {
  CurrentCredentialRejectedError,
  IdentityMismatchError,
  PendingClientStateError,
  PendingValueMissingError,
  PropagationTimeoutError,
  RoleDriftError,
} from "./errors.ts";
import { runFinishHooks } from "./finish-hooks.ts";
import { promoteToCurrent, putPendingValue, versionCreatedAt } from "./secrets.ts";

/** The steps of the rotation protocol, in the order Secrets Manager calls them. */
export const ROTATION_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

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
 * Reads and validates AWSCURRENT and the admin credential, proves the current credentials still work
 * (confused-deputy guard), regenerates the secret of the inactive client (alternating: the twin; single:
 * the client itself) with the admin token, and puts the result at once. If the put fails after the
 * regeneration, the next attempt regenerates again: harmless for alternating (the twin has no users);
 * for single the client's live secret is then lost until the retry stores a new one (see
 * {@link guardCurrentCredential}).
 */
export async function createSecret(context: StepContext): Promise<StepResult> {
  if (context.version.isCurrent) return "already-current";
  const current = await context.current();
  const existing = await context.pending();
  if (existing !== undefined) {
    assertPendingContinuesCurrent(current, existing);
    context.log.info("pending value already stored by an earlier attempt", {
      clientId: existing.value.clientId,
    });
    return "already-created";
  }
  // Validate everything that can be validated before the first request to Genesys.
  context.endpoints(current.value);
  const admin = await context.admin();
  context.endpoints(admin.value);

  await guardCurrentCredential(context, current);
  const targetClientId =
    current.value.strategy === "alternating"
      ? (current.value.alternateClientId as string)
      : current.value.clientId;
  const adminApi = await context.adminApi();
  const regenerated = await adminApi.regenerateClientSecret(targetClientId);
  context.metrics.count("SecretRegenerated");
  const pending = nextCredentialSecret(current.value, regenerated.secret);
  try {
    await putPendingValue(
      context.deps.secretsManager,
      context.version.secretArn,
      context.version.token,
      serializeCredentialSecret(pending, { extraEnvironments: context.deps.extraEnvironments }),
    );
  } catch (error) {
    context.metrics.count("PendingPutFailedAfterRegeneration");
    context.log.error("the regenerated secret could not be stored; the next attempt regenerates it again", {
      clientId: targetClientId,
      ...describeError(error),
    });
    throw error;
  }
  context.log.info("regenerated the secret and stored it as AWSPENDING", { clientId: targetClientId });
  return "completed";
}

/**
 * The confused-deputy guard: before the admin regenerates anything, the AWSCURRENT credentials must
 * mint a token. Otherwise whoever can write the secret value could name a client whose secret they do
 * not hold and have the rotator hand them a fresh one.
 *
 * One exception keeps `single` rotations convergent: when an earlier attempt of THIS rotation
 * regenerated the client and then failed to store the result, the current secret is dead by our own
 * hand. That case is recognised by evidence the secret's writer cannot forge: the client was modified
 * in Genesys (as seen by the admin) no earlier than this rotation's AWSPENDING version was created.
 * Residual risk (documented in docs/rotation.md): a legitimate edit of the named client during the
 * rotation window, combined with a forged AWSCURRENT value, would pass this check.
 */
async function guardCurrentCredential(context: StepContext, current: StagedCredential): Promise<void> {
  try {
    await context.mint(current, "current");
  } catch (error) {
    if (!(error instanceof CurrentCredentialRejectedError) || current.value.strategy !== "single")
      throw error;
    if (!(await regeneratedDuringThisRotation(context, current.value.clientId))) throw error;
    context.metrics.count("SingleSecretRegeneratedAgain");
    context.log.warn(
      "AWSCURRENT is rejected because an earlier attempt of this rotation regenerated the client and lost the result; regenerating again",
      { clientId: current.value.clientId },
    );
  }
}

async function regeneratedDuringThisRotation(context: StepContext, clientId: string): Promise<boolean> {
  let rotationStartedAt: number | undefined;
  try {
    rotationStartedAt = await versionCreatedAt(
      context.deps.secretsManager,
      context.version.secretArn,
      context.version.token,
    );
  } catch (error) {
    // Without secretsmanager:ListSecretVersionIds there is no evidence: stay on the safe side.
    context.log.warn(
      "cannot read when this rotation started; treating AWSCURRENT as rejected",
      describeError(error),
    );
    return false;
  }
  if (rotationStartedAt === undefined) return false;
  const client = await (await context.adminApi()).getOAuthClient(clientId);
  const modifiedAt = client.dateModified === undefined ? Number.NaN : Date.parse(client.dateModified);
  // No tolerance: our own regeneration follows the version's creation by at least the createSecret
  // round trips before it. Clock skew can only make this fail, which is the safe direction (the rotation
  // stops with CurrentCredentialRejectedError and the runbook applies).
  return client.state === "active" && modifiedAt >= rotationStartedAt;
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
  const info = await context.deps.genesys.api(endpoints, token.accessToken).getTokenInfo();
  if (info.OAuthClient.id !== subject.value.clientId) {
    throw new IdentityMismatchError(
      `${subject.where}: a token minted with it belongs to client ${info.OAuthClient.id}, expected ${subject.value.clientId}`,
    );
  }
  const reference = await referenceCredential(context, current, testOnly);
  if (reference !== undefined) {
    const referenceToken = await context.mint(reference.staged, reference.role);
    const expected = await context.deps.genesys.api(endpoints, referenceToken.accessToken).getTokenInfo();
    if (info.organization.id !== expected.organization.id) {
      throw new IdentityMismatchError(
        `${subject.where}: client ${subject.value.clientId} belongs to organisation ${info.organization.id}, ` +
          `expected ${expected.organization.id} (the organisation of ${reference.staged.where})`,
      );
    }
  }
  if (current.value.strategy === "alternating") await assertTwinsConsistent(context, current);
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
  const { clock, random, genesys, propagationTimeoutMs } = context.deps;
  const endpoints = context.endpoints(pending.value);
  const startedAt = clock.now();
  const deadline = startedAt + propagationTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      // One attempt per call: this loop owns retries, backoff and the deadline.
      const token = await genesys.requestToken(
        endpoints,
        pending.value.clientId,
        pending.value.clientSecret,
        {
          deadline,
          maxAttempts: 1,
        },
      );
      const waitedMs = clock.now() - startedAt;
      context.metrics.milliseconds("PropagationWait", waitedMs);
      context.log.info("the token endpoint accepted the pending credentials", {
        clientId: pending.value.clientId,
        attempts: attempt + 1,
        waitedMs,
      });
      return token;
    } catch (error) {
      // invalid_client right after a regeneration is propagation lag, not a wrong secret (yet).
      const propagationLag = error instanceof GenesysInvalidClientError;
      if (!propagationLag && !(error instanceof RotatorError && error.retryable)) throw error;
      const remainingMs = deadline - clock.now();
      if (remainingMs <= 0) {
        throw new PropagationTimeoutError(
          `${pending.where}: client ${pending.value.clientId} was not accepted by the token endpoint within ` +
            `${Math.round(propagationTimeoutMs / 1000)} s (last failure: ${(error as Error).name}); Genesys normally ` +
            "accepts a new secret within ~10 s. The next rotation attempt polls again; if it keeps failing see docs/rotation.md",
          { cause: error },
        );
      }
      const retryAfterMs = error instanceof GenesysError ? error.retryAfterMs : undefined;
      const waitMs = Math.min(remainingMs, retryAfterMs ?? backoffDelay(attempt, random));
      context.log.debug("pending credentials not accepted yet; retrying", {
        clientId: pending.value.clientId,
        attempt: attempt + 1,
        waitMs,
        errorName: (error as Error).name,
      });
      await clock.sleep(waitMs);
    }
  }
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelay(attempt: number, random: () => number, baseMs = 250, capMs = 4000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Compares the two clients of an alternating pair; throws a RoleDriftError naming every difference. */
async function assertTwinsConsistent(context: StepContext, current: StagedCredential): Promise<void> {
  const api = await context.adminApi();
  const [active, twin] = await Promise.all([
    api.getOAuthClient(current.value.clientId),
    api.getOAuthClient(current.value.alternateClientId as string),
  ]);
  const drift = describeTwinDrift(active, twin);
  if (drift !== undefined) throw new RoleDriftError(`${current.where}: ${drift}`);
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
 * finishSecret: moves AWSCURRENT to the token's version (Secrets Manager moves AWSPREVIOUS), then runs
 * the best-effort hooks. If the move already happened (a retry after a crash), only the hooks run again:
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
