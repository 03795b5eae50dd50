/**
 * Every emulated operation through the real @aws-sdk/client-secrets-manager: happy paths, and error
 * shapes mapped to the SDK's exception classes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { ManualClock } from "../../lambda/shared/clock.ts";
import { labels, startWithClient, token } from "./helpers.ts";

const clock = new ManualClock(Date.UTC(2026, 2, 1, 12, 0, 0));
const { emulator, client } = await startWithClient({ clock, region: "eu-west-1", accountId: "111122223333" });

describe("CreateSecret / DescribeSecret / GetSecretValue", () => {
  it("creates the first version as AWSCURRENT with the ClientRequestToken as VersionId", async () => {
    const created = await client.send(
      new CreateSecretCommand({
        Name: "app/credentials",
        SecretString: '{"k":"v1"}',
        ClientRequestToken: token("create-1"),
        Description: "test secret",
        KmsKeyId: "alias/test",
        Tags: [{ Key: "team", Value: "ops" }],
      }),
    );
    assert.match(
      created.ARN ?? "",
      /^arn:aws:secretsmanager:eu-west-1:111122223333:secret:app\/credentials-[A-Za-z0-9]{6}$/,
    );
    assert.equal(created.VersionId, token("create-1"));

    const value = await client.send(new GetSecretValueCommand({ SecretId: "app/credentials" }));
    assert.equal(value.SecretString, '{"k":"v1"}');
    assert.deepEqual(value.VersionStages, ["AWSCURRENT"]);
    assert.equal(value.CreatedDate?.getTime(), clock.now());

    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    assert.equal(described.Name, "app/credentials");
    assert.equal(described.Description, "test secret");
    assert.equal(described.KmsKeyId, "alias/test");
    assert.deepEqual(described.Tags, [{ Key: "team", Value: "ops" }]);
    assert.deepEqual(described.VersionIdsToStages, { [token("create-1")]: ["AWSCURRENT"] });
    assert.equal(described.RotationEnabled, undefined, "rotation was never configured");
    assert.equal(described.LastAccessedDate?.getTime(), Date.UTC(2026, 2, 1), "day granularity");
  });

  it("finds a secret by name, full ARN and partial ARN (without the random suffix)", async () => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: "lookup", SecretString: "x" }));
    const partial = ARN?.slice(0, -7);
    for (const id of ["lookup", ARN, partial]) {
      const value = await client.send(new GetSecretValueCommand({ SecretId: id }));
      assert.equal(value.ARN, ARN);
    }
  });

  it("creates a secret without a value and without versions", async () => {
    const created = await client.send(new CreateSecretCommand({ Name: "empty" }));
    assert.equal(created.VersionId, undefined);
    const described = await client.send(new DescribeSecretCommand({ SecretId: "empty" }));
    assert.equal(described.VersionIdsToStages, undefined);
    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "empty" })), (error: Error) => {
      assert.ok(error instanceof ResourceNotFoundException);
      assert.equal(
        error.message,
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
      );
      return true;
    });
  });

  it("is idempotent for a repeated ClientRequestToken and rejects a second secret with the same name", async () => {
    const request = { Name: "idempotent", SecretString: "same", ClientRequestToken: token("idem") };
    const first = await client.send(new CreateSecretCommand(request));
    const again = await client.send(new CreateSecretCommand(request));
    assert.equal(again.ARN, first.ARN);
    await assert.rejects(
      client.send(new CreateSecretCommand({ Name: "idempotent", SecretString: "other" })),
      (error: Error) => {
        assert.ok(error instanceof ResourceExistsException);
        assert.equal(error.message, "The operation failed because the secret idempotent already exists.");
        return true;
      },
    );
  });

  it("rejects unknown secrets and invalid names with the service's errors", async () => {
    await assert.rejects(client.send(new DescribeSecretCommand({ SecretId: "missing" })), (error: Error) => {
      assert.ok(error instanceof ResourceNotFoundException);
      assert.equal(error.message, "Secrets Manager can't find the specified secret.");
      return true;
    });
    await assert.rejects(client.send(new CreateSecretCommand({ Name: "bad name!" })), {
      name: "ValidationException",
    });
  });

  it("GetSecretValue: unknown VersionId, and a VersionStage not on the given VersionId", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "versions", SecretString: "a", ClientRequestToken: token("v-a") }),
    );
    await assert.rejects(
      client.send(new GetSecretValueCommand({ SecretId: "versions", VersionId: token("nope") })),
      (error: Error) => {
        assert.ok(error instanceof ResourceNotFoundException);
        assert.equal(
          error.message,
          `Secrets Manager can't find the specified secret value for VersionId: ${token("nope")}`,
        );
        return true;
      },
    );
    await assert.rejects(
      client.send(
        new GetSecretValueCommand({
          SecretId: "versions",
          VersionId: token("v-a"),
          VersionStage: "AWSPREVIOUS",
        }),
      ),
      (error: Error) => {
        assert.ok(error instanceof InvalidRequestException);
        assert.equal(
          error.message,
          "You provided a VersionStage that is not associated to the provided VersionId.",
        );
        return true;
      },
    );
  });
});

describe("PutSecretValue", () => {
  it("moves AWSCURRENT by default and AWSPREVIOUS along with it", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "put", SecretString: "v1", ClientRequestToken: token("put-1") }),
    );
    const put2 = await client.send(
      new PutSecretValueCommand({ SecretId: "put", SecretString: "v2", ClientRequestToken: token("put-2") }),
    );
    assert.deepEqual(put2.VersionStages, ["AWSCURRENT"]);
    await client.send(
      new PutSecretValueCommand({ SecretId: "put", SecretString: "v3", ClientRequestToken: token("put-3") }),
    );
    assert.deepEqual(await labels(client, "put"), {
      [token("put-2")]: ["AWSPREVIOUS"],
      [token("put-3")]: ["AWSCURRENT"],
    });
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: "put", VersionStage: "AWSPREVIOUS" }),
    );
    assert.equal(previous.SecretString, "v2");
  });

  it("attaches explicit VersionStages without touching AWSCURRENT", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "staged", SecretString: "v1", ClientRequestToken: token("st-1") }),
    );
    await client.send(
      new PutSecretValueCommand({
        SecretId: "staged",
        SecretString: "v2",
        ClientRequestToken: token("st-2"),
        VersionStages: ["AWSPENDING", "blue"],
      }),
    );
    assert.deepEqual(await labels(client, "staged"), {
      [token("st-1")]: ["AWSCURRENT"],
      [token("st-2")]: ["AWSPENDING", "blue"],
    });
  });

  it("same token + same value changes nothing; same token + different value is ResourceExistsException", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "idem-put", SecretString: "v1", ClientRequestToken: token("ip-1") }),
    );
    const request = { SecretId: "idem-put", SecretString: "v2", ClientRequestToken: token("ip-2") };
    await client.send(new PutSecretValueCommand(request));
    clock.advance(1000);
    const repeated = await client.send(new PutSecretValueCommand({ ...request, VersionStages: ["other"] }));
    assert.deepEqual(
      repeated.VersionStages,
      ["AWSCURRENT"],
      "the repeat neither re-labels nor moves anything",
    );
    assert.deepEqual(await labels(client, "idem-put"), {
      [token("ip-1")]: ["AWSPREVIOUS"],
      [token("ip-2")]: ["AWSCURRENT"],
    });
    const { ARN } = await client.send(new DescribeSecretCommand({ SecretId: "idem-put" }));
    await assert.rejects(
      client.send(new PutSecretValueCommand({ ...request, SecretString: "different" })),
      (error: Error) => {
        assert.ok(error instanceof ResourceExistsException);
        assert.equal(
          error.message,
          `You can't use ClientRequestToken ${token("ip-2")} because that value is already in use for a version of secret ${ARN}`,
        );
        return true;
      },
    );
  });

  it("requires a value and a secret that exists", async () => {
    await client.send(new CreateSecretCommand({ Name: "needs-value", SecretString: "v1" }));
    await assert.rejects(
      client.send(new PutSecretValueCommand({ SecretId: "needs-value" })),
      (error: Error) => {
        assert.ok(error instanceof InvalidRequestException);
        assert.equal(error.message, "You must provide either SecretString or SecretBinary.");
        return true;
      },
    );
    await assert.rejects(
      client.send(new PutSecretValueCommand({ SecretId: "nobody", SecretString: "x" })),
      ResourceNotFoundException,
    );
  });

  it("round-trips SecretBinary", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await client.send(new CreateSecretCommand({ Name: "binary", SecretBinary: bytes }));
    const value = await client.send(new GetSecretValueCommand({ SecretId: "binary" }));
    assert.deepEqual([...(value.SecretBinary ?? [])], [...bytes]);
    assert.equal(value.SecretString, undefined);
  });
});

describe("UpdateSecretVersionStage", () => {
  it("moves AWSCURRENT (AWSPREVIOUS follows) only when RemoveFromVersionId names the holder", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "stages", SecretString: "v1", ClientRequestToken: token("us-1") }),
    );
    await client.send(
      new PutSecretValueCommand({
        SecretId: "stages",
        SecretString: "v2",
        ClientRequestToken: token("us-2"),
        VersionStages: ["AWSPENDING"],
      }),
    );
    await assert.rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "stages",
          VersionStage: "AWSCURRENT",
          MoveToVersionId: token("us-2"),
        }),
      ),
      (error: Error) => {
        assert.ok(error instanceof InvalidParameterException);
        assert.equal(
          error.message,
          `The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is currently attached to version ${token("us-1")}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
        return true;
      },
    );
    await assert.rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "stages",
          VersionStage: "AWSCURRENT",
          MoveToVersionId: token("us-1"),
          RemoveFromVersionId: token("us-2"),
        }),
      ),
      InvalidParameterException,
      "RemoveFromVersionId must hold the label",
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "stages",
        VersionStage: "AWSCURRENT",
        MoveToVersionId: token("us-2"),
        RemoveFromVersionId: token("us-1"),
      }),
    );
    assert.deepEqual(await labels(client, "stages"), {
      [token("us-1")]: ["AWSPREVIOUS"],
      [token("us-2")]: ["AWSCURRENT", "AWSPENDING"],
    });
  });

  it("removes a label, adds a free label without RemoveFromVersionId, and refuses unknown versions", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "labels", SecretString: "v1", ClientRequestToken: token("lb-1") }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "labels",
        VersionStage: "green",
        MoveToVersionId: token("lb-1"),
      }),
    );
    assert.deepEqual(await labels(client, "labels"), { [token("lb-1")]: ["AWSCURRENT", "green"] });
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "labels",
        VersionStage: "green",
        RemoveFromVersionId: token("lb-1"),
      }),
    );
    assert.deepEqual(await labels(client, "labels"), { [token("lb-1")]: ["AWSCURRENT"] });
    await assert.rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "labels",
          VersionStage: "green",
          MoveToVersionId: token("ghost"),
        }),
      ),
      InvalidParameterException,
    );
    await assert.rejects(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "labels",
          VersionStage: "AWSCURRENT",
          RemoveFromVersionId: token("lb-1"),
        }),
      ),
      InvalidParameterException,
      "AWSCURRENT cannot be dropped without a new holder",
    );
  });
});

describe("ListSecretVersionIds", () => {
  it("lists labelled versions newest first; deprecated ones only with IncludeDeprecated", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "list", SecretString: "v1", ClientRequestToken: token("ls-1") }),
    );
    for (const n of [2, 3]) {
      clock.advance(1000);
      await client.send(
        new PutSecretValueCommand({
          SecretId: "list",
          SecretString: `v${n}`,
          ClientRequestToken: token(`ls-${n}`),
        }),
      );
    }
    const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: "list" }));
    assert.deepEqual(
      listed.Versions?.map((v) => [v.VersionId, v.VersionStages]),
      [
        [token("ls-3"), ["AWSCURRENT"]],
        [token("ls-2"), ["AWSPREVIOUS"]],
      ],
    );
    const all = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: "list", IncludeDeprecated: true }),
    );
    assert.deepEqual(
      all.Versions?.map((v) => v.VersionId),
      [token("ls-3"), token("ls-2"), token("ls-1")],
    );
    const page = await client.send(new ListSecretVersionIdsCommand({ SecretId: "list", MaxResults: 1 }));
    assert.equal(page.Versions?.length, 1);
    const next = await client.send(
      new ListSecretVersionIdsCommand({ SecretId: "list", MaxResults: 1, NextToken: page.NextToken }),
    );
    assert.equal(next.Versions?.[0]?.VersionId, token("ls-2"));
    assert.equal(next.NextToken, undefined);
  });
});

describe("DeleteSecret / RestoreSecret", () => {
  it("schedules deletion; access is refused as on AWS; restore brings it back; the window finalises it", async () => {
    await client.send(new CreateSecretCommand({ Name: "doomed", SecretString: "v1" }));
    const deleted = await client.send(
      new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }),
    );
    assert.equal(deleted.DeletionDate?.getTime(), clock.now() + 7 * 86_400_000);

    await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: "doomed" })), (error: Error) => {
      assert.ok(error instanceof InvalidRequestException);
      assert.equal(
        error.message,
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
      return true;
    });
    await assert.rejects(
      client.send(new PutSecretValueCommand({ SecretId: "doomed", SecretString: "v2" })),
      InvalidRequestException,
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: "doomed" }));
    assert.equal(described.DeletedDate?.getTime(), clock.now());
    await assert.rejects(client.send(new DeleteSecretCommand({ SecretId: "doomed" })), (error: Error) => {
      assert.ok(error instanceof InvalidRequestException);
      assert.equal(
        error.message,
        "You tried to perform the operation on a secret that's currently marked deleted.",
      );
      return true;
    });
    await assert.rejects(
      client.send(new CreateSecretCommand({ Name: "doomed", SecretString: "x" })),
      (error: Error) => {
        assert.ok(error instanceof InvalidRequestException);
        assert.match(error.message, /already scheduled for deletion/);
        return true;
      },
    );

    await client.send(new RestoreSecretCommand({ SecretId: "doomed" }));
    assert.equal((await client.send(new GetSecretValueCommand({ SecretId: "doomed" }))).SecretString, "v1");

    await client.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
    clock.advance(7 * 86_400_000);
    await assert.rejects(
      client.send(new DescribeSecretCommand({ SecretId: "doomed" })),
      ResourceNotFoundException,
    );
  });

  it("force-deletes at once and validates the recovery window", async () => {
    await client.send(new CreateSecretCommand({ Name: "forced", SecretString: "v1" }));
    await assert.rejects(
      client.send(new DeleteSecretCommand({ SecretId: "forced", RecoveryWindowInDays: 3 })),
      (error: Error) => {
        assert.ok(error instanceof InvalidParameterException);
        assert.equal(
          error.message,
          "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        );
        return true;
      },
    );
    await assert.rejects(
      client.send(
        new DeleteSecretCommand({
          SecretId: "forced",
          RecoveryWindowInDays: 7,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
      InvalidParameterException,
    );
    await client.send(new DeleteSecretCommand({ SecretId: "forced", ForceDeleteWithoutRecovery: true }));
    await assert.rejects(
      client.send(new DescribeSecretCommand({ SecretId: "forced" })),
      ResourceNotFoundException,
    );
    await client.send(new CreateSecretCommand({ Name: "forced", SecretString: "again" }));
  });
});

describe("TagResource / UntagResource / CancelRotateSecret", () => {
  it("merges tags by key and removes them by key", async () => {
    await client.send(
      new CreateSecretCommand({ Name: "tagged", SecretString: "v", Tags: [{ Key: "a", Value: "1" }] }),
    );
    await client.send(
      new TagResourceCommand({
        SecretId: "tagged",
        Tags: [
          { Key: "a", Value: "2" },
          { Key: "b", Value: "3" },
        ],
      }),
    );
    let described = await client.send(new DescribeSecretCommand({ SecretId: "tagged" }));
    assert.deepEqual(described.Tags, [
      { Key: "a", Value: "2" },
      { Key: "b", Value: "3" },
    ]);
    await client.send(new UntagResourceCommand({ SecretId: "tagged", TagKeys: ["a"] }));
    described = await client.send(new DescribeSecretCommand({ SecretId: "tagged" }));
    assert.deepEqual(described.Tags, [{ Key: "b", Value: "3" }]);
    await assert.rejects(
      client.send(new TagResourceCommand({ SecretId: "untagged-ghost", Tags: [] })),
      ResourceNotFoundException,
    );
  });

  it("CancelRotateSecret on a secret that never had rotation is InvalidRequestException", async () => {
    await client.send(new CreateSecretCommand({ Name: "never-rotated", SecretString: "v" }));
    await assert.rejects(
      client.send(new CancelRotateSecretCommand({ SecretId: "never-rotated" })),
      InvalidRequestException,
    );
  });
});

describe("emulator identity", () => {
  it("reports the configured region and account", () => {
    assert.equal(emulator.region, "eu-west-1");
    assert.equal(emulator.accountId, "111122223333");
    assert.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
