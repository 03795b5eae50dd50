/**
 * The token-vending algorithm (DESIGN §6; docs/vending.md explains it for operators).
 *
 * 1. L1 (module scope) holds a fresh token → serve it, no I/O.
 * 2. Otherwise read the credential's L2 item (consistent GetItem) and look at the best token known
 *    (the newer of L1 and L2, never the one a caller reported rejected):
 *    - fresh and good enough for the caller → serve it;
 *    - in its refresh-ahead window → the one caller fleet-wide that wins the lease mints while
 *      everybody else keeps serving the still-valid token (nobody waits but the lease holder);
 *    - expired, missing, rejected, or shorter-lived than the caller needs → one lease holder mints,
 *      the others poll the item with jittered backoff until a newer token appears or the lease lapses
 *      (holder died), then take over.
 * 3. Every token write is conditional on the generation read, so a slow writer never overwrites a
 *    newer token; the loser serves the newer one.
 * 4. DynamoDB failing (anything but a lost condition) → L1 + direct minting with in-process
 *    single-flight, counted as `DynamoDbDegraded`, until DynamoDB answers again (l2-health.ts).
 *
 * Two rules hold everywhere: a mint failure never hides a still-valid token (it is served instead of
 * an error), and no wait or backoff runs past the caller's deadline.
 */
import { randomUUID } from "node:crypto";
import type { Clock, Random } from "../shared/clock.ts";
import { describeError, RotatorError } from "../shared/errors.ts";
import type { Log } from "../shared/log.ts";
import type { CredentialConfig } from "./config.ts";
import { DynamoDbUnavailableError, GenesysRateLimitedError, TokenUnavailableError } from "./errors.ts";
import type { L2Health } from "./l2-health.ts";
import type { VendMetrics } from "./metrics.ts";
import type { MintedToken, Minter } from "./mint.ts";
import type { SingleFlight } from "./single-flight.ts";
import {
  type CachedToken,
  hashToken,
  type L1Cache,
  newerToken,
  satisfies,
  tokenState,
} from "./token-cache.ts";
import type { TokenItem, TokenKey, TokenTable } from "./token-table.ts";

/** Everything the algorithm depends on; one instance per container (runtime.ts). */
export interface VendDependencies {
  table: TokenTable;
  l1: L1Cache;
  minter: Minter;
  health: L2Health;
  flights: SingleFlight;
  clock: Clock;
  random: Random;
  log: Log;
  metrics: VendMetrics;
  /** Longest lease a mint holds (`LEASE_SECONDS`); never longer than the holder's own deadline. */
  leaseMs: number;
  /** Lease owner ids. @default crypto.randomUUID */
  newOwnerId?: () => string;
}

/** One request for a token. */
export interface VendRequest {
  credential: CredentialConfig;
  /** The token must stay valid this long (capped by the token's fresh span, see token-cache.ts). */
  minTtlSeconds: number;
  /** A token a consumer got 401 with: replace it, unless the cache already holds another one. */
  rejectedToken?: string;
  /** Epoch ms on `clock`: the answer (token or error) is due by then. */
  deadline: number;
}

/** The normalised request the internals work with (the rejected token only as its hash). */
interface Want {
  credential: CredentialConfig;
  minTtlMs: number;
  rejectedHash: string | undefined;
  deadline: number;
}

/** First poll delay while another caller mints; doubles up to {@link MAX_POLL_MS}. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;
/** Backoff after a transient mint failure; doubles up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 2000;
/** Pause after a rate limit without Retry-After (Genesys may not send one on the token endpoint). */
const DEFAULT_RATE_LIMIT_PAUSE_MS = 1000;
/** Pause after a failed refresh-ahead mint before the next caller tries again. */
const REFRESH_RETRY_PAUSE_MS = 1000;
/** Pause after a fatal mint failure before another caller may try (spaces out doomed attempts). */
const FATAL_PAUSE_MS = 1000;

/**
 * Returns a token for `request`, or throws GenesysRateLimitedError, TokenUnavailableError,
 * CredentialRejectedError (from the minter) — never a DynamoDB error.
 */
