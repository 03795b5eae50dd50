/**
 * A complete local rotation setup: the Genesys Cloud emulator with an organisation holding an admin pair,
 * an alternating application pair and a single client; the Secrets Manager emulator holding one secret
 * for each; and the rotation function wired as the emulator's in-process invoker. Tests drive rotations
 * with the real SDK (`stack.client`) or `stack.rotate(...)` and inspect both sides.
 *
 * Unlike the local stack (local/stack/stack.ts, whose region, secret helpers and handler environment
 * it reuses), the rotation function runs in this process, so one injectable clock drives everything.
 *
 * Every server binds 127.0.0.1 on a free port; `stop()` closes everything.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  createRotationHandler,
  type RotationHandler,
  type RotationHandlerOptions,
} from "../../lambda/rotation/handler.ts";
import { type Clock, systemClock } from "../../lambda/shared/clock.ts";
import { resolveEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { type CredentialSecret, parseCredentialSecret } from "../../lambda/shared/secret-value.ts";
import {
  inProcessInvoker,
  type RotationEvent,
  type RotationEventRecord,
  type SecretsManagerEmulator,
  startSecretsManagerEmulator,
  type TestRotationPendingValue,
} from "../../local/aws/secrets-manager/index.ts";
import {
  type GenesysEmulator,
  type GenesysState,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";
import { DRILL_ENVIRONMENT, fakeSecret } from "../../local/stack/seed.ts";
import {
  createCredentialSecret,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  localHandlerEnvironment,
} from "../../local/stack/stack.ts";

/** The Genesys environment every seeded secret names (served by the emulator through the endpoint override). */
export const STACK_ENVIRONMENT = DRILL_ENVIRONMENT;
export const STACK_REGION = LOCAL_REGION;
export const STACK_ACCOUNT = LOCAL_ACCOUNT;
/** The ARN the secrets' rotation is configured with; the in-process invoker maps it to the handler. */
export const ROTATION_LAMBDA_ARN = `arn:aws:lambda:${STACK_REGION}:${STACK_ACCOUNT}:function:genesys-rotation`;

/** Fixed ids of the seeded organisation (fake values for an emulator, not credentials). */
export const STACK_IDS = {
  organization: "0b0e0000-0000-4000-8000-000000000001",
  adminRole: "0b0e0000-0000-4000-8000-0000000000a1",
  appRole: "0b0e0000-0000-4000-8000-0000000000a2",
  division: "0b0e0000-0000-4000-8000-0000000000d1",
  adminA: "0b0e0000-0000-4000-8000-00000000ad0a",
  adminB: "0b0e0000-0000-4000-8000-00000000ad0b",
  appA: "0b0e0000-0000-4000-8000-0000000a990a",
  appB: "0b0e0000-0000-4000-8000-0000000a990b",
  single: "0b0e0000-0000-4000-8000-00000051e001",
  integrationCredential: "0b0e0000-0000-4000-8000-0000000000cc",
} as const;

/** Secret names in the Secrets Manager emulator. */
export const STACK_SECRET_NAMES = {
  admin: "genesys/admin",
  app: "genesys/app",
  single: "genesys/single",
} as const;

/**
 * A {@link Log} that keeps every line as the JSON a logger would print — WITHOUT redaction, so a leak
 * check over `lines` proves the code never passes a secret to the logger in the first place.
 */
export class RecordingLog implements Log {
  readonly lines: string[] = [];

  debug(message: string, ...extra: object[]): void {
    this.#record("DEBUG", message, extra);
  }
  info(message: string, ...extra: object[]): void {
    this.#record("INFO", message, extra);
  }
  warn(message: string, ...extra: object[]): void {
    this.#record("WARN", message, extra);
  }
  error(message: string, ...extra: object[]): void {
    this.#record("ERROR", message, extra);
  }

  /** Lines whose message contains `text`. */
  matching(text: string): string[] {
    return this.lines.filter((line) => line.includes(text));
  }

  #record(level: string, message: string, extra: object[]): void {
    this.lines.push(JSON.stringify({ level, message, ...Object.assign({}, ...extra) }));
  }
}

