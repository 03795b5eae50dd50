import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createLogger } from "../../lambda/shared/log.ts";
import { assertNoSecrets, captureOutput } from "./log-capture.ts";

const SECRET = "Zq3V9xL0-tR7mKp2Wc8Hn4Jy6Ud1Fs5Ab0Eg3Qi7Ox";

describe("captureOutput", () => {
  it("captures console, raw writes and the Powertools logger, then restores the writers", async () => {
    const originalWrite = process.stdout.write;
    const { result, output } = await captureOutput(async () => {
      console.log("from console.log");
      console.error("from console.error");
      process.stdout.write(Buffer.from("raw bytes\n"));
      createLogger("capture-test").info("from the logger", { n: 1 });
      return 42;
    });
    assert.equal(result, 42);
    for (const text of [
      "from console.log",
      "from console.error",
      "raw bytes",
      '"message":"from the logger"',
    ]) {
      assert.ok(output.includes(text), text);
    }
    assert.equal(process.stdout.write, originalWrite);
  });

  it("restores the writers when the block throws", async () => {
    const originalWrite = process.stderr.write;
    await assert.rejects(
      captureOutput(() => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(process.stderr.write, originalWrite);
  });
});

describe("assertNoSecrets", () => {
  const failureOf = (block: () => void): string => {
    try {
      block();
    } catch (error) {
      return (error as Error).message;
    }
    return assert.fail("expected assertNoSecrets to fail");
  };

  it("passes on clean text", () => {
    assertNoSecrets("nothing to see", { "client secret": [SECRET] });
  });

  it("names the kind of a leaked value and never prints it", () => {
    const message = failureOf(() =>
      assertNoSecrets(`x ${SECRET} y`, {
        "client secret": ["other-secret-value-000000"],
        "access token": [SECRET],
      }),
    );
    assert.match(message, /an access token \(whole value; #1 of 1 known\)/);
    assert.ok(!message.includes(SECRET.slice(0, 6)));
  });

  it("catches a truncated leak", () => {
    const message = failureOf(() => assertNoSecrets(`secret=${SECRET.slice(0, 20)}…`, [SECRET]));
    assert.match(message, /a secret value \(its first 12 characters/);
  });
});

describe("captureOutput inside node:test", () => {
  it("lets the runner's own report through, so no test result is lost during a capture", () => {
    const fixture = fileURLToPath(new URL("./fixtures/capture-between-tests.ts", import.meta.url));
    const run = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", fixture], {
      encoding: "utf8",
      timeout: 60_000,
      // Without this the child would believe it is one of our own runner's children and report in binary.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^# tests 3$/m);
    assert.match(run.stdout, /^# pass 3$/m);
  });
});
