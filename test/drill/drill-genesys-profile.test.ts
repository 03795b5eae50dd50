/**
 * Short drills under `genesys-rotator probe` profiles with each unconfirmed Genesys behaviour flipped
 * (docs/genesys-facts.md): 401 instead of 400 for invalid_client, tokens dying on regeneration,
 * dateModified not moving, case-insensitive client ids, and a propagation delay close to the rotation's
 * timeout (drill-genesys-profile-timing.test.ts). Each must pass with no consumer failure and every
 * rotation succeeded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GenesysProfile } from "../../lambda/shared/genesys/profile.ts";
import type { DrillOptions } from "../../local/drill/options.ts";
import { profile } from "./profiles.ts";
import { assertDrillPassed, runShortDrill, shortDrill, succeeded } from "./support.ts";

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

describe("drill under Genesys profiles: each behaviour flipped", () => {
  for (const { name, profile: flipped, drill } of FLIPPED) {
    it(`${name}: no consumer failure, every rotation succeeded`, { timeout: 150_000 }, async () => {
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
});
