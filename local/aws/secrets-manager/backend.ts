/**
 * The state and semantics of the emulated Secrets Manager: secrets, versions and staging labels, and
 * the operations on them (JSON request in, JSON response out, `AwsServiceError` thrown). The HTTP
 * layer (emulator.ts) and the rotation driver (rotation.ts) sit on top; nothing here does I/O or waits.
 *
 * Staging-label invariants, as the real service keeps them:
 * - a label is attached to at most one version of a secret;
 * - whenever AWSCURRENT moves, AWSPREVIOUS moves to the version AWSCURRENT was removed from;
 * - a version without labels is "deprecated": kept, hidden from DescribeSecret and (unless asked)
 *   from ListSecretVersionIds.
 */
import { randomInt, randomUUID } from "node:crypto";
import type { Clock } from "../../../lambda/shared/clock.ts";
import { secretArnResource } from "../../../lambda/shared/secret-arn.ts";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from "../../../lambda/shared/staging-labels.ts";
import { SecretsManagerErrors as Errors } from "./errors.ts";
import type { RotationEventLog } from "./events.ts";
import {
  compact,
  epochSeconds,
  type JsonObject,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  optionalStringList,
  optionalTags,
  requiredString,
  type Tag,
} from "./wire.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const TOKEN_LENGTH = { min: 32, max: 64 } as const;
const SECRET_ID_LENGTH = { min: 1, max: 2048 } as const;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
const ARN_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The rotation schedule as on the wire. */
export interface RotationRules {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

interface SecretVersion {
  versionId: string;
  secretString?: string;
  /** Base64, exactly as on the wire. */
  secretBinary?: string;
  stages: string[];
  createdDate: number;
  lastAccessedDate?: number;
}

interface SecretRecord {
  name: string;
  arn: string;
  description?: string;
  kmsKeyId?: string;
  tags: Tag[];
  createdDate: number;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** Set while the secret is scheduled for deletion. */
  deletedDate?: number;
  /** When a scheduled deletion becomes final. */
  deletionDate?: number;
  /** Undefined until rotation is first configured (DescribeSecret then omits the field). */
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRules;
  lastRotatedDate?: number;
  nextRotationDate?: number;
  /** The token of a rotation CancelRotateSecret stopped; the driver checks it between steps. */
  cancelledRotationToken?: string;
  /** Insertion-ordered. */
  versions: Map<string, SecretVersion>;
}

/** What RotateSecret asks the rotation driver to run. */
export interface RotationPlan {
  secretArn: string;
  lambdaArn: string;
  /** The ClientRequestToken: VersionId of the AWSPENDING version. */
  token: string;
  /** RotateImmediately=false: only testSecret, then the pending version is removed. */
  testOnly: boolean;
}

/** Whether a rotation the driver is running may continue. */
export type RotationStatus = "active" | "abandoned" | "cancelled" | "deleted";

/** What the AWSPENDING version of a test-only rotation (RotateImmediately=false) holds. */
export type TestRotationPendingValue = "currentCopy" | "empty";

/** Construction parameters of the backend. */
export interface BackendOptions {
  clock: Clock;
  region: string;
  accountId: string;
  events: RotationEventLog;
  testRotationPendingValue: TestRotationPendingValue;
}

interface SecretValue {
  secretString?: string;
  secretBinary?: string;
}

/** The emulated service state. One instance per emulator. */
export class SecretsManagerBackend {
  readonly #options: BackendOptions;
  /** By name. */
  readonly #secrets = new Map<string, SecretRecord>();

  constructor(options: BackendOptions) {
    this.#options = options;
  }

  // ----------------------------------------------------------------------------------------------
  // Operations

