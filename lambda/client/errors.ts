/**
 * Typed errors of the consumer library. The vending function throws errors with stable names
 * (docs/ARCHITECTURE.md, "Vendor error names"); Lambda hands them back as a `FunctionError` payload
 * `{ errorType, errorMessage }`, and {@link vendorErrorFromPayload} turns that payload into an instance
 * of the class with the same `name`, so consumers can `catch` by class or switch on `error.name`.
 *
 * `ValidationError` and `ConfigurationError` are one class each, whoever found the problem: this
 * library (bad options, `TOKEN_VENDOR_FUNCTION_NAME` unset) or the vendor (`source` tells which). They
 * extend the project's shared classes of the same name (`field`/`rule`, `key`), not `VendorError`.
 */
import {
  RotatorError,
  ConfigurationError as SharedConfigurationError,
  ValidationError as SharedValidationError,
} from "../shared/errors.ts";

/**
 * Who found the problem behind a {@link ValidationError} or {@link ConfigurationError}: this library,
 * before anything was sent (`"client"`), or the vending function (`"vendor"`).
 */
export type ErrorSource = "client" | "vendor";

/**
 * Any failure reported by the vending function itself. Subclasses carry the vendor's error names; an
 * error type this library does not know (a newer vendor, or a Lambda runtime failure such as
 * `Runtime.ExitError`) is a plain `VendorError` whose {@link errorType} says what the vendor reported.
 */
export class VendorError extends RotatorError {
  override readonly name: string = "VendorError";
  readonly retryable: boolean;
  /** The `errorType` the vending function (or the Lambda runtime) reported. */
  readonly errorType: string;

  /**
   * @param errorType the vendor's `errorType`
   * @param vendorMessage the vendor's `errorMessage` (the vendor never puts a token or secret in it)
   * @param retryable whether the same request may succeed later
   */
  constructor(errorType: string, vendorMessage: string, retryable = false) {
    super(vendorFailure(errorType, vendorMessage));
    this.errorType = errorType;
    this.retryable = retryable;
  }
}

/**
 * An input broke a rule: an option this library checks before invoking (`source: "client"`), or the
 * request payload the vendor rejected (`source: "vendor"`: a bad `credential` name format,
 * `minTtlSeconds` out of range…). Not retryable; nothing was changed.
 */
export class ValidationError extends SharedValidationError {
  override readonly name: string = "ValidationError";
  readonly source: ErrorSource;

  constructor(subject: string, field: string, rule: string, source: ErrorSource = "client") {
    super(subject, field, rule);
    this.source = source;
  }

  /** The vendor's `ValidationError`; `field` and `rule` are read from its message when it names them. */
  static fromVendor(vendorMessage: string): ValidationError {
    const named = /^[^\n]*?: field "([^"]*)" (.+)$/s.exec(vendorMessage);
    const error = new ValidationError(
      "token vendor",
      named?.[1] ?? "(payload)",
      named?.[2] ?? "was rejected by the vendor",
      "vendor",
    );
    error.message = vendorFailure("ValidationError", vendorMessage);
    return error;
  }
}

/** The vendor has no credential of the requested name (see its `CREDENTIALS` environment variable). */
export class UnknownCredentialError extends VendorError {
  override readonly name = "UnknownCredentialError";
  constructor(vendorMessage: string) {
    super("UnknownCredentialError", vendorMessage, false);
  }
}

/**
 * The vendor alias this consumer invoked does not grant the credential it asked for (a `credential`
 * option other than the alias's), or the vendor serves several credentials and was invoked without one
 * (set `credential`, or a function name `<function>:<credential>`). Grant with `TokenVendor.grantVend`.
 */
export class CredentialNotGrantedError extends VendorError {
  override readonly name = "CredentialNotGrantedError";
  constructor(vendorMessage: string) {
    super("CredentialNotGrantedError", vendorMessage, false);
  }
}

