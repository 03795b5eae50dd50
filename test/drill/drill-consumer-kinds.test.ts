/**
 * The drill's consumers through every adapter of the consumer library at once (`--consumer-kind`): the
 * official SDK, axios and `genesysFetch` share the traffic while rotations kill the tokens they hold and
 * Genesys answers 429s, and no call through any of them fails.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertDrillPassed, runShortDrill, shortDrill, succeeded } from "./support.ts";

describe("drill consumer kinds", { timeout: 600_000 }, () => {
  it("fetch, sdk and axios consumers together: 0 failures across token-killing rotations and 429s", async () => {
    const result = await runShortDrill(
      shortDrill({
        consumers: 6,
        rotations: 2,
        durationSeconds: 14,
        consumerKinds: ["fetch", "sdk", "axios"],
        faults: ["tokens-die-on-regeneration", "api-429"],
        seed: 11,
      }),
    );
    assertDrillPassed(result);
    assert.equal(succeeded(result), 2);
    assert.deepEqual(result.consumerKinds, ["fetch", "sdk", "axios"]);
    const byKind = result.consumerCallsByKind ?? {};
    for (const kind of ["fetch", "sdk", "axios"]) {
      assert.ok(
        (byKind[kind]?.calls ?? 0) > 50,
        `${kind} consumers made too few calls: ${JSON.stringify(byKind)}`,
      );
      assert.equal(byKind[kind]?.failures, 0, kind);
    }
    // The rotations killed tokens the consumers held: some calls were answered 401 and replayed.
    assert.ok(result.genesys.unauthorized > 0, JSON.stringify(result.genesys));
    assert.ok(result.genesys.api429 > 0, JSON.stringify(result.genesys));
  });
});
