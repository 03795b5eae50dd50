/**
 * The vending function as a fleet: the real handler module in the Lambda emulator, each container an
 * isolated worker with its own module scope (L1), against the Genesys and Secrets Manager emulators
 * and DynamoDB Local. Real time throughout, with short token lifetimes.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { VendingResponse } from "../../lambda/vending/handler.ts";
import { refreshAheadWindowMs } from "../../lambda/vending/token-cache.ts";
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

test("cold fleet, 8 containers × 25 concurrent invocations: exactly one token request reaches Genesys", async () => {
  fleet = await stack.startFleet({ containers: 8 });
  const started = fleet;
  const answers = await Promise.all(Array.from({ length: 200 }, () => started.token()));
  assert.equal(new Set(answers.map((answer) => answer.accessToken)).size, 1);
  assert.equal(tokenRequests(), 1);
  const counters = fleet.lambda.counters(fleet.name);
  assert.equal(counters.errors, 0);
  assert.equal(counters.perContainer.filter((n) => n > 0).length, 8, "every container served");
});

test("refresh-ahead over several lifetimes: one mint per generation; only the lease holder waits for it", async (t) => {
  // W = 3 s for a 12 s token (M = 0.6 s): a 1 s mint finishes well inside the window even on a busy
  // machine, as a real mint (≪ 1 s) does inside Genesys' shortest window (75 s).
  const lifetimeSeconds = 12;
  const latencyMs = 1000;
  stack.rotation.genesys.faults.tokenLifetimeSeconds = lifetimeSeconds;
  // Metrics on: each container's EMF lines say whether any invocation waited for a lease (LeaseWaits).
  fleet = await stack.startFleet({ containers: 8, environment: { POWERTOOLS_METRICS_DISABLED: "false" } });
  const running = fleet;
  await running.token(); // the first token (nothing to serve meanwhile)
  // Start every container now: a cold start (≈1 s for a worker) must not pass for a wait on a mint.
  await Promise.all(Array.from({ length: 8 }, () => running.token()));
  assert.equal(running.lambda.counters(running.name).coldStarts, 8);
  const mintsBefore = stack.rotation.genesys.counters.mints();
  stack.rotation.genesys.faults.latencyByPathPrefix = { "/oauth/token": latencyMs };

  // 7 sequential callers for 8 containers: a free container always exists, so no call queues behind
  // the lease holder and a slow answer can only come from waiting for Genesys.
  const horizonMs = 2.5 * lifetimeSeconds * 1000;
  const end = Date.now() + horizonMs;
  const durations: number[] = [];
  const served = new Set<string>();
  await Promise.all(
    Array.from({ length: 7 }, async () => {
      while (Date.now() < end) {
        const startedAt = performance.now();
        const answer = await running.token();
        durations.push(performance.now() - startedAt);
        served.add(answer.accessToken);
        assert.ok(answer.expiresInSeconds >= 0);
        await delay(50);
      }
    }),
  );
  const mints = stack.rotation.genesys.counters.mints() - mintsBefore;
  const lifetimeMs = lifetimeSeconds * 1000;
  const generationSpan = lifetimeMs - refreshAheadWindowMs(lifetimeMs);
  const slow = durations.filter((ms) => ms >= latencyMs);
  const leaseWaits = emfSum(running.output(), "LeaseWaits");
  t.diagnostic(
    `${durations.length} calls, ${mints} refreshes, ${slow.length} calls took ≥ ${latencyMs} ms, ${leaseWaits} lease waits`,
  );
  // One mint per generation. A generation lasts L − W plus the holder's mint latency (the new token's
  // life starts when it arrives): at least one per (L + latency), at most one per (L − W), +1 at a boundary.
  assert.ok(mints >= Math.floor(horizonMs / (lifetimeMs + latencyMs)), `${mints} refreshes`);
  assert.ok(mints <= Math.ceil(horizonMs / generationSpan) + 1, `${mints} refreshes`);
  assert.equal(tokenRequests(), mints + 1, "no failed or duplicate token request");
  assert.equal(leaseWaits, 0, "no invocation waited for another's mint");
  assert.ok(
    slow.length <= mints,
    `only the lease holders took as long as a mint (${slow.length} for ${mints})`,
  );
  assert.ok(served.size >= mints, "every refreshed token was served");
  assert.equal(fleet.lambda.counters(fleet.name).errors, 0);
});

test("the lease holder's container is killed mid-mint: another container takes over and every caller gets a token", async () => {
  const timeoutMs = 15_000;
  fleet = await stack.startFleet({ containers: 4, timeoutMs, environment: { LEASE_SECONDS: "2" } });
  const running = fleet;
  stack.rotation.genesys.faults.latencyByPathPrefix = { "/oauth/token": 5000 };
  const holderCall = running.token();
  holderCall.catch(() => undefined);
  // Wait until the holder's token request is at Genesys, then let later requests through at once.
  await until(() => stack.rotation.genesys.counters.requests("POST /oauth/token") >= 1, 10_000);
  stack.rotation.genesys.faults.latencyByPathPrefix = {};
  const holder = running.lambda.counters(running.name).perContainer.findIndex((n) => n > 0);

  const startedAt = Date.now();
  const waiters = Array.from({ length: 12 }, () => running.token());
  await delay(300);
  await running.lambda.killContainer(running.name, holder);
  await assert.rejects(holderCall, (error: Error & { errorType?: string }) => {
    assert.equal(error.errorType, "Runtime.ExitError");
    return true;
  });
  const answers = await Promise.all(waiters);
  assert.equal(new Set(answers.map((answer: VendingResponse) => answer.accessToken)).size, 1);
  assert.ok(Date.now() - startedAt < timeoutMs, "within the callers' deadline");
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

/** Sums one metric over the Embedded Metric Format lines in `output` (a value may be a list). */
function emfSum(output: string, metric: string): number {
  let sum = 0;
  for (const line of output.split("\n")) {
    if (!line.includes('"_aws"')) continue;
    const value = (JSON.parse(line) as Record<string, unknown>)[metric];
    for (const n of [value].flat()) if (typeof n === "number") sum += n;
  }
  return sum;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(20);
  }
}
