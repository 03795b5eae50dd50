import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { ManualClock } from "../../lambda/shared/clock.ts";
import type { GenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import {
  ADMIN,
  ADMIN_ROLE,
  api,
  CREDENTIAL_ID,
  json,
  mint,
  ORG,
  READER_ROLE,
  startTestEmulator,
  TARGET,
} from "./support.ts";

describe("Platform API", () => {
  let emulator: GenesysEmulator & { clock: ManualClock };
  let adminToken: string;
  before(async () => {
    emulator = await startTestEmulator();
  });
  after(() => emulator.stop());
  beforeEach(async () => {
    emulator.faults.reset();
    adminToken = await mint(emulator.url, ADMIN.id, ADMIN.secret);
  });

  const expectApiError = async (response: Response, status: number, code: string) => {
    assert.equal(response.status, status);
    const correlationId = response.headers.get("inin-correlation-id");
    assert.ok(correlationId);
    const body = await json(response);
    assert.equal(body.status, status);
    assert.equal(body.code, code);
    assert.equal(typeof body.message, "string");
    assert.equal(body.contextId, correlationId);
    assert.deepEqual([body.details, body.errors], [[], []]);
    return body;
  };

  describe("token introspection", () => {
    it("GET /api/v2/tokens/me?preserveIdleTTL=true identifies the client and org of the token", async () => {
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      const response = await api(emulator.url, token, "GET", "/api/v2/tokens/me?preserveIdleTTL=true");
      assert.equal(response.status, 200);
      const info = await json(response);
      assert.deepEqual(info.organization, { ...ORG, selfUri: `/api/v2/organizations/${ORG.id}` });
      assert.deepEqual(info.homeOrganization, info.organization);
      assert.deepEqual(info.authorizedScope, []);
      const client = info.OAuthClient as Record<string, unknown>;
      assert.equal(client.id, TARGET.id);
      assert.equal(client.name, "target");
      assert.equal(client.authorizedGrantType, "CLIENT-CREDENTIALS");
      assert.equal(client.state, "active");
      assert.deepEqual(client.roleDivisions, [{ roleId: READER_ROLE, divisionId: "*" }]);
      assert.deepEqual(client.organization, ORG);
      assert.equal("secret" in client, false);
    });

    it("HEAD /api/v2/tokens/me: 200 for a valid token, 401 without a body otherwise", async () => {
      const ok = await api(emulator.url, adminToken, "HEAD", "/api/v2/tokens/me");
      assert.equal(ok.status, 200);
      const bad = await api(emulator.url, "not-a-token", "HEAD", "/api/v2/tokens/me");
      assert.equal(bad.status, 401);
      assert.equal(await bad.text(), "");
    });

    it("GET /api/v2/organizations/me needs no permission", async () => {
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      const org = await json(await api(emulator.url, token, "GET", "/api/v2/organizations/me"));
      assert.equal(org.id, ORG.id);
      assert.equal(org.name, ORG.name);
      assert.equal(org.state, "active");
      assert.equal(typeof org.version, "number");
      assert.equal(typeof org.domain, "string");
    });

    it("DELETE /api/v2/tokens/me revokes that token only", async () => {
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      assert.equal((await api(emulator.url, token, "DELETE", "/api/v2/tokens/me")).status, 204);
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 401);
      assert.equal((await api(emulator.url, adminToken, "HEAD", "/api/v2/tokens/me")).status, 200);
    });
  });

  describe("401", () => {
    it("authentication.required without a bearer token", async () => {
      await expectApiError(
        await api(emulator.url, undefined, "GET", "/api/v2/tokens/me"),
        401,
        "authentication.required",
      );
    });

    it("bad.credentials for an unknown token", async () => {
      await expectApiError(
        await api(emulator.url, "garbage", "GET", "/api/v2/oauth/clients"),
        401,
        "bad.credentials",
      );
      assert.ok(emulator.counters.errorsServed("401") >= 1);
    });

    it("credentials.expired once the token's lifetime has passed on the clock", async () => {
      emulator.faults.tokenLifetimeSeconds = 300;
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      emulator.clock.advance(299_999);
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 200);
      emulator.clock.advance(1);
      await expectApiError(
        await api(emulator.url, token, "GET", "/api/v2/tokens/me"),
        401,
        "credentials.expired",
      );
    });

    it("tokens of disabled and deleted clients stop working; inactive clients' tokens keep working", async () => {
      const client = emulator.state.addClient({ name: "short-lived", roleDivisions: [] });
      const token = await mint(emulator.url, client.id, client.secret);
      emulator.state.setClientState(client.id, "inactive");
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 200);
      emulator.state.setClientState(client.id, "disabled");
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 401);
      emulator.state.setClientState(client.id, "active");
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 200);
      assert.equal(
        (await api(emulator.url, adminToken, "DELETE", `/api/v2/oauth/clients/${client.id}`)).status,
        204,
      );
      assert.equal((await api(emulator.url, token, "HEAD", "/api/v2/tokens/me")).status, 401);
      await expectApiError(
        await api(emulator.url, adminToken, "GET", `/api/v2/oauth/clients/${client.id}`),
        404,
        "not.found",
      );
    });
  });

  describe("403", () => {
    it("missing.any.permissions naming the permission, for each OAuth client operation", async () => {
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      const cases: [string, string, string, unknown?][] = [
        ["GET", "/api/v2/oauth/clients", "oauth:client:view"],
        ["GET", `/api/v2/oauth/clients/${ADMIN.id}`, "oauth:client:view"],
        [
          "POST",
          "/api/v2/oauth/clients",
          "oauth:client:add",
          { name: "x", authorizedGrantType: "CLIENT-CREDENTIALS" },
        ],
        ["PUT", `/api/v2/oauth/clients/${ADMIN.id}`, "oauth:client:edit", {}],
        ["DELETE", `/api/v2/oauth/clients/${ADMIN.id}`, "oauth:client:delete"],
        ["POST", `/api/v2/oauth/clients/${ADMIN.id}/secret`, "oauth:client:edit"],
        ["GET", `/api/v2/integrations/credentials/${CREDENTIAL_ID}`, "integrations:integration:view"],
        ["PUT", `/api/v2/integrations/credentials/${CREDENTIAL_ID}`, "integrations:integration:edit", {}],
      ];
      for (const [method, path, permission, body] of cases) {
        const error = await expectApiError(
          await api(emulator.url, token, method, path, body),
          403,
          "missing.any.permissions",
        );
        assert.ok((error.message as string).includes(`[${permission}]`), `${method} ${path}`);
      }
      assert.equal(emulator.state.getClient(ADMIN.id)?.secret, ADMIN.secret, "nothing changed");
    });

    it("permissions are the union of the client's roles and follow role changes at once", async () => {
      const token = await mint(emulator.url, TARGET.id, TARGET.secret);
      assert.equal((await api(emulator.url, token, "GET", "/api/v2/oauth/clients")).status, 403);
      emulator.state.putRole({
        id: READER_ROLE,
        name: "Reader",
        permissions: ["routing:queue:view", "oauth:*:view"],
      });
      assert.equal((await api(emulator.url, token, "GET", "/api/v2/oauth/clients")).status, 200);
      emulator.state.putRole({ id: READER_ROLE, name: "Reader", permissions: ["routing:queue:view"] });
    });
  });

  describe("OAuth clients", () => {
    it("lists clients as an entity listing", async () => {
      const listing = await json(await api(emulator.url, adminToken, "GET", "/api/v2/oauth/clients"));
      const ids = (listing.entities as { id: string }[]).map((entity) => entity.id);
      assert.ok(ids.includes(ADMIN.id) && ids.includes(TARGET.id));
      assert.equal(listing.total, ids.length);
      assert.equal(listing.pageNumber, 1);
      assert.equal(listing.pageCount, 1);
    });

    it("pages the listing when pageSize is given, and rejects a malformed one", async () => {
      const all = (await json(await api(emulator.url, adminToken, "GET", "/api/v2/oauth/clients")))
        .entities as { id: string }[];
      assert.ok(all.length >= 2);
      const pageOf = async (page: number) =>
        json(
          await api(emulator.url, adminToken, "GET", `/api/v2/oauth/clients?pageSize=1&pageNumber=${page}`),
        );
      const first = await pageOf(1);
      const last = await pageOf(all.length);
      assert.deepEqual(
        [first, last].map((listing) => (listing.entities as { id: string }[]).map((entity) => entity.id)),
        [[all[0]!.id], [all.at(-1)!.id]],
      );
      assert.equal(first.pageCount, all.length);
      assert.equal(first.total, all.length);
      assert.equal(first.nextUri, "/api/v2/oauth/clients?pageSize=1&pageNumber=2");
      assert.equal(last.nextUri, undefined);
      assert.deepEqual((await pageOf(all.length + 1)).entities, []);
      await expectApiError(
        await api(emulator.url, adminToken, "GET", "/api/v2/oauth/clients?pageSize=0"),
        400,
        "invalid.value",
      );
    });

    it("GET returns the documented OAuthClient fields", async () => {
      const client = await json(
        await api(emulator.url, adminToken, "GET", `/api/v2/oauth/clients/${ADMIN.id}`),
      );
      assert.deepEqual(client.roleDivisions, [{ roleId: ADMIN_ROLE, divisionId: "*" }]);
      assert.equal(client.accessTokenValiditySeconds, 3600);
      assert.equal(client.authorizedGrantType, "CLIENT-CREDENTIALS");
      assert.equal(client.selfUri, `/api/v2/oauth/clients/${ADMIN.id}`);
      assert.match(client.dateCreated as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it("PUT replaces the editable fields", async () => {
      const client = emulator.state.addClient({
        name: "put-me",
        roleDivisions: [],
        accessTokenValiditySeconds: 900,
      });
      const response = await api(emulator.url, adminToken, "PUT", `/api/v2/oauth/clients/${client.id}`, {
        name: "put-done",
        authorizedGrantType: "CLIENT-CREDENTIALS",
        state: "inactive",
        roleDivisions: [{ roleId: READER_ROLE, divisionId: "div-1" }],
      });
      const body = await json(response);
      assert.equal(response.status, 200);
      assert.equal(body.name, "put-done");
      assert.equal(body.state, "inactive");
      assert.equal(body.accessTokenValiditySeconds, 86_400, "omitted → default (replace semantics)");
      assert.deepEqual(emulator.state.getClient(client.id)?.roleDivisions, [
        { roleId: READER_ROLE, divisionId: "div-1" },
      ]);
    });

    it("rejects invalid bodies with 400 naming the field", async () => {
      const path = `/api/v2/oauth/clients/${TARGET.id}`;
      const base = { name: "ok", authorizedGrantType: "CLIENT-CREDENTIALS" };
      const cases: [unknown, string, RegExp][] = [
        [{ authorizedGrantType: "CLIENT-CREDENTIALS" }, "bad.request", /\[name\]/],
        [{ name: "x" }, "bad.request", /\[authorizedGrantType\]/],
        [{ ...base, authorizedGrantType: "CLIENT_CREDENTIALS" }, "invalid.value", /CLIENT_CREDENTIALS/],
        [{ ...base, authorizedGrantType: "CODE" }, "bad.request", /CLIENT-CREDENTIALS/],
        [{ ...base, accessTokenValiditySeconds: 299 }, "bad.request", /accessTokenValiditySeconds/],
        [{ ...base, accessTokenValiditySeconds: 172_801 }, "bad.request", /accessTokenValiditySeconds/],
        [{ ...base, state: "disabled" }, "invalid.value", /\[state\]/],
        [
          { ...base, roleDivisions: [{ roleId: "no-such-role" }] },
          "bad.request",
          /roleDivisions\[0\]\.roleId/,
        ],
        [[1, 2], "bad.request", /malformed/],
      ];
      for (const [body, code, message] of cases) {
        const error = await expectApiError(await api(emulator.url, adminToken, "PUT", path, body), 400, code);
        assert.match(error.message as string, message);
      }
      assert.equal(emulator.state.getClient(TARGET.id)?.name, "target", "nothing changed");
    });

    it("rejects malformed JSON with 400 and non-JSON bodies with 415", async () => {
      const path = `/api/v2/oauth/clients/${TARGET.id}`;
      const headers = { authorization: `Bearer ${adminToken}` };
      const malformed = await fetch(`${emulator.url}${path}`, {
        method: "PUT",
        headers: { ...headers, "content-type": "application/json" },
        body: "{nope",
      });
      await expectApiError(malformed, 400, "bad.request");
      const form = await fetch(`${emulator.url}${path}`, {
        method: "PUT",
        headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
        body: "name=x",
      });
      await expectApiError(form, 415, "unsupported.media.type");
    });

    it("answers unknown ids with 404 and unknown paths with 404, wrong methods with 405", async () => {
      await expectApiError(
        await api(emulator.url, adminToken, "GET", "/api/v2/oauth/clients/nope"),
        404,
        "not.found",
      );
      await expectApiError(
        await api(emulator.url, adminToken, "POST", "/api/v2/oauth/clients/nope/secret"),
        404,
        "not.found",
      );
      await expectApiError(await api(emulator.url, adminToken, "GET", "/api/v2/users/me"), 404, "not.found");
      await expectApiError(
        await api(emulator.url, adminToken, "PATCH", "/api/v2/oauth/clients"),
        405,
        "method.not.allowed",
      );
      assert.ok(emulator.counters.requests("GET (unmatched)") >= 1);
    });
  });

  describe("integration credentials", () => {
    it("GET returns the credential without secret fields", async () => {
      const response = await api(
        emulator.url,
        adminToken,
        "GET",
        `/api/v2/integrations/credentials/${CREDENTIAL_ID}`,
      );
      assert.equal(response.status, 200);
      const body = await json(response);
      assert.equal(body.id, CREDENTIAL_ID);
      assert.deepEqual(body.type, { name: "pureCloudOAuthClient" });
      assert.deepEqual(body.credentialFields, { clientId: TARGET.id });
      assert.equal(emulator.issued.occurrencesIn(JSON.stringify(body)).secrets, 0);
    });

    it("PUT {name, type: {name}, credentialFields} replaces the stored fields", async () => {
      const update = {
        name: "Data Actions",
        type: { name: "pureCloudOAuthClient" },
        credentialFields: { clientId: TARGET.id, clientSecret: "rotated-secret-value" },
      };
      const response = await api(
        emulator.url,
        adminToken,
        "PUT",
        `/api/v2/integrations/credentials/${CREDENTIAL_ID}`,
        update,
      );
      assert.equal(response.status, 200);
      const info = await json(response);
      assert.equal(info.id, CREDENTIAL_ID);
      assert.deepEqual(info.type, { name: "pureCloudOAuthClient" });
      assert.equal("credentialFields" in info, false);
      assert.deepEqual(
        emulator.state.getIntegrationCredential(CREDENTIAL_ID)?.credentialFields,
        update.credentialFields,
      );
    });

    it("PUT rejects a bare string type (the wire model is CredentialType {name}) and unknown ids", async () => {
      const path = `/api/v2/integrations/credentials/${CREDENTIAL_ID}`;
      await expectApiError(
        await api(emulator.url, adminToken, "PUT", path, {
          name: "x",
          type: "pureCloudOAuthClient",
          credentialFields: {},
        }),
        400,
        "bad.request",
      );
      await expectApiError(
        await api(emulator.url, adminToken, "PUT", "/api/v2/integrations/credentials/nope", {}),
        404,
        "not.found",
      );
    });
  });
});
