/**
 * A measured Genesys behaviour profile (`genesys-rotator probe`, lambda/shared/genesys/profile.ts) as
 * emulator options: the emulator then behaves as the measured organisation did.
 */
import type { GenesysProfile } from "../../lambda/shared/genesys/profile.ts";
import type { GenesysEmulatorOptions } from "./emulator.ts";

/** The behaviour knobs a profile sets. */
export type ProfileBehaviour = Required<
  Pick<
    GenesysEmulatorOptions,
    | "invalidClientStatus"
    | "propagationDelayMs"
    | "tokensSurviveRegeneration"
    | "dateModifiedMovesOnRegeneration"
    | "clientIdsCaseSensitive"
    | "tokenLifetimeSeconds"
  >
>;

/**
 * The emulator options of `profile`. The MEDIAN propagation delay is applied (every new secret waits
 * that long); a status other than 400 or 401 is emulated as 401 (the code treats every 401 alike).
 */
export function emulatorOptionsFromProfile(profile: GenesysProfile): ProfileBehaviour {
  return {
    invalidClientStatus: profile.invalidClientStatus === 400 ? 400 : 401,
    propagationDelayMs: profile.propagationDelayMs.median,
    tokensSurviveRegeneration: profile.tokensSurviveRegeneration,
    dateModifiedMovesOnRegeneration: profile.dateModifiedMovesOnRegeneration,
    clientIdsCaseSensitive: profile.clientIdsCaseSensitive,
    tokenLifetimeSeconds: profile.tokenLifetimeSeconds,
  };
}
