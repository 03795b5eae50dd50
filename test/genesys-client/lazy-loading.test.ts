import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

// docs/design.md#cold-start-budget: the vending function's cache-hit path makes no HTTP call, so importing the Genesys client
// (and the secret schema) must not load undici; the first request does.
it("importing the Genesys client does not load undici; the first request does", async () => {
  const probe = fileURLToPath(new URL("./fixtures/import-probe.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", probe], {
    timeout: 60_000,
  });
  const report = JSON.parse(stdout.trim().split("\n").at(-1)!) as { atImport: number; afterFirstUse: number };
  assert.equal(report.atImport, 0, "undici was imported at module load");
  assert.ok(report.afterFirstUse >= 1, "the probe did not observe undici at all: it proves nothing");
});
