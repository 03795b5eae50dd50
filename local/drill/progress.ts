/**
 * Live feedback while the drill runs. On a terminal: one self-overwriting line with a progress bar and
 * counters. Elsewhere (CI logs, pipes): one plain line per milestone, so logs stay short.
 */

/** A snapshot of the counters the progress line shows. */
export interface ProgressSnapshot {
  elapsedMs: number;
  plannedMs: number;
  callsPerSecond: number;
  calls: number;
  failures: number;
  rotationsDone: number;
  rotationsRequested: number;
  /** e.g. `rotation 2: testSecret`, when a rotation is running. */
  rotationState?: string;
  mints: number;
  activeFaults: readonly string[];
}

/** Where the drill reports progress. */
export interface ProgressReporter {
  update(snapshot: ProgressSnapshot): void;
  /** A milestone ("rotation 1 succeeded …"): printed as its own line in both modes. */
  note(line: string): void;
  /** Clears the live line. Idempotent. */
  close(): void;
}

/** A reporter that prints nothing (for `--json` off a terminal, and for tests). */
export const silentProgress: ProgressReporter = { update() {}, note() {}, close() {} };

const BAR_WIDTH = 24;

/** The live line, without terminal control characters. */
export function formatProgressLine(s: ProgressSnapshot): string {
  const share = s.plannedMs > 0 ? Math.min(1, s.elapsedMs / s.plannedMs) : 1;
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}]`;
  const parts = [
    `${bar} ${Math.floor(s.elapsedMs / 1000)}/${Math.round(s.plannedMs / 1000)} s`,
    `${Math.round(s.callsPerSecond)} calls/s`,
    `calls ${s.calls}`,
    `failures ${s.failures}`,
    `rotations ${s.rotationsDone}/${s.rotationsRequested}${s.rotationState ? ` (${s.rotationState})` : ""}`,
    `mints ${s.mints}`,
  ];
  if (s.activeFaults.length > 0) parts.push(`faults: ${s.activeFaults.join(",")}`);
  return parts.join("  ");
}

/**
 * A reporter writing to `stream`: live line when it is a TTY, milestones only otherwise.
 * Writes are throttled to one every `intervalMs`.
 */
export function streamProgress(stream: NodeJS.WriteStream, intervalMs = 250): ProgressReporter {
  const tty = stream.isTTY === true;
  let lastWrite = 0;
  let lineShown = false;
  const clearLine = () => {
    if (lineShown) stream.write("\r\x1b[2K");
    lineShown = false;
  };
  return {
    update(snapshot) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastWrite < intervalMs) return;
      lastWrite = now;
      const columns = stream.columns ?? 120;
      stream.write(`\r\x1b[2K${formatProgressLine(snapshot).slice(0, Math.max(20, columns - 1))}`);
      lineShown = true;
    },
    note(line) {
      clearLine();
      stream.write(`${line}\n`);
    },
    close: clearLine,
  };
}