  /** CreateSecret. A value creates the first version (AWSCURRENT); no value creates a secret without versions. */
  createSecret(input: JsonObject): JsonObject {
    const name = requiredString(input, "Name", { min: 1, max: 512 });
    if (!SECRET_NAME.test(name)) throw Errors.invalidName();
    const token = optionalString(input, "ClientRequestToken", TOKEN_LENGTH) ?? randomUUID();
    const value = readValue(input, false);
    const description = optionalString(input, "Description", { max: 2048 });
    const kmsKeyId = optionalString(input, "KmsKeyId", { max: 2048 });
    const tags = optionalTags(input, "Tags") ?? [];

    const existing = this.#find(name);
    if (existing) {
      if (existing.deletedDate !== undefined) throw Errors.createWhileScheduledForDeletion();
      const version = existing.versions.get(token);
      // Same token and same value: the SDK retried a request that already succeeded.
      if (version && value && sameValue(version, value)) {
        return { ARN: existing.arn, Name: existing.name, VersionId: version.versionId };
      }
      if (version) throw Errors.tokenInUse(token, existing.arn);
      throw Errors.secretExists(name);
    }

    const now = this.#now();
    const secret: SecretRecord = {
      name,
      arn: this.#newArn(name),
      description,
      kmsKeyId,
      tags: mergeTags([], tags),
      createdDate: now,
      lastChangedDate: now,
      versions: new Map(),
    };
    if (value) {
      secret.versions.set(token, { versionId: token, ...value, stages: [AWSCURRENT], createdDate: now });
    }
    this.#secrets.set(name, secret);
    return compact({ ARN: secret.arn, Name: secret.name, VersionId: value ? token : undefined });
  }

  /** DescribeSecret. Works on secrets scheduled for deletion (shows DeletedDate). */
  describeSecret(input: JsonObject): JsonObject {
    return secretMetadata(this.#resolve(input), "VersionIdsToStages");
  }

  /**
   * GetSecretValue by VersionId and/or VersionStage (default AWSCURRENT). A version without a value
   * (the empty AWSPENDING placeholder RotateSecret creates) is "not found", as on AWS.
   */
  getSecretValue(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const versionId = optionalString(input, "VersionId", TOKEN_LENGTH);
    const stage = optionalString(input, "VersionStage", { min: 1, max: 256 });

    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.get(versionId);
      if (!version) throw Errors.noValueForVersionId(versionId);
      if (stage !== undefined && !version.stages.includes(stage)) throw Errors.stageNotOnVersion();
    } else {
      version = holderOf(secret, stage ?? AWSCURRENT);
      if (!version) throw Errors.noValueForStage(stage ?? AWSCURRENT);
    }
    if (!hasValue(version)) {
      throw versionId !== undefined && stage === undefined
        ? Errors.noValueForVersionId(versionId)
        : Errors.noValueForStage(stage ?? AWSCURRENT);
    }

    // LastAccessedDate has day granularity on AWS.
    const today = Math.floor(this.#now() / DAY_MS) * DAY_MS;
    secret.lastAccessedDate = today;
    version.lastAccessedDate = today;
    return compact({
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      SecretString: version.secretString,
      SecretBinary: version.secretBinary,
      VersionStages: [...version.stages],
      CreatedDate: epochSeconds(version.createdDate),
    });
  }

  /**
   * PutSecretValue. Idempotent per ClientRequestToken: the same token with the same value changes
   * nothing; with a different value it fails. A token naming a version WITHOUT a value (the AWSPENDING
   * placeholder of a rotation) fills that version: this is how createSecret stores the new value.
   * Moving AWSCURRENT to a version other than the pending one while a rotation is pending abandons
   * that rotation (AWSPENDING removed, RotationAbandoned recorded).
   */
  putSecretValue(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const token = optionalString(input, "ClientRequestToken", TOKEN_LENGTH) ?? randomUUID();
    const value = readValue(input, true);
    const stages = readStages(input) ?? [AWSCURRENT];
    // RotationToken (cross-account rotation) is accepted and not checked.
    optionalString(input, "RotationToken", { min: 36, max: 256 });

    let version = secret.versions.get(token);
    if (version && hasValue(version)) {
      if (sameValue(version, value)) {
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: version.versionId,
          VersionStages: [...version.stages],
        };
      }
      throw Errors.tokenInUse(token, secret.arn);
    }
    const now = this.#now();
    if (version) {
      Object.assign(version, value);
    } else {
      version = { versionId: token, ...value, stages: [], createdDate: now };
      secret.versions.set(token, version);
      // The first value of a secret is always current, whatever VersionStages says.
      if (!holderOf(secret, AWSCURRENT) && !stages.includes(AWSCURRENT)) stages.push(AWSCURRENT);
    }

    if (stages.includes(AWSCURRENT)) this.#abandonPendingRotation(secret, version);
    for (const stage of stages) attachStage(secret, version, stage);
    secret.lastChangedDate = now;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.versionId,
      VersionStages: [...version.stages],
    };
  }

