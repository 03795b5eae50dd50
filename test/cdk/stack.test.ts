/**
 * The synthesized stack for a configuration with every strategy and both kinds of imported secret.
 * One synthesis is shared by every assertion of this file.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Match } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { FULL_CONFIG, synthesize } from "./synth.ts";

const synth = synthesize(FULL_CONFIG);
after(() => synth.cleanup());
const template = synth.template();
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON, asserted field by field
type CfnJson = any;
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties?: CfnJson; DependsOn?: string[] }
>;
const { stack } = synth;

const id = (construct: object) => synth.logicalId(construct);
const [defaultCredential, legacy, reporting] = stack.credentials;
const admin = stack.adminCredentials.get("admin");
assert.ok(defaultCredential && legacy && reporting && admin);

const ref = (construct: object) => ({ Ref: id(construct) });
const arnOf = (construct: object) => ({ "Fn::GetAtt": [id(construct), "Arn"] });
const viaService = (service: string) => ({
  StringEquals: {
    "kms:ViaService": { "Fn::Join": ["", [`${service}.`, { Ref: "AWS::Region" }, ".amazonaws.com"]] },
  },
});
const LEGACY_RESOURCE = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy-??????";
const REPORTING_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/reporting-AbC123";
const IMPORTED_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0d3c0c8e-1111-2222-3333-444455556666";
const key = arnOf(stack.encryptionKey);

/** CloudWatch statements hold only for alarms of the stack's own account and region. */
const OWN_ALARMS_CONDITION = {
  StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
  ArnLike: {
    "aws:SourceArn": {
      "Fn::Join": [
        "",
        [
          "arn:",
          { Ref: "AWS::Partition" },
          ":cloudwatch:",
          { Ref: "AWS::Region" },
          ":",
          { Ref: "AWS::AccountId" },
          ":alarm:*",
        ],
      ],
    },
  },
};

