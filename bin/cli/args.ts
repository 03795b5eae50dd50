/**
 * Command-line parsing for the operator CLI: `node:util` parseArgs plus help text generated from the
 * same option table, and validators whose errors name the flag and the rule (exit code 2).
 */
import { parseArgs } from "node:util";
import { ENVIRONMENT_RULE, isAllowedEnvironment } from "../../lambda/shared/genesys/environments.ts";
import { isSecretArn, isSecretName } from "../../lambda/shared/secret-arn.ts";
import { GENESYS_ID_PATTERN } from "../../lambda/shared/secret-value.ts";
import { credentialNameProblem } from "../../lambda/shared/vendor-alias.ts";
import { UsageError } from "./errors.ts";

/** One flag of a command. */
export interface OptionSpec {
  type: "string" | "boolean";
  /** Placeholder shown in help for string options, e.g. `<id>`. */
  value?: string;
  short?: string;
  /** One line of help. */
  description: string;
}

/** A command's name, help and flags. */
export interface CommandSpec {
  name: string;
  /** One line for the tool's command list. */
  summary: string;
  /** Shown under the usage line: what the command does and what it never does. */
  details: string;
  options: Record<string, OptionSpec>;
  /** Example invocations (without the program name). */
  examples?: readonly string[];
}

/** Flags every command accepts: where AWS is and how to print. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  region: {
    type: "string",
    value: "<region>",
    description: "AWS region (default: the SDK's chain, e.g. AWS_REGION)",
  },
  profile: {
    type: "string",
    value: "<name>",
    description: "AWS shared-config profile (default: the SDK's chain)",
  },
  local: {
    type: "boolean",
    description: "talk to the local stack (`npm run local-stack`) instead of AWS, via .local-stack.json",
  },
  endpoints: {
    type: "string",
    value: "<file>",
    description: "local-stack endpoints file (implies --local; default ./.local-stack.json)",
  },
  json: { type: "boolean", description: "print the result as one JSON object" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

/** Parsed flag values: strings, booleans, or absent. */
export type ParsedValues = Record<string, string | boolean | undefined>;

/**
 * Parses `argv` (the arguments after the command name) against the command's flags plus
 * {@link COMMON_OPTIONS}.
 * @throws UsageError for an unknown flag, a missing value or a positional argument. The argument itself is
 *   not echoed when it is positional: an operator may have pasted a secret by mistake.
 */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedValues {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, option] of Object.entries({ ...spec.options, ...COMMON_OPTIONS })) {
    options[name] =
      option.short === undefined ? { type: option.type } : { type: option.type, short: option.short };
  }
  const valued = new Set(
    Object.entries(options)
      .filter(([, option]) => option.type === "string")
      .map(([name]) => `--${name}`),
  );
  try {
    const { values } = parseArgs({
      args: attachNegativeNumbers(argv, valued),
      options,
      strict: true,
      allowPositionals: false,
    });
    return values as ParsedValues;
  } catch (error) {
    throw usageErrorFromParseArgs(error, spec.name);
  }
}

/** `-3`, `-0.5`, `-.5`, `-1e3`: what a user means as a (negative) number, never a flag. */
const NEGATIVE_NUMBER = /^-\.?\d/;

/**
 * Joins `--flag -3` into `--flag=-3` for flags that take a value. parseArgs reads any argument starting
 * with "-" as another flag, so a negative number would be refused without the rule it breaks; no flag of
 * this CLI looks like a number, so such an argument can only be the value, and the flag's own validator
 * then names the allowed range (e.g. `--stuck-after-minutes must be an integer from 1 to 10080`).
 */
