/**
 * Structured JSON logs (Powertools for AWS Lambda Logger) with key-based redaction as a second line of
 * defence: code must never log secret material in the first place, but if a value ever reaches the
 * logger under a sensitive key it is replaced before serialisation.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogAttributes } from "@aws-lambda-powertools/logger/types";

/** The logging surface domain code depends on; tests may pass their own. */
export interface Log {
  debug(message: string, ...extra: object[]): void;
  info(message: string, ...extra: object[]): void;
  warn(message: string, ...extra: object[]): void;
  error(message: string, ...extra: object[]): void;
}

/** Keys whose values are never written to a log line, whatever their nesting. */
const SENSITIVE_KEY = /secret|token|password|authorization|credential(s)?value|accessToken/i;

/** Keys that match SENSITIVE_KEY but only ever carry non-secret identifiers. */
const SAFE_KEYS = new Set([
  "clientRequestToken",
  "ClientRequestToken",
  "secretId",
  "SecretId",
  "secretArn",
  "adminSecretArn",
  "secretVersionId",
  "tokenType",
  "tokenExpiresAt",
  "tokenMints",
  "rejectedTokenMatched",
]);

/** JSON replacer that blanks sensitive keys. Exported for tests and for non-Powertools writers. */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key !== "" && SENSITIVE_KEY.test(key) && !SAFE_KEYS.has(key) && value !== undefined && value !== null) {
    return typeof value === "object" ? "[redacted object]" : "[redacted]";
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * Creates a Powertools logger for one component. The level comes from `POWERTOOLS_LOG_LEVEL`
 * (default INFO); local tools set `LOG_LEVEL=SILENT` to keep a terminal readable.
 */
export function createLogger(serviceName: string, persistentKeys: Record<string, string> = {}): Logger {
  return new Logger({
    serviceName,
    persistentKeys,
    jsonReplacerFn: redactingReplacer,
  });
}

/** Adapts a Powertools Logger to the domain's `Log` interface (extras are attribute objects). */
export function asLog(logger: Logger): Log {
  const attributes = (extra: object[]) => extra as LogAttributes[];
  return {
    debug: (message, ...extra) => logger.debug(message, ...attributes(extra)),
    info: (message, ...extra) => logger.info(message, ...attributes(extra)),
    warn: (message, ...extra) => logger.warn(message, ...attributes(extra)),
    error: (message, ...extra) => logger.error(message, ...attributes(extra)),
  };
}

/** `createLogger` adapted to `Log`: what handlers pass to domain code. */
export function createLog(serviceName: string, persistentKeys: Record<string, string> = {}): Log {
  return asLog(createLogger(serviceName, persistentKeys));
}

/** What Powertools' `Logger.addContext` takes: the Lambda context of an invocation. */
type LambdaContext = Parameters<Logger["addContext"]>[0];

/** A handler's logger: {@link Log} for domain code, plus the invocation's Lambda context on every line. */
export interface HandlerLog {
  log: Log;
  /**
   * Called first in each invocation: every following line carries `function_request_id`, `cold_start`
   * (true on the container's first invocation only), `function_name`, `function_arn` and
   * `function_memory_size` (Powertools `Logger.addContext`). Ignores a missing context (direct calls from
   * tools and tests) or one without a request id.
   */
  addContext(context: unknown): void;
}

/** `createLogger` for a Lambda handler (see {@link HandlerLog}). */
export function createHandlerLog(serviceName: string): HandlerLog {
  const logger = createLogger(serviceName);
  return {
    log: asLog(logger),
    addContext(context) {
      if (typeof (context as { awsRequestId?: unknown } | undefined)?.awsRequestId === "string") {
        logger.addContext(context as LambdaContext);
      }
    },
  };
}
