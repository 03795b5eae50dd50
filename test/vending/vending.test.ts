/**
 * The vending algorithm over the real wire protocols: Genesys Cloud and Secrets Manager emulators,
 * DynamoDB Local, the real SDK clients and the real Genesys HTTP client. "Containers" are in-process
 * runtimes with their own L1 (fleet behaviour with isolated workers is in fleet.test.ts).
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../../lambda/shared/clock.ts";
import { GenesysApiRateLimitError } from "../../lambda/shared/genesys/errors.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { type CredentialSecret, serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { VENDOR_AWS_CALL_LIMITS } from "../../lambda/vending/config.ts";
import type { VendingResponse } from "../../lambda/vending/handler.ts";
import type { TokenRequester } from "../../lambda/vending/mint.ts";
import { refreshAheadWindowMs } from "../../lambda/vending/token-cache.ts";
import { assertNoSecrets, captureOutput } from "../support/log-capture.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  RecordingLog,
  STACK_IDS,
  startVendingStack,
  useSharedVendingStack,
  VENDING_CREDENTIALS,
  type VendingStack,
  warmUp,
} from "../support/vending-stack.ts";

const APP = VENDING_CREDENTIALS.app;
const LEGACY = VENDING_CREDENTIALS.single;

let stack: VendingStack;
const shared = useSharedVendingStack((started) => {
  stack = started;
});
/** Every container's log, checked for leaks at the end. */
const logs = shared.logs;
const container = shared.container;

const tokenRequests = () => stack.rotation.genesys.counters.tokenRequests();

describe("serving from the cache tiers", () => {
  test("the first call mints once; the same container then serves from L1 and another from L2", async () => {
    const first = container();
    const second = container();
    const minted = await first.token();
    const fromL1 = await first.token();
    const fromL2 = await second.token({ credential: APP });

    assert.equal(fromL1.accessToken, minted.accessToken);
    assert.equal(fromL2.accessToken, minted.accessToken);
    assert.equal(tokenRequests(), 1);
    assert.equal(first.metrics.get("L1Hits"), 1);
    assert.equal(second.metrics.get("L2Hits"), 1);
    assert.equal(minted.tokenType, "Bearer");
    assert.equal(minted.environment, "mypurecloud.ie");
    assert.equal(minted.apiBaseUrl, stack.rotation.genesys.url);
    assert.ok(minted.expiresInSeconds > 3500 && minted.expiresInSeconds <= 3600);
    assert.ok(Math.abs(Date.parse(minted.expiresAt) - (Date.now() + minted.expiresInSeconds * 1000)) < 5000);

    const item = await stack.readItem(APP);
    assert.equal(item?.generation, 1);
    assert.equal(item?.token?.clientId, STACK_IDS.appA);
  });

  test("named credentials have independent entries", async () => {
    const vendor = container();
    const app = await vendor.token({ credential: APP });
    const legacy = await vendor.token({ credential: LEGACY });
    assert.notEqual(app.accessToken, legacy.accessToken);
    assert.equal((await stack.readItem(APP))?.token?.clientId, STACK_IDS.appA);
    assert.equal((await stack.readItem(LEGACY))?.token?.clientId, STACK_IDS.single);
    assert.equal(tokenRequests(), 2);
  });

  test("concurrent cold callers across containers cause one token request", async () => {
    const containers = Array.from({ length: 4 }, () => container());
    const answers = await Promise.all(containers.flatMap((c) => Array.from({ length: 10 }, () => c.token())));
    assert.equal(new Set(answers.map((a) => a.accessToken)).size, 1);
    assert.equal(tokenRequests(), 1);
    const waits = containers.reduce((sum, c) => sum + c.metrics.get("LeaseWaits"), 0);
    assert.ok(waits >= 1, "the callers that lost the lease waited for the holder's token");
  });
});

describe("refresh-ahead", () => {
  test("one mint per token generation over several lifetimes, and only the lease holder waits for it", async () => {
    const lifetimeMs = 60_000;
    // Time moves only between rounds; a SteppingClock so that a caller that did wait for a lease (the
    // bug this test is about) polls on and shows up in the counts instead of sleeping forever.
    const clock = new SteppingClock(Date.now());
    const local = await startVendingStack({ clock, tokenLifetimeSeconds: lifetimeMs / 1000 });
    try {
      const warmLog = new RecordingLog();
      logs.push(warmLog);
      await warmUp(local, warmLog);
      const containers = Array.from({ length: 3 }, () => {
        const log = new RecordingLog();
        logs.push(log);
        return local.createContainer({ log });
      });
      await containers[0]!.token();
      // The mint takes real time, so every other caller of its round overlaps it (whatever the scheduling).
      local.rotation.genesys.faults.latencyByPathPrefix = { "/oauth/token": 300 };
      const served = new Set<string>();
      const horizonMs = 4 * lifetimeMs;
      for (let elapsed = 0; elapsed < horizonMs; elapsed += 1000) {
        clock.advance(1000);
        const answers = await Promise.all(
          containers.flatMap((c) => Array.from({ length: 3 }, () => c.token())),
        );
        for (const answer of answers) {
          served.add(answer.accessToken);
          assert.ok(answer.expiresInSeconds > 0);
        }
      }
      const mints = local.rotation.genesys.counters.mints();
      // A token is replaced once it enters its refresh-ahead window: every (L − W) of manual time.
      const generationSpan = lifetimeMs - refreshAheadWindowMs(lifetimeMs);
      assert.equal(mints, 1 + Math.floor(horizonMs / generationSpan));
      assert.equal(served.size, mints, "every minted token was served, none minted twice");
      // Only the lease holder's own invocation waited for a refresh: nobody else waited for a lease
      // (LeaseWaits counts exactly that) or slept at all.
      const leaseWaits = containers.reduce((sum, c) => sum + c.metrics.get("LeaseWaits"), 0);
      assert.equal(leaseWaits, 0, "no caller waited for another's mint");
      assert.deepEqual(clock.sleeps, [], "no caller slept");
      assert.equal((await local.readItem(APP))?.generation, mints);
    } finally {
      await local.stop();
    }
  });

  test("a failed refresh keeps serving the still-valid token (rate limited)", async () => {
    const clock = new ManualClock(Date.now());
    const vendor = container({ clock });
    const first = await vendor.token();
    clock.advance(3600_000 - refreshAheadWindowMs(3600_000) + 1000);
    stack.rotation.genesys.faults.tokenRateLimit.enabled = true;
    const during = await vendor.token();
    assert.equal(during.accessToken, first.accessToken);
    assert.equal(vendor.metrics.get("TokenMintFailures"), 1);
    // The failed holder keeps the lease for a pause: the next call does not hit Genesys again.
    const requests = tokenRequests();
    await vendor.token();
    assert.equal(tokenRequests(), requests);
  });
});

