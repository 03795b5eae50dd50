/**
 * A token that cannot be an HTTP header value (only a custom TokenSource can hand one out: the vendor's
 * answer is checked when it is parsed) is refused by every adapter before anything is sent, with a
 * ValidationError that names the field and never quotes the token. An HTTP client's own error for a bad
 * header value would quote it. The undici interceptor delivers the refusal to its handler instead of
 * leaving the request hanging — on the first send and on a 401 replay.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { inspect } from "node:util";
import axios from "axios";
import platformClient from "purecloud-platform-client-v2";
import { Agent, request } from "undici";
import { attachGenesysAuth } from "../../lambda/client/axios.ts";
import { useVendedTokens } from "../../lambda/client/genesys-sdk.ts";
import {
  bearerAuth,
  genesysFetch,
  type TokenSource,
  ValidationError,
  type VendedToken,
} from "../../lambda/client/index.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { type ApiStandIn, standInToken, startApiStandIn } from "./harness.ts";

const BROKEN_TOKEN = "header-breaking\r\nx-injected: token-secret";

/** A TokenSource whose tokens are `tokens[0]`, `tokens[1]`, … and then the last one again. */
function sourceOf(api: ApiStandIn, tokens: readonly string[]): TokenSource {
  let served = 0;
  return {
    async getToken(): Promise<VendedToken> {
      const accessToken = tokens[Math.min(served, tokens.length - 1)]!;
      served += 1;
      return standInToken(accessToken, api.url);
    },
    invalidate() {},
  };
}

function assertRefused(error: unknown): true {
  assert.ok(error instanceof ValidationError, `got ${inspect(error)}`);
  assert.equal(error.field, "accessToken");
  assertNoSecrets(`${error.message}\n${inspect(error, { depth: 10 })}`, { "access token": [BROKEN_TOKEN] });
  return true;
}

describe("a token that is not a header value", () => {
  let api: ApiStandIn;
  let agent: Agent;

  before(async () => {
    api = await startApiStandIn();
    agent = new Agent();
  });
  after(async () => {
    await agent?.close();
    await api?.stop();
  });
  beforeEach(() => api.reset());

  it("genesysFetch refuses it", async () => {
    await assert.rejects(
      genesysFetch("/api/v2/organizations/me", {}, { provider: sourceOf(api, [BROKEN_TOKEN]) }),
      assertRefused,
    );
    assert.equal(api.seen.length, 0);
  });

  it("the undici interceptor hands the refusal to the request, first send and 401 replay", async () => {
    const first = agent.compose(bearerAuth({ provider: sourceOf(api, [BROKEN_TOKEN]) }));
    await assert.rejects(request(`${api.url}/api/v2/organizations/me`, { dispatcher: first }), assertRefused);
    assert.equal(api.seen.length, 0);

    api.rejectNext = 1;
    const replay = agent.compose(bearerAuth({ provider: sourceOf(api, ["good-token-0001", BROKEN_TOKEN]) }));
    await assert.rejects(
      request(`${api.url}/api/v2/organizations/me`, { dispatcher: replay }),
      assertRefused,
    );
    assert.deepEqual(
      api.seen.map((seen) => seen.authorization),
      ["Bearer good-token-0001"],
    );
  });

  it("the axios adapter refuses it", async () => {
    const instance = axios.create();
    attachGenesysAuth(instance, { provider: sourceOf(api, [BROKEN_TOKEN]) });
    await assert.rejects(instance.get("/api/v2/organizations/me"), assertRefused);
    assert.equal(api.seen.length, 0);
  });

  it("the official SDK adapter refuses it", async () => {
    const apiClient = new platformClient.ApiClientClass();
    const detach = useVendedTokens(apiClient, { provider: sourceOf(api, [BROKEN_TOKEN]) });
    try {
      await assert.rejects(new platformClient.OrganizationApi(apiClient).getOrganizationsMe(), assertRefused);
    } finally {
      detach();
    }
    assert.equal(api.seen.length, 0);
  });
});