  /**
   * UpdateSecretVersionStage: attach `VersionStage` to MoveToVersionId and/or detach it from
   * RemoveFromVersionId. A label held by another version can only be moved when RemoveFromVersionId
   * names that version. Moving AWSCURRENT moves AWSPREVIOUS to the version it left.
   */
  updateSecretVersionStage(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const stage = requiredString(input, "VersionStage", { min: 1, max: 256 });
    const moveTo = optionalString(input, "MoveToVersionId", TOKEN_LENGTH);
    const removeFrom = optionalString(input, "RemoveFromVersionId", TOKEN_LENGTH);
    if (moveTo === undefined && removeFrom === undefined) throw Errors.moveOrRemoveRequired();

    const target = moveTo === undefined ? undefined : secret.versions.get(moveTo);
    if (moveTo !== undefined && !target) throw Errors.versionNotFound("MoveToVersionId", moveTo);
    const source = removeFrom === undefined ? undefined : secret.versions.get(removeFrom);
    if (removeFrom !== undefined && !source) throw Errors.versionNotFound("RemoveFromVersionId", removeFrom);

    const holder = holderOf(secret, stage);
    if (source && !source.stages.includes(stage))
      throw Errors.stageNotOnRemoveFromVersion(stage, source.versionId);
    if (target && holder && holder !== target && !source) {
      throw Errors.removeFromVersionIdRequired(stage, holder.versionId);
    }
    if (stage === AWSCURRENT && !target) throw Errors.cannotDropCurrent();

    if (target) attachStage(secret, target, stage);
    else if (source) detachStage(source, stage);
    secret.lastChangedDate = this.#now();
    return { ARN: secret.arn, Name: secret.name };
  }

