/**
 * The operator CLI's failures and how they reach the terminal: one line a human can act on, an exit code
 * (2 = the command line was wrong, 1 = the operation failed), and never a secret or token.
 *
 * AWS SDK errors are translated here, in one place, so every command gives the same advice for missing
 * credentials, missing permissions and unknown resources.
 */
import { VendorError, VendorInvokeError, VendorResponseError } from "../../lambda/client/errors.ts";
import { awsErrorFields } from "../../lambda/shared/aws-errors.ts";
import { describeError, RotatorError, ValidationError } from "../../lambda/shared/errors.ts";
import { GenesysError } from "../../lambda/shared/genesys/errors.ts";

/** Exit code of a command line the CLI could not accept (unknown flag, missing or malformed value). */
export const EXIT_USAGE = 2;
/** Exit code of a command that ran and failed (the CLI's own refusals, and anything not classified below). */
export const EXIT_FAILURE = 1;
/** Exit code of a failed AWS call ({@link AwsCallError}: credentials, permission, not found, throttling, network). */
export const EXIT_AWS = 3;
/** Exit code of a Genesys Cloud failure that reached the CLI as such (`Genesys*Error`). */
export const EXIT_GENESYS = 4;
/** Exit code of an error the token vendor returned, or a failed/garbled vendor invocation (`vend`). */
export const EXIT_VENDOR = 5;

/** The command line is wrong: names the flag and the rule. Exit code 2. */
export class UsageError extends ValidationError {
  override readonly name = "UsageError";

  /**
   * @param flag the offending flag as typed, e.g. `--secret-id` (or `(command)` / `(arguments)`)
   * @param rule what the flag must be, e.g. `is required`
   */
  constructor(flag: string, rule: string) {
    super("genesys-rotator", flag, rule);
    this.message = `${flag} ${rule}`;
  }
}

/** A command ran and could not do what was asked. The message says why and what to do. Exit code 1. */
export class CliError extends RotatorError {
  override readonly name: string = "CliError";
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }
}

/** An AWS call failed; `operation` is the API name (e.g. `DescribeSecret`). */
export class AwsCallError extends CliError {
  override readonly name = "AwsCallError";
  /** The AWS API operation, e.g. `PutSecretValue`. */
  readonly operation: string;
  /** The SDK error's name, e.g. `AccessDeniedException`. */
  readonly awsErrorName: string;

  constructor(operation: string, awsErrorName: string, message: string, cause: unknown, retryable: boolean) {
    super(message, { cause, retryable });
    this.operation = operation;
    this.awsErrorName = awsErrorName;
  }
}

/** What the call was about, for messages: the service's IAM prefix and the resource named by the user. */
export interface AwsCallContext {
  /** IAM service prefix: `secretsmanager`, `lambda`, `dynamodb`, `cloudformation`. */
  service: "secretsmanager" | "lambda" | "dynamodb" | "cloudformation";
  /** API operation, e.g. `GetSecretValue` (also the IAM action name for these three services). */
  operation: string;
  /** The resource as the user named it (secret id, function name, table name). */
  resource: string;
  /** The endpoint when not AWS's own (local mode), for "is it running?" advice. */
  endpoint?: string;
  /** The region the client used, when known. */
  region?: string;
}

const CREDENTIAL_ERRORS = new Set(["CredentialsProviderError", "TokenProviderError"]);
const ACCESS_DENIED = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "KMSAccessDeniedException",
]);
const THROTTLING = new Set(["ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE"]);

const RESOURCE_NOUN: Record<AwsCallContext["service"], string> = {
  secretsmanager: "secret",
  lambda: "function",
  dynamodb: "table",
  cloudformation: "stack",
};

/**
 * Translates an AWS SDK failure into an {@link AwsCallError} with advice. Errors that are already the
 * CLI's own pass through unchanged.
 */
