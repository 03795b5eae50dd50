/**
 * lib/rotator-dashboard.ts: the widgets select the constructs' own metrics, `dashboard: false` omits the
 * dashboard, and the committed picture (docs/dashboard.svg) matches the construct.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import {
  DASHBOARD_PICTURE,
  renderDashboardSvg,
  synthesizedDashboardBody,
} from "../../bin/dashboard-picture.ts";
import { FULL_CONFIG, synthesize } from "./synth.ts";

const synth = synthesize(FULL_CONFIG);
after(() => synth.cleanup());
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON, asserted field by field
type CfnJson = any;
const resources = synth.template().toJSON().Resources as Record<
  string,
  { Type: string; Properties: CfnJson }
>;
const dashboards = Object.values(resources).filter((r) => r.Type === "AWS::CloudWatch::Dashboard");
const dashboardBody = dashboards[0]?.Properties.DashboardBody["Fn::Join"][1] as unknown[] | undefined;
const body = JSON.parse(
  (dashboardBody ?? []).map((part) => (typeof part === "string" ? part : "TOKEN")).join(""),
) as { widgets: { type: string; properties: CfnJson }[] };
const titles = body.widgets.map((widget) => widget.properties.title as string | undefined);
const widget = (title: string) => body.widgets.find((w) => w.properties.title === title);
/** `[namespace, metricName, ...dimensions, options]` entries of a graph → their metric names (visible or not). */
const metricNames = (title: string) =>
  ((widget(title)?.properties.metrics ?? []) as unknown[][]).flatMap((entry) =>
    typeof entry[0] === "string" && typeof entry[1] === "string" ? [entry[1]] : [],
  );

describe("dashboard", () => {
  test("one dashboard, on by default, opening on the last 7 days", () => {
    assert.equal(dashboards.length, 1);
    assert.deepEqual(dashboards[0]?.Properties.DashboardName, {
      "Fn::Join": ["", ["GenesysOAuthRotator-", { Ref: "AWS::Region" }]],
    });
    assert.match(dashboards[0]?.Properties.DashboardBody["Fn::Join"][1][0], /"start":"-P7D"/);
    assert.equal(body.widgets.length > 0, true);
    assert.ok(synth.stack.dashboard);
  });

  test("per credential: the secret's age against its limit, and the last rotation step's outcome", () => {
    for (const name of ["default", "legacy", "reporting", "admin"]) {
      const age = widget(`Secret age (days) vs limit: ${name}`);
      assert.ok(age, name);
      assert.deepEqual(age.properties.annotations.horizontal, [
        { value: 99, label: "limit (99 days)", yAxis: "left" },
      ]);
      assert.deepEqual(metricNames(`Secret age (days) vs limit: ${name}`), ["SecondsSinceLastRotation"]);
    }
    const log = body.widgets.find((w) => w.type === "log");
    assert.match(
      log?.properties.query,
      /filter message in \["rotation step succeeded", "rotation step failed"\]/,
    );
    assert.match(log?.properties.query, /by secretArn/);
  });

  test("mints, latency, the L1/L2/mint split, errors, throttles and fallbacks use the vendor's metric names", () => {
    assert.deepEqual(metricNames("Token mints / mint failures"), ["TokenMints", "TokenMintFailures"]);
    assert.deepEqual(metricNames("Where tokens come from: L1 / L2 / mint"), [
      "L1Hits",
      "L2Hits",
      "TokenMints",
      "DynamoDbDegraded",
    ]);
    assert.deepEqual(metricNames("Staged-secret fallbacks (used / refused)"), [
      "FallbackStageUsed",
      "FallbackStageRejected",
    ]);
    const latency = (widget("Vend latency p50 / p99 (ms)")?.properties.metrics ?? []) as unknown[][];
    assert.deepEqual(
      latency.map((entry) => (entry.at(-1) as { stat: string }).stat),
      ["p50", "p99"],
    );
    assert.deepEqual(metricNames("Errors / throttles (rotation, vendor)"), [
      "Errors",
      "Throttles",
      "Errors",
      "Throttles",
    ]);
    assert.deepEqual(metricNames("Rotations finished / failed rotation steps"), [
      "RotationFinished",
      "RotationStepFailed",
      "RotationStepFailed",
      "RotationStepFailed",
      "RotationStepFailed",
    ]);
    assert.ok(titles.includes("Rotations finished / failed rotation steps"));
    assert.ok(titles.includes("Secret-age check runs (completed / failed)"));
  });

  test("dashboard: false omits it", () => {
    const without = synthesize({ ...FULL_CONFIG, dashboard: false });
    after(() => without.cleanup());
    assert.equal(without.stack.dashboard, undefined);
    without.template().resourceCountIs("AWS::CloudWatch::Dashboard", 0);
  });

  test("docs/dashboard.svg is the construct's current layout (npm run -s docs:dashboard rewrites it)", () => {
    assert.equal(
      readFileSync(DASHBOARD_PICTURE, "utf8"),
      renderDashboardSvg(synthesizedDashboardBody()),
      "docs/dashboard.svg is out of date: run `npm run -s docs:dashboard` and commit it",
    );
  });
});
