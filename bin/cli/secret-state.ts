/**
 * A rotated secret as an operator needs to see it: versions and staging labels, which client each
 * labelled version names, the rotation schedule, and whether a rotation is stuck (AWSPENDING on a version
 * that is not AWSCURRENT). `status`, `recover` and `seed` share it.
 *
 * Values are read to learn client ids; the parsed credentials (with their secrets) are returned apart from
 * the printable state, so printing the state can never print a secret.
 */
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  type SecretVersionsListEntry,
} from "@aws-sdk/client-secrets-manager";
import { ValidationError } from "../../lambda/shared/errors.ts";
import {
  type CredentialSecret,
  parseCredentialSecret,
  type Strategy,
} from "../../lambda/shared/secret-value.ts";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from "../../lambda/shared/staging-labels.ts";
import { integerOption, type OptionSpec, type ParsedValues } from "./args.ts";
import { EMERGENCY_TAG, type EmergencyRecord, parseEmergencyTag } from "./emergency-state.ts";
import { AwsCallError } from "./errors.ts";
import { awsPages, type CliDependencies, callAws, type Target } from "./runtime.ts";

/**
 * A pending version younger than this may belong to a rotation that is still running (each step is one
 * Lambda invocation of at most 15 minutes); older ones are reported as stuck.
 */
export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;

/** The `--stuck-after-minutes` flag of the commands that flag stuck rotations; read it with {@link stuckAfterMsOption}. */
export const STUCK_AFTER_MINUTES_OPTION: OptionSpec = {
  type: "string",
  value: "<n>",
  description: `age after which a pending rotation counts as stuck (default ${DEFAULT_STUCK_AFTER_MS / 60_000})`,
};

/** `--stuck-after-minutes` in milliseconds: 1 minute to 1 week, default {@link DEFAULT_STUCK_AFTER_MS}. */
export function stuckAfterMsOption(values: ParsedValues): number {
  const minutes = integerOption(values, "stuck-after-minutes", {
    min: 1,
    max: 10_080,
    default: DEFAULT_STUCK_AFTER_MS / 60_000,
  });
  return minutes * 60_000;
}

/** What a version's value says, without its secret. */
export type VersionContent =
  | {
      kind: "credential";
      clientId: string;
      alternateClientId?: string;
      environment: string;
      strategy: Strategy;
      adminSecretArn?: string;
    }
  /** The placeholder RotateSecret creates before createSecret stores a value. */
  | { kind: "empty" }
  /** A value that fails the schema: the field and the rule, never the value. */
  | { kind: "invalid"; problem: string };

/** One version that carries at least one staging label. */
export interface VersionView {
  versionId: string;
  stages: string[];
  /** ISO-8601. */
  createdAt?: string;
  content: VersionContent;
}

/** A rotation that has not finished: AWSPENDING on a version other than AWSCURRENT's. */
export interface PendingRotation {
  versionId: string;
  /** Seconds since the pending version was created, when known. */
  ageSeconds?: number;
  /** True when older than the stuck threshold (or of unknown age): it will not finish on its own. */
  stuck: boolean;
}

/** The printable state of a secret. */
export interface SecretState {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  /** `ScheduleExpression`, or `every N days`. */
  schedule?: string;
  lastRotatedAt?: string;
  nextRotationAt?: string;
  lastChangedAt?: string;
  /** Labelled versions, newest first. */
  versions: VersionView[];
  /** Version ids by label. */
  labels: { current?: string; pending?: string; previous?: string };
  /** Set when a rotation is in progress or stuck. */
  pendingRotation?: PendingRotation;
  /** The progress of `emergency` recorded on the secret (its tag), when there is one. */
  emergency?: EmergencyRecord;
}

/** {@link SecretState} plus the parsed values (secrets included) by version id: never print these. */
export interface InspectedSecret {
  state: SecretState;
  credentials: ReadonlyMap<string, CredentialSecret>;
}

/**
 * DescribeSecret + ListSecretVersionIds + GetSecretValue of every labelled version.
 * @param options.stuckAfterMs the age after which a pending version is called stuck.
 */
export async function inspectSecret(
  deps: Pick<CliDependencies, "target" | "secretsManager" | "clock">,
  secretId: string,
  options: { stuckAfterMs?: number } = {},
): Promise<InspectedSecret> {
  const context = { service: "secretsmanager", resource: secretId } as const;
  const described = await callAws(
    deps,
    () => deps.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId })),
    {
      ...context,
      operation: "DescribeSecret",
    },
  );
  const listed: SecretVersionsListEntry[] = [];
  const pages = awsPages(
    deps,
    (nextToken) =>
      deps.secretsManager.send(
        new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: 100, NextToken: nextToken }),
      ),
    { ...context, operation: "ListSecretVersionIds" },
  );
  for await (const page of pages) listed.push(...(page.Versions ?? []));

  const credentials = new Map<string, CredentialSecret>();
  const versions: VersionView[] = [];
  for (const entry of listed.sort((a, b) => time(b.CreatedDate) - time(a.CreatedDate))) {
    const stages = entry.VersionStages ?? [];
    if (entry.VersionId === undefined || stages.length === 0) continue;
    const read = await readVersion(deps, secretId, entry.VersionId);
    if (read.credential !== undefined) credentials.set(entry.VersionId, read.credential);
    versions.push({
      versionId: entry.VersionId,
      stages: [...stages],
      ...(entry.CreatedDate === undefined ? {} : { createdAt: entry.CreatedDate.toISOString() }),
      content: read.content,
    });
  }
  const state = describeState(
    described,
    versions,
    deps.clock.now(),
    options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
  );
  return { state, credentials };
}

