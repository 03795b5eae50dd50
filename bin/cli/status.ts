/**
 * `genesys-rotator status`: versions and labels, the client each label names, last and next rotation,
 * a stuck rotation flagged with the exact fix, and the vending function's token-cache entry (expiry,
 * client, generation, lease) — never a secret or a token. Read-only.
 *
 * The token-cache section is optional: when it cannot be read (no table, no dynamodb:GetItem, DynamoDB
 * unreachable, the stack's outputs unreadable), the section says so in one line and the command still
 * succeeds — the secret's state is what an operator runs `status` for. Only a failure to read the secret
 * fails the command. The table and the credential name come from the deployed stack's outputs (or the
 * local stack file); `--table`/`--credential` override them.
 *
 * `--all` lists every rotated secret of the stack from ListSecrets metadata alone (no secret value is read):
 * age, last outcome as the labels show it, next scheduled rotation and any stuck AWSPENDING.
 */
import { type AttributeValue, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  type SecretListEntry,
} from "@aws-sdk/client-secrets-manager";
import { AWSCURRENT, AWSPENDING } from "../../lambda/shared/staging-labels.ts";
import {
  type CommandSpec,
  credentialNameOption,
  flag,
  type ParsedValues,
  secretIdOption,
  tableNameOption,
} from "./args.ts";
import { CliError, failureReason, UsageError } from "./errors.ts";
import { awsPages, type CliDependencies, callAws } from "./runtime.ts";
import {
  inspectSecret,
  type PendingRotation,
  removePendingAwsCli,
  type SecretState,
  STUCK_AFTER_MINUTES_OPTION,
  stuckAfterMsOption,
  suggestedCommand,
  type VersionView,
} from "./secret-state.ts";
import { credentialOfSecret, readStackOutputs, STACK_OPTION, stackNameOption } from "./stack-outputs.ts";

export const statusSpec: CommandSpec = {
  name: "status",
  summary:
    "Show a rotated secret's versions, labels, schedule, stuck rotations and token cache (--all: every secret).",
  details: [
    "Reads the secret (DescribeSecret, ListSecretVersionIds, GetSecretValue) and prints, per labelled version,",
    "the OAuth client it names - never the client secret. A rotation whose AWSPENDING label sits on a version",
    "other than AWSCURRENT's for longer than --stuck-after-minutes is flagged with the command that fixes it.",
    "Also shows the vending function's cached-token entry (expiry, client, generation, lease; the token itself",
    "is never read): the table and the credential come from the outputs of the deployed stack (--stack,",
    "CloudFormation DescribeStacks) or the local stack file; --table and --credential override them. When that",
    "entry cannot be read, the section says why and status still exits 0.",
    "--all lists every rotated secret of the stack (rotated by its rotation function, or tagged with its name):",
    "age, last outcome, next scheduled rotation and any stuck AWSPENDING - from metadata only.",
  ].join("\n"),
  options: {
    "secret-id": {
      type: "string",
      value: "<name|arn>",
      description: "the rotated credential secret (required unless --all)",
    },
    all: { type: "boolean", description: "list every rotated secret of the stack instead of one" },
    stack: STACK_OPTION,
    table: {
      type: "string",
      value: "<name>",
      description: "the vending function's token table (default: the stack's TokenTableName output)",
    },
    credential: {
      type: "string",
      value: "<name>",
      description: "the vending credential name of this secret (default: found in the stack's outputs)",
    },
    "stuck-after-minutes": STUCK_AFTER_MINUTES_OPTION,
  },
  examples: [
    "status --secret-id genesys/reporting --region eu-west-1",
    "status --all --stack GenesysOAuthRotator --region eu-west-1",
    "status --secret-id genesys/reporting --table genesys-tokens --credential reporting --json",
    "status --local --secret-id drill/genesys-app",
  ],
};

/** Validated input of `status`. */
export interface StatusInput {
  /** Absent with `all`. */
  secretId?: string;
  all: boolean;
  stackName: string;
  table?: string;
  credential?: string;
  stuckAfterMs: number;
}

