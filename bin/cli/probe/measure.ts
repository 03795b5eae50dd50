/**
 * The measurements of `genesys-rotator probe` (docs/cli.md "probe"): one throwaway client-credentials
 * client, created, measured and always deleted. Every wait is on the injected clock and honours the
 * abort signal (Ctrl-C); every request goes through the counting {@link ProbeTransport}, and the run
 * stops before it would exceed its request budget.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../../../lambda/shared/clock.ts";
import type { GenesysApi, OAuthClient } from "../../../lambda/shared/genesys/api.ts";
import { GenesysNotFoundError, GenesysUnauthorizedError } from "../../../lambda/shared/genesys/errors.ts";
import type { AccessToken } from "../../../lambda/shared/genesys/oauth.ts";
import {
  GENESYS_PROFILE_FORMAT,
  type GenesysProfile,
  medianOf,
} from "../../../lambda/shared/genesys/profile.ts";
import { CliError } from "../errors.ts";
import { ProbeSurpriseError, type ProbeTransport } from "./transport.ts";

/** Every throwaway client's name starts with this; `probe --cleanup` deletes clients by it. */
export const PROBE_CLIENT_PREFIX = "genesys-rotator-probe-";

/** How much the probe measures, and how hard it may poll. */
export interface ProbeSettings {
  /** Secret regenerations whose propagation is timed. @default 3 */
  regenerations: number;
  /** Consecutive accepted token requests before a new secret counts as propagated. @default 3 */
  acceptedStreak: number;
  /** Longest wait for one new secret to be accepted. @default 120000 */
  maxWaitMs: number;
  /** Shortest pause between two token requests (the pause grows to 1/8 of the time waited, at most 5 s). @default 250 */
  minPollMs: number;
  /** Requests the run may send in total, cleanup included; it stops (and cleans up) before exceeding it. @default 400 */
  maxRequests: number;
}

export const DEFAULT_PROBE_SETTINGS: Readonly<ProbeSettings> = {
  regenerations: 3,
  acceptedStreak: 3,
  maxWaitMs: 120_000,
  minPollMs: 250,
  maxRequests: 400,
};

/** Requests kept back for deleting the throwaway client (deactivate + delete, each retried once). */
const CLEANUP_RESERVE = 6;
const MAX_POLL_MS = 5_000;
/** dateModified may have a resolution of one second: regenerate at least this long after the last change. */
const DATE_RESOLUTION_GAP_MS = 1_100;

/** The probe was interrupted (Ctrl-C / SIGTERM). */
export class ProbeInterruptedError extends CliError {
  override readonly name = "ProbeInterruptedError";

  constructor(signal: string) {
    super(`probe: interrupted by ${signal}; nothing more was measured.`);
  }
}

/** What a run needs. */
export interface ProbeContext {
  clock: Clock;
  signal: AbortSignal;
  transport: ProbeTransport;
  /** The environment as the user named it (goes into the profile). */
  environment: string;
  /** One progress line (stderr). */
  progress(line: string): void;
  /** Called once the throwaway client exists (tests, and the kill -9 drill). */
  onClientCreated?(client: { id: string; name: string }): void;
}

/** The outcome of a run. */
export interface ProbeOutcome {
  profile: GenesysProfile;
  client: { id: string; name: string };
  /** Seconds the run took. */
  durationSeconds: number;
}

/**
 * Measures the behaviours of the profile with a throwaway client created through `admin`, and deletes
 * that client whatever happens (error, abort). A failed deletion is reported in the error, with the
 * command that finishes it.
 */
export async function measureGenesys(
  context: ProbeContext,
  adminApi: GenesysApi,
  settings: ProbeSettings,
): Promise<ProbeOutcome> {
  const { clock, transport } = context;
  const startedAt = clock.now();
  const organization = await adminApi.getOrganization();
  checkpoint(context, settings);
  const name = probeClientName(clock.now());
  const request = {
    name,
    description: `Throwaway client of genesys-rotator probe (${new Date(clock.now()).toISOString()}); safe to delete.`,
    authorizedGrantType: "CLIENT-CREDENTIALS" as const,
    roleDivisions: [],
  };
  let created: OAuthClient & { secret: string };
  try {
    created = await adminApi.createOAuthClient(request);
  } catch (error) {
    // The answer may be lost after Genesys created the client: look for it by its (unique) name.
    await deleteByName(adminApi, name).catch(() => undefined);
    throw error;
  }
  const client = { id: created.id, name };
  context.onClientCreated?.(client);
  context.progress(`probe: created the throwaway client ${name} (${created.id})`);
  const advice = `the throwaway client ${name} (${created.id}) could not be deleted; run \`genesys-rotator probe --cleanup\``;
  let measured: Measured;
  try {
    measured = await measureWithClient(context, adminApi, settings, created);
  } catch (error) {
    // The measurement's own failure (or the interruption) stays the error; a leftover is still reported.
    try {
      await retireClient(adminApi, created);
      context.progress(`probe: deleted the throwaway client ${name}`);
    } catch {
      context.progress(`probe: ${advice}`);
    }
    throw error;
  }
  try {
    await retireClient(adminApi, created);
  } catch (error) {
    throw new CliError(`probe: ${advice}.`, { cause: error });
  }
  context.progress(`probe: deleted the throwaway client ${name}`);
  return {
    client,
    durationSeconds: Math.round((clock.now() - startedAt) / 1000),
    profile: {
      format: GENESYS_PROFILE_FORMAT,
      measuredAt: new Date(clock.now()).toISOString(),
      environment: context.environment,
      organization: { id: organization.id, name: organization.name },
      ...measured,
      clockSkewMs: transport.clockSkewMs(),
      tokenRateLimitSeen: transport.rateLimitAnswers.length > 0,
      tokenRateLimitRetryAfter: transport.rateLimitAnswers.find((seconds) => seconds !== null) ?? null,
      requests: transport.requests,
    },
  };
}

