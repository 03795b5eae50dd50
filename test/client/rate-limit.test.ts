/**
 * The opt-in retry of Genesys API `429`s (lambda/client/rate-limit.ts) and `genesysFetch`'s use of it:
 * waits what `Retry-After` asks, gives up within its retry and wait budgets, leaves non-idempotent
 * methods and unreplayable bodies alone, and is off unless asked for.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FetchFunction,
  genesysFetch,
  type TokenSource,
  ValidationError,
} from "../../lambda/client/index.ts";
import { RateLimitRetryPolicy } from "../../lambda/client/rate-limit.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { standInToken } from "./harness.ts";

const API = "https://api.mypurecloud.ie";
const START = Date.parse("2026-12-05T12:00:00.000Z");

const source: TokenSource = {
  async getToken() {
    return standInToken("rate-limit-test-token", API);
  },
  invalidate() {},
};

/** A fetch answering the given responses in turn (the last one repeats), recording each request. */
function scriptedFetch(
  ...answers: Array<() => Response>
): FetchFunction & { methods: string[]; bodies: unknown[] } {
  const methods: string[] = [];
  const bodies: unknown[] = [];
  const fetchFunction = async (_input: string | URL | Request, init?: RequestInit) => {
    methods.push(init?.method ?? "GET");
    bodies.push(init?.body);
    const answer = answers[Math.min(methods.length - 1, answers.length - 1)];
    assert.ok(answer);
    return answer();
  };
  return Object.assign(fetchFunction, { methods, bodies });
}

const tooMany = (retryAfter?: string) => () =>
  new Response('{"status":429}', {
    status: 429,
    headers: retryAfter === undefined ? {} : { "retry-after": retryAfter },
  });
const ok = () => new Response("{}", { status: 200 });

describe("RateLimitRetryPolicy", () => {
  it("is off unless asked for", () => {
    assert.equal(RateLimitRetryPolicy.from(undefined, "t"), undefined);
    assert.equal(RateLimitRetryPolicy.from(false, "t"), undefined);
    assert.ok(RateLimitRetryPolicy.from(true, "t"));
  });

  it("waits what Retry-After asks, in seconds or as an HTTP date", () => {
    const clock = new SteppingClock(START);
    const policy = RateLimitRetryPolicy.from({ clock }, "t");
    assert.equal(policy?.delayMs(0, "3", 0), 3_000);
    assert.equal(policy?.delayMs(0, new Date(START + 7_000).toUTCString(), 0), 7_000);
  });

  it("backs off with equal jitter when Retry-After is missing or unreadable", () => {
    const policy = RateLimitRetryPolicy.from({ clock: new SteppingClock(START), random: () => 0 }, "t");
    assert.equal(policy?.delayMs(0, null, 0), 500);
    assert.equal(policy?.delayMs(2, "soon-ish", 0), 2_000);
  });

  it("gives up after maxRetries, or when the wait would pass maxWaitMs", () => {
    const policy = RateLimitRetryPolicy.from(
      { clock: new SteppingClock(START), maxRetries: 2, maxWaitMs: 10_000 },
      "t",
    );
    assert.equal(policy?.delayMs(2, "1", 0), undefined);
    assert.equal(policy?.delayMs(1, "4", 6_001), undefined);
    assert.equal(policy?.delayMs(1, "4", 6_000), 4_000);
    assert.equal(policy?.delayMs(0, "11", 0), undefined);
  });

  it("covers idempotent methods by default, and the methods it is given", () => {
    const defaults = RateLimitRetryPolicy.from(true, "t");
    assert.deepEqual(
      ["GET", "head", "PUT", "DELETE", "OPTIONS", "POST", "PATCH"].map((method) =>
        defaults?.appliesTo(method),
      ),
      [true, true, true, true, true, false, false],
    );
    assert.equal(RateLimitRetryPolicy.from({ methods: ["post"] }, "t")?.appliesTo("POST"), true);
  });

  it("refuses bad options, naming the field", () => {
    assert.throws(
      () => RateLimitRetryPolicy.from({ maxRetries: -1 }, "genesysFetch"),
      (error: unknown) =>
        error instanceof ValidationError && /retryRateLimited\.maxRetries/.test(error.message),
    );
    assert.throws(
      () => RateLimitRetryPolicy.from({ maxWaitMs: 1.5 }, "genesysFetch"),
      (error: unknown) =>
        error instanceof ValidationError && /retryRateLimited\.maxWaitMs/.test(error.message),
    );
    assert.throws(
      () => RateLimitRetryPolicy.from({ methods: [""] }, "genesysFetch"),
      (error: unknown) => error instanceof ValidationError && /retryRateLimited\.methods/.test(error.message),
    );
  });
});

