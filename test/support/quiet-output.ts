/**
 * Keeps what passing tests print (JSON log lines of the handlers, emulators and Lambda containers) out
 * of the test report, and shows it for the tests that fail.
 *
 * Loaded with `--import` by `npm run test:unit` (package.json). In each test file's process (node:test
 * runs every file in a child that reports to the runner in binary frames on stdout), it replaces
 * `process.stdout.write` and `process.stderr.write` like `captureOutput` (./log-capture.ts) does: the
 * runner's frames pass, text is held back. Global `beforeEach`/`afterEach` hooks cut the held text per
 * test: a test that fails gets its text written out after it, under a header naming it; a passing test's
 * text is dropped. Text written outside any test (module load, `before`/`after` hooks) is written out
 * when the process ends with a failure. Tests a file runs concurrently may see each other's lines.
 *
 * Set `TEST_OUTPUT=all` to let everything through as it is written (debugging a passing test).
 * Does nothing in the runner itself, in worker threads, in processes a test spawns, or when a file is
 * run without `--test`.
 */
import { afterEach, beforeEach } from "node:test";
import { isMainThread } from "node:worker_threads";
import { isTestRunnerFrame } from "./log-capture.ts";

function install(): void {
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  /** Text written while no test runs. */
  const outside: string[] = [];
  /** Text written while tests run, and where each running test's share starts. */
  let during: string[] = [];
  const running = new Map<object, number>();

  // All to stdout, stderr's text included: the runner shows a child's two streams apart, and the held
  // text belongs together under its header.
  const writeThrough = (held: readonly string[], header: string) => {
    if (held.length === 0) return;
    originals[0]!.call(
      process.stdout,
      `\n----- ${header} -----\n${held.join("")}----- end of ${header} -----\n`,
    );
  };

  streams.forEach((stream, index) => {
    stream.write = function (
      this: unknown,
      chunk: unknown,
      encodingOrCallback?: unknown,
      callback?: unknown,
    ) {
      if (isTestRunnerFrame(chunk)) {
        return Reflect.apply(originals[index]!, this, [chunk, encodingOrCallback, callback]);
      }
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
      (running.size > 0 ? during : outside).push(text);
      const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    } as typeof stream.write;
  });

  beforeEach((t) => {
    running.set(t, during.length);
  });
  afterEach((t) => {
    const start = running.get(t) ?? 0;
    running.delete(t);
    // `passed` and `fullName` (Node ≥ 22.3) are missing from the TestContext typings.
    const { passed, fullName } = t as { passed?: boolean; fullName?: string };
    if (passed === false)
      writeThrough(during.slice(start), `output of the failed test "${fullName ?? t.name}"`);
    if (running.size === 0) during = [];
  });
  process.on("exit", (code) => {
    if (code === 0 && !process.exitCode) return;
    writeThrough([...outside, ...during], "output outside the tests of a failed file");
  });
}

const testFileProcess =
  process.env.NODE_TEST_CONTEXT === "child-v8" &&
  isMainThread &&
  /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? "");

if (testFileProcess && process.env.TEST_OUTPUT !== "all") install();
