/**
 * The official Genesys SDK adapter (lambda/client/genesys-sdk.ts) with the real SDK package
 * (purecloud-platform-client-v2) against the Genesys emulator and the local vendor (the vending handler
 * in the Lambda emulator, reached by a TokenProvider over the Invoke API): calls carry vended tokens, a
 * 401 is reported once and replayed, concurrent 401s after a rotation that kills the tokens cost one
 * report, a 429 waits its Retry-After within the budget, and detaching restores the ApiClient. A
 * Platform-API stand-in (harness.ts) shows what each request carried.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { type InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import platformClient from "purecloud-platform-client-v2";
import { type GenesysSdkApiClient, useVendedTokens } from "../../lambda/client/genesys-sdk.ts";
import {
  type LambdaInvoker,
  TokenProvider,
  type TokenSource,
  ValidationError,
  type VendedToken,
} from "../../lambda/client/index.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  LOCAL_AWS,
  RecordingLog,
  startVendingStack,
  VENDING_CREDENTIALS,
  type VendingFleet,
  type VendingStack,
  warmUp,
} from "../support/vending-stack.ts";
import { type ApiStandIn, standInToken, startApiStandIn } from "./harness.ts";

// The SDK's own ApiClient satisfies the structural type the adapter declares.
const sdkApiClient: GenesysSdkApiClient = platformClient.ApiClient;
void sdkApiClient;

/** A fresh SDK ApiClient (not the SDK's process-wide instance), answering with extended responses. */
function newApiClient(): InstanceType<typeof platformClient.ApiClientClass> {
  const apiClient = new platformClient.ApiClientClass();
  apiClient.setReturnExtendedResponses(true);
  return apiClient;
}