/** Parses and validates `status` flags. */
export function parseStatusInput(values: ParsedValues): StatusInput {
  const all = flag(values, "all");
  const secretId = secretIdOption(values, "secret-id", false);
  if (all && secretId !== undefined) {
    throw new UsageError("--secret-id", "is not allowed with --all (which lists every secret of the stack)");
  }
  if (!all && secretId === undefined) {
    throw new UsageError("--secret-id", "is required (or --all for every rotated secret of the stack)");
  }
  const input: StatusInput = {
    all,
    stackName: stackNameOption(values),
    stuckAfterMs: stuckAfterMsOption(values),
  };
  if (secretId !== undefined) input.secretId = secretId;
  const table = tableNameOption(values, "table");
  const credential = credentialNameOption(values, "credential");
  if (all && (table !== undefined || credential !== undefined)) {
    throw new UsageError(table === undefined ? "--credential" : "--table", "does not apply with --all");
  }
  if (table !== undefined) input.table = table;
  if (credential !== undefined) input.credential = credential;
  return input;
}

/** The token-cache entry of a credential, without the token. */
export interface TokenCacheView {
  table: string;
  credential: string;
  /** False when the table has no entry for the credential (no token was vended yet). */
  present: boolean;
  clientId?: string;
  secretVersionId?: string;
  environment?: string;
  generation?: number;
  issuedAt?: string;
  expiresAt?: string;
  /** Seconds until expiry (negative when expired). */
  expiresInSeconds?: number;
  lease?: { owner: string; until: string; active: boolean };
}

/** What `status` found. */
export interface StatusReport {
  secret: SecretState;
  tokenCache?: TokenCacheView;
  /** Why the token cache is not shown, when it was not asked for or cannot be located. */
  tokenCacheNote?: string;
  /** Why reading the token cache failed (one line); everything else in the report is complete. */
  tokenCacheError?: string;
  /** Commands that fix a stuck rotation. */
  fix?: string[];
}

/** One rotated secret of `status --all`: metadata only. */
export interface SecretSummary {
  name: string;
  arn: string;
  rotationEnabled: boolean;
  /** Seconds since the last rotation, or since creation when it never rotated. */
  ageSeconds?: number;
  lastRotatedAt?: string;
  /**
   * What the labels say about the last rotation: `rotated` (finished), `never rotated`, `in progress`
   * (AWSPENDING on its own version, younger than --stuck-after-minutes) or `STUCK` (older: it will not
   * finish on its own). A rotation that failed before storing AWSPENDING leaves no label: see the alarms.
   */
  lastOutcome: "rotated" | "never rotated" | "in progress" | "STUCK";
  nextRotationAt?: string;
  /** NextRotationDate is in the past. */
  overdue: boolean;
  pendingRotation?: PendingRotation;
}

/** What `status --all` found. */
export interface StatusAllReport {
  /** The stack whose secrets are listed (absent in local mode). */
  stack?: string;
  secrets: SecretSummary[];
  /** `recover` commands for the stuck ones. */
  fix?: string[];
}

/** Runs `status` (one secret) or `status --all`. */
export async function runStatus(
  input: StatusInput,
  deps: CliDependencies,
): Promise<StatusReport | StatusAllReport> {
  if (input.all || input.secretId === undefined) return runStatusAll(input, deps);
  const secretId = input.secretId;
  const { state } = await inspectSecret(deps, secretId, { stuckAfterMs: input.stuckAfterMs });
  const report: StatusReport = { secret: state };
  const pending = state.pendingRotation;
  if (pending !== undefined) {
    report.fix = [
      suggestedCommand(deps.target, "recover", { "secret-id": secretId }),
      `or by hand, once AWSCURRENT is known to work: ${removePendingAwsCli(deps.target, secretId, pending.versionId)}`,
    ];
  }

  try {
    const cache = await cacheLocation(input, state, deps);
    if (typeof cache === "string") report.tokenCacheNote = cache;
    else report.tokenCache = await readTokenCache(deps, cache.table, cache.credential);
  } catch (error) {
    report.tokenCacheError = failureReason(error);
  }
  return report;
}

/**
 * Where the secret's cache entry is: flags first, then the local stack file or the deployed stack's
 * outputs. A string says why there is none.
 */
async function cacheLocation(
  input: StatusInput,
  state: SecretState,
  deps: CliDependencies,
): Promise<{ table: string; credential: string } | string> {
  if (deps.target.kind === "local") {
    const local = deps.target.endpoints;
    const table = input.table ?? local.tokenTable;
    const credential = input.credential ?? credentialOfSecret(local.credentials, state.arn);
    if (credential === undefined) return "this secret is not vended by the local stack's vending function";
    return { table, credential };
  }
  if (input.table !== undefined && input.credential !== undefined) {
    return { table: input.table, credential: input.credential };
  }
  const outputs = await readStackOutputs(deps, input.stackName);
  const table = input.table ?? outputs.tokenTable;
  const credential =
    input.credential ??
    (outputs.credentials === undefined ? undefined : credentialOfSecret(outputs.credentials, state.arn));
  if (table === undefined) {
    return `stack ${input.stackName} has no TokenTableName output (deployed by an older version): pass --table`;
  }
  if (credential === undefined) {
    return outputs.credentials === undefined
      ? `stack ${input.stackName} has no TokenVendorCredentials output (deployed by an older version): pass --credential`
      : `this secret is not vended by stack ${input.stackName}'s vending function`;
  }
  return { table, credential };
}

