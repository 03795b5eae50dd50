/**
 * Everything that tells a human that rotation or vending needs attention: one SNS topic, the
 * rotation-failure event rule, and CloudWatch alarms. docs/deploy.md explains each alarm and what to do.
 */
import { ArnFormat, type Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { ConfigurationError } from "../lambda/shared/errors.ts";
import { isCompleteSecretArn } from "../lambda/shared/secret-arn.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import type { GenesysRotationFunction } from "./rotation-function.ts";
import type { SecretAgeMonitor } from "./secret-age-monitor.ts";
import type { TokenVendor } from "./token-vendor.ts";

/** The Secrets Manager service events that mean a rotation did not complete. */
export const ROTATION_FAILURE_EVENTS = ["RotationFailed", "TestRotationFailed", "RotationAbandoned"] as const;

/** Properties of {@link RotatorAlarms}. */
export interface RotatorAlarmsProps {
  /** Credentials whose rotation-failure events are forwarded. */
  readonly credentials: readonly GenesysCredential[];
  readonly rotationFunction: GenesysRotationFunction;
  readonly tokenVendor: TokenVendor;
  /** Publishes the secret-age metric; one alarm per credential when given. @default no secret-age alarms */
  readonly secretAgeMonitor?: SecretAgeMonitor;
  /** A secret older than this raises its secret-age alarm. Required with `secretAgeMonitor`. */
  readonly maxSecretAge?: Duration;
  /**
   * An existing topic. It must let events.amazonaws.com and cloudwatch.amazonaws.com publish (and use its
   * KMS key, if any): this construct cannot change an imported topic's policies.
   * @default a new topic encrypted with `encryptionKey`
   */
  readonly topic?: sns.ITopic;
  /** Key for a created topic; its key policy gets statements for EventBridge and CloudWatch. Required without `topic`. */
  readonly encryptionKey?: kms.Key;
  /** E-mail address subscribed to a created topic (the recipient must confirm the subscription). @default none */
  readonly email?: string;
  /** Vending errors per 5 minutes that raise the vendor-errors alarm. @default 5 */
  readonly vendorErrorThreshold?: number;
  /** Failed token mints per 5 minutes that raise the mint-failures alarm. @default 3 */
  readonly mintFailureThreshold?: number;
}

/** The alarm topic, the rotation-failure rule and the alarms. */
export class RotatorAlarms extends Construct {
  readonly topic: sns.ITopic;
  readonly rotationFailureRule: events.Rule;
  /** Every alarm, keyed by construct id (e.g. `RotationErrors`). */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  readonly #alarms = new Map<string, cloudwatch.Alarm>();
  readonly #action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: RotatorAlarmsProps) {
    super(scope, id);
    this.alarms = this.#alarms;
    const created = props.topic === undefined ? this.#createTopic(props) : undefined;
    this.topic = props.topic ?? (created as sns.Topic);
    this.#action = new actions.SnsAction(this.topic);

    this.rotationFailureRule = new events.Rule(this, "RotationFailureRule", {
      description: "Genesys credential rotation failed, test rotation failed, or rotation was abandoned",
      eventPattern: rotationFailurePattern(props.credentials),
      // A created topic gets its EventBridge statements below, conditioned on this rule; the stock
      // target's grant has no conditions. An imported topic's policy is its owner's (see `topic`).
      targets: [created === undefined ? new targets.SnsTopic(this.topic) : ungrantedTopicTarget(created)],
    });
    if (created !== undefined) this.#letRulePublish(created, props.encryptionKey as kms.Key);

    const rotation = props.rotationFunction;
    this.#alarm("RotationErrors", rotation.metricErrors(), {
      threshold: 1,
      description:
        "A rotation step failed. Secrets Manager retries the rotation; see the rotation function's log for the step and error name (docs/deploy.md, Alarms).",
    });
    this.#alarm("FinishHookFailures", rotation.metricFinishHookFailures(), {
      threshold: 1,
      description:
        "An action after a rotation failed: an integration credential (Data Action) may still hold the old secret, or the vendor's cache was not warmed. See the rotation log for hook and errorName (docs/deploy.md, Alarms).",
    });
    this.#alarm("RotationThrottles", rotation.metricThrottles(), {
      threshold: 1,
      description:
        "The rotation function was throttled: check the account's Lambda concurrency (docs/deploy.md, Alarms).",
    });
    const vendor = props.tokenVendor;
    this.#alarm("VendorErrors", vendor.metricErrors(), {
      threshold: props.vendorErrorThreshold ?? 5,
      description:
        "Consumers got errors from the token vendor (unknown credential, rejected credential, rate limit, unavailable). See the vending log (docs/deploy.md, Alarms).",
    });
    this.#alarm("VendorThrottles", vendor.metricThrottles(), {
      threshold: 1,
      description:
        "The token vendor was throttled: consumers got no token. Check Lambda concurrency (docs/deploy.md, Alarms).",
    });
    this.#alarm("TokenMintFailures", vendor.metricTokenMintFailures(), {
      threshold: props.mintFailureThreshold ?? 3,
      description:
        "The token vendor could not mint tokens at the Genesys token endpoint (bad credentials, rate limiting, outage). Cached tokens are served until they expire (docs/deploy.md, Alarms).",
    });
    this.#alarm("FallbackStageRejected", vendor.metricFallbackStageRejected(), {
      threshold: 1,
      description:
        "The token vendor refused a staged secret (AWSPENDING/AWSPREVIOUS) that does not continue AWSCURRENT's client pair: a failed or tampered rotation left it. Check who wrote the secret (CloudTrail) and run genesys-rotator recover (docs/deploy.md, Alarms).",
    });

    if (props.secretAgeMonitor !== undefined) {
      if (props.maxSecretAge === undefined) {
        throw new ConfigurationError(`${this.node.path}: maxSecretAge`, "is required with secretAgeMonitor");
      }
      const monitor = props.secretAgeMonitor;
      for (const credential of props.credentials) {
        this.#alarm(`SecretAge${credential.node.id}`, monitor.metricSecondsSinceLastRotation(credential), {
          threshold: props.maxSecretAge.toSeconds(),
          // No age published for a whole period = the check stopped looking at this secret: that is not OK.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          description: `The secret of Genesys credential "${credential.credentialName}" has not rotated for more than ${props.maxSecretAge.toDays()} days, or its age was not published (docs/deploy.md, Alarms).`,
        });
      }
      this.#alarm("SecretAgeCheckFailures", monitor.metricFailedChecks(), {
        threshold: 1,
        description:
          "The hourly secret-age check failed, so the secret-age alarms may be stale. See the check's execution history (docs/deploy.md, Alarms).",
      });
      this.#alarm("SecretAgeCheckSilent", monitor.metricSucceededChecks(), {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description:
          "The secret-age check has not completed for three intervals: its schedule is disabled or deleted, or every run fails. The secret-age alarms cannot be trusted (docs/deploy.md, Alarms).",
      });
    }
  }

  #createTopic(props: RotatorAlarmsProps): sns.Topic {
    const key = props.encryptionKey;
    if (key === undefined) {
      throw new ConfigurationError(`${this.node.path}: encryptionKey`, "is required when no topic is given");
    }
    const topic = new sns.Topic(this, "Topic", {
      displayName: "Genesys OAuth rotator alarms",
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch publishes alarms to the encrypted topic as its own principal, which the key must trust
    // (AWS's documented statement). Both statements only hold for alarms of this account and region
    // (aws:SourceAccount + aws:SourceArn), so no other account's alarm can use the service principal
    // to reach this topic (confused deputy).
    const stack = Stack.of(this);
    const fromOwnAlarms = {
      StringEquals: { "aws:SourceAccount": stack.account },
      ArnLike: {
        "aws:SourceArn": stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: "*",
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsUseKeyForTopic",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: fromOwnAlarms,
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    if (props.email !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    return topic;
  }

  /**
   * Lets the rotation-failure rule publish to the created topic: the topic policy only for this rule
   * (aws:SourceArn) of this account (aws:SourceAccount). The key statement carries no source
   * condition: AWS documents that aws:SourceAccount/aws:SourceArn are not supported in a KMS key
   * policy for EventBridge-to-encrypted-topic delivery (the events would be dropped).
   */
  #letRulePublish(topic: sns.Topic, key: kms.Key): void {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EventBridgeUsesKeyForTopic",
        principals: [new iam.ServicePrincipal("events.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
      }),
    );
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "RotationFailureRulePublish",
        principals: [new iam.ServicePrincipal("events.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": Stack.of(this).account },
          ArnEquals: { "aws:SourceArn": this.rotationFailureRule.ruleArn },
        },
      }),
    );
  }

  #alarm(
    id: string,
    metric: cloudwatch.IMetric,
    options: {
      threshold: number;
      description: string;
      /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
      comparisonOperator?: cloudwatch.ComparisonOperator;
      /** @default NOT_BREACHING: no data = nothing happened (no invocations, no failures) */
      treatMissingData?: cloudwatch.TreatMissingData;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      evaluationPeriods: 1,
      comparisonOperator:
        options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    this.#alarms.set(id, alarm);
    return alarm;
  }
}

