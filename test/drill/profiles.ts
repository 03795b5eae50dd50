/**
 * Genesys profiles for the drill tests: what `genesys-rotator probe` writes for the emulator's default
 * behaviour, with the fields a test flips.
 */
import {
  GENESYS_PROFILE_FORMAT,
  type GenesysProfile,
  parseGenesysProfile,
} from "../../lambda/shared/genesys/profile.ts";

/** A profile as probe writes it for the emulator's default behaviour, with `overrides`. */
export function profile(overrides: Partial<GenesysProfile> = {}): GenesysProfile {
  return parseGenesysProfile({
    format: GENESYS_PROFILE_FORMAT,
    measuredAt: "2026-12-01T10:00:00.000Z",
    environment: "mypurecloud.ie",
    invalidClientStatus: 400,
    invalidClientBody: { error: "invalid_client", keys: ["description", "error", "error_description"] },
    propagationDelayMs: { min: 200, median: 300, max: 400, samples: [300, 200, 400] },
    acceptedStreak: 3,
    tokensSurviveRegeneration: true,
    tokenSurvivalCheckedForMs: 2000,
    dateModifiedMovesOnRegeneration: true,
    clockSkewMs: 0,
    clientIdsCaseSensitive: true,
    tokenLifetimeSeconds: 86_400,
    tokenRateLimitRetryAfter: null,
    tokenRateLimitSeen: false,
    requests: 60,
    ...overrides,
  });
}