describe("rejected tokens (compare-and-swap)", () => {
  test("50 consumers reporting the same dead token cause exactly one mint", async () => {
    const containers = Array.from({ length: 5 }, () => container());
    const dead = await containers[0]!.token();
    await stack.revokeToken(dead.accessToken);
    const before = tokenRequests();
    const answers = await Promise.all(
      containers.flatMap((c) =>
        Array.from({ length: 10 }, () => c.token({ rejectedToken: dead.accessToken })),
      ),
    );
    assert.equal(tokenRequests() - before, 1);
    const tokens = new Set(answers.map((a) => a.accessToken));
    assert.equal(tokens.size, 1);
    assert.ok(!tokens.has(dead.accessToken));
    assert.equal((await stack.readItem(APP))?.generation, 2);
  });

  test("a report of an older token returns the newer cached one without minting", async () => {
    const vendor = container();
    const older = await vendor.token();
    await stack.revokeToken(older.accessToken);
    const newer = await vendor.token({ rejectedToken: older.accessToken });
    assert.notEqual(newer.accessToken, older.accessToken);
    const before = tokenRequests();
    const probes = () => stack.rotation.genesys.counters.requests("HEAD /api/v2/tokens/me");
    const probesBefore = probes();
    const other = container();
    assert.equal((await other.token({ rejectedToken: older.accessToken })).accessToken, newer.accessToken);
    assert.equal((await vendor.token({ rejectedToken: older.accessToken })).accessToken, newer.accessToken);
    assert.equal(tokenRequests(), before);
    assert.equal(probes(), probesBefore, "a report of an older token is answered without asking Genesys");
  });

  test("a container stops serving a reported token from L1", async () => {
    const reporter = container();
    const dead = await reporter.token();
    await stack.revokeToken(dead.accessToken);
    const fresh = await reporter.token({ rejectedToken: dead.accessToken });
    assert.notEqual(fresh.accessToken, dead.accessToken);
    assert.equal((await reporter.token()).accessToken, fresh.accessToken);
  });
});