  /**
   * ListSecrets: metadata of every secret (never a value), by CreatedDate (`SortOrder` asc, the default,
   * or desc), secrets scheduled for deletion only with IncludePlannedDeletion. `Filters` as on AWS: filters
   * are ANDed, the values of one filter ORed; each value is a prefix (`name`, `tag-key`, `tag-value`,
   * `primary-region`, `owning-service` case-sensitive, `description` not), `!value` negates, and `all`
   * matches any word of the value against the name, description, tag keys and values (not case-sensitive).
   */
  listSecrets(input: JsonObject): JsonObject {
    const maxResults = optionalInteger(input, "MaxResults") ?? 100;
    if (maxResults < 1 || maxResults > 100) {
      throw Errors.constraint(String(maxResults), "maxResults", "Member must be between 1 and 100");
    }
    const sortOrder = optionalString(input, "SortOrder", { min: 1, max: 4 }) ?? "asc";
    if (sortOrder !== "asc" && sortOrder !== "desc") {
      throw Errors.constraint(sortOrder, "sortOrder", "Member must satisfy enum value set: [asc, desc]");
    }
    const includePlannedDeletion = optionalBoolean(input, "IncludePlannedDeletion") ?? false;
    const filters = readFilters(input);
    const start = Number.parseInt(optionalString(input, "NextToken") ?? "0", 10);
    if (!Number.isInteger(start) || start < 0) {
      throw Errors.serialization("NextToken is not a token this emulator returned");
    }
    const secrets = [...this.#secrets.values()]
      .filter((secret) => includePlannedDeletion || secret.deletedDate === undefined)
      .filter((secret) => filters.every((filter) => matchesFilter(secret, filter)))
      .sort((a, b) => (sortOrder === "asc" ? a.createdDate - b.createdDate : b.createdDate - a.createdDate));
    const page = secrets.slice(start, start + maxResults);
    return compact({
      SecretList: page.map((secret) => secretMetadata(secret, "SecretVersionsToStages")),
      NextToken: start + maxResults < secrets.length ? String(start + maxResults) : undefined,
    });
  }

  /** ListSecretVersionIds, newest first; deprecated (unlabelled) versions only with IncludeDeprecated. */
  listSecretVersionIds(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const includeDeprecated = optionalBoolean(input, "IncludeDeprecated") ?? false;
    const maxResults = optionalInteger(input, "MaxResults") ?? 100;
    if (maxResults < 1 || maxResults > 100) {
      throw Errors.constraint(String(maxResults), "maxResults", "Member must be between 1 and 100");
    }
    const start = Number.parseInt(optionalString(input, "NextToken") ?? "0", 10);
    if (!Number.isInteger(start) || start < 0) {
      throw Errors.serialization("NextToken is not a token this emulator returned");
    }
    const versions = [...secret.versions.values()]
      .filter((v) => includeDeprecated || v.stages.length > 0)
      .reverse() // insertion order → newest first among equal timestamps
      .sort((a, b) => b.createdDate - a.createdDate);
    const page = versions.slice(start, start + maxResults);
    return compact({
      ARN: secret.arn,
      Name: secret.name,
      Versions: page.map((v) =>
        compact({
          VersionId: v.versionId,
          VersionStages: v.stages.length > 0 ? [...v.stages] : undefined,
          CreatedDate: epochSeconds(v.createdDate),
          LastAccessedDate: optionalSeconds(v.lastAccessedDate),
        }),
      ),
      NextToken: start + maxResults < versions.length ? String(start + maxResults) : undefined,
    });
  }

  /**
   * RotateSecret: stores the configuration, refuses while a previous rotation is pending, and creates
   * the AWSPENDING version keyed by the token (EMPTY for a real rotation; for RotateImmediately=false a
   * copy of AWSCURRENT, or empty, per `testRotationPendingValue`). Returns the plan the driver runs;
   * no plan when the same request is repeated (same token as the pending rotation).
   */
  rotateSecret(input: JsonObject): { output: JsonObject; plan?: RotationPlan } {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const token = optionalString(input, "ClientRequestToken", TOKEN_LENGTH) ?? randomUUID();
    const lambdaArn = optionalString(input, "RotationLambdaARN", { max: 2048 }) ?? secret.rotationLambdaArn;
    const rules = readRotationRules(input);
    const rotateImmediately = optionalBoolean(input, "RotateImmediately") ?? true;
    if (!lambdaArn) throw Errors.noRotationLambda();

    const pending = holderOf(secret, AWSPENDING);
    if (pending && !pending.stages.includes(AWSCURRENT)) {
      // The SDK retrying a RotateSecret that already started this very rotation.
      if (pending.versionId === token)
        return { output: { ARN: secret.arn, Name: secret.name, VersionId: token } };
      throw Errors.previousRotationIncomplete();
    }
    if (secret.versions.has(token)) throw Errors.tokenInUse(token, secret.arn);

    const now = this.#now();
    secret.rotationLambdaArn = lambdaArn;
    if (rules) secret.rotationRules = rules;
    secret.rotationEnabled = true;
    secret.cancelledRotationToken = undefined;
    secret.lastChangedDate = now;

    const version: SecretVersion = { versionId: token, stages: [], createdDate: now };
    const current = holderOf(secret, AWSCURRENT);
    if (!rotateImmediately && this.#options.testRotationPendingValue === "currentCopy" && current) {
      version.secretString = current.secretString;
      version.secretBinary = current.secretBinary;
    }
    secret.versions.set(token, version);
    attachStage(secret, version, AWSPENDING);
    if (!rotateImmediately) secret.nextRotationDate = this.#nextRotation(secret, now);

    return {
      output: { ARN: secret.arn, Name: secret.name, VersionId: token },
      plan: { secretArn: secret.arn, lambdaArn, token, testOnly: !rotateImmediately },
    };
  }

  /**
   * CancelRotateSecret: turns rotation off and stops a rotation in progress before its next step.
   * Labels are left as they are (AWS: "it can leave the VersionStage labels in an unexpected state").
   */
  cancelRotateSecret(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    if (!secret.rotationLambdaArn) throw Errors.cancelWithoutRotation();
    secret.rotationEnabled = false;
    secret.nextRotationDate = undefined;
    const pending = holderOf(secret, AWSPENDING);
    const inProgress = pending && !pending.stages.includes(AWSCURRENT) ? pending.versionId : undefined;
    secret.cancelledRotationToken = inProgress;
    return compact({ ARN: secret.arn, Name: secret.name, VersionId: inProgress });
  }

  /** DeleteSecret with a recovery window (7–30 days, default 30) or ForceDeleteWithoutRecovery. */
  deleteSecret(input: JsonObject): JsonObject {
    const window = optionalInteger(input, "RecoveryWindowInDays");
    const force = optionalBoolean(input, "ForceDeleteWithoutRecovery") ?? false;
    if (window !== undefined && force) throw Errors.forceDeleteWithWindow();
    if (window !== undefined && (window < 7 || window > 30)) throw Errors.recoveryWindowRange();
    const secret = this.#resolve(input);
    const now = this.#now();
    if (force) {
      this.#secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(now) };
    }
    if (secret.deletedDate !== undefined) throw Errors.alreadyMarkedDeleted();
    secret.deletedDate = now;
    secret.deletionDate = now + (window ?? 30) * DAY_MS;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletionDate) };
  }

  /** RestoreSecret: cancels a scheduled deletion. */
  restoreSecret(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    secret.deletedDate = undefined;
    secret.deletionDate = undefined;
    return { ARN: secret.arn, Name: secret.name };
  }

  /** TagResource: adds tags, replacing values of existing keys. */
  tagResource(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const tags = optionalTags(input, "Tags");
    if (!tags) throw Errors.constraint("null", "tags", "Member must not be null");
    secret.tags = mergeTags(secret.tags, tags);
    return {};
  }

  /** UntagResource: removes tags by key. */
  untagResource(input: JsonObject): JsonObject {
    const secret = this.#resolve(input);
    requireNotDeleted(secret);
    const keys = optionalStringList(input, "TagKeys");
    if (!keys) throw Errors.constraint("null", "tagKeys", "Member must not be null");
    secret.tags = secret.tags.filter((tag) => !keys.includes(tag.Key));
    return {};
  }

  // ----------------------------------------------------------------------------------------------
  // Hooks of the rotation driver and of the emulator's test API

  /** The ARN of a secret given by name, full ARN or partial ARN; throws ResourceNotFoundException. */
  arnOf(secretId: string): string {
    return this.#resolveId(secretId).arn;
  }

  /** Whether the driver may run the next step of rotation `token`. */
  rotationStatus(secretArn: string, token: string): RotationStatus {
    const secret = this.#findByArn(secretArn);
    if (!secret || secret.deletedDate !== undefined) return "deleted";
    if (secret.cancelledRotationToken === token) return "cancelled";
    const version = secret.versions.get(token);
    if (!version || !(version.stages.includes(AWSPENDING) || version.stages.includes(AWSCURRENT))) {
      return "abandoned";
    }
    return "active";
  }

  /** True when AWSCURRENT is attached to version `token`. */
  isCurrent(secretArn: string, token: string): boolean {
    return this.#findByArn(secretArn)?.versions.get(token)?.stages.includes(AWSCURRENT) ?? false;
  }

  /**
   * Ends a successful rotation as the service's backend does: AWSPENDING is removed from the new
   * current version (the rotation function's finishSecret does not do it), LastRotatedDate and
   * NextRotationDate are updated.
   */
  completeRotation(secretArn: string, token: string): void {
    const secret = this.#findByArn(secretArn);
    const version = secret?.versions.get(token);
    if (!secret || !version) return;
    detachStage(version, AWSPENDING);
    const now = this.#now();
    secret.lastRotatedDate = now;
    secret.nextRotationDate = this.#nextRotation(secret, now);
  }

  /** Removes the pending version a test-only rotation created ("creates an AWSPENDING version … and then removes it"). */
  discardTestVersion(secretArn: string, token: string): void {
    const secret = this.#findByArn(secretArn);
    const version = secret?.versions.get(token);
    if (secret && version && !version.stages.includes(AWSCURRENT)) secret.versions.delete(token);
  }

  /** The rotation left pending (AWSPENDING not on AWSCURRENT), as a plan to reattempt it. */
  stuckRotation(secretId: string): RotationPlan | undefined {
    const secret = this.#find(secretId) ?? this.#findByArn(secretId);
    if (!secret?.rotationLambdaArn || secret.deletedDate !== undefined) return undefined;
    const pending = holderOf(secret, AWSPENDING);
    if (!pending || pending.stages.includes(AWSCURRENT)) return undefined;
    return {
      secretArn: secret.arn,
      lambdaArn: secret.rotationLambdaArn,
      token: pending.versionId,
      testOnly: false,
    };
  }

  // ----------------------------------------------------------------------------------------------
  // Internals

  #now(): number {
    return this.#options.clock.now();
  }

  #newArn(name: string): string {
    let suffix = "";
    for (let i = 0; i < 6; i++) suffix += ARN_SUFFIX_ALPHABET[randomInt(ARN_SUFFIX_ALPHABET.length)];
    return `arn:aws:secretsmanager:${this.#options.region}:${this.#options.accountId}:secret:${name}-${suffix}`;
  }

  /** Finalises scheduled deletions whose recovery window has passed (lazily, on every lookup). */
  #purgeExpiredDeletions(): void {
    const now = this.#now();
    for (const [name, secret] of this.#secrets) {
      if (secret.deletionDate !== undefined && secret.deletionDate <= now) this.#secrets.delete(name);
    }
  }

  #find(name: string): SecretRecord | undefined {
    this.#purgeExpiredDeletions();
    return this.#secrets.get(name);
  }

  #findByArn(arn: string): SecretRecord | undefined {
    this.#purgeExpiredDeletions();
    for (const secret of this.#secrets.values()) if (secret.arn === arn) return secret;
    return undefined;
  }

  #resolve(input: JsonObject): SecretRecord {
    return this.#resolveId(requiredString(input, "SecretId", SECRET_ID_LENGTH));
  }

  /** Name, full ARN, or partial ARN (the ARN without the `-xxxxxx` suffix). */
  #resolveId(secretId: string): SecretRecord {
    const byName = this.#find(secretId);
    if (byName) return byName;
    const byArn = this.#findByArn(secretId);
    if (byArn) return byArn;
    const partial = secretArnResource(secretId);
    const byPartial = partial === undefined ? undefined : this.#secrets.get(partial);
    if (byPartial?.arn.startsWith(`${secretId}-`)) return byPartial;
    throw Errors.secretNotFound();
  }

  /** A pending rotation is abandoned when AWSCURRENT is about to move to another version by hand. */
  #abandonPendingRotation(secret: SecretRecord, newCurrent: SecretVersion): void {
    const pending = holderOf(secret, AWSPENDING);
    if (!pending || pending === newCurrent || pending.stages.includes(AWSCURRENT)) return;
    detachStage(pending, AWSPENDING);
    this.#options.events.record({
      eventName: "RotationAbandoned",
      secretArn: secret.arn,
      versionId: pending.versionId,
      at: this.#now(),
    });
  }

  #nextRotation(secret: SecretRecord, from: number): number | undefined {
    const interval = rotationInterval(secret.rotationRules);
    return interval === undefined ? undefined : from + interval;
  }
}

