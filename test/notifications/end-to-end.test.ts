/**
 * The notifications helper end to end: tokens from the real vending function (in the Lambda emulator,
 * invoked by a real TokenProvider), minted from the Genesys emulator through the local stack, whose
 * Notification Service pushes a numbered sequence while channels expire, drop, and die with a rotated
 * credential's tokens. Every number must arrive exactly once, or be lost only inside a gap the helper
 * reported. A JumpingClock (shared by the stack and the helper) lets a channel's day pass in a jump; the
 * vendor's containers run on real time, which is what production looks like from the helper.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { LambdaClient } from "@aws-sdk/client-lambda";
import WebSocket from "ws";
import { TokenProvider } from "../../lambda/client/index.ts";
import {
  type NotificationEvent,
  type NotificationGap,
  type NotificationsHandle,
  type NotificationsStateChange,
  openNotifications,
} from "../../lambda/client/notifications.ts";
import { followPresence, type PresenceLine } from "../../lambda/examples/notifications-consumer.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../local/aws/lambda/index.ts";
import {
  checkEventSequence,
  type EventSequence,
  sequenceOf,
  startEventSequence,
} from "../../local/genesys-cloud/emulator.ts";
import { JumpingClock } from "../support/jumping-clock.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { RecordingLog } from "../support/rotation-stack.ts";
import {
  LOCAL_AWS,
  startVendingStack,
  VENDING_CREDENTIALS,
  VENDING_HANDLER_MODULE,
  type VendingStack,
} from "../support/vending-stack.ts";
import { waitFor } from "./support.ts";

const TOPIC = "v2.users.0c1d0000-0000-4000-8000-000000000001.presence";
const DAY_MS = 24 * 3600 * 1000;
const TEST = { timeout: 60_000 };

interface Run {
  handle: NotificationsHandle;
  events: NotificationEvent[];
  gaps: NotificationGap[];
  states: NotificationsStateChange[];
  log: RecordingLog;
  sequence: EventSequence;
  numbers(): number[];
  switchovers(): number;
}

describe("notifications helper → vending Lambda → Genesys emulator (local stack)", () => {
  let clock: JumpingClock;
  let stack: VendingStack;
  let lambda: LambdaEmulator;
  let lambdaClient: LambdaClient;
  const runs: Run[] = [];

  before(async () => {
    clock = new JumpingClock();
    // Tokens outlive the jumps (a channel's day); the "single" credential's tokens die when it rotates.
    stack = await startVendingStack({
      clock,
      tokenLifetimeSeconds: 7 * 86_400,
      rotation: { tokensSurviveRegeneration: false },
    });
    lambda = await startLambdaEmulator();
    lambdaClient = new LambdaClient({ ...LOCAL_AWS, endpoint: lambda.url, maxAttempts: 1 });
    await lambda.register("token-vending", {
      module: VENDING_HANDLER_MODULE,
      environment: { ...stack.environment, POWERTOOLS_LOG_LEVEL: "SILENT" },
      aliases: [...Object.keys(stack.credentials), "cache-warming"],
      // Cold starts are not under test; a loaded machine may need well over the default 10 s.
      initTimeoutMs: 120_000,
    });
    // Start the container now: an invalid payload loads the handler without minting.
    await lambda
      .invoke(`token-vending:${VENDING_CREDENTIALS.single}`, { minTtlSeconds: -1 })
      .catch(() => undefined);
  });
  afterEach(async () => {
    for (const run of runs.splice(0)) {
      await run.sequence.stop();
      await run.handle.close();
    }
    stack.rotation.genesys.notifications.knobs.channelsDieWithToken = false;
  });
  after(async () => {
    lambdaClient?.destroy();
    await lambda?.stop();
    await stack?.stop();
  });

  /** Opens the helper on the "single" credential and starts the numbered pusher on its topic. */
  async function start(): Promise<Run> {
    const events: NotificationEvent[] = [];
    const gaps: NotificationGap[] = [];
    const states: NotificationsStateChange[] = [];
    const log = new RecordingLog();
    const handle = await openNotifications({
      topics: [TOPIC],
      onEvent: (event) => events.push(event),
      onGap: (gap) => gaps.push(gap),
      onStateChange: (change) => states.push(change),
      provider: new TokenProvider({
        functionName: `token-vending:${VENDING_CREDENTIALS.single}`,
        lambdaClient,
        // The vendor's containers run on real time, the tokens' lifetime on the jumped one.
        invokeTimeoutMs: 30_000,
      }),
      webSocket: WebSocket,
      clock,
      log,
    });
    const sequence = startEventSequence(stack.rotation.genesys.notifications, clock, {
      topic: TOPIC,
      intervalMs: 5,
    });
    const run: Run = {
      handle,
      events,
      gaps,
      states,
      log,
      sequence,
      numbers: () => events.map((event) => sequenceOf(event)).filter((n) => n !== undefined),
      switchovers: () =>
        states.filter((change) => change.state === "open" && change.reason !== undefined).length,
    };
    runs.push(run);
    await waitFor("the first events", () => run.numbers().length > 20);
    return run;
  }

  /** Stops the pusher once the helper delivers again, waits for the last number, checks the record. */
  async function finish(run: Run): Promise<ReturnType<typeof checkEventSequence>> {
    const atStop = run.sequence.pushed.length;
    await waitFor("an event after the switchover", () => run.numbers().some((n) => n > atStop));
    const pushed = await run.sequence.stop();
    const last = pushed.at(-1)!.sequence;
    await waitFor("the last event", () => run.numbers().includes(last));
    return checkEventSequence(pushed, run.numbers(), run.gaps);
  }

  it(
    "the channel's day ends: the helper switches to a new channel and every number arrives exactly once",
    TEST,
    async () => {
      const run = await start();
      const first = run.handle.channelId;
      clock.jump(DAY_MS - 10 * 60_000 + 1000);
      await waitFor("the switchover", () => run.switchovers() >= 1);
      const check = await finish(run);
      assert.equal(
        check.exactlyOnce,
        true,
        JSON.stringify({ ...check, missing: check.missing.slice(0, 10) }),
      );
      assert.notEqual(run.handle.channelId, first);
      assert.deepEqual(run.gaps, []);
      clock.jump(10 * 60_000); // the old channel's natural end passes: nothing changes for the helper
      assert.equal(run.handle.state, "open");
    },
  );

  it(
    "Genesys drops the connection: a new channel at once, losses only inside the reported gap",
    TEST,
    async () => {
      const run = await start();
      stack.rotation.genesys.notifications.closeConnections({ channelId: run.handle.channelId });
      await waitFor("the reconnection", () => run.switchovers() >= 1);
      const check = await finish(run);
      assert.deepEqual([check.duplicates, check.unexpected, check.unreported], [[], [], []]);
      assert.equal(run.gaps.length, 1);
      assert.equal(run.gaps[0]!.reason, "connection-lost");
    },
  );

  it(
    "a rotation kills the tokens (channels live on): the next switchover reports the dead token to the vendor and loses nothing",
    TEST,
    async () => {
      const genesys = stack.rotation.genesys;
      const run = await start();
      const rotation = await stack.rotation.rotate(stack.credentials[VENDING_CREDENTIALS.single]!);
      assert.equal(rotation.eventName, "RotationSucceeded");
      const unauthorized = genesys.counters.errorsServed("401");
      await run.handle.renew();
      assert.ok(genesys.counters.errorsServed("401") > unauthorized, "the channel create met the dead token");
      const check = await finish(run);
      assert.equal(
        check.exactlyOnce,
        true,
        JSON.stringify({ ...check, missing: check.missing.slice(0, 10) }),
      );
      assert.deepEqual(run.gaps, []);
    },
  );

  it(
    "a rotation kills the tokens and the channels with them: reconnected through the vendor, losses only inside the reported gap",
    TEST,
    async () => {
      const genesys = stack.rotation.genesys;
      genesys.notifications.knobs.channelsDieWithToken = true;
      const run = await start();
      const rotation = await stack.rotation.rotate(stack.credentials[VENDING_CREDENTIALS.single]!);
      assert.equal(rotation.eventName, "RotationSucceeded");
      await waitFor("the reconnection", () => run.switchovers() >= 1, 50_000);
      const check = await finish(run);
      assert.deepEqual([check.duplicates, check.unexpected, check.unreported], [[], [], []]);
      assert.ok(run.gaps.length >= 1, "the dead channel's stretch is reported");
      assert.equal(run.handle.state, "open");
      assertNoSecrets(run.log.lines.join("\n"), { "access token": [...genesys.issued.accessTokens] });
    },
  );

  it("the example consumer (lambda/examples/notifications-consumer.ts) follows presence with the default provider", {
    ...TEST,
    skip: typeof globalThis.WebSocket !== "function" && "no global WebSocket on this Node",
  }, async () => {
    // What the deployed task is given: the vendor alias of its credential, and the Lambda endpoint.
    Object.assign(process.env, {
      TOKEN_VENDOR_FUNCTION_NAME: `token-vending:${VENDING_CREDENTIALS.app}`,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    });
    const lines: (PresenceLine | { gap: NotificationGap })[] = [];
    const user = "0c1d0000-0000-4000-8000-0000000000aa";
    const handle = await followPresence([user], (line) => lines.push(line));
    try {
      stack.rotation.genesys.notifications.push(`v2.users.${user}.presence`, {
        presenceDefinition: { id: "e08eaf1b", systemPresence: "Available" },
      });
      await waitFor("the printed line", () => lines.length === 1);
      assert.deepEqual(lines, [{ userId: user, presence: "Available" }]);
    } finally {
      await handle.close();
    }
  });
});
