/**
 * The deployment configuration: cdk.json context key `genesys-oauth-rotator`, validated in ONE place.
 *
 * Every problem is reported at once, each naming its key path and the rule, e.g.
 * `genesys-oauth-rotator.credentials[1].environment: "foo.example" is not a known Genesys Cloud domain; add it
 * to extraEnvironments to allow it`. Nothing here is secret: client secrets never appear in cdk.json (they are
 * seeded into Secrets Manager after the first deploy, see docs/deploy.md).
 */

import { GENESYS_ENVIRONMENTS } from "../lambda/shared/genesys/environments.ts";
import type { GenesysProfile } from "../lambda/shared/genesys/profile.ts";
import { DEFAULT_MIN_ROTATION_GAP_SECONDS } from "../lambda/shared/rotation-gap.ts";
import { defaultRule, schemaProblems } from "../lambda/shared/schema-issues.ts";
import type { Strategy } from "../lambda/shared/secret-value.ts";
import { CONTEXT_KEY, IssueCollector, inWalkOrder, RotatorConfigError } from "./config-issues.ts";
import {
  type LOG_RETENTION_DAYS,
  MAX_PROPAGATION_TIMEOUT_SECONDS,
  rotatorContextSchema,
} from "./config-schema.ts";
import { profiledPropagationTimeout, readProfileConfig } from "./genesys-profile-config.ts";

export { CONTEXT_KEY, type ConfigIssue, RotatorConfigError } from "./config-issues.ts";

/** One rotated credential that consumers get tokens for (a Genesys OAuth client, or a pair of them). */
export interface CredentialConfig {
  /**
   * Also the vending function's alias consumers of this credential invoke (`<function>:<name>`), so it
   * may not be all digits nor `cache-warming`. The first credential is the default of `grantVend`.
   */
  readonly name: string;
  /** Genesys Cloud environment domain, e.g. `mypurecloud.ie`. */
  readonly environment: string;
  /** `alternating` (two clients, zero downtime, the default) or `single` (one client; needs `admin`). */
  readonly strategy: Strategy;
  /** Rotate an existing secret instead of creating one. @default a new secret is created */
  readonly importSecretArn?: string;
  /** The KMS key of an imported secret, when it is not the AWS managed `aws/secretsmanager` key. */
  readonly importSecretKmsKeyArn?: string;
  /** Name of the entry of `adminCredentials` that regenerates this credential's clients. @default self-managed pair (alternating only) */
  readonly admin?: string;
  /** Genesys integration credential ids (Data Actions) that receive the new client id/secret after each rotation. */
  readonly integrationCredentialIds: readonly string[];
}

/** An admin credential: an alternating, self-managed pair with oauth:client:view+edit, rotated by the same function. */
export interface AdminCredentialConfig {
  readonly name: string;
  readonly environment: string;
  readonly importSecretArn?: string;
  readonly importSecretKmsKeyArn?: string;
}

/** When rotations run. */
export interface ScheduleConfig {
  /** `rate(N days)`, `rate(N hours)` (N ≥ 4) or `cron(0 H D M W *)`, in UTC. @default rate(90 days) */
  readonly expression: string;
  /** Length of the rotation window in hours (Secrets Manager `Duration`). @default Secrets Manager's default window */
  readonly windowHours?: number;
  /** The secret-age alarm fires when a secret has not rotated for this many days. @default interval + max(1, 10%) days; required for cron */
  readonly maxSecretAgeDays: number;
}

/** Fixed public egress addresses (for Genesys OAuth client IP allow-lists). */
export interface StaticEgressConfig {
  /** Elastic IP allocation ids to use for the NAT gateways. @default new Elastic IPs, one per NAT gateway */
  readonly eipAllocationIds: readonly string[];
  /** NAT gateways (= egress addresses). @default the number of `eipAllocationIds`, or 1 */
  readonly natGateways: number;
  /** Availability zones of the VPC. @default 2 */
  readonly maxAzs: number;
}

