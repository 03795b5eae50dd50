/**
 * The one place where a zod/mini validation failure becomes this project's messages: a key path and the
 * rule, e.g. `warm.secretArn` + `must be a non-empty string (the rotated secret's ARN)`. Schemas word
 * their own rules (`{ error: "…" }`); {@link defaultRule} words the rest. zod's own issue text is never
 * used: it can quote the received value, and values may be secrets.
 */
import type * as z from "zod/mini";

/** One violated rule: where (a key path) and what. */
export interface SchemaProblem {
  /** `a.b[0].c` below the root; the root itself when the issue is about the whole value. */
  readonly path: string;
  readonly rule: string;
}

/**
 * The per-parse error map: the rule of an issue whose schema did not word its own. Pass it as
 * `schema.safeParse(value, { error: defaultRule })`. It never quotes the received value.
 */
export const defaultRule: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${issue.expected}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    case "too_small":
      return `must be at least ${String(issue.minimum)}${sizeUnit(issue.origin)}`;
    case "too_big":
      return `must be at most ${String(issue.maximum)}${sizeUnit(issue.origin)}`;
    case "unrecognized_keys":
      return "is not allowed";
    default:
      return "has an unexpected value";
  }
};

function sizeUnit(origin: string): string {
  if (origin === "string") return " characters";
  if (origin === "array" || origin === "set") return " entries";
  return "";
}

/** `root.a[0].b`: object keys joined with `.`, list indexes in brackets. */
export function joinPath(root: string | undefined, path: readonly PropertyKey[]): string {
  let text = root ?? "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/**
 * Every problem of a failed parse, outermost first: by the depth of the object they were found in, and
 * at one depth unknown keys first (what a hand-written check would look at first), then the schema's
 * order. An unknown key is reported at its own path (`root.key`), one problem per key: a caller
 * validating untrusted input quotes such a path only when it looks like a name (secret-value.ts).
 * @param root the name of the whole value (`genesys-oauth-rotator`, `(body)`, …): the path of an issue about
 *   the whole value, and the prefix of every other path when `prefixRoot` is true.
 */
export function schemaProblems(
  error: z.core.$ZodError,
  options: { root: string; prefixRoot?: boolean },
): SchemaProblem[] {
  const prefix = options.prefixRoot === true ? options.root : undefined;
  const rank = (issue: z.core.$ZodIssue): number =>
    issue.path.length * 2 + (issue.code === "unrecognized_keys" ? 0 : 1);
  // Array.prototype.sort is stable: the schema's order is kept within a rank.
  const ordered = [...error.issues].sort((a, b) => rank(a) - rank(b));
  const seen = new Set<string>();
  const problems = ordered.flatMap((issue): SchemaProblem[] => {
    if (issue.code === "unrecognized_keys") {
      // Never the root's name: an unknown key "" is still a key.
      return issue.keys.map((key) => ({ path: joinPath(prefix, [...issue.path, key]), rule: issue.message }));
    }
    const path = joinPath(prefix, issue.path);
    return [{ path: path === "" ? options.root : path, rule: issue.message }];
  });
  // Two checks of one value may word the same rule (a pattern and an exact test): state it once.
  return problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.rule}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
