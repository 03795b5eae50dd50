/**
 * The vending function as a fleet: the real handler module in the Lambda emulator, each container an
 * isolated worker with its own module scope (L1), against the Genesys and Secrets Manager emulators
 * and DynamoDB Local. Real time throughout, with short token lifetimes.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { VendingResponse } from "../../lambda/vending/handler.ts";
import { expiryMarginMs, refreshAheadWindowMs } from "../../lambda/vending/token-cache.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { startVendingStack, type VendingFleet, type VendingStack } from "../support/vending-stack.ts";

let stack: VendingStack;
const outputs: string[] = [];
let fleet: VendingFleet | undefined;

before(async () => {
  stack = await startVendingStack();
});
after(async () => {
  try {
    const output = outputs.join("\n");
    assert.match(output, /Token minted/, "the containers' logs were captured");
    assertNoSecrets(output, {
      "access token": stack.rotation.genesys.issued.accessTokens,
      "client secret": stack.rotation.genesys.issued.secrets,
    });
  } finally {
    await stack?.stop();
  }
});
afterEach(async () => {
  if (fleet !== undefined) {
    outputs.push(fleet.output());
    await fleet.stop();
    fleet = undefined;
  }
  stack.rotation.genesys.faults.reset();
  stack.rotation.genesys.counters.reset();
  await stack.clearTable();
});

const tokenRequests = () => stack.rotation.genesys.counters.tokenRequests();

test("cold fleet, 8 containers × 25 concurrent invocations: one token for all; only the lease holder asks Genesys", async () => {
  fleet = await stack.startFleet({ containers: 8 });
  const started = fleet;
  const answers = await Promise.all(Array.from({ length: 200 }, () => started.token()));
  assert.equal(new Set(answers.map((answer) => answer.accessToken)).size, 1);
  // One token request, and one more only after an attempt that failed (on a loaded machine a request
  // can time out): never one per container or per caller.
  assert.ok(tokenRequests() >= 1);
  assert.ok(
    tokenRequests() <= 1 + failedMintAttempts(started.output()),
    `${tokenRequests()} token requests, ${failedMintAttempts(started.output())} failed attempts`,
  );
  const counters = fleet.lambda.counters(fleet.name);
  assert.equal(counters.errors, 0);
  assert.equal(counters.perContainer.filter((n) => n > 0).length, 8, "every container served");
});

test("refresh-ahead over several lifetimes: one mint per generation; only the lease holder waits for it", async (t) => {
  // Real time in isolated workers: a token stops being usable at E − M whatever the machine's load, so a
  // stalled machine can make any refresh late. The test asserts what holds under any scheduling: no
  // token is replaced before its refresh-ahead window (one mint per generation); a caller waits for
  // another's mint only in a generation whose refresh came late (the previous token was no longer usable
  // when the new one arrived); and refreshes do land ahead (never, when refresh-ahead is broken).
  const lifetimeSeconds = 12; // W = 3 s, M = 0.6 s
  const lifetimeMs = lifetimeSeconds * 1000;
  const windowMs = refreshAheadWindowMs(lifetimeMs);
  const marginMs = expiryMarginMs(lifetimeMs);
  stack.rotation.genesys.faults.tokenLifetimeSeconds = lifetimeSeconds;
  // Metrics on: each invocation's EMF line says whether it waited for a lease (LeaseWaits), and when.
  fleet = await stack.startFleet({ containers: 8, environment: { POWERTOOLS_METRICS_DISABLED: "false" } });
  const running = fleet;
  /** Every token served, by its expiry (epoch ms): one per generation. */
  const expiries = new Map<string, number>();
  const note = (answer: VendingResponse) => {
    expiries.set(answer.accessToken, Date.parse(answer.expiresAt));
    assert.ok(answer.expiresInSeconds >= 0);
  };
  note(await running.token()); // the first token (nothing to serve meanwhile)
  // Start every container now: a cold start must not pass for a wait on a mint.
  for (const answer of await Promise.all(Array.from({ length: 8 }, () => running.token()))) note(answer);
  assert.equal(running.lambda.counters(running.name).coldStarts, 8);
  // A mint takes a while, so callers arrive while the lease holder waits for Genesys.
  stack.rotation.genesys.faults.latencyByPathPrefix = { "/oauth/token": 500 };

  /** Expiries in order, and per refresh whether it came late (after the previous token's usable end). */
  const generations = () => {
    const sorted = [...expiries.values()].sort((a, b) => a - b);
    const late = sorted.slice(1).map((expiresAt, i) => expiresAt - sorted[i]! >= lifetimeMs - marginMs);
    return { sorted, late };
  };
  // 7 sequential callers for 8 containers: a free container always exists, so no call queues behind
  // the lease holder. They run until three refreshes happened, one of them ahead of expiry (a stalled
  // machine may need more), or give up after many lifetimes.
  const giveUpAt = Date.now() + 10 * lifetimeMs;
  const enough = () => {
    const { late } = generations();
    return late.length >= 3 && late.includes(false);
  };
  await Promise.all(
    Array.from({ length: 7 }, async () => {
      while (!enough() && Date.now() < giveUpAt) {
        note(await running.token());
        await delay(50);
      }
    }),
  );
  // Counted from the first token: on a loaded machine a refresh may already happen during the cold starts.
  const mints = stack.rotation.genesys.counters.mints() - 1;
  const { sorted, late } = generations();
  const waits = leaseWaits(running.output());
  t.diagnostic(
    `${mints} refreshes, ${late.filter(Boolean).length} late; generation spans ${sorted
      .slice(1)
      .map((expiresAt, i) => expiresAt - sorted[i]!)
      .join(", ")} ms; ${waits.length} lease waits`,
  );
  // Every minted token was served, except one Genesys issued for a request that had timed out (a
  // loaded machine): such an attempt failed, and the lease holder retried.
  const unserved = mints + 1 - expiries.size;
  assert.ok(unserved >= 0, "one mint per generation");
  assert.ok(unserved <= failedMintAttempts(running.output()), `${unserved} minted tokens were never served`);
  assert.ok(mints >= 3, `${mints} refreshes within ${10 * lifetimeSeconds} s`);
  sorted.slice(1).forEach((expiresAt, i) => {
    // The new token's life starts when it arrives, after the refresh began inside the old one's window.
    assert.ok(expiresAt - sorted[i]! >= lifetimeMs - windowMs, `generation ${i + 1} replaced too early`);
  });
  assert.ok(late.includes(false), "a refresh replaced its token while it was still usable");
  for (const at of waits) {
    // A waiter's invocation ends after the token it waited for arrived (at expiry − L).
    const generation = sorted.findLastIndex((expiresAt) => expiresAt - lifetimeMs <= at);
    assert.ok(
      generation >= 1 && late[generation - 1] === true,
      `an invocation waited for another's mint in generation ${generation}, whose refresh was not late`,
    );
  }
  assert.equal(fleet.lambda.counters(fleet.name).errors, 0);
});