/** Memory and time settings of the rotation function. */
export interface RotationFunctionConfig {
  /** @default 256 */
  readonly memorySize: number;
  /** How long testSecret waits for a new Genesys secret to be accepted (PROPAGATION_TIMEOUT_SECONDS). @default 60 */
  readonly propagationTimeoutSeconds: number;
  /**
   * MIN_ROTATION_GAP_SECONDS: a rotation refuses to regenerate the client that was AWSCURRENT until less
   * than this long ago (docs/rotation.md, "Minimum gap between rotations"). Must be shorter than a
   * `rate(...)` interval. @default 176400 (48 h, Genesys' longest token lifetime, + 1 h raw-secret cache),
   * or half the interval of a shorter `rate(...)` schedule
   */
  readonly minRotationGapSeconds: number;
}

/** Memory and time settings of the vending function. */
export interface VendingFunctionConfig {
  /** @default 512 (more memory = more CPU = faster cold starts) */
  readonly memorySize: number;
  /** @default 10 */
  readonly timeoutSeconds: number;
  /** LEASE_SECONDS: how long one caller may mint before another takes over. @default the function's default (30) */
  readonly leaseSeconds?: number;
  /**
   * REJECTION_MINT_INTERVAL_SECONDS: shortest time between two mints replacing a reported token that
   * Genesys could not be asked about, per credential. @default the function's default (30)
   */
  readonly rejectionMintSeconds?: number;
}

/** The validated configuration. */
export interface RotatorConfig {
  /** CloudFormation stack name (one stack per Genesys organization is typical). @default GenesysOAuthRotator */
  readonly stackName: string;
  readonly credentials: readonly CredentialConfig[];
  readonly adminCredentials: readonly AdminCredentialConfig[];
  readonly schedule: ScheduleConfig;
  /** E-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
  /** Existing SNS topic for alarms and rotation-failure events (instead of a topic created here). */
  readonly alarmTopicArn?: string;
  /** @default arm64 */
  readonly architecture: "arm64" | "x86_64";
  /** @default none: the functions run outside any VPC */
  readonly staticEgress?: StaticEgressConfig;
  /** Genesys environment domains allowed besides the built-in list (GENESYS_EXTRA_ENVIRONMENTS). @default none */
  readonly extraEnvironments: readonly string[];
  /** Let the rotation function warm the vendor's token cache after each rotation. @default true */
  readonly warmTokenCache: boolean;
  readonly rotationFunction: RotationFunctionConfig;
  readonly vendingFunction: VendingFunctionConfig;
  /** Retention of every log group, in days (a CloudWatch Logs retention value). @default 365 */
  readonly logRetentionDays: number;
  /** Create the CloudWatch dashboard (docs/deploy.md#dashboard). @default true */
  readonly dashboard: boolean;
  /** What `genesys-rotator probe` measured (file path or inline); sizes the propagation timeout, synth warns. @default none */
  readonly genesysProfile?: GenesysProfile;
}

export const DEFAULT_SCHEDULE_EXPRESSION = "rate(90 days)";
export type { LOG_RETENTION_DAYS };

const RATE_PATTERN = /^rate\((\d+) (day|days|hour|hours)\)$/;
const CRON_PATTERN = /^cron\(([^()]+)\)$/;

/**
 * Validates the raw context value and returns the configuration with every default applied.
 * @throws RotatorConfigError listing every problem with its key path.
 */
