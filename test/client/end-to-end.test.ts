/**
 * End to end through the real vending function: the example consumer Lambda (lambda/examples/consumer.ts)
 * and the vending handler both run in the Lambda emulator; the consumer invokes the vendor over the
 * Invoke API, the vendor mints from the Genesys emulator via Secrets Manager and DynamoDB, and the
 * consumer calls GET /api/v2/organizations/me on the Genesys emulator. A token revoked in Genesys is
 * answered by one rejectedToken mint and one replay.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { TokenProvider } from "../../lambda/client/index.ts";
import type { OrganizationSummary } from "../../lambda/examples/consumer.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../local/aws/lambda/index.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import {
  LOCAL_AWS,
  startVendingStack,
  VENDING_CREDENTIALS,
  type VendingStack,
} from "../support/vending-stack.ts";

const VENDING_HANDLER = fileURLToPath(new URL("../../lambda/vending/handler.ts", import.meta.url));
const CONSUMER_HANDLER = fileURLToPath(new URL("../../lambda/examples/consumer.ts", import.meta.url));

describe("consumer Lambda → vending Lambda → Genesys (emulators)", () => {
  let stack: VendingStack;
  let emulator: LambdaEmulator;
  let lambdaClient: LambdaClient;

  before(async () => {
    stack = await startVendingStack();
    emulator = await startLambdaEmulator();
    lambdaClient = new LambdaClient({ ...LOCAL_AWS, endpoint: emulator.url, maxAttempts: 1 });
    await emulator.register("token-vending", {
      module: VENDING_HANDLER,
      environment: { ...stack.environment, POWERTOOLS_LOG_LEVEL: "SILENT" },
      containers: 2,
      // One alias per credential, as TokenVendor deploys it.
      aliases: [...Object.keys(stack.credentials), "cache-warming"],
      // Cold starts are not under test; a loaded machine may need well over the default 10 s.
      initTimeoutMs: 120_000,
    });
    await emulator.register("consumer", {
      module: CONSUMER_HANDLER,
      environment: {
        // What TokenVendor.vendorFunctionNameFor gives: the alias of the credential this consumer is granted.
        TOKEN_VENDOR_FUNCTION_NAME: `token-vending:${VENDING_CREDENTIALS.app}`,
        AWS_ENDPOINT_URL_LAMBDA: emulator.url,
        AWS_REGION: LOCAL_AWS.region,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      },
      initTimeoutMs: 120_000,
      timeoutMs: 120_000,
    });
    // Start both vendor containers now, so the consumer's Invoke (10 s per attempt) never waits for one.
    // An invalid payload loads the handler without minting (the test counts mints).
    const start = () =>
      emulator
        .invoke(`token-vending:${VENDING_CREDENTIALS.app}`, { minTtlSeconds: -1 })
        .catch(() => undefined);
    await Promise.all([start(), start()]);
  });
  after(async () => {
    lambdaClient?.destroy();
    await emulator?.stop();
    await stack?.stop();
  });

  it("the consumer reads its organisation with a vended token, and recovers from a revoked token with one mint", async () => {
    const genesys = stack.rotation.genesys;
    const summary = (await emulator.invoke("consumer", {})) as OrganizationSummary;
    assert.equal(summary.status, 200);
    assert.ok(summary.organizationId.length > 0);
    const mintsAfterFirstCall = genesys.counters.mints();
    assert.equal(mintsAfterFirstCall, 1);

    // The consumer's cached token dies in Genesys (as after a revocation).
    const { accessToken, apiBaseUrl } = await new TokenProvider({
      functionName: `token-vending:${VENDING_CREDENTIALS.app}`,
      lambdaClient,
    }).getToken();
    assertNoSecrets(JSON.stringify(summary), { "access token": [accessToken] });
    const revoke = await fetch(`${apiBaseUrl}/api/v2/tokens/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${accessToken}` },
    });
    assert.ok(revoke.ok, `revocation answered ${revoke.status}`);

    const again = (await emulator.invoke("consumer", {})) as OrganizationSummary;
    assert.equal(again.status, 200, "the 401 was answered by a replay with a new token");
    assert.equal(genesys.counters.mints() - mintsAfterFirstCall, 1, "one rejectedToken mint");
    assert.equal(emulator.counters("consumer").errors, 0);
  });
});
