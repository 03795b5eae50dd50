/**
 * The token-vending algorithm (docs/design.md#token-vending; docs/vending.md explains it for operators).
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
 * 4. A failed mint pauses minting: the holder keeps the lease for the pause (Retry-After, a backoff),
 *    capped at one lease length, and records a rate limit on the item (`mintBlocked`), so that callers
 *    whose deadline ends before it fail at once with GenesysRateLimitedError instead of polling. Every
 *    shared-path mint — a replacement, a refresh ahead, cache warming (warm-cache.ts) — is this one
 *    lease → mint → hold sequence ({@link mintUnderLease}); which failure pauses how long is the
 *    mint-failure policy (mint-failures.ts).
 * 5. DynamoDB failing (anything but a lost condition) → L1 + direct minting with in-process
 *    single-flight, counted as `DynamoDbDegraded`, until DynamoDB answers again (l2-health.ts). The
 *    same pauses apply per container (mint-pauses.ts).
 * 6. A report (`rejectedToken`) of the cached token is checked with Genesys before it causes a mint
 *    (rejection-reports.ts): a token Genesys still accepts is served again (`RejectionReportsUnconfirmed`);
 *    a confirmed rejection mints (through the lease: once per dead token, fleet-wide); a report that
 *    could not be checked (the probe failed) mints at most once per `REJECTION_MINT_INTERVAL_SECONDS`
 *    per credential fleet-wide (`lastRejectionMintAt` on the item); inside that window the caller gets
 *    TokenUnavailableError (`RejectionMintsCapped`).
 *
 * What the table and L1 hand out has been checked first (token-vetting.ts): a forged or corrupted
 * token is treated as absent.
 *
 * Three rules hold everywhere: a mint failure never hides a still-valid token (it is served instead of
 * an error), no wait or backoff runs past the caller's deadline, and every AWS call is aborted at it.
 */
import { randomUUID } from "node:crypto";
import { equalJitter, exponentialDelay } from "../shared/backoff.ts";
import type { Clock, Random } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import type { Log } from "../shared/log.ts";
import type { SingleFlight } from "../shared/single-flight.ts";
import type { CredentialConfig } from "./config.ts";
import { deadlinePassed, deadlineSignal, sleepWithin } from "./deadline.ts";
import {
  DeadlinePassedError,
  DynamoDbUnavailableError,
  GenesysRateLimitedError,
  TokenUnavailableError,
} from "./errors.ts";
import type { L2Health } from "./l2-health.ts";
import type { VendMetrics } from "./metrics.ts";
import type { MintedToken, Minter } from "./mint.ts";
import {
  classifyMintFailure,
  type MintFailure,
  mintBlockAfter,
  pauseAfter,
  REFRESH_RETRY_PAUSE_MS,
  refreshPause,
} from "./mint-failures.ts";
import type { DirectMintPauses } from "./mint-pauses.ts";
import {
  confirmRejection,
  onlyReported,
  type RejectionVerdict,
  rejectionMintCapped,
} from "./rejection-check.ts";
import type { RejectionReports, TokenProbe } from "./rejection-reports.ts";
import {
  type CachedToken,
  hashToken,
  type L1Cache,
  newerToken,
  satisfies,
  tokenState,
} from "./token-cache.ts";
import type { MintBlock, TokenItem, TokenKey, TokenTable } from "./token-table.ts";

