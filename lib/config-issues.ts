/**
 * The problems of a cdk.json configuration (lib/config.ts): how they are collected while the raw JSON
 * is read, the order they are listed in, and the error that carries them.
 */
import { ConfigurationError } from "../lambda/shared/errors.ts";

/** The cdk.json context key holding the whole configuration. */
export const CONTEXT_KEY = "genesys-oauth-rotator";

/** One violated rule. */
export interface ConfigIssue {
  /** Full key path, e.g. `genesys-oauth-rotator.credentials[1].environment`. */
  readonly path: string;
  readonly rule: string;
}

/** The configuration breaks one or more rules; the message lists every one of them. */
export class RotatorConfigError extends ConfigurationError {
  // The name stays "ConfigurationError": callers switch on the kind, `issues` carries the details.
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const first = issues[0] ?? { path: CONTEXT_KEY, rule: "is invalid" };
    super(first.path, first.rule);
    this.issues = issues;
    if (issues.length > 1) {
      this.message = `${issues.length} problems in cdk.json context "${CONTEXT_KEY}":\n${issues
        .map((issue) => `  - ${issue.path}: ${issue.rule}`)
        .join("\n")}`;
    }
  }
}

/**
 * The order problems are listed in: the schema's problems and those of the checks across keys merged, by
 * top-level key in the order below (unknown keys first), then by list index, then by key within an entry
 * (unknown keys first), so that a problem is listed next to the others of its entry.
 */
const WALK_ORDER = [
  "extraEnvironments",
  "adminCredentials",
  "credentials",
  "schedule",
  "alarmEmail",
  "alarmTopicArn",
  "architecture",
  "warmTokenCache",
  "dashboard",
  "logRetentionDays",
  "stackName",
  "rotationFunction",
  "vendingFunction",
  "staticEgress",
];
const ENTRY_ORDER = [
  "name",
  "environment",
  "strategy",
  "importSecretArn",
  "importSecretKmsKeyArn",
  "admin",
  "integrationCredentialIds",
];

export function inWalkOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rankOf = (issue: ConfigIssue): number[] => {
    const match = /^[^.]+\.([A-Za-z0-9_$-]+)(?:\[(\d+)\])?(?:\.([A-Za-z0-9_$-]+))?/.exec(issue.path);
    if (match === null) return [-1];
    const [, top = "", index, field] = match;
    return [
      WALK_ORDER.indexOf(top),
      index === undefined ? -1 : Number(index),
      field === undefined ? -2 : ENTRY_ORDER.indexOf(field),
    ];
  };
  const compare = (a: number[], b: number[]): number => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const difference = (a[i] ?? -1) - (b[i] ?? -1);
      if (difference !== 0) return difference;
    }
    return 0;
  };
  // Array.prototype.sort is stable: within one rank the order found is kept.
  return [...issues].sort((a, b) => compare(rankOf(a), rankOf(b)));
}

/**
 * Reads the values the schema accepted out of the raw JSON (an invalid value reads as absent, so that
 * the checks across keys run on the rest) and records the problems of both passes, each with its path.
 */
export class IssueCollector {
  readonly issues: ConfigIssue[];

  constructor(schemaIssues: readonly ConfigIssue[]) {
    this.issues = [...schemaIssues];
  }

  add(path: string, rule: string): void {
    this.issues.push({ path, rule });
  }

  /** False when the schema found a problem with the value at `path` itself. */
  #accepted(path: string): boolean {
    return !this.issues.some((issue) => issue.path === path);
  }

  object(raw: unknown): Record<string, unknown> | undefined {
    return typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? (raw as Record<string, unknown>)
      : undefined;
  }

  array(raw: unknown): unknown[] {
    return Array.isArray(raw) ? raw : [];
  }

  /** A list of strings; an invalid entry reads as "". */
  stringList(raw: unknown, path: string): string[] {
    return this.array(raw).map((item, index) => this.string(item, `${path}[${index}]`) ?? "");
  }

  string(raw: unknown, path: string): string | undefined {
    return typeof raw === "string" && this.#accepted(path) ? raw : undefined;
  }

  boolean(raw: unknown, path: string): boolean | undefined {
    return typeof raw === "boolean" && this.#accepted(path) ? raw : undefined;
  }

  integer(raw: unknown, path: string): number | undefined {
    return typeof raw === "number" && this.#accepted(path) ? raw : undefined;
  }
}