function ofType(type: string) {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

describe("rotation schedules", () => {
  test("every credential, admins included, rotates on rate(90 days) without rotating on deploy", () => {
    const schedules = ofType("AWS::SecretsManager::RotationSchedule").map(([, r]) => r.Properties);
    assert.deepEqual(
      schedules.map((s) => s.SecretId),
      [
        ref(admin.secret),
        ref(defaultCredential.secret),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy",
        REPORTING_ARN,
      ],
    );
    for (const schedule of schedules) {
      assert.deepEqual(schedule.RotationRules, { ScheduleExpression: "rate(90 days)" });
      assert.equal(schedule.RotateImmediatelyOnUpdate, false);
      assert.deepEqual(schedule.RotationLambdaARN, arnOf(stack.rotationFunction.function));
      assert.equal(schedule.HostedRotationLambda, undefined);
    }
  });

  test("each schedule is created after the invoke permission and the role policy", () => {
    for (const [, schedule] of ofType("AWS::SecretsManager::RotationSchedule")) {
      assert.ok(schedule.DependsOn?.includes(id(stack.rotationFunction.invokePermission)));
      assert.ok(
        schedule.DependsOn?.includes(id(stack.rotationFunction.role.node.findChild("DefaultPolicy"))),
      );
    }
  });
});

describe("invoke permission", () => {
  test("only secretsmanager.amazonaws.com of this account may invoke the rotation function", () => {
    const permissions = ofType("AWS::Lambda::Permission").map(([, r]) => r.Properties);
    assert.deepEqual(permissions, [
      {
        Action: "lambda:InvokeFunction",
        FunctionName: arnOf(stack.rotationFunction.function),
        Principal: "secretsmanager.amazonaws.com",
        SourceAccount: { Ref: "AWS::AccountId" },
      },
    ]);
  });
});

describe("IAM: every statement, exactly", () => {
  const policies = Object.fromEntries(
    ofType("AWS::IAM::Policy").map(([, r]) => [
      r.Properties.Roles[0].Ref,
      r.Properties.PolicyDocument.Statement,
    ]),
  );
  const stateMachine = stack.secretAgeMonitor.stateMachine;

  test("the rotation function: its log group, four actions on exactly its secrets, version dates of single-client secrets, KMS through Secrets Manager, warming", () => {
    assert.deepEqual(policies[id(stack.rotationFunction.role)], [
      {
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Effect: "Allow",
        Resource: arnOf(stack.rotationFunction.logGroup),
      },
      {
        Sid: "RotateGenesysCredentialSecrets",
        Action: [
          "secretsmanager:DescribeSecret",
          "secretsmanager:GetSecretValue",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
        ],
        Effect: "Allow",
        // The admin secret is rotated by the same function, so GetSecretValue on it is included here.
        Resource: [ref(admin.secret), ref(defaultCredential.secret), LEGACY_RESOURCE, REPORTING_ARN],
      },
      {
        Sid: "UseSecretKeysThroughSecretsManager",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Condition: viaService("secretsmanager"),
        Effect: "Allow",
        Resource: [key, IMPORTED_KEY],
      },
      {
        Sid: "WarmTokenVendorCache",
        Action: "lambda:InvokeFunction",
        Effect: "Allow",
        // The cache-warming alias only: never the function, never a credential's alias.
        Resource: ref(stack.tokenVendor.cacheWarmingAlias),
      },
    ]);
  });

  test("no GetRandomPassword anywhere: Genesys generates the secrets", () => {
    assert.doesNotMatch(JSON.stringify(template.toJSON()), /GetRandomPassword/);
  });

  test("the token vendor: its log group, its table's items, its key through DynamoDB, only the vended secrets", () => {
    assert.deepEqual(policies[id(stack.tokenVendor.role)], [
      {
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Effect: "Allow",
        Resource: arnOf(stack.tokenVendor.logGroup),
      },
      {
        Sid: "TokenCacheItems",
        Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"],
        Effect: "Allow",
        Resource: arnOf(stack.tokenVendor.table),
      },
      {
        Sid: "TokenCacheKeyThroughDynamoDb",
        Action: ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        Condition: viaService("dynamodb"),
        Effect: "Allow",
        Resource: key,
      },
      {
        Sid: "ReadVendedCredentialSecrets",
        Action: ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        Effect: "Allow",
        // Never the admin secret.
        Resource: [ref(defaultCredential.secret), LEGACY_RESOURCE, REPORTING_ARN],
      },
      {
        Sid: "DecryptCredentialSecretsThroughSecretsManager",
        Action: "kms:Decrypt",
        Condition: viaService("secretsmanager"),
        Effect: "Allow",
        Resource: [key, IMPORTED_KEY],
      },
    ]);
  });

  test("the secret-age check: DescribeSecret on the secrets, log delivery, metrics in our namespace only", () => {
    assert.deepEqual(policies[id(stateMachine.role)], [
      {
        Action: "secretsmanager:DescribeSecret",
        Effect: "Allow",
        Resource: [ref(defaultCredential.secret), LEGACY_RESOURCE, REPORTING_ARN, ref(admin.secret)],
      },
      {
        Action: [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ],
        Effect: "Allow",
        Resource: "*",
      },
      {
        Sid: "PublishSecretAgeMetric",
        Action: "cloudwatch:PutMetricData",
        Condition: { StringEquals: { "cloudwatch:namespace": "GenesysOAuthRotator" } },
        Effect: "Allow",
        Resource: "*",
      },
    ]);
  });

  test("EventBridge may only start the secret-age check", () => {
    const eventsRoles = Object.keys(policies).filter(
      (roleId) =>
        ![stack.rotationFunction.role, stack.tokenVendor.role, stateMachine.role].map(id).includes(roleId),
    );
    assert.equal(eventsRoles.length, 1);
    assert.deepEqual(policies[eventsRoles[0] as string], [
      { Action: "states:StartExecution", Effect: "Allow", Resource: ref(stateMachine) },
    ]);
  });

  test("no role has a managed or inline policy besides these (outside a VPC)", () => {
    for (const [, role] of ofType("AWS::IAM::Role")) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
      assert.equal(role.Properties.Policies, undefined);
    }
    assert.equal(ofType("AWS::IAM::Role").length, 4);
  });

  test("consumers are granted through grantVend: invoke on the alias of their credential only", () => {
    // Separate roles that are not added to the shared template (the template was captured above).
    const consumer = new iam.Role(stack, "Consumer", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    const grant = stack.tokenVendor.grantVend(consumer, "reporting");
    assert.ok(grant.success);
    assert.deepEqual(stack.resolve(grant.principalStatements[0]?.toStatementJson()), {
      Action: "lambda:InvokeFunction",
      Effect: "Allow",
      Resource: ref(stack.tokenVendor.credentialAlias("reporting")),
    });
    // The default is the first credential.
    const other = new iam.Role(stack, "DefaultConsumer", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    });
    assert.deepEqual(
      stack.resolve(stack.tokenVendor.grantVend(other).principalStatements[0]?.toStatementJson()),
      {
        Action: "lambda:InvokeFunction",
        Effect: "Allow",
        Resource: ref(stack.tokenVendor.credentialAlias("default")),
      },
    );
    assert.throws(() => stack.tokenVendor.grantVend(other, "sales"), {
      name: "ConfigurationError",
      message: /credentialName: "sales" is not vended here; vended credentials: default, legacy, reporting/,
    });
  });
});

