/**
 * The whole local stack — what the drill, the bench, `npm run local-stack` (local/cli-stack/) and the
 * end-to-end tests run against: the Genesys Cloud emulator seeded with an admin pair and the application
 * credential, the Secrets Manager emulator holding their secrets, a local DynamoDB with the token table,
 * and the Lambda emulator running the real rotation and vending handlers in isolated containers — by
 * default their shipped bundles (dist/functions/). Secrets Manager calls the rotation function THROUGH
 * the Lambda emulator (real Invoke wire protocol), as AWS does.
 *
 * Every server binds 127.0.0.1 on a free port; `stop()` stops everything, also after a partial start.
 */
import * as path from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { GenesysProfile } from "../../lambda/shared/genesys/profile.ts";
import {
  type CredentialSecret,
  parseCredentialSecret,
  type Strategy,
  serializeCredentialSecret,
} from "../../lambda/shared/secret-value.ts";
import { CACHE_WARMING_ALIAS } from "../../lambda/shared/vendor-alias.ts";
import type { VendorAwsCallLimits } from "../../lambda/vending/config.ts";
import { buildDist, DIST } from "../../scripts/build.ts";
import { createTokenTable, type LocalDynamoDb, startDynamoDb } from "../aws/dynamodb/index.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../aws/lambda/index.ts";
import {
  type RotationEvent,
  type RotationInvoker,
  type SecretsManagerEmulator,
  startSecretsManagerEmulator,
} from "../aws/secrets-manager/index.ts";
import { type GenesysEmulator, startGenesysEmulator } from "../genesys-cloud/emulator.ts";
import { LOCAL_AWS, LOCAL_REGION } from "../shared/local-aws.ts";
import { drillPropagationTimeoutSeconds, profileBehaviour } from "./profile.ts";
import { adminSecretValue, appSecretValue, DRILL_IDS, drillGenesysState } from "./seed.ts";

/** Region and fake SDK credentials of the local AWS stand-ins: see local/shared/local-aws.ts. */
export { LOCAL_AWS, LOCAL_REGION };
/** Account of the local AWS stand-ins. */
export const LOCAL_ACCOUNT = "111122223333";
/**
 * Names of the deployed functions, the secrets, the table and the vended credentials. The vendor vends
 * two credentials, as a real deployment with several does: `app` (the rotated one the consumers use) and
 * `other` (the other strategy's client, never rotated nor asked for by the drill), so every vend must go
 * through the credential's alias `<vendorFunction>:<credential>` (docs/vending.md).
 */
export const DRILL_NAMES = {
  rotationFunction: "genesys-rotation",
  vendorFunction: "genesys-token-vendor",
  adminSecret: "drill/genesys-admin",
  appSecret: "drill/genesys-app",
  otherSecret: "drill/genesys-other",
  tokenTable: "drill-genesys-tokens",
  credential: "app",
  otherCredential: "other",
} as const;

/** The rotation function's module (export `handler`), for a Lambda emulator registration. */
export const ROTATION_HANDLER_MODULE = fileURLToPath(
  new URL("../../lambda/rotation/handler.ts", import.meta.url),
);
/** The vending function's module (export `handler`), for a Lambda emulator registration. */
export const VENDING_HANDLER_MODULE = fileURLToPath(
  new URL("../../lambda/vending/handler.ts", import.meta.url),
);

/**
 * The shipped bundle of a handler (dist/functions/<name>/index.mjs, what `cdk deploy` uploads;
 * scripts/build.ts), for a Lambda emulator registration.
 */
export function handlerBundle(name: "rotation" | "vending"): string {
  return path.join(DIST, "functions", name, "index.mjs");
}

/**
 * What the Lambda emulator runs: the shipped bundles (rebuilt first where the sources changed, so a
 * bundling mistake — a lazy import esbuild did not follow, a dependency left out — fails here rather than
 * in a deployment), or the TypeScript sources through tsx (development).
 */
export type HandlerCode = "bundles" | "sources";

/** Builds the bundles when `code` is "bundles" (only changed files are rewritten) and returns the modules to register. */
export async function handlerModules(code: HandlerCode): Promise<{ rotation: string; vending: string }> {
  if (code === "sources") return { rotation: ROTATION_HANDLER_MODULE, vending: VENDING_HANDLER_MODULE };
  await buildDist({ only: "functions" });
  return { rotation: handlerBundle("rotation"), vending: handlerBundle("vending") };
}

