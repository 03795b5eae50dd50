/**
 * `recover`'s decision table: which label move follows from which staged value still mints a token.
 * (The remove-pending path runs end to end in commands.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planRecovery, renderRecover, type StageCheck } from "../../bin/cli/recover.ts";
import type { Target } from "../../bin/cli/runtime.ts";
import type { SecretState } from "../../bin/cli/secret-state.ts";

const target: Target = { kind: "aws", region: "eu-west-1" };
const ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/admin-AbCdEf";

function state(options: { adminSecretArn?: string; pending?: boolean } = {}): SecretState {
  const content = {
    kind: "credential" as const,
    clientId: "client-a",
    alternateClientId: "client-b",
    environment: "mypurecloud.ie",
    strategy: "alternating" as const,
    ...(options.adminSecretArn === undefined ? {} : { adminSecretArn: options.adminSecretArn }),
  };
  return {
    arn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:genesys/app-AbCdEf",
    name: "genesys/app",
    rotationEnabled: true,
    versions: [
      ...(options.pending === false ? [] : [{ versionId: "v-pending", stages: ["AWSPENDING"], content }]),
      { versionId: "v-current", stages: ["AWSCURRENT"], content },
      { versionId: "v-previous", stages: ["AWSPREVIOUS"], content },
    ],
    labels: {
      current: "v-current",
      previous: "v-previous",
      ...(options.pending === false ? {} : { pending: "v-pending" }),
    },
    ...(options.pending === false
      ? {}
      : { pendingRotation: { versionId: "v-pending", ageSeconds: 7200, stuck: true } }),
  };
}

function checks(
  current: StageCheck["result"],
  pending: StageCheck["result"],
  previous: StageCheck["result"],
): StageCheck[] {
  return [
    { label: "AWSCURRENT", versionId: "v-current", result: current },
    { label: "AWSPENDING", versionId: "v-pending", result: pending },
    { label: "AWSPREVIOUS", versionId: "v-previous", result: previous },
  ];
}

const input = { secretId: "genesys/app" };

describe("recover plan", () => {
  it("AWSCURRENT works: removes AWSPENDING from the stuck version, whatever the others say", () => {
    assert.deepEqual(planRecovery(state(), checks("works", "rejected", "rejected"), input, { target }), {
      action: "remove-pending",
      pendingVersionId: "v-pending",
    });
  });

  it("AWSCURRENT works and nothing is pending: nothing to recover, said once", () => {
    const stageChecks = checks("works", "works", "works").filter((c) => c.label !== "AWSPENDING");
    const plan = planRecovery(state({ pending: false }), stageChecks, input, { target });
    assert.equal(plan.action, "none");
    const text = renderRecover({ secretArn: "arn", checks: stageChecks, plan, applied: false });
    assert.match(text, /\nPlan: Nothing to recover: AWSCURRENT works and no rotation is pending\.$/);
    assert.equal(text.match(/nothing to/gi)?.length, 1);
  });

  it("AWSCURRENT rejected, AWSPENDING works: promotes AWSPENDING", () => {
    assert.deepEqual(planRecovery(state(), checks("rejected", "works", "works"), input, { target }), {
      action: "promote-pending",
      pendingVersionId: "v-pending",
      currentVersionId: "v-current",
    });
  });

  it("only AWSPREVIOUS works: rolls back and drops AWSPENDING", () => {
    assert.deepEqual(planRecovery(state(), checks("rejected", "empty", "works"), input, { target }), {
      action: "rollback-to-previous",
      previousVersionId: "v-previous",
      currentVersionId: "v-current",
      pendingVersionId: "v-pending",
    });
  });

  it("a test that could not decide changes nothing", () => {
    const plan = planRecovery(state(), checks("rejected", "unknown", "works"), input, { target });
    assert.equal(plan.action, "none");
    assert.match(plan.action === "none" ? plan.reason : "", /nothing is changed on a guess/);
    const text = renderRecover({ secretArn: "arn", checks: [], plan, applied: false });
    assert.match(text, /\nPlan: Could not test every value \(unknown error\); nothing is changed on a guess/);
  });

  it("nothing works: explains the re-seed through the admin credential", () => {
    const plan = planRecovery(
      state({ adminSecretArn: ADMIN_ARN }),
      checks("rejected", "empty", "rejected"),
      input,
      { target },
    );
    assert.equal(plan.action, "reseed");
    assert.deepEqual(plan.action === "reseed" && plan.commands, [
      `npx genesys-rotator seed --secret-id genesys/app --environment mypurecloud.ie --client-id client-a --twin-client-id client-b --admin-secret-id ${ADMIN_ARN} --regenerate-secret --force --region eu-west-1`,
    ]);
  });

  it("nothing works on the self-managed admin pair: regenerate in Genesys and seed from stdin", () => {
    const plan = planRecovery(state(), checks("rejected", "rejected", "rejected"), input, { target });
    assert.equal(plan.action, "reseed");
    assert.match(plan.action === "reseed" ? plan.reason : "", /this secret manages itself/);
    assert.match(
      plan.action === "reseed" ? (plan.commands[0] ?? "") : "",
      /--admin-pair --client-secret-stdin --force .*< secret\.txt$/,
    );
  });

  it("the regeneration marker is removed with the label move, or alone when AWSCURRENT works", () => {
    const marked = state();
    const pendingVersion = marked.versions.find((version) => version.versionId === "v-pending");
    pendingVersion?.stages.push("GENESYS_REGENERATING");
    assert.deepEqual(planRecovery(marked, checks("works", "empty", "rejected"), input, { target }), {
      action: "remove-pending",
      pendingVersionId: "v-pending",
      markerVersionId: "v-pending",
    });

    // A rotation abandoned after the marker was set: no AWSPENDING any more, the marker is left.
    const settled = state({ pending: false });
    settled.versions.push({
      versionId: "v-abandoned",
      stages: ["GENESYS_REGENERATING"],
      content: { kind: "empty" },
    });
    const stageChecks = checks("works", "works", "works").filter((c) => c.label !== "AWSPENDING");
    const plan = planRecovery(settled, stageChecks, input, { target });
    assert.deepEqual(plan, { action: "clear-marker", markerVersionId: "v-abandoned" });
    const text = renderRecover({ secretArn: "arn", checks: stageChecks, plan, applied: false });
    assert.match(
      text,
      /Plan: AWSCURRENT works and no rotation is pending: remove the regeneration marker GENESYS_REGENERATING from version v-abandoned\./,
    );
  });
});