const STACK_NAME_TAG = "aws:cloudformation:stack-name";

async function runStatusAll(input: StatusInput, deps: CliDependencies): Promise<StatusAllReport> {
  const context = { service: "secretsmanager", operation: "ListSecrets", resource: "(all)" } as const;
  const list = async (filters?: { Key: "name"; Values: string[] }[]) => {
    const entries: SecretListEntry[] = [];
    const pages = awsPages(
      deps,
      (nextToken) =>
        deps.secretsManager.send(
          new ListSecretsCommand({ MaxResults: 100, NextToken: nextToken, Filters: filters }),
        ),
      context,
    );
    for await (const page of pages) entries.push(...(page.SecretList ?? []));
    return entries;
  };

  let selected: SecretListEntry[];
  let stack: string | undefined;
  if (deps.target.kind === "local") {
    // The local stack's file names its secrets; the name filter (a prefix) narrows, exact names decide.
    const names = [...new Set(Object.values(deps.target.endpoints.secrets))];
    const found: SecretListEntry[] = [];
    for (let index = 0; index < names.length; index += 10) {
      found.push(...(await list([{ Key: "name", Values: names.slice(index, index + 10) }])));
    }
    selected = found.filter((entry) => entry.Name !== undefined && names.includes(entry.Name));
  } else {
    stack = input.stackName;
    const outputs = await readStackOutputs(deps, stack);
    const rotationFunctionArn = outputs.rotationFunctionArn;
    if (rotationFunctionArn === undefined) {
      throw new CliError(
        `Stack ${stack} has no RotationFunctionArn output (deployed by an older version): redeploy it, or use status --secret-id.`,
      );
    }
    // No ListSecrets filter selects by rotation function: read every page, select here.
    selected = (await list()).filter(
      (entry) =>
        (entry.RotationEnabled === true && entry.RotationLambdaARN === rotationFunctionArn) ||
        (entry.Tags ?? []).some((tag) => tag.Key === STACK_NAME_TAG && tag.Value === stack),
    );
  }

  const secrets: SecretSummary[] = [];
  for (const entry of selected.sort((a, b) => (a.Name ?? "").localeCompare(b.Name ?? ""))) {
    secrets.push(await summarise(deps, entry, input.stuckAfterMs));
  }
  const report: StatusAllReport = { ...(stack === undefined ? {} : { stack }), secrets };
  const stuck = secrets.filter((secret) => secret.lastOutcome === "STUCK");
  if (stuck.length > 0) {
    report.fix = stuck.map((secret) =>
      suggestedCommand(deps.target, "recover", { "secret-id": secret.name }),
    );
  }
  return report;
}

async function summarise(
  deps: CliDependencies,
  entry: SecretListEntry,
  stuckAfterMs: number,
): Promise<SecretSummary> {
  const now = deps.clock.now();
  const name = entry.Name ?? "";
  const stages = Object.entries(entry.SecretVersionsToStages ?? {});
  const holder = (stage: string) => stages.find(([, labels]) => labels.includes(stage))?.[0];
  const current = holder(AWSCURRENT);
  const pending = holder(AWSPENDING);
  const since = entry.LastRotatedDate ?? entry.CreatedDate;
  const summary: SecretSummary = {
    name,
    arn: entry.ARN ?? "",
    rotationEnabled: entry.RotationEnabled === true,
    lastOutcome: entry.LastRotatedDate === undefined ? "never rotated" : "rotated",
    overdue: entry.NextRotationDate !== undefined && entry.NextRotationDate.getTime() < now,
  };
  if (since !== undefined) summary.ageSeconds = Math.max(0, Math.floor((now - since.getTime()) / 1000));
  if (entry.LastRotatedDate !== undefined) summary.lastRotatedAt = entry.LastRotatedDate.toISOString();
  if (entry.NextRotationDate !== undefined) summary.nextRotationAt = entry.NextRotationDate.toISOString();
  if (pending !== undefined && pending !== current) {
    // Only the pending version's creation date is needed: metadata, never a value.
    const createdAt = await pendingCreatedAt(deps, name, pending);
    const ageMs = createdAt === undefined ? undefined : Math.max(0, now - createdAt);
    const stuck = ageMs === undefined || ageMs >= stuckAfterMs;
    summary.pendingRotation = {
      versionId: pending,
      ...(ageMs === undefined ? {} : { ageSeconds: Math.floor(ageMs / 1000) }),
      stuck,
    };
    summary.lastOutcome = stuck ? "STUCK" : "in progress";
  }
  return summary;
}

