/**
 * `npm run schema`: writes the JSON Schemas of the configuration (docs/deploy.md, "Editor support") from
 * its zod/mini schema (lib/config-schema.ts), so that editors complete and check cdk.json:
 *
 * - schema/cdk-context.schema.json: the value of the context key `genesys-oauth-rotator`;
 * - schema/cdk.schema.json: the whole cdk.json, whose `context.genesys-oauth-rotator` refers to the
 *   first (a `$schema` can only apply to a whole file, cdk.json references this one).
 *
 * `--check` writes nothing and fails when a committed file differs from what would be written
 * (test/cdk/schema.test.ts runs the same comparison).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod/mini";
import { CONTEXT_KEY } from "../lib/config.ts";
import { rotatorContextSchema } from "../lib/config-schema.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const CONTEXT_SCHEMA_FILE = "schema/cdk-context.schema.json";
export const CDK_JSON_SCHEMA_FILE = "schema/cdk.schema.json";

/** The files `npm run schema` writes, by path from the repository root. */
export function schemaFiles(): Record<string, string> {
  const context = {
    ...z.toJSONSchema(rotatorContextSchema, { io: "input", unrepresentable: "any" }),
    title: `cdk.json context "${CONTEXT_KEY}"`,
    description:
      "The configuration of genesys-oauth-rotator (docs/deploy.md). Rules that depend on other keys (admin names, environments with extraEnvironments, the schedule's interval) are checked by cdk synth.",
  };
  const cdkJson = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "cdk.json of a genesys-oauth-rotator app",
    type: "object",
    properties: {
      $schema: { type: "string" },
      context: {
        type: "object",
        // Relative to this file (no $id), so that an editor reads the file next to it.
        properties: { [CONTEXT_KEY]: { $ref: "./cdk-context.schema.json" } },
      },
    },
  };
  const text = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return { [CONTEXT_SCHEMA_FILE]: text(context), [CDK_JSON_SCHEMA_FILE]: text(cdkJson) };
}

/** The files whose committed content differs from {@link schemaFiles}. */
export function staleSchemaFiles(): string[] {
  return Object.entries(schemaFiles())
    .filter(([file, content]) => {
      try {
        return readFileSync(join(ROOT, file), "utf8") !== content;
      } catch {
        return true;
      }
    })
    .map(([file]) => file);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    const stale = staleSchemaFiles();
    if (stale.length > 0) {
      console.error(`stale: ${stale.join(", ")}; run npm run schema`);
      process.exitCode = 1;
    }
  } else {
    for (const [file, content] of Object.entries(schemaFiles())) writeFileSync(join(ROOT, file), content);
  }
}