export function toAwsCallError(error: unknown, context: AwsCallContext): RotatorError {
  if (error instanceof RotatorError) return error;
  const fields = awsErrorFields(error);
  const name = fields.name ?? "Error";
  const { code, httpStatusCode: status } = fields;
  const message = fields.message === undefined ? "no message" : oneLine(fields.message);
  const call = `${context.operation} on ${RESOURCE_NOUN[context.service]} "${context.resource}"`;
  const make = (text: string, retryable = false) =>
    new AwsCallError(context.operation, name, text, error, retryable);

  if (CREDENTIAL_ERRORS.has(name)) {
    return make(
      "No AWS credentials found. Pass --profile <name> (after `aws sso login --profile <name>` for SSO), " +
        "or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; or use --local for the local stack.",
    );
  }
  if (name === "Region is missing" || /region is missing/i.test(message)) {
    return make("No AWS region configured: pass --region <region> or set AWS_REGION.");
  }
  if (ACCESS_DENIED.has(name) || status === 403) {
    return make(
      `AWS denied ${call} (${name}): the caller needs ${context.service}:${context.operation} on it` +
        `${context.service === "secretsmanager" ? " (and kms:Decrypt on its KMS key)" : ""}. ` +
        "Check --profile/--region, or ask for the permission.",
    );
  }
  // CloudFormation answers an unknown stack with ValidationError "Stack with id X does not exist".
  const missingStack = context.service === "cloudformation" && /does not exist/i.test(message);
  if (name === "ResourceNotFoundException" || status === 404 || missingStack) {
    const where = context.region === undefined ? "" : ` in region ${context.region}`;
    return make(
      `${capitalise(RESOURCE_NOUN[context.service])} "${context.resource}" not found${where} (${context.operation}). ` +
        "Check the name and --region.",
    );
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    const hint =
      context.endpoint === undefined
        ? "check your network or proxy settings"
        : "is the local stack running? Start it with `npm run local-stack`";
    return make(`Cannot reach ${context.endpoint ?? context.service} for ${call} (${code}): ${hint}.`, true);
  }
  if (THROTTLING.has(name) || status === 429) {
    return make(`AWS throttled ${call} (${name}); try again in a minute.`, true);
  }
  const retryable = status !== undefined && status >= 500;
  return make(`${call} failed: ${name}: ${message}`, retryable);
}

/**
 * The line printed for a failed command and its exit code. Unknown errors are summarised by name and
 * message only (never their properties, which may hold request data).
 */
export function describeFailure(error: unknown): { line: string; exitCode: number } {
  if (error instanceof UsageError) {
    return { line: `error: ${error.message} (see --help)`, exitCode: EXIT_USAGE };
  }
  return { line: `error: ${failureReason(error)}`, exitCode: exitCodeOf(error) };
}

/**
 * The stable exit code of an error's class (docs/cli.md, "Exit codes"). The most specific class wins:
 * an AwsCallError is also a CliError, and a vendor `ValidationError` is a VendorError.
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof AwsCallError) return EXIT_AWS;
  if (error instanceof GenesysError) return EXIT_GENESYS;
  if (
    error instanceof VendorError ||
    error instanceof VendorInvokeError ||
    error instanceof VendorResponseError
  ) {
    return EXIT_VENDOR;
  }
  return EXIT_FAILURE;
}

/** What `--json` prints on stderr for a failed command: the error's name, its one-line message, the exit code. */
export interface JsonFailure {
  error: { name: string; message: string; exitCode: number; retryable?: boolean };
}

/** The `--json` form of a failure: the same message as the text line, never the error's other properties. */
export function jsonFailure(error: unknown): JsonFailure {
  const { errorName, retryable } = describeError(error);
  const message = error instanceof RotatorError ? oneLine(error.message) : failureReason(error);
  return {
    error: {
      name: errorName,
      message,
      exitCode: exitCodeOf(error),
      ...(retryable === undefined ? {} : { retryable }),
    },
  };
}

/**
 * Why an operation failed, as one line (the CLI's own message, else the error's name and message) — for a
 * failure reported inside a result, such as an optional section a command could not read.
 */
export function failureReason(error: unknown): string {
  if (error instanceof RotatorError) return oneLine(error.message);
  const { errorName, errorMessage } = describeError(error);
  return `${errorName}: ${oneLine(errorMessage)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
