/**
 * The axios adapter (`genesys-oauth-rotator/client/axios`, lambda/client/axios.ts): the bearer token on
 * the token's API origin only (relative URLs resolved as the instance resolves them), other origins
 * untouched; 401 → one report (shared by concurrent 401s of one token) → replay, at most twice, never a
 * loop; unreplayable bodies; the opt-in 429 retry (on a clock the test controls); the caller's abort; the
 * token redacted from what axios hands back; detaching. The vendor is the fake vendor in the Lambda
 * emulator; the API is the local stand-in of test/client/harness.ts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import axios, { AxiosError } from "axios";
import { attachGenesysAuth, isReplayableData } from "../../lambda/client/axios.ts";
import {
  type GetTokenOptions,
  TokenProvider,
  type TokenSource,
  UnknownCredentialError,
  ValidationError,
  type VendedToken,
} from "../../lambda/client/index.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  type ApiStandIn,
  type FakeVendorHarness,
  standInToken,
  startApiStandIn,
  startFakeVendorHarness,
} from "./harness.ts";

const START = Date.parse("2026-12-05T12:00:00.000Z");

describe("attachGenesysAuth (axios)", () => {
  let harness: FakeVendorHarness;
  let api: ApiStandIn;
  let elsewhere: ApiStandIn;
  let vendorName: string;
  let counter = 0;

  before(async () => {
    [harness, api, elsewhere] = await Promise.all([
      startFakeVendorHarness(),
      startApiStandIn(),
      startApiStandIn(),
    ]);
  });
  after(async () => {
    await Promise.all([harness?.stop(), api?.stop(), elsewhere?.stop()]);
  });
  beforeEach(async () => {
    counter += 1;
    vendorName = `fake-vendor-axios-${counter}`;
    await harness.register(vendorName, { FAKE_VENDOR_API_BASE_URL: api.url });
    api.reset();
    elsewhere.reset();
  });

  function provider(): TokenProvider {
    return new TokenProvider({
      functionName: vendorName,
      lambdaClient: harness.lambdaClient,
      // Not about the invoke timeout: on a loaded machine an attempt may take over the default 10 s, and
      // its retry would count as an invocation.
      invokeTimeoutMs: 120_000,
    });
  }

  describe("the token goes to its API origin only", () => {
    it("resolves a path against apiBaseUrl, replaces the caller's Authorization, keeps the instance's defaults", async () => {
      const tokens = provider();
      const instance = axios.create({ headers: { "x-default": "kept" } });
      attachGenesysAuth(instance, { provider: tokens });
      const response = await instance.get("/api/v2/organizations/me", {
        headers: { Authorization: "Bearer stale" },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(response.data, { id: "org-1", name: "Example Org", state: "active" });
      const token = await tokens.getToken();
      assert.equal(api.seen[0]?.authorization, `Bearer ${token.accessToken}`);
      assert.equal(response.config.headers.Authorization, "Bearer [redacted]");
      assert.doesNotMatch(JSON.stringify(response.config), new RegExp(token.accessToken));
    });

    it("resolves a relative URL with the instance's baseURL", async () => {
      const tokens = provider();
      const instance = axios.create({ baseURL: `${api.url}/api/v2/` });
      attachGenesysAuth(instance, { provider: tokens });
      const response = await instance.get("organizations/me");
      assert.equal(response.status, 200);
      assert.equal(api.seen[0]?.path, "/api/v2/organizations/me");
      assert.equal(api.seen[0]?.authorization, `Bearer ${(await tokens.getToken()).accessToken}`);
    });

    it("leaves a request for another origin untouched: no token, the caller's own header kept", async () => {
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: provider() });
      const absolute = await instance.get(`${elsewhere.url}/next-page`, {
        headers: { Authorization: "Basic theirs" },
        validateStatus: () => true,
      });
      assert.equal(absolute.status, 200);
      const viaBase = axios.create({ baseURL: elsewhere.url });
      attachGenesysAuth(viaBase, { provider: provider() });
      await viaBase.get("/next-page", { validateStatus: () => true });
      assert.deepEqual(
        elsewhere.seen.map((seen) => seen.authorization),
        ["Basic theirs", undefined],
      );
      assert.equal(api.seen.length, 0);
    });

    it("with origins, other hosts pass without a token lookup, even while the vendor is down", async () => {
      const source = countingSource(api.url);
      source.down = true;
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: source, origins: [api.url] });
      const response = await instance.get(`${elsewhere.url}/public`, { validateStatus: () => true });
      assert.equal(response.status, 401, "the stand-in's answer to a request without a token");
      assert.equal(source.calls, 0);
      assert.equal(elsewhere.seen[0]?.authorization, undefined);
    });

    it("refuses an origins entry that is not an absolute URL", () => {
      assert.throws(
        () =>
          attachGenesysAuth(axios.create(), { provider: countingSource(api.url), origins: ["api.example"] }),
        (error: unknown) => error instanceof ValidationError && /origins/.test(error.message),
      );
    });

    it("detaching removes both interceptors", async () => {
      const instance = axios.create({ baseURL: api.url });
      const detach = attachGenesysAuth(instance, { provider: provider() });
      detach();
      const response = await instance.get("/api/v2/organizations/me", { validateStatus: () => true });
      assert.equal(response.status, 401);
      assert.equal(api.seen[0]?.authorization, undefined);
    });
  });

  describe("401: reported once, replayed, never looped", () => {
    it("reports the token and replays a POST with its JSON body once", async () => {
      const tokens = provider();
      const first = await tokens.getToken();
      api.revoked.add(first.accessToken);
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: tokens });
      const response = await instance.post("/api/v2/things", { a: 1 });
      assert.equal(response.status, 200);
      assert.deepEqual(response.data, { method: "POST", path: "/api/v2/things", body: '{"a":1}' });
      assert.equal(api.seen.length, 2);
      assert.equal(api.seen[0]?.authorization, `Bearer ${first.accessToken}`);
      assert.notEqual(api.seen[1]?.authorization, `Bearer ${first.accessToken}`);
      assert.equal(api.seen[1]?.body, '{"a":1}');
      assert.equal(harness.invocations(vendorName), 2, "the first vend and one report");
    });

    it("also when validateStatus accepts the 401 (the answer comes through the fulfilled path)", async () => {
      const tokens = provider();
      api.revoked.add((await tokens.getToken()).accessToken);
      const instance = axios.create({ validateStatus: () => true });
      attachGenesysAuth(instance, { provider: tokens });
      const response = await instance.get("/api/v2/organizations/me");
      assert.equal(response.status, 200);
      assert.equal(api.seen.length, 2);
    });

    it("concurrent 401s of one token cause one report, and every request succeeds", async () => {
      const tokens = provider();
      const first = await tokens.getToken();
      api.revoked.add(first.accessToken);
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: tokens });
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => instance.get("/api/v2/organizations/me")),
      );
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(8).fill(200),
      );
      assert.equal(harness.invocations(vendorName), 2, "the first vend and ONE report for the 8 401s");
    });

    it("a persistent 401 is handed back after at most two replays, without the token in the error", async () => {
      const tokens = provider();
      await tokens.getToken();
      api.rejectEverything = true;
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: tokens });
      const error = await instance.get("/api/v2/organizations/me").then(
        () => assert.fail("expected a 401"),
        (rejection: unknown) => rejection,
      );
      assert.ok(error instanceof AxiosError);
      assert.equal(error.response?.status, 401);
      assert.equal(api.seen.length, 3, "two replays, not more");
      assert.equal(harness.invocations(vendorName), 3, "two reports, not more");
      const issued = api.seen.map((seen) => seen.authorization?.replace(/^Bearer /, "") ?? "");
      const serialised = JSON.stringify(error.toJSON());
      for (const token of issued) assert.ok(!serialised.includes(token), "no token in error.toJSON()");
      assert.equal(error.config?.headers.Authorization, "Bearer [redacted]");
    });

    it("does not replay a streamed body; the token is invalidated for the next request", async () => {
      const tokens = provider();
      const first = await tokens.getToken();
      api.revoked.add(first.accessToken);
      const instance = axios.create({ validateStatus: () => true });
      attachGenesysAuth(instance, { provider: tokens });
      const response = await instance.post("/api/v2/things", Readable.from(["streamed"]));
      assert.equal(response.status, 401);
      assert.equal(api.seen.length, 1);
      assert.notEqual((await tokens.getToken()).accessToken, first.accessToken);
    });

    it("surfaces the vendor's typed error and sends nothing", async () => {
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: provider(), credential: "fail-UnknownCredentialError" });
      await assert.rejects(instance.get("/api/v2/organizations/me"), UnknownCredentialError);
      assert.equal(api.seen.length, 0);
    });

    it("an abort while waiting for the token ends in axios' own CanceledError; nothing is sent", async () => {
      const source: TokenSource = {
        getToken: () => new Promise<VendedToken>(() => {}),
        invalidate() {},
      };
      const instance = axios.create({ baseURL: api.url });
      attachGenesysAuth(instance, { provider: source });
      const controller = new AbortController();
      const pending = instance.get("/api/v2/organizations/me", { signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, (error: unknown) => axios.isCancel(error));
      assert.equal(api.seen.length, 0);
    });
  });

  describe("429: retried only when asked", () => {
    it("hands a 429 back by default", async () => {
      api.throttleNext = 1;
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: countingSource(api.url) });
      await assert.rejects(
        instance.get("/api/v2/users/me"),
        (error: unknown) => error instanceof AxiosError && error.response?.status === 429,
      );
      assert.equal(api.seen.length, 1);
    });

    it("retries a GET after each Retry-After and returns the answer that is not a 429", async () => {
      const clock = new SteppingClock(START);
      api.throttleNext = 2;
      api.retryAfterSeconds = 3;
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: countingSource(api.url), retryRateLimited: { clock } });
      const response = await instance.get("/api/v2/organizations/me");
      assert.equal(response.status, 200);
      assert.equal(api.seen.length, 3);
      assert.deepEqual(clock.sleeps, [3_000, 3_000]);
    });

    it("stops within its budget and hands back the last 429", async () => {
      const clock = new SteppingClock(START);
      api.throttleNext = 10;
      const instance = axios.create();
      attachGenesysAuth(instance, {
        provider: countingSource(api.url),
        retryRateLimited: { clock, maxRetries: 2 },
      });
      await assert.rejects(
        instance.get("/api/v2/users/me"),
        (error: unknown) => error instanceof AxiosError && error.response?.status === 429,
      );
      assert.equal(api.seen.length, 3);
      assert.deepEqual(clock.sleeps, [1_000, 1_000]);
    });

    it("leaves a POST alone unless listed, then resends its body", async () => {
      const clock = new SteppingClock(START);
      const instance = axios.create({ validateStatus: () => true });
      attachGenesysAuth(instance, { provider: countingSource(api.url), retryRateLimited: { clock } });
      api.throttleNext = 1;
      assert.equal((await instance.post("/api/v2/groups", { name: "x" })).status, 429);
      assert.equal(api.seen.length, 1);

      const listed = axios.create();
      attachGenesysAuth(listed, {
        provider: countingSource(api.url),
        retryRateLimited: { clock, methods: ["POST"] },
      });
      api.seen.length = 0;
      api.throttleNext = 1;
      assert.equal((await listed.post("/api/v2/groups", { name: "x" })).status, 200);
      assert.deepEqual(
        api.seen.map((seen) => seen.body),
        ['{"name":"x"}', '{"name":"x"}'],
      );
    });

    it("stops waiting when the caller aborts: axios' CanceledError", async () => {
      const controller = new AbortController();
      const clock = new (class extends SteppingClock {
        override sleep(ms: number, signal?: AbortSignal): Promise<void> {
          controller.abort();
          return super.sleep(ms, signal);
        }
      })(START);
      api.throttleNext = 1;
      const instance = axios.create();
      attachGenesysAuth(instance, { provider: countingSource(api.url), retryRateLimited: { clock } });
      await assert.rejects(
        instance.get("/api/v2/users/me", { signal: controller.signal }),
        (error: unknown) => axios.isCancel(error),
      );
      assert.equal(api.seen.length, 1);
    });
  });

  it("knows which bodies axios can send twice", () => {
    for (const body of [undefined, null, "text", { a: 1 }, [1], new Uint8Array(1), new ArrayBuffer(1)]) {
      assert.equal(isReplayableData(body), true, String(body));
    }
    for (const body of [new URLSearchParams("a=1"), new Blob(["x"]), new FormData()]) {
      assert.equal(isReplayableData(body), true, body.constructor.name);
    }
    const generator = (async function* () {})();
    for (const body of [Readable.from(["x"]), new ReadableStream(), generator]) {
      assert.equal(isReplayableData(body), false, body.constructor.name);
    }
  });

  it("the module only imports types from axios, so loading it never loads axios", () => {
    const source = readFileSync(new URL("../../lambda/client/axios.ts", import.meta.url), "utf8");
    const fromAxios = [...source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"axios";/gms)];
    assert.ok(fromAxios.length > 0);
    assert.ok(
      fromAxios.every((match) => match[1] !== undefined),
      "every import from axios is `import type`",
    );
    const index = readFileSync(new URL("../../lambda/client/index.ts", import.meta.url), "utf8");
    assert.doesNotMatch(index, /axios/, "the main client entry does not re-export the axios adapter");
  });
});

/** A TokenSource for the API stand-in at `apiBaseUrl`; `down` makes every lookup fail. */
function countingSource(apiBaseUrl: string): TokenSource & { calls: number; down: boolean } {
  const source = {
    calls: 0,
    down: false,
    async getToken(_options?: GetTokenOptions): Promise<VendedToken> {
      source.calls += 1;
      if (source.down) throw new Error("the vendor is down");
      return standInToken("axios-test-token", apiBaseUrl);
    },
    invalidate() {},
  };
  return source;
}
