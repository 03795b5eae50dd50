/**
 * Minting: read the credential's secret, call the token endpoint. On `invalid_client` the next staged
 * version is tried — AWSCURRENT, then AWSPENDING, then AWSPREVIOUS (docs/design.md#token-vending) — which is what makes a
 * `single`-strategy rotation invisible to consumers: between the regeneration in createSecret and
 * finishSecret only AWSPENDING works, and right after finishSecret a cached stage map may still point
 * AWSCURRENT at the old version.
 *
 * A fallback value is used only when it belongs to AWSCURRENT's credential (same environment and
 * strategy, and its clientId is AWSCURRENT's clientId or alternateClientId): a failed rotation's
 * AWSPENDING, or a value staged by someone who can write the secret but not change AWSCURRENT, must not
 * decide which client or organisation the fleet's tokens come from.
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
import { GenesysInvalidClientError, GenesysProtocolError } from "../shared/genesys/errors.ts";
import type { GenesysCallOptions } from "../shared/genesys/http.ts";
import type { AccessToken, ClientCredentialsRequest } from "../shared/genesys/oauth.ts";
import { MAX_ACCESS_TOKEN_VALIDITY_SECONDS } from "../shared/genesys/token-lifetime.ts";
import type { Log } from "../shared/log.ts";
import { type CredentialSecret, parseCredentialSecret } from "../shared/secret-value.ts";
import type { CredentialConfig } from "./config.ts";
import { CredentialRejectedError, TokenUnavailableError } from "./errors.ts";
import type { VendMetrics } from "./metrics.ts";
import { PLAUSIBLE_TOKEN } from "./payload.ts";
import { MINT_STAGES, type MintStage, type StagedSecretReader } from "./secret-stages.ts";
import { type CachedToken, hashToken } from "./token-cache.ts";

/** A freshly minted token; the L2 write assigns its generation. */
export type MintedToken = Omit<CachedToken, "generation">;

/** Options of one {@link Minter} call. */
export interface MintCallOptions {
  /**
   * Aborts the Secrets Manager calls (the caller's deadline). An aborted read fails the mint with
   * TokenUnavailableError; the token request itself is bounded by `deadline`.
   */
  abortSignal?: AbortSignal;
}

/** What the vending algorithm needs from minting. */
export interface Minter {
  /**
   * Mints a token for `credential`. One token request per staged version tried, no retries: the
   * caller owns retry policy (it re-checks the cache between attempts).
   * @throws CredentialRejectedError when no staged version works; TokenUnavailableError when Secrets
   *   Manager did not answer before the deadline; Genesys rate-limit/transient errors as thrown.
   */
  mint(credential: CredentialConfig, options: MintCallOptions & { deadline: number }): Promise<MintedToken>;
  /** The version AWSCURRENT labels right now (a fresh DescribeSecret), for cache warming after a rotation. */
  currentVersionId(credential: CredentialConfig, options?: MintCallOptions): Promise<string | undefined>;
  /**
   * The Genesys environment of the secret `secretArn`'s AWSCURRENT value as last read by this minter,
   * without I/O; undefined before the first read. Cached tokens of another environment are refused
   * (token-vetting.ts).
   */
  secretEnvironment?(secretArn: string): string | undefined;
  /**
   * Reads the secret's AWSCURRENT value (through the minter's cache) so that {@link secretEnvironment}
   * knows it, before this container serves a cached token it did not mint itself.
   */
  learnSecretEnvironment?(credential: CredentialConfig, options?: MintCallOptions): Promise<void>;
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
  /** Per-attempt timeout of a token request (runtime.ts, GENESYS_TIMEOUTS). */
  requestTimeoutMs: number;
  /** Deploy-time Genesys settings: allowed extra environments and the endpoint override (config.ts). */
  genesys: ResolveEndpointsOptions & { extraEnvironments: readonly string[] };
}

/** One staged version read and validated: usable for a token request, or why not (never the value). */
type StagedValue =
  | { usable: true; secret: CredentialSecret; endpoints: GenesysEndpoints }
  | { usable: false; problem: string };

/** {@link Minter} over Secrets Manager and the Genesys token endpoint. */
export class SecretsManagerMinter implements Minter {
  readonly #deps: MinterDependencies;
  /** Secret ARN → environment of the AWSCURRENT value last read and validated. */
  readonly #environments = new Map<string, string>();

