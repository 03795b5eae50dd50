/**
 * The official DynamoDB Local behind the outage proxy, exercised with the real @aws-sdk/client-dynamodb.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  createTokenTable,
  findJava,
  type LocalDynamoDb,
  startDynamoDb,
} from "../../local/aws/dynamodb/index.ts";

const hasJava = findJava() !== undefined;

function clientFor(db: LocalDynamoDb, extra: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: db.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    ...extra,
  });
}

describe("DynamoDB Local", { skip: hasJava ? false : "java is not installed" }, () => {
  let db: LocalDynamoDb;
  let client: DynamoDBClient;
  const table = "tokens-test";

  before(async () => {
    const previous = process.env.DYNAMODB_ENGINE;
    delete process.env.DYNAMODB_ENGINE;
    try {
      db = await startDynamoDb();
    } finally {
      if (previous !== undefined) process.env.DYNAMODB_ENGINE = previous;
    }
    client = clientFor(db);
    await createTokenTable(client, table);
  });

  after(async () => {
    client?.destroy();
    await db?.stop();
  });

  it("is the JVM engine, reached through 127.0.0.1", () => {
    assert.equal(db.engine, "dynamodb-local");
    assert.match(db.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(db.outage.active, false);
  });

  it("createTokenTable is idempotent and enables TTL on `ttl`", async () => {
    await createTokenTable(client, table);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    assert.equal(ttl.TimeToLiveDescription?.TimeToLiveStatus, "ENABLED");
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, "ttl");
  });

  it("stores items and enforces conditional puts", async () => {
    const item = { pk: { S: "crud" }, generation: { N: "1" } };
    await client.send(
      new PutItemCommand({ TableName: table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
    );
    await assert.rejects(
      client.send(
        new PutItemCommand({ TableName: table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
      ),
      { name: "ConditionalCheckFailedException" },
    );
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: "crud" }, generation: { N: "2" } },
        ConditionExpression: "#g < :g",
        ExpressionAttributeNames: { "#g": "generation" },
        ExpressionAttributeValues: { ":g": { N: "2" } },
      }),
    );
    const got = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } }, ConsistentRead: true }),
    );
    assert.equal(got.Item?.generation?.N, "2");
  });

  it("refuse outage: the SDK gets connection errors, then recovers after end()", async () => {
    const fast = clientFor(db, { maxAttempts: 1 });
    try {
      await fast.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } })); // open a keep-alive connection
      db.outage.begin("refuse");
      assert.equal(db.outage.active, true);
      assert.equal(db.outage.mode, "refuse");
      await assert.rejects(
        fast.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } })),
        (error: Error) => {
          assert.doesNotMatch(error.name, /ConditionalCheckFailed|ResourceNotFound/);
          return true;
        },
      );
      db.outage.end();
      const got = await fast.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } }));
      assert.equal(got.Item?.pk?.S, "crud");
    } finally {
      db.outage.end();
      fast.destroy();
    }
  });

  it("hang outage: the SDK hits its own timeout (also on an open connection), then recovers", async () => {
    const impatient = clientFor(db, {
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 500, requestTimeout: 500, throwOnRequestTimeout: true },
    });
    try {
      await impatient.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } }));
      db.outage.begin("hang");
      const started = Date.now();
      await assert.rejects(
        impatient.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } })),
        {
          name: "TimeoutError",
        },
      );
      // A hang is only a hang if the client waited for its timeout rather than failing fast.
      assert.ok(Date.now() - started >= 400, "the request failed before its timeout");
      db.outage.end();
      assert.equal(db.outage.active, false);
      const got = await impatient.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "crud" } } }));
      assert.equal(got.Item?.pk?.S, "crud");
    } finally {
      db.outage.end();
      impatient.destroy();
    }
  });
});
