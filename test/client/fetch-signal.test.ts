/**
 * `genesysFetch` honours the request's abort signal while it waits for a token, as `fetch` would: it
 * rejects with the signal's reason and sends nothing, also with a token source that ignores `signal`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FetchFunction,
  type GetTokenOptions,
  genesysFetch,
  type TokenSource,
  type VendedToken,
} from "../../lambda/client/index.ts";
import { standInToken } from "./harness.ts";

const API = "https://api.mypurecloud.ie";

/** A token source whose lookups wait until `release()`; it records the options and ignores `signal`. */
function slowSource(): TokenSource & { seen: GetTokenOptions[]; release(): void } {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const source = {
    seen: [] as GetTokenOptions[],
    async getToken(options: GetTokenOptions = {}): Promise<VendedToken> {
      source.seen.push(options);
      await released;
      return standInToken("fetch-signal-token", API);
    },
    invalidate() {},
    release: () => release(),
  };
  return source;
}

/** A fetch that records what would have been sent and answers 200. */
function recordingFetch(): FetchFunction & { calls: number } {
  const fetchFunction = Object.assign(
    async () => {
      fetchFunction.calls += 1;
      return new Response("{}", { status: 200 });
    },
    { calls: 0 },
  );
  return fetchFunction;
}

/** Lets pending promise callbacks and I/O callbacks run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether `promise` has settled (and handles its rejection), without waiting for it. */
function settled(promise: Promise<unknown>): { done: boolean } {
  const state = { done: false };
  promise.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
}

describe("genesysFetch with an abort signal", () => {
  it("rejects with an AbortError when init.signal is aborted while it waits for a token; nothing is sent", async () => {
    const provider = slowSource();
    const fetch = recordingFetch();
    const controller = new AbortController();
    const call = genesysFetch("/api/v2/users/me", { signal: controller.signal }, { provider, fetch });
    const state = settled(call);
    await tick();
    assert.equal(state.done, false, "still waiting for the token");
    assert.equal(provider.seen[0]?.signal, controller.signal, "the signal is passed on to the token source");

    controller.abort();
    await tick();
    assert.equal(state.done, true, "rejected as soon as the signal aborted, token or not");
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof DOMException);
      assert.equal(error.name, "AbortError");
      return true;
    });
    provider.release();
    await tick();
    assert.equal(fetch.calls, 0, "the request was never sent, not even once the token arrived");
  });

  it("rejects with the caller's own abort reason", async () => {
    const provider = slowSource();
    const controller = new AbortController();
    const call = genesysFetch(
      "/api/v2/users/me",
      { signal: controller.signal },
      { provider, fetch: recordingFetch() },
    );
    const state = settled(call);
    const reason = new Error("the caller gave up");
    controller.abort(reason);
    await tick();
    assert.equal(state.done, true);
    await assert.rejects(call, (error: unknown) => error === reason);
  });

  it("an already aborted signal rejects before asking for a token", async () => {
    const provider = slowSource();
    const fetch = recordingFetch();
    const call = genesysFetch("/api/v2/users/me", { signal: AbortSignal.abort() }, { provider, fetch });
    const state = settled(call);
    await tick();
    assert.equal(state.done, true);
    await assert.rejects(
      call,
      (error: unknown) => error instanceof DOMException && error.name === "AbortError",
    );
    assert.equal(provider.seen.length, 0);
    assert.equal(fetch.calls, 0);
  });

  it("honours the signal of a Request input when init has none", async () => {
    const provider = slowSource();
    const fetch = recordingFetch();
    const controller = new AbortController();
    const call = genesysFetch(
      new Request(`${API}/api/v2/users/me`, { signal: controller.signal }),
      {},
      {
        provider,
        fetch,
      },
    );
    const state = settled(call);
    await tick();
    controller.abort();
    await tick();
    assert.equal(state.done, true);
    await assert.rejects(
      call,
      (error: unknown) => error instanceof DOMException && error.name === "AbortError",
    );
    assert.equal(fetch.calls, 0);
  });

  it("a signal that is not aborted changes nothing", async () => {
    const provider = slowSource();
    const fetch = recordingFetch();
    provider.release();
    const response = await genesysFetch(
      "/api/v2/users/me",
      { signal: new AbortController().signal },
      { provider, fetch },
    );
    assert.equal(response.status, 200);
    assert.equal(fetch.calls, 1);
  });
});
