/**
 * The committed JSON Schemas of the configuration (schema/, written by `npm run schema` from
 * lib/config-schema.ts) are current, and accept what the configuration accepts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CONTEXT_KEY } from "../../lib/config.ts";
import {
  CDK_JSON_SCHEMA_FILE,
  CONTEXT_SCHEMA_FILE,
  schemaFiles,
  staleSchemaFiles,
} from "../../scripts/schema.ts";

test("schema/ is what npm run schema writes from lib/config-schema.ts (run it after changing the configuration)", () => {
  assert.deepEqual(staleSchemaFiles(), []);
});

test("cdk.json refers to the schema of the whole file, whose context key refers to the context schema", () => {
  const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8")) as {
    $schema?: string;
  };
  assert.equal(cdkJson.$schema, `./${CDK_JSON_SCHEMA_FILE}`);
  const whole = JSON.parse(schemaFiles()[CDK_JSON_SCHEMA_FILE] ?? "{}") as {
    properties: { context: { properties: Record<string, { $ref: string }> } };
  };
  assert.equal(
    whole.properties.context.properties[CONTEXT_KEY]?.$ref,
    `./${CONTEXT_SCHEMA_FILE.slice("schema/".length)}`,
  );
});

test("the context schema names every key, its type, and refuses unknown keys", () => {
  const schema = JSON.parse(schemaFiles()[CONTEXT_SCHEMA_FILE] ?? "{}") as {
    properties: Record<string, { type?: string; enum?: unknown[] }>;
    required: string[];
    additionalProperties: boolean;
  };
  assert.deepEqual(schema.required, ["credentials"]);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.credentials?.type, "array");
  assert.equal(schema.properties.warmTokenCache?.type, "boolean");
  assert.deepEqual(schema.properties.architecture?.enum, ["arm64", "x86_64"]);
});
