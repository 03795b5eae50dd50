/**
 * Best-effort actions after finishSecret: warming the token vendor's cache with the new credentials and
 * updating Genesys integration credentials (Data Actions) that hold a copy of the client secret.
 *
 * A hook never fails the rotation: the secret is already rotated when hooks run, and failing the step
 * would only make Secrets Manager retry a rotation that succeeded. Failures are logged and counted
 * (metric `FinishHookFailed`) so an alarm can catch them; finishSecret re-runs the hooks when it is
 * called again for a finished rotation.
 */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { describeError, RotatorError } from "../shared/errors.ts";
import type { GenesysGateway } from "../shared/genesys/gateway.ts";
import type { Log } from "../shared/log.ts";
import type { CredentialSecret } from "../shared/secret-value.ts";
import { AWSCURRENT } from "../shared/staging-labels.ts";
import { CACHE_WARMING_ALIAS, splitFunctionReference } from "../shared/vendor-alias.ts";
import type { RotationGenesysApi, StepContext } from "./context.ts";
import { parseStagedCredential, resolveAdminCredential } from "./credentials.ts";
import { getStagedValue } from "./secrets.ts";

/** What a hook may use. Values are read lazily: a hook that needs nothing costs nothing. */
export interface FinishHookContext {
  /** The rotated secret's ARN. */
  secretArn: string;
  /** The rotated secret's name. */
  secretName: string;
  /** The version that is now AWSCURRENT. */
  versionId: string;
  /** The new AWSCURRENT value (validated). */
  credential(): Promise<CredentialSecret>;
  /** A Platform API client acting as the admin credential of the new value. */
  adminApi(): Promise<RotationGenesysApi>;
  genesys: GenesysGateway<RotationGenesysApi>;
  log: Log;
}

/** One best-effort action after finishSecret. */
export interface FinishHook {
  /** Stable name, used in logs and as the `hook` of metric `FinishHookFailed`. */
  readonly name: string;
  /** Does the work; throwing is reported, never propagated. */
  run(context: FinishHookContext): Promise<void>;
}

/** A hook failure that is not a bug: the hook's target refused or was unreachable. */
export class FinishHookError extends RotatorError {
  override readonly name = "FinishHookError";
  readonly retryable = true;
}

/** Runs every configured hook in order, isolating each failure. */
export async function runFinishHooks(context: StepContext): Promise<void> {
  const hooks = context.deps.finishHooks ?? [];
  if (hooks.length === 0) return;
  const { secretsManager, extraEnvironments, genesys } = context.deps;
  const { secretArn, secretName, token } = context.version;
  let credential: Promise<CredentialSecret> | undefined;
  const readCredential = () => {
    credential ??= getStagedValue(secretsManager, secretArn, { stage: AWSCURRENT, versionId: token }).then(
      (staged) => {
        if (staged === undefined)
          throw new FinishHookError(`${AWSCURRENT} version ${token} of ${secretArn} has no value`);
        return parseStagedCredential(staged.value, `${AWSCURRENT} of ${secretArn}`, extraEnvironments);
      },
    );
    return credential;
  };
  const hookContext: FinishHookContext = {
    secretArn,
    secretName,
    versionId: token,
    credential: readCredential,
    adminApi: async () => {
      const value = await readCredential();
      const admin = await resolveAdminCredential(
        secretsManager,
        context.version,
        value,
        extraEnvironments,
        context.deps.adminSecretPins,
      );
      const endpoints = genesys.endpoints(admin.value.environment);
      const adminToken = await genesys.requestToken(
        endpoints,
        admin.value.clientId,
        admin.value.clientSecret,
      );
      return genesys.api(endpoints, adminToken.accessToken);
    },
    genesys,
    log: context.log,
  };
  for (const hook of hooks) {
    try {
      await hook.run(hookContext);
      context.log.info("finish hook succeeded", { hook: hook.name });
    } catch (error) {
      context.metrics.count("FinishHookFailed");
      context.log.warn("finish hook failed; the rotation itself is complete", {
        hook: hook.name,
        ...describeError(error),
      });
    }
  }
}