describe("genesysFetch retryRateLimited", () => {
  it("returns a 429 as is by default", async () => {
    const fetchFunction = scriptedFetch(tooMany("1"), ok);
    const response = await genesysFetch("/api/v2/users/me", {}, { provider: source, fetch: fetchFunction });
    assert.equal(response.status, 429);
    assert.equal(fetchFunction.methods.length, 1);
  });

  it("retries a GET after each Retry-After and returns the answer that is not a 429", async () => {
    const clock = new SteppingClock(START);
    const fetchFunction = scriptedFetch(tooMany("2"), tooMany("5"), ok);
    const response = await genesysFetch(
      "/api/v2/users/me",
      {},
      { provider: source, fetch: fetchFunction, retryRateLimited: { clock } },
    );
    assert.equal(response.status, 200);
    assert.equal(fetchFunction.methods.length, 3);
    assert.deepEqual(clock.sleeps, [2_000, 5_000]);
  });

  it("stops within its budget and hands back the last 429", async () => {
    const clock = new SteppingClock(START);
    const fetchFunction = scriptedFetch(tooMany("1"));
    const response = await genesysFetch(
      "/api/v2/users/me",
      {},
      { provider: source, fetch: fetchFunction, retryRateLimited: { clock, maxRetries: 2 } },
    );
    assert.equal(response.status, 429);
    assert.equal(fetchFunction.methods.length, 3);
    assert.deepEqual(clock.sleeps, [1_000, 1_000]);
  });

  it("does not wait for a Retry-After longer than maxWaitMs", async () => {
    const clock = new SteppingClock(START);
    const fetchFunction = scriptedFetch(tooMany("120"), ok);
    const response = await genesysFetch(
      "/api/v2/users/me",
      {},
      { provider: source, fetch: fetchFunction, retryRateLimited: { clock } },
    );
    assert.equal(response.status, 429);
    assert.deepEqual(clock.sleeps, []);
  });

  it("leaves a POST alone unless its method is listed, then resends the same body", async () => {
    const clock = new SteppingClock(START);
    const body = JSON.stringify({ name: "x" });
    const plain = scriptedFetch(tooMany("1"), ok);
    const refused = await genesysFetch(
      "/api/v2/groups",
      { method: "POST", body },
      { provider: source, fetch: plain, retryRateLimited: { clock } },
    );
    assert.equal(refused.status, 429);
    assert.equal(plain.methods.length, 1);

    const listed = scriptedFetch(tooMany("1"), ok);
    const accepted = await genesysFetch(
      "/api/v2/groups",
      { method: "POST", body },
      { provider: source, fetch: listed, retryRateLimited: { clock, methods: ["POST"] } },
    );
    assert.equal(accepted.status, 200);
    assert.deepEqual(listed.bodies, [body, body]);
  });

  it("does not retry a body that cannot be sent twice", async () => {
    const clock = new SteppingClock(START);
    const fetchFunction = scriptedFetch(tooMany("1"), ok);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("{}"));
        controller.close();
      },
    });
    const response = await genesysFetch(
      "/api/v2/users/me",
      { method: "PUT", body: stream, duplex: "half" } as RequestInit,
      { provider: source, fetch: fetchFunction, retryRateLimited: { clock } },
    );
    assert.equal(response.status, 429);
    assert.equal(fetchFunction.methods.length, 1);
  });

  it("stops waiting when the request's signal aborts", async () => {
    const controller = new AbortController();
    const clock = new SteppingClock(START);
    const fetchFunction = scriptedFetch(() => {
      controller.abort(new Error("caller gave up"));
      return tooMany("1")();
    }, ok);
    await assert.rejects(
      genesysFetch(
        "/api/v2/users/me",
        { signal: controller.signal },
        { provider: source, fetch: fetchFunction, retryRateLimited: { clock } },
      ),
      /caller gave up/,
    );
    assert.equal(fetchFunction.methods.length, 1);
  });
});