/** What an extended SDK rejection carries. */
interface ExtendedFailure {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The extended answer of a call that succeeded. */
async function answerOf(call: Promise<unknown>): Promise<{ status: number; body: { id?: string } }> {
  return (await call) as { status: number; body: { id?: string } };
}

async function failureOf(call: Promise<unknown>): Promise<ExtendedFailure> {
  const failure = await call.then(
    () => assert.fail("the call succeeded"),
    (error: unknown) => error as ExtendedFailure,
  );
  assert.equal(typeof failure.status, "number", "an HTTP failure");
  return failure;
}

/** A Lambda client that records the `rejectedToken` of every vend it sends. */
function reportCountingClient(client: LambdaClient): LambdaInvoker & { reports: string[] } {
  const reports: string[] = [];
  const decoder = new TextDecoder();
  const send = ((command: InvokeCommand, ...rest: unknown[]) => {
    const payload = JSON.parse(decoder.decode(command.input.Payload as Uint8Array)) as {
      rejectedToken?: string;
    };
    if (payload.rejectedToken !== undefined) reports.push(payload.rejectedToken);
    return (client.send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as LambdaInvoker["send"];
  return { send, reports };
}

describe("useVendedTokens: the official SDK with the local vendor and the Genesys emulator", () => {
  let stack: VendingStack;
  let fleet: VendingFleet;
  let lambdaClient: LambdaClient;
  const log = new RecordingLog();
  const detachers: Array<() => void> = [];

  before(async () => {
    stack = await startVendingStack();
    await warmUp(stack, log);
    fleet = await stack.startFleet({ containers: 2 });
    lambdaClient = new LambdaClient({ ...LOCAL_AWS, endpoint: fleet.lambda.url, maxAttempts: 1 });
    // Start both containers now, so no Invoke of a test waits for a cold start. An invalid payload loads
    // the handler without minting.
    await Promise.all([1, 2].map(() => fleet.token({ minTtlSeconds: -1 }).catch(() => undefined)));
  });
  afterEach(async () => {
    for (const detach of detachers.splice(0)) detach();
    stack.rotation.genesys.faults.reset();
    stack.rotation.genesys.counters.reset();
    await stack.clearTable();
  });
  after(async () => {
    try {
      const genesys = stack.rotation.genesys;
      assertNoSecrets(`${log.lines.join("\n")}\n${fleet.output()}`, {
        "access token": genesys.issued.accessTokens,
        "client secret": genesys.issued.secrets,
      });
    } finally {
      lambdaClient?.destroy();
      await stack?.stop();
    }
  });

  /** A provider of `credential` whose vends are counted, and an SDK client using it. */
  function attach(credential: string = VENDING_CREDENTIALS.app, options = {}) {
    const lambda = reportCountingClient(lambdaClient);
    const provider = new TokenProvider({ functionName: `${fleet.name}:${credential}`, lambdaClient: lambda });
    const apiClient = newApiClient();
    detachers.push(useVendedTokens(apiClient, { provider, ...options }));
    return { apiClient, provider, reports: lambda.reports };
  }

  it("every call carries a vended token and goes to the token's API, with no login or environment", async () => {
    const { apiClient } = attach();
    const organizations = new platformClient.OrganizationApi(apiClient);
    const first = await answerOf(organizations.getOrganizationsMe());
    const second = await answerOf(organizations.getOrganizationsMe());
    assert.equal(first.status, 200);
    assert.ok(first.body.id);
    assert.equal(second.status, 200);
    // The SDK was never given a token, and its default region is not the emulator: both came from the token.
    assert.equal(
      (apiClient as unknown as { authData: { accessToken?: string } }).authData.accessToken,
      undefined,
    );
    assert.equal(stack.rotation.genesys.counters.mints(), 1, "the cached token served both calls");
  });

  it("a 401 reports the token once and replays the call with the replacement", async () => {
    const { apiClient, provider, reports } = attach();
    const organizations = new platformClient.OrganizationApi(apiClient);
    await organizations.getOrganizationsMe();
    const { accessToken } = await provider.getToken();
    await stack.revokeToken(accessToken);
    const mintsBefore = stack.rotation.genesys.counters.mints();

    const answer = await answerOf(organizations.getOrganizationsMe());
    assert.equal(answer.status, 200);
    assert.equal(reports.length, 1, "one rejectedToken report");
    assert.equal(reports[0] === accessToken, true, "the revoked token was reported");
    assert.equal(stack.rotation.genesys.counters.mints() - mintsBefore, 1, "one replacement mint");
    assert.notEqual((await provider.getToken()).accessToken === accessToken, true);
  });

  it("N concurrent calls hit by a rotation that kills the tokens: one report, every call succeeds", async () => {
    const genesys = stack.rotation.genesys;
    const { apiClient, provider, reports } = attach(VENDING_CREDENTIALS.single);
    const organizations = new platformClient.OrganizationApi(apiClient);
    await organizations.getOrganizationsMe();
    const before = await provider.getToken();

    // A single-client credential: the rotation regenerates the very client whose token everyone holds.
    genesys.faults.tokensSurviveRegeneration = false;
    const rotation = await stack.rotation.rotate(stack.rotation.secrets.single);
    assert.equal(rotation.eventName, "RotationSucceeded");

    const calls = 12;
    const answers = await Promise.all(
      Array.from({ length: calls }, () => answerOf(organizations.getOrganizationsMe())),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array.from({ length: calls }, () => 200),
    );
    assert.equal(reports.length, 1, "the concurrent 401s shared one report");
    assert.equal(reports[0] === before.accessToken, true);
  });

  it("a 429 is retried after its Retry-After within the budget, and returned once the budget is spent", async () => {
    const genesys = stack.rotation.genesys;
    const clock = new SteppingClock(Date.now());
    const { apiClient } = attach(VENDING_CREDENTIALS.app, {
      retryRateLimited: { clock, maxRetries: 3, maxWaitMs: 10_000 },
    });
    const organizations = new platformClient.OrganizationApi(apiClient);
    await organizations.getOrganizationsMe();

    genesys.faults.apiRateLimit.retryAfterSeconds = 2;
    genesys.faults.apiRateLimit.nextN = 2;
    const retried = await answerOf(organizations.getOrganizationsMe());
    assert.equal(retried.status, 200);
    assert.deepEqual(clock.sleeps, [2_000, 2_000]);

    // Three retries of 3 s fit the 10 s budget; the fourth 429 is returned with its Retry-After.
    clock.sleeps.length = 0;
    genesys.faults.apiRateLimit.retryAfterSeconds = 3;
    genesys.faults.apiRateLimit.enabled = true;
    const failure = await failureOf(organizations.getOrganizationsMe());
    assert.equal(failure.status, 429);
    assert.equal(failure.headers["retry-after"], "3");
    assert.deepEqual(clock.sleeps, [3_000, 3_000, 3_000]);
  });

  it("with retryRateLimited: false a 429 reaches the caller at once", async () => {
    const { apiClient } = attach(VENDING_CREDENTIALS.app, { retryRateLimited: false });
    stack.rotation.genesys.faults.apiRateLimit.nextN = 1;
    const failure = await failureOf(new platformClient.OrganizationApi(apiClient).getOrganizationsMe());
    assert.equal(failure.status, 429);
    const answer = await answerOf(new platformClient.OrganizationApi(apiClient).getOrganizationsMe());
    assert.equal(answer.status, 200, "only the one request was throttled");
  });
});

describe("useVendedTokens: what each request carries (Platform-API stand-in)", () => {
  let api: ApiStandIn;
  before(async () => {
    api = await startApiStandIn();
  });
  after(() => api.stop());

  /** A token source handing out `token-1`, `token-2`, … for the stand-in; `delays[n]` holds vend n back. */
  function countingSource(delays: number[] = []): TokenSource & { vends: number; invalidated: string[] } {
    const source = {
      vends: 0,
      invalidated: [] as string[],
      async getToken(): Promise<VendedToken> {
        source.vends += 1;
        const n = source.vends;
        const delay = delays[n - 1] ?? 0;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        return standInToken(`token-${n}`, api.url);
      },
      invalidate(token: string | VendedToken) {
        source.invalidated.push(typeof token === "string" ? token : token.accessToken);
      },
    };
    return source;
  }

  it("concurrent calls on one ApiClient each send the token they were given, never setAccessToken's", async () => {
    api.seen.length = 0;
    const apiClient = newApiClient();
    apiClient.setAccessToken("set-by-the-caller");
    // The first call's token arrives last: a shared, instance-wide token would be overwritten.
    const source = countingSource([200, 0]);
    const detach = useVendedTokens(apiClient, { provider: source });
    try {
      const tokens = new platformClient.TokensApi(apiClient);
      await Promise.all([tokens.getTokensMe(), tokens.getTokensMe()]);
      assert.deepEqual(api.seen.map((request) => request.authorization).sort(), [
        "Bearer token-1",
        "Bearer token-2",
      ]);
    } finally {
      detach();
    }
  });

  it("keeps a gateway the caller set, and detaching restores the ApiClient", async () => {
    api.seen.length = 0;
    const apiClient = newApiClient();
    const port = Number(new URL(api.url).port);
    apiClient.setGateway({ host: "127.0.0.1", protocol: "http", port });
    const getter = apiClient.getHttpClient;
    const detach = useVendedTokens(apiClient, { provider: countingSource() });
    assert.equal(Object.hasOwn(apiClient, "getHttpClient"), true);
    const organizations = new platformClient.OrganizationApi(apiClient);
    await organizations.getOrganizationsMe();
    assert.equal(api.seen.at(-1)?.authorization, "Bearer token-1");

    detach();
    detach(); // idempotent
    assert.equal(Object.hasOwn(apiClient, "getHttpClient"), false);
    assert.equal(apiClient.getHttpClient, getter);
    const failure = await failureOf(organizations.getOrganizationsMe());
    assert.equal(failure.status, 401, "no token once detached");
    assert.equal(api.seen.at(-1)?.authorization, undefined);
    // And it can be attached again.
    useVendedTokens(apiClient, { provider: countingSource() })();
  });

  it("a persistent 401 is replayed at most twice, and printing the rejection never shows a token", async () => {
    api.seen.length = 0;
    api.rejectEverything = true;
    try {
      const apiClient = newApiClient();
      const source = countingSource();
      const detach = useVendedTokens(apiClient, { provider: source });
      const failure = await failureOf(new platformClient.OrganizationApi(apiClient).getOrganizationsMe());
      detach();
      assert.equal(failure.status, 401);
      assert.deepEqual(
        api.seen.map((request) => request.authorization),
        ["Bearer token-1", "Bearer token-2", "Bearer token-3"],
      );
      const printed = `${inspect(failure, { depth: 20 })}\n${JSON.stringify(failure)}`;
      assertNoSecrets(printed, { "access token": ["token-1", "token-2", "token-3"] });
    } finally {
      api.rejectEverything = false;
    }
  });

  it("refuses what is not an ApiClient, and a second attach", () => {
    assert.throws(
      () => useVendedTokens({} as GenesysSdkApiClient, { provider: countingSource() }),
      ValidationError,
    );
    const apiClient = newApiClient();
    const detach = useVendedTokens(apiClient, { provider: countingSource() });
    assert.throws(() => useVendedTokens(apiClient, { provider: countingSource() }), ValidationError);
    detach();
  });
});
