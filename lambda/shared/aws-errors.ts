/**
 * Reading AWS SDK v3 failures. Service exceptions, credential-provider errors and network errors share no
 * class, so callers that classify them (retry or not, which advice to give) read the same few duck-typed
 * fields; this is the one place that reads them.
 */

/** The classifying fields of a thrown AWS SDK value. Each is absent when the value does not carry it. */
export interface AwsErrorFields {
  /** The error name, e.g. `AccessDeniedException`, `CredentialsProviderError`, `TimeoutError`. */
  name?: string;
  /** A Node/undici network code, e.g. `ECONNREFUSED`. */
  code?: string;
  /** The error's message. AWS messages name resources (ARNs, version ids), never secret values. */
  message?: string;
  /** HTTP status of the service's response; absent when no response arrived. */
  httpStatusCode?: number;
  /** `$fault`: `client` or `server`, set on service exceptions. */
  fault?: string;
  /** True when the SDK marked the error `$retryable` (throttling, transient faults). */
  sdkRetryable: boolean;
}

/** Reads {@link AwsErrorFields} from any thrown value, never throwing itself. */
export function awsErrorFields(error: unknown): AwsErrorFields {
  const raw = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    $fault?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = raw.$metadata?.httpStatusCode;
  return {
    ...(typeof raw.name === "string" ? { name: raw.name } : {}),
    ...(typeof raw.code === "string" ? { code: raw.code } : {}),
    ...(typeof raw.message === "string" ? { message: raw.message } : {}),
    ...(typeof status === "number" ? { httpStatusCode: status } : {}),
    ...(typeof raw.$fault === "string" ? { fault: raw.$fault } : {}),
    sdkRetryable: raw.$retryable !== undefined,
  };
}
