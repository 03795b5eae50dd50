import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import {
  GenesysApiRateLimitError,
  GenesysNotFoundError,
  GenesysPermissionError,
  GenesysProtocolError,
  GenesysTransientError,
  GenesysUnauthorizedError,
} from "../../lambda/shared/genesys/errors.ts";
import type { GenesysCallOptions } from "../../lambda/shared/genesys/http.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import {
  ADMIN,
  type ClientFixture,
  CREDENTIAL_ID,
  ORG,
  RecordingLog,
  ROLE_DIVISIONS,
  startClientFixture,
  TARGET,
} from "./fixture.ts";

const SECRET_ROUTE = "POST /api/v2/oauth/clients/{clientId}/secret";

describe("GenesysApi against the Genesys emulator", () => {
  let fixture: ClientFixture;
  let log: RecordingLog;
  let admin: GenesysApi;
  let reader: GenesysApi;

  const secretOf = (id: string) => fixture.emulator.state.getClient(id)!.secret;
  const tokenFor = async (id: string) =>
    (
      await requestClientCredentialsToken(
        { endpoints: fixture.endpoints, clientId: id, clientSecret: secretOf(id) },
        { clock: fixture.clock },
      )
    ).accessToken;
  const apiFor = async (id: string, options: GenesysCallOptions = {}) =>
    new GenesysApi(fixture.endpoints, await tokenFor(id), { clock: fixture.clock, log, ...options });

  before(async () => {
    fixture = await startClientFixture();
    log = new RecordingLog();
    admin = await apiFor(ADMIN.id);
    reader = await apiFor(TARGET.id);
  });
  after(() => fixture.stop());
  beforeEach(() => {
    fixture.reset();
    log.entries.length = 0;
  });

  describe("reads", () => {
    it("tokens/me names the token's client and organisation", async () => {
      const info = await reader.getTokenInfo();
      assert.equal(info.OAuthClient.id, TARGET.id);
      assert.equal(info.OAuthClient.organization.id, ORG.id);
      assert.equal(info.organization.id, ORG.id);
      assert.equal((await admin.getTokenInfo()).OAuthClient.id, ADMIN.id);
    });

    it("probeToken is true for a live token and false for a rejected one", async () => {
      assert.equal(await reader.probeToken(), true);
      const bogus = new GenesysApi(fixture.endpoints, "not-a-real-token", { clock: fixture.clock });
      assert.equal(await bogus.probeToken(), false);
    });

    it("reads the organisation", async () => {
      assert.deepEqual(await reader.getOrganization(), ORG);
    });

    it("reads an OAuth client with the API's field names and without its secret", async () => {
      const client = await admin.getOAuthClient(TARGET.id);
      assert.equal(client.id, TARGET.id);
      assert.equal(client.accessTokenValiditySeconds, 3600);
      assert.equal(client.authorizedGrantType, "CLIENT-CREDENTIALS");
      assert.equal(client.state, "active");
      assert.deepEqual(client.roleDivisions, ROLE_DIVISIONS);
      assert.equal((client as { secret?: string }).secret, undefined);
    });

    it("lists OAuth clients one page at a time", async () => {
      const everything = await admin.listOAuthClients();
      assert.ok(everything.entities.some((client) => client.id === TARGET.id));
      assert.equal(everything.total, everything.entities.length);
      const second = await admin.listOAuthClients({ pageSize: 1, pageNumber: 2 });
      assert.deepEqual(second.entities, [everything.entities[1]]);
      assert.deepEqual(
        [second.pageNumber, second.pageSize, second.pageCount],
        [2, 1, everything.entities.length],
      );
      await assert.rejects(async () => admin.listOAuthClients({ pageSize: 0 }), { name: "ValidationError" });
    });

    it("finds clients by name across pages, in full", async () => {
      // More clients than one page of 100 holds: one "twin" on the first page, one on the second.
      const state = fixture.emulator.state;
      const first = state.addClient({ name: "twin", roleDivisions: ROLE_DIVISIONS });
      const fillers = Array.from({ length: 100 }, (_, i) =>
        state.addClient({ name: `filler-${i}`, roleDivisions: [] }),
      );
      const last = state.addClient({ name: "twin", roleDivisions: [] });
      const added = [first, ...fillers, last];
      try {
        assert.ok((await admin.listOAuthClients()).entities.length > 100);
        const found = await admin.findOAuthClientsByName("twin");
        assert.deepEqual(found.map((client) => client.id).sort(), [first.id, last.id].sort());
        assert.deepEqual(
          found.find((client) => client.id === first.id)?.roleDivisions,
          ROLE_DIVISIONS.map((roleDivision) => ({ ...roleDivision })),
        );
        assert.deepEqual(await admin.findOAuthClientsByName("no such client"), []);
      } finally {
        for (const client of added) state.deleteClient(client.id);
      }
    });

    it("reads an integration credential without its secret fields", async () => {
      const credential = await admin.getIntegrationCredential(CREDENTIAL_ID);
      assert.equal(credential.type.name, "pureCloudOAuthClient");
      assert.equal(credential.credentialFields?.clientId, TARGET.id);
      assert.equal(credential.credentialFields?.clientSecret, undefined);
    });
  });

  describe("errors", () => {
    it("a missing permission is GenesysPermissionError (403), not retried", async () => {
      await assert.rejects(reader.getOAuthClient(TARGET.id), (error: unknown) => {
        assert.ok(error instanceof GenesysPermissionError);
        assert.equal(error.status, 403);
        assert.equal(error.retryable, false);
        assert.equal(error.genesysCode, "missing.any.permissions");
        return true;
      });
      assert.equal(log.retries(), 0);
    });

    it("a rejected token is GenesysUnauthorizedError (401)", async () => {
      const bogus = new GenesysApi(fixture.endpoints, "not-a-real-token", { clock: fixture.clock });
      await assert.rejects(bogus.getTokenInfo(), GenesysUnauthorizedError);
    });

    it("an unknown client is GenesysNotFoundError (404)", async () => {
      await assert.rejects(
        admin.getOAuthClient("5e0c0000-0000-4000-8000-00000000dead"),
        GenesysNotFoundError,
      );
    });

    it("an id that could change the path is refused before sending", async () => {
      const before = fixture.emulator.counters.requests();
      assert.throws(() => admin.getOAuthClient("../organizations/me"), { name: "ValidationError" });
      assert.equal(fixture.emulator.counters.requests(), before);
    });
  });

  describe("429 and Retry-After", () => {
    it("honours Retry-After: the second attempt succeeds after the advertised wait", async () => {
      fixture.emulator.faults.apiRateLimit.nextN = 1;
      fixture.emulator.faults.apiRateLimit.retryAfterSeconds = 3;
      const throttledBefore = fixture.emulator.counters.errorsServed("api_429");
      assert.equal((await admin.getOAuthClient(TARGET.id)).id, TARGET.id);
      assert.deepEqual(fixture.clock.sleeps, [3000]);
      assert.equal(fixture.emulator.counters.errorsServed("api_429"), throttledBefore + 1);
    });

    it("fails at once when Retry-After exceeds maxRetryAfterMs", async () => {
      fixture.emulator.faults.apiRateLimit.nextN = 1;
      fixture.emulator.faults.apiRateLimit.retryAfterSeconds = 60;
      await assert.rejects(admin.getOAuthClient(TARGET.id, { maxRetryAfterMs: 30_000 }), (error: unknown) => {
        assert.ok(error instanceof GenesysApiRateLimitError);
        assert.equal(error.retryable, true);
        assert.equal(error.retryAfterMs, 60_000);
        assert.equal(error.genesysCode, "too.many.requests.retry.after");
        return true;
      });
      assert.deepEqual(fixture.clock.sleeps, []);
    });

    it("fails at once when waiting would pass the deadline", async () => {
      fixture.emulator.faults.apiRateLimit.nextN = 1;
      fixture.emulator.faults.apiRateLimit.retryAfterSeconds = 3;
      const deadline = fixture.clock.now() + 2000;
      await assert.rejects(admin.getOAuthClient(TARGET.id, { deadline }), GenesysApiRateLimitError);
      assert.deepEqual(fixture.clock.sleeps, []);
    });

    it("stops after maxAttempts", async () => {
      fixture.emulator.faults.apiRateLimit.enabled = true;
      const throttledBefore = fixture.emulator.counters.errorsServed("api_429");
      await assert.rejects(admin.getTokenInfo({ maxAttempts: 3 }), GenesysApiRateLimitError);
      assert.equal(fixture.emulator.counters.errorsServed("api_429"), throttledBefore + 3);
    });

    it("retries a throttled regeneration: a 429 means the operation did not run", async () => {
      fixture.emulator.faults.apiRateLimit.nextN = 1;
      const before = fixture.emulator.counters.regenerations(TARGET.id);
      await admin.regenerateClientSecret(TARGET.id);
      assert.equal(fixture.emulator.counters.regenerations(TARGET.id), before + 1);
      assert.equal(log.retries(), 1);
    });
  });

  describe("timeouts, resets and server errors", () => {
    it("a timeout surfaces as GenesysTransientError", async () => {
      fixture.emulator.faults.latencyMs = 3000;
      await assert.rejects(admin.getTokenInfo({ timeoutMs: 150, maxAttempts: 1 }), (error: unknown) => {
        assert.ok(error instanceof GenesysTransientError);
        assert.equal(error.retryable, true);
        assert.match(error.message, /no complete response within 150 ms/);
        return true;
      });
    });

    it("a reset GET is retried and succeeds", async () => {
      fixture.emulator.faults.connectionResets.nextN = 1;
      assert.equal((await admin.getTokenInfo()).OAuthClient.id, ADMIN.id);
      assert.equal(log.retries(), 1);
    });

    it("persistent resets surface as GenesysTransientError", async () => {
      fixture.emulator.faults.connectionResets.nextN = 2;
      await assert.rejects(admin.getOrganization({ maxAttempts: 2 }), GenesysTransientError);
    });

    it("a regeneration whose response was lost is NOT retried (the secret did change)", async () => {
      fixture.emulator.faults.connectionResets = {
        nextN: 1,
        probability: 0,
        afterProcessing: true,
        target: { pathPrefix: "/api/v2/oauth/clients/", method: "POST" },
      };
      const before = fixture.emulator.counters.regenerations(TARGET.id);
      const requestsBefore = fixture.emulator.counters.requests(SECRET_ROUTE);
      await assert.rejects(admin.regenerateClientSecret(TARGET.id), GenesysTransientError);
      assert.equal(fixture.emulator.counters.requests(SECRET_ROUTE), requestsBefore + 1, "sent once");
      assert.equal(fixture.emulator.counters.regenerations(TARGET.id), before + 1);
      assert.equal(log.retries(), 0);
    });

    it("a regeneration reset before processing is not retried either (the client cannot tell)", async () => {
      fixture.emulator.faults.connectionResets = {
        nextN: 1,
        probability: 0,
        afterProcessing: false,
        target: { method: "POST" },
      };
      const requestsBefore = fixture.emulator.counters.requests(SECRET_ROUTE);
      await assert.rejects(admin.regenerateClientSecret(TARGET.id), GenesysTransientError);
      assert.equal(fixture.emulator.counters.requests(SECRET_ROUTE), requestsBefore + 1);
    });

    it("a client creation that got a 503 is not retried", async () => {
      fixture.emulator.faults.serverErrors = {
        nextN: 1,
        probability: 0,
        status: 503,
        target: { method: "POST" },
      };
      const before = fixture.emulator.counters.requests("POST /api/v2/oauth/clients");
      await assert.rejects(
        admin.createOAuthClient({
          name: "twin",
          authorizedGrantType: "CLIENT-CREDENTIALS",
          roleDivisions: [],
        }),
        (error: unknown) => error instanceof GenesysTransientError && error.status === 503,
      );
      assert.equal(fixture.emulator.counters.requests("POST /api/v2/oauth/clients"), before + 1);
    });

    it("a 5xx on a GET is retried", async () => {
      fixture.emulator.faults.serverErrors.nextN = 2;
      assert.equal((await admin.getOrganization()).id, ORG.id);
      assert.equal(log.retries(), 2);
    });

    it("a non-idempotent call is retried when the connection was refused (nothing was sent)", async () => {
      const port = await closedPort();
      const endpoints = { ...fixture.endpoints, apiBaseUrl: `http://127.0.0.1:${port}` };
      const offline = new GenesysApi(endpoints, "token-never-sent", {
        clock: fixture.clock,
        log,
        random: () => 0,
      });
      await assert.rejects(
        offline.regenerateClientSecret(TARGET.id, { maxAttempts: 2 }),
        (error: unknown) => {
          assert.ok(error instanceof GenesysTransientError);
          assert.match(error.message, /ECONNREFUSED/);
          return true;
        },
      );
      assert.equal(log.retries(), 1);
    });
  });

  describe("writes", () => {
    it("regenerates a secret: the old one is rejected, the new one works after propagation", async () => {
      fixture.emulator.faults.propagationDelayMs = 10_000;
      const oldSecret = secretOf(TARGET.id);
      const regenerated = await admin.regenerateClientSecret(TARGET.id);
      assert.equal(regenerated.id, TARGET.id);
      assert.notEqual(regenerated.secret, oldSecret);
      const mint = (clientSecret: string) =>
        requestClientCredentialsToken(
          { endpoints: fixture.endpoints, clientId: TARGET.id, clientSecret },
          { clock: fixture.clock, maxAttempts: 1 },
        );
      await assert.rejects(mint(oldSecret), { name: "GenesysInvalidClientError" });
      await assert.rejects(mint(regenerated.secret), { name: "GenesysInvalidClientError" });
      fixture.clock.advance(10_000);
      const token = await mint(regenerated.secret);
      const info = await new GenesysApi(fixture.endpoints, token.accessToken, {
        clock: fixture.clock,
      }).getTokenInfo();
      assert.equal(info.OAuthClient.id, TARGET.id);
    });

    it("creates, updates and deletes a client", async () => {
      const created = await admin.createOAuthClient({
        name: "reporting-twin",
        authorizedGrantType: "CLIENT-CREDENTIALS",
        accessTokenValiditySeconds: 3600,
        roleDivisions: ROLE_DIVISIONS,
      });
      assert.ok(created.secret.length > 20);
      assert.ok(fixture.emulator.issued.secrets.has(created.secret));
      const updated = await admin.updateOAuthClient(created.id, {
        name: "reporting-twin",
        authorizedGrantType: "CLIENT-CREDENTIALS",
        accessTokenValiditySeconds: 3600,
        roleDivisions: ROLE_DIVISIONS,
        state: "inactive",
      });
      assert.equal(updated.state, "inactive");
      await admin.deleteOAuthClient(created.id);
      await assert.rejects(admin.getOAuthClient(created.id), GenesysNotFoundError);
    });

    it("updates an integration credential", async () => {
      await admin.updateIntegrationCredential(CREDENTIAL_ID, {
        name: "Data Actions (reporting)",
        type: "pureCloudOAuthClient",
        credentialFields: { clientId: TARGET.id, clientSecret: secretOf(TARGET.id) },
      });
      const stored = fixture.emulator.state.getIntegrationCredential(CREDENTIAL_ID)!;
      assert.equal(stored.credentialFields.clientSecret, secretOf(TARGET.id));
    });
  });
});