describe("encryption", () => {
  test("the customer managed key rotates", () => {
    template.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
  });

  test("created secrets, the token table and the topic use the key", () => {
    for (const credential of [admin, defaultCredential]) {
      assert.deepEqual(resources[id(credential.secret)]?.Properties.KmsKeyId, key);
    }
    assert.deepEqual(resources[id(stack.tokenVendor.table)]?.Properties.SSESpecification, {
      KMSMasterKeyId: key,
      SSEEnabled: true,
      SSEType: "KMS",
    });
    assert.deepEqual(resources[id(stack.alarms.topic)]?.Properties.KmsMasterKeyId, key);
  });

  test("created secrets hold the fixed unseeded marker and are retained", () => {
    for (const credential of [admin, defaultCredential]) {
      const secret = template.toJSON().Resources[id(credential.secret)];
      assert.match(secret.Properties.SecretString, /"unseeded"/);
      assert.equal(secret.DeletionPolicy, "Retain");
      assert.equal(secret.Properties.GenerateSecretString, undefined);
    }
    // No resource policy: a root-delete deny would block cleanup by the account's own admins too.
    template.resourceCountIs("AWS::SecretsManager::ResourcePolicy", 0);
  });

  test("CloudWatch may use the key to publish alarms to the encrypted topic, only for this account's alarms", () => {
    const keyPolicy = resources[id(stack.encryptionKey)]?.Properties.KeyPolicy.Statement as CfnJson[];
    const cloudWatch = keyPolicy.filter((s) => s.Principal.Service === "cloudwatch.amazonaws.com");
    assert.equal(cloudWatch.length, 1);
    assert.equal(cloudWatch[0]?.Sid, "CloudWatchAlarmsUseKeyForTopic");
    assert.deepEqual(cloudWatch[0]?.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
    assert.deepEqual(cloudWatch[0]?.Condition, OWN_ALARMS_CONDITION);
  });

  test("EventBridge may use the key (no source condition: AWS does not support one for this delivery)", () => {
    const keyPolicy = resources[id(stack.encryptionKey)]?.Properties.KeyPolicy.Statement as CfnJson[];
    const eventBridge = keyPolicy.filter((s) => s.Principal.Service === "events.amazonaws.com");
    assert.equal(eventBridge.length, 1, "one statement for EventBridge (not the target's stock grant too)");
    assert.equal(eventBridge[0]?.Sid, "EventBridgeUsesKeyForTopic");
    assert.deepEqual(eventBridge[0]?.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
    assert.equal(eventBridge[0]?.Condition, undefined);
  });
});

describe("token table", () => {
  test("TTL on `ttl`, point-in-time recovery, pk hash key, on demand", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe("functions", () => {
  const rotation = resources[id(stack.rotationFunction.function)]?.Properties;
  const vendor = resources[id(stack.tokenVendor.function)]?.Properties;

  test("Node.js 24 on arm64, outside any VPC, with their own log groups", () => {
    for (const fn of [rotation, vendor]) {
      assert.equal(fn.Runtime, "nodejs24.x");
      assert.deepEqual(fn.Architectures, ["arm64"]);
      assert.equal(fn.VpcConfig, undefined);
      assert.equal(fn.Handler, "index.handler");
    }
    assert.deepEqual(rotation.LoggingConfig, { LogGroup: ref(stack.rotationFunction.logGroup) });
    assert.deepEqual(vendor.LoggingConfig, { LogGroup: ref(stack.tokenVendor.logGroup) });
    for (const [, group] of ofType("AWS::Logs::LogGroup"))
      assert.equal(group.Properties.RetentionInDays, 365);
  });

  test("timeouts and memory: rotation 5 minutes / 256 MB, vending 10 s / 512 MB", () => {
    assert.equal(rotation.Timeout, 300);
    assert.equal(rotation.MemorySize, 256);
    assert.equal(vendor.Timeout, 10);
    assert.equal(vendor.MemorySize, 512);
  });

  test("rotation environment (docs/ARCHITECTURE.md)", () => {
    assert.deepEqual(rotation.Environment.Variables, {
      // The stack's name and the construct's path: no other stack's metrics share its dimension.
      POWERTOOLS_SERVICE_NAME: `${stack.stackName}/Default/Rotation`,
      POWERTOOLS_METRICS_NAMESPACE: "GenesysOAuthRotator",
      NODE_OPTIONS: "--enable-source-maps",
      PROPAGATION_TIMEOUT_SECONDS: "60",
      MIN_ROTATION_GAP_SECONDS: "176400",
      INTEGRATION_CREDENTIALS: JSON.stringify({ "team/reporting": ["1f6e3f0a-aaaa-bbbb-cccc-0123456789ab"] }),
      // Every rotated secret pinned to the admin its configuration names; "" = self-managed pair. Grouped
      // by admin, and the stack's own secrets named after SECRET_NAME_PREFIX: 100 credentials fit 4 KB.
      SECRET_NAME_PREFIX: "GenesysOAuthRotator/genesys/",
      ADMIN_SECRET_ARNS: {
        "Fn::Join": [
          "",
          ['{"":["./admin","team/reporting"],"', ref(admin.secret), '":["./default","team/legacy"]}'],
        ],
      },
      TOKEN_VENDOR_FUNCTION_NAME: {
        "Fn::Join": [
          "",
          [
            { "Fn::Select": [6, { "Fn::Split": [":", ref(stack.tokenVendor.cacheWarmingAlias)] }] },
            ":cache-warming",
          ],
        ],
      },
    });
  });

  test("vending environment: CREDENTIALS in configuration order, table name", () => {
    const variables = vendor.Environment.Variables;
    assert.deepEqual(variables.TOKEN_TABLE_NAME, ref(stack.tokenVendor.table));
    assert.equal(variables.POWERTOOLS_SERVICE_NAME, `${stack.stackName}/Default/TokenVendor`);
    assert.equal(variables.POWERTOOLS_SERVICE_NAME, stack.tokenVendor.serviceName);
    assert.equal(variables.POWERTOOLS_METRICS_NAMESPACE, "GenesysOAuthRotator");
    assert.equal(variables.LEASE_SECONDS, undefined);
    assert.equal(variables.REJECTION_MINT_INTERVAL_SECONDS, undefined);
    // A created secret by its name ("" = SECRET_NAME_PREFIX + the credential's name), an imported one by its ARN.
    assert.equal(variables.SECRET_NAME_PREFIX, "GenesysOAuthRotator/genesys/");
    assert.equal(
      variables.CREDENTIALS,
      `{"default":"","legacy":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy","reporting":"${REPORTING_ARN}"}`,
    );
  });
});

describe("rotation-failure events", () => {
  test("the rule matches the three failure events of exactly these secrets, by SecretId or aRN", () => {
    const matchers = [
      ref(defaultCredential.secret),
      { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy-" },
      REPORTING_ARN,
      ref(admin.secret),
    ];
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        detail: {
          eventName: ["RotationFailed", "TestRotationFailed", "RotationAbandoned"],
          $or: [{ additionalEventData: { SecretId: matchers } }, { additionalEventData: { aRN: matchers } }],
        },
      },
      Targets: [Match.objectLike({ Arn: ref(stack.alarms.topic) })],
    });
  });

  test("the topic enforces TLS and e-mails the configured address", () => {
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
      TopicArn: ref(stack.alarms.topic),
    });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  test("only this account's alarms and the rotation-failure rule may publish to the topic", () => {
    const policies = ofType("AWS::SNS::TopicPolicy");
    assert.equal(policies.length, 1);
    const statements = policies[0]?.[1].Properties.PolicyDocument.Statement as CfnJson[];
    const byService = (service: string) =>
      statements.filter((s) => s.Effect === "Allow" && s.Principal.Service === service);
    const cloudWatch = byService("cloudwatch.amazonaws.com");
    assert.equal(cloudWatch.length, 1);
    assert.deepEqual(cloudWatch[0]?.Condition, OWN_ALARMS_CONDITION);
    const eventBridge = byService("events.amazonaws.com");
    assert.equal(eventBridge.length, 1, "one statement for EventBridge (not the target's stock grant too)");
    assert.equal(eventBridge[0]?.Action, "sns:Publish");
    assert.deepEqual(eventBridge[0]?.Condition, {
      StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
      ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [id(stack.alarms.rotationFailureRule), "Arn"] } },
    });
    // Every service principal allowed on the topic carries both conditions.
    for (const s of statements.filter((s) => s.Effect === "Allow")) {
      assert.ok(s.Condition?.StringEquals?.["aws:SourceAccount"], `${s.Sid}: aws:SourceAccount`);
      assert.ok(s.Condition?.ArnLike?.["aws:SourceArn"] ?? s.Condition?.ArnEquals?.["aws:SourceArn"]);
    }
  });
});

describe("alarms", () => {
  const alarms = ofType("AWS::CloudWatch::Alarm").map(([, r]) => r.Properties);
  const byName = (metricName: string, dimension?: unknown) =>
    alarms.filter(
      (a) =>
        a.MetricName === metricName &&
        (dimension === undefined || JSON.stringify(a.Dimensions) === JSON.stringify(dimension)),
    );

  test("Errors and Throttles of both functions", () => {
    for (const fn of [stack.rotationFunction.function, stack.tokenVendor.function]) {
      const dimension = [{ Name: "FunctionName", Value: ref(fn) }];
      assert.equal(byName("Errors", dimension).length, 1);
      assert.equal(byName("Throttles", dimension).length, 1);
    }
    assert.equal(
      byName("Errors", [{ Name: "FunctionName", Value: ref(stack.rotationFunction.function) }])[0]?.Threshold,
      1,
    );
  });

  test("token mint failures and refused fallback stages of the vendor (custom metrics)", () => {
    for (const metric of ["TokenMintFailures", "FallbackStageRejected"]) {
      const [alarm, ...others] = byName(metric);
      assert.equal(others.length, 0, metric);
      assert.equal(alarm?.Namespace, "GenesysOAuthRotator", metric);
      // The vendor's own service (its POWERTOOLS_SERVICE_NAME): another stack's vendor never fires it.
      assert.deepEqual(
        alarm?.Dimensions,
        [{ Name: "service", Value: `${stack.stackName}/Default/TokenVendor` }],
        metric,
      );
      assert.equal(alarm?.Statistic, "Sum", metric);
    }
    assert.equal(byName("FallbackStageRejected")[0]?.Threshold, 1);
  });

  test("failed finish hooks of the rotation function (integration credentials, cache warming)", () => {
    const [alarm, ...others] = byName("FinishHookFailed");
    assert.equal(others.length, 0);
    assert.equal(alarm?.Namespace, "GenesysOAuthRotator");
    // The dimensions the rotation handler publishes with: its service and the step the hooks run in.
    assert.deepEqual(alarm?.Dimensions, [
      { Name: "service", Value: stack.rotationFunction.serviceName },
      { Name: "step", Value: "finishSecret" },
    ]);
    assert.equal(alarm?.Statistic, "Sum");
    assert.equal(alarm?.Threshold, 1);
  });

  test("one secret-age alarm per secret at interval + margin (99 days for 90), plus failed checks", () => {
    const ages = byName("SecondsSinceLastRotation");
    assert.equal(ages.length, 4);
    for (const alarm of ages) {
      assert.equal(alarm.Threshold, 99 * 86400);
      assert.equal(alarm.Statistic, "Maximum");
      assert.equal(alarm.ComparisonOperator, "GreaterThanOrEqualToThreshold");
      // An age that stops being published (the check stopped) raises the alarm too.
      assert.equal(alarm.TreatMissingData, "breaching");
    }
    assert.deepEqual(
      ages.map((a) => a.Dimensions[0].Value),
      [
        ref(defaultCredential.secret),
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy",
        REPORTING_ARN,
        ref(admin.secret),
      ],
    );
    assert.equal(alarms.filter((a) => a.Metrics !== undefined).length, 1, "the failed-checks math alarm");
  });

  test("a secret-age check that stops running raises an alarm (silence is not OK)", () => {
    const [silent, ...others] = byName("ExecutionsSucceeded");
    assert.equal(others.length, 0);
    assert.equal(silent?.Namespace, "AWS/States");
    assert.deepEqual(silent?.Dimensions, [
      { Name: "StateMachineArn", Value: ref(stack.secretAgeMonitor.stateMachine) },
    ]);
    assert.equal(silent?.Statistic, "Sum");
    assert.equal(silent?.Period, 3 * 3600, "three missed hourly checks");
    assert.equal(silent?.ComparisonOperator, "LessThanThreshold");
    assert.equal(silent?.Threshold, 1);
    assert.equal(silent?.TreatMissingData, "breaching");
  });

  test("every alarm notifies the topic on ALARM and OK; only the silence alarms treat missing data as breaching", () => {
    assert.equal(alarms.length, 5 + 2 + 4 + 1 + 1);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.AlarmActions, [ref(stack.alarms.topic)]);
      assert.deepEqual(alarm.OKActions, [ref(stack.alarms.topic)]);
      const silence =
        alarm.MetricName === "SecondsSinceLastRotation" || alarm.MetricName === "ExecutionsSucceeded";
      assert.equal(alarm.TreatMissingData, silence ? "breaching" : "notBreaching", alarm.MetricName);
    }
  });

  test("the secret-age check runs hourly with every secret as input", () => {
    const rules = ofType("AWS::Events::Rule").map(([, r]) => r.Properties);
    const schedule = rules.find((r) => r.ScheduleExpression !== undefined);
    assert.equal(schedule?.ScheduleExpression, "rate(1 hour)");
    assert.deepEqual(schedule?.Targets[0].Arn, ref(stack.secretAgeMonitor.stateMachine));
    assert.deepEqual(schedule?.Targets[0].Input, {
      "Fn::Join": [
        "",
        [
          '{"secrets":[{"secretId":"',
          ref(defaultCredential.secret),
          '"},{"secretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy"},' +
            `{"secretId":"${REPORTING_ARN}"},{"secretId":"`,
          ref(admin.secret),
          '"}]}',
        ],
      ],
    });
  });

  test("the check describes each secret and publishes its age in seconds", () => {
    const parts =
      resources[id(stack.secretAgeMonitor.stateMachine)]?.Properties.DefinitionString["Fn::Join"][1];
    const definition = JSON.parse(parts.map((p: unknown) => (typeof p === "string" ? p : "aws")).join(""));
    const states = definition.States.ForEachSecret.ItemProcessor.States;
    assert.equal(definition.QueryLanguage, "JSONata");
    assert.equal(states.DescribeSecret.Resource, "arn:aws:states:::aws-sdk:secretsmanager:describeSecret");
    assert.deepEqual(states.DescribeSecret.Arguments, { SecretId: "{% $states.input.secretId %}" });
    assert.match(
      states.DescribeSecret.Output.ageSeconds,
      /LastRotatedDate.*CreatedDate.*Execution\.StartTime/,
    );
    assert.equal(states.PutMetricData.Resource, "arn:aws:states:::aws-sdk:cloudwatch:putMetricData");
    assert.deepEqual(states.PutMetricData.Arguments, {
      Namespace: "GenesysOAuthRotator",
      MetricData: [
        {
          MetricName: "SecondsSinceLastRotation",
          Dimensions: [{ Name: "SecretId", Value: "{% $states.input.secretId %}" }],
          Value: "{% $states.input.ageSeconds %}",
          Unit: "Seconds",
        },
      ],
    });
  });
});

