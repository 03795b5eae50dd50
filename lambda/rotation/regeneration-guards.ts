/**
 * The confused-deputy guards createSecret runs before the admin regenerates anything
 * (docs/rotation.md, "Step by step", createSecret); testSecret repeats the twin checks
 * ({@link assertTwinsFitToRotate}). Each refusal is a typed error naming the secret and the rule, and
 * nothing has changed in Genesys when it is thrown.
 */
import type { OAuthClient } from "../shared/genesys/api.ts";
import { GenesysNotFoundError } from "../shared/genesys/errors.ts";
import { describeTwinDrift } from "../shared/genesys/twins.ts";
import { sameClientId } from "../shared/secret-value.ts";
import type { StepContext } from "./context.ts";
import { assertTargetIsNotAdminClient, type StagedCredential } from "./credentials.ts";
import {
  InvalidSecretValueError,
  OrganizationMismatchError,
  PendingClientStateError,
  RoleDriftError,
} from "./errors.ts";

/**
 * Everything that must hold before the admin regenerates a secret, cheapest first. A writer of the
 * rotated secret (who may not read the admin secret) must not be able to obtain, or destroy, any secret
 * beyond the one of the client the value already proves to hold:
 *
 * 1. every value valid and its environment allowed; `adminSecretArn` the pinned one (`ADMIN_SECRET_ARNS`,
 *    checked before the admin secret is read);
 * 2. the target is not a client of an external admin ({@link assertTargetIsNotAdminClient});
 * 3. AWSCURRENT mints a token ({@link guardCurrentCredential});
 * 4. with an external admin, AWSCURRENT's organisation is the admin token's ({@link assertSameOrganization});
 * 5. alternating: the twins exist, are client-credentials clients, the target is active, and both grant
 *    exactly the same roles and token lifetime ({@link assertTwinsFitToRotate}) — so a target with other
 *    roles is never regenerated.
 *
 * What remains possible is documented in docs/rotation.md ("What the guards do not prevent").
 */
export async function guardBeforeRegeneration(
  context: StepContext,
  current: StagedCredential,
): Promise<void> {
  context.endpoints(current.value);
  const admin = await context.admin();
  context.endpoints(admin.value);
  assertTargetIsNotAdminClient(current, admin);
  await guardCurrentCredential(context, current);
  await assertSameOrganization(context, current, admin);
  if (current.value.strategy === "alternating") await assertTwinsFitToRotate(context, current);
}

/**
 * `GET /api/v2/tokens/me` with the AWSCURRENT token and with the admin token must name the same
 * organisation; otherwise `adminSecretArn` points at the admin of another organisation, whose clients
 * the value could then name. Nothing to compare for a self-managed pair (it is its own admin).
 *
 * @throws OrganizationMismatchError naming both organisation ids.
 */
async function assertSameOrganization(
  context: StepContext,
  current: StagedCredential,
  admin: StagedCredential,
): Promise<void> {
  if (current.value.adminSecretArn === undefined) return;
  const currentToken = await context.mint(current, "current");
  const currentApi = context.deps.genesys.api(
    context.endpoints(current.value),
    currentToken.accessToken,
    context.callLimits(),
  );
  // Both API clients first: a request must not fail unobserved while another is still being set up.
  const adminApi = await context.adminApi();
  const [currentInfo, adminInfo] = await Promise.all([currentApi.getTokenInfo(), adminApi.getTokenInfo()]);
  if (currentInfo.organization.id !== adminInfo.organization.id) {
    throw new OrganizationMismatchError(
      `${current.where}: client ${current.value.clientId} belongs to organisation ${currentInfo.organization.id}, ` +
        `but the admin credential (${admin.where}) to organisation ${adminInfo.organization.id}; ` +
        'field "adminSecretArn" must name the admin of the same organisation. Nothing was regenerated',
    );
  }
}

/**
 * The confused-deputy guard: before the admin regenerates anything, the AWSCURRENT credentials must
 * mint a token. Otherwise whoever can write the secret value could name a client whose secret they do
 * not hold and have the rotator hand them a fresh one. There is no exception: a single client whose
 * secret an earlier attempt regenerated and could not store is caught before this guard, by the
 * regeneration marker (preconditions.ts, `checkRegenerationMarker`), and needs the operator.
 */
async function guardCurrentCredential(context: StepContext, current: StagedCredential): Promise<void> {
  await context.mint(current, "current");
}

/**
 * An alternating pair is fit to rotate when both clients exist in the admin's organisation, both are
 * client-credentials clients, the target (`alternateClientId`) is active, and they grant exactly the same
 * roleDivisions and token lifetime. Run before the regeneration (so a target with other roles is never
 * regenerated) and again in testSecret (drift may appear meanwhile, and a dry run must prove it).
 *
 * @throws PendingClientStateError when a client is missing, not client-credentials, or the target inactive.
 * @throws RoleDriftError naming every difference.
 */
export async function assertTwinsFitToRotate(context: StepContext, current: StagedCredential): Promise<void> {
  const api = await context.adminApi();
  const read = async (id: string): Promise<OAuthClient> => {
    try {
      return await api.getOAuthClient(id);
    } catch (error) {
      if (error instanceof GenesysNotFoundError) {
        throw new PendingClientStateError(
          `${current.where}: client ${id} does not exist (or is not in the admin's organisation)`,
          { cause: error },
        );
      }
      throw error;
    }
  };
  const [active, twin] = await Promise.all([
    read(current.value.clientId),
    read(current.value.alternateClientId as string),
  ]);
  if (sameClientId(active.id, twin.id)) {
    // Two ids that Genesys resolves to one client (e.g. differing in case): the "twin" is the active client.
    throw new InvalidSecretValueError(
      `${current.where}: fields "clientId" and "alternateClientId" both resolve to client ${twin.id} in Genesys; ` +
        "an alternating pair needs two distinct clients. Nothing was regenerated",
    );
  }
  for (const client of [active, twin]) {
    if (client.authorizedGrantType !== CLIENT_CREDENTIALS_GRANT) {
      throw new PendingClientStateError(
        `${current.where}: client ${client.id} has grant type ${client.authorizedGrantType}; both twins must be ${CLIENT_CREDENTIALS_GRANT} clients`,
      );
    }
  }
  if (twin.state !== "active") {
    throw new PendingClientStateError(
      `${current.where}: client ${twin.id} (alternateClientId) is ${twin.state}; it must be active to take over`,
    );
  }
  const drift = describeTwinDrift(active, twin);
  if (drift !== undefined) throw new RoleDriftError(`${current.where}: ${drift}`);
}

/** `authorizedGrantType` of a client-credentials client, as the Platform API spells it. */
const CLIENT_CREDENTIALS_GRANT = "CLIENT-CREDENTIALS";
