import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { requestToken } from "./support.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE = join(ROOT, "node_modules", ".bin", "node");
const MAIN = join(ROOT, "local", "genesys-cloud", "main.ts");
const EXAMPLE = JSON.parse(
  readFileSync(join(ROOT, "local", "genesys-cloud", "example-state.json"), "utf8"),
) as {
  organization: { id: string; name: string };
  clients: { id: string; secret: string }[];
};

/** Spawns the command with the project's Node and tsx; collects its output lines. */
function run(args: string[]): {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  firstLine: Promise<string>;
} {
  const child = spawn(NODE, ["--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const firstLine = Promise.race([
    once(lines, "line").then(([line]) => line as string),
    once(child, "exit").then(([code]) => {
      throw new Error(`exited with ${code} before printing a line: ${stderr.join("")}`);
    }),
  ]);
  firstLine.catch(() => {}); // only tests that await it care; the others assert on the exit code
  lines.on("line", (line) => stdout.push(line));
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  return { child, stdout, stderr, firstLine };
}

describe("npm run genesys-emulator", () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  });

  it("prints one JSON line without secrets, serves the state, and exits 0 on SIGTERM", {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "genesys-emulator-"));
    const stateOut = join(dir, "out.json");
    const { child, firstLine } = run(["--port", "0", "--token-lifetime", "600", "--state-out", stateOut]);
    children.push(child);
    const line = await firstLine;
    const ready = JSON.parse(line) as {
      url: string;
      clients: string[];
      organization: { id: string; name: string };
    };
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      ready.clients,
      EXAMPLE.clients.map((client) => client.id),
    );
    assert.deepEqual(ready.organization, { id: EXAMPLE.organization.id, name: EXAMPLE.organization.name });
    for (const client of EXAMPLE.clients) assert.equal(line.includes(client.secret), false);

    const [first] = EXAMPLE.clients;
    const token = await requestToken(ready.url, first!.id, first!.secret);
    assert.equal(token.status, 200);
    assert.equal(((await token.json()) as { expires_in: number }).expires_in, 600);

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    const saved = JSON.parse(readFileSync(stateOut, "utf8")) as { clients: { id: string }[] };
    assert.deepEqual(
      saved.clients.map((client) => client.id),
      ready.clients,
    );
  });

  it("rejects an invalid state file with exit code 2 and a message naming the field", {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "genesys-emulator-"));
    const file = join(dir, "state.json");
    writeFileSync(
      file,
      JSON.stringify({
        organization: { id: "org-1", name: "Org" },
        roles: [],
        clients: [
          {
            id: "c-1",
            name: "c",
            secret: "s3cr3t-value",
            roleDivisions: [{ roleId: "missing", divisionId: "*" }],
          },
        ],
      }),
    );
    const { child, stdout, stderr } = run(["--state", file]);
    children.push(child);
    const [code] = (await once(child, "close")) as [number | null];
    assert.equal(code, 2);
    assert.deepEqual(stdout, []);
    const message = stderr.join("");
    assert.match(message, /clients\[0\]\.roleDivisions\[0\]\.roleId/);
    assert.equal(message.includes("s3cr3t-value"), false);
  });

  it("--help prints usage and exits 0", { timeout: 60_000 }, async () => {
    const { child, stdout } = run(["--help"]);
    children.push(child);
    const [code] = (await once(child, "close")) as [number | null];
    assert.equal(code, 0);
    assert.match(stdout.join("\n"), /--propagation-delay-ms/);
  });
});
