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
import type { Log } from "../shared/log.ts";
import type { VendingConfig } from "./config.ts";
import { L2Health } from "./l2-health.ts";
import type { VendMetrics } from "./metrics.ts";
import type { Minter, TokenRequester } from "./mint.ts";
import { DirectMintPauses } from "./mint-pauses.ts";
import { SingleFlight } from "./single-flight.ts";
import { L1Cache } from "./token-cache.ts";
import { DynamoDbTokenTable, type TokenTable } from "./token-table.ts";
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
  /** Region and credentials for both AWS clients (local stacks). @default the SDK's provider chain */
  awsClientConfig?: { region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
}

/** What the handler needs for the life of a container. */
export interface VendingRuntime {
  config: VendingConfig;
  deps: VendDependencies;
}

/** DynamoDB calls fail fast: a slow table must degrade the function, not eat the caller's deadline. */
const DYNAMODB_CONNECTION_TIMEOUT_MS = 1000;
const DYNAMODB_REQUEST_TIMEOUT_MS = 2000;
const DYNAMODB_MAX_ATTEMPTS = 2;

/** Creates the collaborators of one container. */
export function createVendingRuntime(
  config: VendingConfig,
  log: Log,
  metrics: VendMetrics,
  options: VendingRuntimeOptions = {},
): VendingRuntime {
  const clock = options.clock ?? systemClock;
  const table =
    options.table ??
    new DynamoDbTokenTable(
      new DynamoDBClient({
        ...options.awsClientConfig,
        ...(config.dynamoDbEndpoint === undefined ? {} : { endpoint: config.dynamoDbEndpoint }),
        maxAttempts: DYNAMODB_MAX_ATTEMPTS,
        requestHandler: {
          connectionTimeout: DYNAMODB_CONNECTION_TIMEOUT_MS,
          requestTimeout: DYNAMODB_REQUEST_TIMEOUT_MS,
          // Without this the SDK only warns when requestTimeout passes.
          throwOnRequestTimeout: true,
        },
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
              ...awsClientLimits({ connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 2 }),
              ...options.awsClientConfig,
              ...(config.secretsManagerEndpoint === undefined
                ? {}
                : { endpoint: config.secretsManagerEndpoint }),
            });
          },
        }),
        requestToken: options.requestToken ?? oauth.requestClientCredentialsToken,
        genesys: config.genesys,
        clock,
        log,
        metrics,
      });
    });
  return {
    config,
    deps: {
      table,
      minter,
      l1: new L1Cache(),
      health: new L2Health(clock, log, options.dynamoDbProbeIntervalMs),
      flights: new SingleFlight(),
      directMintPauses: new DirectMintPauses(),
      clock,
      random: options.random ?? systemRandom,
      log,
      metrics,
      leaseMs: config.leaseMs,
    },
  };
}

/** A Minter whose implementation (and its imports) is created on first use; a failed creation is retried. */
function lazyMinter(create: () => Promise<Minter>): Minter {
  let minter: Promise<Minter> | undefined;
  const get = (): Promise<Minter> => {
    minter ??= create().catch((error: unknown) => {
      minter = undefined;
      throw error;
    });
    return minter;
  };
  return {
    mint: async (credential, options) => (await get()).mint(credential, options),
    currentVersionId: async (credential, options) => (await get()).currentVersionId(credential, options),
  };
}
