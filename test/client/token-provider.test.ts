/**
 * The consumer library's TokenProvider against the Lambda emulator running a fake vendor: caching,
 * single-flight, refresh before expiry, rejectedToken handling, error mapping by name, and no token in
 * any output.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import {
  ConfigurationError,
  CredentialNotGrantedError,
  CredentialRejectedError,
  GenesysRateLimitedError,
  TokenProvider,
  type TokenProviderProps,
  TokenUnavailableError,
  UnknownCredentialError,
  ValidationError,
  VendorError,
  VendorResponseError,
} from "../../lambda/client/index.ts";
import { ManualClock } from "../../lambda/shared/clock.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { type FakeVendorHarness, startFakeVendorHarness } from "./harness.ts";

describe("TokenProvider against the Lambda emulator", () => {
  let harness: FakeVendorHarness;
  let functionCounter = 0;

  before(async () => {
    harness = await startFakeVendorHarness();
  });
  after(async () => {
    await harness?.stop();
  });

  /** A fresh fake vendor per test, so invocation counts and vendor state start at zero. */
  async function freshVendor(environment: Record<string, string> = {}): Promise<string> {
    functionCounter += 1;
    const name = `fake-vendor-${functionCounter}`;
    await harness.register(name, environment);
    return name;
  }

  function provider(functionName: string, props: Partial<TokenProviderProps> = {}): TokenProvider {
    return new TokenProvider({
      functionName,
      lambdaClient: harness.lambdaClient,
      // No test here is about the invoke timeout (invoke-retry.test.ts is): on a loaded machine an
      // attempt may take over the default 10 s, and its retry would count as an invocation and, on a
      // ManualClock, back off forever.
      invokeTimeoutMs: 120_000,
      ...props,
    });
  }

  it("caches the token: a second call does not invoke the vendor and reports the time left", async () => {
    const name = await freshVendor();
    const clock = new ManualClock();
    const tokens = provider(name, { clock });
    const first = await tokens.getToken();
    clock.advance(100_000);
    const second = await tokens.getToken();
    assert.equal(second.accessToken, first.accessToken);
    assert.equal(second.apiBaseUrl, "https://api.mypurecloud.ie");
    assert.equal(first.expiresInSeconds - second.expiresInSeconds, 100);
    assert.equal(harness.invocations(name), 1);
  });

  it("single-flight: 25 concurrent callers share one invoke", async () => {
    const name = await freshVendor({ FAKE_VENDOR_DELAY_MS: "50" });
    const tokens = provider(name);
    const results = await Promise.all(Array.from({ length: 25 }, () => tokens.getToken()));
    assert.equal(new Set(results.map((token) => token.accessToken)).size, 1);
    assert.equal(harness.invocations(name), 1);
  });

  it("refreshes refreshSkewSeconds before expiry, and proportionally earlier for short-lived tokens", async () => {
    const name = await freshVendor({ FAKE_VENDOR_LIFETIME_SECONDS: "300" });
    const clock = new ManualClock();
    const tokens = provider(name, { clock });
    // The fake vendor reports whole seconds left by the wall clock (299 once a millisecond passed on a
    // busy machine): time is advanced from what it reported, not from the nominal lifetime.
    const { expiresInSeconds } = await tokens.getToken();
    clock.advance((expiresInSeconds - 61) * 1000); // 61 s left: still outside the 60 s skew
    await tokens.getToken();
    assert.equal(harness.invocations(name), 1);
    clock.advance(2_000); // 59 s left
    await tokens.getToken();
    assert.equal(harness.invocations(name), 2);

    const shortName = await freshVendor({ FAKE_VENDOR_LIFETIME_SECONDS: "20" });
    const shortClock = new ManualClock();
    const shortLived = provider(shortName, { clock: shortClock });
    const short = await shortLived.getToken();
    // 6 s left: a 60 s skew would refresh on every call; a quarter of the lifetime (≤ 5 s) does not.
    shortClock.advance((short.expiresInSeconds - 6) * 1000);
    await shortLived.getToken();
    assert.equal(harness.invocations(shortName), 1);
    shortClock.advance(2_000);
    await shortLived.getToken();
    assert.equal(harness.invocations(shortName), 2);
  });

  it("minTtlSeconds bypasses a cached token with less time left", async () => {
    const name = await freshVendor({ FAKE_VENDOR_LIFETIME_SECONDS: "300" });
    const clock = new ManualClock();
    const tokens = provider(name, { clock });
    await tokens.getToken();
    clock.advance(100_000);
    await tokens.getToken({ minTtlSeconds: 150 });
    assert.equal(harness.invocations(name), 1);
    await tokens.getToken({ minTtlSeconds: 250 });
    assert.equal(harness.invocations(name), 2);
  });

  it("rejectedToken: one invoke for concurrent reporters, then the replacement is served from cache", async () => {
    const name = await freshVendor({ FAKE_VENDOR_DELAY_MS: "50" });
    const tokens = provider(name);
    const first = await tokens.getToken();
    const replacements = await Promise.all(
      Array.from({ length: 10 }, () => tokens.getToken({ rejectedToken: first.accessToken })),
    );
    assert.equal(new Set(replacements.map((token) => token.accessToken)).size, 1);
    assert.notEqual(replacements[0]?.accessToken, first.accessToken);
    assert.equal(harness.invocations(name), 2);

    // A late reporter of the same dead token gets the replacement without an invoke.
    const late = await tokens.getToken({ rejectedToken: first.accessToken });
    assert.equal(late.accessToken, replacements[0]?.accessToken);
    assert.equal(harness.invocations(name), 2);
  });

  it("invalidate: the next getToken reports the token to the vendor and gets a new one", async () => {
    const name = await freshVendor();
    const tokens = provider(name);
    const first = await tokens.getToken();
    tokens.invalidate(first);
    const second = await tokens.getToken();
    assert.notEqual(
      second.accessToken,
      first.accessToken,
      "the vendor only mints when told the token is rejected",
    );
    assert.equal(harness.invocations(name), 2);
  });

  it("invokes the credential's alias: <function>:<credential>, or the alias the function name carries", async () => {
    const name = await freshVendor();
    // The fake vendor mints tokens named after the alias it was invoked through.
    assert.match(
      (await provider(name, { credential: "reporting" }).getToken()).accessToken,
      /^fake-reporting-/,
    );
    assert.match(
      (await provider(name).getToken({ credential: "reporting" })).accessToken,
      /^fake-reporting-/,
    );
    assert.match((await provider(`${name}:reporting`).getToken()).accessToken, /^fake-reporting-/);
    assert.match(
      (await provider(`${name}:reporting`).getToken({ credential: "reporting" })).accessToken,
      /^fake-reporting-/,
    );
    const arn = harness.emulator.functionArn(name);
    assert.match((await provider(`${arn}:reporting`).getToken()).accessToken, /^fake-reporting-/);
    // No credential anywhere: unqualified (the vendor serves it only when it has one credential).
    assert.match((await provider(name).getToken()).accessToken, /^fake-default-/);
    assert.equal(harness.invocations(name), 6);
  });

  it("refuses a credential that conflicts with the function name's alias, before any invoke", async () => {
    const name = await freshVendor();
    assert.throws(
      () => provider(`${name}:reporting`, { credential: "default" }),
      (error: Error & { key?: string }) => {
        assert.equal(error.name, "ConfigurationError");
        assert.equal(error.key, "credential");
        assert.match(error.message, /"default" conflicts with the alias "reporting"/);
        return true;
      },
    );
    await assert.rejects(
      provider(`${name}:reporting`).getToken({ credential: "default" }),
      (error: Error & { field?: string }) => {
        assert.equal(error.name, "ValidationError");
        assert.equal(error.field, "credential");
        return true;
      },
    );
    assert.equal(harness.invocations(name), 0);
  });

  it("maps every vendor error name to the typed error of that name, without retrying", async () => {
    const name = await freshVendor();
    const tokens = provider(name);
    const expected = [
      ["ValidationError", ValidationError, false],
      ["UnknownCredentialError", UnknownCredentialError, false],
      ["CredentialNotGrantedError", CredentialNotGrantedError, false],
      ["CredentialRejectedError", CredentialRejectedError, false],
      ["GenesysRateLimitedError", GenesysRateLimitedError, true],
      ["TokenUnavailableError", TokenUnavailableError, true],
      ["ConfigurationError", ConfigurationError, false],
    ] as const;
    for (const [errorName, ErrorClass, retryable] of expected) {
      const before = harness.invocations(name);
      await assert.rejects(tokens.getToken({ credential: `fail-${errorName}` }), (error: unknown) => {
        assert.ok(error instanceof ErrorClass, `${errorName} maps to its class`);
        if (error instanceof ValidationError || error instanceof ConfigurationError) {
          // One class each for the library's own checks and the vendor's (not a VendorError).
          assert.equal(error.source, "vendor");
        } else {
          assert.ok(error instanceof VendorError);
        }
        assert.equal(error.name, errorName);
        assert.equal(error.retryable, retryable);
        assert.match(error.message, /scripted failure/);
        return true;
      });
      assert.equal(harness.invocations(name) - before, 1, `${errorName} is not retried by the client`);
    }
    await assert.rejects(tokens.getToken({ credential: "fail-SomethingNew" }), (error: unknown) => {
      assert.ok(error instanceof VendorError);
      assert.equal(error.name, "VendorError");
      assert.equal(error.errorType, "SomethingNew");
      return true;
    });
    await assert.rejects(tokens.getToken({ credential: "malformed" }), (error: unknown) => {
      assert.ok(error instanceof VendorResponseError);
      assert.equal(error.field, "accessToken");
      return true;
    });
  });

  it("never reveals the token: not in its logs, errors, or a token object logged by mistake", async () => {
    const name = await freshVendor();
    const lines: string[] = [];
    const record =
      (level: string) =>
      (message: string, ...extra: object[]) =>
        lines.push(JSON.stringify({ level, message, extra }));
    const log: Log = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    };
    const tokens = provider(name, { log });
    const token = await tokens.getToken();
    const replacement = await tokens.getToken({ rejectedToken: token.accessToken });
    const failure = await tokens
      .getToken({ credential: "fail-CredentialRejectedError" })
      .catch((error) => error);
    // What a careless consumer might print. (Not captured from stdout: swallowing stdout inside a test
    // also swallows the test runner's own report lines.)
    const printed = [
      JSON.stringify({ token }),
      inspect(token),
      String(token),
      inspect(failure),
      String(failure.stack),
    ];
    assert.ok(
      lines.some((line) => line.includes("token vended")),
      "the provider logged its vends",
    );
    assert.match(inspect(token), /\[redacted\]/);
    assertNoSecrets([...lines, ...printed].join("\n"), {
      "access token": [token.accessToken, replacement.accessToken],
    });
  });
});
