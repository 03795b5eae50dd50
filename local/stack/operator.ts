/**
 * What an operator (or a `cdk deploy`) sets up on a running local stack, and what the operator CLI's
 * `--local` needs to reach it: used by `npm run local-stack` (local/cli-stack/) and by the drill's
 * emergency (local/drill/emergency.ts).
 */
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { LOCAL_STACK_FILE_VERSION, type LocalStackEndpoints } from "../../contracts/local-stack-file.ts";
import { systemClock } from "../../lambda/shared/clock.ts";
import { LOCAL_AWS } from "../shared/local-aws.ts";
import { DRILL_IDS } from "./seed.ts";
import { DRILL_NAMES, type DrillStack } from "./stack.ts";

/** How long configuring rotation (one test run per secret) may take. */
const CONFIGURE_TIMEOUT_MS = 60_000;

/** What `--local` needs to reach `drill`'s stack (the content of `.local-stack.json`). */
export function localStackEndpoints(drill: DrillStack): LocalStackEndpoints {
  return {
    version: LOCAL_STACK_FILE_VERSION,
    // The settings the local stack's clients and handlers use: DynamoDB Local partitions on them.
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
