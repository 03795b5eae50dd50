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
    assert.deepEqual(readdirSync(directory).sort(), ["index.mjs", "index.mjs.map"]);
    for (const file of ["index.mjs", "index.mjs.map"]) {
      assert.ok(readFileSync(path.join(directory, file)).equals(readFileSync(path.join(built, file))), file);
    }
    const resource = template.Resources[synth.logicalId(fn)];
    assert.equal(resource.Properties.Handler, "index.handler");
    assert.equal(resource.Properties.Runtime, "nodejs24.x");
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
