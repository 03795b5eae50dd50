/**
 * What every rotation step works with: its dependencies (passed in, so tests need no module mocks), the
 * guard's view of the secret, and per-invocation memoisation of values and tokens so one step reads each
 * staged value and mints each token at most once.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Clock, Random } from "../shared/clock.ts";
import type { GenesysApi } from "../shared/genesys/api.ts";
import type { GenesysEndpoints } from "../shared/genesys/environments.ts";
import { GenesysInvalidClientError } from "../shared/genesys/errors.ts";
import type { GenesysGateway } from "../shared/genesys/gateway.ts";
import type { AccessToken } from "../shared/genesys/oauth.ts";
import type { Log } from "../shared/log.ts";
import type { CredentialSecret, Strategy } from "../shared/secret-value.ts";
import {
  readCurrentCredential,
  readPendingCredential,
  resolveAdminCredential,
  type StagedCredential,
} from "./credentials.ts";
import { AdminCredentialError, CurrentCredentialRejectedError } from "./errors.ts";
import type { FinishHook } from "./finish-hooks.ts";
import type { RotationVersion } from "./secrets.ts";

/** The Platform API calls the rotation makes (a test's stand-in session needs only these). */
export type RotationGenesysApi = Pick<
  GenesysApi,
  | "getOAuthClient"
  | "regenerateClientSecret"
  | "getTokenInfo"
  | "getIntegrationCredential"
  | "updateIntegrationCredential"
>;

/** Counters and timings the rotation emits (CloudWatch EMF in the handler; anything in tests). */
export interface RotationMetrics {
  /** Adds `value` (default 1) to a count metric. */
  count(name: string, value?: number): void;
  /** Records a duration metric in milliseconds. */
  milliseconds(name: string, value: number): void;
}

/** Metrics that go nowhere. */
export const NO_METRICS: RotationMetrics = { count: () => {}, milliseconds: () => {} };

/** The dependencies of {@link rotate}. The handler builds them from the environment; tests build their own. */
export interface RotationDependencies {
  secretsManager: SecretsManagerClient;
  genesys: GenesysGateway<RotationGenesysApi>;
  clock: Clock;
  /** Jitter for propagation backoff. */
  random: Random;
  log: Log;
  /** @default NO_METRICS */
  metrics?: RotationMetrics;
  /** How long testSecret polls for the new secret to be accepted (Genesys needs ~10 s). */
  propagationTimeoutMs: number;
  /** Environment domains accepted besides the built-in list (deploy-time configuration). */
  extraEnvironments: readonly string[];
  /** Best-effort actions after finishSecret (cache warming, integration credentials). @default none */
  finishHooks?: readonly FinishHook[];
  /**
   * Deploy-time pins (`ADMIN_SECRET_ARNS`): secret name or ARN → the admin secret ARN its value must name
   * (`""`: none, a self-managed pair). @default undefined: not pinned
   */
  adminSecretPins?: Readonly<Record<string, string>> | undefined;
  /**
   * `MIN_ROTATION_GAP_SECONDS` in ms: createSecret refuses to regenerate the client AWSPREVIOUS names
   * until AWSPREVIOUS was replaced this long ago. @default 0 (no gap)
   */
  minRotationGapMs?: number;
  /**
   * `INTEGRATION_CREDENTIALS`: secret name or ARN → integration credential ids. createSecret re-syncs
   * any of them that still holds the client it is about to regenerate. @default {}
   */
  integrationCredentials?: Readonly<Record<string, readonly string[]>>;
}

/** Which credential a token is minted for; decides how a rejection is reported. */
export type CredentialRole = "current" | "admin";

/** One step's view of the rotation. */
export class StepContext {
  readonly deps: RotationDependencies;
  readonly version: RotationVersion;
  readonly metrics: RotationMetrics;
  /** The step's logger; gains the `strategy` key once the current value is known. */
  log: Log;
  /** The secret's strategy, once the current value has been read (for the handler's log context). */
  strategy: Strategy | undefined;
  #current?: Promise<StagedCredential>;
  #admin?: Promise<StagedCredential>;
  readonly #tokens = new Map<string, Promise<AccessToken>>();
  /**
   * When the invocation must be done (epoch ms on `deps.clock`): Lambda's remaining time minus a margin.
   * No Genesys attempt starts or sleeps past it. @default undefined (no limit: direct calls, tests)
   */
  readonly deadline: number | undefined;

