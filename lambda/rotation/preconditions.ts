/**
 * What createSecret checks, besides the confused-deputy guards, before it regenerates a secret:
 *
 * - an earlier regeneration of a single client is not left unsaved ({@link checkRegenerationMarker});
 * - the client to regenerate was not handed out as AWSCURRENT too recently ({@link assertMinRotationGap});
 * - no configured integration credential still holds that client ({@link resyncIntegrationCredentials});
 * - enough of the invocation is left to regenerate AND store the result ({@link assertTimeToRegenerate}).
 *
 * Each refusal is a typed error naming the secret and the client, and changes nothing in Genesys.
 */
import { describeError } from "../shared/errors.ts";
import { parseCredentialSecret, sameClientId } from "../shared/secret-value.ts";
import { AWSPREVIOUS, REGENERATION_MARKER } from "../shared/staging-labels.ts";
import type { StepContext } from "./context.ts";
import { type StagedCredential, targetClientId } from "./credentials.ts";
import {
  CurrentCredentialRejectedError,
  DeadlineTooCloseError,
  IntegrationCredentialStaleError,
  MinRotationGapError,
  UnsavedRegenerationError,
} from "./errors.ts";
import { OAUTH_CLIENT_CREDENTIAL_TYPE } from "./finish-hooks.ts";
import { clearRegenerationMarker, getStagedValue } from "./secrets.ts";

/**
 * A rotation whose ClientRequestToken starts with this prefix skips the minimum gap: the operator's
 * emergency override (`genesys-rotator rotate --ignore-min-gap`). RotateSecret accepts any 32–64
 * character token, Secrets Manager's retries of the rotation keep it, and a scheduled rotation never
 * carries it — so the override applies to exactly the rotation the operator started.
 */
export const IGNORE_MIN_GAP_TOKEN_PREFIX = "ignore-min-gap-";

/**
 * Time the rotation function keeps for the work after a regeneration: the regeneration request itself
 * (5 s per attempt), storing the result (with in-process retries) and, failing that, the rescue write.
 */
export const REGENERATION_MARGIN_MS = 15_000;

/**
 * The regeneration marker (staging label {@link REGENERATION_MARKER}) says that a createSecret was about
 * to regenerate a single client. Found on a version with a value, or while AWSCURRENT still mints (the
 * regeneration never took effect: it would have invalidated that secret), it is stale and removed.
 * Otherwise the client's live secret may exist only in Genesys, and regenerating again would lose it
 * for good.
 *
 * @param pendingSaved whether the rotation's own version already holds a value.
 * @throws UnsavedRegenerationError asking for `genesys-rotator recover`.
 */
export async function checkRegenerationMarker(
  context: StepContext,
  current: StagedCredential,
): Promise<void> {
  const { secretsManager } = context.deps;
  const { regenerationMarkerVersionId: marked, secretArn, secretName, token } = context.version;
  if (marked === undefined) return;
  const saved =
    marked !== token &&
    (await getStagedValue(secretsManager, secretArn, { stage: REGENERATION_MARKER, versionId: marked })) !==
      undefined;
  if (!saved && !(await currentStillMints(context, current))) {
    context.metrics.count("UnsavedRegenerationRefused");
    throw new UnsavedRegenerationError(
      `secret ${secretArn}: version ${marked} carries ${REGENERATION_MARKER}: an earlier createSecret regenerated ` +
        `client ${current.value.clientId} and has not stored the result, and ${current.where} is rejected, so the live ` +
        "secret may exist only in Genesys. Refusing to regenerate again. If another invocation of this rotation is " +
        "still running, its result lets the next attempt continue; otherwise run " +
        `\`genesys-rotator recover --secret-id ${secretName}\` (docs/rotation.md, runbook "Unsaved regeneration")`,
    );
  }
  await clearRegenerationMarker(secretsManager, secretArn, marked);
  context.log.info("removed a stale regeneration marker", { markedVersionId: marked });
}

async function currentStillMints(context: StepContext, current: StagedCredential): Promise<boolean> {
  try {
    await context.mint(current, "current");
    return true;
  } catch (error) {
    if (error instanceof CurrentCredentialRejectedError) return false;
    throw error;
  }
}

/**
 * The minimum gap between rotations (`MIN_ROTATION_GAP_SECONDS`): the client createSecret would regenerate
 * must not have been AWSCURRENT recently. AWSPREVIOUS holds the value that was current before; when it
 * names the target client, the time since it was replaced — the later of the secret's LastRotatedDate and
 * AWSCURRENT's creation — must be at least the gap, or tokens minted with it and raw readers' cached
 * copies may still be in use. Skipped when the rotation's token carries {@link IGNORE_MIN_GAP_TOKEN_PREFIX}.
 *
 * @throws MinRotationGapError (retryable) with the time left.
 */
