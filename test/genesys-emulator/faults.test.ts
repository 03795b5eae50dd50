import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { ManualClock } from "../../lambda/shared/clock.ts";
import type { GenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import { ADMIN, api, json, mint, requestToken, startTestEmulator, TARGET } from "./support.ts";

describe("fault injection", () => {
  let emulator: GenesysEmulator & { clock: ManualClock };
  let adminToken: string;
  before(async () => {
    emulator = await startTestEmulator();
    adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
  });
  after(() => emulator.stop());
  beforeEach(() => {
    emulator.faults.reset();
    emulator.counters.reset();
  });

  const probe = async () => (await api(emulator.url, adminToken, "HEAD", "/api/v2/tokens/me")).status;

  it("API 429: Retry-After header and the normalised body, for the next N requests", async () => {
    emulator.faults.apiRateLimit.nextN = 2;
    emulator.faults.apiRateLimit.retryAfterSeconds = 42;
    const response = await api(emulator.url, adminToken, "GET", "/api/v2/organizations/me");
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "42");
    const correlationId = response.headers.get("inin-correlation-id");
    assert.deepEqual(await json(response), {
      message: "Rate limit exceeded the maximum. Retry the request in [42] seconds",
      code: "too.many.requests.retry.after",
      status: 429,
      contextId: correlationId,
      details: [],
      errors: [],
    });
    assert.equal(await probe(), 429);
    assert.equal(await probe(), 200);
    assert.equal(emulator.counters.errorsServed("api_429"), 2);
  });

  it("API 429 every Nth request, never on the token endpoint", async () => {
    emulator.faults.apiRateLimit.everyNth = 3;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await probe());
    assert.deepEqual(statuses, [200, 200, 429, 200, 200, 429]);
    emulator.faults.apiRateLimit.enabled = true;
    assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
  });

  it("5xx for the next N requests matching a target, with a Genesys-shaped body", async () => {
    emulator.faults.serverErrors = {
      nextN: 1,
      probability: 0,
      status: 503,
      target: { pathPrefix: "/oauth/token" },
    };
    assert.equal(await probe(), 200, "API not targeted");
    const response = await requestToken(emulator.url, ADMIN.id, ADMIN.secret);
    assert.equal(response.status, 503);
    const body = await json(response);
    assert.equal(body.code, "service.unavailable");
    assert.equal(body.status, 503);
    assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
    assert.equal(emulator.counters.errorsServed("5xx"), 1);
  });

  it("5xx by probability is deterministic for a given seed", async () => {
    const run = async () => {
      emulator.faults.reset();
      emulator.faults.seed(42);
      emulator.faults.serverErrors.probability = 0.5;
      emulator.faults.serverErrors.status = 500;
      const statuses = [];
      for (let i = 0; i < 12; i++) statuses.push(await probe());
      return statuses;
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(500) && first.includes(200), `mixed outcome expected, got ${first}`);
  });

  it("connection reset before processing: no response and no side effect", async () => {
    emulator.faults.connectionResets.nextN = 1;
    emulator.faults.connectionResets.target = { method: "POST", pathPrefix: "/api/v2/oauth/clients/" };
    await assert.rejects(api(emulator.url, adminToken, "POST", `/api/v2/oauth/clients/${TARGET.id}/secret`));
    assert.equal(emulator.state.getClient(TARGET.id)?.secretGeneration, 0);
    assert.equal(emulator.counters.errorsServed("reset"), 1);
    assert.equal(await probe(), 200, "later requests work");
  });

  it("connection reset after processing: the secret WAS regenerated but the caller never sees it", async () => {
    const before = emulator.state.getClient(TARGET.id)!;
    emulator.faults.connectionResets = {
      nextN: 1,
      probability: 0,
      afterProcessing: true,
      target: { method: "POST" },
    };
    await assert.rejects(api(emulator.url, adminToken, "POST", `/api/v2/oauth/clients/${TARGET.id}/secret`));
    const now = emulator.state.getClient(TARGET.id)!;
    assert.equal(now.secretGeneration, before.secretGeneration + 1);
    assert.equal((await requestToken(emulator.url, TARGET.id, before.secret)).status, 400);
  });

  it("adds wall-clock latency globally and per path prefix", async () => {
    emulator.faults.latencyByPathPrefix = { "/oauth/token": 150 };
    let started = performance.now();
    assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
    assert.ok(performance.now() - started >= 140, "token endpoint delayed");
    emulator.faults.latencyByPathPrefix = {};
    emulator.faults.latencyMs = 100;
    started = performance.now();
    assert.equal(await probe(), 200);
    assert.ok(performance.now() - started >= 90, "API delayed");
  });

  it("reset() restores the defaults", () => {
    emulator.faults.apiRateLimit.enabled = true;
    emulator.faults.latencyMs = 5;
    emulator.faults.reset();
    assert.equal(emulator.faults.apiRateLimit.enabled, false);
    assert.equal(emulator.faults.latencyMs, 0);
    assert.equal(emulator.faults.tokensSurviveRegeneration, true);
  });
});
