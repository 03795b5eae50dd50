/**
 * What an invocation of the vending function is allowed to ask for, read from the alias it was invoked
 * through (docs/vending.md, "Who may vend which credential"). Lambda gives a synchronous invoke no
 * caller identity; IAM grants each consumer lambda:InvokeFunction on one alias, and the alias (the
 * qualifier of `context.invokedFunctionArn`) decides the credential:
 *
 * - `<function>:<credential>`: that credential's tokens only;
 * - `<function>:cache-warming`: warm payloads only (the rotation function);
 * - unqualified (or `$LATEST`, or a version number): the one credential when exactly one is configured,
 *   else refused. No Lambda context at all (tools and tests calling the handler logic directly) counts
 *   as unqualified.
 */
import { CACHE_WARMING_ALIAS, qualifierOfInvokedArn } from "../shared/vendor-alias.ts";
import type { CredentialConfig } from "./config.ts";
import { CredentialNotGrantedError, UnknownCredentialError } from "./errors.ts";

/** What one invocation may ask for. */
export type InvocationGrant =
  | {
      kind: "credential";
      credential: CredentialConfig;
      /** How the caller addresses this credential, for messages: `<function>:<credential>` or the function. */
      invoked: string;
    }
  | { kind: "cache-warming"; invoked: string };

/**
 * Resolves the grant of an invocation.
 * @param invokedFunctionArn `context.invokedFunctionArn`; undefined = unqualified
 * @param credentials the configured credentials, in order
 * @throws CredentialNotGrantedError for an unqualified invoke of a vendor with several credentials;
 *   UnknownCredentialError for an alias that names no configured credential
 */
export function grantOfInvocation(
  invokedFunctionArn: string | undefined,
  credentials: readonly CredentialConfig[],
): InvocationGrant {
  const functionName = functionNameOf(invokedFunctionArn);
  const qualifier = invokedFunctionArn === undefined ? undefined : qualifierOfInvokedArn(invokedFunctionArn);
  // A version (or $LATEST) is no alias: it grants what an unqualified invoke grants.
  if (qualifier === undefined || qualifier === "$LATEST" || /^[0-9]+$/.test(qualifier)) {
    const only = credentials.length === 1 ? credentials[0] : undefined;
    if (only !== undefined) return { kind: "credential", credential: only, invoked: functionName };
    throw new CredentialNotGrantedError(
      "(qualifier)",
      `is missing: this vendor serves ${credentials.length} credentials, so an invoke must name one; invoke ${functionName}:<credential> (the alias you are granted), e.g. ${functionName}:${credentials[0]?.name ?? "<credential>"}`,
    );
  }
  if (qualifier === CACHE_WARMING_ALIAS)
    return { kind: "cache-warming", invoked: `${functionName}:${qualifier}` };
  const credential = credentials.find((candidate) => candidate.name === qualifier);
  if (credential === undefined) {
    throw new UnknownCredentialError(
      `credential "${qualifier}" (the invoked alias)`,
      credentials.map((candidate) => candidate.name),
    );
  }
  return { kind: "credential", credential, invoked: `${functionName}:${qualifier}` };
}

/** The function name of an invoked ARN, for messages; a placeholder when there is none. */
function functionNameOf(invokedFunctionArn: string | undefined): string {
  if (invokedFunctionArn === undefined) return "<function>";
  return /:function:([^:]+)/.exec(invokedFunctionArn)?.[1] ?? "<function>";
}
