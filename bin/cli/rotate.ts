/**
 * `genesys-rotator rotate`: RotateSecret now, optionally waiting (DescribeSecret polling) until the new
 * version becomes AWSCURRENT, or until a timeout. A rotation refused because a previous one is stuck is
 * answered with the commands that clear it.
 */
import { randomUUID } from "node:crypto";
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { IGNORE_MIN_GAP_TOKEN_PREFIX } from "../../lambda/rotation/preconditions.ts";
import { AWSCURRENT, AWSPENDING } from "../../lambda/shared/staging-labels.ts";
import {
  type CommandSpec,
  flag,
  integerOption,
  type ParsedValues,
  ROTATED_SECRET_ID_OPTION,
  secretIdOption,
} from "./args.ts";
import { AwsCallError, CliError, UsageError } from "./errors.ts";
import { type CliDependencies, callAws } from "./runtime.ts";
import { suggestedCommand } from "./secret-state.ts";

export const rotateSpec: CommandSpec = {
  name: "rotate",
  summary: "Start a rotation now (RotateSecret), optionally waiting for its outcome.",
  details: [
    "Asks Secrets Manager to rotate the secret with its configured rotation function. With --wait, polls",
    "DescribeSecret until the new version carries AWSCURRENT (success), loses AWSPENDING without becoming",
    "current (failed or abandoned), or --timeout-seconds pass. --test-only runs the rotation function's",
    "testSecret step alone (RotateImmediately=false), which changes nothing.",
    "",
    "The rotation function refuses to regenerate a client that was AWSCURRENT less than its minimum gap",
    "ago (MinRotationGapError; rotationFunction.minRotationGapSeconds). In an emergency (a leaked secret)",
    `--ignore-min-gap overrides it for this rotation only: the version id (ClientRequestToken) starts with`,
    `"${IGNORE_MIN_GAP_TOKEN_PREFIX}", which the rotation function reads. Consumers still holding the`,
    "previous value or a token minted with it may then fail. A rotation refused earlier stays stuck:",
    "clear it with recover first.",
  ].join("\n"),
  options: {
    "secret-id": ROTATED_SECRET_ID_OPTION,
    wait: { type: "boolean", description: "wait for the rotation to finish and print the outcome" },
    "timeout-seconds": {
      type: "string",
      value: "<n>",
      description: "how long --wait waits (default 300)",
    },
    "test-only": { type: "boolean", description: "validate the rotation setup without rotating" },
    "ignore-min-gap": {
      type: "boolean",
      description: "emergency: rotate even if the previous rotation was less than the minimum gap ago",
    },
  },
  examples: [
    "rotate --secret-id genesys/reporting --wait",
    "rotate --secret-id genesys/reporting --ignore-min-gap --wait",
    "rotate --local --secret-id drill/genesys-app --wait",
  ],
};

/** Validated input of `rotate`. */
export interface RotateInput {
  secretId: string;
  wait: boolean;
  timeoutMs: number;
  testOnly: boolean;
  /** Skip the rotation function's minimum gap for this rotation (a ClientRequestToken it recognises). */
  ignoreMinGap: boolean;
  /** Time between DescribeSecret polls. */
  pollIntervalMs: number;
}

/** Parses and validates `rotate` flags. */
export function parseRotateInput(values: ParsedValues): RotateInput {
  const wait = flag(values, "wait");
  if (!wait && values["timeout-seconds"] !== undefined) {
    throw new UsageError("--timeout-seconds", "only applies with --wait");
  }
  const testOnly = flag(values, "test-only");
  const ignoreMinGap = flag(values, "ignore-min-gap");
  if (testOnly && ignoreMinGap) {
    throw new UsageError("--ignore-min-gap", "does not apply with --test-only (nothing is regenerated)");
  }
  return {
    secretId: secretIdOption(values, "secret-id", true),
    wait,
    timeoutMs: integerOption(values, "timeout-seconds", { min: 1, max: 3600, default: 300 }) * 1000,
    testOnly,
    ignoreMinGap,
    pollIntervalMs: 1000,
  };
}

/** How the rotation ended, as far as `rotate` saw. */
export type RotationOutcome =
  | "started" // not waited for
  | "succeeded" // the new version is AWSCURRENT
  | "test-finished" // --test-only: AWSPENDING cleared again (pass or fail: see TestRotation* events)
  | "ended-without-success" // AWSPENDING left the version without AWSCURRENT (failed test run, abandoned)
  | "timed-out"; // still pending at the deadline (being retried, or stuck)

/** What `rotate` did. */
export interface RotateReport {
  secretArn: string;
  versionId: string;
  testOnly: boolean;
  outcome: RotationOutcome;
  /** Seconds waited. */
  waitedSeconds?: number;
  /** What to do next, when the outcome is not a success. */
  advice?: string[];
}

