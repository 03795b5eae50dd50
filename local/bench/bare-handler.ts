/**
 * The baseline of the bench's cold-start figure: the least a vending function could load — the DynamoDB
 * client and one GetItem — bundled with the same options as the real handlers (scripts/build.ts).
 * Never deployed.
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const client = new DynamoDBClient({});

export async function handler(event: { credential?: string }): Promise<unknown> {
  const response = await client.send(
    new GetItemCommand({
      TableName: process.env.TOKEN_TABLE_NAME ?? "tokens",
      Key: { pk: { S: event.credential ?? "default" } },
      ConsistentRead: true,
    }),
  );
  return response.Item?.accessToken?.S ?? null;
}