/** Options of {@link startRotationStack}. */
export interface RotationStackOptions {
  /** Shared by both emulators and the rotation function (use a SteppingClock for lag tests). @default systemClock */
  clock?: Clock;
  /** Genesys: a new secret is rejected for this long. @default 0 */
  propagationDelayMs?: number;
  /** Genesys: whether tokens minted before a regeneration stay valid. @default true */
  tokensSurviveRegeneration?: boolean;
  /** Rotation function: PROPAGATION_TIMEOUT_SECONDS. @default 60 */
  propagationTimeoutSeconds?: number;
  /** Rotation function: MIN_ROTATION_GAP_SECONDS. @default 0 (suites rotate back to back) */
  minRotationGapSeconds?: number;
  /** Secrets Manager: whole-rotation attempts before RotationFailed. @default 3 */
  maxRotationAttempts?: number;
  /** Secrets Manager: the AWSPENDING value of a RotateImmediately=false run. @default "currentCopy" */
  testRotationPendingValue?: TestRotationPendingValue;
  /** Logger of the rotation function. @default the Powertools logger (JSON on stdout) */
  log?: Log;
  /** Mutates the seeded Genesys state before the emulator starts (e.g. to add role drift). */
  editState?: (state: GenesysState) => void;
  /**
   * Sets ADMIN_SECRET_ARNS as the CDK does: app and single pinned to the admin secret (by name), the
   * admin secret pinned as self-managed (""). @default false (not pinned)
   */
  pinAdminSecrets?: boolean;
}

/** A running stack (see the module comment). */
export interface RotationStack {
  genesys: GenesysEmulator;
  secretsManager: SecretsManagerEmulator;
  /** A real SDK client pointed at the Secrets Manager emulator. */
  client: SecretsManagerClient;
  clock: Clock;
  /** Full ARNs of the seeded secrets. */
  secrets: { admin: string; app: string; single: string };
  /** The environment the rotation function runs with (also what a Lambda emulator registration needs). */
  handlerEnvironment: Record<string, string>;
  /** A rotation handler wired to both emulators; `overrides` replace single dependencies. */
  createHandler(overrides?: RotationHandlerOptions): RotationHandler;
  /** Replaces the function the invoker calls (default: `createHandler()`); e.g. to probe after each step. */
  setRotationFunction(fn: (event: RotationEvent) => Promise<unknown>): void;
  /** RotateSecret with the real SDK, then waits for the rotation's terminal event. */
  rotate(
    secretId: string,
    options?: { rotateImmediately?: boolean; timeoutMs?: number },
  ): Promise<RotationEventRecord>;
  /** The parsed value staged under a label, or `undefined` when no version carries it / it has no value. */
  readStaged(secretId: string, stage: string): Promise<CredentialSecret | undefined>;
  /** DescribeSecret's VersionIdsToStages. */
  stages(secretId: string): Promise<Record<string, string[]>>;
  /** Whether Genesys issues a token for this credential right now. */
  mints(credential: Pick<CredentialSecret, "clientId" | "clientSecret">): Promise<boolean>;
  /** Stops both emulators and closes the client. */
  stop(): Promise<void>;
}

/** The seeded organisation: admin pair (oauth:client:* + integrations), app pair and a single client. */
export function rotationStackState(): GenesysState {
  const app = [{ roleId: STACK_IDS.appRole, divisionId: STACK_IDS.division }];
  const admin = [{ roleId: STACK_IDS.adminRole, divisionId: "*" }];
  return {
    organization: { id: STACK_IDS.organization, name: "Rotation Test Org" },
    roles: [
      {
        id: STACK_IDS.adminRole,
        name: "Rotation Admin",
        permissions: ["oauth:client:*", "integrations:integration:view", "integrations:integration:edit"],
      },
      { id: STACK_IDS.appRole, name: "Reporting", permissions: ["analytics:conversationDetail:view"] },
    ],
    clients: [
      { id: STACK_IDS.adminA, name: "rotation-admin-a", secret: fakeSecret("adminA"), roleDivisions: admin },
      { id: STACK_IDS.adminB, name: "rotation-admin-b", secret: fakeSecret("adminB"), roleDivisions: admin },
      {
        id: STACK_IDS.appA,
        name: "reporting-a",
        secret: fakeSecret("appA"),
        roleDivisions: app,
        accessTokenValiditySeconds: 3600,
      },
      {
        id: STACK_IDS.appB,
        name: "reporting-b",
        secret: fakeSecret("appB"),
        roleDivisions: app,
        accessTokenValiditySeconds: 3600,
      },
      { id: STACK_IDS.single, name: "legacy-single", secret: fakeSecret("single"), roleDivisions: app },
    ],
    integrationCredentials: [
      {
        id: STACK_IDS.integrationCredential,
        name: "Data Actions (reporting)",
        type: "pureCloudOAuthClient",
        credentialFields: { clientId: STACK_IDS.appA, clientSecret: fakeSecret("appA") },
      },
    ],
  };
}

