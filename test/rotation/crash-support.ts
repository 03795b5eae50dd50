/**
 * What the crash suites share: how a rotation under faults ended (converged, stopped with a working
 * credential, stopped asking for the operator's recover, or lost the credential silently), the end-state
 * checks per strategy, the operator's recover (the repair that lets the next crash point start from a
 * clean secret, checked by {@link assertIsolated}), and the figure (crash points × modes, endings, where
 * each point that did not converge ended, windows without a working credential and where) the suites print.
 */
import assert from "node:assert/strict";
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { type CredentialSecret, serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { REGENERATION_MARKER } from "../../lambda/shared/staging-labels.ts";
import type { RotationEventRecord } from "../../local/aws/secrets-manager/index.ts";
import type { RotationStack } from "../support/rotation-stack.ts";
import { staged } from "./helpers.ts";

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

export const verifyAlternating: Verify = async (stack, secretId, previous) => {
  const current = await staged(stack, secretId);
  assert.equal(current.clientId, previous.alternateClientId, "the active client flipped");
  assert.equal(current.alternateClientId, previous.clientId);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.deepEqual(await stack.readStaged(secretId, "AWSPREVIOUS"), previous, "AWSPREVIOUS is the old value");
  assert.equal(await stack.mints(previous), true, "the previous credentials still work");
  await assertLabelsConsistent(stack, secretId);
};

export const verifySingle: Verify = async (stack, secretId, previous) => {
  const current = await staged(stack, secretId);
  assert.equal(current.clientId, previous.clientId);
  assert.notEqual(current.clientSecret, previous.clientSecret);
  assert.equal(await stack.mints(current), true, "AWSCURRENT works");
  assert.equal(await stack.mints(previous), false, "the old secret is dead");
  await assertLabelsConsistent(stack, secretId);
};

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
  /**
   * No staged credential works, and an attempt of the rotation refused with UnsavedRegenerationError
   * naming `genesys-rotator recover` (single: a regenerated secret was never stored).
   */
  | "operator recover reported"
  /** No staged credential works and nothing says so (or RotationSucceeded with a wrong end state). */
  | "lost";

export const ENDINGS: readonly Ending[] = [
  "converged",
  "stopped, a credential works",
  "operator recover reported",
  "lost",
];

/**
 * Whether an attempt of the rotation that `outcome` ended refused with UnsavedRegenerationError asking for
 * the operator's recover. Every attempt counts, not only the last: a later attempt may fail otherwise (a
 * fault on its own calls) after an earlier one reported the unsaved regeneration.
 */
export function recoverReported(stack: RotationStack, outcome: RotationEventRecord): boolean {
  const errors = [
    outcome.cause,
    ...stack.secretsManager.invocations
      .filter((invocation) => invocation.versionId === outcome.versionId)
      .map((invocation) => invocation.error),
  ];
  return errors.some(
    (error = "") =>
      error.startsWith("UnsavedRegenerationError: ") &&
      error.includes("genesys-rotator recover --secret-id "),
  );
}

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
  // RotationAbandoned carries no cause: the step that abandoned it (single's rescue write) failed with one.
  const cause =
    outcome.cause ??
    stack.secretsManager.invocations.findLast((i) => i.versionId === outcome.versionId && i.error)?.error;
  const detail = `${outcome.eventName}${outcome.step === undefined ? "" : ` in ${outcome.step}`}: ${cause ?? ""}`;
  for (const label of ["AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"]) {
    const value = await stack.readStaged(secretId, label);
    if (value !== undefined && (await stack.mints(value))) {
      return { ending: "stopped, a credential works", detail };
    }
  }
  return { ending: recoverReported(stack, outcome) ? "operator recover reported" : "lost", detail };
}

/** The version that carries `label`, if any. */
export async function holderOf(
  stack: RotationStack,
  secretId: string,
  label: string,
): Promise<string | undefined> {
  return Object.entries(await stack.stages(secretId)).find(([, labels]) => labels.includes(label))?.[0];
}

/**
 * The operator's recover after a rotation that did not converge (what `genesys-rotator recover` plans,
 * plus the re-seed it explains when no staged value works): AWSPENDING removed, a dead AWSCURRENT replaced
 * by a freshly regenerated secret of its client (through the admin), and the regeneration marker
 * GENESYS_REGENERATING removed — recover's last move — so the next rotation starts clean.
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
  if (!(await stack.mints(current))) {
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
  const marked = await holderOf(stack, secretId, REGENERATION_MARKER);
  if (marked !== undefined) {
    await stack.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: REGENERATION_MARKER,
        RemoveFromVersionId: marked,
      }),
    );
  }
}

/**
 * Between two crash points: no fault left armed in the emulators, no rotation pending, no regeneration
 * marker, and AWSCURRENT mints — so a stuck state cannot carry over into the next case.
 */
export async function assertIsolated(stack: RotationStack, secretId: string, where: string): Promise<void> {
  stack.secretsManager.faults.clear();
  stack.genesys.faults.reset();
  const labels = Object.values(await stack.stages(secretId)).flat();
  assert.ok(!labels.includes("AWSPENDING"), `${where}: no AWSPENDING carried over`);
  assert.ok(!labels.includes(REGENERATION_MARKER), `${where}: no ${REGENERATION_MARKER} carried over`);
  const current = await stack.readStaged(secretId, "AWSCURRENT");
  assert.ok(current !== undefined && (await stack.mints(current)), `${where}: AWSCURRENT mints`);
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
  /** Crash points ended after the operator's recover by a rotation that converged. */
  convergedAfterRecover: number;
  /** Where each crash point that did not converge ended (point: ending, step, error). */
  notes: string[];
  /** Where each window was seen (point: step, observation), tolerated ones marked. */
  windowsAt: string[];
}

/** Collects rows and prints them as one table, then where the points that did not converge ended and where the windows were. */
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
      convergedAfterRecover: 0,
      notes: [],
      windowsAt: [],
    };
    this.rows.push(row);
    return row;
  }

  /** The table as text (one line per row), then per row where each point that did not converge ended and where windows were seen. */
  format(title: string, footnotes: readonly string[] = []): string {
    const lines = [
      `${title}: crash points x modes, endings, windows without a working credential`,
      "suite | strategy | mode | points | converged | stopped (credential works) | operator recover reported (next rotation after recover converged) | lost | windows (of which the strategy's trade-off) | hooks undone (reported)",
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
          `${row.endings["operator recover reported"]} (${row.convergedAfterRecover})`,
          row.endings.lost,
          `${row.windows} (${row.toleratedWindows})`,
          row.hooksUndone,
        ].join(" | "),
      );
    }
    for (const row of this.rows) {
      for (const point of row.notes) lines.push(`  ${row.suite}, ${row.strategy}, ${row.mode}: ${point}`);
      for (const window of row.windowsAt)
        lines.push(`  ${row.suite}, ${row.strategy}, ${row.mode}: window ${window}`);
    }
    for (const note of footnotes) lines.push(`  note: ${note}`);
    return lines.join("\n");
  }
}
