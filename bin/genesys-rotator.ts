#!/usr/bin/env -S node --import tsx
/**
 * `genesys-rotator`: the operator CLI (seed, status, rotate, recover, vend). See docs/cli.md, or run
 * `genesys-rotator --help`. Installed through bin/genesys-rotator.mjs, which registers tsx first.
 */
import { runAsProcess } from "./cli/main.ts";

await runAsProcess(process.argv.slice(2));
