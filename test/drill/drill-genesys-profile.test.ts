/**
 * Short drills under `genesys-rotator probe` profiles with each unconfirmed Genesys behaviour flipped
 * (docs/genesys-facts.md): 401 instead of 400 for invalid_client, tokens dying on regeneration,
 * dateModified not moving, case-insensitive client ids, and a propagation delay close to the rotation's
 * timeout. Each must pass with no consumer failure and every rotation succeeded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GENESYS_PROFILE_FORMAT,
  type GenesysProfile,
  parseGenesysProfile,
} from "../../lambda/shared/genesys/profile.ts";
import { type DrillOptions, parseDrillArgs } from "../../local/drill/options.ts";
import { drillPropagationTimeoutSeconds } from "../../local/stack/profile.ts";
import { assertDrillPassed, runShortDrill, shortDrill, succeeded } from "./support.ts";

/** A profile as probe writes it for the emulator's default behaviour, with `overrides`. */
function profile(overrides: Partial<GenesysProfile> = {}): GenesysProfile {
  return parseGenesysProfile({
    format: GENESYS_PROFILE_FORMAT,
    measuredAt: "2026-12-01T10:00:00.000Z",
    environment: "mypurecloud.ie",
    invalidClientStatus: 400,
    invalidClientBody: { error: "invalid_client", keys: ["description", "error", "error_description"] },
    propagationDelayMs: { min: 200, median: 300, max: 400, samples: [300, 200, 400] },
    acceptedStreak: 3,
    tokensSurviveRegeneration: true,
    tokenSurvivalCheckedForMs: 2000,
    dateModifiedMovesOnRegeneration: true,
    clockSkewMs: 0,
    clientIdsCaseSensitive: true,
    tokenLifetimeSeconds: 86_400,
    tokenRateLimitRetryAfter: null,
    tokenRateLimitSeen: false,
    requests: 60,
    ...overrides,
  });
}

const FLIPPED: { name: string; profile: GenesysProfile; drill?: Partial<DrillOptions> }[] = [
  { name: "invalid_client answered with 401", profile: profile({ invalidClientStatus: 401 }) },
  {
    name: "tokens die on regeneration",
    profile: profile({ tokensSurviveRegeneration: false }),
    // Two rotations: the second regenerates the client whose tokens consumers still hold.
    drill: { rotations: 2, durationSeconds: 10, tokenLifetimeSeconds: 30 },
  },
  { name: "dateModified does not move", profile: profile({ dateModifiedMovesOnRegeneration: false }) },
  { name: "client ids are case-insensitive", profile: profile({ clientIdsCaseSensitive: false }) },
];

describe("drill under Genesys profiles", { timeout: 240_000 }, () => {
  for (const { name, profile: flipped, drill } of FLIPPED) {
    it(`${name}: no consumer failure, every rotation succeeded`, async () => {
      const options = shortDrill({ durationSeconds: 8, genesysProfile: flipped, ...drill });
      const result = await runShortDrill(options, (stack) => {
        // The emulator runs with the profile's behaviour (the drill's own token lifetime stays).
        assert.equal(stack.genesys.faults.invalidClientStatus, flipped.invalidClientStatus);
        assert.equal(stack.genesys.faults.tokensSurviveRegeneration, flipped.tokensSurviveRegeneration);
        assert.equal(
          stack.genesys.faults.dateModifiedMovesOnRegeneration,
          flipped.dateModifiedMovesOnRegeneration,
        );
        assert.equal(stack.genesys.faults.clientIdsCaseSensitive, flipped.clientIdsCaseSensitive);
        assert.equal(stack.genesys.faults.propagationDelayMs, flipped.propagationDelayMs.median);
        assert.equal(stack.genesys.faults.tokenLifetimeSeconds, options.tokenLifetimeSeconds);
      });
      assertDrillPassed(result);
      assert.equal(succeeded(result), result.rotationsRequested);
    });
  }

  it("a propagation delay close to the rotation's timeout: every rotation succeeded", async () => {
    const slow = profile({
      propagationDelayMs: { min: 3500, median: 4000, max: 4500, samples: [4000, 3500, 4500] },
    });
    const result = await runShortDrill(
      shortDrill({ durationSeconds: 10, genesysProfile: slow }),
      undefined,
      [],
      { propagationTimeoutSeconds: 6 },
    );
    assertDrillPassed(result);
    assert.equal(succeeded(result), result.rotationsRequested);
  });

  it("single strategy under every flipped behaviour but token survival", async () => {
    const flipped = profile({
      invalidClientStatus: 401,
      dateModifiedMovesOnRegeneration: false,
      clientIdsCaseSensitive: false,
    });
    const result = await runShortDrill(
      shortDrill({ durationSeconds: 8, strategy: "single", genesysProfile: flipped }),
    );
    assertDrillPassed(result);
    assert.equal(succeeded(result), result.rotationsRequested);
  });

  it("--genesys-profile reads a profile file; the timeout is sized from it", () => {
    const slow = profile({
      propagationDelayMs: { min: 9000, median: 10_000, max: 12_000, samples: [9000, 10_000, 12_000] },
    });
    assert.equal(drillPropagationTimeoutSeconds({ genesysProfile: slow }), 34);
    assert.equal(drillPropagationTimeoutSeconds({ genesysProfile: profile() }), 15);
    assert.equal(drillPropagationTimeoutSeconds({ genesysProfile: slow, propagationTimeoutSeconds: 20 }), 20);
    assert.throws(
      () => parseDrillArgs(["--genesys-profile", "/nonexistent/profile.json"]),
      /--genesys-profile/,
    );
  });
});
