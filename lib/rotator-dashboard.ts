/**
 * One CloudWatch dashboard for the whole stack: per credential the secret's age against its limit and
 * the outcome of its last rotation step; rotations and failed steps; token mints and mint failures; vend
 * latency; where tokens come from (L1, L2, mint); errors and throttles of both functions; staged-secret
 * fallbacks; and the secret-age check itself. Every graph uses the constructs' own metric methods, so
 * the dashboard and the alarms cannot select different metrics. docs/deploy.md#dashboard shows the layout.
 */
import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import type { GenesysRotationFunction } from "./rotation-function.ts";
import type { SecretAgeMonitor } from "./secret-age-monitor.ts";
import type { TokenVendor } from "./token-vendor.ts";

/** Properties of {@link RotatorDashboard}. */
export interface RotatorDashboardProps {
  /** Credentials whose secret age is graphed, one graph each, in this order. */
  readonly credentials: readonly GenesysCredential[];
  readonly rotationFunction: GenesysRotationFunction;
  readonly tokenVendor: TokenVendor;
  /** Publishes the secret-age metric of every credential in `credentials`. */
  readonly secretAgeMonitor: SecretAgeMonitor;
  /** The secret-age alarms' limit, drawn as a line on each age graph. */
  readonly maxSecretAge: Duration;
  /** @default a name CloudFormation generates */
  readonly dashboardName?: string;
  /** The time range the dashboard opens with. @default Duration.days(7) */
  readonly defaultInterval?: Duration;
}

/** The dashboard's grid: 24 columns; widget heights in rows. */
const FULL_WIDTH = 24;
const HEIGHT = 6;

/** The stack's CloudWatch dashboard. */
export class RotatorDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RotatorDashboardProps) {
    super(scope, id);
    if (props.credentials.length === 0) {
      throw new ConfigurationError(`${this.node.path}: credentials`, "must contain at least one credential");
    }
    const rotation = props.rotationFunction;
    const vendor = props.tokenVendor;
    const monitor = props.secretAgeMonitor;
    const hour = Duration.hours(1);

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      ...(props.dashboardName === undefined ? {} : { dashboardName: props.dashboardName }),
      defaultInterval: props.defaultInterval ?? Duration.days(7),
    });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          "# Genesys OAuth rotator\nRotation and secret age per credential, token vending, and the alarms' metrics. " +
          "What each alarm means and what to do: docs/deploy.md, Alarms.",
        width: FULL_WIDTH,
        height: 2,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: "Last rotation step per secret (outcome)",
        logGroupNames: [rotation.logGroup.logGroupName],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        // The rotation function logs one of these two lines per step, with the secret's ARN and the step.
        queryLines: [
          "fields @timestamp, secretArn, step, message, errorName",
          'filter message in ["rotation step succeeded", "rotation step failed"]',
          "stats latest(@timestamp) as lastStepAt, latest(step) as lastStep, latest(message) as outcome, latest(errorName) as error by secretArn",
          "sort lastStepAt desc",
        ],
        width: 12,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: "Rotations finished / failed rotation steps",
        left: [
          rotation.metricRotationsFinished({ period: hour, label: "rotations finished" }),
          rotation.metricStepFailures({ period: hour, label: "failed steps" }),
        ],
        leftYAxis: { min: 0 },
        width: 12,
        height: HEIGHT,
      }),
    );

    const limitDays = props.maxSecretAge.toDays({ integral: false });
    this.dashboard.addWidgets(
      ...props.credentials.map(
        (credential) =>
          new cloudwatch.GraphWidget({
            title: `Secret age (days) vs limit: ${credential.credentialName}`,
            left: [
              new cloudwatch.MathExpression({
                expression: "age / 86400",
                usingMetrics: { age: monitor.metricSecondsSinceLastRotation(credential, { period: hour }) },
                period: hour,
                label: "days since last rotation",
              }),
            ],
            leftAnnotations: [{ value: limitDays, label: `limit (${limitDays} days)` }],
            leftYAxis: { min: 0 },
            width: 8,
            height: HEIGHT,
          }),
      ),
    );

    const fiveMinutes = Duration.minutes(5);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Token mints / mint failures",
        left: [
          vendor.metricTokenMints({ period: fiveMinutes, label: "mints" }),
          vendor.metricTokenMintFailures({ period: fiveMinutes, label: "mint failures" }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: "Vend latency p50 / p99 (ms)",
        left: [
          vendor.metricDuration({ statistic: "p50", period: fiveMinutes, label: "p50" }),
          vendor.metricDuration({ statistic: "p99", period: fiveMinutes, label: "p99" }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: "Where tokens come from: L1 / L2 / mint",
        left: [
          vendor.metricL1Hits({ period: fiveMinutes, label: "L1 (container memory)" }),
          vendor.metricL2Hits({ period: fiveMinutes, label: "L2 (DynamoDB)" }),
          vendor.metricTokenMints({ period: fiveMinutes, label: "minted" }),
          vendor.metricDynamoDbDegraded({ period: fiveMinutes, label: "without DynamoDB" }),
        ],
        stacked: true,
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Errors / throttles (rotation, vendor)",
        left: [
          rotation.metricErrors({ period: fiveMinutes, label: "rotation errors" }),
          rotation.metricThrottles({ period: fiveMinutes, label: "rotation throttles" }),
          vendor.metricErrors({ period: fiveMinutes, label: "vendor errors" }),
          vendor.metricThrottles({ period: fiveMinutes, label: "vendor throttles" }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: "Staged-secret fallbacks (used / refused)",
        left: [
          vendor.metricFallbackStageUsed({ period: fiveMinutes, label: "AWSPENDING/AWSPREVIOUS used" }),
          vendor.metricFallbackStageRejected({ period: fiveMinutes, label: "refused" }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: "Secret-age check runs (completed / failed)",
        left: [
          monitor.metricSucceededChecks({ period: hour, label: "completed" }),
          monitor.metricFailedChecks({ period: hour, label: "failed or timed out" }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: HEIGHT,
      }),
    );
  }
}
