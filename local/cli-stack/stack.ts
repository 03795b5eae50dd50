/**
 * The local stack the operator CLI's `--local` talks to: the drill's stack (Genesys Cloud emulator,
 * Secrets Manager emulator, local DynamoDB with the token table, Lambda emulator running the real
 * rotation and vending handlers) plus what a `cdk deploy` would have set up for an operator:
 *
 * - rotation configured on the seeded secrets (rotation function + 90-day schedule), so `rotate` works
 *   without naming a function — configured as CDK does with rotateImmediatelyOnUpdate=false: a test run;
 * - `oauth:client:add` on the admin role, so `seed` can create twin clients (a real admin credential
 *   needs it only while seeding), and `oauth:client:delete` for `emergency --replace-client`.
 *
 * `endpoints` is what `.local-stack.json` holds: URLs, names and the stand-ins' dummy AWS settings, never a
 * secret.
 */
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { LOCAL_STACK_FILE_VERSION, type LocalStackEndpoints } from "../../bin/cli/local-stack-file.ts";
import { systemClock } from "../../lambda/shared/clock.ts";
import { LOCAL_AWS } from "../shared/local-aws.ts";
import { DRILL_IDS } from "../stack/seed.ts";
import { DRILL_NAMES, type DrillStack, type DrillStackOptions, startDrillStack } from "../stack/stack.ts";

/** A running CLI stack. */
export interface CliStack {
  /** The underlying drill stack (emulators, clients). */
  drill: DrillStack;
  /** What `--local` needs (the content of `.local-stack.json`). */
  endpoints: LocalStackEndpoints;
  stop(): Promise<void>;
}

/** Options of {@link startCliStack}. */
export interface CliStackOptions
  extends Pick<
    DrillStackOptions,
    "preferDynalite" | "verbose" | "maxRotationAttempts" | "rotationRetryDelayMs"
  > {
  /** Schedule set on the seeded secrets. @default "rate(90 days)" */
  scheduleExpression?: string;
}

/** How long configuring rotation (one test run per secret) may take. */
const CONFIGURE_TIMEOUT_MS = 60_000;

/** Starts the stack and configures rotation on its secrets. The caller stops it. */
export async function startCliStack(options: CliStackOptions = {}): Promise<CliStack> {
  const drill = await startDrillStack({
    ...(options.preferDynalite === undefined ? {} : { preferDynalite: options.preferDynalite }),
    ...(options.verbose === undefined ? {} : { verbose: options.verbose }),
    maxRotationAttempts: options.maxRotationAttempts ?? 2,
    rotationRetryDelayMs: options.rotationRetryDelayMs ?? 500,
  });
  try {
    grantAdminPermissions(drill, ["oauth:client:add", "oauth:client:delete"]);
    for (const secretArn of [drill.secrets.admin, drill.secrets.app]) {
      await configureRotation(drill, secretArn, options.scheduleExpression ?? "rate(90 days)");
    }
    const endpoints = cliStackEndpoints(drill);
    return { drill, endpoints, stop: () => drill.stop() };
  } catch (error) {
    await drill.stop();
    throw error;
  }
}

/** What `--local` needs to reach `drill`'s stack (the content of `.local-stack.json`). */
export function cliStackEndpoints(drill: DrillStack): LocalStackEndpoints {
  return {
    version: LOCAL_STACK_FILE_VERSION,
    // The settings the drill stack's clients and handlers use: DynamoDB Local partitions on them.
    region: LOCAL_AWS.region,
    // Field by field: the SDK annotates a credentials object it was given (`$source`), and this one is shared.
    awsCredentials: {
      accessKeyId: LOCAL_AWS.credentials.accessKeyId,
      secretAccessKey: LOCAL_AWS.credentials.secretAccessKey,
    },
    secretsManager: drill.secretsManager.url,
    lambda: drill.lambda.url,
    dynamodb: drill.dynamoDb.endpoint,
    genesys: drill.genesys.url,
    vendingFunction: DRILL_NAMES.vendorFunction,
    tokenTable: DRILL_NAMES.tokenTable,
    credentials: {
      [DRILL_NAMES.credential]: drill.secrets.app,
      [DRILL_NAMES.otherCredential]: drill.secrets.other,
    },
    secrets: { admin: DRILL_NAMES.adminSecret, app: DRILL_NAMES.appSecret },
    pid: process.pid,
  };
}

/** Adds `permissions` to the drill organisation's admin role (what an operator grants for seed / emergency). */
export function grantAdminPermissions(drill: DrillStack, permissions: readonly string[]): void {
  const adminRole = drill.genesys.state.getRole(DRILL_IDS.adminRole);
  if (adminRole === undefined) return;
  const missing = permissions.filter((permission) => !adminRole.permissions.includes(permission));
  if (missing.length > 0) {
    drill.genesys.state.putRole({ ...adminRole, permissions: [...adminRole.permissions, ...missing] });
  }
}

/**
 * RotateSecret with the rotation function and schedule and RotateImmediately=false (as CDK configures a
 * rotation schedule), then waits until the test run's AWSPENDING version is gone.
 */
export async function configureRotation(
  drill: DrillStack,
  secretArn: string,
  scheduleExpression: string,
): Promise<void> {
  const client = drill.secretsManagerClient;
  const started = await client.send(
    new RotateSecretCommand({
      SecretId: secretArn,
      RotationLambdaARN: drill.rotationLambdaArn,
      RotationRules: { ScheduleExpression: scheduleExpression },
      RotateImmediately: false,
    }),
  );
  const deadline = systemClock.now() + CONFIGURE_TIMEOUT_MS;
  for (;;) {
    const described = await client.send(new DescribeSecretCommand({ SecretId: secretArn }));
    const stages = described.VersionIdsToStages?.[started.VersionId ?? ""] ?? [];
    if (!stages.includes("AWSPENDING")) return;
    if (systemClock.now() > deadline)
      throw new Error(`configuring rotation of ${secretArn} did not finish within 60 s`);
    await systemClock.sleep(100);
  }
}
