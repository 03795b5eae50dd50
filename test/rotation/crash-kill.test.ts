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
 * does, which is the strategy's documented trade-off (counted as tolerated), and after a kill there
 * until the retry stores a new secret.
 *
 * Each kill costs a node start, so the crash points are a subset: for each kind of external call, its
 * first occurrence (killed after it when it writes, before it when it reads), for each strategy; then a
 * second kill on the recovery path of a kill after the regeneration, for single (the evidence reads
 * ListSecretVersionIds and getOAuthClient, the second regeneration and its put).
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

const CHILD_MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-child.ts");

/** Reads only single's retry makes after its own lost put: the evidence of its own regeneration. */
const RECOVERY_READS = new Set(["sm:ListSecretVersionIds", "genesys:getOAuthClient"]);

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
  kills = 0;
  #kills: Kill[] = [];
  #child: Promise<ChildProcess> | undefined;
  #spare: Promise<ChildProcess> | undefined;
  #nextId = 0;
  /** The call index of each announced call (by the child's sequence number) of the current child. */
  readonly #indexOf = new Map<number, number>();
  readonly #config: CrashChildConfig;
  readonly #afterWrite: () => Promise<void>;
  readonly #children = new Set<ChildProcess>();

  constructor(config: CrashChildConfig, afterWrite: () => Promise<void>) {
    this.#config = config;
    this.#afterWrite = afterWrite;
  }

  /** Resets the call count; the child is killed at each call `index` (counted from now) in `phase`. */
  arm(...kills: Kill[]): void {
    this.calls.length = 0;
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
    if (message.phase === "before") this.#indexOf.set(message.seq, this.calls.push(message.label) - 1);
    const index = this.#indexOf.get(message.seq);
    const kill = this.#kills.find((k) => k.index === index && k.phase === message.phase);
    if (kill !== undefined) {
      this.#kills = this.#kills.filter((k) => k !== kill);
      this.kills += 1;
      this.#child = undefined;
      child.kill("SIGKILL");
      return;
    }
    if (message.phase === "after" && WRITE_CALLS.has(message.label)) await this.#afterWrite();
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
   * not (the evidence reads); an alternating retry repeats a clean createSecret (and is faulted on its
   * recovery path in crash.test.ts).
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
  console.log(figure.format("process kills (SIGKILL)"));
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
        () => observe("write"),
      );
      stack.setRotationFunction(async (event) => {
        step = event.Step;
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
    });
    after(async () => {
      await fn?.stop();
      await vendor?.stop();
      await stack?.stop();
    });

    /**
     * Runs one rotation with `kills` armed, tallies its ending and windows in `row`, repairs the secret
     * when it did not converge.
     */
    async function runKillPoint(row: FigureRow, kills: Kill[], where: string): Promise<void> {
      const previous = (await stack.readStaged(secretId, "AWSCURRENT"))!;
      const vendorMark = vendor.received.length;
      observations = [];
      fn.arm(...kills);
      const outcome = await stack.rotate(secretId);
      assert.ok(fn.killed, `${where}: the process was killed ${kills.length} time(s)`);
      const { ending, detail } = await endingOf(stack, secretId, previous, outcome, scenario.verify);
      row.points += 1;
      row.endings[ending] += 1;
      for (const observation of observations.filter((o) => o.violation !== undefined)) {
        row.windows += 1;
        // Single: between its regeneration and the put (in flight, or until the retry after a kill).
        if (scenario.invariant === "anyStaged" && observation.step === "createSecret")
          row.toleratedWindows += 1;
        else row.notes.push(`${where}: window ${observation.at} during ${observation.step}`);
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
        row.notes.push(`${where}: ${ending} (${detail.slice(0, 200)})`);
        await repairSecret(stack, secretId);
      }
    }

    /** Alternating: no window, every kill converges. Single: converges or asks for recover; windows only in createSecret. */
    function assertRow(row: FigureRow): void {
      const notes = row.notes.join("\n");
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
        await runKillPoint(row, [{ index, phase }], `kill ${phase} call #${index} (${label})`);
      }
      assert.equal(row.points, new Set(clean).size);
      assertRow(row);
    });

    const recoveryTest = scenario.recoveryKills ? test : test.skip;
    recoveryTest(
      "a second kill on the recovery path (the retry after a kill after the regeneration) converges",
      async () => {
        const regenerate = clean.indexOf("genesys:regenerateClientSecret");
        const first: Kill = { index: regenerate, phase: "after" };
        fn.arm(first);
        const dryRun = await stack.rotate(secretId);
        assert.equal(dryRun.eventName, "RotationSucceeded", dryRun.cause);
        const path = [...fn.calls];
        const retryPut = path.indexOf("sm:PutSecretValue", regenerate + 1);
        assert.ok(retryPut > regenerate, "the retry stores its own regeneration");
        const recovery = path.slice(regenerate + 1, retryPut + 1);
        if (scenario.invariant === "anyStaged") {
          assert.ok(
            recovery.includes("sm:ListSecretVersionIds"),
            `single's retry reads the evidence: ${recovery.join(", ")}`,
          );
        }
        const row = figure.row("SIGKILL x2", scenario.name, "after regeneration, then recovery calls");
        // The calls that differ from a clean attempt: the evidence reads (single) and the writes.
        const seen = new Set<string>();
        for (let index = regenerate + 1; index <= retryPut; index++) {
          const label = path[index]!;
          if (seen.has(label) || !(WRITE_CALLS.has(label) || RECOVERY_READS.has(label))) continue;
          seen.add(label);
          const phase: Phase = WRITE_CALLS.has(label) ? "after" : "before";
          await runKillPoint(
            row,
            [first, { index, phase }],
            `kill after #${regenerate}, then ${phase} #${index} (${label})`,
          );
        }
        assertRow(row);
      },
    );
  });
}
