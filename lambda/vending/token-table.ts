/**
 * L2: one DynamoDB item per credential, shared by every container of the vending function.
 *
 * Item (attribute names as in docs/ARCHITECTURE.md, plus `tokenHash`, `environment`, `secretArn` and the
 * rate-limit record `mintBlockedUntil`/`mintBlockedReason`):
 *
 * | attribute           | type | meaning                                                                |
 * | ------------------- | ---- | ---------------------------------------------------------------------- |
 * | `pk`                | S    | the credential name (key of `CREDENTIALS`)                             |
 * | `accessToken`       | S    | the bearer token (table encrypted with a customer-managed KMS key)     |
 * | `tokenHash`         | S    | SHA-256 hex of `accessToken`, for compare-and-swap on a rejected token |
 * | `issuedAt`          | N    | epoch ms                                                               |
 * | `expiresAt`         | N    | epoch ms — always compared on read: TTL deletion lags by days          |
 * | `clientId`          | S    | the OAuth client that minted the token                                 |
 * | `secretVersionId`   | S    | the Secrets Manager version whose secret minted it                     |
 * | `environment`       | S    | the Genesys domain of that secret value                                |
 * | `secretArn`         | S    | the secret it came from; a mismatch with the configuration = no token  |
 * | `generation`        | N    | +1 per written token; writes are conditional on the generation read    |
 * | `leaseOwner`        | S    | random id of the one caller currently allowed to mint                  |
 * | `leaseUntil`        | N    | epoch ms; a lease is free when absent or `leaseUntil <= now`           |
 * | `mintBlockedUntil`  | N    | epoch ms: Genesys rate limited the last mint and asked to wait until   |
 * | `mintBlockedReason` | S    | why: `rate-limited` (the only reason so far)                           |
 * | `ttl`               | N    | epoch s, one hour after expiry (housekeeping only)                     |
 *
 * and `lastRejectionMintAt` (N, epoch ms): when the last token minted because a consumer reported the
 * cached one rejected, and Genesys could not be asked, was written; caps such mints fleet-wide
 * (vend.ts) and survives later writes.
 *
 * Conditions follow the Powertools idempotency lock: acquire with a conditional UpdateItem and
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`, so a loser learns the current item without a second
 * read (dynalite does not return it; then a consistent GetItem does).
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DeadlinePassedError, DynamoDbUnavailableError } from "./errors.ts";
import type { CachedToken } from "./token-cache.ts";

/** Which item, and which secret its token must come from. */
export interface TokenKey {
  /** The credential name: the item's `pk`. */
  credential: string;
  /** The configured secret ARN; a cached token minted from another secret is ignored. */
  secretArn: string;
}

/**
 * Why the last mint stopped and until when nobody should expect a new token: a lease holder that was
 * rate limited records it, so that callers whose deadline ends before then fail at once with the
 * right error instead of polling until their deadline.
 */
export interface MintBlock {
  reason: "rate-limited";
  /** Epoch ms: the end of the Retry-After (or of the default pause when Genesys sent none). */
  until: number;
}

/** The L2 item as the algorithm sees it. */
export interface TokenItem {
  /** Generation of the stored token; 0 when no token was ever written. */
  generation: number;
  /** The stored token, when there is one from the configured secret. */
  token?: CachedToken;
  leaseOwner?: string;
  /** Epoch ms. */
  leaseUntil?: number;
  /** Set by a lease holder whose mint was rate limited; cleared by the next lease or token. */
  mintBlocked?: MintBlock;
  /** Epoch ms: when the last token minted to replace a reported (rejected) token was written. */
  lastRejectionMintAt?: number;
}

/** Per-call options of every {@link TokenTable} method. */
export interface TableCallOptions {
  /**
   * Aborts the call (the caller's deadline). A call whose signal has already aborted is not sent and
   * throws DeadlinePassedError instead of DynamoDbUnavailableError.
   */
  abortSignal?: AbortSignal;
}

/** What {@link TokenTable.acquireLease} asks for. */
export interface LeaseRequest {
  owner: string;
  /** The generation the caller saw (0 = no token yet). */
  observedGeneration: number;
  /** Epoch ms. */
  now: number;
  /** Epoch ms: the end of the lease. */
  leaseUntil: number;
  /**
   * For a mint that replaces a reported token: the lease is granted only if no such mint was written
   * after this time (`lastRejectionMintAt` absent or `<=` it, or implausibly far in the future).
   */
  rejectionMintsAfter?: number;
}