describe("GenesysApi response validation", () => {
  // A stand-in that answers with bodies of the wrong shape (the emulator always answers correctly).
  let server: Server;
  let api: GenesysApi;
  const bodies: Record<string, unknown> = {
    "/api/v2/oauth/clients/c1": {
      id: "c1",
      name: "n",
      authorizedGrantType: "CLIENT-CREDENTIALS",
      state: "active",
    },
    "/api/v2/oauth/clients/c2": {
      id: "c2",
      name: "n",
      accessTokenValiditySeconds: 3600,
      authorizedGrantType: "CLIENT-CREDENTIALS",
      state: "paused",
    },
    "/api/v2/oauth/clients/c3/secret": {
      id: "c3",
      name: "n",
      accessTokenValiditySeconds: 3600,
      authorizedGrantType: "CLIENT-CREDENTIALS",
      state: "active",
      secret: "has a space-leaky-secret-value",
    },
    "/api/v2/tokens/me": { organization: { id: "o", name: "o" } },
  };
  before(async () => {
    server = createHttpServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(bodies[path] ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    api = new GenesysApi({ environment: "mypurecloud.com", loginBaseUrl: base, apiBaseUrl: base }, "t0ken");
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const rejectsNaming = (call: Promise<unknown>, field: string) =>
    assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof GenesysProtocolError, String(error));
      assert.match(error.message, new RegExp(`response field "${field}"`));
      assert.ok(!error.message.includes("leaky"), "a rejected body is never echoed");
      return true;
    });

  it("names a missing field", () => rejectsNaming(api.getOAuthClient("c1"), "accessTokenValiditySeconds"));
  it("names an unknown enum value", () => rejectsNaming(api.getOAuthClient("c2"), "state"));
  it("refuses a regenerated secret that could not be stored", () =>
    rejectsNaming(api.regenerateClientSecret("c3"), "secret"));
  it("names a missing nested field", () => rejectsNaming(api.getTokenInfo(), "OAuthClient"));
});

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
