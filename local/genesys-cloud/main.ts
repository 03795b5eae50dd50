/**
 * `npm run genesys-emulator -- [options]`: runs the Genesys Cloud emulator as a standalone process.
 * Prints ONE JSON line when ready (`{"url", "clients", "organization"}`, never a secret) and exits
 * cleanly on SIGINT/SIGTERM.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { describeError } from "../../lambda/shared/errors.ts";
import { type GenesysEmulator, parseGenesysState, startGenesysEmulator } from "./emulator.ts";

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
  const emulator: GenesysEmulator = await startGenesysEmulator({
    port: integerFlag(values.port, "--port", 0),
    state,
    tokenLifetimeSeconds: integerFlag(values["token-lifetime"], "--token-lifetime", 1),
    propagationDelayMs: integerFlag(values["propagation-delay-ms"], "--propagation-delay-ms", 0),
    tokensSurviveRegeneration: !values["tokens-die-on-regeneration"],
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
  const usage = error instanceof UsageError || errorName === "GenesysStateError" || parseArgsError;
  process.stderr.write(`genesys-emulator: ${errorMessage}\n${usage ? "Run with --help for usage.\n" : ""}`);
  process.exit(usage ? 2 : 1);
});
