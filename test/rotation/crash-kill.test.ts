/**
 * Real process kills. The rotation function runs in a child process (crash-child.ts: node with tsx, the
 * production handler and clients) against the emulators this test starts on 127.0.0.1. The child
 * announces every external call before sending it and after its answer, and waits for "go"; the parent
 * SIGKILLs it at one chosen call — before it is sent, or after it took effect but before the function
 * saw the answer. Secrets Manager's emulator then does what Secrets Manager does: the step failed, so it
 * retries the whole rotation (a fresh child: a cold start, as Lambda would give), which must converge.
 *
 * Windows without a working credential are measured exactly: the credential state changes only at a
 * write (regeneration, PutSecretValue, a label move), so the invariant is probed after each write, after
 * each step and right after each kill. Alternating pairs: AWSCURRENT must always mint. Single: some
 * staged version must (AWSPENDING where the protocol says so); between a regeneration and its put none
 * does, which is the strategy's documented trade-off (counted as tolerated).
 *
 * Single, killed between the regeneration and the stored put: the new secret existed only in Genesys
 * and in the killed process, so it is lost. The retries must then refuse with UnsavedRegenerationError
 * naming `genesys-rotator recover` (the regeneration marker GENESYS_REGENERATING is on the rotation's
 * version) and never regenerate again; after the operator's recover the next rotation converges. Every
 * other kill converges (docs/rotation.md, "Retries and crashes").
 *
 * Each kill costs a node start, so the crash points are a subset: for each kind of external call, its
 * first occurrence (killed after it when it writes, before it when it reads), for each strategy; then,
 * for single, a first kill after each write of createSecret (marker attached, regeneration, put, marker
 * removed) and a second kill on the path the retry takes: after each of its writes, and before its first
 * mint (where it tells a stale marker from an unsaved regeneration).
 */
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { RotationEvent } from "../../local/aws/secrets-manager/index.ts";
import { type LambdaWireServer, startLambdaWireServer } from "../client/lambda-wire.ts";
import { type RotationStack, STACK_IDS, startRotationStack } from "../support/rotation-stack.ts";
import type { CrashChildConfig } from "./crash-child.ts";
import {
  assertIsolated,
  CrashFigure,
  endingOf,
  type FigureRow,
  repairSecret,
  type Verify,
  verifyAlternating,
  verifySingle,
  WRITE_CALLS,
} from "./crash-support.ts";
import { checkInvariant, type Invariant } from "./helpers.ts";

/** Where single's documented window is seen in every rotation: its regeneration done, its put not yet. */
const IN_FLIGHT = "right after genesys:regenerateClientSecret";

const CHILD_MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-child.ts");

type Phase = "before" | "after";
/** Kill the child at the `index`-th call (counted across the rotation's attempts), in `phase`. */
interface Kill {
  index: number;
  phase: Phase;
}
type ChildMessage =
  | { kind: "ready" }
  | { kind: "call"; seq: number; phase: Phase; label: string }
  | { kind: "result"; id: number; ok: boolean; errorName?: string; errorMessage?: string };

/** The step failure the emulator records when the function died (what Lambda reports for a crash). */
class FunctionCrashedError extends Error {
  override readonly name = "Runtime.ExitError";
}

/**
 * A "container" of the rotation function: one child process at a time, reused across invocations until
 * it is killed; a spare is started ahead so a retry after a kill does not wait for a whole cold start.
 */
class ChildRotationFunction {
  /** Labels of the calls since {@link arm}, in order. */
  readonly calls: string[] = [];
  /** The step each of {@link calls} was made in. */
  readonly callSteps: string[] = [];
  /** The step being invoked (set by the caller). */
  step = "";
  kills = 0;
  #kills: Kill[] = [];
  #child: Promise<ChildProcess> | undefined;
  #spare: Promise<ChildProcess> | undefined;
  #nextId = 0;
  /** The call index of each announced call (by the child's sequence number) of the current child. */
  readonly #indexOf = new Map<number, number>();
  readonly #config: CrashChildConfig;
  readonly #afterWrite: (label: string) => Promise<void>;
  readonly #children = new Set<ChildProcess>();

  constructor(config: CrashChildConfig, afterWrite: (label: string) => Promise<void>) {
    this.#config = config;
    this.#afterWrite = afterWrite;
  }

