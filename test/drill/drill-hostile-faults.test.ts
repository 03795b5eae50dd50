/**
 * Drills with untrusted input to the vendor: a consumer that reports valid tokens as rejected and asks
 * for what its alias does not grant (hostile-consumer), and forged items in the token table
 * (forged-cache). Honest consumers must never notice either.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FORGERY_KINDS } from "../../local/shared/forged-token-items.ts";
import { DRILL_NAMES, type DrillStack } from "../../local/stack/stack.ts";
import { assertDrillPassed, runShortDrill, shortDrill } from "./support.ts";

describe("drill with untrusted input to the vendor", { timeout: 600_000 }, () => {
  it("hostile-consumer: false reports mint nothing beyond the allowance, ungranted requests are refused", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["hostile-consumer"] }));
    assertDrillPassed(result);
    const hostile = result.hostileConsumer;
    assert.ok(hostile, "no hostile-consumer outcome");
    const context = JSON.stringify({ hostile, applicationTokenMints: result.applicationTokenMints });
    // Evidence the fault happened, at a rate that would break the allowance if every report minted.
    assert.ok(hostile.falseReports > hostile.mintAllowance.total, context);
    assert.ok(
      hostile.reportsServedAgain > 0,
      `no report was checked and answered with the same token: ${context}`,
    );
    assert.ok(result.applicationTokenMints <= hostile.mintAllowance.total, context);
    assert.equal(hostile.mintAllowance.rejectionMintIntervalSeconds, 5);
    // Every kind of ungranted request went out, and each answered one was refused as not granted.
    const { ungranted } = hostile;
    for (const count of Object.values(ungranted.byKind)) assert.ok(count > 0, context);
    assert.equal(ungranted.answered, 0, context);
    assert.deepEqual(ungranted.refusedOtherwise, {}, context);
    assert.equal(ungranted.refused, ungranted.requests - ungranted.unanswered, context);
    assert.ok(ungranted.refused > 0, context);
    // Its calls are counted apart: none of them is a consumer call or failure.
    assert.equal(result.consumerFailures, 0);
  });

  it("forged-cache: every kind of forged item is written, refused by the vendor and never served", async () => {
    const lines: string[] = [];
    const options = shortDrill({ faults: ["forged-cache"] });
    // Whether a container reads the table while a forgery lies there depends on the machine's pace (a
    // refresh falls due by token age, a forgery by the wall clock): once traffic has ended, one vend
    // that L1 cannot serve (minTtlSeconds = the tokens' whole life) reads the last item back before the
    // stack stops. A forgery still there is met now; one a refresh replaced was met by that refresh.
    const readBack = (stack: DrillStack) => {
      const stop = stack.stop;
      stack.stop = async () => {
        await stack.lambda
          .invoke(`${DRILL_NAMES.vendorFunction}:${DRILL_NAMES.credential}`, {
            minTtlSeconds: options.tokenLifetimeSeconds,
          })
          .catch(() => undefined);
        await stop();
      };
    };
    const result = await runShortDrill(options, readBack, lines);
    assertDrillPassed(result);
    const forged = result.forgedCache;
    assert.ok(forged, "no forged-cache outcome");
    const context = JSON.stringify(forged);
    assert.equal(forged.planned, FORGERY_KINDS.length, context);
    assert.equal(forged.written, FORGERY_KINDS.length, context);
    assert.equal(forged.served, 0, context);
    assert.ok(forged.vendedTokensChecked > 0, context);
    // The vendor read forgeries back and refused them (the log names the rule).
    const refusals = lines.join("").match(/Cached token refused/g) ?? [];
    assert.ok(refusals.length > 0, "the vendor never met a forged item");
  });
});