describe("staged secret fallback", () => {
  test("AWSCURRENT rejected mid single-strategy rotation → the token is minted from AWSPENDING", async () => {
    const client = stack.rotation.client;
    const arn = stack.credentials[LEGACY]!;
    const current = (await stack.rotation.readStaged(arn, "AWSCURRENT"))!;
    // What createSecret of a single rotation does: regenerate (the old secret dies at once), stage AWSPENDING.
    const regenerated = stack.rotation.genesys.state.regenerateSecret(STACK_IDS.single);
    const pending = await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: serializeCredentialSecret({ ...current, clientSecret: regenerated.secret }),
        VersionStages: ["AWSPENDING"],
      }),
    );
    try {
      const vendor = container();
      const answer = await vendor.token({ credential: LEGACY });
      assert.equal((await stack.readItem(LEGACY))?.token?.secretVersionId, pending.VersionId);
      assert.equal(vendor.metrics.get("FallbackStageUsed"), 1);
      assert.ok(answer.accessToken.length > 0);
      assert.equal(stack.rotation.genesys.counters.mints(STACK_IDS.single), 1);
    } finally {
      // Put the credential back in order for later tests: finish the "rotation".
      await finishRotation(arn, pending.VersionId!);
    }
  });

  test("AWSCURRENT and AWSPENDING unusable → the token is minted from AWSPREVIOUS", async () => {
    const client = stack.rotation.client;
    const arn = stack.credentials[APP]!;
    const current = (await stack.rotation.readStaged(arn, "AWSCURRENT"))!;
    const working = await stack.rotation.stages(arn);
    const workingVersion = Object.entries(working).find(([, labels]) => labels.includes("AWSCURRENT"))![0];
    // A broken value becomes AWSCURRENT; the working one moves to AWSPREVIOUS.
    const broken = await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: serializeCredentialSecret({
          ...current,
          clientSecret: "not-the-right-secret-0123456789",
        }),
      }),
    );
    try {
      const vendor = container();
      await vendor.token({ credential: APP });
      assert.equal((await stack.readItem(APP))?.token?.secretVersionId, workingVersion);
      assert.equal(vendor.metrics.get("FallbackStageUsed"), 1);
    } finally {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: workingVersion,
          RemoveFromVersionId: broken.VersionId,
        }),
      );
    }
  });

  test("every stage rejected → CredentialRejectedError, and a still-valid token is never hidden by it", async () => {
    const client = stack.rotation.client;
    const arn = stack.credentials[LEGACY]!;
    const current = (await stack.rotation.readStaged(arn, "AWSCURRENT"))!;
    const vendor = container();
    const valid = await vendor.token({ credential: LEGACY });
    const regenerated = stack.rotation.genesys.state.regenerateSecret(STACK_IDS.single);
    // Genesys cannot be asked whether the reported token is rejected, so the report mints (the first
    // within the rejection mint interval).
    stack.rotation.genesys.faults.serverErrors = {
      ...stack.rotation.genesys.faults.serverErrors,
      nextN: 10,
      target: { method: "HEAD", pathPrefix: "/api/v2/tokens/me" },
    };
    try {
      // Only the stale secret is staged: every stage fails.
      await assert.rejects(vendor.token({ credential: LEGACY, rejectedToken: valid.accessToken }), {
        name: "CredentialRejectedError",
      });
      // The token that was not reported is still valid and is still served by another container.
      assert.equal((await container().token({ credential: LEGACY })).accessToken, valid.accessToken);
    } finally {
      const fixed = await client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          SecretString: serializeCredentialSecret({ ...current, clientSecret: regenerated.secret }),
        }),
      );
      assert.ok(fixed.VersionId);
    }
  });
});

describe("staged secret fallback: only values of AWSCURRENT's credential", () => {
  test("alternating: AWSPENDING naming the twin (ids swapped) is used when AWSCURRENT is rejected", async () => {
    const client = stack.rotation.client;
    const arn = stack.credentials[APP]!;
    const current = (await stack.rotation.readStaged(arn, "AWSCURRENT"))!;
    const working = await stack.rotation.stages(arn);
    const workingVersion = Object.entries(working).find(([, labels]) => labels.includes("AWSCURRENT"))![0];
    const twin = current.alternateClientId!;
    // What an alternating createSecret stages: the twin's new secret, ids swapped.
    const twinSecret = stack.rotation.genesys.state.regenerateSecret(twin).secret;
    const broken = await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: serializeCredentialSecret({
          ...current,
          clientSecret: "not-the-right-secret-0123456789",
        }),
      }),
    );
    const pending = await client.send(
      new PutSecretValueCommand({
        SecretId: arn,
        SecretString: serializeCredentialSecret({
          ...current,
          clientId: twin,
          alternateClientId: current.clientId,
          clientSecret: twinSecret,
        }),
        VersionStages: ["AWSPENDING"],
      }),
    );
    try {
      const vendor = container();
      await vendor.token({ credential: APP });
      const item = await stack.readItem(APP);
      assert.equal(item?.token?.secretVersionId, pending.VersionId);
      assert.equal(item?.token?.clientId, twin);
      assert.equal(vendor.metrics.get("FallbackStageUsed"), 1);
      assert.equal(vendor.metrics.get("FallbackStageRejected"), 0);
    } finally {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: workingVersion,
          RemoveFromVersionId: broken.VersionId,
        }),
      );
      await removeLabel(arn, "AWSPENDING", pending.VersionId!);
    }
  });

  const forgeries: [
    string,
    (
      current: CredentialSecret,
      secrets: { regenerated: string; admin: CredentialSecret },
    ) => CredentialSecret,
    RegExp,
  ][] = [
    [
      "another client (the admin's, with its working secret)",
      (current, { admin }) => ({ ...current, clientId: admin.clientId, clientSecret: admin.clientSecret }),
      /clientId is neither AWSCURRENT's clientId nor its alternateClientId/,
    ],
    [
      "another environment",
      (current, { regenerated }) => ({
        ...current,
        environment: "mypurecloud.com",
        clientSecret: regenerated,
      }),
      /environment differs from AWSCURRENT's/,
    ],
    [
      "another strategy",
      (current, { regenerated }) => ({
        ...current,
        strategy: "alternating",
        alternateClientId: STACK_IDS.appB,
        clientSecret: regenerated,
      }),
      /strategy differs from AWSCURRENT's/,
    ],
  ];
  for (const [what, forge, rule] of forgeries) {
    test(`AWSPENDING for ${what} is skipped (logged and counted), never minted with`, async () => {
      const client = stack.rotation.client;
      const arn = stack.credentials[LEGACY]!;
      const current = (await stack.rotation.readStaged(arn, "AWSCURRENT"))!;
      const admin = (await stack.rotation.readStaged(stack.rotation.secrets.admin, "AWSCURRENT"))!;
      // AWSCURRENT stops working (a single rotation's regeneration), and AWSPENDING holds a value that
      // WOULD mint — for the wrong client, organisation or strategy.
      const regenerated = stack.rotation.genesys.state.regenerateSecret(STACK_IDS.single).secret;
      const forged = await client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          SecretString: serializeCredentialSecret(forge(current, { regenerated, admin })),
          VersionStages: ["AWSPENDING"],
        }),
      );
      const log = new RecordingLog();
      logs.push(log);
      const vendor = container({ log });
      try {
        await assert.rejects(vendor.token({ credential: LEGACY }), (error: Error) => {
          assert.equal(error.name, "CredentialRejectedError");
          assert.match(error.message, /AWSPENDING skipped/);
          assert.match(error.message, rule);
          return true;
        });
        assert.equal(stack.rotation.genesys.counters.mints(), 0, "no token was minted with any value");
        assert.equal(vendor.metrics.get("FallbackStageRejected"), 1);
        assert.equal(vendor.metrics.get("FallbackStageUsed"), 0);
        const warning = log.matching("Fallback stage value rejected");
        assert.equal(warning.length, 1);
        assert.match(warning[0]!, rule);
      } finally {
        await removeLabel(arn, "AWSPENDING", forged.VersionId!);
        await client.send(
          new PutSecretValueCommand({
            SecretId: arn,
            SecretString: serializeCredentialSecret({ ...current, clientSecret: regenerated }),
          }),
        );
      }
    });
  }
});

