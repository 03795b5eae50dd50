/**
 * Builds the per-container state of the vending function: configuration, clients, the L1 cache and
 * the collaborators of vend.ts. Everything here lives as long as the container.
 *
 * Cold-start budget (docs/design.md#cold-start-budget): only the DynamoDB client, the small domain
 * modules and Powertools load at init. The minting stack — mint.ts, the Genesys HTTP client (undici),
 * the secret-value schema and the Secrets Manager client — loads on the container's first mint, so an
 * invocation served from L1 or L2 never pays for it.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { awsClientLimits } from "../shared/aws-client-config.ts";
import { type Clock, type Random, systemClock, systemRandom } from "../shared/clock.ts";
import { resolveEndpoints } from "../shared/genesys/environments.ts";
import type { Log } from "../shared/log.ts";
import { SingleFlight } from "../shared/single-flight.ts";
import type { VendingConfig } from "./config.ts";
import { L2Health } from "./l2-health.ts";
import type { VendMetrics } from "./metrics.ts";
import type { Minter, TokenRequester } from "./mint.ts";
import { DirectMintPauses } from "./mint-pauses.ts";
import { RejectionReports, type TokenProbe } from "./rejection-reports.ts";
import { L1Cache } from "./token-cache.ts";
import { DynamoDbTokenTable, type TokenTable } from "./token-table.ts";
import { TokenVetter, VettedTokenTable } from "./token-vetting.ts";
import type { VendDependencies } from "./vend.ts";

/** Replaceable parts (tests, the drill); everything else has a production default. */
export interface VendingRuntimeOptions {
  clock?: Clock;
  random?: Random;
  table?: TokenTable;
  minter?: Minter;
  /** Used by the default minter. @default requestClientCredentialsToken */
  requestToken?: TokenRequester;
  /** How long a cached stage → version mapping of a secret is trusted. @default 60000 */
  stageRefreshMs?: number;
  /** How long a degraded container skips DynamoDB before probing again. @default 5000 */
  dynamoDbProbeIntervalMs?: number;
  /** Asks Genesys whether a reported token is really rejected. @default `HEAD /api/v2/tokens/me` (GenesysApi.probeToken) */
  probe?: TokenProbe;
  /**
   * Per-attempt timeouts of the Genesys calls, ms: the token request of a mint and the probe of a reported
   * token. Short in a deployment (a vend has seconds; the caller's deadline bounds them anyway); tests
   * whose subject they are not make them long, since a loaded machine can take longer than these to
   * answer a local emulator. @default {@link GENESYS_TIMEOUTS}
   */
  genesysTimeouts?: { tokenRequestMs?: number; probeMs?: number };
  /** Region and credentials for both AWS clients (local stacks). @default the SDK's provider chain */
  awsClientConfig?: { region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
}

/** What the handler needs for the life of a container. */
export interface VendingRuntime {
  config: VendingConfig;
  deps: VendDependencies;
}

/** Creates the collaborators of one container. */
export function createVendingRuntime(
  config: VendingConfig,
  log: Log,
  metrics: VendMetrics,
  options: VendingRuntimeOptions = {},
): VendingRuntime {
  const clock = options.clock ?? systemClock;
  const rawTable =
    options.table ??
    new DynamoDbTokenTable(
      new DynamoDBClient({
        ...options.awsClientConfig,
        ...(config.dynamoDbEndpoint === undefined ? {} : { endpoint: config.dynamoDbEndpoint }),
        // Short (config.ts, VENDOR_AWS_CALL_LIMITS): a slow table degrades the container, it does not eat the deadline.
        ...awsClientLimits(config.awsCallLimits.dynamoDb),
      }),
      config.tableName,
    );
  const minter =
    options.minter ??
    lazyMinter(async () => {
      const [{ SecretsManagerMinter }, { SecretsManagerStagedSecrets }, oauth] = await Promise.all([
        import("./mint.ts"),
        import("./secret-stages.ts"),
        import("../shared/genesys/oauth.ts"),
      ]);
      return new SecretsManagerMinter({
        secrets: new SecretsManagerStagedSecrets({
          clock,
          ...(options.stageRefreshMs === undefined ? {} : { stageRefreshMs: options.stageRefreshMs }),
          client: async () => {
            const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
            return new SecretsManagerClient({
              // A vend has seconds, not minutes: bounded waits so a slow Secrets Manager cannot eat the deadline.
              ...awsClientLimits(config.awsCallLimits.secretsManager),
              ...options.awsClientConfig,
              ...(config.secretsManagerEndpoint === undefined
                ? {}
                : { endpoint: config.secretsManagerEndpoint }),
            });
          },
        }),
        requestToken: options.requestToken ?? oauth.requestClientCredentialsToken,
        requestTimeoutMs: options.genesysTimeouts?.tokenRequestMs ?? GENESYS_TIMEOUTS.tokenRequestMs,
        genesys: config.genesys,
        clock,
        log,
        metrics,
      });
    });
  // Nothing read back from L2 or L1 is served unchecked (token-vetting.ts).
  const vetter = new TokenVetter({
    clock,
    log,
    metrics,
    genesys: config.genesys,
    secretEnvironment: (secretArn) => minter.secretEnvironment?.(secretArn),
    learnSecretEnvironment: async (key, options) =>
      minter.learnSecretEnvironment?.(
        { name: key.credential, secretArn: key.secretArn },
        options?.abortSignal === undefined ? {} : { abortSignal: options.abortSignal },
      ),
  });
  const secretArns = new Map(config.credentials.map((credential) => [credential.name, credential.secretArn]));
  const l1 = new L1Cache((credential, token) =>
    vetter.accepts({ credential, secretArn: secretArns.get(credential) ?? "" }, token, "L1"),
  );
  return {
    config,
    deps: {
      table: new VettedTokenTable(rawTable, vetter),
      minter,
      l1,
      health: new L2Health(clock, log, options.dynamoDbProbeIntervalMs),
      flights: new SingleFlight(),
      directMintPauses: new DirectMintPauses(),
      clock,
      random: options.random ?? systemRandom,
      log,
      metrics,
      leaseMs: config.leaseMs,
      probe:
        options.probe ??
        genesysTokenProbe(config, clock, log, options.genesysTimeouts?.probeMs ?? GENESYS_TIMEOUTS.probeMs),
      rejections: new RejectionReports(),
      rejectionMintIntervalMs: config.rejectionMintIntervalMs,
    },
  };
}

/** Per-attempt timeouts of the vendor's Genesys calls in a deployment (see VendingRuntimeOptions.genesysTimeouts). */
export const GENESYS_TIMEOUTS = { tokenRequestMs: 5000, probeMs: 2000 } as const;

/**
 * {@link TokenProbe} over `HEAD /api/v2/tokens/me` with the token itself. The Genesys API client (and
 * undici) load on the first probe, not at init.
 */
function genesysTokenProbe(
  config: VendingConfig,
  clock: Clock,
  log: Log,
  probeTimeoutMs: number,
): TokenProbe {
  return {
    async accepts(token, { deadline }) {
      const { GenesysApi } = await import("../shared/genesys/api.ts");
      const endpoints = resolveEndpoints(token.environment, config.genesys);
      const timeoutMs = Math.max(1, Math.min(probeTimeoutMs, deadline - clock.now()));
      return new GenesysApi(endpoints, token.accessToken).probeToken({
        deadline,
        timeoutMs,
        maxAttempts: 2,
        clock,
        log,
      });
    },
  };
}

/** A Minter whose implementation (and its imports) is created on first use; a failed creation is retried. */
function lazyMinter(create: () => Promise<Minter>): Minter {
  let minter: Promise<Minter> | undefined;
  let created: Minter | undefined;
  const get = (): Promise<Minter> => {
    minter ??= create().then(
      (instance) => {
        created = instance;
        return instance;
      },
      (error: unknown) => {
        minter = undefined;
        throw error;
      },
    );
    return minter;
  };
  return {
    mint: async (credential, options) => (await get()).mint(credential, options),
    currentVersionId: async (credential, options) => (await get()).currentVersionId(credential, options),
    // Nothing is known before the minter was created (no I/O is done to find out here).
    secretEnvironment: (secretArn) => created?.secretEnvironment?.(secretArn),
    learnSecretEnvironment: async (credential, options) =>
      (await get()).learnSecretEnvironment?.(credential, options),
  };
}
