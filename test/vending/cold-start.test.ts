/**
 * Cold start (docs/design.md#cold-start-budget): loading the vending handler must not load
 * the minting stack — undici, the Secrets Manager client, the Genesys token client — which an
 * invocation served from L1 or L2 never uses. Checked on the real module graph in a fresh process.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const HANDLER = fileURLToPath(new URL("../../lambda/vending/handler.ts", import.meta.url));

/** Every module URL resolved while importing `modulePath` in a fresh Node process (tsx loader on). */
function modulesLoadedBy(modulePath: string): string[] {
  const script = `
    import { registerHooks } from "node:module";
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; } });
    await import(${JSON.stringify(pathToFileURL(modulePath).href)});
    process.stdout.write(JSON.stringify(seen));
  `;
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "--eval", script],
    {
      encoding: "utf8",
      env: { ...process.env, POWERTOOLS_METRICS_DISABLED: "true" },
    },
  );
  return JSON.parse(output) as string[];
}

test("loading the vending handler loads neither undici, nor the Secrets Manager client, nor the mint path", () => {
  const loaded = modulesLoadedBy(HANDLER);
  assert.ok(
    loaded.some((url) => url.includes("@aws-sdk/client-dynamodb")),
    "sanity: the L2 client is loaded",
  );
  const forbidden = [
    "/undici/",
    "@aws-sdk/client-secrets-manager",
    "/shared/genesys/oauth.ts",
    "/shared/genesys/http.ts",
    "/shared/genesys/responses.ts",
    "/vending/mint.ts",
    "/zod/",
  ];
  for (const fragment of forbidden) {
    assert.deepEqual(
      loaded.filter((url) => url.includes(fragment)),
      [],
      `${fragment} must be loaded on the first mint, not at init`,
    );
  }
});
