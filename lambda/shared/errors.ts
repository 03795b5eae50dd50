/**
 * The base of every error this project throws on purpose. Each subclass has a stable `name` that
 * callers (and the consumer library, across the Lambda boundary) can switch on, a message a human can
 * act on, and a `retryable` flag. Messages never contain a secret, a client secret or a token.
 */
export abstract class RotatorError extends Error {
  /** True when the same call may succeed if repeated later (throttling, 5xx, timeouts, propagation lag). */
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Subclasses set `override readonly name = "..."` so the name survives minification.
  }
}

/** A configuration value (environment variable, context key) is missing or invalid. Fatal. */
export class ConfigurationError extends RotatorError {
  override readonly name = "ConfigurationError";
  readonly retryable = false;
  /** The configuration key at fault, e.g. `TOKEN_TABLE_NAME`. */
  readonly key: string;
  /**
   * The rule the value broke, e.g. `must be a whole number of seconds from 1 to 900` (the message is
   * `<key>: <rule>`); kept so that a caller re-keying the error never has to take the message apart.
   */
  readonly rule: string;

  constructor(key: string, rule: string) {
    super(`${key}: ${rule}`);
    this.key = key;
    this.rule = rule;
  }
}

/** An input (event, payload) violates its schema. Fatal; nothing was changed. */
export class ValidationError extends RotatorError {
  override readonly name: string = "ValidationError";
  readonly retryable = false;
  /** Dotted path of the offending field, e.g. `Step` or `alternateClientId`. */
  readonly field: string;
  /** The rule the field broke, e.g. `must be one of createSecret, setSecret, testSecret, finishSecret`. */
  readonly rule: string;

  constructor(subject: string, field: string, rule: string) {
    super(`${subject}: field "${field}" ${rule}`);
    this.field = field;
    this.rule = rule;
  }
}

/** Returns a log-safe description of any thrown value: its name and message, never its properties. */
export function describeError(error: unknown): {
  errorName: string;
  errorMessage: string;
  retryable?: boolean;
} {
  if (error instanceof RotatorError) {
    return { errorName: error.name, errorMessage: error.message, retryable: error.retryable };
  }
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message };
  return { errorName: "NonError", errorMessage: typeof error };
}
