/**
 * Short drills under `genesys-rotator probe` profiles, continued: a propagation delay close to the
 * rotation's timeout, the single strategy under the flipped behaviours, and `--genesys-profile` itself.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDrillArgs } from "../../local/drill/options.ts";
import { drillPropagationTimeoutSeconds } from "../../local/stack/profile.ts";
import { profile } from "./profiles.ts";
import { assertDrillPassed, runShortDrill, shortDrill, succeeded } from "./support.ts";

describe("drill under Genesys profiles: timing and strategy", () => {
  it("a propagation delay close to the rotation's timeout: every rotation succeeded", {
    timeout: 150_000,
  }, async () => {
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

  it("single strategy under every flipped behaviour but token survival", { timeout: 150_000 }, async () => {
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