export async function assertMinRotationGap(context: StepContext, current: StagedCredential): Promise<void> {
  const gapMs = context.deps.minRotationGapMs ?? 0;
  if (gapMs <= 0) return;
  const { token, previousVersionId, secretArn, secretName, lastRotatedAt } = context.version;
  const target = targetClientId(current.value);
  if (token.startsWith(IGNORE_MIN_GAP_TOKEN_PREFIX)) {
    context.metrics.count("MinRotationGapOverridden");
    context.log.warn("the minimum gap between rotations is overridden for this rotation", {
      clientId: target,
    });
    return;
  }
  if (previousVersionId === undefined) return;
  const previous = await getStagedValue(context.deps.secretsManager, secretArn, {
    stage: AWSPREVIOUS,
    versionId: previousVersionId,
  });
  if (previous === undefined) return;
  let previousClientId: string;
  try {
    previousClientId = parseCredentialSecret(previous.value, {
      extraEnvironments: context.deps.extraEnvironments,
    }).clientId;
  } catch {
    // Not a credential (e.g. the placeholder a secret is created with): nobody got the target from it.
    return;
  }
  if (!sameClientId(previousClientId, target)) return;
  const replacedAt = Math.max(
    ...[lastRotatedAt, current.createdAt].filter((date): date is number => date !== undefined),
  );
  if (!Number.isFinite(replacedAt)) {
    context.log.warn("cannot tell when AWSPREVIOUS was replaced; not applying the minimum gap", {
      clientId: target,
    });
    return;
  }
  const leftMs = replacedAt + gapMs - context.deps.clock.now();
  if (leftMs <= 0) return;
  context.metrics.count("MinRotationGapRefused");
  throw new MinRotationGapError(
    `secret ${secretArn}: client ${target} was AWSCURRENT until ${new Date(replacedAt).toISOString()} (AWSPREVIOUS ` +
      `names it); tokens minted with it and cached copies of that value may be in use for MIN_ROTATION_GAP_SECONDS ` +
      `(${Math.round(gapMs / 1000)} s), so regenerating it is refused for another ${Math.ceil(leftMs / 1000)} s ` +
      `(until ${new Date(replacedAt + gapMs).toISOString()}). Nothing was changed. In an emergency: ` +
      `genesys-rotator rotate --secret-id ${secretName} --ignore-min-gap (docs/rotation.md, "Minimum gap between rotations")`,
    leftMs,
  );
}

/**
 * Alternating: the integration credentials (Data Actions) configured for this secret must not hold the
 * twin about to be regenerated. One that does — the finish hook of the previous rotation failed — or that
 * does not say which client it holds is re-synced to AWSCURRENT first; when that fails the rotation stops.
 *
 * @throws IntegrationCredentialStaleError naming the integration credential. Nothing was regenerated.
 */
export async function resyncIntegrationCredentials(
  context: StepContext,
  current: StagedCredential,
): Promise<void> {
  if (current.value.strategy !== "alternating") return;
  const mapping = context.deps.integrationCredentials ?? {};
  const { secretArn, secretName } = context.version;
  const ids = [...new Set([...(mapping[secretArn] ?? []), ...(mapping[secretName] ?? [])])];
  if (ids.length === 0) return;
  const target = targetClientId(current.value);
  const api = await context.adminApi();
  for (const id of ids) {
    const refuse = (what: string, cause?: unknown) =>
      new IntegrationCredentialStaleError(
        `integration credential ${id} (INTEGRATION_CREDENTIALS of ${secretName}) ${what}; it may still hold client ` +
          `${target}, which this rotation would regenerate. Nothing was regenerated. Fix the integration ` +
          `credential (or the configuration) and rotate again`,
        cause === undefined ? undefined : { cause },
      );
    let existing: Awaited<ReturnType<typeof api.getIntegrationCredential>>;
    try {
      existing = await api.getIntegrationCredential(id);
    } catch (error) {
      throw refuse(`could not be read (${describeError(error).errorName})`, error);
    }
    if (existing.type.name !== OAUTH_CLIENT_CREDENTIAL_TYPE) {
      throw refuse(`has type ${existing.type.name}, expected ${OAUTH_CLIENT_CREDENTIAL_TYPE}`);
    }
    const holds = existing.credentialFields?.clientId;
    if (holds !== undefined && !sameClientId(holds, target)) continue;
    try {
      await api.updateIntegrationCredential(id, {
        name: existing.name,
        type: existing.type.name,
        credentialFields: { clientId: current.value.clientId, clientSecret: current.value.clientSecret },
      });
    } catch (error) {
      throw refuse(`could not be re-synced to AWSCURRENT (${describeError(error).errorName})`, error);
    }
    context.metrics.count("IntegrationCredentialResynced");
    context.log.warn(
      "re-synced an integration credential that still held the client about to be regenerated",
      {
        integrationCredentialId: id,
        clientId: current.value.clientId,
        staleClientId: holds ?? "unknown",
      },
    );
  }
}

/**
 * Never start a regeneration that may not be stored before the invocation times out.
 * @throws DeadlineTooCloseError (retryable) when less than {@link REGENERATION_MARGIN_MS} is left.
 */
export function assertTimeToRegenerate(context: StepContext, clientId: string): void {
  const remainingMs = context.remainingMs();
  if (remainingMs >= REGENERATION_MARGIN_MS) return;
  context.metrics.count("RegenerationDeferredForDeadline");
  throw new DeadlineTooCloseError(
    `secret ${context.version.secretArn}: ${Math.max(0, Math.floor(remainingMs / 1000))} s of the invocation left, ` +
      `less than the ${REGENERATION_MARGIN_MS / 1000} s needed to regenerate client ${clientId} and store the result. ` +
      "Nothing was regenerated; the next attempt starts with a fresh invocation",
  );
}