test("the lease holder's container is killed mid-mint: another container takes over and every caller gets a token", async () => {
  // Without a takeover the waiters would wait for the dead holder until their deadline and fail
  // (TokenUnavailableError, or Sandbox.Timedout past the invocation timeout): every caller getting a
  // token proves it, however long a loaded machine takes.
  fleet = await stack.startFleet({ containers: 4, environment: { LEASE_SECONDS: "2" } });
  const running = fleet;
  stack.rotation.genesys.faults.latencyByPathPrefix = { "/oauth/token": 5000 };
  const holderCall = running.token();
  holderCall.catch(() => undefined);
  // Wait until the holder's token request is at Genesys, then let later requests through at once.
  await until(() => stack.rotation.genesys.counters.requests("POST /oauth/token") >= 1, 120_000);
  stack.rotation.genesys.faults.latencyByPathPrefix = {};
  const holder = running.lambda.counters(running.name).perContainer.findIndex((n) => n > 0);

  const waiters = Array.from({ length: 12 }, () => running.token());
  await delay(300);
  await running.lambda.killContainer(running.name, holder);
  await assert.rejects(holderCall, (error: Error & { errorType?: string }) => {
    assert.equal(error.errorType, "Runtime.ExitError");
    return true;
  });
  const answers = await Promise.all(waiters);
  assert.equal(new Set(answers.map((answer: VendingResponse) => answer.accessToken)).size, 1);
  // The dead holder's request may still have been answered by Genesys; the takeover minted once.
  assert.ok(tokenRequests() <= 2, `${tokenRequests()} token requests`);
  assert.equal((await stack.readItem("reporting"))?.generation, 1);
});

