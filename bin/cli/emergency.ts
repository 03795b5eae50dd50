/**
 * `genesys-rotator emergency`: the secret of the ACTIVE client leaked. A normal rotation regenerates the
 * idle twin, so the leaked secret would stay valid for another interval; this command
 *
 * 1. makes the other twin current (a normal rotation, with the minimum gap overridden: rotate.ts),
 * 2. waits until the token vendor serves tokens of the new client (so no consumer still depends on the
 *    leaked one),
 * 3. moves AWSPREVIOUS onto AWSCURRENT's version, so that no labelled version names a client whose
 *    secret is about to die (raw readers of AWSPREVIOUS then read the current value),
 * 4. ends the leaked client's access: regenerates its secret (kept nowhere), or with `--replace-client`
 *    creates a fresh client like it, stores a new AWSCURRENT version whose alternateClientId names the
 *    fresh client, and deletes the leaked one (which also ends the tokens minted with it).
 *
 * Every step first checks whether its work is already done, and the progress is recorded in a tag on the
 * secret (emergency-state.ts), so running the command again after a crash continues where it stopped.
 * docs/rotation.md, "A secret leaked: emergency".
 */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import {
  PutSecretValueCommand,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { IGNORE_MIN_GAP_TOKEN_PREFIX } from "../../lambda/rotation/preconditions.ts";
import type { OAuthClient } from "../../lambda/shared/genesys/api.ts";
import { GenesysNotFoundError } from "../../lambda/shared/genesys/errors.ts";
import { type CredentialSecret, serializeCredentialSecret } from "../../lambda/shared/secret-value.ts";
import { AWSCURRENT, AWSPREVIOUS } from "../../lambda/shared/staging-labels.ts";
import { CACHE_WARMING_ALIAS, splitFunctionReference } from "../../lambda/shared/vendor-alias.ts";
import {
  type CommandSpec,
  credentialNameOption,
  flag,
  functionNameOption,
  integerOption,
  type ParsedValues,
  ROTATED_SECRET_ID_OPTION,
  secretIdOption,
} from "./args.ts";
import {
  EMERGENCY_TAG,
  type EmergencyMode,
  type EmergencyPhase,
  type EmergencyRecord,
  formatEmergencyTag,
  reached,
} from "./emergency-state.ts";
import { CliError, UsageError } from "./errors.ts";
import { type AdminSession, checkMints, openAdminSession } from "./genesys.ts";
import { runRotate, waitForRotation } from "./rotate.ts";
import { type CliDependencies, callAws } from "./runtime.ts";
import { type InspectedSecret, inspectSecret, readVersion, suggestedCommand } from "./secret-state.ts";
import { readAdminCredential, twinRequest } from "./seed.ts";
import { runVend } from "./vend.ts";

export const emergencySpec: CommandSpec = {
  name: "emergency",
  summary: "The active client's secret leaked: switch to the twin, then end the leaked client's access.",
  details: [
    "Rotates now (minimum gap overridden) so the other twin becomes AWSCURRENT, waits until the token vendor",
    "serves tokens of the new client, moves AWSPREVIOUS onto AWSCURRENT's version (raw readers of AWSPREVIOUS",
    "then read the current value), and regenerates the leaked client's secret through the admin credential",
    "(the new secret is kept nowhere: the next rotation regenerates it again). With --replace-client it",
    "instead creates a fresh client with the leaked one's roles, divisions and token lifetime, stores a new",
    "AWSCURRENT version naming it as the twin, and deletes the leaked client, which also ends its tokens.",
    "Progress is recorded in the secret's tag genesys-rotator:emergency; after a failure, run the same",
    "command again and it continues. --dry-run prints the plan; otherwise it asks (or --yes).",
  ].join("\n"),
  options: {
    "secret-id": ROTATED_SECRET_ID_OPTION,
    "replace-client": {
      type: "boolean",
      description: "replace and delete the leaked client instead of regenerating its secret",
    },
    "dry-run": { type: "boolean", description: "print the plan and change nothing" },
    yes: { type: "boolean", short: "y", description: "do not ask for confirmation" },
    "function-name": {
      type: "string",
      value: "<name|arn>",
      description: "the token-vending function to wait for (required unless --local or --skip-vendor-check)",
    },
    credential: {
      type: "string",
      value: "<name>",
      description: "the vendor's credential for this secret (invokes <function>:<credential>)",
    },
    "skip-vendor-check": {
      type: "boolean",
      description: "no token vendor serves this secret: do not wait for one",
    },
    "timeout-seconds": {
      type: "string",
      value: "<n>",
      description: "how long to wait for the rotation and for the vendor, each (default 300)",
    },
  },
  examples: [
    "emergency --secret-id genesys/reporting --function-name genesys-token-vendor --credential reporting --dry-run",
    "emergency --secret-id genesys/reporting --function-name genesys-token-vendor --credential reporting --replace-client",
    "emergency --local --secret-id drill/genesys-app --yes",
  ],
};

/** Validated input of `emergency`. */
export interface EmergencyInput {
  secretId: string;
  mode: EmergencyMode;
  dryRun: boolean;
  yes: boolean;
  functionName?: string;
  credential?: string;
  skipVendorCheck: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
}

/** Parses and validates `emergency` flags. */
export function parseEmergencyInput(values: ParsedValues): EmergencyInput {
  const dryRun = flag(values, "dry-run");
  const yes = flag(values, "yes");
  if (dryRun && yes) throw new UsageError("--yes", "does not apply with --dry-run (nothing changes)");
  const skipVendorCheck = flag(values, "skip-vendor-check");
  const functionName = functionNameOption(values, "function-name", false);
  const credential = credentialNameOption(values, "credential");
  const local = values.local === true || values.endpoints !== undefined;
  if (skipVendorCheck && (functionName !== undefined || credential !== undefined)) {
    throw new UsageError(
      functionName !== undefined ? "--function-name" : "--credential",
      "does not apply with --skip-vendor-check",
    );
  }
  if (!skipVendorCheck && !local && functionName === undefined) {
    throw new UsageError(
      "--function-name",
      "is required to wait for the token vendor (or --skip-vendor-check when no vendor serves this secret)",
    );
  }
  return {
    secretId: secretIdOption(values, "secret-id", true),
    mode: flag(values, "replace-client") ? "replace-client" : "regenerate",
    dryRun,
    yes,
    ...(functionName === undefined ? {} : { functionName }),
    ...(credential === undefined ? {} : { credential }),
    skipVendorCheck,
    timeoutMs: integerOption(values, "timeout-seconds", { min: 1, max: 3600, default: 300 }) * 1000,
    pollIntervalMs: 1000,
  };
}

/** The steps of an emergency, in order. */
export type EmergencyStepName =
  | "rotate"
  | "wait-for-vendor"
  | "replace-twin"
  | "retire-previous"
  | "regenerate-leaked"
  | "delete-leaked";

/** One step of the plan: already done (before this run), done now, still to do, or skipped. */
export interface EmergencyStep {
  step: EmergencyStepName;
  status: "done-before" | "done" | "planned" | "skipped";
  description: string;
}

/** What `emergency` did or would do (ids only, no secret). */
export interface EmergencyReport {
  secretArn: string;
  mode: EmergencyMode;
  leakedClientId: string;
  /** True when a recorded emergency was continued. */
  resumed: boolean;
  dryRun: boolean;
  /** False when the confirmation was declined. */
  applied: boolean;
  steps: EmergencyStep[];
  /** The client AWSCURRENT names at the end (or, in a dry run, will name). */
  currentClientId?: string;
  /** The fresh twin (--replace-client). */
  replacementClientId?: string;
  notes: string[];
}

/** Where the vendor of this secret is invoked, or why it is not checked. */
type VendorCheck = { functionName: string; credential?: string } | { skipped: string };

/** Runs `emergency`. */
export async function runEmergency(input: EmergencyInput, deps: CliDependencies): Promise<EmergencyReport> {
  let inspected = await inspectSecret(deps, input.secretId);
  let current = currentCredential(inspected, input.secretId);
  if (current.strategy !== "alternating" || current.alternateClientId === undefined) {
    throw new CliError(
      `${input.secretId} uses the single strategy: a rotation regenerates the active client itself, which ends ` +
        `the leaked secret. Run \`${suggestedCommand(deps.target, "rotate", { "secret-id": input.secretId, "ignore-min-gap": true, wait: true })}\`.`,
    );
  }
  const recorded = inspected.state.emergency;
  const resumed = recorded !== undefined && recorded.phase !== "done";
  let record: EmergencyRecord;
  if (resumed) {
    record = recorded;
    if (record.mode !== input.mode) {
      throw new UsageError(
        "--replace-client",
        `must ${record.mode === "replace-client" ? "be given" : "not be given"}: the emergency in progress (started ${record.started}) ` +
          `uses ${record.mode}; run the same command again to continue it`,
      );
    }
  } else {
    const versionId = inspected.state.labels.current ?? "";
    record = {
      phase: "started",
      mode: input.mode,
      leaked: current.clientId,
      version: versionId,
      started: new Date(deps.clock.now()).toISOString(),
    };
    if (formatEmergencyTag(record) === undefined) {
      throw new CliError(
        `The ids of ${input.secretId} are too long to record the emergency's progress in a tag (256 characters): nothing was changed.`,
      );
    }
  }
  const leaked = record.leaked;
  const vendor = vendorCheckFor(input, deps, inspected.state.arn);
  const steps = planSteps(record, inspected, vendor);
  const report: EmergencyReport = {
    secretArn: inspected.state.arn,
    mode: record.mode,
    leakedClientId: leaked,
    resumed,
    dryRun: input.dryRun,
    applied: false,
    steps,
    currentClientId: sameId(current.clientId, leaked) ? current.alternateClientId : current.clientId,
    notes: [],
  };
  if (recorded?.phase === "done") {
    report.notes.push(
      `the previous emergency on this secret (client ${recorded.leaked}, started ${recorded.started}) finished; this starts a new one for ${leaked}`,
    );
  }
  if ("skipped" in vendor) report.notes.push(`the token vendor is not checked: ${vendor.skipped}`);
  if (input.dryRun) return report;
  if (!input.yes) {
    if (deps.confirm === undefined) {
      throw new UsageError("--yes", "is required when there is no terminal to confirm on (or --dry-run)");
    }
    if (!(await deps.confirm(`${describePlan(report)} Proceed?`))) {
      report.notes.push("declined at the prompt: nothing was changed");
      return report;
    }
  }
  report.applied = true;
  const step = (name: EmergencyStepName) => steps.find((entry) => entry.step === name);
  const did = (name: EmergencyStepName) => {
    const entry = step(name);
    if (entry !== undefined && entry.status === "planned") entry.status = "done";
  };
  const record_ = async (phase: EmergencyPhase) => {
    if (reached(record.phase, phase)) return;
    record = { ...record, phase };
    await writeRecord(deps, input.secretId, record);
  };

  if (!resumed) await writeRecord(deps, input.secretId, record);

  // 1. The other twin becomes AWSCURRENT.
  if (sameId(current.clientId, leaked)) {
    await rotateAway(input, deps, inspected);
    inspected = await inspectSecret(deps, input.secretId);
    current = currentCredential(inspected, input.secretId);
    if (sameId(current.clientId, leaked)) {
      throw new CliError(
        `The rotation finished but AWSCURRENT of ${input.secretId} still names the leaked client ${leaked}: nothing else was changed. ` +
          `Check \`${suggestedCommand(deps.target, "status", { "secret-id": input.secretId })}\`.`,
      );
    }
    did("rotate");
  }
  report.currentClientId = current.clientId;
  await record_("rotated");

  // 2. Consumers get tokens of the new client before the leaked one stops working.
  if (!reached(record.phase, "warmed")) {
    if (!("skipped" in vendor)) await waitForVendor(input, deps, vendor, current, inspected.state.arn);
    did("wait-for-vendor");
    await record_("warmed");
  }

  const admin = await adminSession(deps, input.secretId, current);
  if (record.mode === "regenerate") {
    await retirePrevious(deps, input.secretId);
    did("retire-previous");
    if (!reached(record.phase, "regenerated")) {
      if (await leakedSecretStillWorks(deps, input.secretId, record)) {
        await admin.api.regenerateClientSecret(leaked);
        deps.out.stderr(`emergency: regenerated the secret of ${leaked} (the new one is kept nowhere)`);
        did("regenerate-leaked");
      } else {
        step("regenerate-leaked")!.status = "done-before";
      }
      await record_("regenerated");
    }
  } else {
    if (!reached(record.phase, "replaced")) {
      if (sameId(current.alternateClientId ?? "", leaked)) {
        const replacement = await findOrCreateReplacement(admin, leaked, report);
        current = await pointPairAt(deps, input.secretId, current, replacement.id);
        did("replace-twin");
      }
      await record_("replaced");
    }
    report.replacementClientId = current.alternateClientId;
    await retirePrevious(deps, input.secretId);
    did("retire-previous");
    if (!reached(record.phase, "deleted")) {
      // Never a client the pair still names.
      if (sameId(current.clientId, leaked) || sameId(current.alternateClientId ?? "", leaked)) {
        throw new CliError(`Refusing to delete ${leaked}: AWSCURRENT of ${input.secretId} still names it.`);
      }
      try {
        await admin.api.deleteOAuthClient(leaked);
        deps.out.stderr(`emergency: deleted the leaked client ${leaked}`);
        did("delete-leaked");
      } catch (error) {
        if (!(error instanceof GenesysNotFoundError)) throw error;
        step("delete-leaked")!.status = "done-before";
      }
      await record_("deleted");
    }
  }
  await record_("done");
  return report;
}

function currentCredential(inspected: InspectedSecret, secretId: string): CredentialSecret {
  const versionId = inspected.state.labels.current;
  const value = versionId === undefined ? undefined : inspected.credentials.get(versionId);
  if (value === undefined) {
    throw new CliError(`AWSCURRENT of ${secretId} is not a valid credential: nothing was changed.`);
  }
  return value;
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function vendorCheckFor(input: EmergencyInput, deps: CliDependencies, secretArn: string): VendorCheck {
  if (input.skipVendorCheck) return { skipped: "--skip-vendor-check" };
  if (input.functionName !== undefined) {
    return {
      functionName: input.functionName,
      ...(input.credential === undefined ? {} : { credential: input.credential }),
    };
  }
  if (deps.target.kind !== "local") return { skipped: "no --function-name" };
  const { endpoints } = deps.target;
  const credential =
    input.credential ??
    Object.keys(endpoints.credentials).find((name) => endpoints.credentials[name] === secretArn);
  if (credential === undefined) return { skipped: "the local stack's vendor does not vend this secret" };
  return { functionName: endpoints.vendingFunction, credential };
}

/** The plan, each step marked as already done or to do from what the secret and the record say. */
function planSteps(
  record: EmergencyRecord,
  inspected: InspectedSecret,
  vendor: VendorCheck,
): EmergencyStep[] {
  const current = currentCredential(inspected, inspected.state.name || inspected.state.arn);
  const { labels } = inspected.state;
  const rotated = !sameId(current.clientId, record.leaked);
  const next = rotated ? current.clientId : (current.alternateClientId ?? "");
  const status = (done: boolean): EmergencyStep["status"] => (done ? "done-before" : "planned");
  const steps: EmergencyStep[] = [
    {
      step: "rotate",
      status: status(rotated),
      description: `rotate now (minimum gap overridden): ${next} becomes AWSCURRENT`,
    },
    {
      step: "wait-for-vendor",
      status: "skipped" in vendor ? "skipped" : status(reached(record.phase, "warmed")),
      description:
        "skipped" in vendor
          ? `wait for the token vendor: skipped (${vendor.skipped})`
          : `wait until ${vendor.functionName}${vendor.credential === undefined ? "" : `:${vendor.credential}`} serves tokens of ${next}`,
    },
  ];
  const previousRetired = rotated && labels.previous === labels.current;
  if (record.mode === "regenerate") {
    steps.push(
      {
        step: "retire-previous",
        status: status(previousRetired),
        description:
          "move AWSPREVIOUS onto AWSCURRENT's version (no labelled version names the leaked client)",
      },
      {
        step: "regenerate-leaked",
        status: status(reached(record.phase, "regenerated")),
        description: `regenerate the secret of ${record.leaked} through the admin credential (the new secret is kept nowhere)`,
      },
    );
  } else {
    steps.push(
      {
        step: "replace-twin",
        status: status(reached(record.phase, "replaced")),
        description: `create a client like ${record.leaked} (roles, divisions, token lifetime) and store a new AWSCURRENT version naming it as the twin`,
      },
      {
        step: "retire-previous",
        status: status(reached(record.phase, "replaced") && previousRetired),
        description:
          "move AWSPREVIOUS onto AWSCURRENT's version (no labelled version names the leaked client)",
      },
      {
        step: "delete-leaked",
        status: status(reached(record.phase, "deleted")),
        description: `delete the client ${record.leaked} (its secret and its tokens stop working)`,
      },
    );
  }
  return steps;
}

function describePlan(report: EmergencyReport): string {
  const todo = report.steps.filter((step) => step.status === "planned").map((step) => step.description);
  return `${report.resumed ? "Continue" : "Start"} the emergency for client ${report.leakedClientId} of ${report.secretArn}: ${todo.join("; ")}.`;
}

async function writeRecord(deps: CliDependencies, secretId: string, record: EmergencyRecord): Promise<void> {
  const value = formatEmergencyTag(record) ?? "";
  await callAws(
    deps,
    () =>
      deps.secretsManager.send(
        new TagResourceCommand({ SecretId: secretId, Tags: [{ Key: EMERGENCY_TAG, Value: value }] }),
      ),
    { service: "secretsmanager", operation: "TagResource", resource: secretId },
  );
  deps.out.stderr(`emergency: ${value}`);
}

/** RotateSecret (minimum gap overridden) and wait, or wait for the emergency rotation already running. */
async function rotateAway(
  input: EmergencyInput,
  deps: CliDependencies,
  inspected: InspectedSecret,
): Promise<void> {
  const pending = inspected.state.pendingRotation;
  let outcome: string;
  let versionId: string;
  if (pending !== undefined) {
    if (!pending.versionId.startsWith(IGNORE_MIN_GAP_TOKEN_PREFIX) || pending.stuck) {
      throw new CliError(
        `A rotation of ${input.secretId} is ${pending.stuck ? "stuck" : "in progress"} (AWSPENDING on version ${pending.versionId}): ` +
          `clear it with \`${suggestedCommand(deps.target, "recover", { "secret-id": input.secretId })}\`, then run emergency again. Nothing was changed.`,
      );
    }
    // The rotation an interrupted run started: wait for it rather than start another.
    versionId = pending.versionId;
    outcome = await waitForRotation(deps, input.secretId, versionId, input);
  } else {
    const rotated = await runRotate(
      {
        secretId: input.secretId,
        wait: true,
        timeoutMs: input.timeoutMs,
        testOnly: false,
        ignoreMinGap: true,
        pollIntervalMs: input.pollIntervalMs,
      },
      deps,
    );
    outcome = rotated.outcome;
    versionId = rotated.versionId;
  }
  if (outcome !== "succeeded") {
    throw new CliError(
      `The rotation of ${input.secretId} (version ${versionId}) did not succeed (${outcome}); the leaked client is still AWSCURRENT ` +
        `and nothing else was changed. Check the rotation function's logs and \`${suggestedCommand(deps.target, "status", { "secret-id": input.secretId })}\`, then run emergency again.`,
    );
  }
  deps.out.stderr(`emergency: rotation ${versionId} succeeded`);
}

/**
 * Invokes the vendor as a consumer does until the token it serves belongs to the new client
 * (GET /api/v2/tokens/me). After the first miss it also sends the vendor the cache-warming request the
 * rotation function sends (best effort: the rotation may have done it already).
 */
async function waitForVendor(
  input: EmergencyInput,
  deps: CliDependencies,
  vendor: { functionName: string; credential?: string },
  current: CredentialSecret,
  secretArn: string,
): Promise<void> {
  const deadline = deps.clock.now() + input.timeoutMs;
  let nudged = false;
  let last = "";
  for (;;) {
    try {
      const vended = await runVend(
        {
          functionName: vendor.functionName,
          ...(vendor.credential === undefined ? {} : { credential: vendor.credential }),
          whoami: true,
        },
        deps,
      );
      if (vended.client !== undefined && sameId(vended.client.id, current.clientId)) {
        deps.out.stderr(`emergency: the vendor serves tokens of ${current.clientId}`);
        return;
      }
      last =
        vended.client === undefined ? (vended.whoamiNote ?? "client unknown") : `client ${vended.client.id}`;
    } catch (error) {
      last = error instanceof Error ? `${error.name}: ${error.message}` : "unknown error";
    }
    if (!nudged) {
      nudged = true;
      await warmVendor(deps, vendor.functionName, secretArn);
    }
    if (deps.clock.now() + input.pollIntervalMs > deadline) {
      throw new CliError(
        `The token vendor still does not serve tokens of ${current.clientId} after ${Math.round(input.timeoutMs / 1000)} s (last: ${last}); ` +
          "the leaked client was not touched, so consumers keep working. Run emergency again to continue.",
      );
    }
    await deps.clock.sleep(input.pollIntervalMs);
  }
}

async function warmVendor(deps: CliDependencies, functionName: string, secretArn: string): Promise<void> {
  try {
    await deps.lambda.send(
      new InvokeCommand({
        FunctionName: splitFunctionReference(functionName).function,
        Qualifier: CACHE_WARMING_ALIAS,
        Payload: new TextEncoder().encode(JSON.stringify({ warm: { secretArn } })),
      }),
    );
  } catch (error) {
    deps.out.stderr(
      `emergency: cache warming through ${functionName}:${CACHE_WARMING_ALIAS} failed (${error instanceof Error ? error.name : "error"}); waiting for the vendor anyway`,
    );
  }
}

/** The admin credential: the secret's admin secret, or the secret itself when it is a self-managed pair. */
async function adminSession(
  deps: CliDependencies,
  secretId: string,
  current: CredentialSecret,
): Promise<AdminSession> {
  if (current.adminSecretArn === undefined) {
    return openAdminSession(deps, current, `AWSCURRENT of ${secretId} (a self-managed pair)`);
  }
  const admin = await readAdminCredential(deps, current.adminSecretArn, current.environment);
  return openAdminSession(deps, admin.value, `the admin credential in ${current.adminSecretArn}`);
}

/** AWSPREVIOUS onto AWSCURRENT's version, so that no labelled version names the leaked client any more. */
async function retirePrevious(deps: CliDependencies, secretId: string): Promise<void> {
  const { state } = await inspectSecret(deps, secretId);
  const { current, previous } = state.labels;
  if (current === undefined || previous === current) return;
  await callAws(
    deps,
    () =>
      deps.secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: AWSPREVIOUS,
          MoveToVersionId: current,
          ...(previous === undefined ? {} : { RemoveFromVersionId: previous }),
        }),
      ),
    { service: "secretsmanager", operation: "UpdateSecretVersionStage", resource: secretId },
  );
  deps.out.stderr(`emergency: AWSPREVIOUS moved to AWSCURRENT's version ${current}`);
}

