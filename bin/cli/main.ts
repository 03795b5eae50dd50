/**
 * The operator CLI's dispatcher: picks the command, parses and validates its flags, builds the
 * dependencies for the target (real AWS or `--local`), runs it and prints the result as text or JSON.
 * Exit codes: 0 success, 2 the command line was wrong, and one code per error class for failures
 * (errors.ts `exitCodeOf`, docs/cli.md "Exit codes").
 */
import { readFileSync } from "node:fs";
import { LOCAL_STACK_FILE } from "../../contracts/local-stack-file.ts";
import { systemClock } from "../../lambda/shared/clock.ts";
import { closeSharedDispatcher } from "../../lambda/shared/genesys/http.ts";
import {
  type CommandSpec,
  commandHelp,
  flag,
  type ParsedValues,
  parseCommandArgs,
  regionOption,
} from "./args.ts";
import { emergencySpec, parseEmergencyInput, renderEmergency, runEmergency } from "./emergency.ts";
import { describeFailure, EXIT_USAGE, jsonFailure, UsageError } from "./errors.ts";
import { readLocalStackEndpoints } from "./local-stack-file.ts";
import { parseProbeInput, probeSpec, renderProbe, runProbe } from "./probe.ts";
import { parseRecoverInput, recoverExitCode, recoverSpec, renderRecover, runRecover } from "./recover.ts";
import { parseRotateInput, renderRotate, rotateExitCode, rotateSpec, runRotate } from "./rotate.ts";
import {
  type CliDependencies,
  type CliOutput,
  createAwsClients,
  createGenesysGatewayFor,
  processOutput,
  readProcessStdin,
  type Target,
  terminalConfirm,
} from "./runtime.ts";
import { parseSeedInput, renderSeed, runSeed, seedSpec } from "./seed.ts";
import { parseStatusInput, renderStatus, runStatus, statusSpec } from "./status.ts";
import { parseVendInput, renderVend, runVend, vendSpec } from "./vend.ts";

/** The program name in help and suggested commands. */
export const PROGRAM = "genesys-rotator";

/** One command: its spec, input parser, runner, renderer and exit-code rule. */
interface Command<Input, Report> {
  spec: CommandSpec;
  parse(values: ParsedValues): Input;
  run(input: Input, deps: CliDependencies): Promise<Report>;
  render(report: Report): string;
  exitCode?(report: Report): number;
}

function command<Input, Report>(definition: Command<Input, Report>): Command<unknown, unknown> {
  return definition as Command<unknown, unknown>;
}

/** Every command, in help order. */
export const COMMANDS: readonly Command<unknown, unknown>[] = [
  command({ spec: seedSpec, parse: parseSeedInput, run: runSeed, render: renderSeed }),
  command({ spec: statusSpec, parse: parseStatusInput, run: runStatus, render: renderStatus }),
  command({
    spec: rotateSpec,
    parse: parseRotateInput,
    run: runRotate,
    render: renderRotate,
    exitCode: rotateExitCode,
  }),
  command({
    spec: recoverSpec,
    parse: parseRecoverInput,
    run: runRecover,
    render: renderRecover,
    exitCode: recoverExitCode,
  }),
  command({ spec: vendSpec, parse: parseVendInput, run: runVend, render: renderVend }),
  command({
    spec: emergencySpec,
    parse: parseEmergencyInput,
    run: runEmergency,
    render: renderEmergency,
    exitCode: (report) => (report.dryRun || report.applied ? 0 : 1),
  }),
  command({
    spec: probeSpec,
    parse: parseProbeInput,
    run: (input, deps) => runProbe(input, deps),
    render: renderProbe,
  }),
];

/** The version of this package (package.json), printed by `--version`. */
export function toolVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}