export function parseRotatorConfig(raw: unknown): RotatorConfig {
  // First every key's type and rule (lib/config-schema.ts), then what depends on other keys.
  const result = rotatorContextSchema.safeParse(raw, { error: defaultRule });
  const reader = new IssueCollector(
    result.success ? [] : schemaProblems(result.error, { root: CONTEXT_KEY, prefixRoot: true }),
  );
  const root = reader.object(raw);
  if (root === undefined) throw new RotatorConfigError(reader.issues);

  const extraEnvironments = parseExtraEnvironments(reader, root.extraEnvironments);
  const known = new Set([...GENESYS_ENVIRONMENTS, ...extraEnvironments]);
  const adminCredentials = reader
    .array(root.adminCredentials)
    .map((entry, index) => parseAdmin(reader, entry, `${CONTEXT_KEY}.adminCredentials[${index}]`, known));
  const credentials = reader
    .array(root.credentials)
    .map((entry, index) =>
      parseCredential(reader, entry, `${CONTEXT_KEY}.credentials[${index}]`, known, adminCredentials),
    );
  checkUniqueNames(reader, credentials, adminCredentials);
  checkUniqueImports(reader, credentials, adminCredentials);

  const schedule = parseSchedule(reader, root.schedule);
  const alarmEmail = reader.string(root.alarmEmail, `${CONTEXT_KEY}.alarmEmail`);
  const alarmTopicArn = reader.string(root.alarmTopicArn, `${CONTEXT_KEY}.alarmTopicArn`);
  if (alarmEmail !== undefined && alarmTopicArn !== undefined) {
    reader.add(
      `${CONTEXT_KEY}.alarmEmail`,
      "set either alarmEmail (a topic is created and the address subscribed) or alarmTopicArn (your topic), not both",
    );
  }
  const architecture = reader.string(root.architecture, `${CONTEXT_KEY}.architecture`) as
    | RotatorConfig["architecture"]
    | undefined;
  const warmTokenCache = reader.boolean(root.warmTokenCache, `${CONTEXT_KEY}.warmTokenCache`) ?? true;
  const dashboard = reader.boolean(root.dashboard, `${CONTEXT_KEY}.dashboard`) ?? true;
  const logRetentionDays = reader.integer(root.logRetentionDays, `${CONTEXT_KEY}.logRetentionDays`) ?? 365;

  const stackName = reader.string(root.stackName, `${CONTEXT_KEY}.stackName`) ?? "GenesysOAuthRotator";
  const profiled = readProfileConfig(root.genesysProfile);
  if (profiled.issue !== undefined) reader.add(`${CONTEXT_KEY}.genesysProfile`, profiled.issue);
  const genesysProfile = profiled.issue === undefined ? profiled.profile : undefined;
  const config: RotatorConfig = {
    stackName,
    credentials,
    adminCredentials,
    schedule,
    architecture: architecture ?? "arm64",
    extraEnvironments,
    warmTokenCache,
    rotationFunction: parseRotationFunction(
      reader,
      root.rotationFunction,
      rateIntervalHours(schedule.expression),
      genesysProfile,
    ),
    vendingFunction: parseVendingFunction(reader, root.vendingFunction),
    logRetentionDays,
    dashboard,
    ...(alarmEmail === undefined ? {} : { alarmEmail }),
    ...(alarmTopicArn === undefined ? {} : { alarmTopicArn }),
    ...optional("staticEgress", parseStaticEgress(reader, root.staticEgress)),
    ...optional("genesysProfile", genesysProfile),
  };
  if (reader.issues.length > 0) throw new RotatorConfigError(inWalkOrder(reader.issues));
  return config;
}

/** Parses a whole credential entry. */
function parseCredential(
  reader: IssueCollector,
  raw: unknown,
  path: string,
  known: ReadonlySet<string>,
  admins: readonly AdminCredentialConfig[],
): CredentialConfig {
  const entry = reader.object(raw) ?? {};
  const name = reader.string(entry.name, `${path}.name`);
  const environment = parseEnvironment(reader, entry.environment, `${path}.environment`, known);
  const strategy = (reader.string(entry.strategy, `${path}.strategy`) ?? "alternating") as Strategy;
  const imported = parseImport(reader, entry, path);
  const admin = reader.string(entry.admin, `${path}.admin`);
  if (admin !== undefined) {
    const target = admins.find((candidate) => candidate.name === admin);
    if (target === undefined) {
      reader.add(
        `${path}.admin`,
        `"${admin}" is not the name of an entry of adminCredentials (${admins.map((a) => `"${a.name}"`).join(", ") || "none defined"})`,
      );
    } else if (environment !== undefined && target.environment !== environment) {
      reader.add(
        `${path}.admin`,
        `admin credential "${admin}" is in environment ${target.environment} but this credential is in ${environment}; an admin can only manage clients of its own organization`,
      );
    }
  } else if (strategy === "single") {
    reader.add(
      `${path}.admin`,
      'is required when strategy is "single": the admin credential regenerates the secret (add one to adminCredentials)',
    );
  }
  const integrationCredentialIds = reader.stringList(
    entry.integrationCredentialIds,
    `${path}.integrationCredentialIds`,
  );
  return {
    name: name ?? "",
    environment: environment ?? "",
    strategy,
    integrationCredentialIds,
    ...imported,
    ...(admin === undefined ? {} : { admin }),
  };
}

