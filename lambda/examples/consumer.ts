/**
 * An example consumer Lambda: it calls the Genesys Cloud Platform API with a token from the vending
 * function and returns a small summary of the organisation (never the token).
 *
 * Deploy it with `TOKEN_VENDOR_FUNCTION_NAME` set to the vendor alias of its credential,
 * `<function>:<credential>` (`tokenVendor.vendorFunctionNameFor("<credential>")` in CDK), and grant it
 * `lambda:InvokeFunction` on that alias only (`tokenVendor.grantVend(consumerFunction, "<credential>")`). It holds no
 * client secret and mints nothing itself: the module-scope provider caches the vended token across warm
 * invocations, and a 401 is answered by one `rejectedToken` call to the vendor and one replay.
 */
import { genesysFetch } from "../client/index.ts";

/** What the example returns. */
export interface OrganizationSummary {
  organizationId: string;
  organizationName: string;
  /** HTTP status of `GET /api/v2/organizations/me`. */
  status: number;
}

/** The Platform API refused the request (after the library's one replay on 401). */
export class OrganizationLookupError extends Error {
  override readonly name = "OrganizationLookupError";
  /** HTTP status Genesys answered. */
  readonly status: number;

  constructor(status: number, body: string) {
    super(`GET /api/v2/organizations/me answered ${status}: ${body.slice(0, 500)}`);
    this.status = status;
  }
}

/** Event: optionally `{ "credential": "<name>" }` to use a credential other than the vendor's default. */
export async function handler(event: { credential?: string } | undefined): Promise<OrganizationSummary> {
  const credential = typeof event?.credential === "string" ? event.credential : undefined;
  // A path starting with "/" is resolved against the token's apiBaseUrl: no region is hard-coded here.
  const response = await genesysFetch(
    "/api/v2/organizations/me",
    { headers: { accept: "application/json" } },
    { credential },
  );
  if (!response.ok) {
    // The body of a Genesys error carries a code and a message, never the caller's token.
    throw new OrganizationLookupError(response.status, await response.text());
  }
  const organization = (await response.json()) as { id?: unknown; name?: unknown };
  return {
    organizationId: String(organization.id),
    organizationName: String(organization.name),
    status: response.status,
  };
}
