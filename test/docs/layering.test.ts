/**
 * The layering rules of docs/ARCHITECTURE.md ("Layering"), checked on every relative import of the
 * repository's TypeScript: which top-level folder may import which. A rule broken here is a design
 * change; make it in the document first.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Top-level folder → the top-level folders its code may import (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  lambda: [],
  lib: ["lambda"],
  contracts: ["lambda"],
  scripts: ["lib"],
  bin: ["lib", "lambda", "contracts"],
  local: ["lambda", "contracts", "scripts"],
  test: ["lambda", "lib", "bin", "contracts", "local", "scripts"],
};

/**
 * Narrower still: of lambda/, lib/ may import only what the constructs share with the handlers
 * (lambda/shared/: constants, rules, metric names), never a function's own folder.
 */
const ONLY_UNDER: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  lib: { lambda: "lambda/shared/" },
};

/**
 * The only imports across a rule, each with its reason in the importing file: the drill's emergency
 * runs the operator CLI's own `emergency` command (local/drill/emergency.ts).
 */
const EXCEPTIONS: ReadonlySet<string> = new Set([
  "local/drill/emergency.ts → bin/cli/main.ts",
  "local/drill/emergency.ts → bin/cli/runtime.ts",
]);

function typeScriptFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...typeScriptFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** Relative specifiers of static imports, re-exports and dynamic `import("…")` with a literal. */
function relativeImports(source: string): string[] {
  const specifiers: string[] = [];
  for (const match of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"(\.{1,2}\/[^"]+)"/gm)) {
    specifiers.push(match[1] as string);
  }
  return specifiers;
}

const posix = (path: string) => path.split(sep).join("/");

function violations(): string[] {
  const found: string[] = [];
  for (const folder of Object.keys(ALLOWED)) {
    for (const file of typeScriptFiles(join(ROOT, folder))) {
      const from = posix(relative(ROOT, file));
      for (const specifier of relativeImports(readFileSync(file, "utf8"))) {
        const target = posix(relative(ROOT, resolve(dirname(file), specifier)));
        const targetFolder = target.split("/")[0] as string;
        const under = ONLY_UNDER[folder]?.[targetFolder];
        const allowed = targetFolder === folder || ALLOWED[folder]?.includes(targetFolder);
        if (allowed && (under === undefined || target.startsWith(under))) continue;
        if (EXCEPTIONS.has(`${from} → ${target}`)) continue;
        found.push(`${from} → ${target}`);
      }
    }
  }
  return found;
}

describe("layering (docs/ARCHITECTURE.md)", () => {
  it("every relative import stays within what its folder may import", () => {
    assert.deepEqual(violations(), []);
  });

  it("finds imports in the forms the code uses", () => {
    assert.deepEqual(
      relativeImports(
        [
          'import { a } from "../local/x.ts";',
          'import type { B } from "./b.ts";',
          'export { c } from "../c.ts";',
          'const d = await import("../d.ts");',
          'import "./side-effect.ts";',
          'import { e } from "node:fs";',
        ].join("\n"),
      ),
      ["../local/x.ts", "./b.ts", "../c.ts", "../d.ts", "./side-effect.ts"],
    );
  });
});
