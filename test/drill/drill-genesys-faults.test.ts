/**
 * Drills with Genesys refusing service: token-endpoint throttling, API 429 and 5xx. These faults may
 * fail a rotation (safely); consumers must never see a failure.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EmulatorFaults } from "../../local/genesys-cloud/faults.ts";
import { assertDrillPassed, runShortDrill, shortDrill } from "./support.ts";

describe("drill with Genesys faults", { timeout: 600_000 }, () => {
  it("token-rate-limit: throttled mints fall back on still-valid tokens", async (t) => {
    // The throttle windows are seconds of real time: on a loaded machine no token request may fall into
    // one. What holds whatever the scheduling: the drill switched the throttle on, and every token
    // request Genesys received while it was on was throttled (and no consumer noticed).
    let windows = 0;
    let requestsWhileOn = 0;
    const result = await runShortDrill(shortDrill({ faults: ["token-rate-limit"] }), (stack) => {
      const { faults, counters } = stack.genesys;
      let since: number | undefined;
      watchEnabled(faults, (enabled) => {
        if (enabled) {
          windows++;
          since = counters.tokenRequests();
        } else if (since !== undefined) {
          requestsWhileOn += counters.tokenRequests() - since;
          since = undefined;
        }
      });
    });
    assertDrillPassed(result);
    t.diagnostic(`${windows} throttle windows, ${requestsWhileOn} token requests in them`);
    assert.ok(windows >= 1, "the drill never switched the throttle on: the fault did not happen");
    assert.ok(
      result.genesys.tokenRateLimited >= requestsWhileOn,
      `${requestsWhileOn} token requests while throttling, ${result.genesys.tokenRateLimited} throttled`,
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

/**
 * Calls `onChange` whenever `faults.tokenRateLimit.enabled` flips, also after `faults.reset()` replaced
 * the knob object.
 */
function watchEnabled(faults: EmulatorFaults, onChange: (enabled: boolean) => void): void {
  const watch = (knob: EmulatorFaults["tokenRateLimit"]) => {
    let enabled = knob.enabled;
    Object.defineProperty(knob, "enabled", {
      configurable: true,
      enumerable: true,
      get: () => enabled,
      set(value: boolean) {
        if (value !== enabled) onChange(value);
        enabled = value;
      },
    });
    return knob;
  };
  let knob = watch(faults.tokenRateLimit);
  Object.defineProperty(faults, "tokenRateLimit", {
    configurable: true,
    enumerable: true,
    get: () => knob,
    set(value: EmulatorFaults["tokenRateLimit"]) {
      knob = watch(value);
    },
  });
}
