/**
 * `genesys-rotator recover`: clears a stuck rotation safely. It first tests which staged value still
 * mints a Genesys token (AWSCURRENT, AWSPENDING, AWSPREVIOUS), then plans the one label move that leaves
 * a working AWSCURRENT and no stuck AWSPENDING:
 *
 * - AWSCURRENT works → remove AWSPENDING from the stuck version (the usual case: alternating rotations
 *   never break the current client);
 * - AWSCURRENT rejected, AWSPENDING works → promote AWSPENDING to AWSCURRENT (a `single` rotation that
 *   regenerated the secret but never finished);
 * - only AWSPREVIOUS works → move AWSCURRENT back to it (rollback) and drop AWSPENDING;
 * - nothing works → no label can help: explains how to re-seed through the admin credential.
 *
 * The rotation function's regeneration marker (label GENESYS_REGENERATING, left when a single client was
 * regenerated and the result never stored) is removed with any of these moves, or on its own when
 * AWSCURRENT works and nothing is pending. After a re-seed the next rotation removes it (AWSCURRENT works).
 *
 * Dry run by default; `--apply` asks for confirmation on a terminal, `--yes` skips the question. A test
 * that could not decide (throttling, network) never leads to a change.
 */
import { UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  REGENERATION_MARKER,
} from "../../lambda/shared/staging-labels.ts";
import {
  type CommandSpec,
  flag,
  type ParsedValues,
  ROTATED_SECRET_ID_OPTION,
  secretIdOption,
} from "./args.ts";
import { CliError, UsageError } from "./errors.ts";
import { checkMints, type MintCheck } from "./genesys.ts";
import { type CliDependencies, callAws } from "./runtime.ts";
import {
  type InspectedSecret,
  inspectSecret,
  type SecretState,
  STUCK_AFTER_MINUTES_OPTION,
  stuckAfterMsOption,
  suggestedCommand,
} from "./secret-state.ts";

export const recoverSpec: CommandSpec = {
  name: "recover",
  summary: "Clear a stuck rotation after testing which staged value still works (dry run by default).",
  details: [
    "Tests the AWSCURRENT, AWSPENDING and AWSPREVIOUS values against the Genesys token endpoint (the tokens",
    "are discarded), then plans one change: remove AWSPENDING from the stuck version when AWSCURRENT works;",
    "promote AWSPENDING when only it works; roll back to AWSPREVIOUS when only that works. When no value works",
    "it explains how to re-seed. Nothing changes without --apply; --apply asks before changing (or --yes).",
  ].join("\n"),
  options: {
    "secret-id": ROTATED_SECRET_ID_OPTION,
    apply: { type: "boolean", description: "perform the planned change (asks for confirmation)" },
    yes: { type: "boolean", short: "y", description: "with --apply: do not ask" },
    force: {
      type: "boolean",
      description: "act on a pending rotation younger than --stuck-after-minutes (it may still be running)",
    },
    "stuck-after-minutes": STUCK_AFTER_MINUTES_OPTION,
  },
  examples: [
    "recover --secret-id genesys/reporting",
    "recover --secret-id genesys/reporting --apply",
    "recover --local --secret-id drill/genesys-app --apply --yes",
  ],
};

/** Validated input of `recover`. */
export interface RecoverInput {
  secretId: string;
  apply: boolean;
  yes: boolean;
  force: boolean;
  stuckAfterMs: number;
}

/** Parses and validates `recover` flags. */
export function parseRecoverInput(values: ParsedValues): RecoverInput {
  const input: RecoverInput = {
    secretId: secretIdOption(values, "secret-id", true),
    apply: flag(values, "apply"),
    yes: flag(values, "yes"),
    force: flag(values, "force"),
    stuckAfterMs: stuckAfterMsOption(values),
  };
  if (input.yes && !input.apply) throw new UsageError("--yes", "only applies with --apply");
  return input;
}

/** The test result of one staged value. */
export interface StageCheck {
  label: string;
  versionId: string;
  clientId?: string;
  /** `works` / `rejected` / `unknown` from the token endpoint, or why the value could not be tried. */
  result: MintCheck["outcome"] | "empty" | "invalid";
  detail?: string;
}

/** The change `recover` plans. */
export type RecoveryPlan =
  | {
      action: "none";
      /** Why nothing changes, as one statement: "nothing to recover: ...", "could not test ...". */
      reason: string;
    }
  | { action: "remove-pending"; pendingVersionId: string; markerVersionId?: string }
  | {
      action: "promote-pending";
      pendingVersionId: string;
      currentVersionId: string;
      markerVersionId?: string;
    }
  | {
      action: "rollback-to-previous";
      previousVersionId: string;
      currentVersionId: string;
      pendingVersionId?: string;
      markerVersionId?: string;
    }
  /** AWSCURRENT works and nothing is pending, but the regeneration marker is left: remove it. */
  | { action: "clear-marker"; markerVersionId: string }
  | { action: "reseed"; reason: string; commands: string[] };

