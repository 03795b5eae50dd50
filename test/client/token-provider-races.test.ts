/**
 * Races between a refresh in flight and `invalidate` of the token being refreshed: the rejected token
 * must never come back from the cache (nor as the failed-refresh fallback), and the rejection must reach
 * the vendor. The vendor is an in-process invoker whose answers the test releases one by one, so the
 * interleaving is exact rather than timing-dependent.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InvokeCommand } from "@aws-sdk/client-lambda";
import { type LambdaInvoker, TokenProvider, VendorInvokeError } from "../../lambda/client/index.ts";
import { ManualClock } from "../../lambda/shared/clock.ts";

interface PendingInvoke {
  /** The vend request the provider sent. */
  request: Record<string, unknown>;
  /** Answers with a token of this value (300 s lifetime). */
  answer(accessToken: string): void;
  /** Fails like a throttled Invoke (retryable). */
  throttle(): void;
}

/** A LambdaInvoker whose invokes wait until the test answers them. */
function scriptedVendor(clock: ManualClock): { lambda: LambdaInvoker; invokes: PendingInvoke[] } {
  const invokes: PendingInvoke[] = [];
  const send = (command: InvokeCommand) =>
    new Promise((resolve, reject) => {
      const payload = command.input.Payload as Uint8Array;
      invokes.push({
        request: JSON.parse(new TextDecoder().decode(payload)),
        answer: (accessToken) =>
          resolve({
            StatusCode: 200,
            Payload: new TextEncoder().encode(
              JSON.stringify({
                accessToken,
                tokenType: "Bearer",
                expiresAt: new Date(clock.now() + 300_000).toISOString(),
                expiresInSeconds: 300,
                environment: "mypurecloud.ie",
                apiBaseUrl: "https://api.mypurecloud.ie",
              }),
            ),
          }),
        throttle: () =>
          reject(
            Object.assign(new Error("Rate exceeded"), {
              name: "TooManyRequestsException",
              $metadata: { httpStatusCode: 429 },
            }),
          ),
      });
    });
  return { lambda: { send } as unknown as LambdaInvoker, invokes };
}

/** Lets the provider's promise chain run until it has sent its next invoke. */
async function nextInvoke(invokes: PendingInvoke[], index: number): Promise<PendingInvoke> {
  for (let turn = 0; turn < 1000 && invokes.length <= index; turn++) await new Promise(setImmediate);
  const invoke = invokes[index];
  assert.ok(invoke, `invoke #${index + 1} was sent`);
  return invoke;
}

/** A provider holding token T (from the first invoke), with the clock inside T's refresh window. */
async function providerInRefreshWindow() {
  const clock = new ManualClock();
  const vendor = scriptedVendor(clock);
  const tokens = new TokenProvider({
    functionName: "vendor",
    lambdaClient: vendor.lambda,
    clock,
    random: () => 0,
    maxInvokeAttempts: 1,
  });
  const first = tokens.getToken();
  (await nextInvoke(vendor.invokes, 0)).answer("token-T");
  assert.equal((await first).accessToken, "token-T");
  clock.advance(250_000); // 50 s left: inside the 60 s skew, so the next getToken refreshes
  return { tokens, invokes: vendor.invokes };
}

describe("TokenProvider: invalidate during a refresh", () => {
  it("does not cache or serve the invalidated token when the refresh brings it back; reports it instead", async () => {
    const { tokens, invokes } = await providerInRefreshWindow();
    const refreshing = tokens.getToken();
    const refresh = await nextInvoke(invokes, 1);
    assert.equal(refresh.request.rejectedToken, undefined);
    tokens.invalidate("token-T"); // a non-replayable request just got 401 with T
    refresh.answer("token-T"); // the vendor still held T when the refresh reached it

    const report = await nextInvoke(invokes, 2);
    assert.equal(report.request.rejectedToken, "token-T", "the rejection reaches the vendor");
    report.answer("token-N");
    assert.equal((await refreshing).accessToken, "token-N");
    assert.equal((await tokens.getToken()).accessToken, "token-N", "served from the cache");
    assert.equal(invokes.length, 3);
  });

  it("a later getToken never gets the invalidated token from the cache", async () => {
    const { tokens, invokes } = await providerInRefreshWindow();
    const refreshing = tokens.getToken();
    const refresh = await nextInvoke(invokes, 1);
    tokens.invalidate("token-T");
    refresh.answer("token-T");
    // Joins the report (or starts it): either way it must not be handed T from the cache.
    const later = tokens.getToken();
    const report = await nextInvoke(invokes, 2);
    assert.equal(report.request.rejectedToken, "token-T");
    report.answer("token-N");
    assert.equal((await later).accessToken, "token-N");
    assert.equal((await refreshing).accessToken, "token-N");
  });

  it("a refresh bringing the token back after its replacement arrived neither serves nor caches it", async () => {
    const { tokens, invokes } = await providerInRefreshWindow();
    const refreshing = tokens.getToken();
    const refresh = await nextInvoke(invokes, 1);
    tokens.invalidate("token-T");
    const later = tokens.getToken();
    const report = await nextInvoke(invokes, 2);
    assert.equal(report.request.rejectedToken, "token-T");
    report.answer("token-N");
    assert.equal((await later).accessToken, "token-N");

    refresh.answer("token-T"); // the slow refresh ends last
    const again = await nextInvoke(invokes, 3);
    assert.equal(again.request.rejectedToken, "token-T", "T is reported, not served");
    again.answer("token-N"); // the vendor no longer holds T: it answers with its current token
    assert.equal((await refreshing).accessToken, "token-N");
    assert.equal((await tokens.getToken()).accessToken, "token-N");
    assert.equal(invokes.length, 4);
  });

  it("does not serve the invalidated token as the fallback when the refresh fails", async () => {
    const { tokens, invokes } = await providerInRefreshWindow();
    const refreshing = tokens.getToken();
    const refresh = await nextInvoke(invokes, 1);
    tokens.invalidate("token-T");
    refresh.throttle();
    await assert.rejects(refreshing, VendorInvokeError);

    const next = tokens.getToken();
    const report = await nextInvoke(invokes, 2);
    assert.equal(report.request.rejectedToken, "token-T", "the rejection is still pending");
    report.answer("token-N");
    assert.equal((await next).accessToken, "token-N");
  });

  it("still serves a valid cached token when a refresh fails and nothing was invalidated", async () => {
    const { tokens, invokes } = await providerInRefreshWindow();
    const refreshing = tokens.getToken();
    (await nextInvoke(invokes, 1)).throttle();
    assert.equal((await refreshing).accessToken, "token-T");
  });
});