test("DynamoDB outage mid-run: every invocation still succeeds, and the shared cache resumes after it", async (t) => {
  const lifetimeSeconds = 6; // short, so L1 tokens expire during the outage and containers must mint directly
  const containers = 4;
  stack.rotation.genesys.faults.tokenLifetimeSeconds = lifetimeSeconds;
  fleet = await stack.startFleet({ containers });
  const running = fleet;
  await running.token();
  const failures: unknown[] = [];
  let calls = 0;
  const traffic = async (durationMs: number) => {
    const end = Date.now() + durationMs;
    await Promise.all(
      Array.from({ length: containers - 1 }, async () => {
        while (Date.now() < end) {
          calls++;
          await running.token().catch((error: unknown) => failures.push(error));
          await delay(50);
        }
      }),
    );
  };
  await traffic(3000);
  const generationBefore = (await stack.readItem("reporting"))?.generation ?? 0;
  stack.dynamoDb.outage.begin("refuse");
  const mintsBefore = stack.rotation.genesys.counters.mints();
  const outageMs = 2 * lifetimeSeconds * 1000;
  await traffic(outageMs);
  const outageMints = stack.rotation.genesys.counters.mints() - mintsBefore;
  stack.dynamoDb.outage.end();
  await traffic(1.5 * lifetimeSeconds * 1000);

  t.diagnostic(`${calls} calls, ${outageMints} direct mints during the outage`);
  assert.deepEqual(failures, []);
  // Each container minted on its own (single-flight within it), about once per token generation.
  const generationSpanMs = lifetimeSeconds * 1000 - refreshAheadWindowMs(lifetimeSeconds * 1000);
  assert.ok(outageMints >= 1);
  assert.ok(outageMints <= containers * (Math.ceil(outageMs / generationSpanMs) + 1), `${outageMints} mints`);
  const after = await stack.readItem("reporting");
  assert.ok((after?.generation ?? 0) > generationBefore, "tokens are written to DynamoDB again");
  assert.match(running.output(), /DynamoDB available again/);
});

/** How many mint attempts failed in the containers whose log is `output` ("Token mint failed"). */
function failedMintAttempts(output: string): number {
  return output.split("\n").filter((line) => line.includes("Token mint failed")).length;
}

/**
 * When invocations waited for a lease: the EMF `Timestamp` (epoch ms, written as the invocation ends) of
 * every Embedded Metric Format line in `output` whose `LeaseWaits` is positive, once per wait.
 */
function leaseWaits(output: string): number[] {
  const at: number[] = [];
  for (const line of output.split("\n")) {
    if (!line.includes('"_aws"')) continue;
    const record = JSON.parse(line) as { _aws: { Timestamp: number }; LeaseWaits?: number | number[] };
    for (const n of [record.LeaseWaits ?? []].flat()) {
      for (let i = 0; i < n; i++) at.push(record._aws.Timestamp);
    }
  }
  return at;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(20);
  }
}