const FILTER_KEYS = [
  "description",
  "name",
  "tag-key",
  "tag-value",
  "primary-region",
  "owning-service",
  "all",
] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
const FILTER_VALUE = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;

interface ListFilter {
  key: FilterKey;
  values: string[];
}

/** ListSecrets `Filters`, validated as the service's model does (key enum, 1-10 values, value pattern). */
function readFilters(input: JsonObject): ListFilter[] {
  const raw = input.Filters;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw Errors.serialization("Filters must be a list of filters");
  if (raw.length > 10) {
    throw Errors.constraint(
      `[${raw.length} filters]`,
      "filters",
      "Member must have length less than or equal to 10",
    );
  }
  return raw.map((entry: unknown, index) => {
    const filter = (entry ?? {}) as JsonObject;
    const member = `filters.${index + 1}.member`;
    const key = optionalString(filter, "Key", { min: 1, max: 32 });
    if (key === undefined || !(FILTER_KEYS as readonly string[]).includes(key)) {
      throw Errors.constraint(
        key ?? "null",
        `${member}.key`,
        `Member must satisfy enum value set: [${FILTER_KEYS.join(", ")}]`,
      );
    }
    const values = optionalStringList(filter, "Values") ?? [];
    if (values.length < 1 || values.length > 10) {
      throw Errors.constraint(
        `[${values.length} values]`,
        `${member}.values`,
        "Member must have length between 1 and 10",
      );
    }
    for (const value of values) {
      if (value.length > 512 || !FILTER_VALUE.test(value)) {
        throw Errors.constraint(
          value,
          `${member}.values`,
          "Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$",
        );
      }
    }
    return { key: key as FilterKey, values };
  });
}

