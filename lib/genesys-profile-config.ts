/**
 * The `genesysProfile` key of the deployment configuration: a profile measured by `genesys-rotator probe`
 * (lambda/shared/genesys/profile.ts), given as a file path (relative to the directory `cdk` runs in) or
 * inline. It sizes `rotationFunction.propagationTimeoutSeconds` when that is not set, and the construct
 * warns at synth when the configuration contradicts what the profile measured (docs/deploy.md).
 */
import { Annotations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import {
  type GenesysProfile,
  GenesysProfileError,
  parseGenesysProfile,
  propagationTimeoutSecondsFor,
  readGenesysProfileFile,
} from "../lambda/shared/genesys/profile.ts";
import type { Strategy } from "../lambda/shared/secret-value.ts";

/** The profile, or the rule it breaks (reported under its key path, like every configuration issue). */
export type ProfileConfigResult = { profile?: GenesysProfile; issue?: undefined } | { issue: string };

/** Reads `genesysProfile` (absent → no profile). */
export function readProfileConfig(raw: unknown): ProfileConfigResult {
  if (raw === undefined) return {};
  try {
    const profile = typeof raw === "string" ? readGenesysProfileFile(raw) : parseGenesysProfile(raw);
    // A wrong-secret status the code would not read as invalid_client: testSecret would fail every rotation
    // instead of waiting out the propagation, so the deployment must not go ahead on it.
    if (profile.invalidClientStatus !== 400 && profile.invalidClientStatus !== 401) {
      return {
        issue: `measured invalid_client status ${profile.invalidClientStatus}, but the rotation recognises only 400 and 401; report it (docs/genesys-facts.md)`,
      };
    }
    return { profile };
  } catch (error) {
    if (error instanceof GenesysProfileError) {
      return {
        issue: `must be a profile file path or object written by genesys-rotator probe: ${error.message}`,
      };
    }
    throw error;
  }
}

/**
 * PROPAGATION_TIMEOUT_SECONDS: the configured value; else sized from the profile (never below the default,
 * at most `maxSeconds`); else the default.
 */
export function profiledPropagationTimeout(
  configured: number | undefined,
  profile: GenesysProfile | undefined,
  defaults: { seconds: number; maxSeconds: number },
): number {
  if (configured !== undefined) return configured;
  if (profile === undefined) return defaults.seconds;
  return Math.min(defaults.maxSeconds, propagationTimeoutSecondsFor(profile, defaults.seconds));
}

/** What the synth warnings are computed from. */
export interface ProfileCheckInput {
  profile: GenesysProfile;
  propagationTimeoutSeconds: number;
  credentials: readonly { name: string; environment: string; strategy: Strategy }[];
}

/** The warnings synth prints for a configuration under a profile (empty: nothing contradicts it). */
export function genesysProfileWarnings(input: ProfileCheckInput): string[] {
  const { profile } = input;
  const warnings: string[] = [];
  const maxMs = profile.propagationDelayMs.max;
  if (input.propagationTimeoutSeconds * 1000 < maxMs) {
    warnings.push(
      `rotationFunction.propagationTimeoutSeconds (${input.propagationTimeoutSeconds} s) is below the measured maximum propagation delay ` +
        `(${maxMs} ms, genesysProfile measured ${profile.measuredAt}): rotations will fail waiting for new secrets; ` +
        `set it to at least ${propagationTimeoutSecondsFor(profile, 0)} s or leave it unset to size it from the profile`,
    );
  }
  if (!profile.tokensSurviveRegeneration) {
    const single = input.credentials.filter((credential) => credential.strategy === "single");
    if (single.length > 0) {
      warnings.push(
        `genesysProfile: tokens die when a secret is regenerated, so every rotation of the single-strategy credential(s) ` +
          `${single.map((credential) => credential.name).join(", ")} cuts off consumers until they get a new token; use alternating (docs/design.md#rotation-strategies)`,
      );
    }
  }
  const elsewhere = input.credentials.filter((credential) => credential.environment !== profile.environment);
  if (elsewhere.length > 0) {
    warnings.push(
      `genesysProfile was measured in ${profile.environment}, but credential(s) ${elsewhere.map((c) => c.name).join(", ")} ` +
        "live elsewhere: probe each organisation and deploy it with its own profile",
    );
  }
  return warnings;
}

/** Adds the {@link genesysProfileWarnings} of a configuration to `scope` (`cdk synth` prints them). */
export function warnAboutGenesysProfile(
  scope: IConstruct,
  config: {
    genesysProfile?: GenesysProfile | undefined;
    rotationFunction: { propagationTimeoutSeconds: number };
    credentials: ProfileCheckInput["credentials"];
  },
): void {
  if (config.genesysProfile === undefined) return;
  const warnings = genesysProfileWarnings({
    profile: config.genesysProfile,
    propagationTimeoutSeconds: config.rotationFunction.propagationTimeoutSeconds,
    credentials: config.credentials,
  });
  warnings.forEach((warning, index) => {
    Annotations.of(scope).addWarningV2(`genesys-oauth-rotator:genesysProfile${index}`, warning);
  });
}
