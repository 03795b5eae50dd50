/**
 * The drill's consumers through every adapter of the consumer library at once (`--consumer-kind`): the
 * official SDK, axios and `genesysFetch` share the traffic while rotations kill the tokens they hold and
 * Genesys answers 429s, and no call through any of them fails; Notifications listeners receive every event
 * the emulator pushes exactly once while their channels expire and rotations run.
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

  it("notifications listeners beside fetch consumers: every numbered event exactly once across channel expiries and rotations", async () => {
    const result = await runShortDrill(
      shortDrill({
        consumers: 4,
        rotations: 2,
        durationSeconds: 16,
        consumerKinds: ["fetch", "notifications"],
        faults: ["tokens-die-on-regeneration"],
        seed: 12,
      }),
    );
    assertDrillPassed(result);
    const notifications = result.notifications;
    assert.ok(notifications, "the drill reported no notifications outcome");
    const context = JSON.stringify(notifications);
    assert.equal(notifications.listeners, 2, context);
    assert.ok(notifications.eventsPushed > 50, context);
    assert.equal(notifications.eventsLost, 0, context);
    assert.equal(notifications.duplicates, 0, context);
    assert.deepEqual(notifications.failures, [], context);
    // 10 s channels over 16 s of traffic: every listener moved to a new channel at least once.
    assert.ok(notifications.switchovers >= notifications.listeners, context);
    assert.ok(notifications.channelsCreated > notifications.listeners, context);
  });
});
