/**
 * Timeouts and bounded retries for AWS SDK v3 clients. The SDK's defaults have no request timeout at all
 * (a hung connection waits forever), and with `requestTimeout` alone the pinned SDK only logs a warning:
 * `throwOnRequestTimeout` makes it fail the attempt so the SDK's own bounded retry (which honours
 * throttling and distinguishes retryable from fatal errors) can take over.
 */

/** Limits of one AWS client's calls. */
export interface AwsCallLimits {
  /** Longest wait for a TCP/TLS connection, ms. */
  readonly connectionTimeoutMs: number;
  /** Longest wait for a response once the request is sent, ms. */
  readonly requestTimeoutMs: number;
  /** Attempts per call including the first (SDK standard retry mode: throttling, 5xx, timeouts). */
  readonly maxAttempts: number;
}

/** Limits for Secrets Manager and Lambda calls made by the rotation function and the CLI. */
export const DEFAULT_AWS_CALL_LIMITS: AwsCallLimits = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  maxAttempts: 3,
};

/** The client-config fragment applying `limits`; spread it into `new XClient({ ...awsClientLimits(), ... })`. */
export function awsClientLimits(limits: AwsCallLimits = DEFAULT_AWS_CALL_LIMITS) {
  return {
    maxAttempts: limits.maxAttempts,
    requestHandler: {
      connectionTimeout: limits.connectionTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