/** The tool's own help. */
export function toolHelp(): string {
  const width = Math.max(...COMMANDS.map((entry) => entry.spec.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    "",
    "Operate Genesys Cloud OAuth secret rotation on AWS: the same commands against real AWS (default",
    "credential chain, --profile, --region) or the local stack (--local, after `npm run local-stack`).",
    "Secrets and access tokens are never printed.",
    "",
    "Commands:",
    ...COMMANDS.map((entry) => `  ${entry.spec.name.padEnd(width)}${entry.spec.summary}`),
    "",
    `Run \`${PROGRAM} <command> --help\` for a command's options; \`${PROGRAM} --version\` for the version.`,
    "Exit codes: 0 success, 1 the operation failed, 2 invalid command line, 3 an AWS call failed,",
    "4 Genesys Cloud failed, 5 the token vendor failed. With --json, errors are one JSON object on stderr.",
  ].join("\n");
}

/** Dependencies that replace the production ones (tests). */
export type DependencyOverrides = Partial<CliDependencies>;

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code. Never throws:
 * every failure becomes one line on stderr.
 */
export async function main(argv: readonly string[], overrides: DependencyOverrides = {}): Promise<number> {
  const out: CliOutput = overrides.out ?? processOutput;
  const [name, ...rest] = argv;
  // No arguments: help on stderr (it is not the output of a command) and exit 2; asked for: stdout, 0.
  if (name === undefined) {
    out.stderr(toolHelp());
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    out.stdout(toolHelp());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    out.stdout(`${PROGRAM} ${toolVersion()}`);
    return 0;
  }
  const entry = COMMANDS.find((candidate) => candidate.spec.name === name);
  // Decided before parsing, so that a command line that does not parse still fails in JSON.
  const json = rest.includes("--json");
  let deps: CliDependencies | undefined;
  try {
    if (entry === undefined) {
      throw new UsageError(
        "(command)",
        `"${name.replace(/[^\w-]/g, "?").slice(0, 40)}" is unknown; commands: ${COMMANDS.map((c) => c.spec.name).join(", ")}`,
      );
    }
    if (rest.length === 0) {
      out.stderr(commandHelp(PROGRAM, entry.spec));
      return EXIT_USAGE;
    }
    const values = parseCommandArgs(entry.spec, rest);
    if (flag(values, "help")) {
      out.stdout(commandHelp(PROGRAM, entry.spec));
      return 0;
    }
    const input = entry.parse(values);
    const target = overrides.target ?? (await resolveTarget(values));
    deps = buildDependencies(target, out, overrides);
    const report = await entry.run(input, deps);
    out.stdout(flag(values, "json") ? JSON.stringify(report, null, 2) : entry.render(report));
    return entry.exitCode?.(report) ?? 0;
  } catch (error) {
    const failure = describeFailure(error);
    out.stderr(json ? JSON.stringify(jsonFailure(error)) : failure.line);
    return failure.exitCode;
  } finally {
    if (overrides.secretsManager === undefined) deps?.secretsManager.destroy();
    if (overrides.lambda === undefined) deps?.lambda.destroy();
    if (overrides.dynamodb === undefined) deps?.dynamodb.destroy();
    if (overrides.cloudformation === undefined) deps?.cloudformation.destroy();
  }
}

/** `--local` / `--endpoints FILE` → the local stack; otherwise real AWS with `--region` / `--profile`. */
async function resolveTarget(values: ParsedValues): Promise<Target> {
  const endpointsFile = typeof values.endpoints === "string" ? values.endpoints : undefined;
  if (flag(values, "local") || endpointsFile !== undefined) {
    if (values.region !== undefined || values.profile !== undefined) {
      throw new UsageError(
        values.region !== undefined ? "--region" : "--profile",
        "is not allowed with --local",
      );
    }
    return { kind: "local", endpoints: await readLocalStackEndpoints(endpointsFile ?? LOCAL_STACK_FILE) };
  }
  const region = regionOption(values);
  const profile = typeof values.profile === "string" ? values.profile : undefined;
  if (profile !== undefined && !/^[A-Za-z0-9_.+-]{1,128}$/.test(profile)) {
    throw new UsageError("--profile", "must be a profile name of [A-Za-z0-9_.+-]");
  }
  return {
    kind: "aws",
    ...(region === undefined ? {} : { region }),
    ...(profile === undefined ? {} : { profile }),
  };
}

function buildDependencies(target: Target, out: CliOutput, overrides: DependencyOverrides): CliDependencies {
  const clock = overrides.clock ?? systemClock;
  // Constructing SDK clients does no I/O; the ones a test replaced are closed at once.
  const clients = createAwsClients(target);
  if (overrides.secretsManager !== undefined) clients.secretsManager.destroy();
  if (overrides.lambda !== undefined) clients.lambda.destroy();
  if (overrides.dynamodb !== undefined) clients.dynamodb.destroy();
  if (overrides.cloudformation !== undefined) clients.cloudformation.destroy();
  return {
    target,
    secretsManager: overrides.secretsManager ?? clients.secretsManager,
    lambda: overrides.lambda ?? clients.lambda,
    dynamodb: overrides.dynamodb ?? clients.dynamodb,
    cloudformation: overrides.cloudformation ?? clients.cloudformation,
    genesys: overrides.genesys ?? createGenesysGatewayFor(target, clock),
    out,
    clock,
    readStdin: overrides.readStdin ?? readProcessStdin,
    confirm: "confirm" in overrides ? overrides.confirm : terminalConfirm(),
  };
}

/** Runs the CLI as a process: exit code set, the shared Genesys connection pool closed. */
export async function runAsProcess(argv: readonly string[]): Promise<void> {
  const code = await main(argv);
  await closeSharedDispatcher();
  process.exitCode = code;
}