/**
 * Whether the leaked secret (the recorded version's value) still mints a token: the check that keeps a
 * resumed run from regenerating twice. A version that can no longer be read counts as "still works".
 */
async function leakedSecretStillWorks(
  deps: CliDependencies,
  secretId: string,
  record: EmergencyRecord,
): Promise<boolean> {
  const { credential } = await readVersion(deps, secretId, record.version);
  if (credential === undefined || !sameId(credential.clientId, record.leaked)) return true;
  const check = await checkMints(deps, credential);
  if (check.outcome === "unknown") {
    throw new CliError(
      `Cannot tell whether the leaked secret of ${record.leaked} still works (${check.reason}); run emergency again.`,
    );
  }
  return check.outcome === "works";
}

/** The fresh twin: one a previous run created (found by name and description), or a new one. */
async function findOrCreateReplacement(
  admin: AdminSession,
  leakedId: string,
  report: EmergencyReport,
): Promise<OAuthClient> {
  const leaked = await admin.api.getOAuthClient(leakedId);
  const marker = `Replaces leaked client ${leaked.id}`;
  const found = (await admin.api.findOAuthClientsByName(leaked.name)).find(
    (client) => client.id !== leaked.id && (client.description ?? "").startsWith(marker),
  );
  if (found !== undefined) {
    report.notes.push(`reused the replacement client ${found.id} an interrupted run created`);
    return found;
  }
  // Its secret is dropped: the next rotation regenerates it before anyone uses it.
  const { secret: _, ...created } = await admin.api.createOAuthClient({
    ...twinRequest(leaked, leaked.name, "active"),
    description: `${marker}, rotated by genesys-oauth-rotator`,
  });
  report.notes.push(`created the replacement client ${created.id} "${created.name}"`);
  return created;
}

