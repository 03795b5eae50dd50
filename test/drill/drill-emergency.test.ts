/**
 * The drill's `--emergency-at`: `genesys-rotator emergency --replace-client` in the middle of consumer
 * traffic and a scheduled rotation; no consumer call fails, and the leaked client's secret and the tokens
 * minted with it are dead afterwards (checked against the Genesys emulator).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDrillArgs } from "../../local/drill/options.ts";
import { drillProblems, formatSummary, toJsonSummary } from "../../local/drill/result.ts";
import { DRILL_IDS } from "../../local/stack/seed.ts";
import { runShortDrill, shortDrill } from "./support.ts";

describe("drill --emergency-at", { timeout: 600_000 }, () => {
  it("parses --emergency-at and refuses it with the single strategy", () => {
    const parsed = parseDrillArgs(["--emergency-at", "4.5", "--seed", "1"]);
    assert.equal(parsed.help === false && parsed.options.emergencyAtSeconds, 4.5);
    const none = parseDrillArgs(["--seed", "1"]);
    assert.equal(none.help === false && none.options.emergencyAtSeconds, undefined);
    assert.throws(
      () => parseDrillArgs(["--emergency-at", "3", "--strategy", "single"]),
      /--emergency-at.*needs --strategy alternating/,
    );
    assert.throws(() => parseDrillArgs(["--emergency-at=-1"]), /--emergency-at.*must be a number from 0/);
  });

  it("an emergency during traffic: 0 consumer failures, the leaked secret and its tokens are dead", async () => {
    const result = await runShortDrill(
      shortDrill({ rotations: 1, durationSeconds: 14, emergencyAtSeconds: 3 }),
    );
    const context = JSON.stringify({ problems: drillProblems(result), emergency: result.emergency });
    assert.equal(result.consumerFailures, 0, context);
    assert.deepEqual(drillProblems(result), [], context);
    const emergency = result.emergency;
    assert.ok(emergency, context);
    assert.equal(emergency.exitCode, 0, context);
    assert.equal(emergency.leakedClientId, DRILL_IDS.appA);
    assert.equal(emergency.clientAfter, DRILL_IDS.appB);
    assert.ok(emergency.replacementClientId);
    assert.equal(emergency.leakedSecretRejected, true);
    assert.equal(emergency.leakedTokenRejected, true);
    // The scheduled rotation still ran (after the emergency: it makes the replacement current).
    assert.equal(result.rotations.length, 1, context);
    assert.equal(result.rotations[0]?.outcome, "succeeded", context);
    assert.deepEqual(
      result.activeClientHistory.map((entry) => entry.clientId),
      [DRILL_IDS.appA, DRILL_IDS.appB, emergency.replacementClientId],
    );
    assert.match(
      formatSummary(result),
      /emergency \(replace-client\) +done .*leaked secret rejected, its token rejected/,
    );
    assert.deepEqual((toJsonSummary(result).emergency as { exitCode: number }).exitCode, 0);
  });
});
