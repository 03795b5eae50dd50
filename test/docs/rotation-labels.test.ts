/**
 * docs/design.md documents, as a table, where the staging labels and the two clients of an alternating
 * pair stand after each step of three rotations. This runs three rotations of the seeded pair against the
 * emulators (the real rotation handler in process) and checks that every row of that table is what
 * actually happens — so the documentation cannot drift from the code.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, it } from "node:test";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from "../../lambda/shared/staging-labels.ts";
import type { RotationEvent } from "../../local/aws/secrets-manager/emulator.ts";
import {
  RecordingLog,
  type RotationStack,
  STACK_IDS,
  startRotationStack,
} from "../support/rotation-stack.ts";

const DESIGN = new URL("../../docs/design.md", import.meta.url);
const TABLE_HEADING = "## Labels and clients across three rotations";
const LABELS = [AWSCURRENT, AWSPENDING, AWSPREVIOUS] as const;

interface Row {
  rotation: string;
  after: string;
  regenerated: string;
  cells: Record<(typeof LABELS)[number], string>;
}

/** The rows of the first table under TABLE_HEADING. */
function documentedRows(): Row[] {
  const text = readFileSync(DESIGN, "utf8");
  const start = text.indexOf(TABLE_HEADING);
  assert.ok(start >= 0, `docs/design.md has no heading "${TABLE_HEADING}"`);
  const lines = text.slice(start).split("\n");
  const first = lines.findIndex((line) => line.startsWith("| rotation"));
  assert.ok(first >= 0, "the label table is missing");
  const header = cellsOf(lines[first] as string);
  assert.deepEqual(header, ["rotation", "after", "regenerated", ...LABELS]);
  const rows: Row[] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    const [rotation, afterStep, regenerated, current, pending, previous] = cellsOf(line) as string[];
    rows.push({
      rotation: rotation as string,
      after: afterStep as string,
      regenerated: regenerated as string,
      cells: {
        AWSCURRENT: current as string,
        AWSPENDING: pending as string,
        AWSPREVIOUS: previous as string,
      },
    });
  }
  return rows;
}

function cellsOf(line: string): string[] {
  return line
    .split("|")
    .slice(1, -1)
    .map((cell) => cell.trim());
}

let stack: RotationStack;
before(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true"; // EMF lines would only clutter the test output
  stack = await startRotationStack({ log: new RecordingLog() });
});
after(() => stack.stop());

it("docs/design.md's label table matches three real rotations of an alternating pair", async () => {
  const secretId = stack.secrets.app;
  const versionNames = new Map<string, string>();
  const clientName = (id: string): string =>
    id === STACK_IDS.appA ? "A" : id === STACK_IDS.appB ? "B" : `unexpected client ${id}`;

  /** Where each label stands now, in the table's notation. */
  const snapshot = async (): Promise<Row["cells"]> => {
    const stages = await stack.stages(secretId);
    const cells = { AWSCURRENT: "–", AWSPENDING: "–", AWSPREVIOUS: "–" };
    for (const [versionId, labels] of Object.entries(stages)) {
      if (!versionNames.has(versionId)) versionNames.set(versionId, `v${versionNames.size}`);
      const name = versionNames.get(versionId) as string;
      let content = "empty";
      try {
        const response = await stack.client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
        );
        const value = JSON.parse(response.SecretString as string);
        content = clientName(value.clientId);
        if (!(await stack.mints(value))) content += ", dead";
      } catch (error) {
        if ((error as Error).name !== "ResourceNotFoundException") throw error;
      }
      for (const label of labels) {
        if ((LABELS as readonly string[]).includes(label))
          cells[label as keyof typeof cells] = `${name} (${content})`;
      }
    }
    return cells;
  };
  const regenerations = () => ({
    A: stack.genesys.counters.regenerations(STACK_IDS.appA),
    B: stack.genesys.counters.regenerations(STACK_IDS.appB),
  });

  const observed: Row[] = [{ rotation: "0", after: "seed", regenerated: "–", cells: await snapshot() }];
  let rotation = 0;
  const handler = stack.createHandler();
  stack.setRotationFunction(async (event: RotationEvent) => {
    if (event.Step === "createSecret") {
      observed.push({
        rotation: String(rotation),
        after: "RotateSecret",
        regenerated: "–",
        cells: await snapshot(),
      });
    }
    const before = regenerations();
    const result = await handler(event);
    const afterStep = regenerations();
    const regenerated = (["A", "B"] as const).filter((client) => afterStep[client] !== before[client]);
    observed.push({
      rotation: String(rotation),
      after: event.Step,
      regenerated: regenerated.length === 0 ? "–" : regenerated.join(", "),
      cells: await snapshot(),
    });
    return result;
  });
  for (rotation = 1; rotation <= 3; rotation++) {
    const outcome = await stack.rotate(secretId);
    assert.equal(outcome.eventName, "RotationSucceeded");
    observed.push({ rotation: String(rotation), after: "end", regenerated: "–", cells: await snapshot() });
  }

  // setSecret and testSecret change nothing: they have no rows of their own.
  for (const [index, row] of observed.entries()) {
    if (row.after === "setSecret" || row.after === "testSecret") {
      assert.deepEqual(row.cells, observed[index - 1]?.cells, `${row.after} of rotation ${row.rotation}`);
      assert.equal(row.regenerated, "–");
    }
  }
  const significant = observed.filter((row) => row.after !== "setSecret" && row.after !== "testSecret");
  assert.deepEqual(significant, documentedRows());
});
