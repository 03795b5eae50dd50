/**
 * Captures what a block of code writes to the terminal, and proves that no secret is in it.
 *
 * `captureOutput` replaces `process.stdout.write` and `process.stderr.write` for the duration of the
 * block. Those two methods are where every writer ends up: `console.*` (the global console and any
 * `new Console(process.stdout, ...)`, such as the Powertools Logger's) looks `write` up on the stream
 * object at each call. The captured text is NOT passed through, so a leak does not reach the test
 * runner's output either; only node:test's own binary report frames are.
 */
import assert from "node:assert/strict";

/** The text written during a block, and the block's result. */
export interface CapturedOutput<T> {
  result: T;
  /** Everything written to stdout and stderr, in order. */
  output: string;
}

type Write = typeof process.stdout.write;

/**
 * Runs `block` with stdout/stderr captured and restores the original writers afterwards, also when the
 * block throws (the error is rethrown; the captured text is then discarded, never printed).
 * Not reentrant: do not nest captures or run two concurrently.
 */
export async function captureOutput<T>(block: () => T | Promise<T>): Promise<CapturedOutput<T>> {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  const capture: Write = function (
    this: unknown,
    chunk: unknown,
    encodingOrCallback?: unknown,
    callback?: unknown,
  ) {
    if (isTestRunnerFrame(chunk)) {
      // node:test's child-to-parent report (v8-serialised frames on stdout) must reach the runner, or the
      // results of tests that finish during a capture would silently vanish from the counts.
      const index = streams.indexOf(this as (typeof streams)[number]);
      return Reflect.apply(originals[index === -1 ? 0 : index]!, this, [chunk, encodingOrCallback, callback]);
    }
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  } as Write;
  for (const stream of streams) stream.write = capture;
  try {
    const result = await block();
    return { result, output: chunks.join("") };
  } finally {
    streams.forEach((stream, i) => {
      stream.write = originals[i]!;
    });
  }
}

/**
 * True for a frame of node:test's v8-serializer reporter: binary, starting with the V8 serialisation
 * header byte 0xFF, which no UTF-8 text (what loggers and console write) can start with.
 */
export function isTestRunnerFrame(chunk: unknown): boolean {
  return typeof chunk !== "string" && chunk instanceof Uint8Array && chunk[0] === 0xff;
}

/** Known secret values by kind, e.g. `{ "client secret": [...], "access token": [...] }`. */
export type SecretsByKind = Readonly<Record<string, Iterable<string>>>;

/** Values shorter than this are checked whole only; longer ones also by their first and last characters. */
const FRAGMENT_LENGTH = 12;

/**
 * Fails when `text` contains any of `secrets`, or a 12-character leading or trailing fragment of one
 * (a truncated secret still leaks). The failure message names the KIND of value and how it leaked,
 * never the value: e.g. `captured output contains an access token (whole value; 1 of 3 known)`.
 *
 * @param secrets a list (reported as "secret value") or a record of lists keyed by kind.
 */
export function assertNoSecrets(text: string, secrets: readonly string[] | SecretsByKind): void {
  const byKind: SecretsByKind = isList(secrets) ? { "secret value": secrets } : secrets;
  const leaks: string[] = [];
  for (const [kind, values] of Object.entries(byKind)) {
    const list = [...values].filter((value) => value !== "");
    list.forEach((value, index) => {
      const how = leakIn(text, value);
      if (how !== undefined)
        leaks.push(`${article(kind)} ${kind} (${how}; #${index + 1} of ${list.length} known)`);
    });
  }
  assert.ok(leaks.length === 0, `captured output contains ${leaks.join(", ")}`);
}

function leakIn(text: string, value: string): string | undefined {
  if (text.includes(value)) return "whole value";
  if (value.length < FRAGMENT_LENGTH + 4) return undefined;
  if (text.includes(value.slice(0, FRAGMENT_LENGTH))) return `its first ${FRAGMENT_LENGTH} characters`;
  if (text.includes(value.slice(-FRAGMENT_LENGTH))) return `its last ${FRAGMENT_LENGTH} characters`;
  return undefined;
}

function isList(secrets: readonly string[] | SecretsByKind): secrets is readonly string[] {
  return Array.isArray(secrets);
}

function article(kind: string): string {
  return /^[aeiou]/i.test(kind) ? "an" : "a";
}
