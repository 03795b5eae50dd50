/**
 * Test support for the Secrets Manager emulator suites: a started emulator with a real SDK client,
 * and a rotation function written like AWS's SecretsManagerRotationTemplate (guard, then idempotent
 * steps), with hooks to make steps fail.
 */
import { after } from "node:test";
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { Clock } from "../../lambda/shared/clock.ts";
import {
  inProcessInvoker,
  type RotationEvent,
  type RotationStep,
  type SecretsManagerEmulator,
  type SecretsManagerEmulatorOptions,
  startSecretsManagerEmulator,
} from "../../local/aws/secrets-manager/emulator.ts";

export const ROTATION_LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:test-rotator";

/** A UUID-shaped ClientRequestToken (32–64 chars) that is stable per label, for readable assertions. */
export function token(label: string): string {
  const hex = Buffer.from(label).toString("hex").padEnd(32, "0").slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Starts an emulator and an SDK client (no SDK retries unless asked). Both are stopped by `cleanup`
 * (pass `t.after.bind(t)` from inside a test; default: after the whole file).
 */
export async function startWithClient(
  options: SecretsManagerEmulatorOptions & { clock?: Clock } = {},
  clientOptions: { maxAttempts?: number } = {},
  cleanup: (fn: () => Promise<void>) => void = after,
): Promise<{ emulator: SecretsManagerEmulator; client: SecretsManagerClient }> {
  const emulator = await startSecretsManagerEmulator(options);
  const client = new SecretsManagerClient({
    ...emulator.clientConfig,
    maxAttempts: clientOptions.maxAttempts ?? 1,
  });
  cleanup(async () => {
    client.destroy();
    await emulator.stop();
  });
  return { emulator, client };
}

/** Staging labels per version, as DescribeSecret reports them (sorted for stable comparison). */
export async function labels(
  client: SecretsManagerClient,
  secretId: string,
): Promise<Record<string, string[]>> {
  const described = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return Object.fromEntries(
    Object.entries(described.VersionIdsToStages ?? {}).map(([id, stages]) => [id, [...stages].sort()]),
  );
}

/** Hooks of the fake rotation function. */
export interface FakeRotatorHooks {
  /** Called before a step's work; throw to fail the step. */
  beforeStep?: (step: RotationStep, event: RotationEvent) => void | Promise<void>;
  /** The new secret value createSecret stores. @default "rotated-<n>" */
  newValue?: () => string;
}

/**
 * A rotation function shaped like AWS's template: it validates the event against DescribeSecret,
 * returns early when the token is already AWSCURRENT, and makes each step idempotent. createSecret
 * puts the new value into AWSPENDING with the token; finishSecret moves AWSCURRENT.
 */
export function fakeRotator(client: SecretsManagerClient, hooks: FakeRotatorHooks = {}) {
  let generated = 0;
  const seen: { step: RotationStep; token: string; pendingValue?: string }[] = [];
  const handler = async (event: RotationEvent): Promise<void> => {
    const { SecretId, ClientRequestToken, Step } = event;
    const metadata = await client.send(new DescribeSecretCommand({ SecretId }));
    if (!metadata.RotationEnabled) throw new Error(`rotation is not enabled for ${SecretId}`);
    const stages = metadata.VersionIdsToStages?.[ClientRequestToken];
    if (!stages) throw new Error(`version ${ClientRequestToken} has no stage for rotation`);
    if (stages.includes("AWSCURRENT")) {
      seen.push({ step: Step, token: ClientRequestToken });
      return;
    }
    if (!stages.includes("AWSPENDING")) throw new Error(`version ${ClientRequestToken} is not AWSPENDING`);
    await hooks.beforeStep?.(Step, event);

    const pending = () =>
      client.send(
        new GetSecretValueCommand({ SecretId, VersionId: ClientRequestToken, VersionStage: "AWSPENDING" }),
      );
    switch (Step) {
      case "createSecret": {
        await client.send(new GetSecretValueCommand({ SecretId, VersionStage: "AWSCURRENT" }));
        try {
          await pending();
        } catch (error) {
          if (!(error instanceof ResourceNotFoundException)) throw error;
          generated++;
          await client.send(
            new PutSecretValueCommand({
              SecretId,
              ClientRequestToken,
              SecretString: hooks.newValue?.() ?? `rotated-${generated}`,
              VersionStages: ["AWSPENDING"],
            }),
          );
        }
        break;
      }
      case "setSecret":
        break;
      case "testSecret": {
        const value = await pending();
        seen.push({ step: Step, token: ClientRequestToken, pendingValue: value.SecretString });
        return;
      }
      case "finishSecret": {
        const current = Object.entries(metadata.VersionIdsToStages ?? {}).find(([, s]) =>
          s.includes("AWSCURRENT"),
        );
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId,
            VersionStage: "AWSCURRENT",
            MoveToVersionId: ClientRequestToken,
            RemoveFromVersionId: current?.[0],
          }),
        );
        break;
      }
    }
    seen.push({ step: Step, token: ClientRequestToken });
  };
  return { invoker: inProcessInvoker({ [ROTATION_LAMBDA_ARN]: handler }), seen };
}
