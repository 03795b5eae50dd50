/**
 * JSON-object environment variables (the vending function's CREDENTIALS, the rotation function's
 * INTEGRATION_CREDENTIALS and ADMIN_SECRET_ARNS): read in one way, so that each reports a malformed value
 * alike. The value itself is never echoed (it may be long; it is configuration, not a secret, but an
 * excerpt would help nobody).
 */
import { ConfigurationError } from "./errors.ts";

/**
 * Parses the value of the environment variable `name` as a JSON object.
 * @param rule what the variable must hold, e.g. `must be a JSON object {"<name>": "<secret ARN or name>"}`;
 *   the error states it after what went wrong.
 * @throws ConfigurationError (key `name`) when `value` is not JSON, or is JSON but not an object.
 */
export function parseJsonObjectVariable(name: string, value: string, rule: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigurationError(name, `is not valid JSON; ${rule}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(name, rule);
  }
  return parsed as Record<string, unknown>;
}