/** Runs `rotate`. */
export async function runRotate(input: RotateInput, deps: CliDependencies): Promise<RotateReport> {
  const context = { service: "secretsmanager", resource: input.secretId } as const;
  let started: { ARN?: string; VersionId?: string };
  try {
    started = await callAws(
      deps,
      () =>
        deps.secretsManager.send(
          new RotateSecretCommand({
            SecretId: input.secretId,
            RotateImmediately: !input.testOnly,
            // The override travels in the version id, which every step of this rotation receives.
            ...(input.ignoreMinGap
              ? { ClientRequestToken: `${IGNORE_MIN_GAP_TOKEN_PREFIX}${randomUUID()}` }
              : {}),
          }),
        ),
      { ...context, operation: "RotateSecret" },
    );
  } catch (error) {
    throw explainRotateRefusal(error, input, deps);
  }
  const report: RotateReport = {
    secretArn: started.ARN ?? input.secretId,
    versionId: started.VersionId ?? "",
    testOnly: input.testOnly,
    outcome: "started",
  };
  if (!input.wait || report.versionId === "") return report;

  const begin = deps.clock.now();
  report.outcome = await waitForRotation(deps, input.secretId, report.versionId, input);
  report.waitedSeconds = Math.round((deps.clock.now() - begin) / 1000);
  if (report.outcome === "timed-out" || report.outcome === "ended-without-success") {
    report.advice = [
      "Check the rotation function's logs and the RotationFailed alarm, then:",
      suggestedCommand(deps.target, "status", { "secret-id": input.secretId }),
    ];
  }
  return report;
}

/**
 * Polls DescribeSecret until the rotation to `versionId` ends: AWSCURRENT on it (`succeeded`), AWSPENDING
 * gone without it (`ended-without-success`, or `test-finished` for a test run), or the timeout.
 */
export async function waitForRotation(
  deps: Pick<CliDependencies, "target" | "secretsManager" | "clock">,
  secretId: string,
  versionId: string,
  options: { timeoutMs: number; pollIntervalMs: number; testOnly?: boolean },
): Promise<Exclude<RotationOutcome, "started">> {
  const deadline = deps.clock.now() + options.timeoutMs;
  for (;;) {
    const described = await callAws(
      deps,
      () => deps.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
      { service: "secretsmanager", resource: secretId, operation: "DescribeSecret" },
    );
    const stages = described.VersionIdsToStages?.[versionId] ?? [];
    if (stages.includes(AWSCURRENT)) return "succeeded";
    if (!stages.includes(AWSPENDING)) return options.testOnly ? "test-finished" : "ended-without-success";
    if (deps.clock.now() >= deadline) return "timed-out";
    await deps.clock.sleep(Math.min(options.pollIntervalMs, Math.max(0, deadline - deps.clock.now())));
  }
}

/** RotateSecret's refusals an operator can fix, with the fix. */
function explainRotateRefusal(error: unknown, input: RotateInput, deps: CliDependencies): unknown {
  if (!(error instanceof AwsCallError) || error.awsErrorName !== "InvalidRequestException") return error;
  const cause = (error.cause as Error | undefined)?.message ?? "";
  if (/previous rotation/i.test(cause)) {
    return new CliError(
      `A previous rotation of ${input.secretId} is not complete (AWSPENDING is stuck on another version). ` +
        `Inspect it with \`${suggestedCommand(deps.target, "status", { "secret-id": input.secretId })}\` ` +
        `and clear it with \`${suggestedCommand(deps.target, "recover", { "secret-id": input.secretId })}\`.`,
      { cause: error },
    );
  }
  if (/lambda|rotation/i.test(cause)) {
    return new CliError(
      `Rotation is not configured for ${input.secretId}: deploy the stack (cdk deploy) so the secret has a ` +
        "rotation function and schedule.",
      { cause: error },
    );
  }
  return error;
}

/** Human-readable `rotate`. */
export function renderRotate(report: RotateReport): string {
  const what = report.testOnly ? "Test rotation" : "Rotation";
  const headline: Record<RotationOutcome, string> = {
    started: `${what} started: version ${report.versionId} of ${report.secretArn}.`,
    succeeded: `${what} succeeded: version ${report.versionId} is now AWSCURRENT (${report.waitedSeconds ?? 0}s).`,
    "test-finished": `${what} finished: testSecret ran and AWSPENDING was cleared (${report.waitedSeconds ?? 0}s); its result is in the rotation function's logs and the TestRotationSucceeded/TestRotationFailed events.`,
    "ended-without-success": `${what} ended without success: version ${report.versionId} lost AWSPENDING without becoming AWSCURRENT (failed or abandoned).`,
    "timed-out": `${what} still pending after ${report.waitedSeconds ?? 0}s: version ${report.versionId} carries AWSPENDING (being retried, or stuck).`,
  };
  return [headline[report.outcome], ...(report.advice ?? []).map((line) => `  ${line}`)].join("\n");
}

/** Exit code of a `rotate` report: 0 unless a waited-for rotation did not succeed. */
export function rotateExitCode(report: RotateReport): number {
  return report.outcome === "started" || report.outcome === "succeeded" || report.outcome === "test-finished"
    ? 0
    : 1;
}
