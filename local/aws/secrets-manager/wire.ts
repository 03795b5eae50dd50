/**
 * Reading awsJson1_1 request members with the service's validation behaviour (AWS model-constraint
 * messages), and writing timestamps the way the protocol does (epoch seconds as JSON numbers).
 */
import { SecretsManagerErrors } from "./errors.ts";

/** A parsed JSON request or response body. */
export type JsonObject = Record<string, unknown>;

/** Epoch milliseconds → awsJson timestamp (epoch seconds, fractional). */
export function epochSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** awsJson uses lowerCamel member names in validation messages (`secretId` for `SecretId`). */
function memberName(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

/** Reads an optional string member with AWS length constraints. */
export function optionalString(
  input: JsonObject,
  member: string,
  length?: { min?: number; max?: number },
): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw SecretsManagerErrors.serialization(`${member} must be a string`);
  }
  if (length?.min !== undefined && value.length < length.min) {
    throw SecretsManagerErrors.constraint(
      `'${value.length > 64 ? `${value.slice(0, 64)}…` : value}'`,
      memberName(member),
      `Member must have length greater than or equal to ${length.min}`,
    );
  }
  if (length?.max !== undefined && value.length > length.max) {
    throw SecretsManagerErrors.constraint(
      "(too long)",
      memberName(member),
      `Member must have length less than or equal to ${length.max}`,
    );
  }
  return value;
}

/** Reads a required string member. */
export function requiredString(
  input: JsonObject,
  member: string,
  length?: { min?: number; max?: number },
): string {
  const value = optionalString(input, member, length);
  if (value === undefined) {
    throw SecretsManagerErrors.constraint("null", memberName(member), "Member must not be null");
  }
  return value;
}

/** Reads an optional boolean member. */
export function optionalBoolean(input: JsonObject, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw SecretsManagerErrors.serialization(`${member} must be a boolean`);
  return value;
}

/** Reads an optional integer member. */
export function optionalInteger(input: JsonObject, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw SecretsManagerErrors.serialization(`${member} must be an integer`);
  }
  return value;
}

/** Reads an optional list of strings. */
export function optionalStringList(input: JsonObject, member: string): string[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw SecretsManagerErrors.serialization(`${member} must be a list of strings`);
  }
  return value as string[];
}

/** Reads an optional structure member. */
export function optionalObject(input: JsonObject, member: string): JsonObject | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw SecretsManagerErrors.serialization(`${member} must be a structure`);
  }
  return value as JsonObject;
}

/** A secret tag as on the wire. */
export interface Tag {
  Key: string;
  Value: string;
}

/** Reads an optional `[{Key, Value}]` list. */
export function optionalTags(input: JsonObject, member: string): Tag[] | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw SecretsManagerErrors.serialization(`${member} must be a list of tags`);
  return value.map((tag: unknown) => {
    const entry = (tag ?? {}) as JsonObject;
    if (typeof entry.Key !== "string" || (entry.Value !== undefined && typeof entry.Value !== "string")) {
      throw SecretsManagerErrors.serialization(`${member} entries must be {Key: string, Value: string}`);
    }
    return { Key: entry.Key, Value: (entry.Value as string | undefined) ?? "" };
  });
}

/** Drops `undefined` members so responses look like the service's (absent, not null). */
export function compact(object: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}