/** Genesys Cloud rejected every staged secret of the credential (`invalid_client`): an operator must act. */
export class CredentialRejectedError extends VendorError {
  override readonly name = "CredentialRejectedError";
  constructor(vendorMessage: string) {
    super("CredentialRejectedError", vendorMessage, false);
  }
}

/** No valid token was cached and the Genesys token-endpoint rate limit did not clear within the vendor's deadline. */
export class GenesysRateLimitedError extends VendorError {
  override readonly name = "GenesysRateLimitedError";
  constructor(vendorMessage: string) {
    super("GenesysRateLimitedError", vendorMessage, true);
  }
}

/** Transient Genesys or DynamoDB trouble lasted beyond the vendor's deadline. */
export class TokenUnavailableError extends VendorError {
  override readonly name = "TokenUnavailableError";
  constructor(vendorMessage: string) {
    super("TokenUnavailableError", vendorMessage, true);
  }
}

/**
 * A configuration value is missing or invalid: this library's (`TOKEN_VENDOR_FUNCTION_NAME` unset, a bad
 * provider property; `source: "client"`), or the vending function's own environment, table or secrets
 * (`source: "vendor"`). Not retryable: the deployment must be fixed.
 */
export class ConfigurationError extends SharedConfigurationError {
  override readonly name = "ConfigurationError";
  readonly source: ErrorSource;

  constructor(key: string, rule: string, source: ErrorSource = "client") {
    super(key, rule);
    this.source = source;
  }

  /** The vendor's `ConfigurationError`; `key` is read from its message (`KEY: rule`) when it names one. */
  static fromVendor(vendorMessage: string): ConfigurationError {
    const named = /^([A-Za-z0-9_.-]+): (.+)$/s.exec(vendorMessage);
    const error = new ConfigurationError(
      named?.[1] ?? "(token vendor)",
      named?.[2] ?? "the token vendor is misconfigured",
      "vendor",
    );
    error.message = vendorFailure("ConfigurationError", vendorMessage);
    return error;
  }
}

/**
 * The Invoke call did not produce an answer from the vendor: throttled or failing beyond the retry
 * budget, timed out, the function does not exist, or the caller may not invoke it (missing
 * `grantVend`). `retryable` tells the two kinds apart.
 */
export class VendorInvokeError extends RotatorError {
  override readonly name = "VendorInvokeError";
  readonly retryable: boolean;
  /** The AWS SDK error name or network error code behind this failure, e.g. `TooManyRequestsException`. */
  readonly reason: string;

  constructor(functionName: string, reason: string, retryable: boolean, detail: string, cause?: unknown) {
    super(`invoking token vendor "${functionName}" failed (${reason}): ${detail}`, { cause });
    this.reason = reason;
    this.retryable = retryable;
  }
}

/** The vendor answered with a payload that is not a vended token: a vendor/client version mismatch or a bug. */
export class VendorResponseError extends RotatorError {
  override readonly name = "VendorResponseError";
  readonly retryable = false;
  /** The offending field of the response payload. */
  readonly field: string;

  constructor(field: string, rule: string) {
    super(`token vendor response: field "${field}" ${rule}`);
    this.field = field;
  }
}

/**
 * `genesysFetch` was given a URL on another origin than the token's `apiBaseUrl`. The bearer token is
 * only ever sent to the API it was issued for (a `nextUri` or a redirect target elsewhere would receive
 * it otherwise); fetch such URLs without the helper. A caller mistake: not retryable, nothing was sent.
 */
export class ForeignOriginError extends ValidationError {
  override readonly name = "ForeignOriginError";
  /** Origin of the URL the caller passed, e.g. `https://example.com`. */
  readonly origin: string;
  /** Origin of the token's `apiBaseUrl`, the only one that receives the token. */
  readonly apiOrigin: string;

  constructor(origin: string, apiOrigin: string) {
    super(
      "genesysFetch",
      "input",
      `must be a path or a URL on the token's API origin ${apiOrigin} (the token is never sent elsewhere); got ${origin}`,
    );
    this.origin = origin;
    this.apiOrigin = apiOrigin;
  }
}