describe("generations", () => {
  test("a slow writer never overwrites a newer token with an older one", async () => {
    // The slow holder pauses between Genesys' response and its write (e.g. a long GC pause) until the
    // fast container has written: an order of events, not of wall-clock delays.
    let fastWrote = () => {};
    const fastWritten = new Promise<void>((resolve) => {
      fastWrote = resolve;
    });
    const slowRequest: TokenRequester = async (request, options) => {
      const token = await requestClientCredentialsToken(request, options);
      await fastWritten;
      return token;
    };
    const slow = container({ requestToken: slowRequest, environment: { LEASE_SECONDS: "1" } });
    // The fast container's own lease (the default 30 s) bounds its mint, not the slow one's 1 s.
    const fast = container();
    const slowAnswer = slow.token();
    // The slow container holds the lease once its token request reached Genesys.
    await until(() => tokenRequests() >= 1);
    // The slow holder's lease lapses after 1 s; the fast container takes over and writes generation 1.
    const fastAnswer = await fast.token();
    const afterFast = await stack.readItem(APP);
    assert.equal(afterFast?.generation, 1);
    fastWrote();
    const slowResult = await slowAnswer;
    const final = await stack.readItem(APP);
    assert.equal(final?.generation, 1, "the slow write lost its condition");
    assert.equal(final?.token?.tokenHash, afterFast?.token?.tokenHash);
    assert.equal(slowResult.accessToken, fastAnswer.accessToken, "the slow writer serves the newer token");
    assert.equal(tokenRequests(), 2);
  });
});

