/**
 * Shared pieces of the rotation suites: a recording logger, invariant probes run between steps, and
 * instrumentation that enumerates (and fails) every external call the rotation function makes.
 */
import assert from "node:assert/strict";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GenesysTransientError } from "../../lambda/shared/genesys/errors.ts";
import type { GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import type { Log } from "../../lambda/shared/log.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import type { RotationEvent } from "../../local/aws/secrets-manager/index.ts";
import { RecordingLog, type RotationStack } from "../support/rotation-stack.ts";

/** A Log that keeps every line as JSON text (for assertions on messages and for leak checks). */
export function recordingLog(): Log & { lines: string[] } {
  return new RecordingLog();
}

/** Which staged credentials must mint a token at every observed instant. */
export type Invariant = "current" | "anyStaged";

/**
 * Checks an invariant now and returns a violation message, or `undefined`.
 * - `current`: AWSCURRENT works (alternating pairs: consumers reading the raw secret never break).
 * - `anyStaged`: AWSCURRENT, AWSPENDING or AWSPREVIOUS works (single: what the vending function's fallback needs).
 */
export async function checkInvariant(
  stack: RotationStack,
  secretId: string,
  invariant: Invariant,
): Promise<string | undefined> {
  const labels = invariant === "current" ? ["AWSCURRENT"] : ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"];
  for (const label of labels) {
    const value = await stack.readStaged(secretId, label);
    if (value !== undefined && (await stack.mints(value))) return undefined;
  }
  return `${invariant === "current" ? "AWSCURRENT" : "no staged version"} of ${secretId} does not mint a token`;
}

/** One failed invariant check, with the step it followed and whether that step failed. */
export interface Violation {
  step: string;
  stepFailed: boolean;
  message: string;
}

/** Makes the stack's rotation function check invariants after every step (failed or not); returns the violations. */
export function probeAfterEachStep(
  stack: RotationStack,
  checks: { secretId: string; invariant: Invariant }[],
  handler = stack.createHandler(),
): Violation[] {
  const violations: Violation[] = [];
  stack.setRotationFunction(async (event: RotationEvent) => {
    let stepFailed = true;
    try {
      await handler(event);
      stepFailed = false;
    } finally {
      for (const check of checks) {
        const message = await checkInvariant(stack, check.secretId, check.invariant);
        if (message !== undefined) violations.push({ step: event.Step, stepFailed, message });
      }
    }
  });
  return violations;
}

/** How an injected fault hits call number `index`. */
export type FaultMode =
  /** The call fails before it is sent (nothing changed). */
  | "before"
  /** The call is made, then the caller sees a failure (a lost response, or the process dying right after it). */
  | "after"
  /** A fault on the wire: Genesys resets the connection after processing / 5xx; Secrets Manager answers InternalServiceError (also past SDK retries). */
  | "wire";

/** One external call of the rotation function, as enumerated by {@link CallInstrument}. */
export interface ExternalCall {
  /** `sm:<Operation>` or `genesys:<method>`. */
  label: string;
  index: number;
}

/** One fault to inject: at the `index`-th external call from the moment of arming. */
export interface InjectedFault {
  index: number;
  mode: FaultMode;
}

/**
 * Counts every external call the rotation function makes (Secrets Manager via SDK middleware, Genesys
 * via the gateway, the token vendor's Lambda Invoke via SDK middleware) and, when armed, injects faults
 * at the given call numbers (one fault, or several to hit a recovery path after a first fault).
 */
export class CallInstrument {
  readonly calls: ExternalCall[] = [];
  #armed: InjectedFault[] = [];
  readonly #injected: ExternalCall[] = [];
  readonly #stack: RotationStack;

  constructor(stack: RotationStack) {
    this.#stack = stack;
  }

  /** Resets the count; each fault (if any) hits its `index`-th call from now. */
  arm(fault?: InjectedFault | readonly InjectedFault[]): void {
    this.calls.length = 0;
    this.#armed = fault === undefined ? [] : Array.isArray(fault) ? [...fault] : [fault as InjectedFault];
    this.#injected.length = 0;
  }

  /** The call the (first) armed fault was injected into, once it happened. */
  get injected(): ExternalCall | undefined {
    return this.#injected[0];
  }

  /** Every call a fault was injected into, in order. */
  get injectedAll(): readonly ExternalCall[] {
    return this.#injected;
  }

  /**
   * Adds the counting/injecting middleware to the Lambda client of the cache-warming hook. `wire` makes
   * the invoked endpoint answer the next request with a service error.
   */
  instrumentLambda(client: LambdaClient, wire: () => void): LambdaClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
        return this.#around(`lambda:${operation}`, () => next(args), {
          wire,
          before: () => awsError("injected: request not sent"),
          lost: () => awsError("injected: the response was lost after the call"),
        });
      },
      { step: "initialize", name: "rotationCallInstrument" },
    );
    return client;
  }

  /** Adds the counting/injecting middleware to a Secrets Manager client used by the rotation function. */
  instrumentSecretsManager(client: SecretsManagerClient): SecretsManagerClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
        return this.#around(`sm:${operation}`, () => next(args), {
          wire: () => {
            // 3 = the SDK's default attempts, so the failure reaches the rotation function.
            this.#stack.secretsManager.faults.failNext(operation, "InternalServiceError", 3);
          },
          before: () => awsError("injected: request not sent"),
          lost: () => awsError("injected: the response was lost after the call"),
        });
      },
      { step: "initialize", name: "rotationCallInstrument" },
    );
    return client;
  }

  /** Wraps a Genesys gateway so every token request and API call is counted (and may fail). */
  instrumentGenesys(gateway: GenesysGateway): GenesysGateway {
    const faults = this.#stack.genesys.faults;
    const wireFault = (label: string) => () => {
      // Alternate 5xx and connection resets (after processing) so both kinds hit every call kind.
      if (label.length % 2 === 0) {
        faults.serverErrors.nextN = 3;
      } else {
        faults.connectionResets.afterProcessing = true;
        faults.connectionResets.nextN = 3;
      }
    };
    const injectedError = (summary: string) => () =>
      new GenesysTransientError(summary, { operation: "injected fault" });
    const before = injectedError("injected: request not sent");
    const lost = injectedError("injected: the response was lost after the call");
    return {
      endpoints: (environment) => gateway.endpoints(environment),
      requestToken: (endpoints, clientId, clientSecret, limits) =>
        this.#around(
          "genesys:requestToken",
          () => gateway.requestToken(endpoints, clientId, clientSecret, limits),
          {
            wire: wireFault("genesys:requestToken"),
            before,
            lost,
          },
        ),
      api: (endpoints, accessToken, limits) =>
        interceptMethods(gateway.api(endpoints, accessToken, limits), (method, call, args) => {
          const label = `genesys:${method}`;
          return this.#around(label, () => call(...args), { wire: wireFault(label), before, lost });
        }),
    };
  }

  async #around<T>(
    label: string,
    call: () => Promise<T>,
    faults: { wire: () => void; before: () => Error; lost: () => Error },
  ): Promise<T> {
    const entry = { label, index: this.calls.length };
    this.calls.push(entry);
    const armed = this.#armed.find((fault) => fault.index === entry.index);
    if (armed === undefined) return call();
    this.#injected.push(entry);
    if (armed.mode === "before") throw faults.before();
    if (armed.mode === "wire") {
      faults.wire();
      try {
        return await call();
      } finally {
        this.#stack.genesys.faults.serverErrors.nextN = 0;
        this.#stack.genesys.faults.connectionResets.nextN = 0;
      }
    }
    await call();
    throw faults.lost();
  }
}

