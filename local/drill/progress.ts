/**
 * Live feedback while the drill runs. On a terminal: one self-overwriting line with a progress bar and
 * counters, fitted to the terminal's width. Elsewhere (CI logs, pipes): one plain line per milestone, so
 * logs stay short. Lines from elsewhere (the handlers' logs) go through {@link handlerLogOutput}, which
 * prints them above the live line instead of through it.
 */
import { Writable } from "node:stream";

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
const NARROW_BAR_WIDTH = 10;

/**
 * The live line, without terminal control characters. With `columns`, the line is fitted to that width
 * by dropping detail in order of importance (the token mints, then the fault names, then the bar's width)
 * rather than cut mid-word: failures and rotations must stay visible on an 80-column terminal.
 */
export function formatProgressLine(s: ProgressSnapshot, columns = Number.POSITIVE_INFINITY): string {
  const share = s.plannedMs > 0 ? Math.min(1, s.elapsedMs / s.plannedMs) : 1;
  const bar = (width: number) => {
    const filled = Math.round(share * width);
    return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  };
  const time = `${Math.floor(s.elapsedMs / 1000)}/${Math.round(s.plannedMs / 1000)} s`;
  const rotations = `rotations ${s.rotationsDone}/${s.rotationsRequested}${s.rotationState ? ` (${s.rotationState})` : ""}`;
  const faults = s.activeFaults.length > 0 ? `faults: ${s.activeFaults.join(",")}` : undefined;
  const candidates = [
    [
      `${bar(BAR_WIDTH)} ${time}`,
      `${Math.round(s.callsPerSecond)} calls/s`,
      `calls ${s.calls}`,
      `failures ${s.failures}`,
      rotations,
      `mints ${s.mints}`,
      faults,
    ],
    [
      `${bar(BAR_WIDTH)} ${time}`,
      `${Math.round(s.callsPerSecond)} calls/s`,
      `calls ${s.calls}`,
      `failures ${s.failures}`,
      rotations,
      faults,
    ],
    [
      `${bar(NARROW_BAR_WIDTH)} ${time}`,
      `${Math.round(s.callsPerSecond)}/s`,
      `calls ${s.calls}`,
      `failures ${s.failures}`,
      rotations,
      faults && `faults ${s.activeFaults.length}`,
    ],
    [time, `${Math.round(s.callsPerSecond)}/s`, `failures ${s.failures}`, rotations],
  ].map((parts) => parts.filter((part) => part !== undefined).join("  "));
  const fitting = candidates.find((line) => line.length < columns);
  return fitting ?? (candidates.at(-1) as string).slice(0, Math.max(1, columns - 1));
}

/**
 * A reporter writing to `stream`: live line when it is a TTY, milestones only otherwise.
 * Writes are throttled to one every `intervalMs`.
 */
export function streamProgress(stream: NodeJS.WriteStream, intervalMs = 250): ProgressReporter {
  const tty = stream.isTTY === true;
  let lastWrite = 0;
  let shown: string | undefined;
  const clearLine = () => {
    if (shown !== undefined) stream.write("\r\x1b[2K");
  };
  return {
    update(snapshot) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastWrite < intervalMs) return;
      lastWrite = now;
      shown = formatProgressLine(snapshot, stream.columns ?? 120);
      stream.write(`\r\x1b[2K${shown}`);
    },
    note(line) {
      clearLine();
      stream.write(`${line}\n`);
      // Put the live line back at once: the next update may be up to `intervalMs` away.
      if (shown !== undefined) stream.write(shown);
    },
    close() {
      clearLine();
      shown = undefined;
    },
  };
}

/** Fields of a Powertools log line that only add noise on a terminal. */
const NOISY_LOG_FIELDS = new Set([
  "level",
  "message",
  "service",
  "timestamp",
  "sampling_rate",
  "xray_trace_id",
  "cold_start",
  "function_arn",
  "function_memory_size",
  "function_name",
  "function_request_id",
  "correlationId",
]);

/**
 * One Powertools JSON log line, shortened for a terminal: `WARN genesys-rotation: Genesys call failed;
 * retrying (operation=POST /oauth/token attempt=1 …)`. Lines that are not Powertools JSON come back
 * unchanged. Only drops fields; it never adds a value the handler did not log (handlers redact before
 * writing).
 */
export function formatHandlerLogLine(line: string): string {
  if (!line.startsWith("{")) return line;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== "object" || entry === null) return line;
  const { level, message, service } = entry as Record<string, unknown>;
  if (typeof level !== "string" || typeof message !== "string") return line;
  const fields = Object.entries(entry)
    .filter(([key]) => !NOISY_LOG_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return `${level} ${typeof service === "string" ? `${service}: ` : ""}${message}${fields.length > 0 ? ` (${fields.join(" ")})` : ""}`;
}

/**
 * A stream for the handlers' log lines (the drill stack's `handlerLogs`) that prints every line as a
 * {@link ProgressReporter.note}, so a log line never lands in the middle of the live progress line.
 * `compact` shortens Powertools JSON lines with {@link formatHandlerLogLine} (for a terminal; keep the JSON
 * for CI logs, where it is searchable).
 */
export function handlerLogOutput(reporter: ProgressReporter, options: { compact: boolean }): Writable {
  let pending = "";
  const emit = (line: string) => {
    if (line.trim() !== "") reporter.note(options.compact ? formatHandlerLogLine(line) : line);
  };
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      lines.forEach(emit);
      done();
    },
    final(done) {
      emit(pending);
      pending = "";
      done();
    },
  });
}
