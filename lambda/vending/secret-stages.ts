/**
 * Reads the staged versions of a credential secret for minting, the way the AWS Secrets Manager
 * caching libraries do (docs/design.md#caching-secret-values): values are cached per VersionId — a
 * version's value is immutable — and only the stage → version mapping is refreshed, with one
 * DescribeSecret, at most every `stageRefreshMs`. A rotation is therefore picked up within that
 * interval, or at once when a mint finds the cached AWSCURRENT rejected (the minter forces a refresh).
 *
 * The Secrets Manager client is created on first use: the L1/L2 paths of the vending function never
 * read a secret, so a cold start does not load it.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Clock } from "../shared/clock.ts";

/** The staging labels a mint may use, in the order they are tried. */
export const MINT_STAGES = ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"] as const;
export type MintStage = (typeof MINT_STAGES)[number];

/** Which version carries each staging label, as of `fetchedAt`. */
export interface StageMap {
  versions: ReadonlyMap<MintStage, string>;
  /** Clock time of the DescribeSecret this map came from. */
  fetchedAt: number;
  /** True when served from cache, false when this call fetched it. */
  fromCache: boolean;
}

/** Per-call options of a {@link StagedSecretReader}. */
export interface SecretReadOptions {
  /** Aborts the Secrets Manager call (the caller's deadline); the SDK then rejects with `AbortError`. */
  abortSignal?: AbortSignal;
}

/** Read access to a secret's staged versions. */
export interface StagedSecretReader {
  /** The stage → version mapping, from cache unless older than the refresh interval or `forceRefresh`. */
  stages(secretArn: string, options?: SecretReadOptions & { forceRefresh?: boolean }): Promise<StageMap>;
  /** The `SecretString` of one version; undefined when the version has none (e.g. the empty AWSPENDING placeholder). */
  value(secretArn: string, versionId: string, options?: SecretReadOptions): Promise<string | undefined>;
}

/** Options of {@link SecretsManagerStagedSecrets}. */
export interface SecretsManagerStagedSecretsOptions {
  /** Creates the client on first use. */
  client: () => Promise<SecretsManagerClient>;
  clock: Clock;
  /** Longest time a cached stage mapping is used. @default 60000 */
  stageRefreshMs?: number;
  /** Versions whose values are kept (least recently used are dropped). @default 16 */
  maxCachedValues?: number;
}

/** {@link StagedSecretReader} over the AWS SDK Secrets Manager client. */
export class SecretsManagerStagedSecrets implements StagedSecretReader {
  readonly #options: Required<SecretsManagerStagedSecretsOptions>;
  readonly #stageMaps = new Map<string, StageMap>();
  /** Key `${secretArn}\n${versionId}`; Map iteration order doubles as LRU order. */
  readonly #values = new Map<string, string | undefined>();
  #client: Promise<SecretsManagerClient> | undefined;
  #commands: Promise<typeof import("@aws-sdk/client-secrets-manager")> | undefined;

  constructor(options: SecretsManagerStagedSecretsOptions) {
    this.#options = { stageRefreshMs: 60_000, maxCachedValues: 16, ...options };
  }

  async stages(
    secretArn: string,
    options: SecretReadOptions & { forceRefresh?: boolean } = {},
  ): Promise<StageMap> {
    const cached = this.#stageMaps.get(secretArn);
    const now = this.#options.clock.now();
    if (
      cached !== undefined &&
      options.forceRefresh !== true &&
      now - cached.fetchedAt < this.#options.stageRefreshMs
    ) {
      return { ...cached, fromCache: true };
    }
    const { DescribeSecretCommand } = await this.#sdk();
    const output = await (await this.#sdkClient()).send(
      new DescribeSecretCommand({ SecretId: secretArn }),
      sdkOptions(options),
    );
    const versions = new Map<MintStage, string>();
    for (const [versionId, labels] of Object.entries(output.VersionIdsToStages ?? {})) {
      for (const label of labels) {
        if ((MINT_STAGES as readonly string[]).includes(label)) versions.set(label as MintStage, versionId);
      }
    }
    const map: StageMap = { versions, fetchedAt: now, fromCache: false };
    this.#stageMaps.set(secretArn, map);
    return map;
  }

  async value(
    secretArn: string,
    versionId: string,
    options: SecretReadOptions = {},
  ): Promise<string | undefined> {
    const key = `${secretArn}\n${versionId}`;
    if (this.#values.has(key)) {
      const value = this.#values.get(key);
      // Re-insert: most recently used last.
      this.#values.delete(key);
      this.#values.set(key, value);
      return value;
    }
    const { GetSecretValueCommand } = await this.#sdk();
    let value: string | undefined;
    try {
      const output = await (await this.#sdkClient()).send(
        new GetSecretValueCommand({ SecretId: secretArn, VersionId: versionId }),
        sdkOptions(options),
      );
      value = output.SecretString;
    } catch (error) {
      // A version without a value (Secrets Manager's placeholder before createSecret) answers
      // ResourceNotFoundException; it is not cached, because createSecret will give it a value.
      if (error instanceof Error && error.name === "ResourceNotFoundException") return undefined;
      throw error;
    }
    if (value === undefined) return undefined;
    this.#values.set(key, value);
    while (this.#values.size > this.#options.maxCachedValues) {
      const oldest = this.#values.keys().next().value;
      if (oldest === undefined) break;
      this.#values.delete(oldest);
    }
    return value;
  }

  #sdk(): Promise<typeof import("@aws-sdk/client-secrets-manager")> {
    this.#commands ??= import("@aws-sdk/client-secrets-manager");
    return this.#commands;
  }

  #sdkClient(): Promise<SecretsManagerClient> {
    // A failed creation is not cached: the next mint tries again.
    this.#client ??= this.#options.client().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }
}

/** The SDK's per-call options: only the abort signal, and only when there is one. */
function sdkOptions(options: SecretReadOptions): { abortSignal?: AbortSignal } {
  return options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
}