/** Outcome of {@link TokenTable.acquireLease}. */
export type LeaseOutcome = { acquired: true } | { acquired: false; item: TokenItem | undefined };

/** Outcome of {@link TokenTable.writeToken}. */
export type WriteOutcome =
  | { written: true; token: CachedToken }
  | { written: false; item: TokenItem | undefined };

/**
 * The L2 operations the vending algorithm needs. Every method throws DynamoDbUnavailableError on any
 * failure but a lost condition, and DeadlinePassedError when `abortSignal` had aborted before the call.
 */
export interface TokenTable {
  /** Strongly consistent read of the item; undefined when it does not exist. */
  read(key: TokenKey, options?: TableCallOptions): Promise<TokenItem | undefined>;
  /**
   * Takes the mint lease when it is free (or already ours) AND the item still holds `observedGeneration`
   * (0 = no token yet): a caller that saw an old token cannot take a lease after someone replaced it.
   * Clears a recorded {@link MintBlock}: the new holder is the one probing whether it still holds.
   * A lease whose `leaseUntil` lies more than {@link MAX_PLAUSIBLE_LEASE_MS} ahead is not a lease
   * (a forged or corrupted item) and is taken over.
   */
  acquireLease(key: TokenKey, lease: LeaseRequest, options?: TableCallOptions): Promise<LeaseOutcome>;
  /**
   * Stores `token` as generation `observedGeneration + 1`, frees the lease and clears a recorded
   * {@link MintBlock}, only if the item still holds `observedGeneration`: a slow writer never overwrites
   * a newer token. `lastRejectionMintAt` is set when given, else kept as it was.
   */
  writeToken(
    key: TokenKey,
    token: Omit<CachedToken, "generation">,
    observedGeneration: number,
    options?: TableCallOptions & { lastRejectionMintAt?: number },
  ): Promise<WriteOutcome>;
  /**
   * Ends (or shortens, or extends into a hold) our lease: sets `leaseUntil`, and `mintBlocked` when
   * given, if `owner` still holds the lease. Lost conditions are ignored.
   */
  releaseLease(
    key: TokenKey,
    owner: string,
    leaseUntil: number,
    options?: TableCallOptions & { mintBlocked?: MintBlock },
  ): Promise<void>;
}

/** Housekeeping delay after expiry before DynamoDB TTL may delete an item. */
const TTL_GRACE_SECONDS = 3600;
/**
 * A `leaseUntil` further ahead than this is implausible: no lease is longer than `LEASE_SECONDS`
 * (at most 900 s, config.ts), plus a minute for clocks that differ between containers.
 */
export const MAX_PLAUSIBLE_LEASE_MS = 900_000 + 60_000;
/** A `lastRejectionMintAt` further ahead than this is implausible (clock skew between containers). */
export const MAX_PLAUSIBLE_CLOCK_SKEW_MS = 60_000;

