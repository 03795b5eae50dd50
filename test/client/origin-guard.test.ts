/**
 * The token goes only to its API: `genesysFetch` refuses URLs on another origin than the token's
 * `apiBaseUrl`, and the interceptor with fixed `origins` passes other hosts through without asking the
 * provider (so they neither wait for a token nor fail while the vendor is down).
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Agent, request } from "undici";
import {
  bearerAuth,
  ForeignOriginError,
  type GetTokenOptions,
  genesysFetch,
  type TokenSource,
  type VendedToken,
  VendorInvokeError,
} from "../../lambda/client/index.ts";
import { ValidationError } from "../../lambda/shared/errors.ts";
import { type ApiStandIn, standInToken, startApiStandIn } from "./harness.ts";

const ACCESS_TOKEN = "origin-guard-token";

/** A TokenSource for the API stand-in at `apiBaseUrl`; `down` makes every lookup fail like a vendor outage. */
function countingSource(apiBaseUrl: string): TokenSource & { calls: number; down: boolean } {
  const source = {
    calls: 0,
    down: false,
    async getToken(_options?: GetTokenOptions): Promise<VendedToken> {
      source.calls += 1;
      if (source.down) throw new VendorInvokeError("vendor", "Timeout", true, "no answer within 10 ms");
      return standInToken(ACCESS_TOKEN, apiBaseUrl);
    },
    invalidate() {},
  };
  return source;
}

describe("origin guard", () => {
  let api: ApiStandIn;
  let elsewhere: ApiStandIn;

  before(async () => {
    [api, elsewhere] = await Promise.all([startApiStandIn(), startApiStandIn()]);
  });
  after(async () => {
    await Promise.all([api?.stop(), elsewhere?.stop()]);
  });
  beforeEach(() => {
    api.reset();
    elsewhere.reset();
  });

  describe("genesysFetch", () => {
    it("refuses a URL, URL object or Request on another origin and sends nothing", async () => {
      const provider = countingSource(api.url);
      const foreign = `${elsewhere.url}/api/v2/next-page`;
      for (const input of [foreign, new URL(foreign), new Request(foreign)]) {
        await assert.rejects(genesysFetch(input, {}, { provider }), (error: unknown) => {
          assert.ok(error instanceof ForeignOriginError);
          assert.ok(error instanceof ValidationError, "a caller mistake, not retryable");
          assert.equal(error.name, "ForeignOriginError");
          assert.equal(error.retryable, false);
          assert.equal(error.origin, elsewhere.url);
          assert.equal(error.apiOrigin, api.url);
          assert.match(error.message, /token's API origin/);
          assert.doesNotMatch(error.message, new RegExp(ACCESS_TOKEN));
          return true;
        });
      }
      assert.equal(elsewhere.seen.length, 0, "the other origin received no request at all");
    });

    it("rejects an input that is neither a path nor an absolute URL", async () => {
      await assert.rejects(
        genesysFetch("api/v2/users", {}, { provider: countingSource(api.url) }),
        (error: unknown) => error instanceof ValidationError && error.field === "input",
      );
    });

    it("sends the token to an absolute URL on the apiBaseUrl origin", async () => {
      const response = await genesysFetch(
        `${api.url}/api/v2/organizations/me`,
        {},
        {
          provider: countingSource(api.url),
        },
      );
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      assert.equal(api.seen[0]?.authorization, `Bearer ${ACCESS_TOKEN}`);
    });
  });

  describe("bearerAuth with fixed origins", () => {
    it("passes other origins through without a token lookup, even while the vendor is down", async () => {
      const provider = countingSource(api.url);
      provider.down = true;
      const agent = new Agent();
      try {
        const dispatcher = agent.compose(bearerAuth({ provider, origins: [api.url] }));
        const response = await request(`${elsewhere.url}/anything`, {
          dispatcher,
          headers: { authorization: "Bearer callers-own" },
        });
        await response.body.dump();
        assert.equal(provider.calls, 0, "no token lookup for an unrelated host");
        assert.equal(elsewhere.seen[0]?.authorization, "Bearer callers-own", "passed through untouched");

        // The configured origin still needs the vendor and reports its outage.
        await assert.rejects(
          request(`${api.url}/api/v2/organizations/me`, { dispatcher }),
          VendorInvokeError,
        );
        assert.equal(provider.calls, 1);
      } finally {
        await agent.close();
      }
    });

    it("authorises requests to a configured origin", async () => {
      const provider = countingSource(api.url);
      const agent = new Agent();
      try {
        const dispatcher = agent.compose(bearerAuth({ provider, origins: [api.url] }));
        const response = await request(`${api.url}/api/v2/organizations/me`, { dispatcher });
        await response.body.dump();
        assert.equal(response.statusCode, 200);
        assert.equal(api.seen[0]?.authorization, `Bearer ${ACCESS_TOKEN}`);
      } finally {
        await agent.close();
      }
    });
  });
});
