/**
 * The errors the token-vending function throws across the Lambda boundary. Lambda reports a thrown
 * error's `name` as `errorType`; the consumer library maps each name to a typed error of the same name
 * (docs/ARCHITECTURE.md, "Vendor error names"). Names are therefore part of the public contract.
 *
 * `ValidationError` (bad payload) and `ConfigurationError` come from lambda/shared/errors.ts.
 */
import { RotatorError } from "../shared/errors.ts";

/** The payload named a credential that this function is not configured with. */
export class UnknownCredentialError extends RotatorError {
  override readonly name = "UnknownCredentialError";
  readonly retryable = false;
  /** The credential names this function knows (configuration, not secrets). */
  readonly knownCredentials: readonly string[];

  constructor(what: string, knownCredentials: readonly string[]) {
    super(`${what} is not configured; known credentials: ${knownCredentials.join(", ")}`);
    this.knownCredentials = knownCredentials;
  }
}

/**
 * The invoked alias does not grant what the payload asks for (docs/vending.md, "Who may vend which
 * credential"): a `credential` other than the alias's, a warm request on a credential alias, a token
 * request on the cache-warming alias, or an unqualified invoke of a vendor with several credentials.
 * The consumer must invoke (and be granted) `<function>:<credential>`. Nothing was minted or read.
 */
export class CredentialNotGrantedError extends RotatorError {
  override readonly name = "CredentialNotGrantedError";
  readonly retryable = false;
  /** The payload field at fault (`credential`, `warm`, or `(qualifier)` for the invoke itself). */
  readonly field: string;

  constructor(field: string, rule: string) {
    super(`field "${field}" ${rule}`);
    this.field = field;
  }
}

/**
 * Every staged version of the credential's secret (AWSCURRENT, AWSPENDING, AWSPREVIOUS) was rejected by
 * the token endpoint with `invalid_client`, or none could be read. An operator must fix the secret.
 */
export class CredentialRejectedError extends RotatorError {
  override readonly name = "CredentialRejectedError";
  readonly retryable = false;

  constructor(credential: string, detail: string, options?: { cause?: unknown }) {
    super(`credential "${credential}": no staged secret version can mint a token (${detail})`, options);
  }
}

/** No valid token exists and the token endpoint kept rate limiting until the caller's deadline. */
export class GenesysRateLimitedError extends RotatorError {
  override readonly name = "GenesysRateLimitedError";
  readonly retryable = true;
  /** The last Retry-After Genesys sent, when it sent one. */
  readonly retryAfterMs?: number;

  constructor(credential: string, retryAfterMs: number | undefined, options?: { cause?: unknown }) {
    super(
      `credential "${credential}": Genesys rate limited token requests and no valid cached token exists${
        retryAfterMs === undefined ? "" : ` (retry after ${retryAfterMs} ms)`
      }`,
      options,
    );
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/**
 * No token could be obtained before the caller's deadline because of transient trouble (Genesys 5xx or
 * timeouts, a lease holder that did not finish, DynamoDB trouble). Retrying later may succeed.
 */
export class TokenUnavailableError extends RotatorError {
  override readonly name = "TokenUnavailableError";
  readonly retryable = true;

  constructor(credential: string, reason: string, options?: { cause?: unknown }) {
    super(`credential "${credential}": no token before the deadline (${reason})`, options);
  }
}

/**
 * A DynamoDB call failed for a reason other than a conditional check (network, timeout, throttling,
 * missing table). Internal: the vending algorithm catches it and degrades to L1 + direct minting.
 */
export class DynamoDbUnavailableError extends RotatorError {
  override readonly name = "DynamoDbUnavailableError";
  readonly retryable = true;

  constructor(operation: string, options?: { cause?: unknown }) {
    super(`DynamoDB ${operation} failed${describeCause(options?.cause)}`, options);
  }
}

/**
 * The caller's deadline had passed before a DynamoDB call could be sent, so none was sent. Internal:
 * unlike {@link DynamoDbUnavailableError} it says nothing about DynamoDB's health (the container does
 * not degrade for it); the vending algorithm answers with what it has (a still-valid token or a typed error).
 */
export class DeadlinePassedError extends RotatorError {
  override readonly name = "DeadlinePassedError";
  readonly retryable = true;

  constructor(operation: string) {
    super(`DynamoDB ${operation} not sent: the caller's deadline had passed`);
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `: ${cause.name}`;
  return "";
}