/** An EventBridge target publishing to `topic` that, unlike `targets.SnsTopic`, grants nothing. */
function ungrantedTopicTarget(topic: sns.ITopic): events.IRuleTarget {
  return { bind: () => ({ arn: topic.topicArn, targetResource: topic }) };
}

/**
 * The event pattern of {@link ROTATION_FAILURE_EVENTS} for exactly these credentials' secrets. The secret
 * is named in `detail.additionalEventData.SecretId`, or in `aRN` in events written before February 2024:
 * both are matched (`$or`). A partial ARN (imported secret) is matched as a prefix up to the random suffix.
 */
export function rotationFailurePattern(credentials: readonly GenesysCredential[]): events.EventPattern {
  const secretMatchers = credentials.map((credential) => {
    const secret = credential.secret;
    if (secret.secretFullArn !== undefined) return secret.secretFullArn;
    return isCompleteSecretArn(secret.secretArn) ? secret.secretArn : { prefix: `${secret.secretArn}-` };
  });
  return {
    source: ["aws.secretsmanager"],
    detailType: ["AWS Service Event via CloudTrail"],
    detail: {
      eventName: [...ROTATION_FAILURE_EVENTS],
      $or: [
        { additionalEventData: { SecretId: secretMatchers } },
        { additionalEventData: { aRN: secretMatchers } },
      ],
    },
  };
}