/** Everything the algorithm depends on; one instance per container (runtime.ts). */
export interface VendDependencies {
  table: TokenTable;
  l1: L1Cache;
  minter: Minter;
  health: L2Health;
  flights: SingleFlight;
  /** Pauses after failed direct mints while DynamoDB is unavailable. */
  directMintPauses: DirectMintPauses;
  clock: Clock;
  random: Random;
  log: Log;
  metrics: VendMetrics;
  /**
   * Longest lease a mint holds (`LEASE_SECONDS`); never longer than the holder's own deadline. Also the
   * longest pause one failed mint imposes on the others, whatever Retry-After said.
   */
  leaseMs: number;
  /** Lease owner ids. @default crypto.randomUUID */
  newOwnerId?: () => string;
  /** Asks Genesys whether a reported token is really rejected. */
  probe: TokenProbe;
  /** Recent probe answers and degraded-mode rejection mints of this container. */
  rejections: RejectionReports;
  /** Shortest time between two mints that replace a reported token, per credential (`REJECTION_MINT_INTERVAL_SECONDS`). */
  rejectionMintIntervalMs: number;
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
export interface Want {
  credential: CredentialConfig;
  minTtlMs: number;
  rejectedHash: string | undefined;
  deadline: number;
  /** Aborts every AWS call of this resolution at the deadline (see {@link deadlineSignal}). */
  signal: AbortSignal;
}

/** First poll delay while another caller mints; doubles up to {@link MAX_POLL_MS}. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;
/** Backoff after a transient mint failure; doubles up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 2000;

/**
 * Returns a token for `request`, or throws GenesysRateLimitedError, TokenUnavailableError,
 * CredentialRejectedError (from the minter) — never a DynamoDB error.
 */
export async function vendToken(request: VendRequest, deps: VendDependencies): Promise<CachedToken> {
  const demand: Omit<Want, "signal"> = {
    credential: request.credential,
    minTtlMs: request.minTtlSeconds * 1000,
    rejectedHash: request.rejectedToken === undefined ? undefined : hashToken(request.rejectedToken),
    deadline: request.deadline,
  };
  const name = demand.credential.name;
  // A reported token stays in L1 until Genesys confirms the report (resolveShared/resolveDegraded).
  // Identical concurrent requests in one container share one resolution. The key holds every input
  // that changes the answer (not the deadline: joiners accept the leader's).
  const key = `resolve\n${name}\n${demand.minTtlMs}\n${demand.rejectedHash ?? ""}`;
  const local = deps.l1.get(name);
  if (local !== undefined && acceptable(local, demand, deps)) {
    // Fresh, or being refreshed by another request of this container right now: nobody waits.
    if (tokenState(local, deps.clock.now()) === "fresh" || deps.flights.has(key)) {
      deps.metrics.count("L1Hits");
      return local;
    }
  }
  // The signal (a timer) is made only here, past the L1 hit path.
  return deps.flights.run(key, () =>
    resolve({ ...demand, signal: deadlineSignal(demand.deadline, deps.clock) }, deps),
  );
}

async function resolve(want: Want, deps: VendDependencies): Promise<CachedToken> {
  if (deps.health.shouldTry()) {
    try {
      return await resolveShared(want, deps);
    } catch (error) {
      if (error instanceof DeadlinePassedError) {
        const local = bestToken(deps.l1.get(want.credential.name), undefined, want);
        return giveUp(want, local, "the deadline passed before DynamoDB could be asked", deps);
      }
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
  const call = { abortSignal: want.signal };
  const owner = (deps.newOwnerId ?? randomUUID)();
  let item = await table.read(key, call);
  deps.health.succeeded();
  let polls = 0;
  let retries = 0;
  let lastFailure: unknown;
  /** What Genesys said about the reported token (asked at most once per resolution). */
  let verdict: RejectionVerdict | undefined;

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
      // The holder was rate limited until after this caller's deadline: waiting cannot help.
      const blocked = item?.mintBlocked;
      if (blocked !== undefined && blocked.until >= want.deadline) {
        return giveUp(want, best, rateLimitedUntil(name, blocked, now), deps);
      }
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
      item = await table.read(key, call);
      continue;
    }
    // The cached token is the reported one, and only the report makes it unusable: check the report.
    const reportedOnly = stored !== undefined && onlyReported(stored, want, now);
    if (reportedOnly) {
      verdict ??= await confirmRejection(want, stored, deps);
      if (verdict === "accepted") {
        l1.set(name, stored);
        return serve(stored, stored, deps);
      }
      if (verdict === "unknown") {
        const capped = rejectionMintCapped(want, item?.lastRejectionMintAt, deps);
        if (capped !== undefined) return giveUp(want, best, capped, deps);
      }
      l1.forget(name, stored.tokenHash);
    }
    // Only a mint on a report Genesys could not confirm is capped: a confirmed rejection is a fact (the
    // token is dead for every consumer), and the lease already makes it one mint fleet-wide.
    const rejectionMint = reportedOnly && verdict === "unknown";
    if (deadlinePassed(want, deps)) return giveUp(want, best, lastFailure ?? "the deadline passed", deps);
    const attempt = await mintUnderLease(
      want,
      key,
      { owner, observedGeneration: generation, now, rejectionMint },
      () => jittered(backoff(FIRST_RETRY_MS, MAX_RETRY_MS, retries++), deps),
      deps,
    );
    if (attempt.kind === "lease-lost") {
      // Somebody else leads, or already wrote a newer token (or replaced a reported token within the
      // cap): the loop looks at the item they left.
      item = attempt.item;
      continue;
    }
    if (attempt.kind === "minted") return attempt.token;
    const { error, failure, pauseMs: pause } = attempt;
    lastFailure = error;
    if (isStillValid(best, deps)) return serve(best, undefined, deps);
    if (failure.kind === "fatal") throw error;
    if (clock.now() + pause >= want.deadline || want.signal.aborted) return giveUp(want, best, error, deps);
    await clock.sleep(pause);
    item = await table.read(key, call);
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
  // After a failure the lease is held for the refresh pause: one refresh attempt per pause fleet-wide,
  // not one per invocation.
  const attempt = await mintUnderLease(
    want,
    key,
    { owner, observedGeneration: generation, now: deps.clock.now() },
    refreshPause,
    deps,
  );
  if (attempt.kind === "lease-lost") {
    const current = attempt.item?.token;
    if (current !== undefined && acceptable(current, want, deps) && newerToken(current, best) === current) {
      deps.l1.set(key.credential, current);
      return serve(current, current, deps);
    }
    return serve(best, attempt.item?.token, deps);
  }
  return attempt.kind === "minted" ? attempt.token : best;
}

/** How {@link mintUnderLease} ended. */
export type LeasedMint =
  /** Somebody else holds the lease or wrote a newer generation: `item` is what they left (no second read). */
  | { kind: "lease-lost"; item: TokenItem | undefined }
  | { kind: "minted"; token: CachedToken }
  /** The mint failed: counted, logged, and the lease held through `pauseMs` (capped at one lease). */
  | { kind: "failed"; error: unknown; failure: MintFailure; pauseMs: number };

/**
 * The lease → mint → hold-on-failure sequence, the one way a token is minted on the shared path
 * (resolveShared, refreshAhead, warm-cache.ts): take the lease on the generation seen at `now`, mint
 * and store the next generation before the lease or the deadline ends ({@link mintAndStore}); after a
 * failure hold the lease for the pause the mint-failure policy sets (mint-failures.ts; `transientMs`
 * for transient trouble), so the fleet makes one attempt per pause. What follows is the caller's.
 */
export async function mintUnderLease(
  want: Want,
  key: TokenKey,
  attempt: {
    owner: string;
    observedGeneration: number;
    now: number;
    /** The mint replaces a reported token Genesys could not confirm: lease and write keep the rejection mint cap. */
    rejectionMint?: boolean;
  },
  transientMs: () => number,
  deps: VendDependencies,
): Promise<LeasedMint> {
  const { owner, observedGeneration, now, rejectionMint = false } = attempt;
  const leaseUntil = leaseEnd(now, want, deps);
  const lease = await deps.table.acquireLease(
    key,
    {
      owner,
      observedGeneration,
      now,
      leaseUntil,
      ...(rejectionMint ? { rejectionMintsAfter: now - deps.rejectionMintIntervalMs } : {}),
    },
    { abortSignal: want.signal },
  );
  if (!lease.acquired) return { kind: "lease-lost", item: lease.item };
  try {
    const token = await mintAndStore(
      want,
      key,
      observedGeneration,
      Math.min(want.deadline, leaseUntil),
      deps,
      rejectionMint,
    );
    return { kind: "minted", token };
  } catch (error) {
    recordMintFailure(want, error, deps);
    const failure = classifyMintFailure(error);
    const pauseMs = pauseAfter(failure, transientMs);
    await holdAfterFailure(key, owner, failure, pauseMs, want, deps);
    return { kind: "failed", error, failure, pauseMs };
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
  /** The mint replaces a reported token: recorded as `lastRejectionMintAt` with the token. */
  rejectionMint = false,
): Promise<CachedToken> {
  const minted = await deps.minter.mint(want.credential, {
    deadline: mintDeadline,
    abortSignal: want.signal,
  });
  let outcome: Awaited<ReturnType<TokenTable["writeToken"]>>;
  try {
    outcome = await deps.table.writeToken(key, minted, observedGeneration, {
      abortSignal: want.signal,
      ...(rejectionMint ? { lastRejectionMintAt: deps.clock.now() } : {}),
    });
  } catch (error) {
    noteTableFailure(error, deps);
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

/**
 * After a failed mint the holder keeps the lease through the pause, so the fleet makes one attempt per
 * pause instead of one per invocation — but never longer than one lease: a Retry-After of an hour must
 * not lock the fleet out for an hour (a later caller probes once per lease length). A rate limit is also
 * recorded with its full length, so waiting callers whose deadline ends before it give up at once with
 * GenesysRateLimitedError.
 */
async function holdAfterFailure(
  key: TokenKey,
  owner: string,
  failure: MintFailure,
  pauseMs: number,
  want: Want,
  deps: VendDependencies,
): Promise<void> {
  const now = deps.clock.now();
  const mintBlocked = mintBlockAfter(failure, now);
  try {
    await deps.table.releaseLease(key, owner, now + Math.min(pauseMs, deps.leaseMs), {
      abortSignal: want.signal,
      ...(mintBlocked === undefined ? {} : { mintBlocked }),
    });
  } catch (error) {
    // The lease then lapses by itself; the caller's answer does not depend on this write.
    noteTableFailure(error, deps);
  }
}

/**
 * Without DynamoDB: L1, and direct minting shared by every request of this container
 * (single-flight), paced like the shared path: after a failure no direct mint starts before the
 * container's pause ends (mint-pauses.ts). While a valid token exists only the one caller that starts
 * a refresh waits for it; everybody else — and everybody during a pause — is served that token.
 */
async function resolveDegraded(want: Want, deps: VendDependencies): Promise<CachedToken> {
  const { l1, clock, metrics, flights } = deps;
  const name = want.credential.name;
  metrics.count("DynamoDbDegraded");
  let lastFailure: unknown;
  let verdict: RejectionVerdict | undefined;
  let rejectionMint = false;
  for (;;) {
    const now = clock.now();
    const held = l1.get(name);
    // The report is of the token this container holds: check it, and cap the mints it causes (per container).
    if (verdict === undefined && held !== undefined && onlyReported(held, want, now)) {
      verdict = await confirmRejection(want, held, deps);
      if (verdict === "accepted") return serve(held, undefined, deps);
      if (verdict === "unknown") {
        const capped = rejectionMintCapped(want, deps.rejections.lastDirectMint(name), deps);
        if (capped !== undefined) return giveUp(want, undefined, capped, deps);
        rejectionMint = true;
      }
      l1.forget(name, held.tokenHash);
      continue;
    }
    const local = bestToken(l1.get(name), undefined, want);
    const minting = flights.has(directMintKey(name));
    const pause = deps.directMintPauses.get(name);
    const paused = !minting && pause !== undefined && now < pause.nextAttemptAt;
    if (local !== undefined && satisfies(local, now, want.minTtlMs)) {
      if (tokenState(local, now) === "fresh" || minting || paused || deadlinePassed(want, deps)) {
        return serve(local, undefined, deps);
      }
      try {
        return await mintDirectly(want, "refresh", deps);
      } catch {
        // Recorded (and paused) by mintDirectly.
        return serve(local, undefined, deps);
      }
    }
    if (deadlinePassed(want, deps)) {
      return giveUp(
        want,
        local,
        lastFailure ?? pause?.lastFailure ?? "DynamoDB is unavailable and no token was minted in time",
        deps,
      );
    }
    if (paused) {
      const blocked = pause.mintBlocked;
      if (blocked !== undefined && blocked.until >= want.deadline) {
        return giveUp(want, local, rateLimitedUntil(name, blocked, now), deps);
      }
      if (pause.nextAttemptAt >= want.deadline) return giveUp(want, local, pause.lastFailure, deps);
      await clock.sleep(pause.nextAttemptAt - now);
      continue;
    }
    try {
      const minted = await mintDirectly(want, "replace", deps);
      if (rejectionMint) deps.rejections.directMinted(name, clock.now());
      // A joined flight may have started before this caller's report; a reported token is never served.
      if (minted.tokenHash !== want.rejectedHash) return minted;
    } catch (error) {
      lastFailure = error;
      if (isStillValid(local, deps)) return serve(local, undefined, deps);
      if (classifyMintFailure(error).kind === "fatal") throw error;
      // The loop waits out the pause mintDirectly recorded.
    }
  }
}

/**
 * One direct mint per credential and container at a time. A failure is recorded once (not once per
 * joined caller) with the pause that the shared path would hold the lease for.
 */
function mintDirectly(
  want: Want,
  purpose: "refresh" | "replace",
  deps: VendDependencies,
): Promise<CachedToken> {
  const name = want.credential.name;
  return deps.flights.run(directMintKey(name), async () => {
    const started = deps.clock.now();
    try {
      const minted = await deps.minter.mint(want.credential, {
        deadline: Math.min(want.deadline, started + deps.leaseMs),
        abortSignal: want.signal,
      });
      deps.directMintPauses.succeeded(name);
      return keepLocally(name, minted, deps);
    } catch (error) {
      recordMintFailure(want, error, deps);
      const failure = classifyMintFailure(error);
      const failures = deps.directMintPauses.get(name)?.failures ?? 0;
      const pause = pauseAfter(failure, () =>
        purpose === "refresh"
          ? REFRESH_RETRY_PAUSE_MS
          : jittered(backoff(FIRST_RETRY_MS, MAX_RETRY_MS, failures), deps),
      );
      const now = deps.clock.now();
      const mintBlocked = mintBlockAfter(failure, now);
      deps.directMintPauses.failed(name, {
        nextAttemptAt: now + Math.min(pause, deps.leaseMs),
        ...(mintBlocked === undefined ? {} : { mintBlocked }),
        lastFailure: error,
      });
      throw error;
    }
  });
}

function directMintKey(credential: string): string {
  return `degraded-mint\n${credential}`;
}

// ---------------------------------------------------------------------------------------------------

/** A token may go to this caller: not the one it reported, and valid long enough. */
function acceptable(
  token: CachedToken,
  want: Pick<Want, "rejectedHash" | "minTtlMs">,
  deps: VendDependencies,
): boolean {
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

/** The error for a caller that cannot get a token before a recorded rate limit ends. */
function rateLimitedUntil(credential: string, blocked: MintBlock, now: number): GenesysRateLimitedError {
  return new GenesysRateLimitedError(credential, Math.max(0, Math.ceil(blocked.until - now)));
}

/**
 * After a failed DynamoDB call whose failure does not change the caller's answer: a real failure
 * degrades the container; a call not sent because the deadline had passed says nothing about DynamoDB.
 */
function noteTableFailure(error: unknown, deps: VendDependencies): void {
  if (error instanceof DeadlinePassedError) return;
  if (!(error instanceof DynamoDbUnavailableError)) throw error;
  deps.health.failed(error);
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
  // Already the answer for the caller (a recorded rate limit, Secrets Manager past the deadline).
  if (reason instanceof GenesysRateLimitedError || reason instanceof TokenUnavailableError) throw reason;
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

function backoff(firstMs: number, maxMs: number, attempt: number): number {
  return exponentialDelay(attempt, { baseMs: firstMs, capMs: maxMs });
}

/**
 * Between half and all of `ms` (equal jitter, docs/design.md#backoff-and-jitter), so pollers from many
 * containers do not move in lockstep, yet none re-reads the item at once (the mint it waits for takes
 * a while) and a pause after a failed mint, which the lease holds for the whole fleet, never shrinks to zero.
 */
function jittered(ms: number, deps: VendDependencies): number {
  return equalJitter(ms, deps.random);
}
