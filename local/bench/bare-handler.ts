/**
 * The baseline of the bench's cold-start figure: the least a vending function could load — the DynamoDB
 * client and one GetItem — bundled with the same options as the real handlers (scripts/build.ts).
 * Never deployed.
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

// Created on the first invocation, as the vending handler creates its own: the cold-start figure compares
// what the two modules load, not when a client is built.
let client: DynamoDBClient | undefined;

export async function handler(event: { credential?: string }): Promise<unknown> {
  client ??= new DynamoDBClient({});
  const response = await client.send(
    new GetItemCommand({
      TableName: process.env.TOKEN_TABLE_NAME ?? "tokens",
      Key: { pk: { S: event.credential ?? "default" } },
      ConsistentRead: true,
    }),
  );
  return response.Item?.accessToken?.S ?? null;
}
