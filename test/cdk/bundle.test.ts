/**
 * The Lambda bundles as deployed: pre-built by `npm run build` (scripts/build.ts) into dist/functions/ and
 * only copied at synthesis (no esbuild, no Docker), ESM with the AWS SDK inside, and loadable and runnable
 * by Node 24 — each handler answers a malformed event with its typed validation error, which exercises the
 * module graph (SDK clients, Powertools, lazy imports).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { filesLoadedAtInit } from "../../local/bench/cold-start.ts";
import { buildDist, DIST } from "../../scripts/build.ts";
import { synthesize } from "./synth.ts";

// Bundles of the current sources, not whatever an earlier build left in dist/.
await buildDist({ only: "functions" });
const synth = synthesize({ credentials: [{ name: "default", environment: "mypurecloud.ie" }] });
after(() => synth.cleanup());
const assembly = synth.app.synth();
const template = synth.template().toJSON();

function assetDirectory(fn: object): string {
  // The code's S3 key is `<asset hash>.zip`; the staged bundle is `asset.<asset hash>/` in the assembly.
  const s3Key: string = template.Resources[synth.logicalId(fn)].Properties.Code.S3Key;
  return path.join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, "")}`);
}

/** Imports the bundle in a fresh Node process (the Lambda runtime's view) and calls the handler. */
async function runHandler(directory: string, event: unknown, env: Record<string, string>): Promise<string> {
  const script = `import(${JSON.stringify(path.join(directory, "index.mjs"))}).then(async (m) => {
    try { await m.handler(${JSON.stringify(event)}); console.log("RESULT no error"); }
    catch (e) { console.log("RESULT " + e.name + ": " + e.message); }
  })`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    env: {
      PATH: process.env.PATH ?? "",
      AWS_REGION: "eu-west-1",
      POWERTOOLS_METRICS_DISABLED: "true",
      ...env,
    },
    timeout: 30_000,
  });
  return stdout.split("\n").find((line) => line.startsWith("RESULT ")) ?? stdout;
}

test("each function deploys its pre-built bundle from dist/functions/ unchanged", () => {
  const { stack } = synth;
  for (const [name, fn] of [
    ["rotation", stack.rotationFunction.function],
    ["vending", stack.tokenVendor.function],
  ] as const) {
    const directory = assetDirectory(fn);
    const built = path.join(DIST, "functions", name);
    // The whole folder: index.mjs and the chunks/ its lazy imports load.
    const files = filesUnder(built);
    assert.ok(files.includes("index.mjs") && files.includes("index.mjs.map"), name);
    assert.deepEqual(filesUnder(directory), files, name);
    for (const file of files) {
      assert.ok(readFileSync(path.join(directory, file)).equals(readFileSync(path.join(built, file))), file);
    }
    const resource = template.Resources[synth.logicalId(fn)];
    assert.equal(resource.Properties.Handler, "index.handler");
    assert.equal(resource.Properties.Runtime, "nodejs24.x");
  }
});

/** Every file under `directory`, relative and sorted. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** The source files (from the source maps) of everything a cold start of `entry` loads. */
function sourcesLoadedAtInit(entry: string): string[] {
  return filesLoadedAtInit(entry).flatMap(
    (file) => (JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] }).sources,
  );
}

test("the vending bundle's cold start loads neither undici, nor the Secrets Manager client, nor the mint path", () => {
  const directory = assetDirectory(synth.stack.tokenVendor.function);
  const loaded = sourcesLoadedAtInit(path.join(directory, "index.mjs"));
  assert.ok(
    loaded.some((source) => source.includes("@aws-sdk/client-dynamodb")),
    "sanity: the L2 client is loaded",
  );
  const all = filesUnder(directory)
    .filter((file) => file.endsWith(".mjs.map"))
    .flatMap(
      (file) =>
        (JSON.parse(readFileSync(path.join(directory, file), "utf8")) as { sources: string[] }).sources,
    );
  for (const fragment of [
    "/undici/",
    "@aws-sdk/client-secrets-manager",
    "shared/genesys/oauth.ts",
    "shared/genesys/http.ts",
    "shared/genesys/responses.ts",
    "vending/mint.ts",
    "/zod/",
  ]) {
    assert.deepEqual(
      loaded.filter((source) => source.includes(fragment)),
      [],
      `${fragment} must be in a chunk loaded on the first mint, not at init`,
    );
    if (fragment !== "/zod/")
      assert.ok(
        all.some((source) => source.includes(fragment)),
        `sanity: ${fragment} is shipped`,
      );
  }
});

test("both bundles are minified ESM with a source map, the createRequire banner and the AWS SDK inside", () => {
  const { stack } = synth;
  for (const fn of [stack.rotationFunction.function, stack.tokenVendor.function]) {
    const directory = assetDirectory(fn);
    const code = readFileSync(path.join(directory, "index.mjs"), "utf8");
    assert.ok(code.startsWith("import { createRequire } from 'node:module';"));
    assert.ok(existsSync(path.join(directory, "index.mjs.map")));
    assert.doesNotMatch(
      code,
      /from\s*["']@aws-sdk\//,
      "the AWS SDK must be bundled, not imported from the runtime",
    );
    // Minified code has very long lines (template literals keep a few line breaks).
    assert.ok(code.length / code.split("\n").length > 1000, "minified");
  }
});

test("the rotation bundle runs and rejects a malformed event by name", async () => {
  const result = await runHandler(
    assetDirectory(synth.stack.rotationFunction.function),
    { Step: "nope" },
    {},
  );
  assert.match(result, /^RESULT RotationEventError: rotation event: field "Step"/);
});

test("the vending bundle runs and rejects a malformed payload by name", async () => {
  const result = await runHandler(
    assetDirectory(synth.stack.tokenVendor.function),
    { credential: 5 },
    {
      CREDENTIALS: JSON.stringify({
        default: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC123",
      }),
      TOKEN_TABLE_NAME: "tokens",
    },
  );
  assert.match(result, /^RESULT ValidationError: vending payload: field "credential"/);
});
