/**
 * Ctrl-C: honoured during the stack's start-up, while warming up and during traffic. The drill stops
 * everything it started and reports INTERRUPTED rather than a pass or a fail it never measured.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runDrill } from "../../local/drill/drill.ts";
import type { ProgressReporter, ProgressSnapshot } from "../../local/drill/progress.ts";
import { drillExitCode, formatSummary, toJsonSummary } from "../../local/drill/result.ts";
import { shortDrill } from "./support.ts";

/** TCP servers and sockets this process holds: every server of the stack and every client connection. */
function openHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind.startsWith("TCP"))
    .sort();
}

/**
 * Waits until the handles are back to `expected` (sockets close a moment after their server; on a loaded
 * machine many moments: the bound only ends the wait for handles that never close).
 */
async function assertHandlesReleased(expected: readonly string[]): Promise<void> {
  for (let attempt = 0; attempt < 600 && openHandles().length > expected.length; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(openHandles(), expected, "the drill left servers, sockets or workers open");
}

/** A progress reporter that remembers every milestone and calls `onUpdate` with every snapshot. */
function recordingProgress(onUpdate: (snapshot: ProgressSnapshot) => void = () => {}) {
  const notes: string[] = [];
  const reporter: ProgressReporter = { update: onUpdate, note: (line) => notes.push(line), close() {} };
  return { reporter, notes };
}

describe("drill interrupted", { timeout: 600_000 }, () => {
  it("right after the start: stops the components already started, nothing measured, exit 130", async () => {
    const before = openHandles();
    const interrupt = new AbortController();
    const { reporter, notes } = recordingProgress();
    let stackStarted = false;
    const running = runDrill(shortDrill({ rotations: 3 }), {
      progress: reporter,
      signal: interrupt.signal,
      onStack: () => {
        stackStarted = true;
      },
    });
    interrupt.abort(new Error("interrupted"));
    const result = await running;

    assert.equal(stackStarted, false, "the start-up should have stopped at the next component");
    assert.equal(result.interrupted, true);
    assert.equal(result.consumerCalls, 0);
    assert.deepEqual(result.rotations, []);
    assert.equal(drillExitCode(result), 130);
    assert.match(notes.join("\n"), /Interrupted: stopping/);
    const summary = formatSummary(result);
    assert.match(summary, /INTERRUPTED before traffic started/);
    assert.doesNotMatch(summary, /rotations ran|PASS|FAIL/);
    const json = toJsonSummary(result);
    assert.equal(json.interrupted, true);
    assert.equal(json.ok, false);
    assert.deepEqual(json.problems, []);
    await assertHandlesReleased(before);
  });

  it("once the stack runs, before traffic: the whole stack is stopped, DynamoDB included", async () => {
    const before = openHandles();
    const interrupt = new AbortController();
    let dynamoDbStops = 0;
    const result = await runDrill(shortDrill(), {
      signal: interrupt.signal,
      onStack: (stack) => {
        const stop = stack.dynamoDb.stop.bind(stack.dynamoDb);
        stack.dynamoDb.stop = () => {
          dynamoDbStops++;
          return stop();
        };
        interrupt.abort(new Error("interrupted"));
      },
    });
    assert.equal(result.interrupted, true);
    assert.equal(result.consumerCalls, 0);
    assert.equal(result.dynamoDbEngine, "dynalite");
    assert.equal(dynamoDbStops, 1);
    assert.match(formatSummary(result), /INTERRUPTED before traffic started/);
    await assertHandlesReleased(before);
  });

  it("during traffic: the figures so far, verdict INTERRUPTED, no 'rotations ran' problem", async () => {
    const before = openHandles();
    const interrupt = new AbortController();
    const { reporter } = recordingProgress((snapshot) => {
      if (snapshot.calls > 20) interrupt.abort(new Error("interrupted"));
    });
    const result = await runDrill(shortDrill({ rotations: 2, durationSeconds: 30 }), {
      progress: reporter,
      signal: interrupt.signal,
    });
    assert.equal(result.interrupted, true);
    assert.ok(result.consumerCalls > 20, `calls: ${result.consumerCalls}`);
    assert.ok(result.durationSeconds < 30, `duration: ${result.durationSeconds}`);
    assert.ok(result.rotations.length < 2);
    assert.equal(drillExitCode(result), 130);
    const summary = formatSummary(result);
    assert.match(summary, /INTERRUPTED after \d+\.\d s of traffic, \d of 2 rotation\(s\) run/);
    assert.match(summary, /consumer calls\s+\d+/);
    assert.doesNotMatch(summary, /rotations ran|PASS|FAIL/);
    assert.equal(toJsonSummary(result).interrupted, true);
    await assertHandlesReleased(before);
  });
});