/** A new AWSCURRENT version: the same value with `alternateClientId` = the replacement. */
async function pointPairAt(
  deps: CliDependencies,
  secretId: string,
  current: CredentialSecret,
  replacementId: string,
): Promise<CredentialSecret> {
  const value: CredentialSecret = { ...current, alternateClientId: replacementId };
  await callAws(
    deps,
    () =>
      deps.secretsManager.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          SecretString: serializeCredentialSecret(value),
          VersionStages: [AWSCURRENT],
        }),
      ),
    { service: "secretsmanager", operation: "PutSecretValue", resource: secretId },
  );
  deps.out.stderr(`emergency: AWSCURRENT now names ${replacementId} as the twin`);
  return value;
}

/** Human-readable `emergency`. */
export function renderEmergency(report: EmergencyReport): string {
  const headline = report.dryRun
    ? `Plan (dry run, nothing changed) for the leaked client ${report.leakedClientId} of ${report.secretArn}:`
    : !report.applied
      ? `Nothing changed for the leaked client ${report.leakedClientId} of ${report.secretArn}:`
      : `Emergency ${report.resumed ? "continued and " : ""}finished for the leaked client ${report.leakedClientId} of ${report.secretArn}:`;
  const mark: Record<EmergencyStep["status"], string> = {
    "done-before": "[done before]",
    done: "[done]",
    planned: report.applied ? "[NOT DONE]" : "[to do]",
    skipped: "[skipped]",
  };
  const lines = [
    headline,
    ...report.steps.map((step) => `  ${mark[step.status].padEnd(14)}${step.description}`),
  ];
  if (report.currentClientId !== undefined) lines.push(`  AWSCURRENT client: ${report.currentClientId}`);
  if (report.replacementClientId !== undefined) lines.push(`  new twin: ${report.replacementClientId}`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  return lines.join("\n");
}
