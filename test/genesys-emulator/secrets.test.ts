import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { ManualClock } from "../../lambda/shared/clock.ts";
import type { GenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import { ADMIN, ADMIN_ROLE, api, json, mint, requestToken, startTestEmulator, TARGET } from "./support.ts";

describe("client secrets", () => {
  let emulator: GenesysEmulator & { clock: ManualClock };
  afterEach(() => emulator.stop());

  const regenerate = async (adminToken: string, clientId: string) => {
    const response = await api(emulator.url, adminToken, "POST", `/api/v2/oauth/clients/${clientId}/secret`);
    assert.equal(response.status, 200);
    return json(response);
  };

  it("POST …/secret returns the whole client with a new 43-char secret; the old secret dies at once", async () => {
    emulator = await startTestEmulator();
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    const client = await regenerate(adminToken, TARGET.id);

    assert.equal(client.id, TARGET.id);
    assert.equal(client.authorizedGrantType, "CLIENT-CREDENTIALS");
    assert.equal(client.state, "active");
    assert.ok(Array.isArray(client.roleDivisions));
    const secret = client.secret as string;
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(secret, TARGET.secret);
    assert.equal(emulator.state.getClient(TARGET.id)?.secret, secret);
    assert.ok(emulator.issued.secrets.has(secret));
    assert.equal(emulator.counters.regenerations(TARGET.id), 1);

    const old = await requestToken(emulator.url, TARGET.id, TARGET.secret);
    assert.equal(old.status, 400);
    assert.equal((await json(old)).error, "invalid_client");
    assert.equal((await requestToken(emulator.url, TARGET.id, secret)).status, 200);
  });

  it("never returns the secret from GET, PUT or the listing", async () => {
    emulator = await startTestEmulator();
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    await regenerate(adminToken, TARGET.id);
    const get = await json(await api(emulator.url, adminToken, "GET", `/api/v2/oauth/clients/${TARGET.id}`));
    const put = await json(
      await api(emulator.url, adminToken, "PUT", `/api/v2/oauth/clients/${TARGET.id}`, {
        name: "renamed",
        authorizedGrantType: "CLIENT-CREDENTIALS",
        roleDivisions: [{ roleId: ADMIN_ROLE, divisionId: "*" }],
      }),
    );
    const list = await json(await api(emulator.url, adminToken, "GET", "/api/v2/oauth/clients"));
    for (const body of [get, put, ...(list.entities as Record<string, unknown>[])]) {
      assert.equal("secret" in body, false);
    }
    assert.equal(put.name, "renamed");
    assert.equal(emulator.issued.occurrencesIn(JSON.stringify([get, put, list])).secrets, 0);
  });

  it("rejects the NEW secret until propagationDelayMs of clock time has passed", async () => {
    emulator = await startTestEmulator({ propagationDelayMs: 10_000 });
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    const secret = (await regenerate(adminToken, TARGET.id)).secret as string;

    const early = await requestToken(emulator.url, TARGET.id, secret);
    assert.equal(early.status, 400);
    assert.deepEqual(await json(early), {
      error: "invalid_client",
      description: "authentication failed",
      error_description: "authentication failed",
    });
    emulator.clock.advance(9_999);
    assert.equal((await requestToken(emulator.url, TARGET.id, secret)).status, 400);
    assert.equal(
      (await requestToken(emulator.url, TARGET.id, TARGET.secret)).status,
      400,
      "old secret stays dead",
    );
    emulator.clock.advance(1);
    assert.equal((await requestToken(emulator.url, TARGET.id, secret)).status, 200);
  });

  it("POST /api/v2/oauth/clients returns the generated secret (subject to the propagation delay too)", async () => {
    emulator = await startTestEmulator({ propagationDelayMs: 5_000 });
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    const response = await api(emulator.url, adminToken, "POST", "/api/v2/oauth/clients", {
      name: "green",
      authorizedGrantType: "CLIENT-CREDENTIALS",
      accessTokenValiditySeconds: 600,
      roleDivisions: [{ roleId: ADMIN_ROLE }],
      secret: "caller-chosen-secret-is-ignored",
    });
    assert.equal(response.status, 200);
    const created = await json(response);
    assert.match(created.secret as string, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(created.roleDivisions, [
      { roleId: ADMIN_ROLE, divisionId: "00000000-0000-4000-8000-000000000001" },
    ]);
    assert.equal(
      (await requestToken(emulator.url, created.id as string, created.secret as string)).status,
      400,
    );
    emulator.clock.advance(5_000);
    const token = await json(
      await requestToken(emulator.url, created.id as string, created.secret as string),
    );
    assert.equal(token.expires_in, 600);
  });

  it("keeps tokens issued before a regeneration valid when tokensSurviveRegeneration is true (default)", async () => {
    emulator = await startTestEmulator();
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    const before = await mint(emulator.url, TARGET.id, TARGET.secret);
    await regenerate(adminToken, TARGET.id);
    assert.equal((await api(emulator.url, before, "HEAD", "/api/v2/tokens/me")).status, 200);
  });

  it("invalidates tokens issued before a regeneration when tokensSurviveRegeneration is false", async () => {
    emulator = await startTestEmulator({ tokensSurviveRegeneration: false });
    const adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
    const before = await mint(emulator.url, TARGET.id, TARGET.secret);
    const secret = (await regenerate(adminToken, TARGET.id)).secret as string;
    const after = await mint(emulator.url, TARGET.id, secret);

    assert.equal((await api(emulator.url, before, "HEAD", "/api/v2/tokens/me")).status, 401);
    const body = await json(await api(emulator.url, before, "GET", "/api/v2/tokens/me"));
    assert.equal(body.code, "bad.credentials");
    assert.equal((await api(emulator.url, after, "HEAD", "/api/v2/tokens/me")).status, 200);
    assert.equal(
      (await api(emulator.url, adminToken, "HEAD", "/api/v2/tokens/me")).status,
      200,
      "other clients' tokens are unaffected",
    );
  });

  it("regenerates through the state API with the same semantics", async () => {
    emulator = await startTestEmulator();
    const snapshot = emulator.state.regenerateSecret(TARGET.id);
    assert.equal(snapshot.secretGeneration, 1);
    assert.equal((await requestToken(emulator.url, TARGET.id, TARGET.secret)).status, 400);
    assert.equal((await requestToken(emulator.url, TARGET.id, snapshot.secret)).status, 200);
  });
});
