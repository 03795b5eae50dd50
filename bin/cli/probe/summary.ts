/**
 * What each finding of a Genesys profile means for the rotation settings: the human summary `probe`
 * prints (docs/cli.md "probe" has the same explanations).
 */
import { type GenesysProfile, propagationTimeoutSecondsFor } from "../../../lambda/shared/genesys/profile.ts";

/** One paragraph per finding. */
export function explainProfile(profile: GenesysProfile): string[] {
  const delay = profile.propagationDelayMs;
  const skew = profile.clockSkewMs;
  return [
    `Wrong secret → HTTP ${profile.invalidClientStatus} ${profile.invalidClientBody.error ?? "(no error code)"}` +
      (profile.invalidClientStatus === 400 || profile.invalidClientStatus === 401
        ? ": handled (400 invalid_client and any 401 mean a rejected credential)."
        : ": NOT a status the rotation recognises as invalid_client; report this (docs/genesys-facts.md)."),
    `Propagation of a regenerated secret: min ${delay.min} ms, median ${delay.median} ms, max ${delay.max} ms ` +
      `(samples ${delay.samples.join(", ")} ms; ${profile.acceptedStreak} consecutive accepted requests).` +
      ` Set rotationFunction.propagationTimeoutSeconds to at least ${propagationTimeoutSecondsFor(profile, 0)} s, or give cdk.json this profile (genesysProfile) to size it.`,
    profile.tokensSurviveRegeneration
      ? `Tokens minted before a regeneration kept working (checked for ${Math.round(profile.tokenSurvivalCheckedForMs / 1000)} s): a single-strategy rotation does not cut off holders of cached tokens.`
      : `Tokens minted before a regeneration were REJECTED afterwards: with the single strategy every consumer needs a new token after each rotation (the vendor refreshes and replaces reported tokens); prefer alternating.`,
    profile.dateModifiedMovesOnRegeneration
      ? "dateModified moves when a secret is regenerated."
      : "dateModified does NOT move when a secret is regenerated (the rotation does not rely on it).",
    `Clock skew (Genesys Date header − this machine): ${skew === null ? "no Date header seen" : `${skew} ms (1 s resolution)`}.`,
    profile.clientIdsCaseSensitive
      ? "Client ids are case-sensitive: store them exactly as Genesys shows them."
      : "Client ids are case-INSENSITIVE in lookups, but Genesys answers with its own spelling: store ids exactly as Genesys shows them (testSecret compares them exactly and fails loudly otherwise).",
    `Token lifetime of a client without accessTokenValiditySeconds: ${profile.tokenLifetimeSeconds} s.`,
    profile.tokenRateLimitSeen
      ? `A token-endpoint rate limit was hit (Retry-After: ${profile.tokenRateLimitRetryAfter ?? "none"}); the probe backed off.`
      : "No token-endpoint rate limit was seen (none was provoked).",
  ];
}
