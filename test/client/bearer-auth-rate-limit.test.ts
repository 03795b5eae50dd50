/**
 * `bearerAuth({ retryRateLimited })`: the undici interceptor's opt-in retry of Genesys API `429`s through
 * the one policy (lambda/client/rate-limit.ts): off by default, waits what `Retry-After` asks (on a clock
 * the test controls), hands back the last `429` with its body once the budget is spent, leaves
 * non-idempotent methods, unreplayable bodies and other origins alone, and still replays a `401` inside
 * a retry. The API is the local stand-in of test/client/harness.ts.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { Agent, type Dispatcher, request } from "undici";
import {
  bearerAuth,
  type GetTokenOptions,
  type TokenSource,
  ValidationError,
  type VendedToken,
} from "../../lambda/client/index.ts";
import type { RateLimitRetry } from "../../lambda/client/rate-limit.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { type ApiStandIn, standInToken, startApiStandIn } from "./harness.ts";

const START = Date.parse("2026-12-05T12:00:00.000Z");

/** A TokenSource for `apiBaseUrl`: `first` until it is reported, then `second`; counts reports. */
function scriptedSource(apiBaseUrl: string): TokenSource & { reports: string[]; calls: number } {
  const token = (accessToken: string): VendedToken => standInToken(accessToken, apiBaseUrl);
  const source = {
    reports: [] as string[],
    calls: 0,
    async getToken(options: GetTokenOptions = {}): Promise<VendedToken> {
      source.calls += 1;
      if (options.rejectedToken !== undefined) source.reports.push(options.rejectedToken);
      return token(source.reports.includes("rate-limit-first") ? "rate-limit-second" : "rate-limit-first");
    },
    invalidate() {},
  };
  return source;
}

