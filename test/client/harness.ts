/**
 * Test harness of the consumer-library suites: the Lambda emulator running the fake vendor
 * (test/fixtures/vendor/fake-vendor.ts), and a tiny Platform-API stand-in that answers 401 to tokens the
 * test revokes (and 429 when told to), recording the Authorization header of every request.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { VendedToken } from "../../lambda/client/index.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../local/aws/lambda/index.ts";

export const FAKE_VENDOR_MODULE = fileURLToPath(
  new URL("../fixtures/vendor/fake-vendor.ts", import.meta.url),
);

/** The vendor error names the fake vendor can be scripted to throw (alias `fail-<name>`). */
export const SCRIPTED_ERRORS = [
  "ValidationError",
  "UnknownCredentialError",
  "CredentialNotGrantedError",
  "CredentialRejectedError",
  "GenesysRateLimitedError",
  "TokenUnavailableError",
  "ConfigurationError",
  "SomethingNew",
] as const;

/** Every fake vendor's aliases: credentials the tests vend, and the scripted behaviours. */
export const FAKE_VENDOR_ALIASES = [
  "default",
  "reporting",
  "malformed",
  ...SCRIPTED_ERRORS.map((name) => `fail-${name}`),
];

/** The emulator with fake vendors registered, and an SDK client pointed at it. */
export interface FakeVendorHarness {
  emulator: LambdaEmulator;
  lambdaClient: LambdaClient;
  /** Registers a fake vendor under `name` with the given environment (FAKE_VENDOR_*). */
  register(name: string, environment?: Record<string, string>, containers?: number): Promise<void>;
  invocations(name: string): number;
  stop(): Promise<void>;
}

export async function startFakeVendorHarness(): Promise<FakeVendorHarness> {
  const emulator = await startLambdaEmulator();
  const lambdaClient = new LambdaClient({
    endpoint: emulator.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  /** Invocations `register` made to start the containers, per function: not the tests' own. */
  const startInvocations = new Map<string, number>();
  return {
    emulator,
    lambdaClient,
    register: async (name, environment = {}, containers = 1) => {
      await emulator.register(name, {
        module: FAKE_VENDOR_MODULE,
        environment,
        containers,
        aliases: FAKE_VENDOR_ALIASES,
        // Cold starts are not under test; a loaded machine may need well over the default 10 s.
        initTimeoutMs: 120_000,
      });
      // Start the containers now, so that no provider's Invoke (10 s per attempt by default) waits for a
      // cold start: a retried attempt would count as an invocation. A scripted failure loads the handler
      // without touching the container's tokens.
      const before = emulator.counters(name).invocations;
      await Promise.all(
        Array.from({ length: containers }, () =>
          emulator.invoke(`${name}:fail-ConfigurationError`, {}).catch(() => undefined),
        ),
      );
      startInvocations.set(name, emulator.counters(name).invocations - before);
    },
    invocations: (name) => emulator.counters(name).invocations - (startInvocations.get(name) ?? 0),
    stop: async () => {
      lambdaClient.destroy();
      await emulator.stop();
    },
  };
}

/** One request as the API stand-in saw it. */
/** A token for a stand-in at `apiBaseUrl`, as a TokenSource stub hands it out (valid until 2030). */
export function standInToken(accessToken: string, apiBaseUrl: string): VendedToken {
  return {
    accessToken,
    tokenType: "Bearer",
    expiresAt: "2030-01-01T00:00:00.000Z",
    expiresInSeconds: 300,
    environment: "mypurecloud.ie",
    apiBaseUrl,
  };
}

export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

/** A Platform-API stand-in: `GET /api/v2/organizations/me`, and an echo of any other request. */
export interface ApiStandIn {
  url: string;
  seen: SeenRequest[];
  /** Tokens answered with 401. */
  revoked: Set<string>;
  /** When true every request gets 401 (a persistent rejection). */
  rejectEverything: boolean;
  /** The next this many requests get 401 whatever their token (tokens that died together). */
  rejectNext: number;
  /** The next this many requests get Genesys' 429 with `Retry-After: retryAfterSeconds` (before the token check). */
  throttleNext: number;
  /** @default 1 */
  retryAfterSeconds: number;
  /** Forgets what was seen and puts every knob back to its default (for a `beforeEach`). */
  reset(): void;
  stop(): Promise<void>;
}

export async function startApiStandIn(): Promise<ApiStandIn> {
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const authorization = request.headers.authorization;
    const body = Buffer.concat(chunks).toString("utf8");
    api.seen.push({ method: request.method ?? "", path: request.url ?? "", authorization, body });
    if (api.throttleNext > 0) {
      api.throttleNext -= 1;
      response.writeHead(429, {
        "content-type": "application/json",
        "retry-after": String(api.retryAfterSeconds),
      });
      response.end(JSON.stringify({ status: 429, code: "too.many.requests.retry.after" }));
      return;
    }
    const token = authorization?.replace(/^Bearer /, "");
    const rejectedAnyway = api.rejectNext > 0;
    if (rejectedAnyway) api.rejectNext -= 1;
    if (!token || rejectedAnyway || api.rejectEverything || api.revoked.has(token)) {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ status: 401, code: "bad.credentials", message: "Invalid login credentials." }),
      );
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    if (request.url === "/api/v2/organizations/me") {
      response.end(JSON.stringify({ id: "org-1", name: "Example Org", state: "active" }));
    } else {
      response.end(JSON.stringify({ method: request.method, path: request.url, body }));
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const api: ApiStandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: [],
    revoked: new Set(),
    rejectEverything: false,
    rejectNext: 0,
    throttleNext: 0,
    retryAfterSeconds: 1,
    reset() {
      api.seen.length = 0;
      api.revoked.clear();
      api.rejectEverything = false;
      api.rejectNext = 0;
      api.throttleNext = 0;
      api.retryAfterSeconds = 1;
    },
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  return api;
}