  constructor(deps: MinterDependencies) {
    this.#deps = deps;
  }

  secretEnvironment(secretArn: string): string | undefined {
    return this.#environments.get(secretArn);
  }

  async learnSecretEnvironment(credential: CredentialConfig, options: MintCallOptions = {}): Promise<void> {
    if (this.#environments.has(credential.secretArn)) return;
    const call: MintCallOptions =
      options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
    const stageMap = await this.#fromSecretsManager(credential, call, () =>
      this.#deps.secrets.stages(credential.secretArn, call),
    );
    const currentVersionId = stageMap.versions.get("AWSCURRENT");
    const current =
      currentVersionId === undefined ? undefined : await this.#read(credential, currentVersionId, call);
    if (current?.usable) this.#environments.set(credential.secretArn, current.secret.environment);
  }

  async currentVersionId(
    credential: CredentialConfig,
    options: MintCallOptions = {},
  ): Promise<string | undefined> {
    const map = await this.#fromSecretsManager(credential, options, () =>
      this.#deps.secrets.stages(credential.secretArn, { ...options, forceRefresh: true }),
    );
    return map.versions.get("AWSCURRENT");
  }

  async mint(
    credential: CredentialConfig,
    options: MintCallOptions & { deadline: number },
  ): Promise<MintedToken> {
    const { secrets, log } = this.#deps;
    const call: MintCallOptions =
      options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal };
    let stageMap = await this.#fromSecretsManager(credential, call, () =>
      secrets.stages(credential.secretArn, call),
    );
    const tried = new Set<string>();
    const outcomes: string[] = [];
    // Pass 1 uses the cached stage map. If every version it names is rejected, the labels may have moved
    // (a rotation finished since): pass 2 re-reads them and tries the versions not tried yet.
    for (let pass = 0; pass < 2; pass++) {
      // AWSCURRENT's value is what a fallback value is checked against, even once AWSCURRENT was rejected.
      const currentVersionId = stageMap.versions.get("AWSCURRENT");
      const current =
        currentVersionId === undefined ? undefined : await this.#read(credential, currentVersionId, call);
      if (current?.usable) this.#environments.set(credential.secretArn, current.secret.environment);
      for (const stage of MINT_STAGES) {
        const versionId = stageMap.versions.get(stage);
        if (versionId === undefined) {
          if (pass === 0) outcomes.push(`${stage} absent`);
          continue;
        }
        // After finishSecret one version may carry two labels; a rejected version is not retried.
        if (tried.has(versionId)) continue;
        tried.add(versionId);
        const staged =
          stage === "AWSCURRENT" && current !== undefined
            ? current
            : await this.#read(credential, versionId, call);
        if (!staged.usable) {
          outcomes.push(`${stage} ${staged.problem}`);
          continue;
        }
        if (stage !== "AWSCURRENT") {
          const mismatch = fallbackMismatch(staged.secret, current?.usable ? current.secret : undefined);
          if (mismatch !== undefined) {
            this.#rejectFallback(credential, stage, versionId, mismatch, outcomes);
            continue;
          }
        }
        const minted = await this.#requestToken(
          credential,
          stage,
          versionId,
          staged,
          options.deadline,
          outcomes,
        );
        if (minted !== undefined) return minted;
      }
      if (pass === 1 || !stageMap.fromCache) break;
      stageMap = await this.#fromSecretsManager(credential, call, () =>
        secrets.stages(credential.secretArn, { ...call, forceRefresh: true }),
      );
    }
    log.error("No staged secret version could mint a token", {
      credential: credential.name,
      outcomes: outcomes.join("; "),
    });
    throw new CredentialRejectedError(credential.name, outcomes.join("; "));
  }

  /** Reads and validates one version. */
  async #read(credential: CredentialConfig, versionId: string, call: MintCallOptions): Promise<StagedValue> {
    const raw = await this.#fromSecretsManager(credential, call, () =>
      this.#deps.secrets.value(credential.secretArn, versionId, call),
    );
    if (raw === undefined) return { usable: false, problem: "has no value yet" };
    try {
      const secret = parseCredentialSecret(raw, { extraEnvironments: this.#deps.genesys.extraEnvironments });
      return { usable: true, secret, endpoints: resolveEndpoints(secret.environment, this.#deps.genesys) };
    } catch (error) {
      // The error names the field and rule, never the value.
      return { usable: false, problem: `invalid (${describeError(error).errorMessage})` };
    }
  }

  /** A fallback value that does not belong to AWSCURRENT's credential: skipped, logged and counted, never used. */
  #rejectFallback(
    credential: CredentialConfig,
    stage: MintStage,
    versionId: string,
    mismatch: string,
    outcomes: string[],
  ): void {
    outcomes.push(`${stage} skipped (${mismatch})`);
    this.#deps.metrics.count("FallbackStageRejected");
    this.#deps.log.warn("Fallback stage value rejected: it does not belong to AWSCURRENT's credential", {
      credential: credential.name,
      stage,
      secretVersionId: versionId,
      rule: mismatch,
    });
  }

  /** One token request with one validated version; undefined (and an outcome line) when it is rejected. */
  async #requestToken(
    credential: CredentialConfig,
    stage: MintStage,
    versionId: string,
    staged: Extract<StagedValue, { usable: true }>,
    deadline: number,
    outcomes: string[],
  ): Promise<MintedToken | undefined> {
    const { clock, log, metrics } = this.#deps;
    const { secret, endpoints } = staged;
    const timeoutMs = Math.max(1, Math.min(this.#deps.requestTimeoutMs, deadline - clock.now()));
    let token: AccessToken;
    try {
      token = await this.#deps.requestToken(
        { endpoints, clientId: secret.clientId, clientSecret: secret.clientSecret },
        { deadline, timeoutMs, maxAttempts: 1, clock, log },
      );
    } catch (error) {
      if (error instanceof GenesysInvalidClientError) {
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
    // What the cache would refuse to serve must not be stored: every reader would mint again.
    if (!PLAUSIBLE_TOKEN.test(token.accessToken)) {
      throw new GenesysProtocolError("the token endpoint returned an access token of an unexpected form", {
        operation: "POST /oauth/token",
      });
    }
    const issuedAt = token.expiresAt - token.expiresInSeconds * 1000;
    const lifetimeSeconds = Math.min(token.expiresInSeconds, MAX_ACCESS_TOKEN_VALIDITY_SECONDS);
    if (lifetimeSeconds < token.expiresInSeconds) {
      log.warn("Token lifetime longer than Genesys allows; treating it as the maximum", {
        credential: credential.name,
        expiresInSeconds: token.expiresInSeconds,
        maxSeconds: MAX_ACCESS_TOKEN_VALIDITY_SECONDS,
      });
    }
    const expiresAt = issuedAt + lifetimeSeconds * 1000;
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
        tokenExpiresAt: new Date(expiresAt).toISOString(),
      });
    }
    return {
      accessToken: token.accessToken,
      tokenHash: hashToken(token.accessToken),
      issuedAt,
      expiresAt,
      clientId: secret.clientId,
      secretVersionId: versionId,
      environment: secret.environment,
    };
  }

  /** Runs a Secrets Manager read; one cut short by the caller's deadline becomes TokenUnavailableError. */
  async #fromSecretsManager<T>(
    credential: CredentialConfig,
    call: MintCallOptions,
    read: () => Promise<T>,
  ): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (call.abortSignal?.aborted !== true) throw error;
      throw new TokenUnavailableError(credential.name, "Secrets Manager did not answer before the deadline", {
        cause: error,
      });
    }
  }
}

/**
 * Why a fallback (AWSPENDING/AWSPREVIOUS) value may not be used, or undefined when it may: it must be
 * for the same Genesys environment and strategy as AWSCURRENT's value, and for one of AWSCURRENT's
 * clients (its clientId, or its alternateClientId: the twin an alternating rotation switches to).
 * The reasons name fields, never values.
 */
function fallbackMismatch(
  fallback: CredentialSecret,
  reference: CredentialSecret | undefined,
): string | undefined {
  if (reference === undefined) return "AWSCURRENT has no valid value to check it against";
  if (fallback.environment !== reference.environment) return "its environment differs from AWSCURRENT's";
  if (fallback.strategy !== reference.strategy) return "its strategy differs from AWSCURRENT's";
  if (fallback.clientId !== reference.clientId && fallback.clientId !== reference.alternateClientId) {
    return "its clientId is neither AWSCURRENT's clientId nor its alternateClientId";
  }
  return undefined;
}
