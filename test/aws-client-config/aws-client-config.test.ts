import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, test } from "node:test";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientLimits } from "../../lambda/shared/aws-client-config.ts";

// A server that accepts connections and never answers: what a black-holed endpoint looks like.
const sockets = new Set<Socket>();
const server = createServer((socket) => sockets.add(socket));
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
assert.ok(address !== null && typeof address === "object");
after(() => {
  for (const socket of sockets) socket.destroy();
  server.close();
});

test("a client built with awsClientLimits gives up on a silent endpoint after its request timeout", {
  timeout: 30_000,
}, async () => {
  const client = new SecretsManagerClient({
    ...awsClientLimits({ connectionTimeoutMs: 1_000, requestTimeoutMs: 300, maxAttempts: 2 }),
    endpoint: `http://127.0.0.1:${address.port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const started = Date.now();
  await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "x" })), (error: Error) => {
    assert.match(`${error.name} ${error.message}`, /timeout|timed out/i);
    return true;
  });
  // Two attempts of 300 ms plus the SDK's retry delay; without the limits this call never returns.
  assert.ok(Date.now() - started < 20_000);
  assert.equal(sockets.size, 2, "one connection per attempt: the retry is bounded by maxAttempts");
  client.destroy();
});