  /** Resets the call count; the child is killed at each call `index` (counted from now) in `phase`. */
  arm(...kills: Kill[]): void {
    this.calls.length = 0;
    this.callSteps.length = 0;
    this.#indexOf.clear();
    this.#kills = kills;
  }

  /** Whether every armed kill happened. */
  get killed(): boolean {
    return this.#kills.length === 0;
  }

  async invoke(event: RotationEvent): Promise<void> {
    this.#child ??= this.#takeSpare();
    const child = await this.#child;
    const id = this.#nextId++;
    await new Promise<void>((resolve, reject) => {
      const onExit = () => {
        cleanup();
        reject(new FunctionCrashedError(`RequestId: ${id} Error: Runtime exited with signal: SIGKILL`));
      };
      const onMessage = (message: ChildMessage) => {
        if (message.kind === "result" && message.id === id) {
          cleanup();
          if (message.ok) resolve();
          else
            reject(
              Object.assign(new Error(message.errorMessage ?? ""), { name: message.errorName ?? "Error" }),
            );
        } else if (message.kind === "call") {
          void this.#onCall(child, message);
        }
      };
      const cleanup = () => {
        child.off("message", onMessage);
        child.off("exit", onExit);
      };
      child.on("message", onMessage);
      child.on("exit", onExit);
      child.send({ kind: "invoke", id, event });
    });
  }

