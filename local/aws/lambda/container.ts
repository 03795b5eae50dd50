/**
 * One Lambda execution environment ("container"): a worker thread with its own module graph (so
 * module-scope caches are per container, as in AWS), its own `process.env`, and one invocation at a
 * time. The worker is started lazily on the first invocation routed to it (a cold start) and
 * replaced by a fresh one after it dies, times out or is killed.
 */
import { randomUUID } from "node:crypto";
import type { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import type { ContainerConfig, ContainerMessage, FunctionErrorBody } from "./protocol.ts";

/** How a container answered one invocation. */
export type InvocationOutcome = { ok: true; body: string } | { ok: false; error: FunctionErrorBody };

/** One invocation as the dispatcher hands it to a container. */
export interface Invocation {
  requestId: string;
  payload: string;
  invokedFunctionArn: string;
  clientContext?: unknown;
}

/** Per-container counters (they survive the replacement of the worker). */
export interface ContainerCounters {
  invocations: number;
  errors: number;
  coldStarts: number;
}

/** Everything a container needs that is the same for all containers of a function. */
export interface ContainerSpec {
  config: Omit<ContainerConfig, "logStreamName">;
  environment: Record<string, string>;
  timeoutMs: number;
  initTimeoutMs: number;
  logOutput: Writable;
}

const RUNTIME_URL = new URL("./runtime.ts", import.meta.url);
/** tsx's loader, by absolute URL so that the worker resolves it whatever the current directory. */
const TSX_LOADER = import.meta.resolve("tsx");

interface Running {
  requestId: string;
  settle: (outcome: InvocationOutcome) => void;
  /** The worker the invocation was sent to (unset during a cold start). */
  worker?: Worker;
  timer?: NodeJS.Timeout;
}

/** One worker's lifetime; a container goes through many. */
interface Incarnation {
  worker: Worker;
  /** Resolves with an init error, or undefined once the handler is loaded. */
  ready: Promise<FunctionErrorBody | undefined>;
  /** A "fatal" message from the worker, kept to explain its imminent exit. */
  fatal?: FunctionErrorBody;
  /** Why the parent is ending the worker (timeout, kill), if it is. */
  endingBecause?: (requestId: string) => FunctionErrorBody;
}

export class Container {
  readonly index: number;
  readonly counters: ContainerCounters = { invocations: 0, errors: 0, coldStarts: 0 };
  #spec: ContainerSpec;
  #current: Incarnation | undefined;
  #running: Running | undefined;
  #exits = new Set<Promise<void>>();
  #idleWaiters: (() => void)[] = [];

  constructor(index: number, spec: ContainerSpec) {
    this.index = index;
    this.#spec = spec;
  }

  /** True while an invocation is assigned to this container (including its cold start). */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** True when a worker exists (warm or starting). */
  get warm(): boolean {
    return this.#current !== undefined;
  }

  /** Runs one invocation; never rejects (failures are outcomes, as Lambda reports them). */
  run(invocation: Invocation): Promise<InvocationOutcome> {
    if (this.#running !== undefined) throw new Error(`container ${this.index} is busy`);
    this.counters.invocations++;
    return new Promise<InvocationOutcome>((resolve) => {
      const running: Running = {
        requestId: invocation.requestId,
        settle: (outcome) => {
          if (this.#running !== running) return;
          clearTimeout(running.timer);
          this.#running = undefined;
          if (!outcome.ok) this.counters.errors++;
          resolve(outcome);
          for (const wake of this.#idleWaiters.splice(0)) wake();
        },
      };
      this.#running = running;
      void this.#startInvocation(invocation, running);
    });
  }

  async #startInvocation(invocation: Invocation, running: Running): Promise<void> {
    const incarnation = this.#current ?? this.#coldStart();
    const initError = await incarnation.ready;
    if (this.#running !== running) return; // killed during init
    if (initError !== undefined || this.#current !== incarnation) {
      running.settle({
        ok: false,
        error: initError ?? { errorType: "Runtime.ExitError", errorMessage: "container ended" },
      });
      return;
    }
    const timeoutMs = this.#spec.timeoutMs;
    running.worker = incarnation.worker;
    running.timer = setTimeout(() => {
      this.#end(incarnation, (requestId) => ({
        errorType: "Sandbox.Timedout",
        errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
      }));
    }, timeoutMs);
    incarnation.worker.postMessage({
      type: "invoke",
      requestId: invocation.requestId,
      payload: invocation.payload,
      invokedFunctionArn: invocation.invokedFunctionArn,
      deadlineMs: Date.now() + timeoutMs,
      clientContext: invocation.clientContext,
    });
  }

  #coldStart(): Incarnation {
    this.counters.coldStarts++;
    const { config, environment, initTimeoutMs, logOutput } = this.#spec;
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    const logStreamName = `${day}/[$LATEST]${randomUUID().replaceAll("-", "")}`;
    const worker = new Worker(RUNTIME_URL, {
      execArgv: ["--import", TSX_LOADER],
      env: { ...environment, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      workerData: { ...config, logStreamName } satisfies ContainerConfig,
      stdout: true,
      stderr: true,
    });
    forwardLines(worker.stdout, logOutput);
    forwardLines(worker.stderr, logOutput);

    let resolveReady!: (error: FunctionErrorBody | undefined) => void;
    const incarnation: Incarnation = {
      worker,
      ready: new Promise((resolve) => {
        resolveReady = resolve;
      }),
    };
    this.#current = incarnation;
    const initTimer = setTimeout(() => {
      this.#end(incarnation, (requestId) => ({
        errorType: "Sandbox.Timedout",
        errorMessage: `RequestId: ${requestId} Error: Init timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
      }));
    }, initTimeoutMs);

    worker.on("message", (message: ContainerMessage) => {
      switch (message.type) {
        case "ready":
          clearTimeout(initTimer);
          resolveReady(undefined);
          break;
        case "init-error":
          clearTimeout(initTimer);
          // Lambda discards an environment whose init failed; the next invocation initialises anew.
          this.#end(incarnation, () => message.error);
          resolveReady(message.error);
          break;
        case "result":
        case "error": {
          const running = this.#running;
          if (running?.worker !== worker || running.requestId !== message.requestId) break;
          running.settle(
            message.type === "result"
              ? { ok: true, body: message.body }
              : { ok: false, error: message.error },
          );
          break;
        }
        case "fatal":
          incarnation.fatal = message.error;
          break;
      }
    });
    worker.on("error", (error) => {
      incarnation.fatal ??= { errorType: error.name, errorMessage: error.message };
    });
    const exited = new Promise<void>((resolve) => {
      worker.once("exit", (code) => {
        clearTimeout(initTimer);
        if (this.#current === incarnation) this.#current = undefined;
        const running = this.#running?.worker === worker ? this.#running : undefined;
        const requestId = running?.requestId ?? "(none)";
        const error = incarnation.endingBecause?.(requestId) ??
          incarnation.fatal ?? {
            errorType: "Runtime.ExitError",
            errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status ${code}`,
          };
        resolveReady(error);
        running?.settle({ ok: false, error });
        resolve();
      });
    });
    this.#exits.add(exited);
    void exited.then(() => this.#exits.delete(exited));
    return incarnation;
  }

  /**
   * Terminates a worker (as Lambda kills an environment: no cleanup) and fails the invocation it was
   * running with `reason`. The container no longer uses it: the next invocation starts a fresh one.
   */
  #end(incarnation: Incarnation, reason: (requestId: string) => FunctionErrorBody): void {
    incarnation.endingBecause ??= reason;
    if (this.#current === incarnation) this.#current = undefined;
    void incarnation.worker.terminate();
  }

  /** Resolves once no invocation is running on this container. */
  whenIdle(): Promise<void> {
    if (this.#running === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Kills the container mid-invocation (like an out-of-memory kill) and waits until its worker is gone. */
  async kill(): Promise<void> {
    const incarnation = this.#current;
    if (incarnation !== undefined) {
      this.#end(incarnation, (requestId) => ({
        errorType: "Runtime.ExitError",
        errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
      }));
    }
    await Promise.all(this.#exits);
  }
}

/** Copies a worker's output to `output` one whole line at a time, so two containers never interleave mid-line. */
function forwardLines(stream: NodeJS.ReadableStream, output: Writable): void {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    const end = pending.lastIndexOf("\n");
    if (end < 0) return;
    output.write(pending.slice(0, end + 1));
    pending = pending.slice(end + 1);
  });
  stream.on("end", () => {
    if (pending !== "") output.write(`${pending}\n`);
    pending = "";
  });
}
