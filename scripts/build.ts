/**
 * `npm run build`: dist/ of the installable package (docs/ARCHITECTURE.md, "Package").
 *
 * - `dist/lib/`, `dist/lambda/`: ESM JavaScript + .d.ts of the public entries (`lib/index.ts`, the
 *   constructs; `lambda/client/index.ts`, the consumer library; `lambda/client/notifications.ts`, its
 *   notifications helper), emitted by tsc (tsconfig.build.json, which lists the entries).
 * - `dist/functions/<name>/index.mjs` (+ map): the two Lambda handlers pre-bundled by esbuild, which the
 *   constructs deploy with `lambda.Code.fromAsset`: no esbuild, TypeScript or lock file at the user's synth.
 *
 * Everything is built into a scratch directory first and then copied into dist/ file by file, only where
 * the content changed (each write a rename), so a test that reads dist/ while another process rebuilds it
 * never sees a half-written file.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BuildOptions, build } from "esbuild";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DIST = path.join(PROJECT_ROOT, "dist");

/**
 * The handlers and their bundle folders under dist/functions/. The folder is the entry's directory name
 * (lib/private/node-function.ts finds a bundle by the same rule).
 */
export const HANDLER_ENTRIES = ["lambda/rotation/handler.ts", "lambda/vending/handler.ts"] as const;

/** The bundle folder of a handler entry: `lambda/vending/handler.ts` → `vending`. */
export function bundleName(entry: string): string {
  return path.basename(path.dirname(entry));
}

/**
 * How a handler is bundled (the bench bundles its bare baseline handler with the same options). Each
 * handler is its own build with its own output folder, so no chunk is shared between the two functions.
 */
export const HANDLER_BUNDLE_OPTIONS = {
  absWorkingDir: PROJECT_ROOT,
  bundle: true,
  platform: "node",
  target: "node24",
  // ESM output keeps our sources' semantics (import.meta, top-level await); the banner gives
  // CommonJS dependencies (undici) the `require` that ESM lacks.
  format: "esm",
  mainFields: ["module", "main"],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  // A dynamic `import()` becomes a chunk next to index.mjs, loaded only when that code runs: the
  // vending function's mint path (Secrets Manager client, Genesys client, undici) stays out of its cold
  // start (docs/design.md#cold-start-budget). The whole folder is the deployed asset.
  splitting: true,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  // Everything inside, the AWS SDK too: the function runs the SDK we test against, not the runtime's.
  external: [],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  logLevel: "warning",
} as const satisfies BuildOptions;

/** Bundles both handlers into `<outdir>/functions/<name>/index.mjs` (+ chunks/ of lazy imports). */
export async function bundleHandlers(outdir: string): Promise<void> {
  await Promise.all(
    HANDLER_ENTRIES.map((entry) =>
      build({
        ...HANDLER_BUNDLE_OPTIONS,
        entryPoints: { index: path.join(PROJECT_ROOT, entry) },
        outdir: path.join(outdir, "functions", bundleName(entry)),
      }),
    ),
  );
}

/** Emits JavaScript + declarations of the public entries into `<outdir>/` (tsc, tsconfig.build.json). */
export async function compileEntries(outdir: string): Promise<void> {
  const tscOut = path.join(outdir, ".tsc");
  const tsc = path.join(PROJECT_ROOT, "node_modules", ".bin", "tsc");
  await promisify(execFile)(tsc, ["-p", "tsconfig.build.json", "--outDir", tscOut], {
    cwd: PROJECT_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`tsc failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  });
  for (const file of listFiles(tscOut)) {
    let content = readFileSync(path.join(tscOut, file));
    if (file.endsWith(".d.ts")) {
      // tsc keeps the sources' `.ts` specifiers in declarations; consumers' resolvers want `.js`.
      content = Buffer.from(
        content.toString("utf8").replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']*)\.ts\2/g, "$1$2$3.js$2"),
      );
    }
    const target = path.join(outdir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  rmSync(tscOut, { recursive: true, force: true });
}

/** Builds everything (or only the handler bundles) and brings dist/ up to date. */
export async function buildDist(options: { only?: "functions" } = {}): Promise<void> {
  const scratch = mkdtempSync(path.join(PROJECT_ROOT, ".build-"));
  try {
    await bundleHandlers(scratch);
    if (options.only !== "functions") await compileEntries(scratch);
    syncInto(scratch, DIST, options.only === "functions" ? ["functions"] : undefined);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Builds the handler bundles when dist/functions/ lacks one (tests of the constructs need them). */
export async function ensureHandlerBundles(): Promise<void> {
  const missing = HANDLER_ENTRIES.some(
    (entry) => !existsSync(path.join(DIST, "functions", bundleName(entry), "index.mjs")),
  );
  if (missing) await buildDist({ only: "functions" });
}

/**
 * Makes `target` (or its `subtrees`) hold exactly the files of `source`: changed files are replaced by
 * rename, unchanged files are left alone, files that are no longer built are removed.
 */
function syncInto(source: string, target: string, subtrees?: readonly string[]): void {
  const built = new Set(listFiles(source));
  const inScope = (file: string) =>
    subtrees === undefined || subtrees.some((tree) => file.startsWith(`${tree}${path.sep}`));
  for (const file of built) {
    const from = path.join(source, file);
    const to = path.join(target, file);
    if (sameContent(from, to)) continue;
    mkdirSync(path.dirname(to), { recursive: true });
    const temporary = `${to}.${process.pid}.tmp`;
    writeFileSync(temporary, readFileSync(from));
    renameSync(temporary, to);
  }
  for (const file of listFiles(target)) {
    if (inScope(file) && !built.has(file)) rmSync(path.join(target, file), { force: true });
  }
}

function sameContent(a: string, b: string): boolean {
  try {
    return digest(readFileSync(a)) === digest(readFileSync(b));
  } catch {
    return false;
  }
}

function digest(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

function listFiles(directory: string, prefix = ""): string[] {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(path.join(directory, entry.name), path.join(prefix, entry.name))
      : [path.join(prefix, entry.name)],
  );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv.includes("--functions") ? "functions" : undefined;
  await buildDist(only === undefined ? {} : { only });
}
