#!/usr/bin/env node
// The package's `bin`: plain Node cannot run the TypeScript entry, so register tsx's ESM loader first and
// then import it. Kept as a tiny .mjs so `npx genesys-rotator` works without a build step.
import { register } from "tsx/esm/api";

register();
await import("./genesys-rotator.ts");
