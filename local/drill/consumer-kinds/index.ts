/**
 * How a drill consumer calls the Genesys API: the adapters of the consumer library, each as a real
 * integration would use it (`--consumer-kind`, docs/drill.md). Every kind makes the same cheap call,
 * `GET /api/v2/organizations/me`, with the consumer's own TokenProvider, so a 401 exercises the kind's
 * rejectedToken → replay path and the drill's verdict covers every adapter.
 */
import type { FetchFunction } from "../../../lambda/client/fetch.ts";
import { genesysFetch } from "../../../lambda/client/fetch.ts";
import { abortable, type TokenProvider } from "../../../lambda/client/token-provider.ts";
import { CONSUMER_API_PATH, retryingServerErrors } from "./call.ts";

/** The kinds, in the order `--help` lists them. */
export const CONSUMER_KINDS = ["fetch", "sdk", "axios", "notifications"] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

/** What one consumer container calls Genesys with. */
export interface ApiCaller {
  /** One API call; resolves with the final HTTP status (after the kind's own 401 and retry handling). */
  call(signal: AbortSignal): Promise<{ status: number }>;
  /** Frees what the caller holds (connections). */
  close?(): Promise<void> | void;
}

/** What every kind is built from. */
export interface ApiCallerContext {
  provider: TokenProvider;
  /**
   * `fetch` on the drill's HTTP dispatcher, which retries Genesys' own 429 and 5xx on a GET as a
   * well-behaved client does (consumers.ts).
   */
  fetch: FetchFunction;
}

/** The kinds that call the API (`notifications` consumers listen instead: notifications.ts). */
export type CallingKind = Exclude<ConsumerKind, "notifications">;

/** Builds the caller of `kind` for one consumer container. */
export function createApiCaller(kind: CallingKind, context: ApiCallerContext): ApiCaller {
  switch (kind) {
    case "fetch":
      return {
        async call(signal) {
          const response = await genesysFetch(
            CONSUMER_API_PATH,
            { signal },
            { provider: context.provider, fetch: context.fetch },
          );
          await response.arrayBuffer();
          return { status: response.status };
        },
      };
    case "sdk": {
      // The adapter retries 429s itself (on by default there); 5xx as the fetch kind's dispatcher does.
      // The SDK takes no abort signal: the call is abandoned at the signal, as fetch's would be.
      // Loaded on first use, so a drill without this kind never loads the SDK.
      const consumer = import("./sdk.ts").then(({ createSdkConsumer }) =>
        createSdkConsumer(context.provider),
      );
      return {
        call: (signal) =>
          retryingServerErrors(async () => abortable((await consumer).call(), signal), signal),
        close: async () => (await consumer).close(),
      };
    }
    case "axios":
      // The adapter retries 429s itself (opted in by axios.ts); 5xx as the fetch kind's dispatcher does.
      return {
        call: (signal) =>
          retryingServerErrors(async () => {
            const { axiosConsumerCall } = await import("./axios.ts");
            return axiosConsumerCall(context.provider, { signal });
          }, signal),
      };
  }
}