describe("bearerAuth retryRateLimited (undici interceptor)", () => {
  let api: ApiStandIn;
  let elsewhere: ApiStandIn;
  let agent: Agent;

  before(async () => {
    [api, elsewhere] = await Promise.all([startApiStandIn(), startApiStandIn()]);
    agent = new Agent();
  });
  after(async () => {
    await agent?.close();
    await Promise.all([api?.stop(), elsewhere?.stop()]);
  });
  beforeEach(() => {
    api.reset();
    elsewhere.reset();
  });

  function dispatcher(
    source: TokenSource,
    retryRateLimited?: RateLimitRetry,
    origins?: string[],
  ): Dispatcher {
    return agent.compose(bearerAuth({ provider: source, retryRateLimited, origins }));
  }

  it("delivers a 429 as is by default", async () => {
    api.throttleNext = 1;
    const response = await request(`${api.url}/api/v2/users/me`, {
      dispatcher: dispatcher(scriptedSource(api.url)),
    });
    assert.equal(response.statusCode, 429);
    assert.equal(response.headers["retry-after"], "1");
    assert.deepEqual(await response.body.json(), { status: 429, code: "too.many.requests.retry.after" });
    assert.equal(api.seen.length, 1);
  });

  it("retries a GET after each Retry-After, with the token, and streams the answer that is not a 429", async () => {
    const clock = new SteppingClock(START);
    api.throttleNext = 2;
    api.retryAfterSeconds = 3;
    const response = await request(`${api.url}/api/v2/organizations/me`, {
      dispatcher: dispatcher(scriptedSource(api.url), { clock }),
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(await response.body.json(), { id: "org-1", name: "Example Org", state: "active" });
    assert.equal(api.seen.length, 3);
    assert.ok(api.seen.every((seen) => seen.authorization === "Bearer rate-limit-first"));
    assert.deepEqual(clock.sleeps, [3_000, 3_000]);
  });

  it("stops within its budget and delivers the last 429 with its headers and body", async () => {
    const clock = new SteppingClock(START);
    api.throttleNext = 10;
    const response = await request(`${api.url}/api/v2/users/me`, {
      dispatcher: dispatcher(scriptedSource(api.url), { clock, maxRetries: 2 }),
    });
    assert.equal(response.statusCode, 429);
    assert.equal(response.headers["retry-after"], "1");
    assert.deepEqual(await response.body.json(), { status: 429, code: "too.many.requests.retry.after" });
    assert.equal(api.seen.length, 3);
    assert.deepEqual(clock.sleeps, [1_000, 1_000]);
  });

  it("does not wait for a Retry-After longer than maxWaitMs", async () => {
    const clock = new SteppingClock(START);
    api.throttleNext = 1;
    api.retryAfterSeconds = 120;
    const response = await request(`${api.url}/api/v2/users/me`, {
      dispatcher: dispatcher(scriptedSource(api.url), { clock }),
    });
    assert.equal(response.statusCode, 429);
    await response.body.dump();
    assert.deepEqual(clock.sleeps, []);
  });

  it("leaves a POST alone unless its method is listed, then resends the same body", async () => {
    const clock = new SteppingClock(START);
    api.throttleNext = 1;
    const refused = await request(`${api.url}/api/v2/groups`, {
      method: "POST",
      body: '{"name":"x"}',
      dispatcher: dispatcher(scriptedSource(api.url), { clock }),
    });
    assert.equal(refused.statusCode, 429);
    await refused.body.dump();
    assert.equal(api.seen.length, 1);

    api.seen.length = 0;
    api.throttleNext = 1;
    const accepted = await request(`${api.url}/api/v2/groups`, {
      method: "POST",
      body: '{"name":"x"}',
      dispatcher: dispatcher(scriptedSource(api.url), { clock, methods: ["POST"] }),
    });
    assert.equal(accepted.statusCode, 200);
    assert.deepEqual(await accepted.body.json(), {
      method: "POST",
      path: "/api/v2/groups",
      body: '{"name":"x"}',
    });
    assert.deepEqual(
      api.seen.map((seen) => seen.body),
      ['{"name":"x"}', '{"name":"x"}'],
    );
  });

  it("does not retry a streamed body", async () => {
    const clock = new SteppingClock(START);
    api.throttleNext = 1;
    const response = await request(`${api.url}/api/v2/users/me`, {
      method: "PUT",
      body: Readable.from(["{}"]),
      dispatcher: dispatcher(scriptedSource(api.url), { clock }),
    });
    assert.equal(response.statusCode, 429);
    await response.body.dump();
    assert.equal(api.seen.length, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it("does not retry a request for another origin, which carries no token", async () => {
    const clock = new SteppingClock(START);
    elsewhere.throttleNext = 1;
    const source = scriptedSource(api.url);
    const response = await request(`${elsewhere.url}/api/v2/users/me`, {
      dispatcher: dispatcher(source, { clock }, [api.url]),
    });
    assert.equal(response.statusCode, 429);
    await response.body.dump();
    assert.equal(elsewhere.seen.length, 1);
    assert.equal(elsewhere.seen[0]?.authorization, undefined);
    assert.equal(source.calls, 0, "no token lookup for another origin");
  });

  it("replays a 401 met by a retry: one report, the caller sees the 200", async () => {
    const clock = new SteppingClock(START);
    const source = scriptedSource(api.url);
    api.throttleNext = 1;
    api.revoked.add("rate-limit-first");
    const response = await request(`${api.url}/api/v2/organizations/me`, {
      dispatcher: dispatcher(source, { clock }),
    });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    assert.deepEqual(source.reports, ["rate-limit-first"]);
    assert.deepEqual(
      api.seen.map((seen) => seen.authorization),
      ["Bearer rate-limit-first", "Bearer rate-limit-first", "Bearer rate-limit-second"],
    );
  });

  it("stops waiting when the caller aborts, with the caller's reason", async () => {
    const controller = new AbortController();
    const clock = new (class extends SteppingClock {
      override sleep(ms: number, signal?: AbortSignal): Promise<void> {
        controller.abort(new Error("caller gave up"));
        return super.sleep(ms, signal);
      }
    })(START);
    api.throttleNext = 1;
    await assert.rejects(
      request(`${api.url}/api/v2/users/me`, {
        signal: controller.signal,
        dispatcher: dispatcher(scriptedSource(api.url), { clock }),
      }),
      /caller gave up/,
    );
    assert.equal(api.seen.length, 1);
  });

  it("refuses bad options when composed, naming the field", () => {
    assert.throws(
      () => bearerAuth({ provider: scriptedSource(api.url), retryRateLimited: { maxRetries: -1 } }),
      (error: unknown) =>
        error instanceof ValidationError && /bearerAuth.*retryRateLimited\.maxRetries/s.test(error.message),
    );
  });
});
