/**
 * `npm run local-stack`: starts the local stack for the operator CLI and writes its endpoints to
 * `.local-stack.json` (no secrets), which `genesys-rotator <command> --local` reads. Runs until
 * SIGINT/SIGTERM, then stops everything and removes the file.
 */
import { rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { LOCAL_STACK_FILE } from "../../contracts/local-stack-file.ts";
import { startCliStack } from "./stack.ts";

const USAGE = `Usage: npm run local-stack -- [options]

Starts the Genesys Cloud emulator, the Secrets Manager emulator, a local DynamoDB and the Lambda emulator
(rotation + vending functions), seeds an admin pair and an application credential, and writes the
endpoints to ${LOCAL_STACK_FILE} for \`genesys-rotator <command> --local\`.

Options:
  --out <file>   endpoints file (default ./${LOCAL_STACK_FILE})
  --dynalite     use dynalite instead of DynamoDB Local (no Java needed)
  --verbose      handlers log at INFO
  -h, --help     show this help`;

async function main(): Promise<void> {
  let values: { out?: string; dynalite?: boolean; verbose?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: "string" },
        dynalite: { type: "boolean" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const file = resolve(values.out ?? LOCAL_STACK_FILE);
  const stack = await startCliStack({
    preferDynalite: values.dynalite === true,
    verbose: values.verbose === true,
  });
  await writeFile(file, `${JSON.stringify(stack.endpoints, null, 2)}\n`, { mode: 0o644 });
  process.stdout.write(
    [
      `Local stack running; endpoints written to ${file}.`,
      `  secrets: ${Object.values(stack.endpoints.secrets).join(", ")}`,
      `  vending function: ${stack.endpoints.vendingFunction} (credential ${Object.keys(stack.endpoints.credentials).join(", ")})`,
      `Try: npm run -s rotator -- status --local --secret-id ${stack.endpoints.secrets.app}`,
      "Stop with Ctrl-C.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    Promise.allSettled([rm(file, { force: true }), stack.stop()]).then(() => process.exit(0));
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

await main();
