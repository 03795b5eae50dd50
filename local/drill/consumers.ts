/**
 * Simulated consumer Lambdas. Each consumer is one "container": its own TokenProvider (the consumer
 * library, real @aws-sdk/client-lambda against the Lambda emulator) and its own pacing loop. Calls are
 * open-loop — started on schedule whether or not earlier ones finished — so a slow call shows up as
 * latency, not as a silently lower rate. Each call is `GET /api/v2/organizations/me` through one of the
 * library's adapters (consumer-kinds/, `--consumer-kind`; `genesysFetch` by default), so a 401 exercises
 * that adapter's rejectedToken → replay path.
 *
 * A consumer that behaves well retries Genesys' own 429 (honouring Retry-After) and 5xx on an idempotent
 * GET; that is undici's retry interceptor on the consumer's HTTP dispatcher, not the rotator's job. A call
 * counts as failed when its final answer is not 2xx or when getting a token failed.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { InvokeCommand, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { Agent, type Dispatcher, interceptors, fetch as undiciFetch } from "undici";
import type { FetchFunction } from "../../lambda/client/fetch.ts";
import type { LambdaInvoker } from "../../lambda/client/invoke.ts";
import { TokenProvider } from "../../lambda/client/token-provider.ts";
import { describeError } from "../../lambda/shared/errors.ts";
import { hashToken } from "../../lambda/vending/token-cache.ts";
import { type ApiCaller, type ConsumerKind, createApiCaller } from "./consumer-kinds/index.ts";
import { type NotificationListener, startNotificationListener } from "./consumer-kinds/notifications.ts";
import type { DrillMetrics } from "./metrics.ts";

/** A consumer with this many calls in flight skips its next slot (and counts it) instead of piling up. */
const MAX_IN_FLIGHT_PER_CONSUMER = 64;
/** A call (token + request + retries) is abandoned, and counted failed, after this long. */
const CALL_TIMEOUT_MS = 20_000;
/** When a consumer falls this far behind its schedule (event loop stalled), it drops the backlog. */
const MAX_BACKLOG_MS = 1000;

/** Options of {@link startConsumerFleet}. */
export interface ConsumerFleetOptions {
  consumers: number;
  /** Target calls per second, all consumers together. */
  rate: number;
  /** The vending function's name in the Lambda emulator. */
  functionName: string;
  /** Credential name to ask the vendor for. */
  credential: string;
  /** How the consumers call Genesys; consumer `i` uses `kinds[i % kinds.length]`. @default ["fetch"] */
  kinds?: readonly ConsumerKind[];
  /** The topic `notifications` consumers listen on (the drill's event pusher numbers events there). */
  notificationTopic?: string;
  /** A new Lambda client per consumer container. */
  createLambdaClient: () => LambdaInvoker & { destroy?(): void };
  /** Records every token a vend answered with (forged-cache: was a forgery ever served?). */
  ledger?: VendedTokenLedger;
  metrics: DrillMetrics;
  /** ms since traffic start (the metrics' time base). */
  elapsedMs: () => number;
}

/** A running fleet. */
export interface ConsumerFleet {
  /** The `notifications` consumers' listeners, once each has its first channel subscribed. */
  readonly listeners: Promise<NotificationListener[]>;
  /** Stops scheduling calls, waits for the ones in flight (bounded by their timeout), closes clients. */
  stop(): Promise<void>;
}