/** What `recover` found and did. */
export interface RecoverReport {
  secretArn: string;
  pendingRotation?: SecretState["pendingRotation"];
  checks: StageCheck[];
  plan: RecoveryPlan;
  /** True when the plan was carried out. */
  applied: boolean;
  /** Why a planned change was not carried out (dry run, declined, still running). */
  notApplied?: string;
}

/** Runs `recover`. */
export async function runRecover(input: RecoverInput, deps: CliDependencies): Promise<RecoverReport> {
  const inspected = await inspectSecret(deps, input.secretId, { stuckAfterMs: input.stuckAfterMs });
  const { state } = inspected;
  const checks = await checkStages(inspected, deps);
  const plan = planRecovery(state, checks, input, deps);
  const report: RecoverReport = { secretArn: state.arn, checks, plan, applied: false };
  if (state.pendingRotation !== undefined) report.pendingRotation = state.pendingRotation;
  if (plan.action === "none" || plan.action === "reseed") return report;

  const pending = state.pendingRotation;
  if (pending !== undefined && !pending.stuck && !input.force) {
    report.notApplied =
      `the rotation started ${pending.ageSeconds ?? 0}s ago and may still be running; wait until it is ` +
      `${Math.round(input.stuckAfterMs / 60_000)} minutes old, or pass --force`;
    return report;
  }
  if (!input.apply) {
    report.notApplied = `dry run: run \`${suggestedCommand(deps.target, "recover", { "secret-id": input.secretId, apply: true })}\` to do it`;
    return report;
  }
  if (!input.yes) {
    if (deps.confirm === undefined) {
      throw new UsageError("--yes", "is required with --apply when there is no terminal to confirm on");
    }
    if (!(await deps.confirm(`${describePlan(plan)} Proceed?`))) {
      report.notApplied = "declined at the prompt";
      return report;
    }
  }
  await assertUnchangedSincePlanning(deps, input, inspected, checks);
  await applyPlan(deps, input.secretId, plan);
  report.applied = true;
  return report;
}

async function checkStages(inspected: InspectedSecret, deps: CliDependencies): Promise<StageCheck[]> {
  const { state, credentials } = inspected;
  const checks: StageCheck[] = [];
  const labelled: [string, string | undefined][] = [
    [AWSCURRENT, state.labels.current],
    [AWSPENDING, state.labels.pending === state.labels.current ? undefined : state.labels.pending],
    [AWSPREVIOUS, state.labels.previous],
  ];
  for (const [label, versionId] of labelled) {
    if (versionId === undefined) continue;
    const version = state.versions.find((candidate) => candidate.versionId === versionId);
    const credential: CredentialSecret | undefined = credentials.get(versionId);
    const check: StageCheck = { label, versionId, result: "invalid" };
    if (version?.content.kind === "empty") check.result = "empty";
    else if (version?.content.kind === "invalid") check.detail = version.content.problem;
    else if (credential !== undefined) {
      check.clientId = credential.clientId;
      const minted = await checkMints(deps, credential);
      check.result = minted.outcome;
      if (minted.outcome === "unknown") check.detail = minted.reason;
    }
    checks.push(check);
  }
  return checks;
}

/** Decides the one change to make from the test results (see the module comment). */
export function planRecovery(
  state: SecretState,
  checks: readonly StageCheck[],
  input: Pick<RecoverInput, "secretId">,
  deps: Pick<CliDependencies, "target">,
): RecoveryPlan {
  const result = (label: string) => checks.find((check) => check.label === label);
  const current = result(AWSCURRENT);
  const pending = state.pendingRotation;
  const markerVersionId = state.versions.find((version) =>
    version.stages.includes(REGENERATION_MARKER),
  )?.versionId;
  const marker = markerVersionId === undefined ? {} : { markerVersionId };
  if (current === undefined || state.labels.current === undefined) {
    return {
      action: "none",
      reason: "nothing to recover before the secret has an AWSCURRENT version: seed it",
    };
  }
  if (current.result === "works") {
    if (pending !== undefined)
      return { action: "remove-pending", pendingVersionId: pending.versionId, ...marker };
    return markerVersionId === undefined
      ? { action: "none", reason: "nothing to recover: AWSCURRENT works and no rotation is pending" }
      : { action: "clear-marker", markerVersionId };
  }
  const undecided = checks.find((check) => check.result === "unknown");
  if (current.result === "unknown" || undecided !== undefined) {
    return {
      action: "none",
      reason: `could not test every value (${(undecided ?? current).detail ?? "unknown error"}); nothing is changed on a guess - try again`,
    };
  }
  if (pending !== undefined && result(AWSPENDING)?.result === "works") {
    return {
      action: "promote-pending",
      pendingVersionId: pending.versionId,
      currentVersionId: state.labels.current,
      ...marker,
    };
  }
  const previous = result(AWSPREVIOUS);
  if (previous?.result === "works" && state.labels.previous !== undefined) {
    return {
      action: "rollback-to-previous",
      previousVersionId: state.labels.previous,
      currentVersionId: state.labels.current,
      ...(pending === undefined ? {} : { pendingVersionId: pending.versionId }),
      ...marker,
    };
  }
  return reseedPlan(state, input.secretId, deps);
}

