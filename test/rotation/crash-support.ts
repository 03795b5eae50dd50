/**
 * What the crash suites share: how a rotation under faults ended (converged, stopped with a working
 * credential, stopped asking for the operator's recover, or lost the credential silently), the end-state
 * checks per strategy, the repair that lets the next crash point start from a clean secret, and the
 * figure (crash points × modes, endings, windows without a working credential) the suites print.
 */
import assert from "node:assert/strict";
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { type CredentialSecret, serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import type { RotationEventRecord } from "../../local/aws/secrets-manager/index.ts";
import type { RotationStack } from "../support/rotation-stack.ts";

/**
 * External calls whose effect outlives the call (labels as the crash instruments name them): a crash
 * after one leaves its effect without the follow-up, and only after one can the credential state change.
 */
export const WRITE_CALLS: ReadonlySet<string> = new Set([
  "genesys:regenerateClientSecret",
  "sm:PutSecretValue",
  "sm:UpdateSecretVersionStage",
  "genesys:updateIntegrationCredential",
  "lambda:Invoke",
]);

/** Checks the end state of one successful rotation, given AWSCURRENT before it. */
export type Verify = (stack: RotationStack, secretId: string, previous: CredentialSecret) => Promise<void>;

export async function verifyAlternating(
  stack: RotationStack,
  secretId: string,
  previous: CredentialSecret,
): Promise<void> {
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current);
  assert.equal(current.clientId, previous.alternateClientId, "the active client flipped");
  assert.equal(current.alternateClientId, previous.clientId);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.deepEqual(await stack.readStaged(secretId, "AWSPREVIOUS"), previous, "AWSPREVIOUS is the old value");
  assert.equal(await stack.mints(previous), true, "the previous credentials still work");
  await assertLabelsConsistent(stack, secretId);
}

export async function verifySingle(
  stack: RotationStack,
  secretId: string,
  previous: CredentialSecret,
): Promise<void> {
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current);
  assert.equal(current.clientId, previous.clientId);
  assert.notEqual(current.clientSecret, previous.clientSecret);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.equal(await stack.mints(previous), false, "the old secret is dead");
  await assertLabelsConsistent(stack, secretId);
}

/** After a finished rotation: exactly one AWSCURRENT and one AWSPREVIOUS, on different versions, no AWSPENDING. */
export async function assertLabelsConsistent(stack: RotationStack, secretId: string): Promise<void> {
  const labels = Object.values(await stack.stages(secretId)).flat();
  assert.equal(labels.filter((label) => label === "AWSCURRENT").length, 1, "one AWSCURRENT");
  assert.equal(labels.filter((label) => label === "AWSPREVIOUS").length, 1, "one AWSPREVIOUS");
  assert.equal(labels.filter((label) => label === "AWSPENDING").length, 0, "no AWSPENDING left");
}

/** How a rotation under faults ended. */
export type Ending =
  /** RotationSucceeded and the end state is right. */
  | "converged"
  /** The rotation stopped, but a staged credential still works (e.g. AWSCURRENT intact): operator work, no outage. */
  | "stopped, a credential works"
  /** No staged credential works, and the rotation's failure asks for the operator's recover. */
  | "operator recover reported"
  /** No staged credential works and nothing says so (or RotationSucceeded with a wrong end state). */
  | "lost";

export const ENDINGS: readonly Ending[] = [
  "converged",
  "stopped, a credential works",
  "operator recover reported",
  "lost",
];

/** Classifies a rotation's end (never throws on a wrong end state: that is reported as `lost`). */
export async function endingOf(
  stack: RotationStack,
  secretId: string,
  previous: CredentialSecret,
  outcome: RotationEventRecord,
  verify: Verify,
): Promise<{ ending: Ending; detail: string }> {
  if (outcome.eventName === "RotationSucceeded") {
    try {
      await verify(stack, secretId, previous);
      return { ending: "converged", detail: "" };
    } catch (error) {
      return { ending: "lost", detail: `RotationSucceeded but ${(error as Error).message}` };
    }
  }
  const detail = `${outcome.eventName}: ${outcome.cause ?? ""}`;
  for (const label of ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"]) {
    const value = await stack.readStaged(secretId, label);
    if (value !== undefined && (await stack.mints(value))) {
      return { ending: "stopped, a credential works", detail };
    }
  }
  return { ending: /\brecover\b/i.test(outcome.cause ?? "") ? "operator recover reported" : "lost", detail };
}

/**
 * Puts a secret back into a rotatable state after a rotation that did not converge: AWSPENDING removed,
 * and a dead AWSCURRENT replaced by a freshly regenerated secret of its client (what the operator's
 * recover amounts to), so the next crash point starts clean.
 */
export async function repairSecret(stack: RotationStack, secretId: string): Promise<void> {
  for (const [versionId, labels] of Object.entries(await stack.stages(secretId))) {
    if (labels.includes("AWSPENDING")) {
      await stack.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: "AWSPENDING",
          RemoveFromVersionId: versionId,
        }),
      );
    }
  }
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current, "AWSCURRENT has a value");
  if (await stack.mints(current)) return;
  const fresh = stack.genesys.state.regenerateSecret(current.clientId);
  await stack.client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: serializeCredentialSecret(
        { ...current, clientSecret: fresh.secret },
        { extraEnvironments: [] },
      ),
    }),
  );
}

/** One row of the figure: crash points of one strategy and mode, how they ended, windows seen. */
export interface FigureRow {
  suite: string;
  strategy: string;
  mode: string;
  points: number;
  endings: Record<Ending, number>;
  /** Observations (after a step, or between two external calls) where no required credential worked. */
  windows: number;
  /** Of those, the strategy's documented trade-off (single: between a regeneration and its put). */
  toleratedWindows: number;
  /** Converged rotations whose finish hooks were left undone (each reported: WARN + FinishHookFailed). */
  hooksUndone: number;
  /** Crash points that did not converge, and windows that are not the strategy's trade-off, for the report. */
  notes: string[];
}

/** Collects rows and prints them as one table. */
export class CrashFigure {
  readonly rows: FigureRow[] = [];

  row(suite: string, strategy: string, mode: string): FigureRow {
    const row: FigureRow = {
      suite,
      strategy,
      mode,
      points: 0,
      endings: { converged: 0, "stopped, a credential works": 0, "operator recover reported": 0, lost: 0 },
      windows: 0,
      toleratedWindows: 0,
      hooksUndone: 0,
      notes: [],
    };
    this.rows.push(row);
    return row;
  }

  /** The table as text (one line per row, then the crash points that did not converge). */
  format(title: string): string {
    const lines = [
      `${title}: crash points x modes, endings, windows without a working credential`,
      "suite | strategy | mode | points | converged | stopped (credential works) | recover reported | lost | windows (tolerated) | hooks undone (reported)",
    ];
    for (const row of this.rows) {
      lines.push(
        [
          row.suite,
          row.strategy,
          row.mode,
          row.points,
          row.endings.converged,
          row.endings["stopped, a credential works"],
          row.endings["operator recover reported"],
          row.endings.lost,
          `${row.windows} (${row.toleratedWindows})`,
          row.hooksUndone,
        ].join(" | "),
      );
    }
    for (const row of this.rows) {
      for (const point of row.notes) lines.push(`  ${row.strategy} ${row.mode}: ${point}`);
    }
    return lines.join("\n");
  }
}