/** Options of {@link startDrillStack}. */
export interface DrillStackOptions {
  /** The handlers' code the Lambda emulator runs. @default "bundles" */
  handlerCode?: HandlerCode;
  /** Strategy of the application credential. @default "alternating" */
  strategy?: Strategy;
  /** Lifetime of every token Genesys issues, in seconds. @default the clients' (3600) */
  tokenLifetimeSeconds?: number;
  /** Vending function containers (concurrent invocations). @default 2 */
  vendorContainers?: number;
  /** Handlers log at INFO instead of WARN. @default false */
  verbose?: boolean;
  /** dynalite instead of DynamoDB Local. @default false (DynamoDB Local when Java is found) */
  preferDynalite?: boolean;
  /** Secrets Manager: whole-rotation attempts. @default 3 */
  maxRotationAttempts?: number;
  /** Secrets Manager: pause between attempts (AWS waits too), so short faults can clear. @default 2000 */
  rotationRetryDelayMs?: number;
  /** Where the handlers' log lines go. @default process.stderr (stdout carries the drill's own output) */
  handlerLogs?: Writable;
  /** Rotation function's PROPAGATION_TIMEOUT_SECONDS: 4× the longest injected propagation delay, so a failed attempt costs little. @default 15, or sized from `genesysProfile` */
  propagationTimeoutSeconds?: number;
  /** Genesys behaves as this `probe` profile says (token lifetime: `tokenLifetimeSeconds` wins). @default none */
  genesysProfile?: GenesysProfile;
  /**
   * MIN_ROTATION_GAP_SECONDS of the rotation function: the drill rotates every few seconds, so the gap
   * (a day or two in production) is cut to this. @default 1
   */
  minRotationGapSeconds?: number;
  /** Vending function's LEASE_SECONDS: shorter than a drill token's life, so a killed minter stalls nobody for long. @default 5 */
  leaseSeconds?: number;
  /**
   * Vending function's REJECTION_MINT_INTERVAL_SECONDS (the drill sets 5 s, so the cap shows within a
   * short drill). @default unset: the vendor's default
   */
  rejectionMintIntervalSeconds?: number;
  /**
   * Abandons the start (Ctrl-C): checked after each component, so the start stops at the next one,
   * stops what already runs and rejects with `signal.reason`. A component already starting (DynamoDB
   * Local's JVM, about 4 s) finishes first, so that it can be stopped. @default never aborted
   */
  signal?: AbortSignal;
}