/** One filter: any positive value matches (or there is none) and no negated (`!`) value matches. */
function matchesFilter(secret: SecretRecord, filter: ListFilter): boolean {
  const positive = filter.values.filter((value) => !value.startsWith("!"));
  const negated = filter.values.filter((value) => value.startsWith("!")).map((value) => value.slice(1));
  const matches = (value: string) => filterMatches(secret, filter.key, value);
  return (positive.length === 0 || positive.some(matches)) && !negated.some(matches);
}

function filterMatches(secret: SecretRecord, key: FilterKey, value: string): boolean {
  const prefixOf = (candidates: readonly (string | undefined)[], caseSensitive: boolean) =>
    candidates.some((candidate) =>
      candidate === undefined
        ? false
        : caseSensitive
          ? candidate.startsWith(value)
          : candidate.toLowerCase().startsWith(value.toLowerCase()),
    );
  switch (key) {
    case "name":
      return prefixOf([secret.name], true);
    case "description":
      return prefixOf([secret.description], false);
    case "tag-key":
      return prefixOf(
        secret.tags.map((tag) => tag.Key),
        true,
      );
    case "tag-value":
      return prefixOf(
        secret.tags.map((tag) => tag.Value),
        true,
      );
    // The emulator has no replicas and no managing services: these attributes are absent.
    case "primary-region":
    case "owning-service":
      return false;
    case "all": {
      const attributes = [
        secret.name,
        secret.description ?? "",
        ...secret.tags.flatMap((tag) => [tag.Key, tag.Value]),
      ].map((attribute) => attribute.toLowerCase());
      return value
        .toLowerCase()
        .split(/\s+/)
        .filter((word) => word !== "")
        .some((word) => attributes.some((attribute) => attribute.includes(word)));
    }
  }
}

