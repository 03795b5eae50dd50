import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  type GenesysError,
  GenesysInvalidClientError,
  GenesysProtocolError,
  GenesysTokenRateLimitError,
  GenesysTransientError,
} from "../../lambda/shared/genesys/errors.ts";
import type { GenesysHttpResponse } from "../../lambda/shared/genesys/http.ts";
import {
  buildClientCredentialsTokenRequest,
  processClientCredentialsTokenResponse,
  requestClientCredentialsToken,
} from "../../lambda/shared/genesys/oauth.ts";
import { ADMIN, type ClientFixture, INACTIVE, startClientFixture, TARGET } from "./fixture.ts";

describe("buildClientCredentialsTokenRequest", () => {
  const endpoints = {
    environment: "mypurecloud.ie",
    loginBaseUrl: "https://login.mypurecloud.ie",
    apiBaseUrl: "",
  };

  it("builds Basic auth over the raw id:secret (no URL-encoding, like the official SDKs)", () => {
    const request = buildClientCredentialsTokenRequest({
      endpoints,
      clientId: "abc-1",
      clientSecret: "s+e/c=r%t&",
    });
    assert.equal(request.url, "https://login.mypurecloud.ie/oauth/token");
    assert.equal(request.method, "POST");
    assert.equal(
      request.headers.authorization,
      `Basic ${Buffer.from("abc-1:s+e/c=r%t&").toString("base64")}`,
    );
    assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(request.body, "grant_type=client_credentials");
    assert.equal(request.operation, "POST /oauth/token");
  });

  it("refuses an id with a colon or an empty secret", () => {
    assert.throws(
      () => buildClientCredentialsTokenRequest({ endpoints, clientId: "a:b", clientSecret: "x" }),
      {
        name: "ValidationError",
      },
    );
    assert.throws(() => buildClientCredentialsTokenRequest({ endpoints, clientId: "a", clientSecret: "" }), {
      name: "ValidationError",
    });
  });
});

describe("processClientCredentialsTokenResponse", () => {
  const response = (
    status: number,
    body: unknown,
    extra: Partial<GenesysHttpResponse> = {},
  ): GenesysHttpResponse => ({
    operation: "POST /oauth/token",
    status,
    headers: {},
    body: typeof body === "string" ? body : JSON.stringify(body),
    receivedAt: 1_000_000,
    ...extra,
  });

  it("computes the absolute expiry from the time of receipt", () => {
    const token = processClientCredentialsTokenResponse(
      response(200, { access_token: "tok-123", token_type: "bearer", expires_in: 86400 }),
    );
    assert.deepEqual(token, {
      accessToken: "tok-123",
      tokenType: "Bearer",
      expiresAt: 1_000_000 + 86_400_000,
      expiresInSeconds: 86400,
    });
  });

  it("rejects malformed success bodies, naming the field and not echoing the token", () => {
    const cases: [unknown, string][] = [
      ["not json", "(body)|JSON"],
      [[], "(body)"],
      [{ token_type: "bearer", expires_in: 60 }, "access_token"],
      [{ access_token: "has space", token_type: "bearer", expires_in: 60 }, "access_token"],
      [{ access_token: "leaky-token-value", token_type: "mac", expires_in: 60 }, "token_type"],
      [{ access_token: "leaky-token-value", token_type: "bearer", expires_in: "60" }, "expires_in"],
      [{ access_token: "leaky-token-value", token_type: "bearer", expires_in: 0 }, "expires_in"],
      [{ access_token: "leaky-token-value", token_type: "bearer", expires_in: 1.5 }, "expires_in"],
    ];
    for (const [body, field] of cases) {
      assert.throws(
        () => processClientCredentialsTokenResponse(response(200, body)),
        (error: unknown) =>
          error instanceof GenesysProtocolError &&
          new RegExp(field).test(error.message) &&
          !error.message.includes("leaky-token-value"),
        field,
      );
    }
  });

  it("classifies Genesys' error responses", () => {
    const invalidClient = { error: "invalid_client", description: "authentication failed" };
    const rateLimited = { error: "invalid_request", description: "rate limit exceeded; try later" };
    const expectations: [number, unknown, new (...args: never[]) => GenesysError, boolean][] = [
      [400, invalidClient, GenesysInvalidClientError, false],
      [401, invalidClient, GenesysInvalidClientError, false],
      [400, rateLimited, GenesysTokenRateLimitError, true],
      [429, {}, GenesysTokenRateLimitError, true],
      [400, { error: "invalid_request", description: "Missing grant type" }, GenesysProtocolError, false],
      [503, "<html>", GenesysTransientError, true],
      [501, {}, GenesysProtocolError, false],
    ];
    for (const [status, body, type, retryable] of expectations) {
      assert.throws(
        () => processClientCredentialsTokenResponse(response(status, body)),
        (error: unknown) => error instanceof type && error.retryable === retryable,
        `${status} ${JSON.stringify(body)}`,
      );
    }
  });
});

