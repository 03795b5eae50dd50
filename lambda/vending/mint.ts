/**
 * Minting: read the credential's secret, call the token endpoint. On `invalid_client` the next staged
 * version is tried — AWSCURRENT, then AWSPENDING, then AWSPREVIOUS (DESIGN §6) — which is what makes a
 * `single`-strategy rotation invisible to consumers: between the regeneration in createSecret and
 * finishSecret only AWSPENDING works, and right after finishSecret a cached stage map may still point
 * AWSCURRENT at the old version.
 *
 * This module (and through it undici and the Secrets Manager SDK) is loaded only when a container
 * first mints: see runtime.ts.
 */
import type { Clock } from "../shared/clock.ts";
import { describeError } from "../shared/errors.ts";
import {
  type GenesysEndpoints,
  type ResolveEndpointsOptions,
  resolveEndpoints,
} from "../shared/genesys/environments.ts";
import type { GenesysCallOptions } from "../shared/genesys/http.ts";
import type { AccessToken, ClientCredentialsRequest } from "../shared/genesys/oauth.ts";
import type { Log } from "../shared/log.ts";
import { type CredentialSecret, parseCredentialSecret } from "../shared/secret-value.ts";
import type { CredentialConfig } from "./config.ts";
import { CredentialRejectedError } from "./errors.ts";
import type { VendMetrics } from "./metrics.ts";
import { MINT_STAGES, type MintStage, type StagedSecretReader } from "./secret-stages.ts";
import { type CachedToken, hashToken } from "./token-cache.ts";

/** A freshly minted token; the L2 write assigns its generation. */
export type MintedToken = Omit<CachedToken, "generation">;

/** What the vending algorithm needs from minting. */
export interface Minter {
  /**
   * Mints a token for `credential`. One token request per staged version tried, no retries: the
   * caller owns retry policy (it re-checks the cache between attempts).
   * @throws CredentialRejectedError when no staged version works; Genesys rate-limit/transient errors as thrown.
   */
  mint(credential: CredentialConfig, options: { deadline: number }): Promise<MintedToken>;
  /** The version AWSCURRENT labels right now (a fresh DescribeSecret), for cache warming after a rotation. */
  currentVersionId(credential: CredentialConfig): Promise<string | undefined>;
}

/** The token request function (injectable so tests can count or fail calls). */
export type TokenRequester = (
  request: ClientCredentialsRequest,
  options: GenesysCallOptions,
) => Promise<AccessToken>;

/** Dependencies of {@link SecretsManagerMinter}. */
export interface MinterDependencies {
  secrets: StagedSecretReader;
  requestToken: TokenRequester;
  clock: Clock;
  log: Log;
  metrics: VendMetrics;
  /** Per-attempt timeout of a token request. @default 5000 */
  requestTimeoutMs?: number;
  /** Deploy-time Genesys settings: allowed extra environments and the endpoint override (config.ts). */
  genesys: ResolveEndpointsOptions & { extraEnvironments: readonly string[] };
}

/** {@link Minter} over Secrets Manager and the Genesys token endpoint. */
export class SecretsManagerMinter implements Minter {
  readonly #deps: MinterDependencies;

  constructor(deps: MinterDependencies) {
    this.#deps = deps;
  }

  async currentVersionId(credential: CredentialConfig): Promise<string | undefined> {
    const map = await this.#deps.secrets.stages(credential.secretArn, { forceRefresh: true });
    return map.versions.get("AWSCURRENT");
  }

  async mint(credential: CredentialConfig, options: { deadline: number }): Promise<MintedToken> {
    const { secrets, log } = this.#deps;
    let stageMap = await secrets.stages(credential.secretArn);
    const tried = new Set<string>();
    const outcomes: string[] = [];
    // Pass 1 uses the cached stage map. If every version it names is rejected, the labels may have moved
    // (a rotation finished since): pass 2 re-reads them and tries the versions not tried yet.
    for (let pass = 0; pass < 2; pass++) {
      for (const stage of MINT_STAGES) {
        const versionId = stageMap.versions.get(stage);
        if (versionId === undefined) {
          if (pass === 0) outcomes.push(`${stage} absent`);
          continue;
        }
        // After finishSecret one version may carry two labels; a rejected version is not retried.
        if (tried.has(versionId)) continue;
        tried.add(versionId);
        const minted = await this.#tryVersion(credential, stage, versionId, options.deadline, outcomes);
        if (minted !== undefined) return minted;
      }
      if (pass === 1 || !stageMap.fromCache) break;
      stageMap = await secrets.stages(credential.secretArn, { forceRefresh: true });
    }
    log.error("No staged secret version could mint a token", {
      credential: credential.name,
      outcomes: outcomes.join("; "),
    });
    throw new CredentialRejectedError(credential.name, outcomes.join("; "));
  }

  /** One token request with one version; undefined (and an outcome line) when that version cannot mint. */
  async #tryVersion(
    credential: CredentialConfig,
    stage: MintStage,
    versionId: string,
    deadline: number,
    outcomes: string[],
  ): Promise<MintedToken | undefined> {
    const { secrets, clock, log, metrics } = this.#deps;
    const raw = await secrets.value(credential.secretArn, versionId);
    if (raw === undefined) {
      outcomes.push(`${stage} has no value yet`);
      return undefined;
    }
    let secret: CredentialSecret;
    let endpoints: GenesysEndpoints;
    try {
      secret = parseCredentialSecret(raw, { extraEnvironments: this.#deps.genesys.extraEnvironments });
      endpoints = resolveEndpoints(secret.environment, this.#deps.genesys);
    } catch (error) {
      // The error names the field and rule, never the value.
      outcomes.push(`${stage} invalid (${describeError(error).errorMessage})`);
      return undefined;
    }
    const timeoutMs = Math.max(1, Math.min(this.#deps.requestTimeoutMs ?? 5000, deadline - clock.now()));
    let token: AccessToken;
    try {
      token = await this.#deps.requestToken(
        { endpoints, clientId: secret.clientId, clientSecret: secret.clientSecret },
        { deadline, timeoutMs, maxAttempts: 1, clock, log },
      );
    } catch (error) {
      if (error instanceof Error && error.name === "GenesysInvalidClientError") {
        outcomes.push(`${stage} rejected (invalid_client)`);
        log.warn("Staged secret version rejected by the token endpoint", {
          credential: credential.name,
          stage,
          secretVersionId: versionId,
          clientId: secret.clientId,
        });
        return undefined;
      }
      throw error;
    }
    metrics.count("TokenMints");
    if (stage !== "AWSCURRENT") {
      metrics.count("FallbackStageUsed");
      log.warn("Token minted from a fallback stage", {
        credential: credential.name,
        stage,
        secretVersionId: versionId,
        clientId: secret.clientId,
      });
    } else {
      log.info("Token minted", {
        credential: credential.name,
        secretVersionId: versionId,
        clientId: secret.clientId,
        tokenExpiresAt: new Date(token.expiresAt).toISOString(),
      });
    }
    return {
      accessToken: token.accessToken,
      tokenHash: hashToken(token.accessToken),
      issuedAt: token.expiresAt - token.expiresInSeconds * 1000,
      expiresAt: token.expiresAt,
      clientId: secret.clientId,
      secretVersionId: versionId,
      environment: secret.environment,
    };
  }
}
