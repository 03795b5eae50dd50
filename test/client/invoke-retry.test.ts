/**
 * How the provider treats failures of the Invoke call itself, on Lambda's REST wire format: what is
 * retried (throttling, 5xx, crashed containers), what is not (vendor decisions, missing function), the
 * per-attempt timeout, and serving a still-valid cached token when a refresh fails.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  GenesysRateLimitedError,
  TokenProvider,
  VendorError,
  VendorInvokeError,
} from "../../lambda/client/index.ts";
import { ManualClock } from "../../lambda/shared/clock.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { type LambdaWireServer, startLambdaWireServer } from "./lambda-wire.ts";

describe("TokenProvider invoke failures (Lambda REST wire)", () => {
  let lambda: LambdaWireServer;

  before(async () => {
    lambda = await startLambdaWireServer();
  });
  after(async () => {
    await lambda.stop();
  });
  beforeEach(() => {
    lambda.script.length = 0;
    lambda.received.length = 0;
    lambda.fallback = { kind: "token" };
  });

  /** No backoff delay (random = 0), so retries do not slow the suite down. */
  function provider(overrides: Partial<ConstructorParameters<typeof TokenProvider>[0]> = {}): TokenProvider {
    return new TokenProvider({
      functionName: "vendor",
      lambdaClient: lambda.client(),
      random: () => 0,
      ...overrides,
    });
  }

  it("retries throttling and Lambda 5xx, then returns the token", async () => {
    lambda.script.push(
      { kind: "serviceError", status: 429, errorType: "TooManyRequestsException", message: "Rate exceeded" },
      { kind: "serviceError", status: 500, errorType: "ServiceException" },
    );
    const token = await provider().getToken();
    assert.match(token.accessToken, /^wire-token-/);
    assert.equal(lambda.received.length, 3);
  });

  it("gives up after maxInvokeAttempts with a retryable VendorInvokeError naming the reason", async () => {
    lambda.fallback = { kind: "serviceError", status: 429, errorType: "TooManyRequestsException" };
    await assert.rejects(provider({ maxInvokeAttempts: 2 }).getToken(), (error: unknown) => {
      assert.ok(error instanceof VendorInvokeError);
      assert.equal(error.name, "VendorInvokeError");
      assert.equal(error.reason, "TooManyRequestsException");
      assert.equal(error.retryable, true);
      return true;
    });
    assert.equal(lambda.received.length, 2);
  });

  it("does not retry a missing function and says what to check", async () => {
    lambda.fallback = { kind: "serviceError", status: 404, errorType: "ResourceNotFoundException" };
    await assert.rejects(provider().getToken(), (error: unknown) => {
      assert.ok(error instanceof VendorInvokeError);
      assert.equal(error.retryable, false);
      assert.match(error.message, /TOKEN_VENDOR_FUNCTION_NAME/);
      return true;
    });
    assert.equal(lambda.received.length, 1);
  });

  it("retries a crashed vendor container (Runtime.ExitError) but never a vendor decision", async () => {
    lambda.script.push({ kind: "functionError", errorType: "Runtime.ExitError" });
    await provider().getToken();
    assert.equal(lambda.received.length, 2);

    lambda.received.length = 0;
    lambda.fallback = { kind: "functionError", errorType: "GenesysRateLimitedError" };
    await assert.rejects(provider().getToken(), GenesysRateLimitedError);
    assert.equal(lambda.received.length, 1, "the vendor already waited within its deadline");
  });

  it("aborts an attempt after invokeTimeoutMs", async () => {
    lambda.fallback = { kind: "hang" };
    await assert.rejects(
      provider({ invokeTimeoutMs: 200, maxInvokeAttempts: 1 }).getToken(),
      (error: unknown) => {
        assert.ok(error instanceof VendorInvokeError);
        assert.equal(error.reason, "Timeout");
        assert.equal(error.retryable, true);
        return true;
      },
    );
  });

  it("serves the still-valid cached token when a refresh fails transiently, and fails once it is nearly expired", async () => {
    const clock = new ManualClock();
    const warnings: string[] = [];
    const log: Log = { debug() {}, info() {}, warn: (message) => warnings.push(message), error() {} };
    const tokens = provider({ clock, log, maxInvokeAttempts: 1 });
    const first = await tokens.getToken();

    lambda.fallback = { kind: "serviceError", status: 503, errorType: "ServiceException" };
    clock.advance(250_000); // past the refresh point (300 s - 60 s skew), 50 s left
    const during = await tokens.getToken();
    assert.equal(during.accessToken, first.accessToken);
    assert.equal(during.expiresInSeconds, 50);
    assert.equal(warnings.length, 1);

    clock.advance(46_000); // 4 s left: too little to hand out
    await assert.rejects(tokens.getToken(), VendorInvokeError);
  });

  it("maps an unknown errorType to VendorError carrying it", async () => {
    lambda.fallback = {
      kind: "functionError",
      errorType: "BrandNewVendorError",
      errorMessage: "something new",
    };
    await assert.rejects(provider().getToken(), (error: unknown) => {
      assert.ok(error instanceof VendorError);
      assert.equal(error.name, "VendorError");
      assert.equal(error.errorType, "BrandNewVendorError");
      assert.match(error.message, /something new/);
      return true;
    });
  });
});
