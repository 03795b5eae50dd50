/**
 * The names of the vending function's CloudWatch metrics: counted by lambda/vending/metrics.ts, and
 * graphed and alarmed on by the CDK (lib/token-vendor.ts), which may import only lambda/shared.
 */

/** Every metric the vending function emits (all are counts). */
export type VendMetricName =
  /** A token was minted at the token endpoint. */
  | "TokenMints"
  /** A mint attempt failed (invalid_client on every stage, rate limit, transient error). */
  | "TokenMintFailures"
  /** A request was served from the container's L1 cache without I/O. */
  | "L1Hits"
  /** A request was served from the DynamoDB item. */
  | "L2Hits"
  /** A request waited for another caller's mint (expired/missing token, lease held elsewhere). */
  | "LeaseWaits"
  /** A request was served without DynamoDB (L1 + direct mint) because DynamoDB failed. */
  | "DynamoDbDegraded"
  /** A token was minted from AWSPENDING or AWSPREVIOUS because AWSCURRENT was rejected. */
  | "FallbackStageUsed"
  /**
   * An AWSPENDING/AWSPREVIOUS value was skipped because it does not belong to AWSCURRENT's credential
   * (other environment, strategy or client): a failed or tampered rotation; an operator should look.
   */
  | "FallbackStageRejected"
  /**
   * A consumer reported the cached token rejected, but Genesys still accepts it: it was served again
   * instead of minting (a consumer sending the wrong token, or 401s that are not the token's fault).
   */
  | "RejectionReportsUnconfirmed"
  /**
   * A report of the cached token that Genesys could not be asked about would have minted a second
   * such replacement within `REJECTION_MINT_INTERVAL_SECONDS`: the caller got TokenUnavailableError.
   */
  | "RejectionMintsCapped"
  /**
   * A cached token (L2 item or L1 entry) broke a rule — forged or corrupted: not served, treated as
   * absent (the log line names the rule). Also counted for an implausible lease or cap timestamp.
   */
  | "CacheItemRejected";
