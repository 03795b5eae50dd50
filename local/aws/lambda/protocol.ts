/**
 * Messages between the emulator (parent thread) and a container (worker thread). Payloads and results
 * cross as JSON text, exactly as they cross the Lambda service, so a handler sees what it would see
 * in AWS (no Dates, no undefined, no shared object identity).
 */

/** Static data a container is created with (`workerData`). */
export interface ContainerConfig {
  modulePath: string;
  handlerName: string;
  functionName: string;
  memoryLimitInMB: number;
  logGroupName: string;
  logStreamName: string;
}

/** Parent → container: run one invocation. */
export interface InvokeMessage {
  type: "invoke";
  requestId: string;
  /** The event as JSON text. */
  payload: string;
  invokedFunctionArn: string;
  /** Epoch ms at which the invocation times out (for `getRemainingTimeInMillis`). */
  deadlineMs: number;
  /** Decoded `X-Amz-Client-Context`, when the caller sent one. */
  clientContext?: unknown;
}

/** The error document Lambda returns for an unhandled error (`X-Amz-Function-Error: Unhandled`). */
export interface FunctionErrorBody {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** Container → parent. */
export type ContainerMessage =
  | { type: "ready" }
  | { type: "init-error"; error: FunctionErrorBody }
  | { type: "result"; requestId: string; body: string }
  | { type: "error"; requestId: string; error: FunctionErrorBody }
  /** The container is about to exit because of an error outside any handler promise. */
  | { type: "fatal"; error: FunctionErrorBody };

/** Turns any thrown value into the error document the Node.js Lambda runtime produces. */
export function toFunctionError(thrown: unknown): FunctionErrorBody {
  if (thrown instanceof Error) {
    return {
      errorType: thrown.name,
      errorMessage: thrown.message,
      trace: (thrown.stack ?? "").split("\n").filter(Boolean),
    };
  }
  return { errorType: typeof thrown, errorMessage: String(thrown) };
}
