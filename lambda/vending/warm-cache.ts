/**
 * Cache warming after a rotation (docs/vending.md, "Minting and rotation"; the payload in
 * docs/ARCHITECTURE.md): the rotation function asks, through the `cache-warming` alias, for the
 * credential's cached token to be replaced when it was minted from an older secret version than the
 * new AWSCURRENT. The mint goes through the lease like any other (vend.ts).
 */
import { randomUUID } from "node:crypto";
import type { CredentialConfig } from "./config.ts";
import { deadlineSignal } from "./deadline.ts";
import { DeadlinePassedError, DynamoDbUnavailableError, TokenUnavailableError } from "./errors.ts";
import { refreshPause } from "./mint-failures.ts";
import { type CachedToken, tokenState } from "./token-cache.ts";
import type { TokenKey } from "./token-table.ts";
import { mintUnderLease, type VendDependencies, vendToken, type Want } from "./vend.ts";

/** Outcome of {@link warmCache}. */
export interface WarmResult {
  /** True when this call minted a token from the current secret version and stored it. */
  warmed: boolean;
  /** The token now cached (never returned to the rotation function, only its expiry). */
  token: CachedToken;
}

/**
 * If the cached token was minted from an older version than the new AWSCURRENT, mint from AWSCURRENT
 * and compare-and-swap it into L2. Otherwise, or when another caller is already minting, report what
 * is cached. A failed mint holds the lease for the refresh pause and is thrown.
 */
export async function warmCache(
  credential: CredentialConfig,
  deadline: number,
  deps: VendDependencies,
): Promise<WarmResult> {
  const want: Want = {
    credential,
    minTtlMs: 0,
    rejectedHash: undefined,
    deadline,
    signal: deadlineSignal(deadline, deps.clock),
  };
  const call = { abortSignal: want.signal };
  const key: TokenKey = { credential: credential.name, secretArn: credential.secretArn };
  const currentVersionId = await deps.minter.currentVersionId(credential, call);
  try {
    const item = await deps.table.read(key, call);
    deps.health.succeeded();
    const now = deps.clock.now();
    const cached = item?.token;
    if (
      cached !== undefined &&
      tokenState(cached, now) !== "expired" &&
      cached.secretVersionId === currentVersionId
    ) {
      return { warmed: false, token: cached };
    }
    const owner = (deps.newOwnerId ?? randomUUID)();
    const attempt = await mintUnderLease(
      want,
      key,
      { owner, observedGeneration: item?.generation ?? 0, now },
      refreshPause,
      deps,
    );
    if (attempt.kind === "minted") {
      return { warmed: attempt.token.secretVersionId === currentVersionId, token: attempt.token };
    }
    if (attempt.kind === "failed") throw attempt.error;
  } catch (error) {
    if (error instanceof DeadlinePassedError) {
      throw new TokenUnavailableError(credential.name, "the deadline passed before DynamoDB answered");
    }
    if (!(error instanceof DynamoDbUnavailableError)) throw error;
    deps.health.failed(error);
    throw new TokenUnavailableError(
      credential.name,
      "DynamoDB is unavailable, so the shared cache cannot be warmed",
      { cause: error },
    );
  }
  // Another caller is minting: the ordinary path waits for (or serves) its token.
  return { warmed: false, token: await vendToken({ credential, minTtlSeconds: 0, deadline }, deps) };
}
