/**
 * Dispatch for one registered function: N containers, each running one invocation at a time; warm
 * containers are preferred to cold ones (as Lambda reuses environments), requests wait in a bounded
 * queue when every container is busy, and beyond that bound the function is throttled.
 */
import type { Writable } from "node:stream";
import { Container, type ContainerCounters, type Invocation, type InvocationOutcome } from "./container.ts";

/** Counters of one function. */
export interface FunctionCounters {
  /** Invocations that reached a container. */
  invocations: number;
  /** Invocations that ended in a function error (thrown, timed out, killed, init failure). */
  errors: number;
  /** Invocations per container index. */
  perContainer: number[];
  /** Worker starts, over all containers. */
  coldStarts: number;
  /** Requests rejected with TooManyRequestsException. */
  throttles: number;
  /** Per-container detail. */
  containers: ContainerCounters[];
}

/** What the host needs to build its containers. */
export interface FunctionHostSpec {
  functionName: string;
  modulePath: string;
  handlerName: string;
  environment: Record<string, string>;
  containers: number;
  timeoutMs: number;
  initTimeoutMs: number;
  maxQueued: number;
  memoryLimitInMB: number;
  logOutput: Writable;
}

/** Every container is busy and the queue is full. */
export class ThrottledError extends Error {
  override readonly name = "ThrottledError";
}

interface Waiting {
  invocation: Invocation;
  resolve: (outcome: Promise<InvocationOutcome>) => void;
  reject: (error: Error) => void;
}

export class FunctionHost {
  readonly spec: FunctionHostSpec;
  readonly #containers: Container[];
  #queue: Waiting[] = [];
  #throttles = 0;
  #retired = false;

  constructor(spec: FunctionHostSpec) {
    this.spec = spec;
    const logGroupName = `/aws/lambda/${spec.functionName}`;
    this.#containers = Array.from(
      { length: spec.containers },
      (_, index) =>
        new Container(index, {
          config: {
            modulePath: spec.modulePath,
            handlerName: spec.handlerName,
            functionName: spec.functionName,
            memoryLimitInMB: spec.memoryLimitInMB,
            logGroupName,
          },
          environment: spec.environment,
          timeoutMs: spec.timeoutMs,
          initTimeoutMs: spec.initTimeoutMs,
          logOutput: spec.logOutput,
        }),
    );
  }

  /**
   * Runs an invocation on a free container, or queues it. `unbounded` skips the queue bound
   * (asynchronous `Event` invocations, which Lambda queues internally instead of throttling).
   * @throws ThrottledError when every container is busy and the queue is full.
   */
  invoke(invocation: Invocation, options: { unbounded?: boolean } = {}): Promise<InvocationOutcome> {
    if (this.#retired) return Promise.reject(new Error(`${this.spec.functionName} was stopped`));
    const container = this.#pickContainer();
    if (container !== undefined) return this.#runOn(container, invocation);
    if (!options.unbounded && this.#queue.length >= this.spec.maxQueued) {
      this.#throttles++;
      return Promise.reject(
        new ThrottledError(`${this.spec.functionName}: all ${this.spec.containers} containers busy`),
      );
    }
    return new Promise<InvocationOutcome>((resolve, reject) => {
      this.#queue.push({ invocation, resolve, reject });
    });
  }

  /** Kills one container mid-invocation; its invocation fails and the next one starts a cold container. */
  kill(index: number): Promise<void> {
    const container = this.#containers[index];
    if (container === undefined)
      throw new RangeError(`container index ${index} is outside 0..${this.#containers.length - 1}`);
    return container.kill();
  }

  counters(): FunctionCounters {
    const containers = this.#containers.map((container) => ({ ...container.counters }));
    return {
      invocations: sum(containers, "invocations"),
      errors: sum(containers, "errors"),
      coldStarts: sum(containers, "coldStarts"),
      perContainer: containers.map((counters) => counters.invocations),
      throttles: this.#throttles,
      containers,
    };
  }

  /**
   * Stops the function. With a `successor` (a re-registration) queued invocations move to it and
   * in-flight ones finish first; without one, queued invocations are rejected and in-flight ones killed.
   */
  async retire(successor?: FunctionHost): Promise<void> {
    this.#retired = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const waiting of queued) {
      if (successor === undefined) waiting.reject(new Error(`${this.spec.functionName} was stopped`));
      else waiting.resolve(successor.invoke(waiting.invocation, { unbounded: true }));
    }
    await Promise.all(
      this.#containers.map(async (container) => {
        if (successor !== undefined) await container.whenIdle();
        await container.kill();
      }),
    );
  }

  /** A warm idle container, else a cold one (a worker start), else none. */
  #pickContainer(): Container | undefined {
    const idle = this.#containers.filter((container) => !container.busy);
    return idle.find((container) => container.warm) ?? idle[0];
  }

  #runOn(container: Container, invocation: Invocation): Promise<InvocationOutcome> {
    const outcome = container.run(invocation);
    void outcome.then(() => this.#drain());
    return outcome;
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.#retired) {
      const container = this.#pickContainer();
      if (container === undefined) return;
      const waiting = this.#queue.shift()!;
      waiting.resolve(this.#runOn(container, waiting.invocation));
    }
  }
}

function sum(items: ContainerCounters[], key: keyof ContainerCounters): number {
  return items.reduce((total, item) => total + item[key], 0);
}