/** Starts the consumers; their first calls go out at once, spread over one interval. */
export function startConsumerFleet(options: ConsumerFleetOptions): ConsumerFleet {
  // Ending the schedule must not abort calls already started: they are part of the measurement.
  const scheduling = new AbortController();
  const cancelling = new AbortController();
  const dispatcher = retryingDispatcher();
  const fetchWithRetry: FetchFunction = (input, init) =>
    // undici's own fetch, so the dispatcher (with its retry interceptor) is the one the package built.
    undiciFetch(
      input as string,
      { ...(init as object), dispatcher } as never,
    ) as unknown as Promise<Response>;
  const inFlight = new Set<Promise<void>>();
  const lambdaClients: { destroy?: () => void }[] = [];
  const callers: ApiCaller[] = [];
  const kinds =
    options.kinds === undefined || options.kinds.length === 0 ? ["fetch" as const] : options.kinds;
  const kindOf = (index: number): ConsumerKind => kinds[index % kinds.length] ?? "fetch";
  // Listeners make no API calls: the callers share the whole rate.
  const callerCount = Array.from({ length: options.consumers }, (_, i) => kindOf(i)).filter(
    (kind) => kind !== "notifications",
  ).length;
  const intervalMs = (1000 * Math.max(1, callerCount)) / options.rate;
  const listeners: Promise<NotificationListener>[] = [];
  let callerIndex = 0;

  const loops = Array.from({ length: options.consumers }, (_, index) => {
    const created = options.createLambdaClient();
    lambdaClients.push(created);
    const lambdaClient = options.ledger?.watch(created) ?? created;
    const provider = new TokenProvider({
      functionName: options.functionName,
      credential: options.credential,
      lambdaClient,
    });
    const kind = kindOf(index);
    if (kind === "notifications") {
      const topic = options.notificationTopic;
      if (topic === undefined) throw new Error("notifications consumers need the fleet's notificationTopic");
      listeners.push(startNotificationListener(provider, topic));
      return Promise.resolve();
    }
    const slot = callerIndex++;
    const caller = createApiCaller(kind, { provider, fetch: fetchWithRetry });
    callers.push(caller);
    // With several kinds, a failure says which adapter it came through.
    const label = kinds.length > 1 ? `${kind}: ` : "";
    let ownInFlight = 0;

    const call = async () => {
      const started = performance.now();
      let failure: string | undefined;
      try {
        const { status } = await caller.call(
          AbortSignal.any([AbortSignal.timeout(CALL_TIMEOUT_MS), cancelling.signal]),
        );
        if (status < 200 || status > 299) failure = `${label}HTTP ${status}`;
      } catch (error) {
        failure = `${label}${describeError(error).errorName}`;
      }
      // A call cut short by the end of the drill measured nothing: do not count it either way.
      if (cancelling.signal.aborted && failure !== undefined) return;
      options.metrics.recordCall(options.elapsedMs(), performance.now() - started, failure, kind);
    };

    return (async () => {
      // Spread the consumers' slots over one interval, as independent containers would be.
      let next = performance.now() + (intervalMs * slot) / Math.max(1, callerCount);
      while (!scheduling.signal.aborted) {
        const wait = next - performance.now();
        if (wait > 0) {
          try {
            await sleep(wait, undefined, { signal: scheduling.signal });
          } catch {
            break;
          }
        } else if (-wait > MAX_BACKLOG_MS) {
          const dropped = Math.floor(-wait / intervalMs);
          for (let i = 0; i < dropped; i++) options.metrics.recordSkipped();
          next += dropped * intervalMs;
        }
        next += intervalMs;
        if (ownInFlight >= MAX_IN_FLIGHT_PER_CONSUMER) {
          options.metrics.recordSkipped();
          continue;
        }
        ownInFlight++;
        const running = call().finally(() => {
          ownInFlight--;
          inFlight.delete(running);
        });
        inFlight.add(running);
      }
    })();
  });

  const allListeners = Promise.all(listeners);
  // A listener that could not open is reported by whoever awaits `listeners`; never unhandled.
  allListeners.catch(() => {});
  let stopped: Promise<void> | undefined;
  return {
    listeners: allListeners,
    stop() {
      stopped ??= (async () => {
        scheduling.abort();
        await Promise.all(loops);
        const cutOff = setTimeout(() => cancelling.abort(), CALL_TIMEOUT_MS);
        await Promise.allSettled([...inFlight]);
        clearTimeout(cutOff);
        for (const client of lambdaClients) client.destroy?.();
        await Promise.allSettled(callers.map(async (caller) => caller.close?.()));
        await Promise.allSettled(listeners.map(async (listener) => (await listener).close()));
        await dispatcher.close();
      })();
      return stopped;
    },
  };
}

/**
 * The consumers' HTTP dispatcher: keep-alive connections plus undici's retry interceptor for what a
 * well-behaved Genesys client retries on a GET — 429 (after Retry-After) and 5xx. The budget (8 retries,
 * backoff capped at 2 s: about 9 s) outlasts the longest fault window (4 s), as a production client's
 * budget should outlast a Genesys incident it is meant to ride out; a smaller one made the all-faults
 * drill fail now and then on a call whose every retry landed in overlapping 429 and 5xx windows.
 * 401 is not retried here: the fetch helper handles it through the vendor.
 */
function retryingDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: 10_000 }).compose(
    interceptors.retry({
      maxRetries: 8,
      minTimeout: 100,
      maxTimeout: 2000,
      timeoutFactor: 2,
      methods: ["GET", "HEAD"],
      statusCodes: [429, 500, 502, 503, 504],
      // Pass the last answer through instead of throwing, so the failure is counted by its status.
      throwOnError: false,
    }),
  );
}

/** A Lambda client as the drill's consumers use it. */
type ConsumerLambdaClient = LambdaInvoker & { destroy?(): void };

