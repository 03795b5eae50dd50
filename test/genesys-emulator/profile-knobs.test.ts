/**
 * The behaviour knobs a `genesys-rotator probe` profile sets: the invalid_client status, `dateModified` on
 * regeneration, the letter case of client ids, and the mapping of a profile onto the emulator options.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GENESYS_PROFILE_FORMAT, parseGenesysProfile } from "../../lambda/shared/genesys/profile.ts";
import { emulatorOptionsFromProfile } from "../../local/genesys-cloud/profile.ts";
import { ADMIN, api, json, mint, requestToken, startTestEmulator, TARGET } from "./support.ts";

describe("Genesys emulator: profile behaviours", () => {
  it("answers invalid_client with the configured status", async () => {
    const emulator = await startTestEmulator({ invalidClientStatus: 401 });
    try {
      const wrong = await requestToken(emulator.url, TARGET.id, "not-the-secret");
      assert.equal(wrong.status, 401);
      assert.equal((await json(wrong)).error, "invalid_client");
      emulator.faults.invalidClientStatus = 400;
      assert.equal((await requestToken(emulator.url, "no-such-client", "x")).status, 400);
    } finally {
      await emulator.stop();
    }
  });

  it("leaves dateModified alone on regeneration when told to", async () => {
    const emulator = await startTestEmulator({ dateModifiedMovesOnRegeneration: false });
    try {
      const before = emulator.state.getClient(TARGET.id)!.dateModified;
      emulator.clock.advance(5000);
      const token = await mint(emulator.url, ADMIN.id, ADMIN.secret);
      const regenerated = await api(emulator.url, token, "POST", `/api/v2/oauth/clients/${TARGET.id}/secret`);
      assert.equal(regenerated.status, 200);
      assert.equal(emulator.state.getClient(TARGET.id)!.dateModified, before);
      emulator.faults.dateModifiedMovesOnRegeneration = true;
      emulator.clock.advance(5000);
      await api(emulator.url, token, "POST", `/api/v2/oauth/clients/${TARGET.id}/secret`);
      assert.ok(emulator.state.getClient(TARGET.id)!.dateModified > before);
    } finally {
      await emulator.stop();
    }
  });

  it("finds clients by id in any letter case when ids are case-insensitive, answering with the stored id", async () => {
    const emulator = await startTestEmulator({ clientIdsCaseSensitive: false });
    try {
      const upper = TARGET.id.toUpperCase();
      const token = await mint(emulator.url, upper, TARGET.secret);
      const me = await json(await api(emulator.url, token, "GET", "/api/v2/tokens/me"));
      assert.equal((me.OAuthClient as { id: string }).id, TARGET.id);
      const admin = await mint(emulator.url, ADMIN.id, ADMIN.secret);
      const found = await api(emulator.url, admin, "GET", `/api/v2/oauth/clients/${upper}`);
      assert.equal(found.status, 200);
      assert.equal((await json(found)).id, TARGET.id);
      emulator.faults.clientIdsCaseSensitive = true;
      assert.equal((await api(emulator.url, admin, "GET", `/api/v2/oauth/clients/${upper}`)).status, 404);
      assert.equal((await requestToken(emulator.url, upper, TARGET.secret)).status, 400);
    } finally {
      await emulator.stop();
    }
  });

  it("maps a profile onto the options (the median propagation delay)", () => {
    const profile = parseGenesysProfile({
      format: GENESYS_PROFILE_FORMAT,
      measuredAt: "2026-12-01T10:00:00Z",
      environment: "mypurecloud.ie",
      invalidClientStatus: 401,
      invalidClientBody: { error: "invalid_client", keys: ["error"] },
      propagationDelayMs: { min: 1000, median: 2000, max: 9000, samples: [1000, 9000, 2000] },
      acceptedStreak: 3,
      tokensSurviveRegeneration: false,
      tokenSurvivalCheckedForMs: 1000,
      dateModifiedMovesOnRegeneration: false,
      clockSkewMs: null,
      clientIdsCaseSensitive: false,
      tokenLifetimeSeconds: 3600,
      tokenRateLimitRetryAfter: 5,
      tokenRateLimitSeen: true,
      requests: 80,
    });
    assert.deepEqual(emulatorOptionsFromProfile(profile), {
      invalidClientStatus: 401,
      propagationDelayMs: 2000,
      tokensSurviveRegeneration: false,
      dateModifiedMovesOnRegeneration: false,
      clientIdsCaseSensitive: false,
      tokenLifetimeSeconds: 3600,
    });
  });
});