/** A running stack. */
export interface DrillStack {
  genesys: GenesysEmulator;
  secretsManager: SecretsManagerEmulator;
  dynamoDb: LocalDynamoDb;
  lambda: LambdaEmulator;
  /** Real SDK client for the Secrets Manager emulator. */
  secretsManagerClient: SecretsManagerClient;
  /** ARN RotateSecret is given; the invoker maps it to the rotation function in the Lambda emulator. */
  rotationLambdaArn: string;
  /**
   * ARNs of the seeded secrets; `app` is the rotated application credential (alternating pair or single),
   * `other` the second vended credential (the other strategy's client; not rotated).
   */
  secrets: { admin: string; app: string; other: string };
  /** Client ids of the application credential (two for alternating, one for single). */
  appClientIds: readonly string[];
  strategy: Strategy;
  /** The vending function's module as registered (a bundle or the TypeScript source, see {@link HandlerCode}). */
  vendingModule: string;
  /**
   * The environment the vending function is registered with (`CREDENTIALS` names the seeded app secret
   * as {@link DRILL_NAMES}.credential, first, and the other one); also what `readVendingConfig` needs to
   * run the vendor in process.
   */
  vendorEnvironment: Record<string, string>;
  /** A new Lambda client for the emulator, as a consumer Lambda would create (SDK retries off). */
  createLambdaClient(): LambdaClient;
  /**
   * Wraps the invoker Secrets Manager uses to call the rotation function (the drill records steps and
   * crashes containers through it). `wrap` receives the plain Lambda invoker.
   */
  wrapRotationInvoker(wrap: (invoke: RotationInvoker) => RotationInvoker): void;
  /**
   * Starts every vending container (one concurrent vend each), so the drill measures steady-state
   * latency rather than tsx compiling the handler in fresh workers.
   */
  warmVendor(): Promise<void>;
  /** AWSCURRENT of the application secret: its version id and parsed value. */
  readCurrent(): Promise<{ versionId: string; value: CredentialSecret }>;
  /** Stops every component (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts the stack. Components start in dependency order; if one fails, or `signal` aborts, the ones
 * already running are stopped before the error is rethrown.
 */
export async function startDrillStack(options: DrillStackOptions = {}): Promise<DrillStack> {
  const strategy = options.strategy ?? "alternating";
  // Between components: an abort stops the start here, and the catch below stops what runs.
  const checkpoint = () => options.signal?.throwIfAborted();
  const vendorContainers = options.vendorContainers ?? 2;
  const stoppers: (() => Promise<void>)[] = [];
  const clientsToClose: { destroy(): void }[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const client of clientsToClose) client.destroy();
      // Lambda first: its handlers talk to the others, and nothing must call a stopped server.
      for (const stopOne of stoppers.reverse()) await stopOne().catch(() => {});
    })();
    return stopping;
  };

  try {
    checkpoint();
    const modules = await handlerModules(options.handlerCode ?? "bundles");
    checkpoint();
    const genesys = await startGenesysEmulator({
      ...profileBehaviour(options.genesysProfile),
      state: drillGenesysState(),
      tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    });
    stoppers.push(() => genesys.stop());
    checkpoint();

    const { dynamoDb, client: dynamoDbClient } = await startTokenTable(DRILL_NAMES.tokenTable, {
      preferDynalite: options.preferDynalite ?? false,
    });
    stoppers.push(() => dynamoDb.stop());
    clientsToClose.push(dynamoDbClient);
    checkpoint();

    const secretsManager = await startSecretsManagerEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      maxRotationAttempts: options.maxRotationAttempts ?? 3,
      rotationRetryDelayMs: options.rotationRetryDelayMs ?? 2000,
    });
    stoppers.push(() => secretsManager.stop());
    const secretsManagerClient = new SecretsManagerClient({ ...LOCAL_AWS, endpoint: secretsManager.url });
    clientsToClose.push(secretsManagerClient);
    checkpoint();

    const secrets = await seedSecrets(secretsManagerClient, strategy);
    checkpoint();

    const lambda = await startLambdaEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      logOutput: options.handlerLogs ?? process.stderr,
    });
    stoppers.push(() => lambda.stop());
    checkpoint();
    const common: Record<string, string> = {
      ...localHandlerEnvironment({ secretsManager: secretsManager.url, genesys: genesys.url }),
      // Handlers must not flood the terminal: WARN and above only.
      POWERTOOLS_LOG_LEVEL: options.verbose ? "INFO" : "WARN",
    };
    const vendorEnvironment: Record<string, string> = {
      ...common,
      POWERTOOLS_SERVICE_NAME: "genesys-token-vendor",
      ...vendingEnvironment({
        credentials: { [DRILL_NAMES.credential]: secrets.app, [DRILL_NAMES.otherCredential]: secrets.other },
        tableName: DRILL_NAMES.tokenTable,
        dynamoDbEndpoint: dynamoDb.endpoint,
        // A lease outliving a short token would stall takeover after a killed minter.
        leaseSeconds: options.leaseSeconds ?? 5,
        ...(options.rejectionMintIntervalSeconds === undefined
          ? {}
          : { rejectionMintIntervalSeconds: options.rejectionMintIntervalSeconds }),
        // No awsCallLimits: the deployed ones, which the drill's dynamodb-outage fault (hang) is about.
      }),
    };
    await lambda.register(DRILL_NAMES.vendorFunction, {
      module: modules.vending,
      containers: vendorContainers,
      timeoutMs: 15_000,
      // Loading a handler takes seconds of CPU; a busy machine (CI, the test suite) can take far longer.
      initTimeoutMs: 120_000,
      environment: vendorEnvironment,
      // One alias per credential plus cache-warming, as TokenVendor deploys them.
      aliases: [DRILL_NAMES.credential, DRILL_NAMES.otherCredential, CACHE_WARMING_ALIAS],
    });
    checkpoint();
    await lambda.register(DRILL_NAMES.rotationFunction, {
      module: modules.rotation,
      containers: 1,
      timeoutMs: 120_000,
      initTimeoutMs: 120_000,
      environment: {
        ...common,
        POWERTOOLS_SERVICE_NAME: "genesys-rotation",
        PROPAGATION_TIMEOUT_SECONDS: String(drillPropagationTimeoutSeconds(options)),
        MIN_ROTATION_GAP_SECONDS: String(options.minRotationGapSeconds ?? 1),
        // As the CDK stack sets it: the cache-warming alias, the only one that accepts a warm request.
        TOKEN_VENDOR_FUNCTION_NAME: `${DRILL_NAMES.vendorFunction}:${CACHE_WARMING_ALIAS}`,
        LAMBDA_ENDPOINT: lambda.url,
        // Pinned as the CDK pins them: the admin pair manages itself, the app is regenerated by the admin.
        ADMIN_SECRET_ARNS: JSON.stringify({ [secrets.admin]: "", [secrets.app]: secrets.admin }),
      },
    });
    checkpoint();

    const createLambdaClient = () => new LambdaClient({ ...LOCAL_AWS, endpoint: lambda.url, maxAttempts: 1 });
    const invokerClient = createLambdaClient();
    clientsToClose.push(invokerClient);
    const rotationLambdaArn = lambda.functionArn(DRILL_NAMES.rotationFunction);
    const plainInvoker = lambdaRotationInvoker(invokerClient);
    secretsManager.setInvoker(plainInvoker);

    return {
      genesys,
      secretsManager,
      dynamoDb,
      lambda,
      secretsManagerClient,
      rotationLambdaArn,
      secrets,
      appClientIds: strategy === "single" ? [DRILL_IDS.single] : [DRILL_IDS.appA, DRILL_IDS.appB],
      strategy,
      vendingModule: modules.vending,
      vendorEnvironment,
      createLambdaClient,
      wrapRotationInvoker: (wrap) => secretsManager.setInvoker(wrap(plainInvoker)),
      async warmVendor() {
        await Promise.all(
          Array.from({ length: vendorContainers }, () =>
            lambda.invoke(`${DRILL_NAMES.vendorFunction}:${DRILL_NAMES.credential}`, {}),
          ),
        );
      },
      async readCurrent() {
        const response = await secretsManagerClient.send(
          new GetSecretValueCommand({ SecretId: secrets.app, VersionStage: "AWSCURRENT" }),
        );
        return { versionId: response.VersionId ?? "", value: parseCredentialSecret(response.SecretString) };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A Secrets Manager rotation invoker that calls functions in the Lambda emulator with the real Invoke
 * API (RequestResponse). A function error (`FunctionError` set) fails the step, with the function's
 * `errorType` as the error's name, as Secrets Manager sees it.
 * The function is addressed by the ARN RotateSecret was given, as Secrets Manager does.
 */
export function lambdaRotationInvoker(client: LambdaClient): RotationInvoker {
  return async (arn: string, event: RotationEvent) => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: arn,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    if (response.FunctionError !== undefined) {
      let errorType = response.FunctionError;
      let message = "the rotation function failed";
      try {
        const body = JSON.parse(new TextDecoder().decode(response.Payload)) as {
          errorType?: unknown;
          errorMessage?: unknown;
        };
        if (typeof body.errorType === "string") errorType = body.errorType;
        if (typeof body.errorMessage === "string") message = body.errorMessage;
      } catch {
        // A crashed container may answer without a JSON body: keep the generic description.
      }
      throw new RotationInvokeError(errorType, message);
    }
  };
}

/** A rotation step that failed inside the Lambda emulator; `name` is the function's `errorType`. */
export class RotationInvokeError extends Error {
  constructor(errorType: string, message: string) {
    super(message);
    this.name = errorType;
  }
}

async function seedSecrets(
  client: SecretsManagerClient,
  strategy: Strategy,
): Promise<{ admin: string; app: string; other: string }> {
  const admin = await createCredentialSecret(client, DRILL_NAMES.adminSecret, adminSecretValue());
  const otherStrategy: Strategy = strategy === "single" ? "alternating" : "single";
  return {
    admin,
    app: await createCredentialSecret(client, DRILL_NAMES.appSecret, appSecretValue(strategy, admin)),
    other: await createCredentialSecret(
      client,
      DRILL_NAMES.otherSecret,
      appSecretValue(otherStrategy, admin),
    ),
  };
}

/** CreateSecret with a credential value; returns the new secret's ARN. */
export async function createCredentialSecret(
  client: SecretsManagerClient,
  name: string,
  value: CredentialSecret,
): Promise<string> {
  const response = await client.send(
    new CreateSecretCommand({ Name: name, SecretString: serializeCredentialSecret(value) }),
  );
  if (response.ARN === undefined) throw new Error(`CreateSecret ${name} returned no ARN`);
  return response.ARN;
}

/**
 * A local DynamoDB (DynamoDB Local, or dynalite) with an empty token table, and a client on it. The
 * caller stops `dynamoDb` and destroys `client`; on failure nothing is left running.
 */
export async function startTokenTable(
  tableName: string,
  options: { preferDynalite?: boolean } = {},
): Promise<{ dynamoDb: LocalDynamoDb; client: DynamoDBClient }> {
  const dynamoDb = await startDynamoDb({ preferDynalite: options.preferDynalite ?? false });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamoDb.endpoint });
  try {
    await createTokenTable(client, tableName);
  } catch (error) {
    client.destroy();
    await dynamoDb.stop();
    throw error;
  }
  return { dynamoDb, client };
}

