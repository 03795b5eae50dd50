/**
 * The code that runs inside one container (a worker thread): it plays the part of the Node.js Lambda
 * runtime. It loads the handler module once (the init phase: module scope runs here, per container),
 * then runs one invocation at a time as the parent sends them.
 */
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import {
  type ContainerConfig,
  type ContainerMessage,
  type InvokeMessage,
  toFunctionError,
} from "./protocol.ts";

type Handler = (event: unknown, context: object) => unknown;

const config = workerData as ContainerConfig;
const port = parentPort!;
const post = (message: ContainerMessage) => port.postMessage(message);

// Errors outside any handler promise end the container, as they end the Lambda runtime process.
process.on("uncaughtException", (error) => {
  post({ type: "fatal", error: toFunctionError(error) });
  process.exit(129);
});
process.on("unhandledRejection", (reason) => {
  const cause = toFunctionError(reason);
  post({
    type: "fatal",
    error: {
      errorType: "Runtime.UnhandledPromiseRejection",
      errorMessage: `${cause.errorType}: ${cause.errorMessage}`,
    },
  });
  process.exit(128);
});

async function loadHandler(): Promise<Handler | undefined> {
  try {
    const module = (await import(pathToFileURL(config.modulePath).href)) as Record<string, unknown>;
    // A CommonJS module's exports arrive as `default` when imported from ESM.
    const candidate =
      module[config.handlerName] ??
      (module.default as Record<string, unknown> | undefined)?.[config.handlerName];
    if (typeof candidate !== "function") {
      post({
        type: "init-error",
        error: {
          errorType: "Runtime.HandlerNotFound",
          errorMessage: `${config.modulePath}.${config.handlerName} is undefined or not exported`,
        },
      });
      return undefined;
    }
    return candidate as Handler;
  } catch (error) {
    const cause = toFunctionError(error);
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND")
      cause.errorType = "Runtime.ImportModuleError";
    post({ type: "init-error", error: cause });
    return undefined;
  }
}

const handler = await loadHandler();
if (handler !== undefined) {
  port.on("message", (message: InvokeMessage) => void invoke(handler, message));
  post({ type: "ready" });
}

async function invoke(handle: Handler, message: InvokeMessage): Promise<void> {
  const context = {
    awsRequestId: message.requestId,
    functionName: config.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: String(config.memoryLimitInMB),
    logGroupName: config.logGroupName,
    logStreamName: config.logStreamName,
    clientContext: message.clientContext,
    identity: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
  };
  try {
    const result = await handle(JSON.parse(message.payload), context);
    let body: string;
    try {
      body = JSON.stringify(result) ?? "null";
    } catch (error) {
      post({
        type: "error",
        requestId: message.requestId,
        error: {
          errorType: "Runtime.MarshalError",
          errorMessage: `Unable to stringify response body: ${(error as Error).message}`,
        },
      });
      return;
    }
    post({ type: "result", requestId: message.requestId, body });
  } catch (error) {
    post({ type: "error", requestId: message.requestId, error: toFunctionError(error) });
  }
}
