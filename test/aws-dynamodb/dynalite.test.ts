/**
 * The no-Java fallback: dynalite in process, behind the same outage proxy.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { createTokenTable, findJava, startDynamoDb } from "../../local/aws/dynamodb/index.ts";

describe("dynalite fallback", () => {
  it("serves CRUD and conditional puts when preferred; createTokenTable skips the TTL it lacks", async () => {
    const db = await startDynamoDb({ preferDynalite: true });
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      assert.equal(db.engine, "dynalite");
      assert.match(db.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
      await createTokenTable(client, "tokens");
      await createTokenTable(client, "tokens");
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: "tokens" }));
      assert.equal(ttl.TimeToLiveDescription?.TimeToLiveStatus, "DISABLED");
      const put = (generation: string) =>
        client.send(
          new PutItemCommand({
            TableName: "tokens",
            Item: { pk: { S: "a" }, generation: { N: generation } },
            ConditionExpression: "attribute_not_exists(pk) OR #g < :g",
            ExpressionAttributeNames: { "#g": "generation" },
            ExpressionAttributeValues: { ":g": { N: generation } },
          }),
        );
      await put("2");
      await assert.rejects(put("1"), { name: "ConditionalCheckFailedException" });
      db.outage.begin("refuse");
      await assert.rejects(client.send(new GetItemCommand({ TableName: "tokens", Key: { pk: { S: "a" } } })));
      db.outage.end();
      const got = await client.send(new GetItemCommand({ TableName: "tokens", Key: { pk: { S: "a" } } }));
      assert.equal(got.Item?.generation?.N, "2");
    } finally {
      client.destroy();
      await db.stop();
    }
  });

  it("findJava reports no java when neither JAVA_HOME nor PATH has one", () => {
    assert.equal(findJava({ PATH: "/nonexistent-dir" }), undefined);
  });

  it("is chosen automatically when java is missing from the environment", async () => {
    const script = fileURLToPath(new URL("./fixtures/print-engine.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, PATH: "/nonexistent-dir", JAVA_HOME: "", DYNAMODB_ENGINE: "" },
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
    assert.equal(out.trim(), "dynalite");
  });

  it("is chosen by DYNAMODB_ENGINE=dynalite; an unknown engine name is a configuration error", async () => {
    const previous = process.env.DYNAMODB_ENGINE;
    try {
      process.env.DYNAMODB_ENGINE = "dynalite";
      const db = await startDynamoDb();
      assert.equal(db.engine, "dynalite");
      await db.stop();
      process.env.DYNAMODB_ENGINE = "postgres";
      await assert.rejects(startDynamoDb(), { name: "ConfigurationError", message: /DYNAMODB_ENGINE/ });
    } finally {
      if (previous === undefined) delete process.env.DYNAMODB_ENGINE;
      else process.env.DYNAMODB_ENGINE = previous;
    }
  });
});
