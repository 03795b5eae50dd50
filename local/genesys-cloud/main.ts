/**
 * `npm run genesys-emulator -- [options]`: runs the Genesys Cloud emulator as a standalone process.
 * Prints ONE JSON line when ready (`{"url", "clients", "organization"}`, never a secret) and exits
 * cleanly on SIGINT/SIGTERM.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { describeError } from "../../lambda/shared/errors.ts";
import { GenesysProfileError, readGenesysProfileFile } from "../../lambda/shared/genesys/profile.ts";
import {
  type GenesysEmulator,
  type InvalidClientStatus,
  parseGenesysState,
  startGenesysEmulator,
} from "./emulator.ts";
import { emulatorOptionsFromProfile } from "./profile.ts";

const EXAMPLE_STATE = fileURLToPath(new URL("./example-state.json", import.meta.url));

const USAGE = `Usage: npm run genesys-emulator -- [options]

Runs a Genesys Cloud emulator (login + Platform API) on 127.0.0.1 and prints one JSON line:
  {"url":"http://127.0.0.1:<port>","clients":["<id>",...],"organization":{"id","name"}}

Options:
  --port <n>                      TCP port (default 0: any free port)
  --state <file.json>             state file (default: local/genesys-cloud/example-state.json)
  --state-out <file.json>         on exit, write the final state (CONTAINS CURRENT SECRETS) to this file
  --token-lifetime <seconds>      override every client's accessTokenValiditySeconds
  --propagation-delay-ms <ms>     reject a new secret for this long after creation/regeneration (default 0)
  --tokens-die-on-regeneration    tokens issued before a secret regeneration become invalid (default: they survive)
  --invalid-client-status <400|401>  status of invalid_client answers at the token endpoint (default 400)
  --date-modified-fixed           a secret regeneration leaves the client's dateModified alone (default: it moves)
  --case-insensitive-ids          find clients by id in any letter case (default: exact match)
  --profile <file.json>           behave as a \`genesys-rotator probe\` profile says (median propagation
                                  delay, invalid_client status, token survival, dateModified, id case,
                                  token lifetime); the individual flags above override it
  --seed <n>                      seed of the fault random source (default 1)
  -h, --help                      show this help

The state file format is described in local/genesys-cloud/README.md ("Emulator state file").`;

/** Thrown for bad command-line input; printed without a stack. */
class UsageError extends Error {
  override readonly name = "UsageError";
}

function integerFlag(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new UsageError(`${flag}: must be an integer ≥ ${min}`);
  return parsed;
}

/** The entries of `values` that are set (a flag given overrides the profile; one not given does not). */
function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function loadState(path: string) {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--state: cannot read ${path} (${describeError(error).errorMessage})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`--state: ${path} is not valid JSON`);
  }
  return parseGenesysState(raw);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      state: { type: "string" },
      "state-out": { type: "string" },
      "token-lifetime": { type: "string" },
      "propagation-delay-ms": { type: "string" },
      "tokens-die-on-regeneration": { type: "boolean" },
      "invalid-client-status": { type: "string" },
      "date-modified-fixed": { type: "boolean" },
      "case-insensitive-ids": { type: "boolean" },
      profile: { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const state = loadState(values.state ?? EXAMPLE_STATE);
  const profile =
    values.profile === undefined
      ? undefined
      : emulatorOptionsFromProfile(readGenesysProfileFile(values.profile));
  const invalidClientStatus = integerFlag(values["invalid-client-status"], "--invalid-client-status", 400);
  if (invalidClientStatus !== undefined && invalidClientStatus !== 400 && invalidClientStatus !== 401) {
    throw new UsageError("--invalid-client-status: must be 400 or 401");
  }
  const emulator: GenesysEmulator = await startGenesysEmulator({
    ...profile,
    port: integerFlag(values.port, "--port", 0),
    state,
    ...defined({
      tokenLifetimeSeconds: integerFlag(values["token-lifetime"], "--token-lifetime", 1),
      propagationDelayMs: integerFlag(values["propagation-delay-ms"], "--propagation-delay-ms", 0),
      invalidClientStatus: invalidClientStatus as InvalidClientStatus | undefined,
      tokensSurviveRegeneration: values["tokens-die-on-regeneration"] ? false : undefined,
      dateModifiedMovesOnRegeneration: values["date-modified-fixed"] ? false : undefined,
      clientIdsCaseSensitive: values["case-insensitive-ids"] ? false : undefined,
    }),
    randomSeed: integerFlag(values.seed, "--seed", 0),
  });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await emulator.stop();
    if (values["state-out"])
      writeFileSync(values["state-out"], `${JSON.stringify(emulator.state.snapshot(), null, 2)}\n`);
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);

  const { id, name } = emulator.state.organization;
  process.stdout.write(
    `${JSON.stringify({
      url: emulator.url,
      clients: emulator.state.clients().map((client) => client.id),
      organization: { id, name },
    })}\n`,
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const { errorName, errorMessage } = describeError(error);
  const parseArgsError = String((error as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS");
  const usage =
    error instanceof UsageError ||
    errorName === "GenesysStateError" ||
    error instanceof GenesysProfileError ||
    parseArgsError;
  process.stderr.write(`genesys-emulator: ${errorMessage}\n${usage ? "Run with --help for usage.\n" : ""}`);
  process.exit(usage ? 2 : 1);
});
