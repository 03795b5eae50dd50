/**
 * Reading and cross-checking the credential values one rotation step works with: the secret's AWSCURRENT
 * and AWSPENDING values and the admin credential that regenerates secrets. Every value is validated
 * against the schema (docs/design.md#the-secret-value) before anything in Genesys is touched; errors name the secret, the
 * stage and the field, never a value.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ValidationError } from "../shared/errors.ts";
import { type CredentialSecret, parseCredentialSecret, sameClientId } from "../shared/secret-value.ts";
import { AWSCURRENT, AWSPENDING } from "../shared/staging-labels.ts";
import {
  AdminCredentialError,
  AdminSecretPinError,
  InvalidSecretValueError,
  TargetIsAdminClientError,
} from "./errors.ts";
import { getStagedValue, type RotationVersion } from "./secrets.ts";

/** A parsed staged value and where it came from (for messages). */
export interface StagedCredential {
  value: CredentialSecret;
  /** e.g. `AWSCURRENT of arn:aws:secretsmanager:...:secret:app` */
  where: string;
  /** When the version was created (epoch ms), when Secrets Manager said. */
  createdAt?: number | undefined;
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
  return {
    value: parseStagedCredential(staged.value, where, extraEnvironments),
    where,
    createdAt: staged.createdAt,
  };
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
 * AWSCURRENT value, which must be a self-managed pair in the same environment (docs/design.md#who-regenerates-the-admin-credential). Without it
 * (a self-managed alternating pair, e.g. the admin pair itself) the current credentials ARE the admin:
 * the active client regenerates its twin.
 *
 * @param pins deploy-time pins (`ADMIN_SECRET_ARNS`), checked before the admin secret is read.
 * @throws AdminSecretPinError when `adminSecretArn` is not the pinned admin secret.
 * @throws AdminCredentialError when the admin secret is unusable for this secret.
 */
export async function resolveAdminCredential(
  client: SecretsManagerClient,
  version: RotationVersion,
  current: CredentialSecret,
  extraEnvironments: readonly string[],
  pins?: Readonly<Record<string, string>>,
): Promise<StagedCredential> {
  if (pins !== undefined) assertAdminSecretPinned(version, current, pins);
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

/**
 * The deploy-time pin (`ADMIN_SECRET_ARNS`): whoever can write the secret value must not be able to
 * choose which admin acts on it. The pin is looked up by the secret's ARN, then its name (like
 * `INTEGRATION_CREDENTIALS`); `""` pins a self-managed pair (no `adminSecretArn`).
 *
 * @throws AdminSecretPinError when the secret is not listed, or its `adminSecretArn` differs from the pin.
 */
export function assertAdminSecretPinned(
  version: Pick<RotationVersion, "secretArn" | "secretName">,
  current: CredentialSecret,
  pins: Readonly<Record<string, string>>,
): void {
  const where = `${AWSCURRENT} of ${version.secretArn}`;
  const pinned = pins[version.secretArn] ?? pins[version.secretName];
  if (pinned === undefined) {
    throw new AdminSecretPinError(
      `${where}: ADMIN_SECRET_ARNS is set but has no entry for this secret (by ARN or name ${version.secretName}); ` +
        "add it to the deployment (the CDK constructs do) before rotating it",
    );
  }
  const named = current.adminSecretArn;
  if (pinned === "") {
    if (named !== undefined) {
      throw new AdminSecretPinError(
        `${where}: field "adminSecretArn" must be absent: the secret is pinned as a self-managed pair (ADMIN_SECRET_ARNS)`,
      );
    }
    return;
  }
  if (named === undefined) {
    throw new AdminSecretPinError(
      `${where}: field "adminSecretArn" is absent, but ADMIN_SECRET_ARNS pins admin secret ${pinned}`,
    );
  }
  if (!sameSecretArn(named, pinned)) {
    throw new AdminSecretPinError(
      `${where}: field "adminSecretArn" names ${named}, but ADMIN_SECRET_ARNS pins admin secret ${pinned}`,
    );
  }
}

/** Secrets Manager's `-XXXXXX` suffix of a complete ARN. */
const ARN_SUFFIX = /^-[A-Za-z0-9]{6}$/;

/**
 * True when two secret ARNs name the same secret: equal, or one is the complete ARN (with Secrets
 * Manager's random `-XXXXXX` suffix) of the other, partial one (an imported secret's ARN often is).
 */
export function sameSecretArn(a: string, b: string): boolean {
  if (a === b) return true;
  const [longer, shorter] = a.length > b.length ? [a, b] : [b, a];
  return longer.startsWith(shorter) && ARN_SUFFIX.test(longer.slice(shorter.length));
}

/**
 * The client a rotation regenerates: the inactive twin of an alternating pair, or the single client.
 */
export function targetClientId(current: CredentialSecret): string {
  return current.strategy === "alternating" ? (current.alternateClientId as string) : current.clientId;
}

/**
 * With an external admin (`adminSecretArn`), the client to regenerate must not be one of the admin's
 * own clients: otherwise a writer of this secret could set `alternateClientId` to the admin's active
 * client and receive a working admin secret in AWSPENDING. (A self-managed pair is its own admin: its
 * target is, correctly, the admin's twin.)
 *
 * @throws TargetIsAdminClientError naming the field and the admin secret.
 */
export function assertTargetIsNotAdminClient(current: StagedCredential, admin: StagedCredential): void {
  if (current.value.adminSecretArn === undefined) return;
  const target = targetClientId(current.value);
  const adminClients = [admin.value.clientId, admin.value.alternateClientId];
  // Ignoring case: Genesys may resolve an upper-cased id to the same client.
  if (!adminClients.some((id) => sameClientId(id, target))) return;
  const field = current.value.strategy === "alternating" ? "alternateClientId" : "clientId";
  throw new TargetIsAdminClientError(
    `${current.where}: field "${field}" names client ${target}, a client of the admin credential (${admin.where}); ` +
      "a rotation must never regenerate its own admin's secret. Nothing was regenerated; treat an unexpected value as a security event",
  );
}
