/**
 * Polling the token endpoint while a new secret propagates (docs/rotation.md, "Step by step"): Genesys
 * can reject a freshly generated secret (`invalid_client`) for ~10 s. testSecret waits for the pending
 * credentials to be accepted ({@link waitForAcceptedCredential}); createSecret's put-conflict recovery
 * asks which of two secrets of one client is the live one ({@link whichSecretIsLive}). Both stop at the
 * propagation timeout or the invocation's deadline, whichever comes first.
 */
import { equalJitter, exponentialDelay } from "../shared/backoff.ts";
import { RotatorError } from "../shared/errors.ts";
import { GenesysError, GenesysInvalidClientError } from "../shared/genesys/errors.ts";
import type { AccessToken } from "../shared/genesys/oauth.ts";
import type { StepContext } from "./context.ts";
import type { StagedCredential } from "./credentials.ts";
import { PropagationTimeoutError } from "./errors.ts";

/** Polls the token endpoint with the pending credentials until accepted or the propagation deadline passes. */
export async function waitForAcceptedCredential(
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

/**
 * The rotation's backoff: 250 ms doubling to 4 s, equal jitter (docs/design.md#backoff-and-jitter). A
 * new secret needs seconds to propagate and a failed put needs Secrets Manager to recover, and one
 * rotation runs per secret, so there is no crowd to spread: a wait near zero would only repeat the failure.
 */
export function backoffDelay(attempt: number, random: () => number, baseMs = 250, capMs = 4000): number {
  return equalJitter(exponentialDelay(attempt, { baseMs, capMs }), random);
}

/**
 * Of two secrets of the same client, which one the token endpoint accepts. Polls both (propagation lag
 * can reject the live one for a while) until exactly one is accepted or the propagation deadline passes;
 * then `stored` if the stored one is accepted at all, else `unknown`.
 */
export async function whichSecretIsLive(
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