/**
 * `target` with every method call routed through `wrap`: it gets the method's name, a `call` that runs
 * the real method (with the arguments it is given) and the caller's arguments. Other members pass through.
 */
export function interceptMethods<T extends object>(
  target: T,
  wrap: (method: string, call: (...args: unknown[]) => Promise<unknown>, args: unknown[]) => Promise<unknown>,
): T {
  return new Proxy(target, {
    get: (object, property, receiver) => {
      const member = Reflect.get(object, property, receiver);
      if (typeof member !== "function") return member;
      return (...args: unknown[]) =>
        wrap(String(property), (...callArgs) => member.apply(object, callArgs), args);
    },
  });
}

/** An error shaped like an AWS SDK server fault. */
function awsError(message: string): Error {
  return Object.assign(new Error(message), { name: "InternalServiceError", $fault: "server" });
}

/** The parsed value `stage` labels (default AWSCURRENT), asserting there is one. */
export async function staged(
  stack: RotationStack,
  secretId: string,
  stage = "AWSCURRENT",
): Promise<CredentialSecret> {
  const value = await stack.readStaged(secretId, stage);
  assert.ok(value, `${stage} of ${secretId} has a value`);
  return value;
}

/** Polls (real time, short) until `probe` returns a value. */
export async function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("waitFor: timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