/** {@link TokenTable} over a DynamoDB table whose hash key is `pk` (S). */
export class DynamoDbTokenTable implements TokenTable {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  /** @param client a DynamoDB client with short timeouts and few attempts (the caller degrades on failure). */
  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#tableName = tableName;
  }

  async read(key: TokenKey, options: TableCallOptions = {}): Promise<TokenItem | undefined> {
    const output = await this.#send("GetItem", options, (call) =>
      this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: keyOf(key), ConsistentRead: true }),
        call,
      ),
    );
    return output.Item === undefined ? undefined : decodeItem(output.Item, key.secretArn);
  }

  async acquireLease(
    key: TokenKey,
    lease: LeaseRequest,
    options: TableCallOptions = {},
  ): Promise<LeaseOutcome> {
    const rejection = lease.rejectionMintsAfter;
    try {
      await this.#send("UpdateItem (lease)", options, (call) =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: keyOf(key),
            UpdateExpression:
              "SET leaseOwner = :owner, leaseUntil = :until, #ttl = if_not_exists(#ttl, :ttl) REMOVE mintBlockedUntil, mintBlockedReason",
            ConditionExpression: [
              "(attribute_not_exists(leaseUntil) OR leaseUntil <= :now OR leaseOwner = :owner OR leaseUntil > :implausibleLease)",
              generationCondition(lease.observedGeneration),
              ...(rejection === undefined
                ? []
                : [
                    "(attribute_not_exists(lastRejectionMintAt) OR lastRejectionMintAt <= :rejectionMintsAfter OR lastRejectionMintAt > :implausibleRejection)",
                  ]),
            ].join(" AND "),
            ExpressionAttributeNames: { "#ttl": "ttl" },
            ExpressionAttributeValues: {
              ":owner": { S: lease.owner },
              ":until": { N: String(lease.leaseUntil) },
              ":now": { N: String(lease.now) },
              ":implausibleLease": { N: String(lease.now + MAX_PLAUSIBLE_LEASE_MS) },
              ":ttl": { N: String(Math.ceil(lease.leaseUntil / 1000) + TTL_GRACE_SECONDS) },
              ...generationValues(lease.observedGeneration),
              ...(rejection === undefined
                ? {}
                : {
                    ":rejectionMintsAfter": { N: String(rejection) },
                    ":implausibleRejection": { N: String(lease.now + MAX_PLAUSIBLE_CLOCK_SKEW_MS) },
                  }),
            },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
          call,
        ),
      );
      return { acquired: true };
    } catch (error) {
      if (!(error instanceof ConditionLost)) throw error;
      return { acquired: false, item: await this.#currentItem(error, key) };
    }
  }

  async writeToken(
    key: TokenKey,
    token: Omit<CachedToken, "generation">,
    observedGeneration: number,
    options: TableCallOptions & { lastRejectionMintAt?: number } = {},
  ): Promise<WriteOutcome> {
    const written: CachedToken = { ...token, generation: observedGeneration + 1 };
    try {
      // An update, not a put: attributes the token does not own (`lastRejectionMintAt`) survive it.
      await this.#send("UpdateItem (token)", options, (call) =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: keyOf(key),
            ...tokenUpdate(key, written, options.lastRejectionMintAt, generationValues(observedGeneration)),
            ConditionExpression: generationCondition(observedGeneration),
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
          call,
        ),
      );
      return { written: true, token: written };
    } catch (error) {
      if (!(error instanceof ConditionLost)) throw error;
      return { written: false, item: await this.#currentItem(error, key) };
    }
  }

  async releaseLease(
    key: TokenKey,
    owner: string,
    leaseUntil: number,
    options: TableCallOptions & { mintBlocked?: MintBlock } = {},
  ): Promise<void> {
    const block = options.mintBlocked;
    try {
      await this.#send("UpdateItem (release)", options, (call) =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#tableName,
            Key: keyOf(key),
            UpdateExpression:
              block === undefined
                ? "SET leaseUntil = :until"
                : "SET leaseUntil = :until, mintBlockedUntil = :blockedUntil, mintBlockedReason = :blockedReason",
            ConditionExpression: "leaseOwner = :owner",
            ExpressionAttributeValues: {
              ":owner": { S: owner },
              ":until": { N: String(leaseUntil) },
              ...(block === undefined
                ? {}
                : {
                    ":blockedUntil": { N: String(block.until) },
                    ":blockedReason": { S: block.reason },
                  }),
            },
          }),
          call,
        ),
      );
    } catch (error) {
      // Somebody else holds the lease now, or the item was replaced: nothing of ours to release.
      if (!(error instanceof ConditionLost)) throw error;
    }
  }

  /** The item a lost condition returned (ALL_OLD), or a consistent read when the engine did not return it. */
  async #currentItem(lost: ConditionLost, key: TokenKey): Promise<TokenItem | undefined> {
    if (lost.item !== undefined) return decodeItem(lost.item, key.secretArn);
    return this.read(key);
  }

  /**
   * Runs one DynamoDB call; a failed condition becomes ConditionLost, anything else
   * DynamoDbUnavailableError (a call cut short by the caller's deadline too: DynamoDB did not answer in
   * time). A call whose deadline had already passed is not sent (DeadlinePassedError).
   */
  async #send<T>(
    operation: string,
    options: TableCallOptions,
    call: (sdkOptions: { abortSignal?: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const { abortSignal } = options;
    if (abortSignal?.aborted) throw new DeadlinePassedError(operation);
    try {
      return await call(abortSignal === undefined ? {} : { abortSignal });
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") {
        throw new ConditionLost((error as { Item?: Record<string, AttributeValue> }).Item);
      }
      throw new DynamoDbUnavailableError(operation, { cause: error });
    }
  }
}

/** A conditional write lost; carries the ALL_OLD item when the engine returned one. Internal. */
class ConditionLost extends Error {
  override readonly name = "ConditionLost";
  readonly item: Record<string, AttributeValue> | undefined;

