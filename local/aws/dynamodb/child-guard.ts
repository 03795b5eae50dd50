/**
 * Runs a long-lived helper process (DynamoDB Local's JVM) so that it cannot outlive this process.
 *
 * Three layers, because each one alone leaves a gap:
 * 1. `stop()` kills it (the normal path).
 * 2. Process hooks kill it synchronously on `exit` (which also runs after an uncaught exception or
 *    `process.exit()`), and on SIGINT/SIGTERM/SIGHUP, after which the signal is re-raised so the
 *    process still dies of it as it would have without our handler.
 * 3. A watchdog: the program runs under a tiny `sh` wrapper whose stdin is a pipe from us. When this
 *    process dies in a way no hook sees (SIGKILL, OOM killer, a crash in native code), the kernel
 *    closes that pipe, the wrapper reads end-of-file and kills the program.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import type { Readable } from "node:stream";

/**
 * The wrapper: starts "$@" in the background with stdin from /dev/null, reports its pid on fd 3,
 * then waits for either the program's exit (exit with its status) or EOF on stdin (kill it).
 * A background list gets /dev/null as stdin, so the real stdin is kept on fd 4 for the watcher.
 */
const WATCHDOG_SCRIPT = [
  "exec 4<&0",
  '"$@" </dev/null 3>&- 4<&- &',
  "child=$!",
  'echo "$child" >&3',
  "exec 3>&-",
  '(while read -r _ignored; do :; done; kill -9 "$child" 2>/dev/null) <&4 &',
  "watcher=$!",
  "exec 4<&-",
  'wait "$child"',
  "status=$?",
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join("\n");

/** A guarded child: the wrapper process and the pid of the real program. */
export interface GuardedChild {
  /** The `sh` wrapper (its stdout/stderr are the program's). */
  wrapper: ChildProcess;
  /** The pid of the program itself (e.g. java). */
  pid: number;
  /** Resolves with the wrapper's exit code (the program's status) once it has exited. */
  exited: Promise<number | null>;
  /** Kills the program and waits for the wrapper to exit. Idempotent. */
  kill(): Promise<void>;
}

const guarded = new Set<{ pid: number; wrapper: ChildProcess }>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let hooksInstalled = false;

function killAllNow(): void {
  for (const entry of guarded) {
    killQuietly(entry.pid);
    entry.wrapper.stdin?.destroy();
  }
  guarded.clear();
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  uninstallHooks();
  // Our listener suppressed Node's default "die of the signal"; restore it unless the application has
  // its own handler, which then decides.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllNow);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off("exit", killAllNow);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * Spawns `command args` under the watchdog wrapper. `options.stdio` is ignored: stdin is the
 * watchdog pipe, stdout/stderr are piped (read or ignore them), fd 3 carries the program's pid.
 */
export async function spawnGuarded(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<GuardedChild> {
  const wrapper = spawn("/bin/sh", ["-c", WATCHDOG_SCRIPT, "watchdog", command, ...args], {
    ...options,
    detached: false,
    stdio: ["pipe", "pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => {
    wrapper.once("exit", (code) => resolve(code));
    wrapper.once("error", () => resolve(null));
  });
  const pid = await readPid(wrapper.stdio[3] as Readable, exited);
  const entry = { pid, wrapper };
  guarded.add(entry);
  installHooks();
  void exited.then(() => {
    guarded.delete(entry);
    if (guarded.size === 0) uninstallHooks();
  });

  return {
    wrapper,
    pid,
    exited,
    async kill() {
      killQuietly(pid);
      wrapper.stdin?.destroy();
      await exited;
    },
  };
}

function readPid(stream: Readable, exited: Promise<number | null>): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
      const line = text.split("\n")[0];
      if (text.includes("\n") && line !== undefined) {
        const pid = Number(line.trim());
        if (Number.isInteger(pid) && pid > 0) resolve(pid);
        else reject(new Error(`watchdog reported an invalid pid ${JSON.stringify(line)}`));
      }
    });
    void exited.then((code) => reject(new Error(`watchdog exited (code ${code}) before reporting the pid`)));
  });
}