describe("outputs", () => {
  test("vendor name and ARN, token table name, every secret ARN, the topic", () => {
    const outputs = template.toJSON().Outputs;
    assert.deepEqual(Object.keys(outputs).sort(), [
      "AdminAdminSecretArn",
      "AlarmTopicArn",
      "CredentialDefaultSecretArn",
      "CredentialLegacySecretArn",
      "CredentialReportingSecretArn",
      "RotationFunctionArn",
      "TokenTableName",
      "TokenVendorCredentials",
      "TokenVendorFunctionArn",
      "TokenVendorFunctionName",
    ]);
    assert.deepEqual(outputs.TokenTableName.Value, ref(stack.tokenVendor.table));
    assert.deepEqual(outputs.RotationFunctionArn.Value, arnOf(stack.rotationFunction.function));
    // The vendor's CREDENTIALS (name → secret ARN): how `genesys-rotator status` finds a secret's cache entry.
    assert.deepEqual(outputs.TokenVendorCredentials.Value, {
      "Fn::Join": [
        "",
        [
          '{"default":"',
          ref(defaultCredential.secret),
          '","legacy":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy",' +
            `"reporting":"${REPORTING_ARN}"}`,
        ],
      ],
    });
    assert.deepEqual(outputs.TokenVendorFunctionName.Value, ref(stack.tokenVendor.function));
    assert.deepEqual(outputs.TokenVendorFunctionArn.Value, arnOf(stack.tokenVendor.function));
    assert.deepEqual(outputs.CredentialDefaultSecretArn.Value, ref(defaultCredential.secret));
    assert.equal(outputs.CredentialReportingSecretArn.Value, REPORTING_ARN);
  });
});