export async function vendToken(request: VendRequest, deps: VendDependencies): Promise<CachedToken> {
  const want: Want = {
    credential: request.credential,
    minTtlMs: request.minTtlSeconds * 1000,
    rejectedHash: request.rejectedToken === undefined ? undefined : hashToken(request.rejectedToken),
    deadline: request.deadline,
  };
  const name = want.credential.name;
  if (want.rejectedHash !== undefined) deps.l1.forget(name, want.rejectedHash);
  // Identical concurrent requests in one container share one resolution. The key holds every input
  // that changes the answer (not the deadline: joiners accept the leader's).
  const key = `resolve\n${name}\n${want.minTtlMs}\n${want.rejectedHash ?? ""}`;
  const local = deps.l1.get(name);
  if (local !== undefined && acceptable(local, want, deps)) {
    // Fresh, or being refreshed by another request of this container right now: nobody waits.
    if (tokenState(local, deps.clock.now()) === "fresh" || deps.flights.has(key)) {
      deps.metrics.count("L1Hits");
      return local;
    }
  }
  return deps.flights.run(key, () => resolve(want, deps));
}

async function resolve(want: Want, deps: VendDependencies): Promise<CachedToken> {
  if (deps.health.shouldTry()) {
    try {
      return await resolveShared(want, deps);
    } catch (error) {
      if (!(error instanceof DynamoDbUnavailableError)) throw error;
      deps.health.failed(error);
    }
  }
  return resolveDegraded(want, deps);
}

/** The fleet-wide path: L2 item, lease, conditional writes. */
async function resolveShared(want: Want, deps: VendDependencies): Promise<CachedToken> {
  const { table, l1, clock, metrics } = deps;
  const name = want.credential.name;
  const key: TokenKey = { credential: name, secretArn: want.credential.secretArn };
  const owner = (deps.newOwnerId ?? randomUUID)();
  let item = await table.read(key);
  deps.health.succeeded();
  let polls = 0;
  let retries = 0;
  let lastFailure: unknown;

  for (;;) {
    const now = clock.now();
    const stored = item?.token;
    if (stored !== undefined && stored.tokenHash !== want.rejectedHash) l1.set(name, stored);
    const best = bestToken(l1.get(name), stored, want);
    const generation = item?.generation ?? 0;
    const leaseHeldElsewhere = isLeaseHeld(item, now) && item?.leaseOwner !== owner;

    if (best !== undefined && satisfies(best, now, want.minTtlMs)) {
      if (tokenState(best, now) === "fresh" || leaseHeldElsewhere) return serve(best, stored, deps);
      return refreshAhead(want, key, best, generation, owner, deps);
    }

    // A newer token is needed than any the cache holds.
    if (leaseHeldElsewhere) {
      if (polls === 0) metrics.count("LeaseWaits");
      const slept = await sleepWithin(
        jittered(backoff(FIRST_POLL_MS, MAX_POLL_MS, polls++), deps),
        want,
        deps,
      );
      if (!slept)
        return giveUp(
          want,
          best,
          lastFailure ?? "another caller held the mint lease until the deadline",
          deps,
        );
      item = await table.read(key);
      continue;
    }
    if (now >= want.deadline) return giveUp(want, best, lastFailure ?? "the deadline passed", deps);
    const leaseUntil = leaseEnd(now, want, deps);
    const lease = await table.acquireLease(key, { owner, observedGeneration: generation, now, leaseUntil });
    if (!lease.acquired) {
      // Somebody else leads, or already wrote a newer token: the loop looks at the item they left.
      item = lease.item;
      continue;
    }
    try {
      return await mintAndStore(want, key, generation, Math.min(want.deadline, leaseUntil), deps);
    } catch (error) {
      lastFailure = error;
      const failure = classifyMintFailure(error);
      recordMintFailure(want, error, deps);
      const pause =
        failure.kind === "rate-limited"
          ? failure.pauseMs
          : jittered(backoff(FIRST_RETRY_MS, MAX_RETRY_MS, retries++), deps);
      // Holding the lease through the pause keeps the rest of the fleet from hammering Genesys meanwhile.
      await releaseQuietly(
        table,
        key,
        owner,
        clock.now() + (failure.kind === "fatal" ? FATAL_PAUSE_MS : pause),
        deps,
      );
      if (isStillValid(best, deps)) return serve(best, undefined, deps);
      if (failure.kind === "fatal") throw error;
      if (clock.now() + pause >= want.deadline) return giveUp(want, best, error, deps);
      await clock.sleep(pause);
      item = await table.read(key);
    }
  }
}