  async #onCall(child: ChildProcess, message: { seq: number; phase: Phase; label: string }): Promise<void> {
    if (message.phase === "before") {
      this.#indexOf.set(message.seq, this.calls.push(message.label) - 1);
      this.callSteps.push(this.step);
    }
    const index = this.#indexOf.get(message.seq);
    const kill = this.#kills.find((k) => k.index === index && k.phase === message.phase);
    if (kill !== undefined) {
      this.#kills = this.#kills.filter((k) => k !== kill);
      this.kills += 1;
      this.#child = undefined;
      child.kill("SIGKILL");
      return;
    }
    if (message.phase === "after" && WRITE_CALLS.has(message.label)) await this.#afterWrite(message.label);
    // An overlapping call of a child killed meanwhile gets no answer.
    if (!child.killed && child.connected) child.send({ kind: "go", seq: message.seq });
  }

  #takeSpare(): Promise<ChildProcess> {
    const next = this.#spare ?? this.#start();
    this.#spare = this.#start();
    return next;
  }

  async #start(): Promise<ChildProcess> {
    const child = fork(CHILD_MODULE, [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, CRASH_CHILD_CONFIG: JSON.stringify(this.#config) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    const [message] = (await once(child, "message")) as [ChildMessage];
    assert.equal(message.kind, "ready");
    return child;
  }

  async stop(): Promise<void> {
    const exits = [...this.#children].map((child) =>
      child.exitCode === null ? once(child, "exit") : undefined,
    );
    for (const child of this.#children) child.kill("SIGKILL");
    await Promise.all(exits);
  }
}

interface Scenario {
  name: string;
  secret: (stack: RotationStack) => string;
  invariant: Invariant;
  verify: Verify;
  /**
   * Whether to kill again on the recovery path. Single only: its retry makes calls a clean attempt does
   * not (the stale-marker check and removal, the refusal); an alternating retry repeats a clean
   * createSecret (and is faulted on its recovery paths in crash.test.ts).
   */
  recoveryKills: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: "alternating pair",
    secret: (s) => s.secrets.app,
    invariant: "current",
    verify: verifyAlternating,
    recoveryKills: false,
  },
  {
    name: "single client",
    secret: (s) => s.secrets.single,
    invariant: "anyStaged",
    verify: verifySingle,
    recoveryKills: true,
  },
];

const figure = new CrashFigure();
after(() => {
  // The closing note of the crash-coverage issue quotes this table.
  console.log(
    figure.format("process kills (SIGKILL)", [
      `single: every rotation shows one window ${IN_FLIGHT} (before its put), counted as the trade-off and not listed`,
    ]),
  );
});

for (const scenario of SCENARIOS) {
  describe(`SIGKILL of the rotation process: ${scenario.name}`, () => {
    let stack: RotationStack;
    let vendor: LambdaWireServer;
    let fn: ChildRotationFunction;
    let secretId: string;
    /** Where the probe is: a write in flight (`write`), after a step, or after a kill. */
    let observations: { step: string; at: string; violation: string | undefined }[] = [];
    let step = "";
    let clean: string[] = [];
    let cleanSteps: string[] = [];

    const observe = async (at: string) => {
      const violation = await checkInvariant(stack, secretId, scenario.invariant);
      observations.push({ step, at, violation });
    };

    before(async () => {
      stack = await startRotationStack({ maxRotationAttempts: 3 });
      vendor = await startLambdaWireServer();
      secretId = scenario.secret(stack);
      const { endpoint, region, credentials } = stack.secretsManager
        .clientConfig as unknown as CrashChildConfig["secretsManager"];
      fn = new ChildRotationFunction(
        {
          handlerEnvironment: stack.handlerEnvironment,
          secretsManager: { endpoint: String(endpoint), region: String(region), credentials },
          genesysUrl: stack.genesys.url,
          vendorUrl: vendor.url,
          vendorFunctionName: "token-vendor",
          integrationCredentials: { [secretId]: [STACK_IDS.integrationCredential] },
        },
        (label) => observe(`right after ${label}`),
      );
      stack.setRotationFunction(async (event) => {
        step = event.Step;
        fn.step = event.Step;
        try {
          await fn.invoke(event);
        } finally {
          await observe("after the step");
        }
      });
      fn.arm();
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const outcome = await stack.rotate(secretId);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
      await scenario.verify(stack, secretId, previous);
      clean = [...fn.calls];
      cleanSteps = [...fn.callSteps];
    });
    after(async () => {
      await fn?.stop();
      await vendor?.stop();
      await stack?.stop();
    });

    /**
     * Runs one rotation with `kills` armed and tallies its ending and windows in `row`. A rotation that
     * asked for the operator's recover must have regenerated once (never again) and converge after the
     * recover ({@link repairSecret}); one that stopped with a working credential must converge when rotated
     * again. Either way the next case starts clean ({@link assertIsolated}). Returns the ending and the
     * calls of the killed rotation with their steps.
     */
    async function runKillPoint(row: FigureRow, kills: Kill[], where: string) {
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const vendorMark = vendor.received.length;
      const regenerationsBefore = stack.genesys.counters.regenerations();
      observations = [];
      fn.arm(...kills);
      const outcome = await stack.rotate(secretId);
      assert.ok(fn.killed, `${where}: the process was killed ${kills.length} time(s)`);
      const path = [...fn.calls];
      const pathSteps = [...fn.callSteps];
      const { ending, detail } = await endingOf(stack, secretId, previous, outcome, scenario.verify);
      row.points += 1;
      row.endings[ending] += 1;
      const recover = ending === "operator recover reported";
      const windows = new Map<string, number>();
      for (const observation of observations.filter((o) => o.violation !== undefined)) {
        row.windows += 1;
        // Single's trade-off: in flight between its regeneration and the put, and, when the kill fell
        // there, until the operator's recover.
        const tolerated =
          scenario.invariant === "anyStaged" &&
          observation.step === "createSecret" &&
          (observation.at === IN_FLIGHT || recover);
        if (tolerated) row.toleratedWindows += 1;
        const at = `${observation.at} during ${observation.step}${tolerated ? " (trade-off)" : ""}`;
        windows.set(at, (windows.get(at) ?? 0) + 1);
      }
      for (const [at, count] of windows) {
        // The in-flight window of every single rotation is counted, not listed (see the figure's note).
        if (!at.startsWith(IN_FLIGHT)) row.windowsAt.push(`${where}: ${count} x ${at}`);
      }
      if (ending === "converged") {
        // A kill during the hooks fails finishSecret, so the retry runs them again; any left undone is
        // counted for the report.
        const current = (await stack.readStaged(secretId, "AWSCURRENT"))!;
        const integration = stack.genesys.state.getIntegrationCredential(STACK_IDS.integrationCredential)!;
        const warmed = vendor.received.length > vendorMark;
        if (integration.credentialFields.clientSecret !== current.clientSecret || !warmed) {
          row.hooksUndone += 1;
          row.notes.push(`${where}: converged, finish hooks left undone`);
        }
      } else {
        row.notes.push(`${where}: ${ending} (${detail.slice(0, 160)})`);
        if (recover) {
          assert.equal(
            stack.genesys.counters.regenerations() - regenerationsBefore,
            1,
            `${where}: the client was regenerated once and never again`,
          );
        }
        if (ending !== "stopped, a credential works") await repairSecret(stack, secretId);
        // What the docs say comes next: rotate again (after the operator's recover, if asked for).
        const before = (await stack.readStaged(secretId, "AWSCURRENT"))!;
        fn.arm();
        const next = await stack.rotate(secretId);
        assert.equal(next.eventName, "RotationSucceeded", `${where}: the next rotation: ${next.cause}`);
        await scenario.verify(stack, secretId, before);
        if (recover) row.convergedAfterRecover += 1;
      }
      await assertIsolated(stack, secretId, where);
      return { ending, path, pathSteps };
    }

    /**
     * Alternating: no window, every kill converges. Single: never lost; recover asked for only when a
     * kill fell between the regeneration and its put; windows only in createSecret, as the trade-off.
     */
    function assertRow(row: FigureRow): void {
      const notes = [...row.notes, ...row.windowsAt].join("\n");
      if (scenario.invariant === "current") {
        assert.equal(row.windows, 0, notes);
        assert.equal(row.endings.converged, row.points, notes);
      } else {
        assert.equal(row.endings.lost, 0, notes);
        assert.equal(row.windows, row.toleratedWindows, notes);
      }
    }

    test("a kill at every kind of external call converges with no window", async () => {
      for (const kind of ["sm:PutSecretValue", "genesys:regenerateClientSecret", "lambda:Invoke"]) {
        assert.ok(clean.includes(kind), `${kind} in ${clean.join(", ")}`);
      }
      const row = figure.row("SIGKILL", scenario.name, "first call of each kind");
      for (const label of new Set(clean)) {
        const index = clean.indexOf(label);
        // A write is killed after it took effect (before it is sent = after the call preceding it); a read
        // before it is sent.
        const phase: Phase = WRITE_CALLS.has(label) ? "after" : "before";
        const where = `kill ${phase} call #${index} (${label} in ${cleanSteps[index]})`;
        const { ending } = await runKillPoint(row, [{ index, phase }], where);
        const lostSecret = scenario.invariant === "anyStaged" && label === "genesys:regenerateClientSecret";
        assert.equal(ending, lostSecret ? "operator recover reported" : "converged", row.notes.at(-1));
      }
      assert.equal(row.points, new Set(clean).size);
      assertRow(row);
    });

    const recoveryTest = scenario.recoveryKills ? test : test.skip;
    recoveryTest(
      "a second kill on the recovery path (the retry after a kill after each write of createSecret) converges or asks for recover",
      async () => {
        const regenerate = clean.indexOf("genesys:regenerateClientSecret");
        const put = clean.indexOf("sm:PutSecretValue");
        // Single's createSecret: marker attached, regeneration, put, marker removed.
        const firstKills = [
          { name: "marker attached", index: clean.lastIndexOf("sm:UpdateSecretVersionStage", regenerate) },
          { name: "regeneration", index: regenerate },
          { name: "put", index: put },
          { name: "marker removed", index: clean.indexOf("sm:UpdateSecretVersionStage", put) },
        ];
        for (const { name, index } of firstKills) {
          assert.ok(index >= 0 && cleanSteps[index] === "createSecret", `${name} in createSecret`);
        }
        for (const { name, index } of firstKills) {
          const first: Kill = { index, phase: "after" };
          const row = figure.row("SIGKILL x2", scenario.name, `after ${name}, then the retry's calls`);
          const alone = await runKillPoint(row, [first], `kill after ${name} alone`);
          // The regenerated secret is lost only when the kill fell between the regeneration and the put.
          assert.equal(
            alone.ending,
            name === "regeneration" ? "operator recover reported" : "converged",
            row.notes.at(-1),
          );
          // The retry's own decisions: its first mint (the marker check: stale marker or refusal) and each
          // of its writes. Killing it before another read only restarts the retry (covered above).
          const firstMint = alone.path.indexOf("genesys:requestToken", index + 1);
          for (let second = index + 1; second < alone.path.length; second++) {
            if (alone.pathSteps[second] !== "createSecret") continue;
            const label = alone.path[second]!;
            const write = WRITE_CALLS.has(label);
            if (!write && second !== firstMint) continue;
            const phase: Phase = write ? "after" : "before";
            await runKillPoint(
              row,
              [first, { index: second, phase }],
              `kill after ${name} (#${index}), then ${phase} #${second} (${label})`,
            );
          }
          assertRow(row);
        }
      },
    );
  });
}
