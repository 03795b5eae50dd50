/**
 * The drill's `sdk` consumer kind (local/drill/consumer-kinds/sdk.ts): the official SDK with vended
 * tokens, calling the Genesys emulator as the drill's consumers do; every answer is a status.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TokenSource, VendedToken } from "../../lambda/client/index.ts";
import { createSdkConsumer } from "../../local/drill/consumer-kinds/sdk.ts";
import { type GenesysEmulator, startGenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import { DRILL_IDS, drillGenesysState, fakeSecret } from "../../local/stack/seed.ts";
import { requestToken } from "../genesys-emulator/support.ts";

describe("the sdk consumer kind", () => {
  let genesys: GenesysEmulator;
  before(async () => {
    genesys = await startGenesysEmulator({ state: drillGenesysState() });
  });
  after(() => genesys.stop());

  /** A token source minting from the emulator for `clientId` (what the vendor would hand out). */
  function emulatorTokens(clientId: string, secret: string): TokenSource {
    return {
      async getToken(): Promise<VendedToken> {
        const response = await requestToken(genesys.url, clientId, secret);
        const body = (await response.json()) as { access_token: string; expires_in: number };
        return {
          accessToken: body.access_token,
          tokenType: "Bearer",
          expiresAt: new Date(Date.now() + body.expires_in * 1000).toISOString(),
          expiresInSeconds: body.expires_in,
          environment: "mypurecloud.ie",
          apiBaseUrl: genesys.url,
        };
      },
      invalidate() {},
    };
  }

  it("calls GET /api/v2/organizations/me and reports the final status, 429s included", async () => {
    const consumer = createSdkConsumer(emulatorTokens(DRILL_IDS.appA, fakeSecret("app-a")), {
      retryRateLimited: false,
    });
    try {
      assert.deepEqual(await consumer.call(), { status: 200 });
      genesys.faults.apiRateLimit.nextN = 1;
      assert.deepEqual(await consumer.call(), { status: 429 });
      assert.equal(genesys.counters.requests("GET /api/v2/organizations/me"), 2);
    } finally {
      consumer.close();
    }
  });
});