/**
 * The best token is still good but in its refresh-ahead window and nobody holds the lease: try to
 * take it. The winner mints (its own invocation waits for that); everybody else, and the winner when
 * the mint fails, serves the still-valid token.
 */
async function refreshAhead(
  want: Want,
  key: TokenKey,
  best: CachedToken,
  generation: number,
  owner: string,
  deps: VendDependencies,
): Promise<CachedToken> {
  const now = deps.clock.now();
  const leaseUntil = leaseEnd(now, want, deps);
  const lease = await deps.table.acquireLease(key, {
    owner,
    observedGeneration: generation,
    now,
    leaseUntil,
  });
  if (!lease.acquired) {
    const current = lease.item?.token;
    if (current !== undefined && acceptable(current, want, deps) && newerToken(current, best) === current) {
      deps.l1.set(key.credential, current);
      return serve(current, current, deps);
    }
    return serve(best, lease.item?.token, deps);
  }
  try {
    return await mintAndStore(want, key, generation, Math.min(want.deadline, leaseUntil), deps);
  } catch (error) {
    recordMintFailure(want, error, deps);
    const failure = classifyMintFailure(error);
    // Keep the lease for a pause: one refresh attempt per pause fleet-wide, not one per invocation.
    const pause =
      failure.kind === "rate-limited"
        ? failure.pauseMs
        : failure.kind === "fatal"
          ? FATAL_PAUSE_MS
          : REFRESH_RETRY_PAUSE_MS;
    await releaseQuietly(deps.table, key, owner, deps.clock.now() + pause, deps);
    return best;
  }
}

/**
 * Mints and writes the token as the next generation. A lost write means someone wrote a newer
 * generation meanwhile: that token is served instead (ours is valid but would make caches diverge).
 * When DynamoDB fails on the write, the minted token is kept in L1 and the container degrades.
 */
async function mintAndStore(
  want: Want,
  key: TokenKey,
  observedGeneration: number,
  mintDeadline: number,
  deps: VendDependencies,
): Promise<CachedToken> {
  const minted = await deps.minter.mint(want.credential, { deadline: mintDeadline });
  let outcome: Awaited<ReturnType<TokenTable["writeToken"]>>;
  try {
    outcome = await deps.table.writeToken(key, minted, observedGeneration);
  } catch (error) {
    if (!(error instanceof DynamoDbUnavailableError)) throw error;
    deps.health.failed(error);
    return keepLocally(key.credential, minted, deps);
  }
  if (outcome.written) {
    deps.l1.set(key.credential, outcome.token);
    return outcome.token;
  }
  deps.log.info("A newer token generation was written while this caller minted; serving that one", {
    credential: key.credential,
    observedGeneration,
    currentGeneration: outcome.item?.generation,
  });
  const current = outcome.item?.token;
  if (current !== undefined && acceptable(current, want, deps)) {
    deps.l1.set(key.credential, current);
    return current;
  }
  return keepLocally(key.credential, minted, deps);
}