function parseAdmin(
  reader: IssueCollector,
  raw: unknown,
  path: string,
  known: ReadonlySet<string>,
): AdminCredentialConfig {
  const entry = reader.object(raw) ?? {};
  const name = reader.string(entry.name, `${path}.name`);
  const environment = parseEnvironment(reader, entry.environment, `${path}.environment`, known);
  return { name: name ?? "", environment: environment ?? "", ...parseImport(reader, entry, path) };
}

function parseImport(
  reader: IssueCollector,
  entry: Record<string, unknown>,
  path: string,
): { importSecretArn?: string; importSecretKmsKeyArn?: string } {
  const importSecretArn = reader.string(entry.importSecretArn, `${path}.importSecretArn`);
  const importSecretKmsKeyArn = reader.string(entry.importSecretKmsKeyArn, `${path}.importSecretKmsKeyArn`);
  if (importSecretKmsKeyArn !== undefined && importSecretArn === undefined) {
    reader.add(
      `${path}.importSecretKmsKeyArn`,
      "is only allowed with importSecretArn (secrets created by this stack use the stack's own key)",
    );
  }
  return {
    ...(importSecretArn === undefined ? {} : { importSecretArn }),
    ...(importSecretKmsKeyArn === undefined ? {} : { importSecretKmsKeyArn }),
  };
}

function parseEnvironment(
  reader: IssueCollector,
  raw: unknown,
  path: string,
  known: ReadonlySet<string>,
): string | undefined {
  const environment = reader.string(raw, path);
  if (environment !== undefined && !known.has(environment)) {
    reader.add(
      path,
      `${JSON.stringify(environment)} is not a known Genesys Cloud domain; add it to extraEnvironments to allow it`,
    );
    return undefined;
  }
  return environment;
}

function parseExtraEnvironments(reader: IssueCollector, raw: unknown): string[] {
  const path = `${CONTEXT_KEY}.extraEnvironments`;
  return reader.array(raw).flatMap((entry, index) => {
    const domain = reader.string(entry, `${path}[${index}]`);
    return domain === undefined ? [] : [domain];
  });
}

function parseSchedule(reader: IssueCollector, raw: unknown): ScheduleConfig {
  const path = `${CONTEXT_KEY}.schedule`;
  const entry = raw === undefined ? {} : (reader.object(raw) ?? {});
  const expression = reader.string(entry.expression, `${path}.expression`) ?? DEFAULT_SCHEDULE_EXPRESSION;
  const intervalHours = scheduleIntervalHours(reader, expression, `${path}.expression`);
  const windowHours = reader.integer(entry.windowHours, `${path}.windowHours`);
  if (windowHours !== undefined && intervalHours !== undefined && windowHours >= intervalHours) {
    reader.add(
      `${path}.windowHours`,
      `must be shorter than the rotation interval (${intervalHours} hours): a window may not run into the next one`,
    );
  }
  let maxSecretAgeDays = reader.integer(entry.maxSecretAgeDays, `${path}.maxSecretAgeDays`);
  if (maxSecretAgeDays === undefined) {
    if (intervalHours !== undefined) {
      const intervalDays = Math.ceil(intervalHours / 24);
      maxSecretAgeDays = intervalDays + Math.max(1, Math.ceil(intervalDays / 10));
    } else if (expression.startsWith("cron(")) {
      reader.add(
        `${path}.maxSecretAgeDays`,
        "is required with a cron(...) expression: the number of days after which a secret that has not rotated raises the secret-age alarm",
      );
    }
  } else if (intervalHours !== undefined && maxSecretAgeDays * 24 <= intervalHours) {
    reader.add(
      `${path}.maxSecretAgeDays`,
      `must be longer than the rotation interval (${intervalHours / 24} days), or the alarm fires before every rotation`,
    );
  }
  return {
    expression,
    maxSecretAgeDays: maxSecretAgeDays ?? 0,
    ...(windowHours === undefined ? {} : { windowHours }),
  };
}

