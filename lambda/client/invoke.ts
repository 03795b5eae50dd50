/**
 * One vend: a synchronous (RequestResponse) Lambda Invoke of the vending function, with a bounded retry
 * for the failures that say nothing about the request itself (throttling, Lambda 5xx, network trouble,
 * a vendor container that crashed). Everything the vendor decided (its typed errors) is final here:
 * the vendor already waited and retried within its own deadline.
 */
import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from "@aws-sdk/client-lambda";
import { awsErrorFields } from "../shared/aws-errors.ts";
import { type ExponentialBackoff, exponentialDelay, fullJitter } from "../shared/backoff.ts";
import type { Clock, Random } from "../shared/clock.ts";
import { splitFunctionReference } from "../shared/vendor-alias.ts";
import {
  isVendorRuntimeFailure,
  ValidationError,
  VendorInvokeError,
  vendorErrorFromPayload,
} from "./errors.ts";
import { encodeVendRequest, parseVendedToken, type VendedToken, type VendRequest } from "./payload.ts";

/** The part of `LambdaClient` this library uses, so tests and wrappers (X-Ray, custom retry) can pass their own. */
export type LambdaInvoker = Pick<LambdaClient, "send">;

/** How a vend is retried and timed. */
export interface InvokePolicy {
  /** Abort one Invoke attempt after this long. */
  invokeTimeoutMs: number;
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** Exponential backoff between attempts (full jitter): ceiling of the first wait, and the longest. */
  backoff: ExponentialBackoff;
  clock: Clock;
  random: Random;
}

// Lambda's throttling and transient error names (Invoke API reference, "Errors"); 5xx statuses cover the rest.
const THROTTLING_NAMES = new Set([
  "TooManyRequestsException",
  "ThrottlingException",
  "EC2ThrottledException",
  "ResourceNotReadyException",
]);
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND"]);

const decoder = new TextDecoder();

/** What one vend invokes: the function and the alias (the credential) it is invoked through. */
export interface VendorTarget {
  /** `FunctionName` of the Invoke call, as configured. */
  functionName: string;
  /** `Qualifier` of the Invoke call: the credential's alias; absent when the name carries one or none is asked. */
  qualifier?: string;
  /** How messages name the target: `<function>:<alias>` or the function. */
  display: string;
}

/**
 * The alias a vend of `credential` invokes (docs/vending.md, "Who may vend which credential"): the
 * vendor serves a credential only through its alias `<function>:<credential>`. A function name that
 * already carries a qualifier is used as is; a `credential` naming another one is refused here.
 *
 * @throws ValidationError naming `credential` when it conflicts with the name's qualifier
 */
export function vendorTarget(functionName: string, credential: string | undefined): VendorTarget {
  const { qualifier } = splitFunctionReference(functionName);
  if (qualifier !== undefined) {
    if (credential !== undefined && credential !== qualifier) {
      throw new ValidationError(
        "token vendor request",
        "credential",
        `"${credential}" conflicts with the alias "${qualifier}" the function name carries (${functionName}); leave credential unset or use the function name without a qualifier`,
      );
    }
    return { functionName, display: functionName };
  }
  if (credential === undefined) return { functionName, display: functionName };
  return { functionName, qualifier: credential, display: `${functionName}:${credential}` };
}

/**
 * Invokes the vending function once per attempt until it answers, with full-jitter exponential backoff
 * between attempts. The credential's alias is the Invoke `Qualifier` ({@link vendorTarget}).
 *
 * @returns the parsed token
 * @throws a {@link VendorError} subclass when the vendor reported an error, {@link VendorInvokeError}
 *   when no answer could be obtained, `VendorResponseError` when the answer is malformed, a shared
 *   `ValidationError` when `request.credential` conflicts with the function name's qualifier
 */
export async function invokeVendor(
  lambda: LambdaInvoker,
  functionName: string,
  request: VendRequest,
  policy: InvokePolicy,
): Promise<VendedToken> {
  const target = vendorTarget(functionName, request.credential);
  const payload = new TextEncoder().encode(encodeVendRequest(request));
  for (let attempt = 1; ; attempt++) {
    try {
      return await invokeOnce(lambda, target, payload, policy);
    } catch (error) {
      const transient =
        (error instanceof VendorInvokeError && error.retryable) || isVendorRuntimeFailure(error);
      if (!transient || attempt >= policy.maxAttempts) throw error;
    }
    // Full jitter (docs/design.md#backoff-and-jitter): what is retried is mostly Lambda throttling, many
    // consumers contending for the vendor's concurrency; spreading them widest clears it soonest.
    const delayMs = fullJitter(exponentialDelay(attempt - 1, policy.backoff), policy.random);
    if (delayMs > 0) await policy.clock.sleep(delayMs);
  }
}

async function invokeOnce(
  lambda: LambdaInvoker,
  target: VendorTarget,
  payload: Uint8Array,
  policy: InvokePolicy,
): Promise<VendedToken> {
  let response: InvokeCommandOutput;
  try {
    response = await lambda.send(
      new InvokeCommand({
        FunctionName: target.functionName,
        ...(target.qualifier === undefined ? {} : { Qualifier: target.qualifier }),
        InvocationType: "RequestResponse",
        Payload: payload,
      }),
      { abortSignal: AbortSignal.timeout(policy.invokeTimeoutMs) },
    );
  } catch (error) {
    throw classifyInvokeFailure(target.display, error, policy.invokeTimeoutMs);
  }
  const body = response.Payload ? decoder.decode(response.Payload) : "";
  if (response.FunctionError) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    throw vendorErrorFromPayload(parsed);
  }
  return parseVendedToken(body);
}

/** Turns an SDK/network failure into a {@link VendorInvokeError} that says whether trying again can help. */
function classifyInvokeFailure(functionName: string, error: unknown, timeoutMs: number): VendorInvokeError {
  const fields = awsErrorFields(error);
  const name = fields.name ?? "Error";
  const { code, httpStatusCode: status } = fields;
  if (name === "TimeoutError" || name === "AbortError") {
    return new VendorInvokeError(functionName, "Timeout", true, `no answer within ${timeoutMs} ms`, error);
  }
  const retryable =
    THROTTLING_NAMES.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (code !== undefined && NETWORK_CODES.has(code));
  const message = fields.message ?? "no message";
  const hint =
    name === "AccessDeniedException" || status === 403
      ? " (grant lambda:InvokeFunction on the credential's vendor alias, e.g. TokenVendor.grantVend(role, credential))"
      : name === "ResourceNotFoundException"
        ? " (check the function name, e.g. TOKEN_VENDOR_FUNCTION_NAME, and that the credential is vended: its alias must exist)"
        : "";
  return new VendorInvokeError(functionName, code ?? name, retryable, `${message}${hint}`, error);
}
