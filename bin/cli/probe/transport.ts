/**
 * How `probe` talks to Genesys: the shared client (lambda/shared/genesys) through one dispatcher that
 * counts every HTTP request sent (retries included), and token requests whose raw answers are observed
 * for what the typed client does not keep: the status and body shape of a rejection, the `Date` header
 * (clock skew) and a rate-limit answer's Retry-After. Secrets and tokens stay in memory: nothing here
 * logs, prints or returns a body.
 */
import { Agent, type Dispatcher } from "undici";
import type { Clock } from "../../../lambda/shared/clock.ts";
import { GenesysApi } from "../../../lambda/shared/genesys/api.ts";
import type { GenesysEndpoints } from "../../../lambda/shared/genesys/environments.ts";
import {
  GenesysInvalidClientError,
  GenesysTokenRateLimitError,
} from "../../../lambda/shared/genesys/errors.ts";
import {
  type GenesysCallOptions,
  type GenesysHttpResponse,
  sendGenesysRequest,
} from "../../../lambda/shared/genesys/http.ts";
import {
  type AccessToken,
  buildClientCredentialsTokenRequest,
  processClientCredentialsTokenResponse,
} from "../../../lambda/shared/genesys/oauth.ts";
import { tryParseObject } from "../../../lambda/shared/genesys/responses.ts";
import { CliError } from "../errors.ts";

/** An undici Agent that counts the requests dispatched through it. */
class CountingAgent extends Agent {
  requests = 0;

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.requests += 1;
    return super.dispatch(options, handler);
  }
}

/** One token request's outcome, without the token's value leaving this object except as `token`. */
export type MintAttempt =
  | { outcome: "accepted"; token: AccessToken }
  | { outcome: "rejected" }
  | { outcome: "rate-limited"; retryAfterMs: number | undefined };

/** What a wrong secret got: the status, and the shape of the body (its `error` code and key names). */
export interface RejectionShape {
  status: number;
  error: string | null;
  keys: string[];
}

/** Genesys for one probe run. Close it with {@link ProbeTransport.close}. */
export class ProbeTransport {
  readonly #agent = new CountingAgent({ keepAliveTimeout: 10_000, connections: 4 });
  readonly #clock: Clock;
  readonly #endpoints: GenesysEndpoints;
  readonly #skews: number[] = [];
  /** Retry-After (s) of every token-endpoint rate-limit answer seen; null for one without the header. */
  readonly rateLimitAnswers: (number | null)[] = [];

  constructor(endpoints: GenesysEndpoints, clock: Clock) {
    this.#endpoints = endpoints;
    this.#clock = clock;
  }

  /** HTTP requests sent so far. */
  get requests(): number {
    return this.#agent.requests;
  }

  /** Median (Genesys `Date` − local clock) of the token endpoint's answers, in ms; null when none had one. */
  clockSkewMs(): number | null {
    if (this.#skews.length === 0) return null;
    const sorted = [...this.#skews].sort((a, b) => a - b);
    return Math.round(sorted[Math.floor((sorted.length - 1) / 2)] ?? 0);
  }

  #options(extra: GenesysCallOptions = {}): GenesysCallOptions {
    return { clock: this.#clock, dispatcher: this.#agent, ...extra };
  }

  /** A Platform API session acting with `accessToken` (idempotent calls retried at most once). */
  api(accessToken: string): GenesysApi {
    return new GenesysApi(this.#endpoints, accessToken, this.#options({ maxAttempts: 2 }));
  }

  /** Mints a token; throws the typed Genesys errors (one attempt per transient failure retried). */
  mint(clientId: string, clientSecret: string): Promise<AccessToken> {
    return this.#token(
      clientId,
      clientSecret,
      (response) => processClientCredentialsTokenResponse(response),
      2,
    );
  }

  /** One token request, classified: accepted, rejected (invalid_client) or rate limited. */
  async tryMint(clientId: string, clientSecret: string): Promise<MintAttempt> {
    try {
      return {
        outcome: "accepted",
        token: await this.#token(clientId, clientSecret, processClientCredentialsTokenResponse, 1),
      };
    } catch (error) {
      if (error instanceof GenesysInvalidClientError) return { outcome: "rejected" };
      if (error instanceof GenesysTokenRateLimitError) {
        return { outcome: "rate-limited", retryAfterMs: error.retryAfterMs };
      }
      throw error;
    }
  }

  /** A token request with a secret known to be wrong: what the rejection looks like. */
  rejection(clientId: string, wrongSecret: string): Promise<RejectionShape> {
    return this.#token(
      clientId,
      wrongSecret,
      (response) => {
        if (response.status === 200)
          throw new ProbeSurpriseError("the token endpoint accepted a wrong secret");
        const body = tryParseObject(response.body);
        const error =
          typeof body?.error === "string" && /^[\w.-]{1,64}$/.test(body.error) ? body.error : null;
        const keys = Object.keys(body ?? {})
          .filter((key) => /^[\w.-]{1,64}$/.test(key))
          .sort();
        return { status: response.status, error, keys };
      },
      1,
    );
  }

  #token<T>(
    clientId: string,
    clientSecret: string,
    interpret: (response: GenesysHttpResponse) => T,
    maxAttempts: number,
  ): Promise<T> {
    const sentAt = this.#clock.now();
    return sendGenesysRequest(
      buildClientCredentialsTokenRequest({ endpoints: this.#endpoints, clientId, clientSecret }),
      (response) => {
        this.#observe(response, sentAt);
        return interpret(response);
      },
      this.#options({ maxAttempts }),
    );
  }

  #observe(response: GenesysHttpResponse, sentAt: number): void {
    const header = response.headers.date;
    const date = Date.parse(Array.isArray(header) ? (header[0] ?? "") : (header ?? ""));
    if (Number.isFinite(date)) this.#skews.push(date - (sentAt + response.receivedAt) / 2);
    if (response.status === 200) return;
    try {
      processClientCredentialsTokenResponse(response);
    } catch (error) {
      if (error instanceof GenesysTokenRateLimitError) {
        this.rateLimitAnswers.push(
          error.retryAfterMs === undefined ? null : Math.round(error.retryAfterMs / 1000),
        );
      }
    }
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.#agent.close();
  }
}

/** Genesys answered in a way the probe cannot interpret (e.g. accepted a wrong secret). */
export class ProbeSurpriseError extends CliError {
  override readonly name = "ProbeSurpriseError";
}
