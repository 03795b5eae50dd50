/**
 * A scriptable server speaking the Lambda Invoke REST protocol (`POST /2015-03-31/functions/{name}/invocations`),
 * for failure modes the Lambda emulator does not produce on demand: throttling (429
 * TooManyRequestsException), service errors (5xx), missing functions, and hangs. The real AWS SDK client
 * talks to it, so error classification is tested on the wire format Lambda actually uses.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LambdaClient } from "@aws-sdk/client-lambda";

/** One scripted answer. */
export type InvokeReply =
  | { kind: "token"; lifetimeSeconds?: number; accessToken?: string }
  | { kind: "functionError"; errorType: string; errorMessage?: string }
  | { kind: "serviceError"; status: number; errorType: string; message?: string }
  | { kind: "hang" };

export interface LambdaWireServer {
  url: string;
  /** Answers, consumed in order; when empty, `fallback` answers. */
  script: InvokeReply[];
  fallback: InvokeReply;
  /** Request payloads received, parsed. */
  received: unknown[];
  client(): LambdaClient;
  stop(): Promise<void>;
}

let serial = 0;

export async function startLambdaWireServer(
  fallback: InvokeReply = { kind: "token" },
): Promise<LambdaWireServer> {
  const received: unknown[] = [];
  const hanging = new Set<ServerResponse>();
  const state: LambdaWireServer = {
    url: "",
    script: [],
    fallback,
    received,
    client: () =>
      new LambdaClient({
        endpoint: state.url,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      }),
    stop: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
    const reply = state.script.shift() ?? state.fallback;
    switch (reply.kind) {
      case "token": {
        const lifetimeSeconds = reply.lifetimeSeconds ?? 300;
        serial += 1;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            accessToken: reply.accessToken ?? `wire-token-${serial}-${Math.random().toString(36).slice(2)}`,
            tokenType: "Bearer",
            expiresAt: new Date(Date.now() + lifetimeSeconds * 1000).toISOString(),
            expiresInSeconds: lifetimeSeconds,
            environment: "mypurecloud.ie",
            apiBaseUrl: "https://api.mypurecloud.ie",
          }),
        );
        return;
      }
      case "functionError":
        response.writeHead(200, { "content-type": "application/json", "x-amz-function-error": "Unhandled" });
        response.end(
          JSON.stringify({ errorType: reply.errorType, errorMessage: reply.errorMessage ?? "scripted" }),
        );
        return;
      case "serviceError":
        response.writeHead(reply.status, {
          "content-type": "application/json",
          "x-amzn-errortype": reply.errorType,
        });
        response.end(JSON.stringify({ Type: "Service", message: reply.message ?? "scripted" }));
        return;
      case "hang":
        hanging.add(response);
        return;
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