/** Reads one version's value: its printable content and, when valid, the parsed credential. */
export async function readVersion(
  deps: Pick<CliDependencies, "target" | "secretsManager">,
  secretId: string,
  versionId: string,
): Promise<{ content: VersionContent; credential?: CredentialSecret }> {
  let raw: string | undefined;
  try {
    const response = await callAws(
      deps,
      () => deps.secretsManager.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId })),
      { service: "secretsmanager", operation: "GetSecretValue", resource: secretId },
    );
    raw = response.SecretString;
  } catch (error) {
    // The empty AWSPENDING placeholder has no value: GetSecretValue answers "not found" for it.
    if (error instanceof AwsCallError && error.awsErrorName === "ResourceNotFoundException") {
      return { content: { kind: "empty" } };
    }
    throw error;
  }
  if (raw === undefined) return { content: { kind: "invalid", problem: "the version has no SecretString" } };
  try {
    const credential = parseCredentialSecret(raw);
    return { content: contentOf(credential), credential };
  } catch (error) {
    if (error instanceof ValidationError) return { content: { kind: "invalid", problem: error.message } };
    throw error;
  }
}

/** The printable part of a credential. */
export function contentOf(credential: CredentialSecret): VersionContent {
  return {
    kind: "credential",
    clientId: credential.clientId,
    environment: credential.environment,
    strategy: credential.strategy,
    ...(credential.alternateClientId === undefined
      ? {}
      : { alternateClientId: credential.alternateClientId }),
    ...(credential.adminSecretArn === undefined ? {} : { adminSecretArn: credential.adminSecretArn }),
  };
}

function describeState(
  described: DescribeSecretCommandOutput,
  versions: VersionView[],
  now: number,
  stuckAfterMs: number,
): SecretState {
  const holder = (stage: string) => versions.find((version) => version.stages.includes(stage))?.versionId;
  const labels: SecretState["labels"] = {};
  const current = holder(AWSCURRENT);
  const pending = holder(AWSPENDING);
  const previous = holder(AWSPREVIOUS);
  if (current !== undefined) labels.current = current;
  if (pending !== undefined) labels.pending = pending;
  if (previous !== undefined) labels.previous = previous;

  const state: SecretState = {
    arn: described.ARN ?? "",
    name: described.Name ?? "",
    rotationEnabled: described.RotationEnabled === true,
    versions,
    labels,
  };
  if (described.RotationLambdaARN !== undefined) state.rotationLambdaArn = described.RotationLambdaARN;
  const rules = described.RotationRules;
  const schedule =
    rules?.ScheduleExpression ??
    (rules?.AutomaticallyAfterDays === undefined ? undefined : `every ${rules.AutomaticallyAfterDays} days`);
  if (schedule !== undefined) state.schedule = schedule;
  if (described.LastRotatedDate !== undefined) state.lastRotatedAt = described.LastRotatedDate.toISOString();
  if (described.NextRotationDate !== undefined)
    state.nextRotationAt = described.NextRotationDate.toISOString();
  if (described.LastChangedDate !== undefined) state.lastChangedAt = described.LastChangedDate.toISOString();
  const emergency = parseEmergencyTag(described.Tags?.find((tag) => tag.Key === EMERGENCY_TAG)?.Value);
  if (emergency !== undefined) state.emergency = emergency;

  if (pending !== undefined && pending !== current) {
    const createdAt = versions.find((version) => version.versionId === pending)?.createdAt;
    const ageMs = createdAt === undefined ? undefined : Math.max(0, now - Date.parse(createdAt));
    state.pendingRotation = {
      versionId: pending,
      ...(ageMs === undefined ? {} : { ageSeconds: Math.floor(ageMs / 1000) }),
      stuck: ageMs === undefined || ageMs >= stuckAfterMs,
    };
  }
  return state;
}

function time(date: Date | undefined): number {
  return date?.getTime() ?? 0;
}

/**
 * A command line an operator can paste: the program, the command, its flags, and the target flags
 * (`--local`, `--region`, `--profile`) of the current invocation.
 */
export function suggestedCommand(
  target: Target,
  command: string,
  flags: Record<string, string | true>,
): string {
  const parts = ["npx genesys-rotator", command];
  for (const [name, value] of Object.entries(flags))
    parts.push(value === true ? `--${name}` : `--${name} ${value}`);
  if (target.kind === "local") parts.push("--local");
  else {
    if (target.region !== undefined) parts.push(`--region ${target.region}`);
    if (target.profile !== undefined) parts.push(`--profile ${target.profile}`);
  }
  return parts.join(" ");
}

/** The AWS CLI command that removes a stuck AWSPENDING label by hand. */
export function removePendingAwsCli(target: Target, secretId: string, versionId: string): string {
  const region = target.kind === "aws" && target.region !== undefined ? ` --region ${target.region}` : "";
  return `aws secretsmanager update-secret-version-stage --secret-id ${secretId} --version-stage AWSPENDING --remove-from-version-id ${versionId}${region}`;
}
