/**
 * Drills with Genesys refusing service: token-endpoint throttling, API 429 and 5xx. These faults may
 * fail a rotation (safely); consumers must never see a failure.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertDrillPassed, runShortDrill, shortDrill } from "./support.ts";

describe("drill with Genesys faults", { timeout: 120_000 }, () => {
  it("token-rate-limit: throttled mints fall back on still-valid tokens", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["token-rate-limit"] }));
    assertDrillPassed(result);
    assert.ok(
      result.genesys.tokenRateLimited > 0,
      "the token endpoint never throttled: the fault did not happen",
    );
  });

  it("api-429: consumers and the rotation honour Retry-After", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["api-429"] }));
    assertDrillPassed(result);
    assert.ok(result.genesys.api429 > 0, "no 429 was served: the fault did not happen");
  });

  it("genesys-5xx: transient server errors are retried", async () => {
    const result = await runShortDrill(shortDrill({ faults: ["genesys-5xx"] }));
    assertDrillPassed(result);
    assert.ok(result.genesys.serverErrors > 0, "no 5xx was served: the fault did not happen");
  });
});