describe("requestClientCredentialsToken against the Genesys emulator", () => {
  let fixture: ClientFixture;
  before(async () => {
    fixture = await startClientFixture();
  });
  after(() => fixture.stop());
  beforeEach(() => fixture.reset());
  /** The client's current secret (the emulator's test-only view). */
  const secretOf = (id: string) => fixture.emulator.state.getClient(id)!.secret;
  const mint = (clientId: string, clientSecret: string, options = {}) =>
    requestClientCredentialsToken(
      { endpoints: fixture.endpoints, clientId, clientSecret },
      { clock: fixture.clock, ...options },
    );

  it("mints a token whose expiry follows the client's validity", async () => {
    const before = fixture.clock.now();
    const token = await mint(TARGET.id, secretOf(TARGET.id));
    assert.equal(token.tokenType, "Bearer");
    assert.equal(token.expiresInSeconds, 3600);
    assert.equal(token.expiresAt, before + 3_600_000);
    assert.ok(fixture.emulator.issued.accessTokens.has(token.accessToken));
  });

  it("reports a wrong secret as GenesysInvalidClientError, without retrying", async () => {
    const requestsBefore = fixture.emulator.counters.tokenRequests(TARGET.id);
    await assert.rejects(mint(TARGET.id, `${secretOf(TARGET.id)}x`), (error: unknown) => {
      assert.ok(error instanceof GenesysInvalidClientError);
      assert.equal(error.retryable, false);
      assert.equal(error.genesysCode, "invalid_client");
      assert.ok(!error.message.includes(secretOf(TARGET.id)));
      return true;
    });
    assert.equal(fixture.emulator.counters.tokenRequests(TARGET.id), requestsBefore + 1);
  });

  it("reports an unknown client as GenesysInvalidClientError", async () => {
    await assert.rejects(
      mint("5e0c0000-0000-4000-8000-0000000000ff", secretOf(TARGET.id)),
      GenesysInvalidClientError,
    );
  });

  it("reports an inactive client as GenesysInvalidClientError", async () => {
    await assert.rejects(mint(INACTIVE.id, INACTIVE.secret), GenesysInvalidClientError);
    // The same secret works once the client is active: the rejection was about the state.
    fixture.emulator.state.setClientState(INACTIVE.id, "active");
    try {
      assert.ok((await mint(INACTIVE.id, INACTIVE.secret)).accessToken);
    } finally {
      fixture.emulator.state.setClientState(INACTIVE.id, "inactive");
    }
  });

  it("retries the token-endpoint rate limit (400 invalid_request) after its Retry-After", async () => {
    fixture.emulator.faults.tokenRateLimit.nextN = 1;
    fixture.emulator.faults.tokenRateLimit.retryAfterSeconds = 2;
    const token = await mint(TARGET.id, secretOf(TARGET.id));
    assert.ok(token.accessToken);
    assert.deepEqual(fixture.clock.sleeps, [2000]);
  });

  it("retries the rate limit with backoff when there is no Retry-After", async () => {
    fixture.emulator.faults.tokenRateLimit.nextN = 2;
    await mint(TARGET.id, secretOf(TARGET.id), { random: () => 0.5 });
    assert.equal(fixture.clock.sleeps.length, 2);
    assert.ok(fixture.clock.sleeps[1]! > fixture.clock.sleeps[0]!, "backoff grows");
  });

  it("surfaces a persistent rate limit as retryable GenesysTokenRateLimitError with retryAfterMs", async () => {
    fixture.emulator.faults.tokenRateLimit.enabled = true;
    fixture.emulator.faults.tokenRateLimit.retryAfterSeconds = 1;
    await assert.rejects(mint(TARGET.id, secretOf(TARGET.id), { maxAttempts: 2 }), (error: unknown) => {
      assert.ok(error instanceof GenesysTokenRateLimitError);
      assert.equal(error.retryable, true);
      assert.equal(error.retryAfterMs, 1000);
      assert.equal(error.status, 400);
      return true;
    });
    assert.equal(fixture.clock.sleeps.length, 1);
  });

  it("gives up at once when the rate limit's Retry-After would pass the deadline", async () => {
    fixture.emulator.faults.tokenRateLimit.enabled = true;
    fixture.emulator.faults.tokenRateLimit.retryAfterSeconds = 5;
    const deadline = fixture.clock.now() + 3000;
    await assert.rejects(mint(TARGET.id, secretOf(TARGET.id), { deadline }), GenesysTokenRateLimitError);
    assert.deepEqual(fixture.clock.sleeps, []);
  });

  it("retries 5xx from the login service and surfaces them as GenesysTransientError when they persist", async () => {
    fixture.emulator.faults.serverErrors.nextN = 1;
    assert.ok((await mint(TARGET.id, secretOf(TARGET.id))).accessToken);
    fixture.emulator.faults.serverErrors.nextN = 3;
    await assert.rejects(mint(TARGET.id, secretOf(TARGET.id)), (error: unknown) => {
      assert.ok(error instanceof GenesysTransientError);
      assert.equal(error.status, 503);
      assert.ok(error.correlationId, "the correlation id is kept for support cases");
      return true;
    });
  });

  it("retries a connection reset (a token request is safe to repeat)", async () => {
    fixture.emulator.faults.connectionResets.nextN = 1;
    assert.ok((await mint(TARGET.id, secretOf(TARGET.id))).accessToken);
  });

  it("rejects the old secret at once after a regeneration, and the new one until it has propagated", async () => {
    fixture.emulator.faults.propagationDelayMs = 10_000;
    const oldSecret = secretOf(TARGET.id);
    const regenerated = fixture.emulator.state.regenerateSecret(TARGET.id);
    await assert.rejects(mint(TARGET.id, oldSecret), GenesysInvalidClientError);
    await assert.rejects(mint(TARGET.id, regenerated.secret), GenesysInvalidClientError);
    fixture.clock.advance(10_000);
    assert.ok((await mint(TARGET.id, regenerated.secret)).accessToken);
  });

  it("works with the admin client too", async () => {
    assert.ok((await mint(ADMIN.id, secretOf(ADMIN.id))).accessToken);
  });
});