/**
 * Every token any drill consumer received from the vendor, by hash. The record is taken from the Invoke
 * answers themselves, below the consumer library, so a token counts as served even when the library
 * would refuse it (a malformed one) or a replayed 401 would hide it. Never holds a token, only hashes.
 */
export class VendedTokenLedger {
  readonly #timesServed = new Map<string, number>();
  #answers = 0;

  /** `client`, recording the token of every successful Invoke answer that carries one. */
  watch(client: LambdaInvoker): LambdaInvoker {
    const send = async (command: unknown, options?: unknown) => {
      const output = (await client.send(command as InvokeCommand, options as never)) as InvokeCommandOutput;
      if (command instanceof InvokeCommand && output.FunctionError === undefined)
        this.#record(output.Payload);
      return output;
    };
    return { send: send as LambdaInvoker["send"] };
  }

  /** Answers that carried a token. */
  get answers(): number {
    return this.#answers;
  }

  /** How many answers carried one of the tokens whose hashes are `hashes`. */
  timesServed(hashes: Iterable<string>): number {
    let count = 0;
    for (const hash of hashes) count += this.#timesServed.get(hash) ?? 0;
    return count;
  }

  #record(payload: Uint8Array | undefined): void {
    if (payload === undefined) return;
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    const accessToken = (body as { accessToken?: unknown } | null)?.accessToken;
    if (typeof accessToken !== "string") return;
    this.#answers++;
    const hash = hashToken(accessToken);
    this.#timesServed.set(hash, (this.#timesServed.get(hash) ?? 0) + 1);
  }
}

/** Options of {@link startHostileConsumer}. */
export interface HostileConsumerOptions {
  /** The vending function's name in the Lambda emulator. */
  functionName: string;
  /** The credential (alias) the hostile consumer is granted, the honest consumers' one. */
  credential: string;
  /** A credential the vendor serves that it is not granted. */
  otherCredential: string;
  /** The secret ARN its warm payloads name (refused: only the cache-warming alias takes them). */
  warmSecretArn: string;
  /** False reports per second. */
  reportsPerSecond: number;
  /** Requests its alias does not grant, per second. */
  ungrantedPerSecond: number;
  createLambdaClient: () => ConsumerLambdaClient;
  ledger?: VendedTokenLedger;
}

/** The requests the hostile consumer is not granted, asked in turn. */
export const UNGRANTED_KINDS = ["other-credential", "unqualified", "warm"] as const;
export type UngrantedKind = (typeof UNGRANTED_KINDS)[number];

/** What the hostile consumer sent and what it got. Its calls are never consumer failures. */
export interface HostileConsumerStats {
  /** Vends with `rejectedToken` = the token the vendor had just handed it (valid at Genesys). */
  falseReports: number;
  /** Answered with the reported token itself (the vendor checked the report with Genesys). */
  reportsServedAgain: number;
  /** Answered with another token (a mint, or the cache had moved on). */
  reportsAnsweredWithNewToken: number;
  /** Refused by the vendor, by error name (TokenUnavailableError: the rejection mint cap). */
  reportsRefused: Record<string, number>;
  /** No answer (the Invoke itself failed or the drill ended first). */
  reportsUnanswered: number;
  ungranted: {
    requests: number;
    byKind: Record<UngrantedKind, number>;
    /** Refused with CredentialNotGrantedError, as they must be. */
    refused: number;
    /** Answered with a token or a warm result: the vendor served what the alias does not grant. */
    answered: number;
    /** Refused with another error, by error name (the vendor did not check the grant first). */
    refusedOtherwise: Record<string, number>;
    /** No answer (the Invoke itself failed or the drill ended first). */
    unanswered: number;
  };
}

/** A running hostile consumer. */
export interface HostileConsumer {
  /** Stops sending, waits for the calls in flight (bounded), closes its client, returns what it counted. */
  stop(): Promise<HostileConsumerStats>;
}

/** Calls in flight the hostile consumer allows itself per kind; further slots are dropped (it is bounded, not a flood). */
const HOSTILE_MAX_IN_FLIGHT = 4;
const HOSTILE_INVOKE_TIMEOUT_MS = 10_000;

/**
 * Starts a consumer that misbehaves (the hostile-consumer fault): granted the honest consumers' alias, it
 * reports the valid token it holds as rejected `reportsPerSecond` times a second, and asks for what its
 * alias does not grant — another credential through its alias, an unqualified invoke, a warm payload —
 * `ungrantedPerSecond` times a second. It invokes the vendor with its own Lambda client, bypassing the
 * consumer library (which would not report a token it was not refused with).
 */
