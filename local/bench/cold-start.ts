/**
 * The bench's cold-start figures: how long a fresh Node process takes to load a handler bundle, relative
 * to a bare handler that only loads the DynamoDB client (bare-handler.ts), bundled the same way. The
 * whole process is timed (spawn, import the bundle, read `handler`, exit), as a Lambda init pays for it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { buildDist, DIST, HANDLER_BUNDLE_OPTIONS } from "../../scripts/build.ts";

/** What {@link measureColdStarts} reports. */
export interface ColdStartFigures {
  /** Median whole-process load time of the vending bundle / of the bare bundle. */
  vendingColdStartRatio: number;
  /** Same for the rotation bundle (reported only). */
  rotationColdStartRatio: number;
  vendingColdStartMs: number;
  rotationColdStartMs: number;
  bareColdStartMs: number;
  /** Bytes of JavaScript a cold start loads: index.mjs and the chunks it imports statically. */
  vendingBundleBytes: number;
  rotationBundleBytes: number;
  bareBundleBytes: number;
}

const BARE_HANDLER = fileURLToPath(new URL("./bare-handler.ts", import.meta.url));

/**
 * Builds the shipped bundles (dist/functions/, only changed files are rewritten) and the bare one, then
 * loads each `runs` times in fresh processes, alternating between them so that all see the same load.
 */
export async function measureColdStarts(options: { runs?: number } = {}): Promise<ColdStartFigures> {
  const runs = options.runs ?? 21;
  await buildDist({ only: "functions" });
  const scratch = mkdtempSync(path.join(tmpdir(), "bench-bare-"));
  try {
    await build({ ...HANDLER_BUNDLE_OPTIONS, entryPoints: { index: BARE_HANDLER }, outdir: scratch });
    const entries = {
      bare: path.join(scratch, "index.mjs"),
      vending: path.join(DIST, "functions", "vending", "index.mjs"),
      rotation: path.join(DIST, "functions", "rotation", "index.mjs"),
    };
    const samples: Record<keyof typeof entries, number[]> = { bare: [], vending: [], rotation: [] };
    const order = Object.keys(entries) as (keyof typeof entries)[];
    await loadOnce(entries.bare); // the first spawn warms the file cache for everyone
    for (let run = 0; run < runs; run++) {
      // Rotate the order too: no bundle always runs right after the same other one.
      for (let i = 0; i < order.length; i++) {
        const name = order[(run + i) % order.length]!;
        samples[name].push(await loadOnce(entries[name]));
      }
    }
    const bare = median(samples.bare);
    const vending = median(samples.vending);
    const rotation = median(samples.rotation);
    return {
      vendingColdStartRatio: round(vending / bare),
      rotationColdStartRatio: round(rotation / bare),
      vendingColdStartMs: round(vending),
      rotationColdStartMs: round(rotation),
      bareColdStartMs: round(bare),
      vendingBundleBytes: initBytes(entries.vending),
      rotationBundleBytes: initBytes(entries.rotation),
      bareBundleBytes: initBytes(entries.bare),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Milliseconds from spawning `node` to its exit, having imported `bundle` and read its `handler`. */
function loadOnce(bundle: string): Promise<number> {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); if (typeof m.handler !== "function") process.exit(3);`;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ["--input-type=module", "--eval", script], {
      env: { PATH: process.env.PATH ?? "", AWS_REGION: "us-east-1", POWERTOOLS_METRICS_DISABLED: "true" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const elapsed = performance.now() - start;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`loading ${bundle} failed (exit ${code}): ${stderr.slice(0, 500)}`));
    });
  });
}

/**
 * The files a cold start loads: `entry` and, transitively, every file it imports statically (a dynamic
 * `import()` is loaded only when its code runs). Reads esbuild's minified ESM output.
 */
export function filesLoadedAtInit(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, "utf8");
    // `import{a}from"./x.mjs"`, `import"./x.mjs"`, `export{a}from"./x.mjs"` — not `import("./x.mjs")`.
    for (const match of code.matchAll(/(?:\bfrom|\bimport)\s*"(\.{1,2}\/[^"]+)"/g)) {
      visit(path.resolve(path.dirname(file), match[1]!));
    }
  };
  visit(path.resolve(entry));
  return [...seen];
}

function initBytes(entry: string): number {
  return filesLoadedAtInit(entry).reduce((sum, file) => sum + statSync(file).size, 0);
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
