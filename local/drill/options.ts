/**
 * Command-line options of `npm start` (the drill). Parsing is separate from running so tests can build
 * options without a process, and `--help` is generated from the same fault catalogue the drill uses.
 */
import { parseArgs } from "node:util";
import { ValidationError } from "../../lambda/shared/errors.ts";
import { type GenesysProfile, readGenesysProfileFile } from "../../lambda/shared/genesys/profile.ts";
import type { Strategy } from "../../lambda/shared/secret-value.ts";
import { CONSUMER_KINDS, type ConsumerKind } from "./consumer-kinds/index.ts";
import { FAULT_NAMES, FAULTS, type FaultName } from "./faults.ts";

/** Everything a drill run is configured with. */
export interface DrillOptions {
  /** Rotations triggered while traffic flows. @default 3 */
  rotations: number;
  /** Simulated consumer Lambda containers, each with its own TokenProvider. @default 8 */
  consumers: number;
  /** Target Genesys API calls per second, all consumers together. @default 200 */
  rate: number;
  /**
   * How the consumers call Genesys (the library's adapters); consumer `i` uses `consumerKinds[i % n]`.
   * @default ["fetch"]
   */
  consumerKinds: ConsumerKind[];
  /** Length of the traffic phase in seconds (extended while a rotation is still running). @default 45 */
  durationSeconds: number;
  /** Lifetime of every access token the Genesys emulator issues, short so refreshes happen. @default 20 */
  tokenLifetimeSeconds: number;
  /** Strategy of the rotated application credential. @default "alternating" */
  strategy: Strategy;
  /** Faults to inject (each at most once). @default none */
  faults: FaultName[];
  /** Seed of the fault schedule. @default a random seed, reported in the output */
  seed: number;
  /** Print one JSON object as the last line instead of the human summary. @default false */
  json: boolean;
  /** Write a self-contained HTML report here. @default none */
  reportFile: string | undefined;
  /** Let the handlers log at INFO (they log at WARN otherwise). @default false */
  verbose: boolean;
  /** Use dynalite (in-process, no Java) instead of DynamoDB Local. @default false (DynamoDB Local when Java exists) */
  dynalite: boolean;
  /**
   * Run the handlers' TypeScript sources (tsx) in the Lambda emulator instead of their shipped bundles
   * (dist/functions/, rebuilt first where the sources changed). @default false
   */
  fromSource: boolean;
  /**
   * Seconds into the traffic phase at which the active secret is treated as leaked and
   * `genesys-rotator emergency --replace-client` runs (alternating only). @default none
   */
  emergencyAtSeconds?: number | undefined;
  /**
   * A `genesys-rotator probe` profile: the Genesys emulator behaves as the measured organisation (every
   * behaviour but the token lifetime, which stays `tokenLifetimeSeconds`), and the rotation's
   * PROPAGATION_TIMEOUT_SECONDS is sized from it. @default none (the emulator's defaults)
   */
  genesysProfile?: GenesysProfile | undefined;
}

/** The defaults of {@link DrillOptions} (the seed is drawn per run). */
export const DEFAULT_DRILL_OPTIONS: Readonly<Omit<DrillOptions, "seed">> = {
  rotations: 3,
  consumers: 8,
  rate: 200,
  consumerKinds: ["fetch"],
  durationSeconds: 45,
  tokenLifetimeSeconds: 20,
  strategy: "alternating",
  faults: [],
  json: false,
  reportFile: undefined,
  verbose: false,
  dynalite: false,
  fromSource: false,
};

/** Bad command-line input. The CLI prints its message and exits 2. */
export class DrillUsageError extends ValidationError {
  override readonly name = "DrillUsageError";

  constructor(flag: string, rule: string) {
    super("npm start", flag, rule);
  }
}

/** The result of parsing: either options to run with, or a request for help. */
export type ParsedCommand = { help: true } | { help: false; options: DrillOptions };

export const USAGE = `Usage: npm start -- [options]

Runs the offline drill: starts the Genesys Cloud, Secrets Manager, DynamoDB and Lambda stand-ins,
deploys the rotation and token-vending functions, runs consumer workers that call the Genesys API with
vended tokens, and rotates the credential while the traffic flows. Exits non-zero when a consumer call
failed or a rotation failed in a way the injected faults do not explain.

Options:
  --rotations <n>          rotations during the drill (default 3)
  --consumers <n>          simulated consumer Lambda containers (default 8)
  --rate <calls/s>         target Genesys API calls per second, all consumers (default 200)
  --consumer-kind <kinds>  how consumers call Genesys: \${CONSUMER_KINDS.join(" | ")}; repeat or
                           comma-separate to mix them across the consumers (default fetch)
  --duration <s>           traffic phase in seconds (default 45)
  --token-lifetime <s>     lifetime of issued access tokens, at least 5 (default 20, so refreshes happen)
  --strategy <name>        alternating | single (default alternating)
  --fault <name>           inject a fault; repeatable (see below)
  --seed <n>               seed of the fault schedule (default: random, printed)
  --json                   print one JSON object as the last line
  --report <file.html>     write a self-contained HTML report with a timeline
  --dynalite               use dynalite instead of DynamoDB Local (no Java needed)
  --from-source            run the handlers' TypeScript sources, not the shipped bundles (dist/functions/)
  --emergency-at <s>       at this second of traffic, run \`genesys-rotator emergency --replace-client\`
                           (a leaked active secret; alternating only)
  --genesys-profile <file> behave as the organisation a \`genesys-rotator probe\` profile measured
                           (run it under your own org's profile before the first production rotation)
  --verbose                let the handlers log at INFO (default WARN)
  -h, --help               show this help

Faults:
${FAULT_NAMES.map((name) => `  ${name.padEnd(27)}${FAULTS[name].summary}`).join("\n")}

Details and which faults may fail a rotation: docs/drill.md.`;

