/**
 * ListSecrets through the real SDK: metadata only, order and paging, planned deletions, and AWS's filter
 * rules (ANDed filters, ORed values, prefixes, case rules, `!` negation, `all`), plus NextRotationDate.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type Filter,
  ListSecretsCommand,
  RotateSecretCommand,
  type SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../../lambda/shared/clock.ts";
import { fakeRotator, ROTATION_LAMBDA_ARN, startWithClient } from "./helpers.ts";

const clock = new ManualClock(Date.UTC(2026, 4, 1));
const { emulator, client } = await startWithClient({ clock });
emulator.setInvoker(fakeRotator(client).invoker);

const create = async (
  name: string,
  extra: Partial<ConstructorParameters<typeof CreateSecretCommand>[0]> = {},
) => {
  clock.advance(1000);
  await client.send(new CreateSecretCommand({ Name: name, SecretString: "v", ...extra }));
};
await create("app/reporting", { Description: "Reporting CREDENTIAL", Tags: [{ Key: "team", Value: "ops" }] });
await create("app/billing", {
  Tags: [
    { Key: "aws:cloudformation:stack-name", Value: "GenesysOAuthRotator" },
    { Key: "team", Value: "Finance" },
  ],
});
await create("other/thing");
await create("app/old");
await client.send(new DeleteSecretCommand({ SecretId: "app/old", RecoveryWindowInDays: 7 }));

const names = async (filters?: Filter[], extra: Record<string, unknown> = {}) =>
  ((await client.send(new ListSecretsCommand({ Filters: filters, ...extra }))).SecretList ?? []).map(
    (secret) => secret.Name,
  );

describe("ListSecrets", () => {
  it("lists metadata in creation order, never a value; planned deletions only when asked", async () => {
    const listed = await client.send(new ListSecretsCommand({}));
    assert.deepEqual(
      listed.SecretList?.map((secret) => secret.Name),
      ["app/reporting", "app/billing", "other/thing"],
    );
    const reporting = listed.SecretList?.[0];
    assert.equal(reporting?.Description, "Reporting CREDENTIAL");
    assert.deepEqual(reporting?.Tags, [{ Key: "team", Value: "ops" }]);
    assert.deepEqual(Object.values(reporting?.SecretVersionsToStages ?? {}), [["AWSCURRENT"]]);
    assert.ok(!JSON.stringify(listed).includes('"v"'), "no secret value");
    assert.deepEqual(await names(undefined, { SortOrder: "desc" }), [
      "other/thing",
      "app/billing",
      "app/reporting",
    ]);
    assert.deepEqual(await names(undefined, { IncludePlannedDeletion: true }), [
      "app/reporting",
      "app/billing",
      "other/thing",
      "app/old",
    ]);
  });

  it("pages with MaxResults and NextToken", async () => {
    const first = await client.send(new ListSecretsCommand({ MaxResults: 2 }));
    assert.equal(first.SecretList?.length, 2);
    assert.ok(first.NextToken);
    const second = await client.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    assert.deepEqual(
      second.SecretList?.map((secret) => secret.Name),
      ["other/thing"],
    );
    assert.equal(second.NextToken, undefined);
  });

  it("filters: prefixes, case rules, ORed values, ANDed filters, negation and all", async () => {
    assert.deepEqual(await names([{ Key: "name", Values: ["app/"] }]), ["app/reporting", "app/billing"]);
    assert.deepEqual(await names([{ Key: "name", Values: ["App/"] }]), [], "name is case-sensitive");
    assert.deepEqual(await names([{ Key: "description", Values: ["reporting cred"] }]), ["app/reporting"]);
    assert.deepEqual(await names([{ Key: "name", Values: ["other", "app/b"] }]), [
      "app/billing",
      "other/thing",
    ]);
    assert.deepEqual(
      await names([
        { Key: "name", Values: ["app/"] },
        { Key: "tag-value", Values: ["Fin"] },
      ]),
      ["app/billing"],
    );
    assert.deepEqual(await names([{ Key: "tag-value", Values: ["fin"] }]), [], "tag-value is case-sensitive");
    assert.deepEqual(
      await names([
        { Key: "tag-key", Values: ["aws:cloudformation:stack-name"] },
        { Key: "tag-value", Values: ["GenesysOAuthRotator"] },
      ]),
      ["app/billing"],
    );
    assert.deepEqual(await names([{ Key: "name", Values: ["!app/"] }]), ["other/thing"]);
    assert.deepEqual(await names([{ Key: "all", Values: ["FINANCE nothing"] }]), ["app/billing"]);
  });

  it("rejects a filter key outside the enum and a value outside the pattern (ValidationException)", async () => {
    await assert.rejects(
      client.send(new ListSecretsCommand({ Filters: [{ Key: "colour" as Filter["Key"], Values: ["x"] }] })),
      (error: SecretsManagerServiceException) =>
        error.name === "ValidationException" && /filters\.1\.member\.key/.test(error.message),
    );
    await assert.rejects(
      client.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["a*b"] }] })),
      (error: SecretsManagerServiceException) =>
        error.name === "ValidationException" && /filters\.1\.member\.values/.test(error.message),
    );
    await assert.rejects(
      client.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [] }] })),
      (error: SecretsManagerServiceException) => error.name === "ValidationException",
    );
  });

  it("shows the rotation configuration and NextRotationDate as DescribeSecret does", async () => {
    await client.send(
      new RotateSecretCommand({
        SecretId: "other/thing",
        RotationLambdaARN: ROTATION_LAMBDA_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    await emulator.waitForRotation("other/thing");
    const described = await client.send(new DescribeSecretCommand({ SecretId: "other/thing" }));
    const [listed] =
      (await client.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["other/thing"] }] })))
        .SecretList ?? [];
    assert.ok(described.NextRotationDate);
    assert.equal(listed?.NextRotationDate?.getTime(), described.NextRotationDate.getTime());
    assert.equal(listed?.RotationEnabled, true);
    assert.equal(listed?.RotationLambdaARN, ROTATION_LAMBDA_ARN);
    assert.equal(listed?.LastRotatedDate?.getTime(), described.LastRotatedDate?.getTime());
  });
});