describe("rate limiting", () => {
  test("no valid token and a persistent token-endpoint rate limit → GenesysRateLimitedError within the deadline", async () => {
    stack.rotation.genesys.faults.tokenRateLimit.enabled = true;
    stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 1;
    // The deadline and the Retry-After pauses run on this clock: what the vendor waited is exact,
    // whatever the machine's load.
    const clock = new SteppingClock(Date.now());
    const vendor = container({ clock });
    await assert.rejects(
      vendor.token({}, { remainingMs: 3500 }),
      (error: Error & { retryAfterMs?: number }) => {
        assert.equal(error.name, "GenesysRateLimitedError");
        assert.equal(error.retryAfterMs, 1000);
        return true;
      },
    );
    const waited = clock.sleeps.reduce((sum, ms) => sum + ms, 0);
    assert.ok(waited < 3500, `answered within the caller's deadline (waited ${waited} ms)`);
    assert.ok(
      tokenRequests() >= 2 && tokenRequests() <= 4,
      `backed off per Retry-After (${tokenRequests()} requests)`,
    );
  });

  test("a rate limit that clears within the deadline is waited out", async () => {
    stack.rotation.genesys.faults.tokenRateLimit.nextN = 1;
    stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 1;
    const answer = await container().token({}, { remainingMs: 5000 });
    assert.ok(answer.accessToken);
    assert.equal(tokenRequests(), 2);
  });

  test("a long Retry-After holds the lease one lease length; callers whose deadline ends first fail at once with GenesysRateLimitedError", async () => {
    const genesys = stack.rotation.genesys;
    genesys.faults.tokenRateLimit.enabled = true;
    genesys.faults.tokenRateLimit.retryAfterSeconds = 3600;
    const clock = new SteppingClock(Date.now());
    const rateLimited = (atMostMs: number) => (error: Error & { retryAfterMs?: number }) => {
      assert.equal(error.name, "GenesysRateLimitedError");
      assert.ok(
        error.retryAfterMs !== undefined &&
          error.retryAfterMs <= atMostMs &&
          error.retryAfterMs > atMostMs - 120_000,
        `retryAfterMs ${error.retryAfterMs}`,
      );
      return true;
    };
    const started = clock.now();
    await assert.rejects(container({ clock }).token(), rateLimited(3600_000));
    const item = await stack.readItem(APP);
    assert.ok(
      item?.leaseUntil !== undefined && item.leaseUntil <= started + 30_000,
      "hold capped at LEASE_SECONDS",
    );
    assert.equal(item?.mintBlocked?.reason, "rate-limited");
    assert.ok(item?.mintBlocked !== undefined && item.mintBlocked.until >= started + 3600_000);

    // Other containers during the hold: an answer at once, the right error, no call to Genesys.
    const requests = tokenRequests();
    for (let minute = 0; minute < 3; minute++) {
      clock.advance(5_000);
      const sleeps = clock.sleeps.length;
      await assert.rejects(container({ clock }).token(), rateLimited(3600_000 - (minute + 1) * 5_000));
      assert.equal(clock.sleeps.length, sleeps, "no polling until the deadline");
    }
    assert.equal(tokenRequests(), requests);

    // Once the hold (one lease length) is over, one caller probes Genesys again — once.
    clock.advance(30_000);
    await Promise.all(
      [container({ clock }), container({ clock })].map((vendor) =>
        assert.rejects(vendor.token(), { name: "GenesysRateLimitedError" }),
      ),
    );
    assert.equal(tokenRequests(), requests + 1);
  });

  test("during a recorded rate limit a still-valid token is served at once to callers wanting more", async () => {
    const clock = new SteppingClock(Date.now());
    const first = container({ clock });
    const valid = await first.token();
    // 200 s left: a caller wanting 300 s needs a new token.
    clock.advance(3400_000);
    stack.rotation.genesys.faults.tokenRateLimit.enabled = true;
    stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 3600;
    assert.equal((await first.token({ minTtlSeconds: 300 })).accessToken, valid.accessToken);
    assert.equal((await stack.readItem(APP))?.mintBlocked?.reason, "rate-limited");
    const requests = tokenRequests();
    const sleeps = clock.sleeps.length;
    const answer = await container({ clock }).token({ minTtlSeconds: 300 });
    assert.equal(answer.accessToken, valid.accessToken);
    assert.equal(answer.expiresInSeconds, 200);
    assert.equal(clock.sleeps.length, sleeps, "served without waiting for the lease");
    assert.equal(tokenRequests(), requests);
  });

  test("an API-style 429 while a valid token exists → that token is served", async () => {
    let throttle = false;
    const requestToken: TokenRequester = async (request, options) => {
      if (throttle) {
        throw new GenesysApiRateLimitError("throttled", {
          operation: "POST /oauth/token",
          status: 429,
          retryAfterMs: 2000,
        });
      }
      return requestClientCredentialsToken(request, options);
    };
    const clock = new ManualClock(Date.now());
    const vendor = container({ requestToken, clock });
    const valid = await vendor.token();
    // 200 s left: inside the refresh-ahead window, so a caller wanting 300 s needs a new token.
    clock.advance(3400_000);
    throttle = true;
    const answer = await vendor.token({ minTtlSeconds: 300 });
    assert.equal(answer.accessToken, valid.accessToken);
    assert.equal(answer.expiresInSeconds, 200);
    assert.equal(vendor.metrics.get("TokenMintFailures"), 1);
  });
});

describe("DynamoDB outage", () => {
  test("invocations keep succeeding from L1 and direct mints (single-flight per container); recovery when it returns", async () => {
    const warm = container({ dynamoDbProbeIntervalMs: 300 });
    const before = await warm.token();

    stack.dynamoDb.outage.begin("refuse");
    // A warm container serves its fresh L1 token with no I/O at all.
    assert.equal((await warm.token()).accessToken, before.accessToken);
    // A cold container cannot read L2: it mints directly, once for all its concurrent callers.
    const cold = container({ dynamoDbProbeIntervalMs: 300 });
    const requests = tokenRequests();
    const answers = await Promise.all(Array.from({ length: 10 }, () => cold.token()));
    assert.equal(new Set(answers.map((a) => a.accessToken)).size, 1);
    assert.equal(tokenRequests() - requests, 1);
    assert.ok(cold.metrics.get("DynamoDbDegraded") >= 1);
    const coldLog = cold.log as RecordingLog;
    assert.equal(coldLog.matching("DynamoDB unavailable").length, 1);
    // While degraded the container serves its L1 token without retrying DynamoDB on every call.
    assert.equal((await cold.token()).accessToken, answers[0]!.accessToken);

    stack.dynamoDb.outage.end();
    await delay(400);
    // An L1 miss (the container's own token reported dead) goes back to DynamoDB, whose token differs.
    const recovered = await cold.token({ rejectedToken: answers[0]!.accessToken });
    assert.equal(recovered.accessToken, before.accessToken);
    assert.equal(cold.runtime.deps.health.degraded, false);
    assert.equal(coldLog.matching("DynamoDB available again").length, 1);
  });

  test("degraded and rate limited: one refresh attempt per pause, not per request; the valid token is served meanwhile", async () => {
    const clock = new ManualClock(Date.now());
    const vendor = container({ clock });
    const valid = await vendor.token();
    // Inside the refresh-ahead window, far from expiry.
    clock.advance(3600_000 - refreshAheadWindowMs(3600_000) + 1000);
    stack.dynamoDb.outage.begin("refuse");
    stack.rotation.genesys.faults.tokenRateLimit.enabled = true; // no Retry-After: 1 s pauses
    const before = tokenRequests();
    for (let request = 0; request < 100; request++) {
      clock.advance(100);
      assert.equal((await vendor.token()).accessToken, valid.accessToken);
    }
    const attempts = tokenRequests() - before;
    assert.ok(attempts >= 9 && attempts <= 11, `one attempt per 1 s pause over 10 s, not 100 (${attempts})`);
    assert.ok(vendor.metrics.get("DynamoDbDegraded") >= 1);

    // A Retry-After longer than a lease: one attempt per lease length (30 s), as on the shared path.
    stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 3600;
    clock.advance(2000);
    const during = tokenRequests();
    for (let request = 0; request < 100; request++) {
      clock.advance(1000);
      assert.equal((await vendor.token()).accessToken, valid.accessToken);
    }
    const slowAttempts = tokenRequests() - during;
    assert.ok(
      slowAttempts >= 3 && slowAttempts <= 4,
      `one attempt per lease length over 100 s (${slowAttempts})`,
    );
  });

  test("degraded with no valid token: a recorded rate limit fails later callers at once, without another token request", async () => {
    stack.dynamoDb.outage.begin("refuse");
    stack.rotation.genesys.faults.tokenRateLimit.enabled = true;
    stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 3600;
    const clock = new SteppingClock(Date.now());
    const vendor = container({ clock });
    await assert.rejects(vendor.token(), { name: "GenesysRateLimitedError" });
    const requests = tokenRequests();
    clock.advance(10_000);
    const sleeps = clock.sleeps.length;
    await assert.rejects(vendor.token(), (error: Error & { retryAfterMs?: number }) => {
      assert.equal(error.name, "GenesysRateLimitedError");
      assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 3500_000, `${error.retryAfterMs}`);
      return true;
    });
    assert.equal(tokenRequests(), requests);
    assert.equal(clock.sleeps.length, sleeps);
  });

  test("a hanging DynamoDB degrades after the client timeout instead of eating the deadline", async () => {
    stack.dynamoDb.outage.begin("hang");
    // The deployed limits are what this test is about (the stack's are long for a loaded machine).
    const vendor = container({ environment: { AWS_CALL_LIMITS: JSON.stringify(VENDOR_AWS_CALL_LIMITS) } });
    // The deadline (13.5 s) is far beyond the client's limits (2 attempts of 2 s): the client's own
    // timeout ended the DynamoDB call, not the deadline's abort, and time was left to mint.
    const answer = await vendor.token({}, { remainingMs: 15_000 });
    assert.ok(answer.accessToken);
    assert.ok(vendor.metrics.get("DynamoDbDegraded") >= 1);
    assert.deepEqual(dynamoDbFailures(vendor.log), ["TimeoutError"]);
  });
});

