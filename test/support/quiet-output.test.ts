/**
 * The `--import` setup of `npm run test:unit` (quiet-output.ts): what passing tests print stays out of
 * the report, a failing test's output is shown under its name, and the runner's summary is intact.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const SETUP = new URL("./quiet-output.ts", import.meta.url).href;
const PROBE = fileURLToPath(new URL("./fixtures/quiet-output-probe.test.mts", import.meta.url));

function runProbe(env: Record<string, string | undefined> = {}) {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", SETUP, "--test", "--test-reporter=spec", PROBE],
    {
      encoding: "utf8",
      timeout: 60_000,
      // Without this the child would believe it is one of our own runner's children and report in binary.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, TEST_OUTPUT: undefined, ...env },
    },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("quiet test output (--import ./test/support/quiet-output.ts)", () => {
  it("shows only the output of the failing test (and outside the tests of its file), with the summary", () => {
    const { status, output } = runProbe();
    assert.equal(status, 1, output);
    assert.doesNotMatch(output, /line of the passing test/);
    assert.doesNotMatch(output, /line of the test after the failure/);
    assert.match(
      output,
      /----- output of the failed test "a suite > fails on purpose" -----\n.*"message":"line of the failing test".*\nstderr line of the failing test\n----- end of/,
    );
    assert.match(output, /----- output outside the tests of a failed file -----\n.*line of the before hook/);
    assert.match(output, /✖ fails on purpose/);
    assert.match(output, /✔ a passing test/);
    assert.match(output, /^ℹ tests 3$/m);
    assert.match(output, /^ℹ pass 2$/m);
    assert.match(output, /^ℹ fail 1$/m);
  });

  it("TEST_OUTPUT=all lets everything through", () => {
    const { output } = runProbe({ TEST_OUTPUT: "all" });
    assert.match(output, /line of the passing test/);
    assert.match(output, /line of the test after the failure/);
    assert.doesNotMatch(output, /----- output of the failed test/);
  });
});
