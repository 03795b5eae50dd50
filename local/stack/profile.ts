/**
 * The drill under a measured Genesys profile (`npm start -- --genesys-profile <file>`): the emulator's
 * behaviour knobs from the profile, and the rotation's propagation timeout sized from it as the CDK
 * configuration sizes it (lambda/shared/genesys/profile.ts).
 */
import { type GenesysProfile, propagationTimeoutSecondsFor } from "../../lambda/shared/genesys/profile.ts";
import { emulatorOptionsFromProfile, type ProfileBehaviour } from "../genesys-cloud/profile.ts";

/** The drill's PROPAGATION_TIMEOUT_SECONDS without a profile: 4× the longest injected propagation delay. */
const DRILL_PROPAGATION_TIMEOUT_SECONDS = 15;

/** The emulator options of `profile` (none without one). */
export function profileBehaviour(profile: GenesysProfile | undefined): Partial<ProfileBehaviour> {
  return profile === undefined ? {} : emulatorOptionsFromProfile(profile);
}

/** An explicit timeout wins; else the profile sizes it (never below the drill's 15 s); else 15 s. */
export function drillPropagationTimeoutSeconds(options: {
  propagationTimeoutSeconds?: number | undefined;
  genesysProfile?: GenesysProfile | undefined;
}): number {
  if (options.propagationTimeoutSeconds !== undefined) return options.propagationTimeoutSeconds;
  return options.genesysProfile === undefined
    ? DRILL_PROPAGATION_TIMEOUT_SECONDS
    : propagationTimeoutSecondsFor(options.genesysProfile, DRILL_PROPAGATION_TIMEOUT_SECONDS);
}