/** Without DynamoDB: L1, and direct minting shared by every request of this container. */
async function resolveDegraded(want: Want, deps: VendDependencies): Promise<CachedToken> {
  const { l1, clock, metrics, flights } = deps;
  const name = want.credential.name;
  const flightKey = `degraded-mint\n${name}`;
  const mintDirectly = () =>
    flights.run(flightKey, async () =>
      keepLocally(name, await deps.minter.mint(want.credential, { deadline: want.deadline }), deps),
    );
  metrics.count("DynamoDbDegraded");
  let retries = 0;
  for (;;) {
    const now = clock.now();
    const local = bestToken(l1.get(name), undefined, want);
    if (local !== undefined && satisfies(local, now, want.minTtlMs)) {
      if (tokenState(local, now) === "fresh" || flights.has(flightKey)) return serve(local, undefined, deps);
      try {
        return await mintDirectly();
      } catch (error) {
        recordMintFailure(want, error, deps);
        return serve(local, undefined, deps);
      }
    }
    if (now >= want.deadline)
      return giveUp(want, local, "DynamoDB is unavailable and no token was minted in time", deps);
    try {
      const minted = await mintDirectly();
      // A joined flight may have started before this caller's report; a reported token is never served.
      if (minted.tokenHash !== want.rejectedHash) return minted;
    } catch (error) {
      recordMintFailure(want, error, deps);
      if (isStillValid(local, deps)) return serve(local, undefined, deps);
      const failure = classifyMintFailure(error);
      if (failure.kind === "fatal") throw error;
      const pause =
        failure.kind === "rate-limited"
          ? failure.pauseMs
          : jittered(backoff(FIRST_RETRY_MS, MAX_RETRY_MS, retries++), deps);
      if (clock.now() + pause >= want.deadline) return giveUp(want, local, error, deps);
      await clock.sleep(pause);
    }
  }
}

/** Outcome of {@link warmCache}. */
export interface WarmResult {
  /** True when this call minted a token from the current secret version and stored it. */
  warmed: boolean;
  /** The token now cached (never returned to the rotation function, only its expiry). */
  token: CachedToken;
}

/**
 * Cache warming after a rotation (docs/ARCHITECTURE.md): if the cached token was minted from an older
 * version than the new AWSCURRENT, mint from AWSCURRENT and compare-and-swap it into L2. Otherwise, or
 * when another caller is already minting, report what is cached.
 */
