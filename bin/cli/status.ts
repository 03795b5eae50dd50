/**
 * `genesys-rotator status`: versions and labels, the client each label names, last and next rotation,
 * a stuck rotation flagged with the exact fix, and the vending function's token-cache entry (expiry,
 * client, generation, lease) — never a secret or a token. Read-only.
 *
 * The token-cache section is optional: when it cannot be read (no table, no dynamodb:GetItem, DynamoDB
 * unreachable), the section says so in one line and the command still succeeds — the secret's state is
 * what an operator runs `status` for. Only a failure to read the secret fails the command.
 */
import { type AttributeValue, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  type CommandSpec,
  credentialNameOption,
  type ParsedValues,
  ROTATED_SECRET_ID_OPTION,
  secretIdOption,
  tableNameOption,
} from "./args.ts";
import { failureReason, UsageError } from "./errors.ts";
import { type CliDependencies, callAws } from "./runtime.ts";
import {
  inspectSecret,
  removePendingAwsCli,
  type SecretState,
  STUCK_AFTER_MINUTES_OPTION,
  stuckAfterMsOption,
  suggestedCommand,
  type VersionView,
} from "./secret-state.ts";

export const statusSpec: CommandSpec = {
  name: "status",
  summary: "Show a rotated secret's versions, labels, schedule, stuck rotations and token cache.",
  details: [
    "Reads the secret (DescribeSecret, ListSecretVersionIds, GetSecretValue) and prints, per labelled version,",
    "the OAuth client it names - never the client secret. A rotation whose AWSPENDING label sits on a version",
    "other than AWSCURRENT's for longer than --stuck-after-minutes is flagged with the command that fixes it.",
    "With --table and --credential (or --local), also shows the vending function's cached-token entry:",
    "expiry, client, generation and lease (the token itself is never read). When that entry cannot be read,",
    "the section says why and status still exits 0; only a failure to read the secret exits 1.",
  ].join("\n"),
  options: {
    "secret-id": ROTATED_SECRET_ID_OPTION,
    table: {
      type: "string",
      value: "<name>",
      description: "the vending function's token table (TOKEN_TABLE_NAME)",
    },
    credential: {
      type: "string",
      value: "<name>",
      description: "the vending credential name of this secret (a key of the vendor's CREDENTIALS)",
    },
    "stuck-after-minutes": STUCK_AFTER_MINUTES_OPTION,
  },
  examples: [
    "status --secret-id genesys/reporting --region eu-west-1",
    "status --secret-id genesys/reporting --table genesys-tokens --credential reporting --json",
    "status --local --secret-id drill/genesys-app",
  ],
};

/** Validated input of `status`. */
export interface StatusInput {
  secretId: string;
  table?: string;
  credential?: string;
  stuckAfterMs: number;
}

/** Parses and validates `status` flags. */
export function parseStatusInput(values: ParsedValues): StatusInput {
  const input: StatusInput = {
    secretId: secretIdOption(values, "secret-id", true),
    stuckAfterMs: stuckAfterMsOption(values),
  };
  const table = tableNameOption(values, "table");
  const credential = credentialNameOption(values, "credential");
  if (table !== undefined) input.table = table;
  if (credential !== undefined) input.credential = credential;
  if (
    credential !== undefined &&
    table === undefined &&
    values.local !== true &&
    values.endpoints === undefined
  ) {
    throw new UsageError("--credential", "needs --table (the vending function's TOKEN_TABLE_NAME)");
  }
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

/** Runs `status`. */
export async function runStatus(input: StatusInput, deps: CliDependencies): Promise<StatusReport> {
  const { state } = await inspectSecret(deps, input.secretId, { stuckAfterMs: input.stuckAfterMs });
  const report: StatusReport = { secret: state };
  const pending = state.pendingRotation;
  if (pending !== undefined) {
    report.fix = [
      suggestedCommand(deps.target, "recover", { "secret-id": input.secretId }),
      `or by hand, once AWSCURRENT is known to work: ${removePendingAwsCli(deps.target, input.secretId, pending.versionId)}`,
    ];
  }

  const cache = cacheLocation(input, state, deps);
  if (typeof cache === "string") report.tokenCacheNote = cache;
  else {
    try {
      report.tokenCache = await readTokenCache(deps, cache.table, cache.credential);
    } catch (error) {
      report.tokenCacheError = failureReason(error);
    }
  }
  return report;
}

function cacheLocation(
  input: StatusInput,
  state: SecretState,
  deps: CliDependencies,
): { table: string; credential: string } | string {
  const local = deps.target.kind === "local" ? deps.target.endpoints : undefined;
  const table = input.table ?? local?.tokenTable;
  const credential =
    input.credential ??
    (local === undefined
      ? undefined
      : Object.entries(local.credentials).find(([, arn]) => arn === state.arn)?.[0]);
  if (table === undefined) return "pass --table and --credential to show the vending function's token cache";
  if (credential === undefined) {
    return local === undefined
      ? "pass --credential to show the vending function's token cache"
      : "this secret is not vended by the local stack's vending function";
  }
  return { table, credential };
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

/** Human-readable `status`. */
export function renderStatus(report: StatusReport): string {
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
  const header = ["version", "labels", "created", "names"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: readonly string[]) =>
    `  ${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ")}`;
  return [format(header), ...rows.map(format)];
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