/** What the notifications helper was doing when a {@link NotificationChannelError} happened. */
export type NotificationOperation = "createChannel" | "connect" | "subscribe" | "unsubscribe";

/**
 * The notifications helper (`genesys-oauth-rotator/client/notifications`) could not create a channel,
 * connect its WebSocket or change its subscriptions: a non-2xx answer of the Notifications API (`status`),
 * a network failure, or a socket that would not open. `retryable` says whether the same call may succeed
 * later; the helper has already retried retryable failures within its `maxAttempts`. The message names
 * the operation and the status, never a token or a channel's connectUri.
 */
export class NotificationChannelError extends RotatorError {
  override readonly name = "NotificationChannelError";
  readonly retryable: boolean;
  readonly operation: NotificationOperation;
  /** HTTP status of the Notifications API answer, when there was one. */
  readonly status: number | undefined;
  /** The answer's `Retry-After`, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    operation: NotificationOperation,
    detail: string,
    retryable: boolean,
    options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(`notification channel: ${operation} failed: ${detail}`, { cause: options.cause });
    this.operation = operation;
    this.retryable = retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The message of an error the vendor reported. */
function vendorFailure(errorType: string, vendorMessage: string): string {
  return `token vendor failed with ${errorType}: ${vendorMessage}`;
}

/** An error the vendor reported on purpose, by its name. */
type VendorReportedError = VendorError | ValidationError | ConfigurationError;

// A Map, not an object literal: an errorType such as "constructor" must not find Object.prototype members.
const KNOWN_VENDOR_ERRORS = new Map<string, (vendorMessage: string) => VendorReportedError>([
  ["ValidationError", (message) => ValidationError.fromVendor(message)],
  ["UnknownCredentialError", (message) => new UnknownCredentialError(message)],
  ["CredentialNotGrantedError", (message) => new CredentialNotGrantedError(message)],
  ["CredentialRejectedError", (message) => new CredentialRejectedError(message)],
  ["GenesysRateLimitedError", (message) => new GenesysRateLimitedError(message)],
  ["TokenUnavailableError", (message) => new TokenUnavailableError(message)],
  ["ConfigurationError", (message) => ConfigurationError.fromVendor(message)],
]);

/**
 * Lambda runtime failures that mean "this container died" (`Runtime.ExitError`, `Runtime.Unknown`…), not
 * "the vendor decided": a vend is a read with compare-and-swap semantics on the vendor side, so repeating
 * it is safe. `Sandbox.Timedout` is not among them: a vendor that ran out of time would likely do so again.
 */
const RETRYABLE_RUNTIME_ERROR = /^Runtime\./;

/**
 * True for a vendor container that crashed (`Runtime.*`): the only vendor-reported
 * failures worth repeating at once. The vendor's own typed errors are final for this call — it already
 * waited and retried within its deadline — even those marked `retryable` (which means "later").
 */
export function isVendorRuntimeFailure(error: unknown): error is VendorError {
  return error instanceof VendorError && RETRYABLE_RUNTIME_ERROR.test(error.errorType);
}

/**
 * Maps a Lambda `FunctionError` payload to a typed error. Unknown or malformed payloads become a
 * {@link VendorError}; the message is taken from the payload only when it is a string.
 */
export function vendorErrorFromPayload(payload: unknown): VendorReportedError {
  const record = typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : {};
  const errorType =
    typeof record.errorType === "string" && record.errorType !== "" ? record.errorType : "Unknown";
  const errorMessage =
    typeof record.errorMessage === "string" ? record.errorMessage : "no error message in the payload";
  const known = KNOWN_VENDOR_ERRORS.get(errorType);
  if (known) return known(errorMessage);
  return new VendorError(errorType, errorMessage, RETRYABLE_RUNTIME_ERROR.test(errorType));
}