function reseedPlan(
  state: SecretState,
  secretId: string,
  deps: Pick<CliDependencies, "target">,
): RecoveryPlan {
  const current = state.versions.find((version) => version.versionId === state.labels.current)?.content;
  const reason = "no staged value mints a token: moving labels cannot help";
  if (current?.kind !== "credential") {
    return {
      action: "reseed",
      reason,
      commands: [`${suggestedCommand(deps.target, "seed", { "secret-id": secretId })} ... (see seed --help)`],
    };
  }
  const common = { "secret-id": secretId, environment: current.environment, "client-id": current.clientId };
  if (current.adminSecretArn !== undefined) {
    return {
      action: "reseed",
      reason,
      commands: [
        suggestedCommand(deps.target, "seed", {
          ...common,
          ...(current.alternateClientId === undefined ? {} : { "twin-client-id": current.alternateClientId }),
          ...(current.strategy === "single" ? { strategy: "single" } : {}),
          "admin-secret-id": current.adminSecretArn,
          "regenerate-secret": true,
          force: true,
        }),
      ],
    };
  }
  // A self-managed pair (the admin credential): nothing else can regenerate it.
  return {
    action: "reseed",
    reason: `${reason}, and this secret manages itself: regenerate the secret of client ${current.clientId} in Genesys Cloud (Admin > OAuth) and store it with`,
    commands: [
      `${suggestedCommand(deps.target, "seed", { ...common, ...(current.alternateClientId === undefined ? {} : { "twin-client-id": current.alternateClientId }), "admin-pair": true, "client-secret-stdin": true, force: true })} < secret.txt`,
    ],
  };
}

/**
 * Refuses to apply a plan made on a secret that has changed since it was tested. The prompt can sit for
 * minutes, and a retried createSecret may meanwhile fill the empty AWSPENDING placeholder (labels
 * unchanged) and, for `single`, regenerate the client so AWSCURRENT stops working: removing AWSPENDING
 * then would drop the only live value. So the labels, each labelled version's content and creation date,
 * and AWSCURRENT's test result must all be as planned.
 */
async function assertUnchangedSincePlanning(
  deps: CliDependencies,
  input: RecoverInput,
  planned: InspectedSecret,
  checks: readonly StageCheck[],
): Promise<void> {
  const now = await inspectSecret(deps, input.secretId, { stuckAfterMs: input.stuckAfterMs });
  const refuse = (what: string): never => {
    throw new CliError(
      `${input.secretId} changed while recover was waiting (${what}; a rotation ran?): nothing was changed - run recover again.`,
    );
  };
  const before = planned.state;
  for (const label of ["current", "pending", "previous"] as const) {
    if (now.state.labels[label] !== before.labels[label]) refuse(`the ${label.toUpperCase()} label moved`);
  }
  for (const versionId of new Set(Object.values(before.labels))) {
    const was = before.versions.find((version) => version.versionId === versionId);
    const is = now.state.versions.find((version) => version.versionId === versionId);
    if (
      was?.createdAt !== is?.createdAt ||
      JSON.stringify(was?.content) !== JSON.stringify(is?.content) ||
      planned.credentials.get(versionId)?.clientSecret !== now.credentials.get(versionId)?.clientSecret
    ) {
      refuse(`version ${versionId} now holds a different value`);
    }
  }
  const current = now.state.labels.current;
  const credential = current === undefined ? undefined : now.credentials.get(current);
  const plannedResult = checks.find((check) => check.label === AWSCURRENT)?.result;
  if (credential !== undefined) {
    const retest = await checkMints(deps, credential);
    if (retest.outcome !== plannedResult) {
      refuse(`AWSCURRENT was ${plannedResult ?? "untested"} and is now ${retest.outcome}`);
    }
  }
}

