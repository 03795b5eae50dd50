/**
 * The one definition of the dummy AWS settings every client of the local stand-ins uses: the drill's
 * stack, the handlers it runs (through their environment), the bench, and the operator CLI's `--local`
 * (which reads them from `.local-stack.json`, written by `npm run local-stack`).
 *
 * They must be the same everywhere: DynamoDB Local (started without -sharedDb) keeps a separate database
 * per access key id and region, so a client signing with other values sees none of the vending
 * function's tables. The credentials are placeholders the stand-ins accept — not secrets, and never
 * valid on AWS.
 */

/** Region of the local AWS stand-ins (and of the ARNs they return). */
export const LOCAL_REGION = "eu-west-1";

/**
 * Region and fake credentials for an AWS SDK client of the local stand-ins. Spread into a client config:
 * `new DynamoDBClient({ ...LOCAL_AWS, endpoint })`.
 */
export const LOCAL_AWS = {
  region: LOCAL_REGION,
  credentials: { accessKeyId: "AKIDLOCALDRILL", secretAccessKey: "local-drill-not-a-secret" },
} as const;
