/**
 * `--local`: reads the running local stack's `.local-stack.json`. The format and its validation are the
 * contract in contracts/local-stack-file.ts; this side adds what only the CLI needs: the file's path,
 * and advice on the command that (re)writes it.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  LOCAL_STACK_FILE,
  type LocalStackEndpoints,
  LocalStackFileError,
  validateLocalStackEndpoints,
} from "../../contracts/local-stack-file.ts";
import { CliError } from "./errors.ts";

/**
 * Reads and validates the endpoints file.
 * @throws CliError naming the file and the field, with the command that creates it.
 */
export async function readLocalStackEndpoints(file = LOCAL_STACK_FILE): Promise<LocalStackEndpoints> {
  const path = resolve(file);
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") {
      throw new CliError(
        `No local stack endpoints at ${path}: start the stack with \`npm run local-stack\` first.`,
      );
    }
    throw new CliError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new CliError(`${path} is not valid JSON: restart \`npm run local-stack\` to rewrite it.`);
  }
  try {
    return validateLocalStackEndpoints(value, path);
  } catch (error) {
    // Rethrown with the same message (file, field, rule) as the CliError every other unusable-file
    // failure above is, so the line, the exit code and `--json`'s error name do not depend on which it was.
    if (error instanceof LocalStackFileError) throw new CliError(error.message, { cause: error });
    throw error;
  }
}
