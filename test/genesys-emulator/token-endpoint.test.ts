import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { ManualClock } from "../../lambda/shared/clock.ts";
import type { GenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import { ADMIN, json, requestToken, startTestEmulator, TARGET } from "./support.ts";

describe("POST /oauth/token", () => {
  let emulator: GenesysEmulator & { clock: ManualClock };
  before(async () => {
    emulator = await startTestEmulator();
  });
  after(() => emulator.stop());
  beforeEach(() => {
    emulator.faults.reset();
    emulator.counters.reset();
    emulator.state.setClientState(TARGET.id, "active");
  });

  const expectOAuthError = async (response: Response, error: string, description: string) => {
    assert.equal(response.status, 400);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await json(response), { error, description, error_description: description });
  };

  it("grants a bearer token for the client's accessTokenValiditySeconds", async () => {
    const response = await requestToken(emulator.url, ADMIN.id, ADMIN.secret);
    assert.equal(response.status, 200);
    assert.ok(response.headers.get("inin-correlation-id"));
    assert.equal(response.headers.get("cache-control"), "no-store");
    const body = await json(response);
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"]);
    assert.equal(body.token_type, "bearer");
    assert.equal(body.expires_in, 3600);
    assert.ok(emulator.issued.accessTokens.has(body.access_token as string));
    assert.equal(emulator.counters.mints(ADMIN.id), 1);
    assert.equal(emulator.counters.tokenRequests(ADMIN.id), 1);
  });

  it("uses the default validity (86400 s) when the client has none, and the emulator-wide override", async () => {
    assert.equal((await json(await requestToken(emulator.url, TARGET.id, TARGET.secret))).expires_in, 86_400);
    emulator.faults.tokenLifetimeSeconds = 120;
    assert.equal((await json(await requestToken(emulator.url, ADMIN.id, ADMIN.secret))).expires_in, 120);
  });

  it("rejects a wrong secret with 400 invalid_client 'authentication failed'", async () => {
    await expectOAuthError(
      await requestToken(emulator.url, ADMIN.id, "not-the-secret"),
      "invalid_client",
      "authentication failed",
    );
    assert.equal(emulator.counters.errorsServed("invalid_client"), 1);
    assert.equal(emulator.counters.tokenRequests(ADMIN.id), 1, "failed requests count per client too");
    assert.equal(emulator.counters.mints(ADMIN.id), 0);
  });

  it("rejects an unknown client with 400 invalid_client 'client not found'", async () => {
    await expectOAuthError(
      await requestToken(emulator.url, "nobody", "x"),
      "invalid_client",
      "client not found",
    );
  });

  it("rejects inactive and disabled clients with 400 invalid_client", async () => {
    for (const state of ["inactive", "disabled"] as const) {
      emulator.state.setClientState(TARGET.id, state);
      await expectOAuthError(
        await requestToken(emulator.url, TARGET.id, TARGET.secret),
        "invalid_client",
        "authentication failed",
      );
    }
  });

  it("rejects a missing or garbled Basic header with 400 invalid_client", async () => {
    for (const authorization of [
      "",
      "Bearer abc",
      "Basic !!!",
      `Basic ${Buffer.from("no-colon").toString("base64")}`,
    ]) {
      await expectOAuthError(
        await requestToken(emulator.url, "", "", { authorization }),
        "invalid_client",
        "authentication failed",
      );
    }
  });

  it("does not accept client_id/client_secret as form parameters (SDKs use Basic only)", async () => {
    const body = `grant_type=client_credentials&client_id=${ADMIN.id}&client_secret=${ADMIN.secret}`;
    await expectOAuthError(
      await requestToken(emulator.url, "", "", { authorization: "", body }),
      "invalid_client",
      "authentication failed",
    );
  });

  it("rejects other grant types with unsupported_grant_type and a missing one with invalid_request", async () => {
    await expectOAuthError(
      await requestToken(emulator.url, ADMIN.id, ADMIN.secret, { body: "grant_type=password" }),
      "unsupported_grant_type",
      "Unsupported grant type: password",
    );
    await expectOAuthError(
      await requestToken(emulator.url, ADMIN.id, ADMIN.secret, {
        body: "grant_type=client_credentials",
        contentType: "application/json",
      }),
      "invalid_request",
      "Missing grant type",
    );
  });

  it("throttles with 400 invalid_request 'rate limit exceeded; ...' (nextN), with an optional Retry-After", async () => {
    emulator.faults.tokenRateLimit.nextN = 2;
    emulator.faults.tokenRateLimit.retryAfterSeconds = 7;
    for (let i = 0; i < 2; i++) {
      const response = await requestToken(emulator.url, ADMIN.id, ADMIN.secret);
      assert.equal(response.status, 400);
      assert.equal(response.headers.get("retry-after"), "7");
      const body = await json(response);
      assert.equal(body.error, "invalid_request");
      assert.match(body.description as string, /^rate limit exceeded;/);
      assert.equal(body.error_description, body.description);
    }
    assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
    assert.equal(emulator.counters.errorsServed("token_rate_limit"), 2);

    emulator.faults.tokenRateLimit.enabled = true;
    emulator.faults.tokenRateLimit.retryAfterSeconds = undefined;
    const throttled = await requestToken(emulator.url, ADMIN.id, ADMIN.secret);
    assert.equal(throttled.status, 400);
    assert.equal(throttled.headers.get("retry-after"), null);
    await throttled.body?.cancel();
  });

  it("applies a per-client limit per minute of emulator clock time", async () => {
    emulator.faults.tokenRateLimit.perClientPerMinute = 3;
    for (let i = 0; i < 3; i++)
      assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
    const fourth = await requestToken(emulator.url, ADMIN.id, ADMIN.secret);
    assert.equal(fourth.status, 400);
    assert.equal((await json(fourth)).error, "invalid_request");
    assert.equal(
      (await requestToken(emulator.url, TARGET.id, TARGET.secret)).status,
      200,
      "other clients unaffected",
    );
    emulator.clock.advance(61_000);
    assert.equal((await requestToken(emulator.url, ADMIN.id, ADMIN.secret)).status, 200);
  });

  it("answers other methods on /oauth/token with 405", async () => {
    const response = await fetch(`${emulator.url}/oauth/token`);
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "POST");
    await response.body?.cancel();
  });
});
