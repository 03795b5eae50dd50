/**
 * Drills with faults the rotator must absorb completely: every rotation succeeds and no consumer call
 * fails.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertDrillPassed, runShortDrill, shortDrill, succeeded } from "./support.ts";

describe("drill with faults that must not fail a rotation", { timeout: 600_000 }, () => {
  it("propagation-delay: testSecret waits for the new secret", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["propagation-delay"] }));
    assertDrillPassed(result);
    assert.equal(succeeded(result), 1);
    const delay = result.faults.find((f) => f.fault === "propagation-delay");
    assert.ok(delay && delay.fault === "propagation-delay" && delay.delayMs >= 1500);
    // testSecret had to wait out the delay: the rotation cannot have been faster than it.
    const rotation = result.rotations[0]!;
    assert.ok(rotation.endMs - rotation.startMs >= delay.delayMs, JSON.stringify(rotation));
  });

  it("dynamodb-outage: the vendor keeps serving while the table is unreachable", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["dynamodb-outage"] }));
    assertDrillPassed(result);
    assert.equal(succeeded(result), 1);
    // Traffic did not stall: every whole second of every outage window completed calls.
    for (const window of result.faults) {
      for (
        let second = Math.ceil(window.startMs / 1000);
        second < Math.floor(window.endMs / 1000);
        second++
      ) {
        assert.ok(
          (result.timeline[second]?.calls ?? 0) > 0,
          `no call completed in second ${second} of an outage`,
        );
      }
    }
  });

  it("crash-rotation: a container killed mid-step, Secrets Manager's retry converges", async () => {
    const result = await runShortDrill(
      shortDrill({ faults: ["crash-rotation"], rotations: 2, durationSeconds: 12 }),
    );
    assertDrillPassed(result);
    assert.equal(succeeded(result), 2);
    const crashed = result.steps.filter((s) => s.crashed);
    assert.ok(crashed.length >= 1, `no step was crashed: ${JSON.stringify(result.steps)}`);
    for (const step of crashed) assert.equal(step.ok, false);
    assert.ok(
      result.rotations.some((r) => r.attempts >= 2),
      "a crashed rotation needs a second attempt",
    );
  });

  it("tokens-die-on-regeneration: a 401 is replayed through the vendor's rejectedToken path", async () => {
    // Two rotations: the second regenerates the client whose tokens consumers held before the first.
    const result = await runShortDrill(
      shortDrill({
        faults: ["tokens-die-on-regeneration"],
        rotations: 2,
        durationSeconds: 12,
        tokenLifetimeSeconds: 30,
      }),
    );
    assertDrillPassed(result);
    assert.equal(succeeded(result), 2);
    assert.deepEqual(
      result.activeClientHistory.map((c) => c.label),
      ["app-a", "app-b", "app-a"],
    );
    // Consumers still held app-a tokens when the second rotation regenerated app-a: they met 401s and
    // recovered through the fetch helper's replay (no consumer failure above).
    assert.ok(result.genesys.unauthorized > 0, "no token died: the 401 path was not exercised");
  });
});
