/**
 * The fetch helper and the undici interceptor: Authorization header, 401 → rejectedToken → replay (a
 * second report only when the replay's token died too; at most two), the last 401 delivered as is, non-replayable bodies, and the origin guard of the interceptor. The vendor
 * is the fake vendor in the Lambda emulator; the API is a local stand-in that 401s revoked tokens.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Agent, request, fetch as undiciFetch } from "undici";
import {
  bearerAuth,
  genesysFetch,
  TokenProvider,
  UnknownCredentialError,
} from "../../lambda/client/index.ts";
import {
  type ApiStandIn,
  type FakeVendorHarness,
  startApiStandIn,
  startFakeVendorHarness,
} from "./harness.ts";

describe("bearer authorisation with replay on 401", () => {
  let harness: FakeVendorHarness;
  let api: ApiStandIn;
  let otherOrigin: ApiStandIn;
  let vendorName: string;
  let counter = 0;

  before(async () => {
    [harness, api, otherOrigin] = await Promise.all([
      startFakeVendorHarness(),
      startApiStandIn(),
      startApiStandIn(),
    ]);
  });
  after(async () => {
    await Promise.all([harness?.stop(), api?.stop(), otherOrigin?.stop()]);
  });
  beforeEach(async () => {
    counter += 1;
    vendorName = `fake-vendor-auth-${counter}`;
    await harness.register(vendorName, { FAKE_VENDOR_API_BASE_URL: api.url });
    api.reset();
  });

  function provider(): TokenProvider {
    return new TokenProvider({
      functionName: vendorName,
      lambdaClient: harness.lambdaClient,
      // Not about the invoke timeout: on a loaded machine an attempt may take over the default 10 s, and
      // its retry would count as an invocation.
      invokeTimeoutMs: 120_000,
    });
  }

  describe("genesysFetch", () => {
    it("resolves the path against apiBaseUrl and sends the bearer token", async () => {
      const tokens = provider();
      const response = await genesysFetch("/api/v2/organizations/me", {}, { provider: tokens });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { id: "org-1", name: "Example Org", state: "active" });
      const token = await tokens.getToken();
      assert.equal(api.seen[0]?.authorization, `Bearer ${token.accessToken}`);
    });

    it("on 401 reports the token to the vendor and replays once with the replacement, body included", async () => {
      const tokens = provider();
      const first = await tokens.getToken();
      api.revoked.add(first.accessToken);
      const response = await genesysFetch(
        `${api.url}/api/v2/things`,
        {
          method: "POST",
          body: '{"a":1}',
          headers: { "content-type": "application/json", authorization: "Bearer stale" },
        },
        { provider: tokens },
      );
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { method: "POST", path: "/api/v2/things", body: '{"a":1}' });
      assert.equal(api.seen.length, 2);
      assert.equal(
        api.seen[0]?.authorization,
        `Bearer ${first.accessToken}`,
        "the caller's header is replaced",
      );
      assert.notEqual(api.seen[1]?.authorization, `Bearer ${first.accessToken}`);
      assert.equal(harness.invocations(vendorName), 2);
    });

    it("a replacement rejected too (it died with the first token) is reported and replayed once more", async () => {
      const tokens = provider();
      await tokens.getToken();
      api.rejectNext = 2;
      const response = await genesysFetch("/api/v2/organizations/me", {}, { provider: tokens });
      assert.equal(response.status, 200);
      assert.equal(api.seen.length, 3);
      assert.equal(new Set(api.seen.map((seen) => seen.authorization)).size, 3, "three different tokens");
      assert.equal(harness.invocations(vendorName), 3, "the first vend and two reports");
    });

    it("a persistent 401 gets at most two reports and two replays, then is delivered", async () => {
      const tokens = provider();
      await tokens.getToken();
      api.rejectEverything = true;
      const response = await genesysFetch("/api/v2/organizations/me", {}, { provider: tokens });
      assert.equal(response.status, 401);
      assert.equal(api.seen.length, 3, "two replays, not more");
      assert.equal(harness.invocations(vendorName), 3, "two rejectedToken reports, not more");
    });

    it("a 401 the vendor answers with the same token (Genesys still accepts it) is reported once", async () => {
      await harness.register(vendorName, {
        FAKE_VENDOR_API_BASE_URL: api.url,
        FAKE_VENDOR_KEEPS_REPORTED: "1",
      });
      const tokens = provider();
      await tokens.getToken();
      api.rejectEverything = true;
      const response = await genesysFetch("/api/v2/organizations/me", {}, { provider: tokens });
      assert.equal(response.status, 401);
      assert.equal(api.seen.length, 2, "one replay");
      assert.equal(harness.invocations(vendorName), 2, "one rejectedToken report");
    });

    it("does not replay a streamed body; the token is invalidated for the next call", async () => {
      const tokens = provider();
      const first = await tokens.getToken();
      api.revoked.add(first.accessToken);
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("streamed"));
          controller.close();
        },
      });
      const response = await genesysFetch(
        "/api/v2/things",
        { method: "POST", body, duplex: "half" } as RequestInit,
        { provider: tokens },
      );
      assert.equal(response.status, 401);
      assert.equal(api.seen.length, 1);
      const next = await tokens.getToken();
      assert.notEqual(next.accessToken, first.accessToken);
      assert.equal(harness.invocations(vendorName), 2);
    });

    it("surfaces the vendor's typed error", async () => {
      await assert.rejects(
        genesysFetch(
          "/api/v2/organizations/me",
          {},
          { provider: provider(), credential: "fail-UnknownCredentialError" },
        ),
        UnknownCredentialError,
      );
      assert.equal(api.seen.length, 0);
    });
  });

  describe("bearerAuth interceptor (undici)", () => {
    it("adds the header, hides the first 401 and replays a POST with its body once", async () => {
      const tokens = provider();
      const agent = new Agent();
      const dispatcher = agent.compose(bearerAuth({ provider: tokens }));
      try {
        const first = await tokens.getToken();
        api.revoked.add(first.accessToken);
        const response = await request(`${api.url}/api/v2/things`, {
          method: "POST",
          body: "payload",
          headers: { authorization: "Bearer stale", "x-extra": "kept" },
          dispatcher,
        });
        assert.equal(response.statusCode, 200);
        assert.deepEqual(await response.body.json(), {
          method: "POST",
          path: "/api/v2/things",
          body: "payload",
        });
        assert.deepEqual(
          api.seen.map((seen) => seen.authorization === `Bearer ${first.accessToken}`),
          [true, false],
        );
        assert.equal(api.seen[1]?.body, "payload");
        assert.equal(harness.invocations(vendorName), 2);
      } finally {
        await agent.close();
      }
    });

    it("a replacement rejected too is reported and replayed once more; the caller sees the 200", async () => {
      const tokens = provider();
      const agent = new Agent();
      try {
        await tokens.getToken();
        api.rejectNext = 2;
        const response = await request(`${api.url}/api/v2/organizations/me`, {
          dispatcher: agent.compose(bearerAuth({ provider: tokens })),
        });
        assert.equal(response.statusCode, 200);
        await response.body.dump();
        assert.equal(api.seen.length, 3);
        assert.equal(new Set(api.seen.map((seen) => seen.authorization)).size, 3);
        assert.equal(harness.invocations(vendorName), 3);
      } finally {
        await agent.close();
      }
    });

    it("a persistent 401 is delivered after at most two reports", async () => {
      const tokens = provider();
      const agent = new Agent();
      try {
        await tokens.getToken();
        api.rejectEverything = true;
        const response = await request(`${api.url}/api/v2/organizations/me`, {
          dispatcher: agent.compose(bearerAuth({ provider: tokens })),
        });
        assert.equal(response.statusCode, 401);
        await response.body.dump();
        assert.equal(api.seen.length, 3);
        assert.equal(harness.invocations(vendorName), 3);
      } finally {
        await agent.close();
      }
    });

    it("a 401 the vendor answers with the same token is reported once", async () => {
      await harness.register(vendorName, {
        FAKE_VENDOR_API_BASE_URL: api.url,
        FAKE_VENDOR_KEEPS_REPORTED: "1",
      });
      const tokens = provider();
      const agent = new Agent();
      try {
        await tokens.getToken();
        api.rejectEverything = true;
        const response = await request(`${api.url}/api/v2/organizations/me`, {
          dispatcher: agent.compose(bearerAuth({ provider: tokens })),
        });
        assert.equal(response.statusCode, 401);
        await response.body.dump();
        assert.equal(api.seen.length, 2);
        assert.equal(harness.invocations(vendorName), 2);
      } finally {
        await agent.close();
      }
    });

    it("does not replay undici.fetch bodies (streamed) but invalidates the token", async () => {
      const tokens = provider();
      const agent = new Agent();
      try {
        const first = await tokens.getToken();
        api.revoked.add(first.accessToken);
        const dispatcher = agent.compose(bearerAuth({ provider: tokens }));
        const response = await undiciFetch(`${api.url}/api/v2/things`, {
          method: "POST",
          body: "x",
          dispatcher,
        });
        assert.equal(response.status, 401);
        await response.arrayBuffer();
        assert.equal(api.seen.length, 1);
        assert.notEqual((await tokens.getToken()).accessToken, first.accessToken);
      } finally {
        await agent.close();
      }
    });

    it("sends no token to an origin other than the token's apiBaseUrl", async () => {
      const tokens = provider();
      const agent = new Agent();
      try {
        const response = await request(`${otherOrigin.url}/anything`, {
          dispatcher: agent.compose(bearerAuth({ provider: tokens })),
        });
        await response.body.dump();
        assert.equal(otherOrigin.seen.at(-1)?.authorization, undefined);
      } finally {
        await agent.close();
      }
    });

    it("fails the request with the vendor's typed error", async () => {
      const agent = new Agent();
      try {
        const dispatcher = agent.compose(
          bearerAuth({ provider: provider(), credential: "fail-UnknownCredentialError" }),
        );
        await assert.rejects(
          request(`${api.url}/api/v2/organizations/me`, { dispatcher }),
          UnknownCredentialError,
        );
      } finally {
        await agent.close();
      }
    });
  });
});