describe("the caller's deadline reaches the AWS calls", () => {
  // The handler's deadline is 90 % of the remaining time; the SDK clients' own limits (the stack's long
  // ones, local/stack/stack.ts) are longer than these invocations, so only the deadline can end the calls.
  // Which one did shows in the error that ended the call, whatever the machine's load: the deadline's
  // abort (AbortError; its timer is due first) or the client's own timeout (TimeoutError).
  const LAMBDA_REMAINING_MS = 3000;

  test("DynamoDB hangs, no token anywhere → TokenUnavailableError before the Lambda timeout", async () => {
    stack.dynamoDb.outage.begin("hang");
    const vendor = container();
    await assert.rejects(vendor.token({}, { remainingMs: LAMBDA_REMAINING_MS }), {
      name: "TokenUnavailableError",
    });
    assert.deepEqual(dynamoDbFailures(vendor.log), ["AbortError"], "the deadline ended the DynamoDB call");
    assert.equal(tokenRequests(), 0, "no mint started after the deadline");
  });

  test("DynamoDB hangs while a still-valid token is in L1 → that token, before the Lambda timeout", async () => {
    const clock = new ManualClock(Date.now());
    const vendor = container({ clock });
    const valid = await vendor.token();
    clock.advance(3600_000 - refreshAheadWindowMs(3600_000) + 1000);
    stack.dynamoDb.outage.begin("hang");
    const requests = tokenRequests();
    const answer = await vendor.token({}, { remainingMs: LAMBDA_REMAINING_MS });
    assert.equal(answer.accessToken, valid.accessToken);
    assert.deepEqual(dynamoDbFailures(vendor.log), ["AbortError"], "the deadline ended the DynamoDB call");
    assert.equal(tokenRequests(), requests, "no refresh started after the deadline");
  });

  test("Secrets Manager accepts connections but never answers → TokenUnavailableError before the Lambda timeout", async () => {
    const silent = await startSilentServer();
    try {
      const vendor = container({ environment: { SECRETS_MANAGER_ENDPOINT: silent.url } });
      await assert.rejects(vendor.token({}, { remainingMs: LAMBDA_REMAINING_MS }), (error: Error) => {
        assert.equal(error.name, "TokenUnavailableError");
        assert.match(error.message, /Secrets Manager did not answer before the deadline/);
        // The deadline's abort ended the read, not the client's own timeout.
        assert.equal((error.cause as Error | undefined)?.name, "AbortError");
        return true;
      });
      assert.ok(silent.connections() >= 1, "the request did reach the silent endpoint");
    } finally {
      await silent.stop();
    }
  });
});

