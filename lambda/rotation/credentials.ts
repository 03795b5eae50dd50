/**
 * Reading and cross-checking the credential values one rotation step works with: the secret's AWSCURRENT
 * and AWSPENDING values and the admin credential that regenerates secrets. Every value is validated
 * against the schema (DESIGN §4) before anything in Genesys is touched; errors name the secret, the
 * stage and the field, never a value.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ValidationError } from "../shared/errors.ts";
import { type CredentialSecret, parseCredentialSecret } from "../shared/secret-value.ts";
import { AWSCURRENT, AWSPENDING } from "../shared/staging-labels.ts";
import { AdminCredentialError, InvalidSecretValueError } from "./errors.ts";
import { getStagedValue, type RotationVersion } from "./secrets.ts";

/** A parsed staged value and where it came from (for messages). */
export interface StagedCredential {
  value: CredentialSecret;
  /** e.g. `AWSCURRENT of arn:aws:secretsmanager:...:secret:app` */
  where: string;
}

/** Validates a raw staged value, naming where it came from in the error. */
export function parseStagedCredential(
  raw: string,
  where: string,
  extraEnvironments: readonly string[],
): CredentialSecret {
  try {
    return parseCredentialSecret(raw, { extraEnvironments });
  } catch (error) {
    if (error instanceof ValidationError) {
      // The schema error names the field and the rule and never the value, so it is safe to embed.
      throw new InvalidSecretValueError(`${where} is not a valid credential secret: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Reads and validates the AWSCURRENT value of the secret being rotated.
 * @throws InvalidSecretValueError when it is missing or fails the schema.
 */
export async function readCurrentCredential(
  client: SecretsManagerClient,
  version: RotationVersion,
  extraEnvironments: readonly string[],
): Promise<StagedCredential> {
  const where = `${AWSCURRENT} of ${version.secretArn}`;
  const staged = await getStagedValue(client, version.secretArn, {
    stage: AWSCURRENT,
    versionId: version.currentVersionId,
  });
  if (staged === undefined) throw new InvalidSecretValueError(`${where} has no value`);
  return { value: parseStagedCredential(staged.value, where, extraEnvironments), where };
}

/**
 * Reads the value stored under the rotation's token with AWSPENDING, if any. `undefined` means the
 * version is still the empty placeholder RotateSecret created.
 */
export async function readPendingCredential(
  client: SecretsManagerClient,
  version: RotationVersion,
  extraEnvironments: readonly string[],
): Promise<StagedCredential | undefined> {
  const where = `${AWSPENDING} version ${version.token} of ${version.secretArn}`;
  const staged = await getStagedValue(client, version.secretArn, {
    stage: AWSPENDING,
    versionId: version.token,
  });
  if (staged === undefined) return undefined;
  return { value: parseStagedCredential(staged.value, where, extraEnvironments), where };
}

/**
 * Resolves the credential that regenerates secrets. With `adminSecretArn` it is that secret's
 * AWSCURRENT value, which must be a self-managed pair in the same environment (DESIGN §3). Without it
 * (a self-managed alternating pair, e.g. the admin pair itself) the current credentials ARE the admin:
 * the active client regenerates its twin.
 *
 * @throws AdminCredentialError when the admin secret is unusable for this secret.
 */
export async function resolveAdminCredential(
  client: SecretsManagerClient,
  version: RotationVersion,
  current: CredentialSecret,
  extraEnvironments: readonly string[],
): Promise<StagedCredential> {
  const adminArn = current.adminSecretArn;
  if (adminArn === undefined) return { value: current, where: `${AWSCURRENT} of ${version.secretArn}` };
  if (adminArn === version.secretArn) {
    // A single client cannot regenerate itself and survive a lost response; an alternating pair that
    // manages itself must simply omit adminSecretArn.
    throw new AdminCredentialError(
      `${AWSCURRENT} of ${version.secretArn}: field "adminSecretArn" must name another secret (omit it for a self-managed alternating pair)`,
    );
  }
  const where = `${AWSCURRENT} of admin secret ${adminArn}`;
  // A failed read stays a SecretsManagerCallError: throttling there is retryable, a bad admin value is not.
  const staged = await getStagedValue(client, adminArn, { stage: AWSCURRENT });
  if (staged === undefined) throw new AdminCredentialError(`${where} does not exist or has no value`);
  let admin: CredentialSecret;
  try {
    admin = parseStagedCredential(staged.value, where, extraEnvironments);
  } catch (error) {
    throw new AdminCredentialError((error as Error).message, { cause: error });
  }
  if (admin.strategy !== "alternating" || admin.adminSecretArn !== undefined) {
    throw new AdminCredentialError(
      `${where}: must be a self-managed alternating pair (strategy "alternating", no adminSecretArn)`,
    );
  }
  if (admin.environment !== current.environment) {
    throw new AdminCredentialError(
      `${where}: field "environment" must equal the environment of ${version.secretArn} (an admin acts in its own organisation only)`,
    );
  }
  return { value: admin, where };
}

/**
 * Checks that a pending value continues the current one: same environment, strategy and admin; for
 * alternating the ids swapped, for single the same id. Anything else means the pending value was not
 * produced from this AWSCURRENT and must not be promoted.
 *
 * @throws InvalidSecretValueError naming the first field that does not fit.
 */
export function assertPendingContinuesCurrent(current: StagedCredential, pending: StagedCredential): void {
  const fail = (field: string, rule: string) => {
    throw new InvalidSecretValueError(
      `${pending.where} does not continue ${current.where}: field "${field}" ${rule}`,
    );
  };
  const c = current.value;
  const p = pending.value;
  if (p.environment !== c.environment) fail("environment", "must equal the current environment");
  if (p.strategy !== c.strategy) fail("strategy", "must equal the current strategy");
  if (p.adminSecretArn !== c.adminSecretArn) fail("adminSecretArn", "must equal the current adminSecretArn");
  if (c.strategy === "alternating") {
    if (p.clientId !== c.alternateClientId) {
      fail("clientId", `must be the current alternateClientId ${c.alternateClientId ?? ""}`);
    }
    if (p.alternateClientId !== c.clientId)
      fail("alternateClientId", `must be the current clientId ${c.clientId}`);
  } else if (p.clientId !== c.clientId) {
    fail("clientId", `must equal the current clientId ${c.clientId}`);
  }
}

/** True when two values carry the same client and secret (a test-only rotation may stage a copy of AWSCURRENT). */
export function sameCredential(a: CredentialSecret, b: CredentialSecret): boolean {
  return a.clientId === b.clientId && a.clientSecret === b.clientSecret;
}