/**
 * Parses `argv` (without node and the script).
 * @param randomSeed used when `--seed` is absent
 * @throws DrillUsageError naming the flag and the rule
 */
export function parseDrillArgs(
  argv: readonly string[],
  randomSeed: () => number = defaultSeed,
): ParsedCommand {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        rotations: { type: "string" },
        consumers: { type: "string" },
        rate: { type: "string" },
        "consumer-kind": { type: "string", multiple: true },
        duration: { type: "string" },
        "token-lifetime": { type: "string" },
        strategy: { type: "string" },
        fault: { type: "string", multiple: true },
        seed: { type: "string" },
        json: { type: "boolean" },
        report: { type: "string" },
        dynalite: { type: "boolean" },
        "from-source": { type: "boolean" },
        verbose: { type: "boolean" },
        "emergency-at": { type: "string" },
        "genesys-profile": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--x'"); they never carry a secret.
    throw new DrillUsageError("arguments", (error as Error).message);
  }
  if (values.help === true) return { help: true };

  const faults: FaultName[] = [];
  for (const name of (values.fault as string[] | undefined) ?? []) {
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      throw new DrillUsageError("--fault", `must be one of ${FAULT_NAMES.join(", ")}`);
    }
    if (!faults.includes(name as FaultName)) faults.push(name as FaultName);
  }
  const consumerKinds: ConsumerKind[] = [];
  for (const name of ((values["consumer-kind"] as string[] | undefined) ?? []).flatMap((v) => v.split(","))) {
    const kind = name.trim();
    if (!(CONSUMER_KINDS as readonly string[]).includes(kind)) {
      throw new DrillUsageError("--consumer-kind", `must be one of ${CONSUMER_KINDS.join(", ")}`);
    }
    if (!consumerKinds.includes(kind as ConsumerKind)) consumerKinds.push(kind as ConsumerKind);
  }
  const strategy = (values.strategy as string | undefined) ?? DEFAULT_DRILL_OPTIONS.strategy;
  if (strategy !== "alternating" && strategy !== "single") {
    throw new DrillUsageError("--strategy", "must be alternating or single");
  }
  const emergencyAtSeconds = number(values["emergency-at"], "--emergency-at", 0, 86_400);
  if (emergencyAtSeconds !== undefined && strategy !== "alternating") {
    throw new DrillUsageError("--emergency-at", "needs --strategy alternating (a single client has no twin)");
  }
  const profileFile = values["genesys-profile"] as string | undefined;
  let genesysProfile: GenesysProfile | undefined;
  if (profileFile !== undefined) {
    try {
      genesysProfile = readGenesysProfileFile(profileFile);
    } catch (error) {
      throw new DrillUsageError("--genesys-profile", (error as Error).message);
    }
  }
  const report = values.report as string | undefined;
  if (report !== undefined && report.trim() === "") throw new DrillUsageError("--report", "must name a file");

  return {
    help: false,
    options: {
      rotations: integer(values.rotations, "--rotations", 0, 50) ?? DEFAULT_DRILL_OPTIONS.rotations,
      consumers: integer(values.consumers, "--consumers", 1, 500) ?? DEFAULT_DRILL_OPTIONS.consumers,
      rate: number(values.rate, "--rate", 1, 20_000) ?? DEFAULT_DRILL_OPTIONS.rate,
      consumerKinds: consumerKinds.length > 0 ? consumerKinds : [...DEFAULT_DRILL_OPTIONS.consumerKinds],
      durationSeconds:
        number(values.duration, "--duration", 2, 86_400) ?? DEFAULT_DRILL_OPTIONS.durationSeconds,
      // Below a few seconds every vend would be a mint (the vendor refreshes in the last quarter of a
      // token's life and keeps at least 1 s of margin); real Genesys lifetimes start at 300 s.
      tokenLifetimeSeconds:
        integer(values["token-lifetime"], "--token-lifetime", 5, 172_800) ??
        DEFAULT_DRILL_OPTIONS.tokenLifetimeSeconds,
      strategy,
      faults,
      seed: integer(values.seed, "--seed", 0, 2 ** 32 - 1) ?? randomSeed(),
      json: values.json === true,
      reportFile: report,
      verbose: values.verbose === true,
      dynalite: values.dynalite === true,
      fromSource: values["from-source"] === true,
      ...(emergencyAtSeconds === undefined ? {} : { emergencyAtSeconds }),
      ...(genesysProfile === undefined ? {} : { genesysProfile }),
    },
  };
}

function defaultSeed(): number {
  return Math.floor(Math.random() * 1_000_000);
}

function number(value: unknown, flag: string, min: number, max: number, whole = false): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  const valid =
    typeof value === "string" &&
    value.trim() !== "" &&
    Number.isFinite(parsed) &&
    parsed >= min &&
    parsed <= max &&
    (!whole || Number.isInteger(parsed));
  if (!valid)
    throw new DrillUsageError(flag, `must be a ${whole ? "whole number" : "number"} from ${min} to ${max}`);
  return parsed;
}

function integer(value: unknown, flag: string, min: number, max: number): number | undefined {
  return number(value, flag, min, max, true);
}