/**
 * Checks a schedule expression against Secrets Manager's rules and returns its interval in hours for
 * `rate(...)` (undefined for `cron(...)`, whose interval is not a single number).
 */
function scheduleIntervalHours(reader: IssueCollector, expression: string, path: string): number | undefined {
  const rate = RATE_PATTERN.exec(expression);
  if (rate !== null) {
    const amount = Number(rate[1]);
    const unit = rate[2] ?? "";
    const hours = unit.startsWith("day") ? amount * 24 : amount;
    if ((amount === 1) !== (unit === "day" || unit === "hour")) {
      reader.add(
        path,
        `use "${amount === 1 ? unit.replace(/s$/, "") : `${unit}s`}" with ${amount}: e.g. rate(1 day), rate(90 days)`,
      );
    } else if (hours < 4 || hours > 1000 * 24) {
      reader.add(path, "must rotate at most every 4 hours and at least every 1000 days");
    } else {
      return hours;
    }
    return undefined;
  }
  const cron = CRON_PATTERN.exec(expression);
  if (cron !== null) {
    const fields = (cron[1] ?? "").trim().split(/\s+/);
    const [minutes, , dayOfMonth, , dayOfWeek, year] = fields;
    if (fields.length !== 6) {
      reader.add(
        path,
        "a cron expression has 6 fields: cron(minutes hours day-of-month month day-of-week year)",
      );
    } else if (minutes !== "0" || year !== "*") {
      reader.add(
        path,
        'Secrets Manager requires minutes "0" and year "*" in a cron expression, e.g. cron(0 14 ? 1/3 TUE#2 *)',
      );
    } else if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
      reader.add(
        path,
        'exactly one of day-of-month and day-of-week must be "?", e.g. cron(0 14 ? 1/3 TUE#2 *)',
      );
    }
    return undefined;
  }
  reader.add(path, `must be rate(N days), rate(N hours) or cron(...), e.g. "${DEFAULT_SCHEDULE_EXPRESSION}"`);
  return undefined;
}

function parseStaticEgress(reader: IssueCollector, raw: unknown): StaticEgressConfig | undefined {
  const path = `${CONTEXT_KEY}.staticEgress`;
  if (raw === undefined || raw === false) return undefined;
  const entry = raw === true ? {} : (reader.object(raw) ?? {});
  const eipAllocationIds = reader.stringList(entry.eipAllocationIds, `${path}.eipAllocationIds`);
  const maxAzs = reader.integer(entry.maxAzs, `${path}.maxAzs`) ?? 2;
  let natGateways = reader.integer(entry.natGateways, `${path}.natGateways`);
  if (natGateways !== undefined && natGateways > maxAzs) {
    reader.add(
      `${path}.natGateways`,
      `${natGateways} is invalid: must be a whole number from 1 to ${maxAzs}`,
    );
    natGateways = undefined;
  }
  natGateways ??= Math.max(1, Math.min(eipAllocationIds.length, maxAzs));
  if (eipAllocationIds.length > 0 && eipAllocationIds.length !== natGateways) {
    reader.add(
      `${path}.eipAllocationIds`,
      `must list exactly one allocation id per NAT gateway (natGateways is ${natGateways}, ${eipAllocationIds.length} given)`,
    );
  }
  return { eipAllocationIds, natGateways, maxAzs };
}

/** The interval of a valid `rate(...)` expression in hours; undefined for anything else (cron, invalid). */
function rateIntervalHours(expression: string): number | undefined {
  const rate = RATE_PATTERN.exec(expression);
  if (rate === null) return undefined;
  const amount = Number(rate[1]);
  return (rate[2] ?? "").startsWith("day") ? amount * 24 : amount;
}