async function pendingCreatedAt(deps: CliDependencies, secretId: string, versionId: string) {
  const pages = awsPages(
    deps,
    (nextToken) =>
      deps.secretsManager.send(
        new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: 100, NextToken: nextToken }),
      ),
    { service: "secretsmanager", operation: "ListSecretVersionIds", resource: secretId },
  );
  for await (const page of pages) {
    const version = page.Versions?.find((candidate) => candidate.VersionId === versionId);
    if (version !== undefined) return version.CreatedDate?.getTime();
  }
  return undefined;
}

// Everything but accessToken/tokenHash: the token never reaches this process.
const CACHE_ATTRIBUTES = [
  "clientId",
  "secretVersionId",
  "environment",
  "generation",
  "issuedAt",
  "expiresAt",
  "leaseOwner",
  "leaseUntil",
] as const;

async function readTokenCache(
  deps: CliDependencies,
  table: string,
  credential: string,
): Promise<TokenCacheView> {
  const names = Object.fromEntries(CACHE_ATTRIBUTES.map((attribute, index) => [`#a${index}`, attribute]));
  const response = await callAws(
    deps,
    () =>
      deps.dynamodb.send(
        new GetItemCommand({
          TableName: table,
          Key: { pk: { S: credential } },
          ConsistentRead: true,
          ProjectionExpression: Object.keys(names).join(", "),
          ExpressionAttributeNames: names,
        }),
      ),
    { service: "dynamodb", operation: "GetItem", resource: table },
  );
  const item = response.Item;
  const view: TokenCacheView = { table, credential, present: item !== undefined };
  if (item === undefined) return view;
  const now = deps.clock.now();
  const text = (key: string) => item[key]?.S;
  const number = (key: string) => numberOf(item[key]);
  const clientId = text("clientId");
  const secretVersionId = text("secretVersionId");
  const environment = text("environment");
  const generation = number("generation");
  const issuedAt = number("issuedAt");
  const expiresAt = number("expiresAt");
  if (clientId !== undefined) view.clientId = clientId;
  if (secretVersionId !== undefined) view.secretVersionId = secretVersionId;
  if (environment !== undefined) view.environment = environment;
  if (generation !== undefined) view.generation = generation;
  if (issuedAt !== undefined) view.issuedAt = new Date(issuedAt).toISOString();
  if (expiresAt !== undefined) {
    view.expiresAt = new Date(expiresAt).toISOString();
    view.expiresInSeconds = Math.floor((expiresAt - now) / 1000);
  }
  const leaseOwner = text("leaseOwner");
  const leaseUntil = number("leaseUntil");
  if (leaseOwner !== undefined && leaseUntil !== undefined) {
    view.lease = { owner: leaseOwner, until: new Date(leaseUntil).toISOString(), active: leaseUntil > now };
  }
  return view;
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Human-readable `status` (one secret) or `status --all` (a table). */
export function renderStatus(report: StatusReport | StatusAllReport): string {
  if ("secrets" in report) return renderStatusAll(report);
  const { secret } = report;
  const lines = [
    `Secret    ${secret.name}`,
    `ARN       ${secret.arn}`,
    `Rotation  ${secret.rotationEnabled ? "enabled" : "DISABLED"}${secret.schedule === undefined ? "" : ` (${secret.schedule})`}` +
      `${secret.rotationLambdaArn === undefined ? "" : ` by ${secret.rotationLambdaArn}`}`,
    `Last      ${secret.lastRotatedAt ?? "never rotated"}`,
    `Next      ${secret.nextRotationAt ?? (secret.rotationEnabled ? "unknown" : "none scheduled")}`,
    "",
    "Versions (newest first):",
    ...versionTable(secret.versions),
  ];
  const pending = secret.pendingRotation;
  if (pending !== undefined) {
    const age =
      pending.ageSeconds === undefined ? "unknown age" : `${formatDuration(pending.ageSeconds)} old`;
    lines.push("");
    if (pending.stuck) {
      lines.push(
        `STUCK ROTATION: AWSPENDING is on version ${pending.versionId} (${age}), not on AWSCURRENT.`,
      );
      lines.push("Every RotateSecret fails until this is cleared. Fix:");
    } else {
      lines.push(`Rotation in progress: AWSPENDING on version ${pending.versionId} (${age}).`);
      lines.push("If it does not finish within 15 minutes, fix it with:");
    }
    for (const fix of report.fix ?? []) lines.push(`  ${fix}`);
  }
  const emergency = secret.emergency;
  if (emergency !== undefined) {
    const what = `leaked client ${emergency.leaked}, ${emergency.mode}, started ${emergency.started}`;
    lines.push(
      "",
      emergency.phase === "done"
        ? `Last emergency: finished (${what}).`
        : `EMERGENCY IN PROGRESS (${what}): last step done "${emergency.phase}". Run the same \`emergency --secret-id ${secret.name}\` again to continue.`,
    );
  }
  lines.push("", "Token cache:");
  const cache = report.tokenCache;
  if (report.tokenCacheError !== undefined) lines.push(`  unavailable: ${report.tokenCacheError}`);
  else if (cache === undefined) lines.push(`  (${report.tokenCacheNote ?? "not shown"})`);
  else if (!cache.present) lines.push(`  ${cache.table}/${cache.credential}: empty (no token vended yet)`);
  else {
    const expiry =
      cache.expiresAt === undefined
        ? "unknown"
        : `${cache.expiresAt} (${(cache.expiresInSeconds ?? 0) >= 0 ? `in ${formatDuration(cache.expiresInSeconds ?? 0)}` : "EXPIRED"})`;
    lines.push(
      `  entry       ${cache.table}/${cache.credential}`,
      `  client      ${cache.clientId ?? "unknown"}`,
      `  expires     ${expiry}`,
      `  issued      ${cache.issuedAt ?? "unknown"}`,
      `  generation  ${cache.generation ?? "unknown"}`,
      `  from        secret version ${cache.secretVersionId ?? "unknown"}`,
      `  lease       ${cache.lease === undefined ? "none" : `${cache.lease.active ? "held" : "expired"} until ${cache.lease.until}`}`,
    );
  }
  return lines.join("\n");
}

function renderStatusAll(report: StatusAllReport): string {
  const title =
    report.stack === undefined
      ? "Rotated secrets of the local stack:"
      : `Rotated secrets of stack ${report.stack}:`;
  if (report.secrets.length === 0) return `${title}\n  (none found)`;
  const rows = report.secrets.map((secret) => [
    secret.name,
    secret.ageSeconds === undefined ? "unknown" : formatDuration(secret.ageSeconds),
    secret.rotationEnabled ? secret.lastOutcome : `${secret.lastOutcome}, rotation DISABLED`,
    secret.lastRotatedAt ?? "-",
    secret.nextRotationAt === undefined
      ? "-"
      : `${secret.nextRotationAt}${secret.overdue ? " (OVERDUE)" : ""}`,
    secret.pendingRotation === undefined
      ? "-"
      : `${secret.pendingRotation.versionId}${secret.pendingRotation.stuck ? " (STUCK)" : ""}`,
  ]);
  const lines = [
    title,
    ...table(["secret", "age", "last outcome", "last rotated", "next rotation", "AWSPENDING"], rows),
  ];
  if (report.fix !== undefined)
    lines.push("", "Fix the stuck rotations with:", ...report.fix.map((fix) => `  ${fix}`));
  return lines.join("\n");
}

/** Rows under a header, columns padded to their widest cell (the last column unpadded). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: readonly string[]) =>
    `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")}`;
  return [format(header), ...rows.map(format)];
}

function versionTable(versions: readonly VersionView[]): string[] {
  if (versions.length === 0) return ["  (no labelled versions: the secret has no value yet)"];
  const rows = versions.map((version) => {
    const content = version.content;
    const names =
      content.kind === "credential"
        ? `client ${content.clientId}${content.alternateClientId === undefined ? "" : ` (twin ${content.alternateClientId})`}, ${content.strategy}, ${content.environment}`
        : content.kind === "empty"
          ? "(empty: rotation never stored a value)"
          : `(invalid value: ${content.problem})`;
    return [version.versionId, version.stages.join(","), version.createdAt ?? "", names];
  });
  return table(["version", "labels", "created", "names"], rows);
}

/** `90s`, `12m`, `3h 5m`, `2d 4h`. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