  constructor(item: Record<string, AttributeValue> | undefined) {
    super("conditional check failed");
    this.item = item;
  }
}

function keyOf(key: TokenKey): Record<string, AttributeValue> {
  return { pk: { S: key.credential } };
}

/** "The item still holds generation g" (a missing item or attribute counts as generation 0). */
function generationCondition(observedGeneration: number): string {
  return observedGeneration === 0 ? "attribute_not_exists(generation)" : "generation = :generation";
}

function generationValues(observedGeneration: number): Record<string, AttributeValue> {
  return observedGeneration === 0 ? {} : { ":generation": { N: String(observedGeneration) } };
}

/**
 * The update that stores `token`: every token attribute, the next generation and the TTL; the lease and
 * a recorded rate limit are removed; `lastRejectionMintAt` is set only when given.
 */
function tokenUpdate(
  key: TokenKey,
  token: CachedToken,
  lastRejectionMintAt: number | undefined,
  conditionValues: Record<string, AttributeValue>,
): {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, AttributeValue>;
} {
  const attributes: Record<string, AttributeValue> = {
    accessToken: { S: token.accessToken },
    tokenHash: { S: token.tokenHash },
    issuedAt: { N: String(token.issuedAt) },
    expiresAt: { N: String(token.expiresAt) },
    clientId: { S: token.clientId },
    secretVersionId: { S: token.secretVersionId },
    environment: { S: token.environment },
    secretArn: { S: key.secretArn },
    generation: { N: String(token.generation) },
    ttl: { N: String(Math.ceil(token.expiresAt / 1000) + TTL_GRACE_SECONDS) },
    ...(lastRejectionMintAt === undefined ? {} : { lastRejectionMintAt: { N: String(lastRejectionMintAt) } }),
  };
  const names = Object.keys(attributes);
  const values: Record<string, AttributeValue> = { ...conditionValues };
  for (const name of names) values[`:new_${name}`] = attributes[name] as AttributeValue;
  return {
    // Attribute names go through placeholders: some (e.g. `ttl`, `environment`) may be reserved words.
    UpdateExpression: `SET ${names.map((name) => `#${name} = :new_${name}`).join(", ")} REMOVE leaseOwner, leaseUntil, mintBlockedUntil, mintBlockedReason`,
    ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
    ExpressionAttributeValues: values,
  };
}

/**
 * Reads an item defensively: the table may hold items written by another version of this code. A
 * token with a missing or malformed attribute, or from another secret, is treated as absent (the
 * generation still counts, so conditional writes stay correct).
 */
export function decodeItem(item: Record<string, AttributeValue>, secretArn: string): TokenItem {
  const decoded: TokenItem = { generation: numberOf(item.generation) ?? 0 };
  const leaseOwner = item.leaseOwner?.S;
  const leaseUntil = numberOf(item.leaseUntil);
  const mintBlockedUntil = numberOf(item.mintBlockedUntil);
  if (leaseOwner !== undefined) decoded.leaseOwner = leaseOwner;
  if (leaseUntil !== undefined) decoded.leaseUntil = leaseUntil;
  // An unknown reason (another version of this code) is ignored rather than guessed at.
  if (mintBlockedUntil !== undefined && item.mintBlockedReason?.S === "rate-limited") {
    decoded.mintBlocked = { reason: "rate-limited", until: mintBlockedUntil };
  }
  const lastRejectionMintAt = numberOf(item.lastRejectionMintAt);
  if (lastRejectionMintAt !== undefined) decoded.lastRejectionMintAt = lastRejectionMintAt;
  const accessToken = item.accessToken?.S;
  const tokenHash = item.tokenHash?.S;
  const issuedAt = numberOf(item.issuedAt);
  const expiresAt = numberOf(item.expiresAt);
  const clientId = item.clientId?.S;
  const secretVersionId = item.secretVersionId?.S;
  const environment = item.environment?.S;
  if (
    item.secretArn?.S === secretArn &&
    accessToken !== undefined &&
    tokenHash !== undefined &&
    issuedAt !== undefined &&
    expiresAt !== undefined &&
    expiresAt > issuedAt &&
    clientId !== undefined &&
    secretVersionId !== undefined &&
    environment !== undefined
  ) {
    decoded.token = {
      accessToken,
      tokenHash,
      issuedAt,
      expiresAt,
      clientId,
      secretVersionId,
      environment,
      generation: decoded.generation,
    };
  }
  return decoded;
}

function numberOf(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}
