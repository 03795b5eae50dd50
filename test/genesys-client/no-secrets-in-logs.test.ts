/**
 * Drives the real client through success and failure scenarios with a DEBUG logger and raw error
 * printing, capturing everything written to stdout/stderr, then proves that none of the secrets and
 * tokens the emulator ever issued appears in it.
 */
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { describeError } from "../../lambda/shared/errors.ts";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import type { GenesysCallOptions } from "../../lambda/shared/genesys/http.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import { createLogger, type Log } from "../../lambda/shared/log.ts";
import { assertNoSecrets, captureOutput } from "../support/log-capture.ts";
import {
  ADMIN,
  type ClientFixture,
  CREDENTIAL_ID,
  ROLE_DIVISIONS,
  startClientFixture,
  TARGET,
} from "./fixture.ts";

let fixture: ClientFixture;
before(async () => {
  fixture = await startClientFixture({ propagationDelayMs: 5_000 });
});
after(() => fixture.stop());

it("no issued secret or token reaches the logs, errors or console output of the client", async () => {
  const savedLevel = process.env.POWERTOOLS_LOG_LEVEL;
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
  // The Powertools Logger accepts every object the Log interface passes; only its parameter type is
  // narrower (LogAttributes), hence the cast. See the report: log.ts could export an adapter.
  const log = createLogger("genesys-client-leak-test") as unknown as Log;
  const { emulator, clock, endpoints } = fixture;
  const options: GenesysCallOptions = { clock, log, timeoutMs: 2_000 };
  const secretOf = (id: string) => emulator.state.getClient(id)!.secret;
  const mint = (clientId: string, clientSecret: string, extra: GenesysCallOptions = {}) =>
    requestClientCredentialsToken({ endpoints, clientId, clientSecret }, { ...options, ...extra });
  /** Runs a scenario expected to fail and prints its error every way a careless caller might. */
  const failing = async (scenario: Promise<unknown>) => {
    try {
      await scenario;
      assert.fail("expected a failure");
    } catch (error) {
      log.error("scenario failed", describeError(error));
      log.error("scenario failed (raw error object)", { error });
      console.error(error);
      console.log(String(error), JSON.stringify(error));
    }
  };

  let captured: string;
  try {
    ({ output: captured } = await captureOutput(async () => {
      const adminToken = await mint(ADMIN.id, secretOf(ADMIN.id));
      const admin = new GenesysApi(endpoints, adminToken.accessToken, options);
      console.log("the api object:", admin);

      // Success paths.
      const targetToken = await mint(TARGET.id, secretOf(TARGET.id));
      const reader = new GenesysApi(endpoints, targetToken.accessToken, options);
      await reader.getTokenInfo();
      await reader.probeToken();
      const created = await admin.createOAuthClient({
        name: "twin",
        authorizedGrantType: "CLIENT-CREDENTIALS",
        roleDivisions: ROLE_DIVISIONS,
      });
      log.info("created client", { clientId: created.id });
      await admin.updateIntegrationCredential(CREDENTIAL_ID, {
        name: "Data Actions",
        type: "pureCloudOAuthClient",
        credentialFields: { clientId: created.id, clientSecret: created.secret },
      });

      // Failure paths: wrong secret, propagation delay, throttling, resets, permission, timeout.
      const oldSecret = secretOf(TARGET.id);
      const regenerated = await admin.regenerateClientSecret(TARGET.id);
      await failing(mint(TARGET.id, oldSecret, { maxAttempts: 1 }));
      await failing(mint(TARGET.id, regenerated.secret, { maxAttempts: 1 }));
      clock.advance(5_000);
      await mint(TARGET.id, regenerated.secret);
      emulator.faults.tokenRateLimit.nextN = 1;
      emulator.faults.tokenRateLimit.retryAfterSeconds = 1;
      await mint(TARGET.id, regenerated.secret);
      emulator.faults.tokenRateLimit.enabled = true;
      await failing(mint(TARGET.id, regenerated.secret, { maxAttempts: 2 }));
      emulator.faults.reset();
      emulator.faults.apiRateLimit.nextN = 1;
      await admin.getOAuthClient(TARGET.id);
      emulator.faults.apiRateLimit.enabled = true;
      emulator.faults.apiRateLimit.retryAfterSeconds = 120;
      await failing(admin.regenerateClientSecret(TARGET.id));
      emulator.faults.reset();
      emulator.faults.connectionResets.nextN = 1;
      await admin.getTokenInfo();
      emulator.faults.connectionResets = {
        nextN: 1,
        probability: 0,
        afterProcessing: true,
        target: { method: "POST", pathPrefix: "/api/" },
      };
      await failing(admin.regenerateClientSecret(TARGET.id));
      emulator.faults.reset();
      await failing(reader.getOAuthClient(TARGET.id));
      emulator.faults.latencyMs = 1_000;
      await failing(admin.getTokenInfo({ timeoutMs: 100, maxAttempts: 1 }));
      emulator.faults.reset();
      await failing(new GenesysApi(endpoints, `${targetToken.accessToken}x`, options).getTokenInfo());
    }));
  } finally {
    if (savedLevel === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
    else process.env.POWERTOOLS_LOG_LEVEL = savedLevel;
  }

  // The capture really saw the client's DEBUG/WARN lines and the printed errors (else this test proves nothing).
  assert.match(captured, /Genesys call failed; retrying/);
  assert.match(captured, /GenesysInvalidClientError/);
  assert.match(captured, /GenesysTransientError/);
  assert.ok(emulator.issued.secrets.size >= 5 && emulator.issued.accessTokens.size >= 4);
  assertNoSecrets(captured, {
    "client secret": emulator.issued.secrets,
    "access token": emulator.issued.accessTokens,
  });
});
