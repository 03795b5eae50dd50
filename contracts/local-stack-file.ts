/**
 * `.local-stack.json`: the contract between the local stack (`npm run local-stack`, local/cli-stack/,
 * which writes it) and the operator CLI (`--local`, bin/cli/, which reads it). The file holds endpoints,
 * resource names and the stand-ins' dummy AWS settings — never a secret — and is validated on read so a
 * stale or hand-edited file fails with the field at fault instead of a confusing connection error.
 *
 * It lives in neither side's folder so that neither imports the other: bin/ never imports local/ (the
 * CLI must not depend on the stand-ins), and the local stack never imports bin/ (docs/ARCHITECTURE.md,
 * "Layering").
 *
 * The AWS settings (region, dummy credentials) come from the stack rather than from the CLI because
 * DynamoDB Local keeps one database per access key id and region: the CLI sees the vending function's
 * token table only when it signs exactly as the stack's handlers do.
 */
import { ValidationError } from "../lambda/shared/errors.ts";

/** The default file name, in the current directory. */
export const LOCAL_STACK_FILE = ".local-stack.json";

/** Format version of the file the CLI reads and `npm run local-stack` writes. */
export const LOCAL_STACK_FILE_VERSION = 2;

/** What a running local stack publishes. */
export interface LocalStackEndpoints {
  /** Format version of this file ({@link LOCAL_STACK_FILE_VERSION}; 2 added `awsCredentials`). */
  version: typeof LOCAL_STACK_FILE_VERSION;
  /** Region of the emulated services (and of the ARNs they return); the CLI's clients use it. */
  region: string;
  /**
   * The dummy credentials the stack's own clients and handlers sign with (not a secret: the stand-ins
   * accept any, and they are never valid on AWS). The CLI signs with the same, see the module comment.
   */
  awsCredentials: { accessKeyId: string; secretAccessKey: string };
  /** Secrets Manager emulator URL. */
  secretsManager: string;
  /** Lambda Invoke emulator URL. */
  lambda: string;
  /** DynamoDB Local (or dynalite) URL. */
  dynamodb: string;
  /** Genesys Cloud emulator URL (becomes GENESYS_ENDPOINT_OVERRIDE). */
  genesys: string;
  /** The vending function's name in the Lambda emulator. */
  vendingFunction: string;
  /** The vending function's token table. */
  tokenTable: string;
  /** The vending function's `CREDENTIALS`: credential name → secret ARN. */
  credentials: Record<string, string>;
  /** Names of the secrets the stack created, by role (e.g. `admin`, `app`). */
  secrets: Record<string, string>;
  /** Process id of the stack, so a stale file can be recognised. */
  pid: number;
}

const LOOPBACK_URL = /^http:\/\/127\.0\.0\.1:\d{1,5}$/;
const URL_FIELDS = ["secretsManager", "lambda", "dynamodb", "genesys"] as const;
const NAME_FIELDS = ["region", "vendingFunction", "tokenTable"] as const;
const AWS_CREDENTIAL_FIELDS = ["accessKeyId", "secretAccessKey"] as const;

/** A `.local-stack.json` breaks the format: names the file, the field and the rule (never a value). */
export class LocalStackFileError extends ValidationError {
  override readonly name = "LocalStackFileError";
}

/**
 * Validates a parsed endpoints object; `where` names it in errors.
 * @throws LocalStackFileError naming the field and the rule (with the command that rewrites the file).
 */
export function validateLocalStackEndpoints(value: unknown, where: string): LocalStackEndpoints {
  const fail = (field: string, rule: string) => new LocalStackFileError(where, field, rule);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw fail("(file)", "must be a JSON object");
  const fields = value as Record<string, unknown>;
  if (fields.version !== LOCAL_STACK_FILE_VERSION) {
    throw fail(
      "version",
      `must be ${LOCAL_STACK_FILE_VERSION}: restart \`npm run local-stack\` to rewrite the file for this version`,
    );
  }
  for (const key of URL_FIELDS) {
    const url = fields[key];
    // Only loopback: --local must never send even dummy credentials anywhere else.
    if (typeof url !== "string" || !LOOPBACK_URL.test(url))
      throw fail(key, "must be http://127.0.0.1:<port>");
  }
  for (const key of NAME_FIELDS) {
    if (typeof fields[key] !== "string" || fields[key] === "") throw fail(key, "must be a non-empty string");
  }
  const credentials = fields.awsCredentials as Record<string, unknown> | null | undefined;
  if (
    typeof credentials !== "object" ||
    credentials === null ||
    Array.isArray(credentials) ||
    !AWS_CREDENTIAL_FIELDS.every((key) => typeof credentials[key] === "string" && credentials[key] !== "")
  ) {
    throw fail("awsCredentials", "must be an object with non-empty accessKeyId and secretAccessKey");
  }
  for (const key of ["credentials", "secrets"] as const) {
    const map = fields[key];
    if (typeof map !== "object" || map === null || Array.isArray(map))
      throw fail(key, "must be an object of strings");
    if (!Object.values(map).every((entry) => typeof entry === "string"))
      throw fail(key, "must be an object of strings");
  }
  if (!Number.isSafeInteger(fields.pid)) throw fail("pid", "must be an integer");
  return value as LocalStackEndpoints;
}