function attachNegativeNumbers(argv: readonly string[], valued: ReadonlySet<string>): string[] {
  const args: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    const next = argv[index + 1];
    if (valued.has(arg) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${arg}=${next}`);
      index++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

function usageErrorFromParseArgs(error: unknown, command: string): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : "";
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    return new UsageError(
      "(arguments)",
      `are not accepted: ${command} takes flags only (--name value); remove the positional argument`,
    );
  }
  const flag = /'(-{1,2}[A-Za-z0-9-]+)/.exec(message)?.[1] ?? "(arguments)";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(flag, `is not an option of ${command}`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("argument missing")) return new UsageError(flag, "needs a value");
    // A flag that takes a value followed by another flag (or by a value starting with "-").
    if (message.includes("ambiguous")) {
      return new UsageError(flag, `needs a value (write ${flag}=<value> for a value that starts with "-")`);
    }
    return new UsageError(flag, "takes no value");
  }
  return new UsageError("(arguments)", "could not be parsed");
}

/** Help text of one command. */
export function commandHelp(program: string, spec: CommandSpec): string {
  const lines = [
    `Usage: ${program} ${spec.name} [options]`,
    "",
    spec.summary,
    "",
    spec.details,
    "",
    "Options:",
  ];
  lines.push(...optionLines(spec.options), "", "Common options:", ...optionLines(COMMON_OPTIONS));
  if (spec.examples !== undefined && spec.examples.length > 0) {
    lines.push("", "Examples:", ...spec.examples.map((example) => `  ${program} ${example}`));
  }
  return lines.join("\n");
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const short = option.short === undefined ? "    " : `-${option.short}, `;
    const value = option.type === "string" ? ` ${option.value ?? "<value>"}` : "";
    return [`  ${short}--${name}${value}`, option.description] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, description]) => `${left.padEnd(width)}${description}`);
}

/** A string flag's value, or undefined when absent. */
export function optionalString(values: ParsedValues, flag: string): string | undefined {
  const value = values[flag];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new UsageError(`--${flag}`, "needs a value");
  if (value.trim() === "") throw new UsageError(`--${flag}`, "must not be empty");
  return value.trim();
}

/** A required string flag's value. */
export function requiredString(values: ParsedValues, flag: string, rule = "is required"): string {
  const value = optionalString(values, flag);
  if (value === undefined) throw new UsageError(`--${flag}`, rule);
  return value;
}

/** A boolean flag (absent = false). */
export function flag(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}

// Lambda: a name, a partial or full ARN, optionally with a version/alias qualifier.
const FUNCTION_NAME =
  /^(arn:aws[-a-z]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9$_-]{1,128})?$/;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** The `--secret-id` flag of the commands that act on an existing rotated credential secret. */
export const ROTATED_SECRET_ID_OPTION: OptionSpec = {
  type: "string",
  value: "<name|arn>",
  description: "the rotated credential secret (required)",
};

/** `--secret-id`-like flags: a secret name or ARN. */
export function secretIdOption(values: ParsedValues, name: string, required: true): string;
export function secretIdOption(values: ParsedValues, name: string, required: false): string | undefined;
export function secretIdOption(values: ParsedValues, name: string, required: boolean): string | undefined {
  const value = required ? requiredString(values, name) : optionalString(values, name);
  if (value !== undefined && !isSecretName(value) && !isSecretArn(value)) {
    throw new UsageError(
      `--${name}`,
      "must be a secret name of [A-Za-z0-9/_+=.@-] (at most 512) or a secret ARN",
    );
  }
  return value;
}

/** An OAuth client id flag. */
export function clientIdOption(values: ParsedValues, name: string, required: true): string;
export function clientIdOption(values: ParsedValues, name: string, required: false): string | undefined;
export function clientIdOption(values: ParsedValues, name: string, required: boolean): string | undefined {
  const value = required ? requiredString(values, name) : optionalString(values, name);
  // The secret schema's rule: an id accepted here can be stored.
  if (value !== undefined && !GENESYS_ID_PATTERN.test(value)) {
    throw new UsageError(`--${name}`, "must be a Genesys OAuth client id (1-128 characters of [A-Za-z0-9-])");
  }
  return value;
}

/** `--environment`: a known Genesys domain (or one listed in GENESYS_EXTRA_ENVIRONMENTS). */
export function environmentOption(values: ParsedValues, name: string): string {
  const value = requiredString(values, name).toLowerCase();
  if (!isAllowedEnvironment(value)) throw new UsageError(`--${name}`, ENVIRONMENT_RULE);
  return value;
}

/** `--function-name`. */
export function functionNameOption(values: ParsedValues, name: string, required: true): string;
export function functionNameOption(values: ParsedValues, name: string, required: false): string | undefined;
export function functionNameOption(
  values: ParsedValues,
  name: string,
  required: boolean,
): string | undefined {
  const value = required ? requiredString(values, name) : optionalString(values, name);
  if (value !== undefined && !FUNCTION_NAME.test(value)) {
    throw new UsageError(`--${name}`, "must be a Lambda function name or ARN");
  }
  return value;
}

/** `--table`. */
export function tableNameOption(values: ParsedValues, name: string): string | undefined {
  const value = optionalString(values, name);
  if (value !== undefined && !TABLE_NAME.test(value)) {
    throw new UsageError(`--${name}`, "must be a DynamoDB table name (3-255 characters of [A-Za-z0-9_.-])");
  }
  return value;
}

/** `--credential`: a vending credential name. */
export function credentialNameOption(values: ParsedValues, name: string): string | undefined {
  const value = optionalString(values, name);
  const problem = value === undefined ? undefined : credentialNameProblem(value);
  if (problem !== undefined) {
    throw new UsageError(`--${name}`, problem);
  }
  return value;
}

/** `--region`. */
export function regionOption(values: ParsedValues): string | undefined {
  const value = optionalString(values, "region");
  if (value !== undefined && !REGION.test(value)) {
    throw new UsageError("--region", "must be an AWS region such as eu-west-1");
  }
  return value;
}

/** An integer flag within [min, max]. */
export function integerOption(
  values: ParsedValues,
  name: string,
  bounds: { min: number; max: number; default: number },
): number {
  const raw = optionalString(values, name);
  if (raw === undefined) return bounds.default;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw new UsageError(`--${name}`, `must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}
