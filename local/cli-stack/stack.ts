/**
 * What the operator CLI's `--local` talks to: the local stack (local/stack/: Genesys Cloud emulator,
 * Secrets Manager emulator, local DynamoDB with the token table, Lambda emulator running the real
 * rotation and vending handlers) plus what a `cdk deploy` would have set up for an operator
 * (local/stack/operator.ts):
 *
 * - rotation configured on the seeded secrets (rotation function + 90-day schedule), so `rotate` works
 *   without naming a function — configured as CDK does with rotateImmediatelyOnUpdate=false: a test run;
 * - `oauth:client:add` on the admin role, so `seed` can create twin clients (a real admin credential
 *   needs it only while seeding), and `oauth:client:delete` for `emergency --replace-client`.
 *
 * `endpoints` is what `.local-stack.json` holds: URLs, names and the stand-ins' dummy AWS settings, never a
 * secret.
 */
import type { LocalStackEndpoints } from "../../contracts/local-stack-file.ts";
import { configureRotation, grantAdminPermissions, localStackEndpoints } from "../stack/operator.ts";
import { type DrillStack, type DrillStackOptions, startDrillStack } from "../stack/stack.ts";

/** A running CLI stack. */
export interface CliStack {
  /** The underlying local stack (emulators, clients). */
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
    const endpoints = localStackEndpoints(drill);
    return { drill, endpoints, stop: () => drill.stop() };
  } catch (error) {
    await drill.stop();
    throw error;
  }
}
