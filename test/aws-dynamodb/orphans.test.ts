/**
 * DynamoDB Local's JVM must never outlive the process that started it, whatever way that process ends.
 * Each case runs a real parent process (fixtures/crash-parent.ts) and then looks for its JVM with pgrep.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { findJava, startDynamoDb } from "../../local/aws/dynamodb/index.ts";

const fixture = fileURLToPath(new URL("./fixtures/crash-parent.ts", import.meta.url));
const hasJava = findJava() !== undefined;

/** Pids of the JVMs started by `ownerPid` (the launcher tags them with -Dgenesys.rotator.owner=<pid>). */
function jvmsOf(ownerPid: number): number[] {
  // Anchored on the program name so the sh watchdog (whose argv also contains the marker) is not counted.
  const result = spawnSync("pgrep", ["-f", `^[^ ]*java -Dgenesys\\.rotator\\.owner=${ownerPid} `], {
    encoding: "utf8",
  });
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line));
}

/** Polls until `ownerPid` has no JVM left; generous bound because the watchdog reacts asynchronously. */
async function waitForNoJvm(ownerPid: number, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = jvmsOf(ownerPid);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = jvmsOf(ownerPid);
  }
  return left;
}

async function runCrashingParent(
  how: string,
): Promise<{ pid: number; code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, how], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, DYNAMODB_ENGINE: "dynamodb-local" },
  });
  let stdout = "";
  let stderr = "";
  let sawJvm = false;
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    // Prove the JVM existed while the parent was alive, so "no JVM afterwards" means something.
    if (stdout.includes("ready dynamodb-local") && !sawJvm) {
      sawJvm = jvmsOf(child.pid!).length === 1;
      child.stdin.write("die now\n");
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  assert.match(stdout, /ready dynamodb-local/, `parent never became ready: ${stderr}`);
  assert.ok(sawJvm, "the JVM was not found while the parent was alive");
  return { pid: child.pid!, code, signal };
}

describe("no orphaned JVM", { skip: hasJava ? false : "java is not installed", concurrency: 2 }, () => {
  it("is left after stop()", async () => {
    const db = await startDynamoDb();
    assert.equal(db.engine, "dynamodb-local");
    assert.equal(jvmsOf(process.pid).length, 1);
    await db.stop();
    assert.deepEqual(jvmsOf(process.pid), []);
    await db.stop(); // idempotent
  });

  it("is left after an uncaught exception in the parent", async () => {
    const { pid, code } = await runCrashingParent("throw");
    assert.equal(code, 1);
    assert.deepEqual(await waitForNoJvm(pid), []);
  });

  it("is left after process.exit() in the parent", async () => {
    const { pid, code } = await runCrashingParent("exit");
    assert.equal(code, 3);
    assert.deepEqual(await waitForNoJvm(pid), []);
  });

  it("is left after SIGTERM, and the parent still dies of the signal", async () => {
    const { pid, signal } = await runCrashingParent("sigterm");
    assert.equal(signal, "SIGTERM");
    assert.deepEqual(await waitForNoJvm(pid), []);
  });

  it("is left after SIGKILL of the parent (no hook can run: the watchdog does it)", async () => {
    const { pid, signal } = await runCrashingParent("sigkill");
    assert.equal(signal, "SIGKILL");
    assert.deepEqual(await waitForNoJvm(pid), []);
  });
});
