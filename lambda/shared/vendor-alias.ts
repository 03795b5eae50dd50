/**
 * The token vendor's Lambda aliases (docs/vending.md, "Who may vend which credential"): one alias per
 * vended credential, named after it, plus the `cache-warming` alias only the rotation function may
 * invoke. Lambda gives a synchronous invoke no caller identity, so the alias a consumer is allowed to
 * invoke (IAM) is what decides which credential it gets.
 *
 * Shared by the CDK constructs (lib/), the vending function, the rotation function and the consumer
 * library, so that all of them agree on the names and on how a qualifier is read.
 */

/** The alias the rotation function invokes for cache warming; no credential may have this name. */
export const CACHE_WARMING_ALIAS = "cache-warming";

/**
 * The credential name rule, the one meaning every layer applies (the CDK configuration and constructs,
 * the vending function's CREDENTIALS, the operator CLI's `--credential`): 1–48 characters of
 * `[A-Za-z0-9_-]`, starting with a letter or digit. A credential name becomes a Lambda alias name
 * (1–128 characters of `[A-Za-z0-9_-]`, no `.`), and also a part of the created secret's name, of
 * construct ids and of stack output ids, hence the 48.
 */
export const CREDENTIAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
/** The longest credential name. */
export const MAX_CREDENTIAL_NAME_LENGTH = 48;
/** The rule of {@link isCredentialNameShape}, as error messages state it. */
export const CREDENTIAL_NAME_RULE = `must be 1-${MAX_CREDENTIAL_NAME_LENGTH} characters of letters, digits, '-' or '_', starting with a letter or digit`;

/**
 * A vended credential name: it is also a Lambda alias name, so it may not be all digits (Lambda alias
 * names cannot be, they would read as versions) nor the reserved {@link CACHE_WARMING_ALIAS}.
 */
export const VENDED_NAME_EXTRA_RULE = `may not be all digits (a Lambda alias name cannot be) nor "${CACHE_WARMING_ALIAS}" (reserved)`;

/**
 * True when `name` has the length and characters of a credential name ({@link CREDENTIAL_NAME_RULE}).
 * Admin credential names need only this; vended ones also {@link isAliasableCredentialName}.
 */
export function isCredentialNameShape(name: string): boolean {
  return CREDENTIAL_NAME_PATTERN.test(name);
}

/** True when `name` can be a vended credential's alias (the length/character rule is {@link isCredentialNameShape}). */
export function isAliasableCredentialName(name: string): boolean {
  return !/^[0-9]+$/.test(name) && name !== CACHE_WARMING_ALIAS;
}

/**
 * The rule a vended credential name breaks ({@link CREDENTIAL_NAME_RULE}, then
 * {@link VENDED_NAME_EXTRA_RULE}), or undefined when `name` is valid.
 */
export function credentialNameProblem(name: string): string | undefined {
  if (!isCredentialNameShape(name)) return CREDENTIAL_NAME_RULE;
  if (!isAliasableCredentialName(name)) return VENDED_NAME_EXTRA_RULE;
  return undefined;
}

/** A Lambda function reference split into the function part and its qualifier (alias or version), if any. */
export interface FunctionReference {
  /** The reference without its qualifier: a name, a partial ARN or an ARN, as given. */
  function: string;
  /** The alias or version after the function name, when the reference carries one. */
  qualifier?: string;
}

/**
 * Splits what Lambda's Invoke accepts as `FunctionName` — `name`, `name:qualifier`,
 * `123456789012:function:name[:qualifier]`, `arn:aws:lambda:<region>:<account>:function:name[:qualifier]`
 * — into the function and its qualifier. A reference of another shape is returned whole, unqualified
 * (Lambda itself rejects it).
 */
export function splitFunctionReference(reference: string): FunctionReference {
  const parts = reference.split(":");
  // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
  const nameIndex = parts[0] === "arn" && parts[5] === "function" ? 6 : parts[1] === "function" ? 2 : 0;
  const qualifier = parts[nameIndex + 1];
  if (parts.length !== nameIndex + 2 || qualifier === undefined || qualifier === "") {
    return { function: reference };
  }
  return { function: parts.slice(0, nameIndex + 1).join(":"), qualifier };
}

/**
 * The qualifier of the invoked ARN a Lambda handler gets as `context.invokedFunctionArn`
 * (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`): the alias or version the caller
 * invoked, or undefined for an unqualified invoke.
 */
export function qualifierOfInvokedArn(invokedFunctionArn: string): string | undefined {
  const match = /:function:[^:]+:([^:]+)$/.exec(invokedFunctionArn);
  return match?.[1];
}