/**
 * A secret's metadata as DescribeSecret and ListSecrets return it; the two differ only in the name of the
 * version-to-stages map (`VersionIdsToStages` vs `SecretVersionsToStages`). Unlabelled versions are left out.
 */
function secretMetadata(
  secret: SecretRecord,
  stagesField: "VersionIdsToStages" | "SecretVersionsToStages",
): JsonObject {
  const versionsToStages = Object.fromEntries(
    [...secret.versions.values()].filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]),
  );
  return compact({
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    RotationEnabled: secret.rotationEnabled,
    RotationLambdaARN: secret.rotationLambdaArn,
    RotationRules: secret.rotationRules,
    LastRotatedDate: optionalSeconds(secret.lastRotatedDate),
    LastChangedDate: epochSeconds(secret.lastChangedDate),
    LastAccessedDate: optionalSeconds(secret.lastAccessedDate),
    DeletedDate: optionalSeconds(secret.deletedDate),
    NextRotationDate: optionalSeconds(secret.nextRotationDate),
    Tags: secret.tags.length > 0 ? secret.tags.map((t) => ({ ...t })) : undefined,
    [stagesField]: Object.keys(versionsToStages).length > 0 ? versionsToStages : undefined,
    CreatedDate: epochSeconds(secret.createdDate),
  });
}

function optionalSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : epochSeconds(ms);
}

function requireNotDeleted(secret: SecretRecord): void {
  if (secret.deletedDate !== undefined) throw Errors.markedForDeletion();
}

function hasValue(version: SecretVersion): boolean {
  return version.secretString !== undefined || version.secretBinary !== undefined;
}

function sameValue(version: SecretVersion, value: SecretValue): boolean {
  return version.secretString === value.secretString && version.secretBinary === value.secretBinary;
}

function holderOf(secret: SecretRecord, stage: string): SecretVersion | undefined {
  for (const version of secret.versions.values()) if (version.stages.includes(stage)) return version;
  return undefined;
}

function detachStage(version: SecretVersion, stage: string): void {
  version.stages = version.stages.filter((s) => s !== stage);
}