describe("who may vend which credential (synthesized template)", () => {
  // Its own synthesis: a consumer role is part of this template.
  const granted = synthesize(FULL_CONFIG);
  after(() => granted.cleanup());
  const vendor = granted.stack.tokenVendor;
  const consumer = new iam.Role(granted.stack, "ReportingConsumer", {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
  });
  vendor.grantVend(consumer, "reporting");
  const json = granted.template().toJSON();
  const all = json.Resources as Record<string, { Type: string; Properties: CfnJson }>;
  const lid = (construct: object) => granted.logicalId(construct);
  /** Every lambda:InvokeFunction resource in the policies attached to `role`. */
  const invokeResources = (role: object) =>
    Object.values(all)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((r) =>
        r.Properties.Roles.some(
          (entry: unknown) => JSON.stringify(entry) === JSON.stringify({ Ref: lid(role) }),
        ),
      )
      .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[])
      .filter((statement) => [statement.Action].flat().some((action) => String(action).startsWith("lambda:")))
      .flatMap((statement) => [statement.Resource].flat());

  test("one alias of $LATEST per vended credential, plus cache-warming", () => {
    const aliases = Object.values(all)
      .filter((r) => r.Type === "AWS::Lambda::Alias")
      .map((r) => r.Properties);
    assert.deepEqual(aliases.map((a) => a.Name).sort(), ["cache-warming", "default", "legacy", "reporting"]);
    for (const alias of aliases) {
      assert.equal(alias.FunctionVersion, "$LATEST");
      assert.deepEqual(alias.FunctionName, { Ref: lid(vendor.function) });
    }
    assert.equal(
      Object.values(all).filter((r) => r.Type === "AWS::Lambda::Version").length,
      0,
      "no versions pile up",
    );
  });

  test("the consumer's policy names only its credential's alias: no function ARN, no wildcard", () => {
    assert.deepEqual(invokeResources(consumer), [{ Ref: lid(vendor.credentialAlias("reporting")) }]);
    const text = JSON.stringify(invokeResources(consumer));
    assert.ok(!text.includes(lid(vendor.function)), "not the unqualified function");
    assert.ok(!text.includes("*"), "no wildcard");
  });

  test("the rotation role names only the cache-warming alias", () => {
    assert.deepEqual(invokeResources(granted.stack.rotationFunction.role), [
      { Ref: lid(vendor.cacheWarmingAlias) },
    ]);
  });

  test("no other principal may invoke the vendor (no resource policy on it or its aliases)", () => {
    const permissions = Object.values(all).filter((r) => r.Type === "AWS::Lambda::Permission");
    for (const permission of permissions) {
      assert.notDeepEqual(permission.Properties.FunctionName, {
        "Fn::GetAtt": [lid(vendor.function), "Arn"],
      });
    }
  });
});