/** Starts the stack. The caller stops it (`after(() => stack.stop())`). */
export async function startRotationStack(options: RotationStackOptions = {}): Promise<RotationStack> {
  const clock = options.clock ?? systemClock;
  const state = rotationStackState();
  options.editState?.(state);
  const genesys = await startGenesysEmulator({
    state,
    clock,
    propagationDelayMs: options.propagationDelayMs ?? 0,
    tokensSurviveRegeneration: options.tokensSurviveRegeneration ?? true,
  });
  let secretsManager: SecretsManagerEmulator;
  try {
    secretsManager = await startSecretsManagerEmulator({
      clock,
      region: STACK_REGION,
      accountId: STACK_ACCOUNT,
      maxRotationAttempts: options.maxRotationAttempts ?? 3,
      testRotationPendingValue: options.testRotationPendingValue ?? "currentCopy",
    });
  } catch (error) {
    await genesys.stop();
    throw error;
  }
  const client = new SecretsManagerClient(secretsManager.clientConfig);
  const handlerEnvironment: Record<string, string> = {
    ...localHandlerEnvironment({ secretsManager: secretsManager.url, genesys: genesys.url }),
    PROPAGATION_TIMEOUT_SECONDS: String(options.propagationTimeoutSeconds ?? 60),
    MIN_ROTATION_GAP_SECONDS: String(options.minRotationGapSeconds ?? 0),
    POWERTOOLS_SERVICE_NAME: "genesys-oauth-rotation",
  };
  const createHandler = (overrides: RotationHandlerOptions = {}) =>
    createRotationHandler({
      env: handlerEnvironment,
      clock,
      // The handler would build its client from the environment; here it gets one with local credentials.
      secretsManager: new SecretsManagerClient(secretsManager.clientConfig),
      ...(options.log === undefined ? {} : { log: options.log }),
      ...overrides,
    });
  let rotationFunction: (event: RotationEvent) => Promise<unknown> = createHandler();
  secretsManager.setInvoker(
    inProcessInvoker({
      [ROTATION_LAMBDA_ARN]: async (event) => {
        await rotationFunction(event);
      },
    }),
  );

  const stack: RotationStack = {
    genesys,
    secretsManager,
    client,
    clock,
    secrets: { admin: "", app: "", single: "" },
    handlerEnvironment,
    createHandler,
    setRotationFunction: (fn) => {
      rotationFunction = fn;
    },
    async rotate(secretId, rotateOptions = {}) {
      await client.send(
        new RotateSecretCommand({
          SecretId: secretId,
          RotationLambdaARN: ROTATION_LAMBDA_ARN,
          RotateImmediately: rotateOptions.rotateImmediately ?? true,
        }),
      );
      return secretsManager.waitForRotation(secretId, { timeoutMs: rotateOptions.timeoutMs ?? 60_000 });
    },
    async readStaged(secretId, stage) {
      try {
        const response = await client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
        );
        return response.SecretString === undefined ? undefined : parseCredentialSecret(response.SecretString);
      } catch (error) {
        if ((error as Error).name === "ResourceNotFoundException") return undefined;
        throw error;
      }
    },
    async stages(secretId) {
      const response = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return response.VersionIdsToStages ?? {};
    },
    async mints(credential) {
      try {
        await requestClientCredentialsToken(
          {
            endpoints: stackEndpoints(genesys.url),
            clientId: credential.clientId,
            clientSecret: credential.clientSecret,
          },
          { clock, maxAttempts: 1 },
        );
        return true;
      } catch (error) {
        if ((error as Error).name === "GenesysInvalidClientError") return false;
        throw error;
      }
    },
    async stop() {
      client.destroy();
      await Promise.allSettled([secretsManager.stop(), genesys.stop()]);
    },
  };

  try {
    const admin = await createCredentialSecret(client, STACK_SECRET_NAMES.admin, {
      environment: STACK_ENVIRONMENT,
      clientId: STACK_IDS.adminA,
      clientSecret: fakeSecret("adminA"),
      strategy: "alternating",
      alternateClientId: STACK_IDS.adminB,
    });
    const app = await createCredentialSecret(client, STACK_SECRET_NAMES.app, {
      environment: STACK_ENVIRONMENT,
      clientId: STACK_IDS.appA,
      clientSecret: fakeSecret("appA"),
      strategy: "alternating",
      alternateClientId: STACK_IDS.appB,
      adminSecretArn: admin,
    });
    const single = await createCredentialSecret(client, STACK_SECRET_NAMES.single, {
      environment: STACK_ENVIRONMENT,
      clientId: STACK_IDS.single,
      clientSecret: fakeSecret("single"),
      strategy: "single",
      adminSecretArn: admin,
    });
    stack.secrets = { admin, app, single };
    if (options.pinAdminSecrets === true) {
      // Read by the handlers on their first invocation, so setting it after the secrets exist is in time.
      handlerEnvironment.ADMIN_SECRET_ARNS = JSON.stringify({
        [STACK_SECRET_NAMES.admin]: "",
        [STACK_SECRET_NAMES.app]: admin,
        [STACK_SECRET_NAMES.single]: admin,
      });
    }
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/** Endpoints of the stack's environment, served by the emulator. */
export function stackEndpoints(genesysUrl: string) {
  return resolveEndpoints(STACK_ENVIRONMENT, { endpointOverride: genesysUrl, extraEnvironments: [] });
}