type Measured = Pick<
  GenesysProfile,
  | "invalidClientStatus"
  | "invalidClientBody"
  | "propagationDelayMs"
  | "acceptedStreak"
  | "tokensSurviveRegeneration"
  | "tokenSurvivalCheckedForMs"
  | "dateModifiedMovesOnRegeneration"
  | "clientIdsCaseSensitive"
  | "tokenLifetimeSeconds"
>;

async function measureWithClient(
  context: ProbeContext,
  adminApi: GenesysApi,
  settings: ProbeSettings,
  created: OAuthClient & { secret: string },
): Promise<Measured> {
  const { clock, transport } = context;
  // The creation's secret propagates too: wait for it (not a sample: the issue times regenerations).
  const first = await waitUntilAccepted(context, settings, created.id, created.secret, clock.now());
  context.progress(`probe: the new client's secret was accepted after ${first.delayMs} ms`);
  const tokenLifetimeSeconds = first.token.expiresInSeconds;

  const clientIdsCaseSensitive = await idsCaseSensitive(adminApi, created.id);
  checkpoint(context, settings);
  const rejection = await transport.rejection(created.id, wrongSecret(created.secret));
  checkpoint(context, settings);
  const before = await adminApi.getOAuthClient(created.id);
  const lastChangeAt = clock.now();

  // A token of the secret about to be regenerated, checked after the regeneration.
  const oldToken = first.token;
  const samples: number[] = [];
  let survived = true;
  let survivalCheckedForMs = 0;
  let dateMoved = false;
  let firstRegenerationAt = 0;
  for (let index = 0; index < settings.regenerations; index++) {
    if (index === 0) await sleep(context, Math.max(0, lastChangeAt + DATE_RESOLUTION_GAP_MS - clock.now()));
    checkpoint(context, settings);
    const regenerated = await adminApi.regenerateClientSecret(created.id);
    const regeneratedAt = clock.now();
    if (index === 0) {
      firstRegenerationAt = regeneratedAt;
      survived = await tokenWorks(transport, oldToken);
    }
    const accepted = await waitUntilAccepted(
      context,
      settings,
      created.id,
      regenerated.secret,
      regeneratedAt,
    );
    samples.push(accepted.delayMs);
    context.progress(
      `probe: regeneration ${index + 1}/${settings.regenerations}: accepted after ${accepted.delayMs} ms`,
    );
    if (index === 0) {
      if (survived) survived = await tokenWorks(transport, oldToken);
      survivalCheckedForMs = Math.round(clock.now() - firstRegenerationAt);
      checkpoint(context, settings);
      const after = await adminApi.getOAuthClient(created.id);
      dateMoved = dateOf(after.dateModified) > dateOf(before.dateModified);
    }
  }
  if (survived && settings.regenerations > 1) {
    checkpoint(context, settings);
    survived = await tokenWorks(transport, oldToken);
    survivalCheckedForMs = Math.round(clock.now() - firstRegenerationAt);
  }
  return {
    invalidClientStatus: rejection.status,
    invalidClientBody: { error: rejection.error, keys: rejection.keys },
    propagationDelayMs: {
      min: Math.min(...samples),
      median: medianOf(samples),
      max: Math.max(...samples),
      samples,
    },
    acceptedStreak: settings.acceptedStreak,
    tokensSurviveRegeneration: survived,
    tokenSurvivalCheckedForMs: survivalCheckedForMs,
    dateModifiedMovesOnRegeneration: dateMoved,
    clientIdsCaseSensitive,
    tokenLifetimeSeconds,
  };
}

/**
 * Polls the token endpoint until `settings.acceptedStreak` consecutive requests accept the secret. The
 * delay is the midpoint between the last rejected and the first accepted request of the final streak
 * (0 when the first request was accepted), measured from `since`.
 */