async function applyPlan(deps: CliDependencies, secretId: string, plan: RecoveryPlan): Promise<void> {
  const move = (input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) =>
    callAws(
      deps,
      () => deps.secretsManager.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, ...input })),
      { service: "secretsmanager", operation: "UpdateSecretVersionStage", resource: secretId },
    );
  switch (plan.action) {
    case "remove-pending":
      await move({ VersionStage: AWSPENDING, RemoveFromVersionId: plan.pendingVersionId });
      break;
    case "promote-pending":
      // As finishSecret does: AWSCURRENT moves, AWSPREVIOUS follows, AWSPENDING may stay on the new current.
      await move({
        VersionStage: AWSCURRENT,
        MoveToVersionId: plan.pendingVersionId,
        RemoveFromVersionId: plan.currentVersionId,
      });
      break;
    case "rollback-to-previous":
      await move({
        VersionStage: AWSCURRENT,
        MoveToVersionId: plan.previousVersionId,
        RemoveFromVersionId: plan.currentVersionId,
      });
      if (plan.pendingVersionId !== undefined) {
        await move({ VersionStage: AWSPENDING, RemoveFromVersionId: plan.pendingVersionId });
      }
      break;
    case "clear-marker":
      break;
    default:
      return;
  }
  // Last: while it is there, no rotation regenerates the single client again.
  if (plan.markerVersionId !== undefined) {
    await move({ VersionStage: REGENERATION_MARKER, RemoveFromVersionId: plan.markerVersionId });
  }
}

function describePlan(plan: RecoveryPlan): string {
  const marker =
    "markerVersionId" in plan && plan.markerVersionId !== undefined
      ? ` Then remove the regeneration marker ${REGENERATION_MARKER} from version ${plan.markerVersionId}.`
      : "";
  switch (plan.action) {
    case "remove-pending":
      return `AWSCURRENT works: remove AWSPENDING from stuck version ${plan.pendingVersionId}.${marker}`;
    case "promote-pending":
      return `AWSCURRENT is rejected but AWSPENDING works: move AWSCURRENT to version ${plan.pendingVersionId}.${marker}`;
    case "rollback-to-previous":
      return `Only AWSPREVIOUS works: move AWSCURRENT back to version ${plan.previousVersionId}${plan.pendingVersionId === undefined ? "" : ` and remove AWSPENDING from ${plan.pendingVersionId}`}.${marker}`;
    case "clear-marker":
      return `AWSCURRENT works and no rotation is pending: remove the regeneration marker ${REGENERATION_MARKER} from version ${plan.markerVersionId}.`;
    case "reseed":
      return `${plan.reason}:`;
    case "none":
      // The reason is a whole statement ("nothing to recover: ...", "could not test ..."): no prefix.
      return `${plan.reason.charAt(0).toUpperCase()}${plan.reason.slice(1)}.`;
  }
}

/** Human-readable `recover`. */
export function renderRecover(report: RecoverReport): string {
  const lines = [`Secret ${report.secretArn}`];
  const pending = report.pendingRotation;
  lines.push(
    pending === undefined
      ? "No rotation pending."
      : `${pending.stuck ? "Stuck rotation" : "Rotation in progress"}: AWSPENDING on version ${pending.versionId}` +
          `${pending.ageSeconds === undefined ? "" : ` (${pending.ageSeconds}s old)`}.`,
  );
  lines.push("", "Which staged value mints a token:");
  for (const check of report.checks) {
    const client = check.clientId === undefined ? "" : ` client ${check.clientId}`;
    const result = {
      works: "WORKS",
      rejected: "rejected (invalid_client)",
      unknown: "could not test",
      empty: "no value (empty placeholder)",
      invalid: "invalid value",
    }[check.result];
    lines.push(
      `  ${check.label.padEnd(11)} ${check.versionId}${client}: ${result}${check.detail === undefined ? "" : ` - ${check.detail}`}`,
    );
  }
  lines.push("", `Plan: ${describePlan(report.plan)}`);
  if (report.plan.action === "reseed") for (const command of report.plan.commands) lines.push(`  ${command}`);
  if (report.applied) lines.push("Done.");
  else if (report.notApplied !== undefined) lines.push(`Not applied: ${report.notApplied}.`);
  return lines.join("\n");
}

/** Exit code of a `recover` report: 1 when the secret needs a re-seed or a test could not decide. */
export function recoverExitCode(report: RecoverReport): number {
  if (report.plan.action === "reseed") return 1;
  if (report.plan.action === "none" && report.checks.some((check) => check.result === "unknown")) return 1;
  return 0;
}
