/**
 * The live progress line and the stream reporter: fitted to the terminal, milestones above the live line,
 * handler logs never torn into it, nothing but milestones off a terminal.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatHandlerLogLine,
  formatProgressLine,
  handlerLogOutput,
  type ProgressReporter,
  type ProgressSnapshot,
  streamProgress,
} from "../../local/drill/progress.ts";

const SNAPSHOT: ProgressSnapshot = {
  elapsedMs: 22_500,
  plannedMs: 45_000,
  callsPerSecond: 201.4,
  calls: 4321,
  failures: 2,
  rotationsDone: 1,
  rotationsRequested: 3,
  rotationState: "#2 testSecret",
  mints: 4,
  activeFaults: ["api-429", "dynamodb-outage"],
};

/** A stand-in for process.stderr that records what was written. */
function fakeStream(tty: boolean, columns = 120): NodeJS.WriteStream & { output: string } {
  const stream = {
    isTTY: tty,
    columns,
    output: "",
    write(chunk: string) {
      stream.output += chunk;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { output: string };
}

describe("progress line", () => {
  it("shows everything on a wide terminal", () => {
    assert.equal(
      formatProgressLine(SNAPSHOT, 200),
      "[############............] 22/45 s  201 calls/s  calls 4321  failures 2  rotations 1/3 (#2 testSecret)  mints 4  faults: api-429,dynamodb-outage",
    );
  });

  it("drops detail, never failures or rotations, to fit narrower terminals", () => {
    for (const columns of [120, 100, 80, 60]) {
      const line = formatProgressLine(SNAPSHOT, columns);
      assert.ok(line.length < columns, `${line.length} < ${columns}: ${line}`);
      assert.match(line, /failures 2/);
      assert.match(line, /rotations 1\/3 \(#2 testSecret\)/);
    }
    assert.match(formatProgressLine(SNAPSHOT, 100), /^\[#{5}\.{5}\] 22\/45 s {2}201\/s .* faults 2$/);
    // Below any useful width it is cut rather than wrapped (a wrapped line cannot be overwritten).
    assert.ok(formatProgressLine(SNAPSHOT, 20).length < 20);
  });
});

describe("stream progress", () => {
  it("on a terminal: one overwritten line; a milestone is printed above it and the line comes back", () => {
    const stream = fakeStream(true);
    const progress = streamProgress(stream, 0);
    progress.update(SNAPSHOT);
    progress.note("rotation 1 succeeded");
    progress.close();
    const line = formatProgressLine(SNAPSHOT, 120);
    assert.equal(stream.output, `\r\x1b[2K${line}\r\x1b[2Krotation 1 succeeded\n${line}\r\x1b[2K`);
  });

  it("off a terminal: milestones only, no control characters", () => {
    const stream = fakeStream(false);
    const progress = streamProgress(stream, 0);
    progress.update(SNAPSHOT);
    progress.note("rotation 1 succeeded");
    progress.update(SNAPSHOT);
    progress.close();
    assert.equal(stream.output, "rotation 1 succeeded\n");
  });
});

describe("handler logs", () => {
  const POWERTOOLS_LINE = JSON.stringify({
    level: "WARN",
    message: "Genesys call failed; retrying",
    timestamp: "2026-11-25T17:34:04.708Z",
    service: "genesys-rotation",
    sampling_rate: 0,
    operation: "POST /oauth/token",
    attempt: 1,
    errorName: "GenesysTokenRateLimitError",
    status: 400,
    correlationId: "e87f6dc5-5d1a-41f1-8d93-6f113668c88b",
    delayMs: 1000,
  });

  it("a Powertools line is shortened to level, service, message and its own fields", () => {
    assert.equal(
      formatHandlerLogLine(POWERTOOLS_LINE),
      "WARN genesys-rotation: Genesys call failed; retrying (operation=POST /oauth/token attempt=1 errorName=GenesysTokenRateLimitError status=400 delayMs=1000)",
    );
    for (const other of ["plain text", "{not json", '{"level":1}', "[1,2]"]) {
      assert.equal(formatHandlerLogLine(other), other);
    }
  });

  it("the log stream re-assembles lines split across chunks and prints each as a milestone", async () => {
    const notes: string[] = [];
    const reporter: ProgressReporter = { update() {}, note: (line) => notes.push(line), close() {} };
    const output = handlerLogOutput(reporter, { compact: true });
    const half = Math.floor(POWERTOOLS_LINE.length / 2);
    output.write(`${POWERTOOLS_LINE.slice(0, half)}`);
    output.write(`${POWERTOOLS_LINE.slice(half)}\nsecond line\n\nthird`);
    await new Promise<void>((resolve) => output.end(resolve));
    assert.deepEqual(notes, [formatHandlerLogLine(POWERTOOLS_LINE), "second line", "third"]);

    const raw: string[] = [];
    const verbatim = handlerLogOutput({ ...reporter, note: (line) => raw.push(line) }, { compact: false });
    await new Promise<void>((resolve) => verbatim.end(`${POWERTOOLS_LINE}\n`, resolve));
    assert.deepEqual(raw, [POWERTOOLS_LINE]);
  });
});
