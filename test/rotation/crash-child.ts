/**
 * A rotation function in its own process, for crash-kill.test.ts: the production handler with the
 * production clients, talking over 127.0.0.1 to the emulators the test started. Before every external
 * call (Secrets Manager, Genesys, the token vendor's Lambda Invoke), and after every write, it tells the
 * parent over the IPC channel and waits for "go", so the parent can SIGKILL it at an exact call.
 *
 * Protocol (child → parent): {kind: "ready"}, {kind: "call", seq, phase: "before" | "after", label},
 * {kind: "result", id, ok, errorName?, errorMessage?}. Parent → child: {kind: "invoke", id, event},
 * {kind: "go", seq}. Calls may overlap (a step runs some in parallel), so each has its own `seq`.
 * Messages name calls and errors, never a secret or token.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cacheWarmingHook, integrationCredentialsHook } from "../../lambda/rotation/finish-hooks.ts";
import { createRotationHandler } from "../../lambda/rotation/handler.ts";
import { systemClock } from "../../lambda/shared/clock.ts";
import { createGenesysGateway, type GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import { silentLog as quiet } from "../../lambda/shared/silent-log.ts";
import { WRITE_CALLS } from "./crash-support.ts";

/** What the parent passes in `CRASH_CHILD_CONFIG` (endpoints and dummy local credentials only). */
export interface CrashChildConfig {
  handlerEnvironment: Record<string, string>;
  secretsManager: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  genesysUrl: string;
  vendorUrl: string;
  vendorFunctionName: string;
  integrationCredentials: Record<string, string[]>;
}

type ParentMessage = { kind: "go"; seq: number } | { kind: "invoke"; id: number; event: unknown };

const send = (message: object) => process.send?.(message);
const waiting = new Map<number, () => void>();
let nextSeq = 0;

/** Announces one phase of call `seq` and waits for the parent's "go" (the parent may kill us instead). */
function announce(seq: number, phase: "before" | "after", label: string): Promise<void> {
  return new Promise((resolve) => {
    waiting.set(seq, resolve);
    send({ kind: "call", seq, phase, label });
  });
}

async function around<T>(label: string, call: () => Promise<T>): Promise<T> {
  const seq = nextSeq++;
  await announce(seq, "before", label);
  if (!WRITE_CALLS.has(label)) return call();
  let result: T;
  try {
    result = await call();
  } catch (error) {
    await announce(seq, "after", label);
    throw error;
  }
  await announce(seq, "after", label);
  return result;
}

function instrumentAws<C extends SecretsManagerClient | LambdaClient>(client: C, service: string): C {
  (client as SecretsManagerClient).middlewareStack.add(
    (next, context) => (args) =>
      around(`${service}:${(context.commandName ?? "Unknown").replace(/Command$/, "")}`, () => next(args)),
    { step: "initialize", name: "crashChildAnnounce" },
  );
  return client;
}

function instrumentGenesys(gateway: GenesysGateway): GenesysGateway {
  return {
    endpoints: (environment) => gateway.endpoints(environment),
    requestToken: (endpoints, clientId, clientSecret, limits) =>
      around("genesys:requestToken", () => gateway.requestToken(endpoints, clientId, clientSecret, limits)),
    api: (endpoints, accessToken) => {
      const api = gateway.api(endpoints, accessToken);
      return new Proxy(api, {
        get: (target, property, receiver) => {
          const member = Reflect.get(target, property, receiver);
          if (typeof member !== "function") return member;
          return (...args: unknown[]) =>
            around(`genesys:${String(property)}`, () => member.apply(target, args));
        },
      });
    },
  };
}

const config = JSON.parse(process.env.CRASH_CHILD_CONFIG ?? "{}") as CrashChildConfig;
const handler = createRotationHandler({
  env: config.handlerEnvironment,
  clock: systemClock,
  log: quiet,
  secretsManager: instrumentAws(new SecretsManagerClient(config.secretsManager), "sm"),
  genesys: instrumentGenesys(
    createGenesysGateway({
      extraEnvironments: [],
      endpointOverride: config.genesysUrl,
      clock: systemClock,
      log: quiet,
    }),
  ),
  finishHooks: [
    cacheWarmingHook(
      instrumentAws(
        new LambdaClient({
          endpoint: config.vendorUrl,
          region: config.secretsManager.region,
          credentials: config.secretsManager.credentials,
          maxAttempts: 1,
        }),
        "lambda",
      ),
      config.vendorFunctionName,
    ),
    integrationCredentialsHook(config.integrationCredentials),
  ],
});

process.on("message", (message: ParentMessage) => {
  if (message.kind === "go") {
    const resume = waiting.get(message.seq);
    waiting.delete(message.seq);
    resume?.();
    return;
  }
  handler(message.event).then(
    () => send({ kind: "result", id: message.id, ok: true }),
    // The handler's errors are log-safe by contract (they name fields and ids, never a secret).
    (error: Error) =>
      send({ kind: "result", id: message.id, ok: false, errorName: error.name, errorMessage: error.message }),
  );
});
send({ kind: "ready" });
