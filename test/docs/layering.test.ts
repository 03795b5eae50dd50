/**
 * The layering rules of docs/ARCHITECTURE.md ("Layering and rules"): lambda/ imports nothing outside
 * itself, lib/ imports of lambda/ only lambda/shared/, and no production code imports test/.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"|import\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g;

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(folder, file));
}

/** Every relative import of `file`, as a path from the repository root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(IMPORT)].map((match) =>
    relative(ROOT, resolve(ROOT, dirname(file), match[1] ?? match[2] ?? "")),
  );
}

function violations(folders: string[], allowed: (target: string) => boolean): string[] {
  return folders.flatMap((folder) =>
    sources(folder).flatMap((file) =>
      importsOf(file)
        .filter((target) => !allowed(target))
        .map((target) => `${file} imports ${target}`),
    ),
  );
}

it("lambda/ imports nothing outside itself", () => {
  assert.deepEqual(
    violations(["lambda"], (target) => target.startsWith("lambda/")),
    [],
  );
});

it("lib/ imports of lambda/ are of lambda/shared/ only", () => {
  assert.deepEqual(
    violations(["lib"], (target) => target.startsWith("lib/") || target.startsWith("lambda/shared/")),
    [],
  );
});

it("no production code imports test/", () => {
  assert.deepEqual(
    violations(["lambda", "lib", "bin", "local", "scripts"], (target) => !target.startsWith("test/")),
    [],
  );
});