/** Attaches `stage` to `version`, taking it from whichever version held it (AWSCURRENT drags AWSPREVIOUS along). */
function attachStage(secret: SecretRecord, version: SecretVersion, stage: string): void {
  const holder = holderOf(secret, stage);
  if (holder === version) return;
  if (holder) detachStage(holder, stage);
  version.stages.push(stage);
  if (stage === AWSCURRENT && holder) {
    for (const other of secret.versions.values()) if (other !== holder) detachStage(other, AWSPREVIOUS);
    if (!holder.stages.includes(AWSPREVIOUS)) holder.stages.push(AWSPREVIOUS);
  }
}

function readValue(input: JsonObject, required: true): SecretValue;
function readValue(input: JsonObject, required: false): SecretValue | undefined;
function readValue(input: JsonObject, required: boolean): SecretValue | undefined {
  const secretString = optionalString(input, "SecretString", { max: 65_536 });
  const secretBinary = optionalString(input, "SecretBinary", { max: 87_384 });
  if (secretString !== undefined && secretBinary !== undefined) throw Errors.bothValues();
  if (secretString === undefined && secretBinary === undefined) {
    if (required) throw Errors.valueRequired();
    return undefined;
  }
  return compact({ secretString, secretBinary }) as SecretValue;
}

function readStages(input: JsonObject): string[] | undefined {
  const stages = optionalStringList(input, "VersionStages");
  if (stages === undefined) return undefined;
  if (stages.length < 1 || stages.length > 20) {
    throw Errors.constraint(
      JSON.stringify(stages),
      "versionStages",
      "Member must have length less than or equal to 20 and greater than or equal to 1",
    );
  }
  for (const stage of stages) {
    if (stage.length < 1 || stage.length > 256) {
      throw Errors.constraint(`'${stage}'`, "versionStages", "Member must have length between 1 and 256");
    }
  }
  return [...new Set(stages)];
}

const RATE = /^rate\((\d+) (hour|hours|day|days)\)$/;
const CRON = /^cron\(.+\)$/;
const DURATION = /^(\d+)h$/;

function readRotationRules(input: JsonObject): RotationRules | undefined {
  const raw = optionalObject(input, "RotationRules");
  if (!raw) return undefined;
  const days = optionalInteger(raw, "AutomaticallyAfterDays");
  const schedule = optionalString(raw, "ScheduleExpression", { min: 1, max: 256 });
  const duration = optionalString(raw, "Duration", { min: 2, max: 3 });
  if (days !== undefined && schedule !== undefined) {
    throw Errors.invalidRotationRules("specify AutomaticallyAfterDays or ScheduleExpression, not both");
  }
  if (days !== undefined && (days < 1 || days > 1000)) {
    throw Errors.invalidRotationRules("AutomaticallyAfterDays must be between 1 and 1000");
  }
  if (schedule !== undefined) {
    const rate = RATE.exec(schedule);
    if (!rate && !CRON.test(schedule)) {
      throw Errors.invalidRotationRules("ScheduleExpression must be rate(<n> hours|days) or cron(...)");
    }
    const hours = rate ? Number(rate[1]) * (rate[2]?.startsWith("hour") ? 1 : 24) : undefined;
    if (hours !== undefined && (hours < 4 || hours > 24_000)) {
      throw Errors.invalidRotationRules("a rate() ScheduleExpression must be between 4 hours and 1000 days");
    }
  }
  if (duration !== undefined) {
    const hours = Number(DURATION.exec(duration)?.[1] ?? Number.NaN);
    if (!(hours >= 1 && hours <= 24)) {
      throw Errors.invalidRotationRules("Duration must be <n>h with n between 1 and 24");
    }
  }
  return compact({
    AutomaticallyAfterDays: days,
    ScheduleExpression: schedule,
    Duration: duration,
  }) as RotationRules;
}

/** Time between rotations, or undefined for cron schedules (their next date is not modelled). */
function rotationInterval(rules: RotationRules | undefined): number | undefined {
  if (!rules) return undefined;
  if (rules.AutomaticallyAfterDays !== undefined) return rules.AutomaticallyAfterDays * DAY_MS;
  const rate = rules.ScheduleExpression === undefined ? null : RATE.exec(rules.ScheduleExpression);
  if (!rate) return undefined;
  return Number(rate[1]) * (rate[2]?.startsWith("hour") ? HOUR_MS : DAY_MS);
}

function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, { ...tag }]));
  for (const tag of added) byKey.set(tag.Key, { ...tag });
  return [...byKey.values()];
}
