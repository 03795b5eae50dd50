#!/usr/bin/env node
// The package's `bin`: plain Node cannot run the TypeScript entry, so register tsx's ESM loader first and
// then import it. Kept as a tiny .mjs so `npx genesys-rotator` works without a build step.
// The CLI runs from a clone of the repository (its TypeScript sources and dev dependencies); the packed
// package ships only this file, so say so instead of failing on a missing module.
import { existsSync } from "node:fs";

if (!existsSync(new URL("./genesys-rotator.ts", import.meta.url))) {
  console.error(
    "genesys-rotator: the operator CLI runs from a clone of the genesys-oauth-rotator repository (npm ci, then npm run rotator -- --help); the installed package holds only the constructs and the consumer library.",
  );
  process.exit(2);
}
const { register } = await import("tsx/esm/api");
register();
await import("./genesys-rotator.ts");