  constructor(deps: RotationDependencies, version: RotationVersion, log: Log, deadline?: number) {
    this.deps = deps;
    this.version = version;
    this.log = log;
    this.metrics = deps.metrics ?? NO_METRICS;
    this.deadline = deadline;
  }

  /** Milliseconds left before {@link deadline} (Infinity without one). */
  remainingMs(): number {
    return this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - this.deps.clock.now();
  }

  /** The per-call limits every Genesys call of this step gets (the step's deadline). */
  callLimits(): { deadline?: number } {
    return this.deadline === undefined ? {} : { deadline: this.deadline };
  }

  /** The validated AWSCURRENT value (read once per step). */
  current(): Promise<StagedCredential> {
    this.#current ??= readCurrentCredential(
      this.deps.secretsManager,
      this.version,
      this.deps.extraEnvironments,
    ).then((current) => {
      this.strategy = current.value.strategy;
      this.log = withLogKeys(this.log, { strategy: current.value.strategy });
      return current;
    });
    return this.#current;
  }

  /** The validated value under the rotation's token, or `undefined` while it is the empty placeholder. */
  pending(): Promise<StagedCredential | undefined> {
    return readPendingCredential(this.deps.secretsManager, this.version, this.deps.extraEnvironments);
  }

  /** The validated admin credential for the current value (the current value itself for a self-managed pair). */
  admin(): Promise<StagedCredential> {
    this.#admin ??= this.current().then((current) =>
      resolveAdminCredential(
        this.deps.secretsManager,
        this.version,
        current.value,
        this.deps.extraEnvironments,
        this.deps.adminSecretPins,
      ),
    );
    return this.#admin;
  }

  /** The hosts of a credential's environment; throws before any request for an environment not allowed. */
  endpoints(credential: CredentialSecret): GenesysEndpoints {
    return this.deps.genesys.endpoints(credential.environment);
  }

  /**
   * Mints (once per step) a token for a credential that must work now. `invalid_client` becomes the
   * error of the credential's role; other failures (throttling, 5xx) keep their own type and retryability.
   */
  async mint(staged: StagedCredential, role: CredentialRole): Promise<AccessToken> {
    const credential = staged.value;
    // The map lives for one step of one invocation; its keys never leave this object.
    const key = `${credential.clientId}\u0000${credential.clientSecret}`;
    let pending = this.#tokens.get(key);
    if (pending === undefined) {
      pending = this.deps.genesys.requestToken(
        this.endpoints(credential),
        credential.clientId,
        credential.clientSecret,
        this.callLimits(),
      );
      this.#tokens.set(key, pending);
      pending.catch(() => this.#tokens.delete(key));
    }
    try {
      return await pending;
    } catch (error) {
      if (!(error instanceof GenesysInvalidClientError)) throw error;
      if (role === "admin") {
        throw new AdminCredentialError(
          // True in every step: only createSecret regenerates, and it mints the admin token first.
          `${staged.where}: Genesys rejected admin client ${credential.clientId} (invalid_client); this step regenerated ` +
            "no secret (for a single-client secret an earlier createSecret may have: see docs/rotation.md, runbook). " +
            "Fix or rotate the admin secret",
          { cause: error },
        );
      }
      throw new CurrentCredentialRejectedError(
        `${staged.where}: Genesys rejected client ${credential.clientId} (invalid_client); refusing to regenerate any secret ` +
          "(confused-deputy guard). Store the client's live secret in AWSCURRENT, or see docs/rotation.md",
        { cause: error },
      );
    }
  }

  /** A Platform API client acting as the admin credential. */
  async adminApi(): Promise<RotationGenesysApi> {
    const admin = await this.admin();
    const token = await this.mint(admin, "admin");
    return this.deps.genesys.api(this.endpoints(admin.value), token.accessToken, this.callLimits());
  }
}

/** A logger that adds `keys` to every line (for the `strategy` context, known only after the first read). */
export function withLogKeys(log: Log, keys: Record<string, unknown>): Log {
  return {
    debug: (message, ...extra) => log.debug(message, keys, ...extra),
    info: (message, ...extra) => log.info(message, keys, ...extra),
    warn: (message, ...extra) => log.warn(message, keys, ...extra),
    error: (message, ...extra) => log.error(message, keys, ...extra),
  };
}
