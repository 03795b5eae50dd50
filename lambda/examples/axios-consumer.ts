/**
 * An example consumer Lambda that uses axios: it calls the Genesys Cloud Platform API through an axios
 * instance authorised by the consumer library's axios adapter and returns a small summary of the
 * organisation (never the token).
 *
 * Deploy it like lambda/examples/consumer.ts: `TOKEN_VENDOR_FUNCTION_NAME` set to the vendor alias of its
 * credential (`tokenVendor.vendorFunctionNameFor("<credential>")` in CDK) and `lambda:InvokeFunction` on
 * that alias only (`tokenVendor.grantVend(consumerFunction, "<credential>")`); bundle axios with it. The
 * instance and the process-wide provider live at module scope, so warm invocations reuse the cached
 * token; a 401 is answered by one `rejectedToken` call to the vendor and one replay, and a 429 is retried
 * after its Retry-After (idempotent methods only).
 */
import axios, { isAxiosError } from "axios";
import { attachGenesysAuth } from "../client/axios.ts";

/** What the example returns. */
export interface OrganizationSummary {
  organizationId: string;
  organizationName: string;
  /** HTTP status of `GET /api/v2/organizations/me`. */
  status: number;
}

/** The Platform API refused the request (after the adapter's replay on 401 and its 429 retries). */
export class OrganizationLookupError extends Error {
  override readonly name = "OrganizationLookupError";
  /** HTTP status Genesys answered. */
  readonly status: number;

  constructor(status: number, code: string | undefined) {
    // The body of a Genesys error carries a code and a message, never the caller's token.
    super(`GET /api/v2/organizations/me answered ${status}${code === undefined ? "" : ` (${code})`}`);
    this.status = status;
  }
}

// No baseURL: a path starting with "/" is resolved against the token's apiBaseUrl (the org's region).
const genesys = axios.create({ headers: { accept: "application/json" }, timeout: 10_000 });
attachGenesysAuth(genesys, { retryRateLimited: true });

/** Event: ignored. */
export async function handler(): Promise<OrganizationSummary> {
  try {
    const response = await genesys.get<{ id?: unknown; name?: unknown }>("/api/v2/organizations/me");
    return {
      organizationId: String(response.data.id),
      organizationName: String(response.data.name),
      status: response.status,
    };
  } catch (error) {
    // Never rethrow or log an AxiosError as is: its `request` holds the raw request headers.
    if (isAxiosError(error) && error.response !== undefined) {
      const code = (error.response.data as { code?: unknown } | undefined)?.code;
      throw new OrganizationLookupError(error.response.status, typeof code === "string" ? code : undefined);
    }
    if (isAxiosError(error))
      throw new Error(`GET /api/v2/organizations/me failed: ${error.code ?? error.message}`);
    throw error;
  }
}