async function waitUntilAccepted(
  context: ProbeContext,
  settings: ProbeSettings,
  clientId: string,
  secret: string,
  since: number,
): Promise<{ delayMs: number; token: AccessToken }> {
  const { clock, transport } = context;
  let lastRejectedAt: number | undefined;
  let streakStartedAt: number | undefined;
  let streak = 0;
  for (;;) {
    checkpoint(context, settings);
    const sentAt = clock.now();
    const attempt = await transport.tryMint(clientId, secret);
    if (attempt.outcome === "accepted") {
      if (streak === 0) streakStartedAt = sentAt;
      streak += 1;
      if (streak >= settings.acceptedStreak) {
        const acceptedAt = streakStartedAt ?? sentAt;
        const delayMs =
          lastRejectedAt === undefined ? 0 : Math.round((lastRejectedAt + acceptedAt) / 2 - since);
        return { delayMs: Math.max(0, delayMs), token: attempt.token };
      }
      await sleep(context, settings.minPollMs);
      continue;
    }
    streak = 0;
    if (attempt.outcome === "rejected") lastRejectedAt = sentAt;
    const waited = clock.now() - since;
    if (waited >= settings.maxWaitMs) {
      // The limit, not `waited`: how far a busy machine overshot it says nothing about the organisation.
      throw new CliError(
        `probe: a new secret of the throwaway client was still ${attempt.outcome === "rejected" ? "rejected (invalid_client)" : "rate limited"} ` +
          `after ${Math.round(settings.maxWaitMs / 1000)} s (--max-wait-seconds); raise it if your organisation is this slow.`,
      );
    }
    // A rate limit is waited out in full; otherwise the last request goes out at the limit rather than a
    // whole pause past it.
    const pause =
      attempt.outcome === "rate-limited"
        ? (attempt.retryAfterMs ?? 10_000)
        : Math.min(MAX_POLL_MS, Math.max(settings.minPollMs, waited / 8), settings.maxWaitMs - waited);
    await sleep(context, pause);
  }
}

/** Whether `token` still works on `GET /api/v2/tokens/me` (401: it does not). */
async function tokenWorks(transport: ProbeTransport, token: AccessToken): Promise<boolean> {
  try {
    await transport.api(token.accessToken).getTokenInfo();
    return true;
  } catch (error) {
    if (error instanceof GenesysUnauthorizedError) return false;
    throw error;
  }
}

/** GET of the client by its id in the other letter case: found → ids are case-insensitive. */
async function idsCaseSensitive(adminApi: GenesysApi, id: string): Promise<boolean> {
  const variant = id.toUpperCase() !== id ? id.toUpperCase() : id.toLowerCase();
  if (variant === id) {
    throw new ProbeSurpriseError(`probe: the client id ${id} has no letters, so its case cannot be tested`);
  }
  try {
    const found = await adminApi.getOAuthClient(variant);
    return found.id.toLowerCase() !== id.toLowerCase();
  } catch (error) {
    if (error instanceof GenesysNotFoundError) return true;
    throw error;
  }
}

/**
 * Makes a client inactive (Genesys deletes only inactive clients) and deletes it. A client already gone
 * is fine. Retried calls are idempotent.
 */
export async function retireClient(adminApi: GenesysApi, client: OAuthClient): Promise<void> {
  try {
    await adminApi.updateOAuthClient(client.id, {
      name: client.name,
      ...(client.description === undefined ? {} : { description: client.description }),
      authorizedGrantType: "CLIENT-CREDENTIALS",
      roleDivisions: client.roleDivisions ?? [],
      state: "inactive",
    });
    await adminApi.deleteOAuthClient(client.id);
  } catch (error) {
    if (!(error instanceof GenesysNotFoundError)) throw error;
  }
}

async function deleteByName(adminApi: GenesysApi, name: string): Promise<void> {
  for (const client of await adminApi.findOAuthClientsByName(name)) await retireClient(adminApi, client);
}

/** A name no other run shares: the prefix, the UTC time and a random suffix. */
export function probeClientName(now: number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${PROBE_CLIENT_PREFIX}${stamp}-${randomBytes(3).toString("hex")}`;
}

/** A secret that is certainly not `secret`, derived from nothing secret. */
function wrongSecret(secret: string): string {
  const candidate = `probe-wrong-${randomBytes(16).toString("hex")}`;
  return candidate === secret ? `${candidate}x` : candidate;
}

function dateOf(value: string | undefined): number {
  const parsed = Date.parse(value ?? "");
  return Number.isFinite(parsed) ? parsed : Number.NaN;
}

function checkpoint(context: ProbeContext, settings: ProbeSettings): void {
  if (context.signal.aborted) throw context.signal.reason;
  if (context.transport.requests >= settings.maxRequests - CLEANUP_RESERVE) {
    throw new CliError(
      `probe: stopped at its request budget (${settings.maxRequests} requests); the measurement is incomplete.`,
    );
  }
}

async function sleep(context: ProbeContext, ms: number): Promise<void> {
  if (ms <= 0) return;
  await context.clock.sleep(ms, context.signal);
}