function parseRotationFunction(
  reader: IssueCollector,
  raw: unknown,
  intervalHours: number | undefined,
  genesysProfile: GenesysProfile | undefined,
): RotationFunctionConfig {
  const path = `${CONTEXT_KEY}.rotationFunction`;
  const entry = raw === undefined ? {} : (reader.object(raw) ?? {});
  const intervalSeconds = intervalHours === undefined ? undefined : intervalHours * 3600;
  const minRotationGapSeconds = reader.integer(entry.minRotationGapSeconds, `${path}.minRotationGapSeconds`);
  if (
    minRotationGapSeconds !== undefined &&
    intervalSeconds !== undefined &&
    minRotationGapSeconds >= intervalSeconds
  ) {
    reader.add(
      `${path}.minRotationGapSeconds`,
      `must be shorter than the rotation interval (${intervalSeconds} s), or every scheduled rotation is refused`,
    );
  }
  return {
    minRotationGapSeconds:
      minRotationGapSeconds ??
      Math.min(
        DEFAULT_MIN_ROTATION_GAP_SECONDS,
        intervalSeconds === undefined ? Number.POSITIVE_INFINITY : Math.floor(intervalSeconds / 2),
      ),
    memorySize: reader.integer(entry.memorySize, `${path}.memorySize`) ?? 256,
    propagationTimeoutSeconds: profiledPropagationTimeout(
      reader.integer(entry.propagationTimeoutSeconds, `${path}.propagationTimeoutSeconds`),
      genesysProfile,
      { seconds: 60, maxSeconds: MAX_PROPAGATION_TIMEOUT_SECONDS },
    ),
  };
}

function parseVendingFunction(reader: IssueCollector, raw: unknown): VendingFunctionConfig {
  const path = `${CONTEXT_KEY}.vendingFunction`;
  const entry = raw === undefined ? {} : (reader.object(raw) ?? {});
  const timeoutSeconds = reader.integer(entry.timeoutSeconds, `${path}.timeoutSeconds`) ?? 10;
  const leaseSeconds = reader.integer(entry.leaseSeconds, `${path}.leaseSeconds`);
  const rejectionMintSeconds = reader.integer(entry.rejectionMintSeconds, `${path}.rejectionMintSeconds`);
  return {
    memorySize: reader.integer(entry.memorySize, `${path}.memorySize`) ?? 512,
    timeoutSeconds,
    ...(leaseSeconds === undefined ? {} : { leaseSeconds }),
    ...(rejectionMintSeconds === undefined ? {} : { rejectionMintSeconds }),
  };
}

function checkUniqueNames(
  reader: IssueCollector,
  credentials: readonly CredentialConfig[],
  admins: readonly AdminCredentialConfig[],
): void {
  // Names map to stack output ids, where case, '-' and '_' are lost: "a-b" and "ab" would collide.
  const seen = new Map<string, string>();
  const entries = [
    ...credentials.map((c, i) => ({ name: c.name, path: `${CONTEXT_KEY}.credentials[${i}].name` })),
    ...admins.map((a, i) => ({ name: a.name, path: `${CONTEXT_KEY}.adminCredentials[${i}].name` })),
  ];
  for (const { name, path } of entries) {
    if (name === "") continue;
    const key = outputIdFragment(name).toLowerCase();
    const previous = seen.get(key);
    if (previous !== undefined) {
      reader.add(
        path,
        `"${name}" clashes with ${previous}: names must be unique across credentials and adminCredentials (ignoring case, '-' and '_')`,
      );
    } else {
      seen.set(key, path);
    }
  }
}

function checkUniqueImports(
  reader: IssueCollector,
  credentials: readonly CredentialConfig[],
  admins: readonly AdminCredentialConfig[],
): void {
  const seen = new Map<string, string>();
  const entries = [
    ...credentials.map((c, i) => ({
      arn: c.importSecretArn,
      path: `${CONTEXT_KEY}.credentials[${i}].importSecretArn`,
    })),
    ...admins.map((a, i) => ({
      arn: a.importSecretArn,
      path: `${CONTEXT_KEY}.adminCredentials[${i}].importSecretArn`,
    })),
  ];
  for (const { arn, path } of entries) {
    if (arn === undefined) continue;
    const previous = seen.get(arn);
    if (previous !== undefined) {
      reader.add(path, `is also imported by ${previous}: a secret can have only one rotation schedule`);
    } else {
      seen.set(arn, path);
    }
  }
}

/** The part of a stack output id derived from a credential name: `reporting-prod` → `ReportingProd`. */
export function outputIdFragment(name: string): string {
  return name
    .split(/[-_]/)
    .filter((part) => part !== "")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
