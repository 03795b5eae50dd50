/**
 * Helpers for the CLI tests: captured output, and running the CLI's `main` against the in-process local
 * stack with the production dependency wiring (only output, stdin, prompt and clock replaced).
 */

import assert from "node:assert/strict";
import { type DependencyOverrides, main } from "../../bin/cli/main.ts";
import type { CliOutput } from "../../bin/cli/runtime.ts";
import type { Clock } from "../../lambda/shared/clock.ts";
import type { CliStack } from "../../local/cli-stack/stack.ts";

/** A {@link CliOutput} that keeps what was printed. */
export class CapturedOutput implements CliOutput {
  readonly out: string[] = [];
  readonly err: string[] = [];

  stdout(text: string): void {
    this.out.push(text);
  }

  stderr(text: string): void {
    this.err.push(text);
  }

  /** Everything printed, both streams. */
  all(): string {
    return [...this.out, ...this.err].join("\n");
  }
}

/** The result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  output: CapturedOutput;
}

/** Runs `genesys-rotator <argv>` in process. */
export async function runCli(argv: readonly string[], overrides: DependencyOverrides = {}): Promise<CliRun> {
  const output = new CapturedOutput();
  const code = await main(argv, { confirm: undefined, readStdin: async () => "", ...overrides, out: output });
  return { code, stdout: output.out.join("\n"), stderr: output.err.join("\n"), output };
}

/** Runs a command against the in-process local stack. */
export function runLocal(
  stack: CliStack,
  argv: readonly string[],
  overrides: DependencyOverrides = {},
): Promise<CliRun> {
  // `--local` as a user types it; the target itself is injected, so no endpoints file is needed.
  return runCli([...argv, "--local"], {
    target: { kind: "local", endpoints: stack.endpoints },
    ...overrides,
  });
}

/**
 * {@link runLocal} against the suite's stack (read when a run starts), keeping every run in `runs` for the
 * leak check of {@link stopAfterLeakCheck}.
 */
export function recordedLocalRunner(
  stack: () => CliStack,
  runs: CliRun[],
): (argv: readonly string[], overrides?: DependencyOverrides) => Promise<CliRun> {
  return async (argv, overrides = {}) => {
    const run = await runLocal(stack(), argv, overrides);
    runs.push(run);
    return run;
  };
}

/** A clock `offsetMs` ahead of the wall clock (a pending rotation then looks old enough to be stuck). */
export function aheadClock(offsetMs: number): Clock {
  return {
    now: () => Date.now() + offsetMs,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Asserts-friendly leak check: how many emulator-issued secrets/tokens occur in `text`. */
export function leaks(stack: CliStack, text: string): { secrets: number; accessTokens: number } {
  return stack.drill.genesys.issued.occurrencesIn(text);
}

/**
 * The end of a suite sharing one CLI stack: asserts that nothing any of `runs` printed holds a secret or a
 * token the emulator issued, then stops the stack (nothing to do when it never started).
 */
export async function stopAfterLeakCheck(
  stack: CliStack | undefined,
  runs: readonly CliRun[],
): Promise<void> {
  if (stack === undefined) return;
  assert.deepEqual(leaks(stack, runs.map((run) => run.output.all()).join("\n")), {
    secrets: 0,
    accessTokens: 0,
  });
  await stack.stop();
}