/**
 * The variables every handler needs on the local stack: region and fake credentials for the stand-ins,
 * the Secrets Manager endpoint, the Genesys endpoint override, and no EMF metric lines on stdout.
 */
export function localHandlerEnvironment(endpoints: {
  secretsManager: string;
  genesys: string;
}): Record<string, string> {
  return {
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    SECRETS_MANAGER_ENDPOINT: endpoints.secretsManager,
    GENESYS_ENDPOINT_OVERRIDE: endpoints.genesys,
    POWERTOOLS_METRICS_DISABLED: "true",
  };
}

/**
 * The vendor's AWS call limits where they are not under test. A deployment fails its DynamoDB calls after
 * 2 s (lambda/vending/config.ts, VENDOR_AWS_CALL_LIMITS); a loaded machine (a test suite beside two
 * busy loops) can take longer than that to answer a healthy local DynamoDB, and the vendor would degrade
 * and mint on its own. Long, so that a test's own deadline, never these, ends a call that hangs.
 */
export const LOADED_MACHINE_AWS_CALL_LIMITS: VendorAwsCallLimits = {
  dynamoDb: { connectionTimeoutMs: 30_000, requestTimeoutMs: 60_000, maxAttempts: 2 },
  secretsManager: { connectionTimeoutMs: 30_000, requestTimeoutMs: 60_000, maxAttempts: 2 },
};