export async function warmCache(
  credential: CredentialConfig,
  deadline: number,
  deps: VendDependencies,
): Promise<WarmResult> {
  const want: Want = { credential, minTtlMs: 0, rejectedHash: undefined, deadline };
  const key: TokenKey = { credential: credential.name, secretArn: credential.secretArn };
  const currentVersionId = await deps.minter.currentVersionId(credential);
  try {
    const item = await deps.table.read(key);
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
    const leaseUntil = leaseEnd(now, want, deps);
    const lease = await deps.table.acquireLease(key, {
      owner,
      observedGeneration: item?.generation ?? 0,
      now,
      leaseUntil,
    });
    if (lease.acquired) {
      try {
        const token = await mintAndStore(
          want,
          key,
          item?.generation ?? 0,
          Math.min(deadline, leaseUntil),
          deps,
        );
        return { warmed: token.secretVersionId === currentVersionId, token };
      } catch (error) {
        recordMintFailure(want, error, deps);
        await releaseQuietly(deps.table, key, owner, deps.clock.now(), deps);
        throw error;
      }
    }
  } catch (error) {
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

// ---------------------------------------------------------------------------------------------------

/** A token may go to this caller: not the one it reported, and valid long enough. */
function acceptable(token: CachedToken, want: Want, deps: VendDependencies): boolean {
  return token.tokenHash !== want.rejectedHash && satisfies(token, deps.clock.now(), want.minTtlMs);
}

/** The newer of the L1 and L2 tokens, ignoring a token the caller reported rejected. */
function bestToken(
  local: CachedToken | undefined,
  stored: CachedToken | undefined,
  want: Want,
): CachedToken | undefined {
  const usable = (token: CachedToken | undefined) =>
    token?.tokenHash === want.rejectedHash ? undefined : token;
  return newerToken(usable(local), usable(stored));
}

function serve(token: CachedToken, stored: CachedToken | undefined, deps: VendDependencies): CachedToken {
  deps.metrics.count(token === stored ? "L2Hits" : "L1Hits");
  return token;
}

function isLeaseHeld(item: TokenItem | undefined, now: number): boolean {
  return item?.leaseUntil !== undefined && item.leaseUntil > now;
}

/** A lease never outlives its holder's invocation: a holder that dies frees it by its deadline at the latest. */
function leaseEnd(now: number, want: Want, deps: VendDependencies): number {
  return now + Math.max(1, Math.min(deps.leaseMs, want.deadline - now));
}

function keepLocally(credential: string, minted: MintedToken, deps: VendDependencies): CachedToken {
  const token: CachedToken = { ...minted, generation: 0 };
  deps.l1.set(credential, token);
  return token;
}

type MintFailure =
  | { kind: "rate-limited"; pauseMs: number; retryAfterMs?: number }
  | { kind: "transient" }
  | { kind: "fatal" };

/**
 * How to react to a failed mint: rate limits wait for Retry-After, transient trouble backs off, and
 * anything else (every stage rejected, a malformed secret, access denied) is not retried.
 */
function classifyMintFailure(error: unknown): MintFailure {
  if (
    error instanceof Error &&
    (error.name === "GenesysTokenRateLimitError" || error.name === "GenesysApiRateLimitError")
  ) {
    const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
    return retryAfterMs === undefined
      ? { kind: "rate-limited", pauseMs: DEFAULT_RATE_LIMIT_PAUSE_MS }
      : { kind: "rate-limited", pauseMs: retryAfterMs, retryAfterMs };
  }
  if (error instanceof RotatorError) return error.retryable ? { kind: "transient" } : { kind: "fatal" };
  // AWS SDK errors (reading the secret): throttling and server faults are transient, client faults are not.
  const sdk = error as { $retryable?: unknown; $fault?: unknown } | undefined;
  if (sdk?.$retryable !== undefined || sdk?.$fault === "server") return { kind: "transient" };
  if (sdk?.$fault === "client") return { kind: "fatal" };
  return { kind: "transient" };
}

function recordMintFailure(want: Want, error: unknown, deps: VendDependencies): void {
  deps.metrics.count("TokenMintFailures");
  deps.log.warn("Token mint failed", { credential: want.credential.name, ...describeError(error) });
}

/** At the deadline: a still-valid token beats an error; otherwise the error that explains why. */
function giveUp(
  want: Want,
  best: CachedToken | undefined,
  reason: unknown,
  deps: VendDependencies,
): CachedToken {
  if (isStillValid(best, deps)) {
    deps.log.info(
      "Serving a still-valid token shorter-lived than requested: no newer one before the deadline",
      {
        credential: want.credential.name,
        minTtlSeconds: want.minTtlMs / 1000,
        tokenExpiresAt: new Date(best.expiresAt).toISOString(),
      },
    );
    return serve(best, undefined, deps);
  }
  const name = want.credential.name;
  const failure = reason instanceof Error ? classifyMintFailure(reason) : undefined;
  if (failure?.kind === "rate-limited")
    throw new GenesysRateLimitedError(name, failure.retryAfterMs, { cause: reason });
  if (failure?.kind === "fatal") throw reason;
  const text = typeof reason === "string" ? reason : `last failure: ${describeError(reason).errorName}`;
  throw new TokenUnavailableError(name, text, reason instanceof Error ? { cause: reason } : undefined);
}

/** Not expired (the caller may have wanted more TTL, but this beats an error). `best` never holds a rejected token. */
function isStillValid(best: CachedToken | undefined, deps: VendDependencies): best is CachedToken {
  return best !== undefined && tokenState(best, deps.clock.now()) !== "expired";
}

async function releaseQuietly(
  table: TokenTable,
  key: TokenKey,
  owner: string,
  until: number,
  deps: VendDependencies,
): Promise<void> {
  try {
    await table.releaseLease(key, owner, until);
  } catch (error) {
    // The lease then lapses by itself; the caller's answer does not depend on this write.
    if (!(error instanceof DynamoDbUnavailableError)) throw error;
    deps.health.failed(error);
  }
}

/** Sleeps `ms` unless that would pass the caller's deadline; false when there was no time left. */
async function sleepWithin(ms: number, want: Want, deps: VendDependencies): Promise<boolean> {
  const left = want.deadline - deps.clock.now();
  if (left <= 0) return false;
  await deps.clock.sleep(Math.min(ms, left));
  return true;
}

function backoff(firstMs: number, maxMs: number, attempt: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 20));
}

/** Between half and all of `ms`, so pollers from many containers do not move in lockstep. */
function jittered(ms: number, deps: VendDependencies): number {
  return ms * (0.5 + deps.random() * 0.5);
}