describe("cache warming after a rotation", () => {
  test("warm mints from the new AWSCURRENT once, never returns a token, and rejects unknown ARNs", async () => {
    const vendor = container();
    const before = await vendor.token();
    const beforeItem = await stack.readItem(APP);
    const rotation = await stack.rotation.rotate(stack.credentials[APP]!);
    assert.equal(rotation.eventName, "RotationSucceeded");
    const currentVersion = Object.entries(await stack.rotation.stages(stack.credentials[APP]!)).find(
      ([, labels]) => labels.includes("AWSCURRENT"),
    )![0];
    assert.notEqual(beforeItem?.token?.secretVersionId, currentVersion);

    const warmed = await vendor.warm(stack.credentials[APP]!);
    assert.deepEqual(Object.keys(warmed).sort(), ["credential", "expiresAt", "warmed"]);
    assert.equal(warmed.warmed, true);
    assert.equal(warmed.credential, APP);
    const item = await stack.readItem(APP);
    assert.equal(item?.token?.secretVersionId, currentVersion);
    const current = await stack.rotation.readStaged(stack.credentials[APP]!, "AWSCURRENT");
    assert.equal(item?.token?.clientId, current?.clientId);
    assert.notEqual((await container().token()).accessToken, before.accessToken);

    const again = await vendor.warm(stack.credentials[APP]!);
    assert.equal(again.warmed, false);
    await assert.rejects(
      vendor.invoke({
        warm: { secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf" },
      }),
      { name: "UnknownCredentialError" },
    );
  });
});

describe("secrets named relative to SECRET_NAME_PREFIX (the CDK's compact CREDENTIALS)", () => {
  test("the vendor reads the secret by name, and the rotated secret's ARN warms it", async () => {
    const arn = stack.credentials[APP]!;
    // The secret's name: the ARN after ":secret:", without Secrets Manager's "-XXXXXX" suffix.
    const name = arn.slice(arn.indexOf(":secret:") + ":secret:".length, -7);
    const split = name.lastIndexOf("/") + 1;
    const vendor = container({
      environment: {
        SECRET_NAME_PREFIX: name.slice(0, split),
        CREDENTIALS: JSON.stringify({ [APP]: `./${name.slice(split)}` }),
      },
    });
    const before = await vendor.token();
    assert.equal(before.environment, (await stack.rotation.readStaged(arn, "AWSCURRENT"))?.environment);
    assert.equal((await vendor.token()).accessToken, before.accessToken, "served from the cache");

    assert.equal((await stack.rotation.rotate(arn)).eventName, "RotationSucceeded");
    // The rotation function names the secret by its complete ARN; the vendor knows it by name.
    const warmed = await vendor.warm(arn);
    assert.equal(warmed.credential, APP);
    assert.equal(warmed.warmed, true);
    assert.notEqual((await vendor.token()).accessToken, before.accessToken);
  });
});

describe("typed errors from the handler", () => {
  test("malformed payloads and unknown credentials", async () => {
    const vendor = container();
    const cases: [unknown, string, RegExp][] = [
      [{ credentail: APP }, "ValidationError", /field "credentail" is not allowed/],
      [{ minTtlSeconds: "60" }, "ValidationError", /"minTtlSeconds" must be a whole number from 0 to 3600/],
      [{ minTtlSeconds: 3601 }, "ValidationError", /"minTtlSeconds"/],
      [{ minTtlSeconds: -1 }, "ValidationError", /"minTtlSeconds"/],
      [{ rejectedToken: "short" }, "ValidationError", /"rejectedToken"/],
      [
        { rejectedToken: "has spaces in it, which no bearer token has" },
        "ValidationError",
        /"rejectedToken"/,
      ],
      [{ credential: 7 }, "ValidationError", /"credential" must be a non-empty string/],
      [[APP], "ValidationError", /must be a JSON object/],
      [
        { warm: { secretArn: stack.credentials[APP] }, credential: APP },
        "ValidationError",
        /"credential" is not allowed together with "warm"/,
      ],
      [{ warm: {} }, "ValidationError", /"warm.secretArn"/],
      [
        { credential: "nope" },
        "UnknownCredentialError",
        /credential "nope" \(the invoked alias\) is not configured; known credentials: reporting, legacy/,
      ],
    ];
    for (const [payload, name, message] of cases) {
      await assert.rejects(vendor.invoke(payload), (error: Error) => {
        assert.equal(error.name, name, JSON.stringify(payload));
        assert.match(error.message, message);
        return true;
      });
    }
    assert.equal(tokenRequests(), 0, "nothing was minted for an invalid request");
  });

  test("no payload at all vends the credential of the invoked alias", async () => {
    const answer = (await container().invoke(undefined, { qualifier: LEGACY })) as VendingResponse;
    assert.equal((await stack.readItem(LEGACY))?.token?.tokenHash !== undefined, true);
    assert.equal(await stack.readItem(APP), undefined);
    assert.ok(answer.accessToken);
  });
});

describe("the invoked alias decides the credential", () => {
  test("a consumer invoking alias reporting that asks for legacy is refused, and nothing is minted", async () => {
    const vendor = container();
    for (const payload of [{ credential: LEGACY }, { credential: LEGACY, minTtlSeconds: 60 }]) {
      await assert.rejects(vendor.token(payload, { qualifier: APP }), (error: Error & { field?: string }) => {
        assert.equal(error.name, "CredentialNotGrantedError");
        assert.equal((error as Error & { retryable?: boolean }).retryable, false);
        assert.equal(error.field, "credential");
        assert.match(
          error.message,
          /names "legacy", but the invoked genesys-token-vending:reporting grants only credential "reporting"/,
        );
        return true;
      });
    }
    assert.equal(tokenRequests(), 0, "nothing was minted");
    assert.equal(await stack.readItem(LEGACY), undefined, "nothing was cached");
    // The same credential named in the payload is accepted.
    const own = await vendor.token({ credential: APP }, { qualifier: APP });
    assert.ok(own.accessToken);
    assert.equal((await stack.readItem(APP))?.token?.tokenHash !== undefined, true);
  });

  test("warm only through cache-warming, and only warm there", async () => {
    const vendor = container();
    await assert.rejects(vendor.invoke({ warm: { secretArn: stack.credentials[APP] } }, { qualifier: APP }), {
      name: "CredentialNotGrantedError",
      message: /field "warm" is accepted only on the "cache-warming" alias/,
    });
    for (const payload of [{}, { credential: APP }]) {
      await assert.rejects(vendor.token(payload, { qualifier: "cache-warming" }), {
        name: "CredentialNotGrantedError",
        message: /field "warm" is required: the "cache-warming" alias accepts only/,
      });
    }
    assert.equal(tokenRequests(), 0, "nothing was minted");
  });

  test("unqualified: refused with two credentials, served with one", async () => {
    const vendor = container();
    for (const qualifier of [null, "$LATEST"]) {
      await assert.rejects(vendor.token({}, { qualifier }), (error: Error & { field?: string }) => {
        assert.equal(error.name, "CredentialNotGrantedError");
        assert.equal(error.field, "(qualifier)");
        assert.match(error.message, /invoke genesys-token-vending:<credential>/);
        return true;
      });
    }
    assert.equal(tokenRequests(), 0, "nothing was minted");
    const single = container({
      environment: { CREDENTIALS: JSON.stringify({ [LEGACY]: stack.credentials[LEGACY] }) },
    });
    const answer = await single.token({}, { qualifier: null });
    assert.ok(answer.accessToken);
    assert.equal((await stack.readItem(LEGACY))?.token?.tokenHash !== undefined, true);
  });
});

describe("logs", () => {
  test("the deployed handler (Powertools logger) prints no token or secret, in success and failure", async () => {
    Object.assign(process.env, stack.environment);
    const { handler } = await import("../../lambda/vending/handler.ts");
    const arn = "arn:aws:lambda:eu-west-1:111122223333:function:vendor";
    // Deadlines long enough for a loaded machine: no call here is about running out of time.
    const through = (alias: string, remainingMs = 60_000) => ({
      getRemainingTimeInMillis: () => remainingMs,
      invokedFunctionArn: `${arn}:${alias}`,
    });
    const context = through(APP);
    const { output } = await captureOutput(async () => {
      const first = (await handler({}, context)) as VendingResponse;
      await handler({ rejectedToken: first.accessToken }, context);
      await handler({ credential: LEGACY }, through(LEGACY));
      await handler({ warm: { secretArn: stack.credentials[APP] } }, through("cache-warming"));
      await handler({ credential: "nope" }, context).catch(() => undefined);
      await handler({ credential: LEGACY }, context).catch(() => undefined);
      stack.rotation.genesys.faults.tokenRateLimit.enabled = true;
      const second = (await handler({ credential: LEGACY }, through(LEGACY))) as VendingResponse;
      // A Retry-After that outlasts any deadline: the answer is GenesysRateLimitedError at once.
      stack.rotation.genesys.faults.tokenRateLimit.retryAfterSeconds = 3600;
      await stack.revokeToken(second.accessToken);
      await handler({ credential: LEGACY, rejectedToken: second.accessToken }, through(LEGACY)).catch(
        () => undefined,
      );
    });
    assert.match(output, /Token minted/);
    assert.match(output, /GenesysRateLimitedError/);
    assertNoSecrets(output, {
      "access token": stack.rotation.genesys.issued.accessTokens,
      "client secret": stack.rotation.genesys.issued.secrets,
    });
  });
});

/**
 * Why each of a container's DynamoDB degradations began: the name of the error that ended the DynamoDB
 * call, from its "DynamoDB unavailable" warning (`DynamoDB <operation> failed: <name>`).
 */
function dynamoDbFailures(log: Log): string[] {
  return (log as RecordingLog).matching("DynamoDB unavailable").map((line) => {
    const { errorMessage } = JSON.parse(line) as { errorMessage: string };
    return /failed: (\w+)$/.exec(errorMessage)?.[1] ?? errorMessage;
  });
}

/** Takes `label` off `versionId` (test clean-up). */
/** Polls `condition` (real time: what it waits for happens in real I/O). */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(20);
  }
}

async function removeLabel(arn: string, label: string, versionId: string): Promise<void> {
  await stack.rotation.client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: label,
      RemoveFromVersionId: versionId,
    }),
  );
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers: a hung AWS endpoint. */
async function startSilentServer(): Promise<{
  url: string;
  connections(): number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("silent server: no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => accepted,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Completes a manual single rotation: AWSCURRENT → `versionId`. */
async function finishRotation(arn: string, versionId: string): Promise<void> {
  const stages = await stack.rotation.stages(arn);
  const current = Object.entries(stages).find(([, labels]) => labels.includes("AWSCURRENT"))![0];
  await stack.rotation.client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: "AWSCURRENT",
      MoveToVersionId: versionId,
      RemoveFromVersionId: current,
    }),
  );
  await stack.rotation.client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: "AWSPENDING",
      RemoveFromVersionId: versionId,
    }),
  );
}