/** The vending function's own variables (docs/ARCHITECTURE.md, "Lambda functions"). */
export function vendingEnvironment(options: {
  /** Credential name → secret ARN; the first is the default. */
  credentials: Record<string, string>;
  tableName: string;
  dynamoDbEndpoint: string;
  leaseSeconds: number;
  /** REJECTION_MINT_INTERVAL_SECONDS; absent = the vendor's default. */
  rejectionMintIntervalSeconds?: number;
  /** AWS_CALL_LIMITS, e.g. {@link LOADED_MACHINE_AWS_CALL_LIMITS}; absent = the deployed limits. */
  awsCallLimits?: VendorAwsCallLimits;
}): Record<string, string> {
  return {
    CREDENTIALS: JSON.stringify(options.credentials),
    TOKEN_TABLE_NAME: options.tableName,
    DYNAMODB_ENDPOINT: options.dynamoDbEndpoint,
    LEASE_SECONDS: String(options.leaseSeconds),
    ...(options.rejectionMintIntervalSeconds === undefined
      ? {}
      : { REJECTION_MINT_INTERVAL_SECONDS: String(options.rejectionMintIntervalSeconds) }),
    ...(options.awsCallLimits === undefined
      ? {}
      : { AWS_CALL_LIMITS: JSON.stringify(options.awsCallLimits) }),
  };
}
