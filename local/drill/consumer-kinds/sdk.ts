/**
 * The drill's consumer kind `sdk` (`--consumer-kind sdk`, index.ts): a consumer on the official
 * Genesys Cloud SDK with `useVendedTokens`, making the same cheap call as the fetch consumers
 * (`GET /api/v2/organizations/me`, `CONSUMER_API_PATH` in call.ts). The SDK rejects a failed call
 * with extended responses on, so every answer has a status; a call that got no HTTP answer (no token,
 * network) rejects with that error.
 */
import platformClient from "purecloud-platform-client-v2";
import { useVendedTokens, type VendedTokensOptions } from "../../../lambda/client/genesys-sdk.ts";
import type { TokenSource } from "../../../lambda/client/token-provider.ts";

/** One consumer container's SDK client. */
export interface SdkConsumer {
  /** One `GET /api/v2/organizations/me` through the SDK: its final HTTP status. */
  call(): Promise<{ status: number }>;
  /** Detaches the adapter from the consumer's ApiClient. */
  close(): void;
}

/** A consumer with its own SDK `ApiClient` on `provider` (one per consumer container). */
export function createSdkConsumer(
  provider: TokenSource,
  options: Omit<VendedTokensOptions, "provider"> = {},
): SdkConsumer {
  const apiClient = new platformClient.ApiClientClass();
  apiClient.setReturnExtendedResponses(true);
  const detach = useVendedTokens(apiClient, { ...options, provider });
  const organizations = new platformClient.OrganizationApi(apiClient);
  return {
    async call() {
      try {
        const answer = (await organizations.getOrganizationsMe()) as unknown as { status: number };
        return { status: answer.status };
      } catch (error) {
        const status = (error as { status?: unknown } | null)?.status;
        if (typeof status === "number") return { status };
        throw error;
      }
    },
    close: detach,
  };
}