/** How long the vendor may take to warm its cache before the hook gives up. */
const WARM_TIMEOUT_MS = 15_000;

/**
 * Asks the token-vending function to mint with the new AWSCURRENT now, so the first consumer request
 * after a rotation does not pay for it. Payload `{ "warm": { "secretArn": "<ARN>" } }` (docs/ARCHITECTURE.md),
 * sent through the vendor's `cache-warming` alias, the only one that accepts it (docs/vending.md): an
 * unqualified `functionName` gets that alias as the Invoke `Qualifier`; a qualified one (what the CDK
 * stack sets, `<vendor>:cache-warming`) is used as is.
 */
export function cacheWarmingHook(lambda: LambdaClient, functionName: string): FinishHook {
  const qualified = splitFunctionReference(functionName).qualifier !== undefined;
  return {
    name: "cacheWarming",
    async run(context) {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          ...(qualified ? {} : { Qualifier: CACHE_WARMING_ALIAS }),
          Payload: new TextEncoder().encode(JSON.stringify({ warm: { secretArn: context.secretArn } })),
        }),
        { abortSignal: AbortSignal.timeout(WARM_TIMEOUT_MS) },
      );
      if (response.FunctionError !== undefined) {
        // The vendor's error body names an error type and message, never a token (its contract).
        const errorType = readErrorType(response.Payload);
        throw new FinishHookError(`token vendor ${functionName} failed to warm its cache: ${errorType}`);
      }
    },
  };
}

function readErrorType(payload: Uint8Array | undefined): string {
  if (payload === undefined) return "unknown error";
  try {
    const body = JSON.parse(new TextDecoder().decode(payload)) as { errorType?: unknown };
    return typeof body.errorType === "string"
      ? body.errorType.replace(/[^A-Za-z0-9._-]/g, "").slice(0, 100)
      : "unknown error";
  } catch {
    return "unknown error";
  }
}

/** Integration credential type that holds an OAuth client id and secret. */
export const OAUTH_CLIENT_CREDENTIAL_TYPE = "pureCloudOAuthClient";

/**
 * Copies the new client id and secret into Genesys integration credentials (Data Actions), which
 * otherwise break when the secret they hold is regenerated. `mapping` is INTEGRATION_CREDENTIALS:
 * secret name or ARN → integration credential ids. Each credential is read first to keep its name and
 * type; every id is attempted even if one fails.
 */
export function integrationCredentialsHook(mapping: Readonly<Record<string, readonly string[]>>): FinishHook {
  return {
    name: "integrationCredentials",
    async run(context) {
      const ids = [
        ...new Set([...(mapping[context.secretArn] ?? []), ...(mapping[context.secretName] ?? [])]),
      ];
      if (ids.length === 0) return;
      const credential = await context.credential();
      const api = await context.adminApi();
      const failed: string[] = [];
      for (const id of ids) {
        try {
          const existing = await api.getIntegrationCredential(id);
          const type = existing.type.name;
          if (type !== OAUTH_CLIENT_CREDENTIAL_TYPE) {
            throw new FinishHookError(
              `integration credential ${id} has type ${type}, expected ${OAUTH_CLIENT_CREDENTIAL_TYPE}`,
            );
          }
          await api.updateIntegrationCredential(id, {
            name: existing.name,
            type,
            credentialFields: { clientId: credential.clientId, clientSecret: credential.clientSecret },
          });
          context.log.info("updated integration credential", {
            integrationCredentialId: id,
            clientId: credential.clientId,
          });
        } catch (error) {
          failed.push(id);
          context.log.warn("could not update integration credential", {
            integrationCredentialId: id,
            ...describeError(error),
          });
        }
      }
      if (failed.length > 0) {
        throw new FinishHookError(`integration credentials not updated: ${failed.join(", ")}`);
      }
    },
  };
}