export function startHostileConsumer(options: HostileConsumerOptions): HostileConsumer {
  const created = options.createLambdaClient();
  const client = options.ledger?.watch(created) ?? created;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const stats: HostileConsumerStats = {
    falseReports: 0,
    reportsServedAgain: 0,
    reportsAnsweredWithNewToken: 0,
    reportsRefused: {},
    reportsUnanswered: 0,
    ungranted: {
      requests: 0,
      byKind: { "other-credential": 0, unqualified: 0, warm: 0 },
      refused: 0,
      answered: 0,
      refusedOtherwise: {},
      unanswered: 0,
    },
  };
  /** The token the vendor handed out last: what the next false report names. Secret: never printed. */
  let held: string | undefined;

  const invoke = async (payload: unknown, qualifier: string | undefined): Promise<InvokeAnswer> => {
    try {
      const output = await client.send(
        new InvokeCommand({
          FunctionName: options.functionName,
          ...(qualifier === undefined ? {} : { Qualifier: qualifier }),
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
        { abortSignal: AbortSignal.timeout(HOSTILE_INVOKE_TIMEOUT_MS) },
      );
      const body = parseBody(output.Payload);
      if (output.FunctionError !== undefined) {
        const errorType = (body as { errorType?: unknown } | undefined)?.errorType;
        return { kind: "error", errorType: typeof errorType === "string" ? errorType : output.FunctionError };
      }
      const accessToken = (body as { accessToken?: unknown } | undefined)?.accessToken;
      return { kind: "answer", accessToken: typeof accessToken === "string" ? accessToken : undefined };
    } catch {
      return { kind: "none" };
    }
  };

  const report = async () => {
    if (held === undefined) {
      // Nothing to report yet: get the current token as any consumer would.
      const answer = await invoke({}, options.credential);
      if (answer.kind === "answer") held = answer.accessToken;
      return;
    }
    const reported = held;
    stats.falseReports++;
    const answer = await invoke({ rejectedToken: reported }, options.credential);
    if (answer.kind === "none") stats.reportsUnanswered++;
    else if (answer.kind === "error") increment(stats.reportsRefused, answer.errorType);
    else {
      if (answer.accessToken === reported) stats.reportsServedAgain++;
      else stats.reportsAnsweredWithNewToken++;
      if (answer.accessToken !== undefined) held = answer.accessToken;
    }
  };

  let nextKind = 0;
  const askUngranted = async () => {
    const kind = UNGRANTED_KINDS[nextKind++ % UNGRANTED_KINDS.length] as UngrantedKind;
    const { ungranted } = stats;
    ungranted.requests++;
    ungranted.byKind[kind]++;
    const answer =
      kind === "other-credential"
        ? await invoke({ credential: options.otherCredential }, options.credential)
        : kind === "unqualified"
          ? await invoke({ credential: options.otherCredential }, undefined)
          : await invoke({ warm: { secretArn: options.warmSecretArn } }, options.credential);
    if (answer.kind === "none") ungranted.unanswered++;
    else if (answer.kind === "answer") ungranted.answered++;
    else if (answer.errorType === "CredentialNotGrantedError") ungranted.refused++;
    else increment(ungranted.refusedOtherwise, answer.errorType);
  };

  const loop = (perSecond: number, call: () => Promise<void>) =>
    (async () => {
      if (perSecond <= 0) return;
      const intervalMs = 1000 / perSecond;
      let next = performance.now();
      // Each loop has its own budget: reports waiting at the vendor must not starve the other requests.
      let own = 0;
      while (!stopping.signal.aborted) {
        next += intervalMs;
        // Bounded: a slot finding the maximum in flight is dropped, and a stalled loop does not catch up.
        if (own < HOSTILE_MAX_IN_FLIGHT) {
          own++;
          const running = call().finally(() => {
            own--;
            inFlight.delete(running);
          });
          inFlight.add(running);
        }
        next = Math.max(next, performance.now());
        try {
          await sleep(next - performance.now(), undefined, { signal: stopping.signal });
        } catch {
          break;
        }
      }
    })();
  const loops = [loop(options.reportsPerSecond, report), loop(options.ungrantedPerSecond, askUngranted)];

  let stopped: Promise<HostileConsumerStats> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await Promise.all(loops);
        await Promise.allSettled([...inFlight]);
        created.destroy?.();
        return stats;
      })();
      return stopped;
    },
  };
}

type InvokeAnswer =
  | { kind: "answer"; accessToken: string | undefined }
  | { kind: "error"; errorType: string }
  | { kind: "none" };

function parseBody(payload: Uint8Array | undefined): unknown {
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return undefined;
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
