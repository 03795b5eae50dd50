/**
 * Publishes, every hour, how long ago each credential secret last rotated, as the CloudWatch metric
 * `GenesysOAuthRotator / SecondsSinceLastRotation` (dimension `SecretId`), so that an ordinary alarm can
 * fire when a secret has not rotated within its schedule plus a margin.
 *
 * Why a scheduled check and not CloudWatch alone: a 90-day schedule needs an alarm that "sees" 90+
 * days, but an alarm evaluates at most 7 days of data, and a metric published only on rotation is
 * silent precisely when rotations stop. Something must publish the age periodically. A Step Functions
 * workflow calling DescribeSecret and PutMetricData through SDK integrations does that with no code to
 * maintain, no dependency to patch, and nothing that can read a secret value (DescribeSecret returns
 * metadata only).
 */
import { Aws, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import { GrowingStatement, MAX_RESOURCES_PER_STATEMENT } from "./private/growing-statement.ts";
import { METRICS_NAMESPACE } from "./private/node-function.ts";
import { secretResourceArn } from "./private/secret-arn.ts";

/** Properties of {@link SecretAgeMonitor}. */
export interface SecretAgeMonitorProps {
  /** The credentials whose secrets are checked. */
  readonly credentials: readonly GenesysCredential[];
  /** How often the ages are published. @default Duration.hours(1) */
  readonly interval?: Duration;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/** Scheduled DescribeSecret → PutMetricData for every credential secret. */
export class SecretAgeMonitor extends Construct {
  /** The published metric. */
  static readonly METRIC_NAME = "SecondsSinceLastRotation";

  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;
  readonly interval: Duration;
  readonly #secretIds: Map<GenesysCredential, string>;

  constructor(scope: Construct, id: string, props: SecretAgeMonitorProps) {
    super(scope, id);
    if (props.credentials.length === 0) {
      throw new ConfigurationError(`${this.node.path}: credentials`, "must contain at least one credential");
    }
    this.interval = props.interval ?? Duration.hours(1);
    if (this.interval.toMinutes() < 5) {
      throw new ConfigurationError(`${this.node.path}: interval`, "must be at least 5 minutes");
    }
    this.#secretIds = new Map(
      props.credentials.map((credential) => [credential, credential.secret.secretArn]),
    );

    const secretResources = props.credentials.map((credential) => secretResourceArn(credential.secret));
    const describe = tasks.CallAwsService.jsonata(this, "DescribeSecret", {
      service: "secretsmanager",
      action: "describeSecret",
      iamAction: "secretsmanager:DescribeSecret",
      // The first MAX_RESOURCES_PER_STATEMENT secrets; the rest are granted below, in statements that
      // keep each policy under IAM's size limit.
      iamResources: secretResources.slice(0, MAX_RESOURCES_PER_STATEMENT),
      parameters: { SecretId: "{% $states.input.secretId %}" },
      // Age from the last rotation, or from creation when the secret never rotated. Timestamps come back
      // as ISO-8601 strings; epoch seconds are accepted too. Time is the execution's start, not $now().
      outputs: {
        secretId: "{% $states.input.secretId %}",
        ageSeconds:
          "{% ($t := $exists($states.result.LastRotatedDate) ? $states.result.LastRotatedDate : $states.result.CreatedDate; " +
          '$ms := $type($t) = "number" ? $t * 1000 : $toMillis($t); ' +
          "$round(($toMillis($states.context.Execution.StartTime) - $ms) / 1000)) %}",
      },
    });
    // A custom state, so that the IAM statement below (with its namespace condition) is the only grant.
    const publish = new sfn.CustomState(this, "PutMetricData", {
      stateJson: {
        Type: "Task",
        QueryLanguage: "JSONata",
        Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:cloudwatch:putMetricData`,
        Arguments: {
          Namespace: METRICS_NAMESPACE,
          MetricData: [
            {
              MetricName: SecretAgeMonitor.METRIC_NAME,
              Dimensions: [{ Name: "SecretId", Value: "{% $states.input.secretId %}" }],
              Value: "{% $states.input.ageSeconds %}",
              Unit: "Seconds",
            },
          ],
        },
      },
    });
    const forEachSecret = sfn.Map.jsonata(this, "ForEachSecret", {
      items: sfn.ProvideItems.jsonata("{% $states.input.secrets %}"),
      maxConcurrency: 2,
    }).itemProcessor(describe.next(publish));

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      comment: "Publishes SecondsSinceLastRotation for every Genesys credential secret",
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(forEachSecret),
      timeout: Duration.minutes(5),
      // Execution data is DescribeSecret metadata (no secret values); the events alone explain failures.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    const moreSecrets = new GrowingStatement(this.stateMachine.role, {
      sid: "DescribeMoreCredentialSecrets",
      actions: ["secretsmanager:DescribeSecret"],
    });
    for (const arn of secretResources.slice(MAX_RESOURCES_PER_STATEMENT)) moreSecrets.addResource(arn);
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "PublishSecretAgeMetric",
        actions: ["cloudwatch:PutMetricData"],
        // PutMetricData has no resource-level permissions; the namespace condition is the scope.
        resources: ["*"],
        conditions: { StringEquals: { "cloudwatch:namespace": METRICS_NAMESPACE } },
      }),
    );

    new events.Rule(this, "Schedule", {
      description: "Runs the Genesys credential secret-age check",
      schedule: events.Schedule.rate(this.interval),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({
            secrets: [...this.#secretIds.values()].map((secretId) => ({ secretId })),
          }),
        }),
      ],
    });
  }

  /** Seconds since `credential`'s secret last rotated (or was created), the maximum over `period`. */
  metricSecondsSinceLastRotation(
    credential: GenesysCredential,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    const secretId = this.#secretIds.get(credential);
    if (secretId === undefined) {
      throw new ConfigurationError(
        `${this.node.path}: credential`,
        `"${credential.credentialName}" is not monitored; pass it in credentials`,
      );
    }
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: SecretAgeMonitor.METRIC_NAME,
      dimensionsMap: { SecretId: secretId },
      statistic: "Maximum",
      period: Duration.hours(6),
      unit: cloudwatch.Unit.SECONDS,
      ...props,
    });
  }

  /**
   * Checks that completed (the heartbeat of the age metric): zero over a few intervals means the check
   * stopped running (schedule disabled or deleted) or fails before it publishes.
   */
  metricSucceededChecks(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded({
      statistic: "Sum",
      period: Duration.minutes(Math.min(this.interval.toMinutes() * 3, 24 * 60)),
      ...props,
    });
  }

  /** Checks that failed or timed out (so the age metric may be stale). */
  metricFailedChecks(props?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: "FILL(failed, 0) + FILL(timedOut, 0)",
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ statistic: "Sum" }),
        timedOut: this.stateMachine.metricTimedOut({ statistic: "Sum" }),
      },
      period: Duration.hours(1),
      label: "Failed secret-age checks",
      ...props,
    });
  }
}
