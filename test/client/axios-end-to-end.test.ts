/**
 * The axios adapter on the real wire: the vending function (the real handler, in the Lambda emulator)
 * mints from the Genesys emulator through Secrets Manager and DynamoDB, and an axios instance with
 * `attachGenesysAuth` calls the Genesys emulator's Platform API. The token is attached on the API's
 * origin and nowhere else; a revoked token costs one report and one replay; during a single-strategy
 * rotation whose regeneration kills every token, concurrent calls all succeed and the vendor gets exactly
 * one report of the dead token; the emulator's 429 (with Retry-After) is retried when asked, and handed
 * back otherwise (also by the undici interceptor, through the same policy).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import axios, { AxiosError } from "axios";
import { Agent, request } from "undici";
import { attachGenesysAuth } from "../../lambda/client/axios.ts";
import { bearerAuth, type LambdaInvoker, TokenProvider } from "../../lambda/client/index.ts";
import type { OrganizationSummary } from "../../lambda/examples/axios-consumer.ts";
import type { RotationEvent } from "../../local/aws/secrets-manager/index.ts";
import { axiosConsumerCall } from "../../local/drill/consumer-kinds/axios.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  LOCAL_AWS,
  startVendingStack,
  VENDING_CREDENTIALS,
  type VendingFleet,
  type VendingStack,
} from "../support/vending-stack.ts";
import { type ApiStandIn, startApiStandIn } from "./harness.ts";

/** A Lambda client that records the `rejectedToken` of every vend it sends. */
function recordingInvoker(client: LambdaClient): LambdaInvoker & { reports: string[]; vends: number } {
  const recorder = {
    reports: [] as string[],
    vends: 0,
    send: (async (command: unknown, options?: unknown) => {
      if (command instanceof InvokeCommand) {
        recorder.vends += 1;
        const payload = JSON.parse(new TextDecoder().decode(command.input.Payload as Uint8Array)) as {
          rejectedToken?: string;
        };
        if (payload.rejectedToken !== undefined) recorder.reports.push(payload.rejectedToken);
      }
      return client.send(command as InvokeCommand, options as never);
    }) as LambdaInvoker["send"],
  };
  return recorder;
}

describe("axios consumer → vending Lambda → Genesys (emulators)", () => {
  let stack: VendingStack;
  let fleet: VendingFleet;
  let lambdaClient: LambdaClient;
  let elsewhere: ApiStandIn;

  before(async () => {
    // Tokens die when their client's secret is regenerated (the single-strategy rotation below).
    stack = await startVendingStack({ rotation: { tokensSurviveRegeneration: false } });
    elsewhere = await startApiStandIn();
    fleet = await stack.startFleet({ containers: 2 });
    lambdaClient = new LambdaClient({ ...LOCAL_AWS, endpoint: fleet.lambda.url, maxAttempts: 1 });
  });
  after(async () => {
    lambdaClient?.destroy();
    await elsewhere?.stop();
    await stack?.stop();
  });

  function provider(credential: string): TokenProvider & { invoker: ReturnType<typeof recordingInvoker> } {
    const invoker = recordingInvoker(lambdaClient);
    const tokens = new TokenProvider({
      functionName: `${fleet.name}:${credential}`,
      lambdaClient: invoker,
      // Not about the invoke timeout: a loaded machine may need more than 10 s for a vend.
      invokeTimeoutMs: 120_000,
    });
    return Object.assign(tokens, { invoker });
  }

  it("attaches the vended token on the API origin, and none elsewhere", async () => {
    const tokens = provider(VENDING_CREDENTIALS.app);
    const instance = axios.create();
    attachGenesysAuth(instance, { provider: tokens });
    const organisation = await instance.get("/api/v2/organizations/me");
    assert.equal(organisation.status, 200);
    assert.equal(typeof organisation.data.id, "string");
    await instance.get(`${elsewhere.url}/next-page`, { validateStatus: () => true });
    assert.equal(elsewhere.seen[0]?.authorization, undefined);
    const { accessToken } = await tokens.getToken();
    assertNoSecrets(JSON.stringify(organisation.config), { "access token": [accessToken] });
  });

  it("a revoked token: one report, one mint, the replay succeeds", async () => {
    const tokens = provider(VENDING_CREDENTIALS.app);
    const { accessToken } = await tokens.getToken();
    await stack.revokeToken(accessToken);
    const mintsBefore = stack.rotation.genesys.counters.mints();
    const instance = axios.create();
    attachGenesysAuth(instance, { provider: tokens });
    const response = await instance.get("/api/v2/organizations/me");
    assert.equal(response.status, 200);
    assert.deepEqual(tokens.invoker.reports, [accessToken]);
    assert.equal(stack.rotation.genesys.counters.mints() - mintsBefore, 1);
  });

  it("during a single-strategy rotation that kills every token, concurrent calls all succeed with one report", async () => {
    const tokens = provider(VENDING_CREDENTIALS.single);
    const dead = await tokens.getToken();
    const instance = axios.create();
    attachGenesysAuth(instance, { provider: tokens });
    const statuses: number[] = [];
    const handler = stack.rotation.createHandler();
    let burst: Promise<void> | undefined;
    stack.rotation.setRotationFunction(async (event: RotationEvent) => {
      const result = await handler(event);
      // createSecret has regenerated the secret: every token of the client is dead, AWSPENDING holds
      // the new secret, the rotation is not finished.
      if (event.Step === "createSecret" && burst === undefined) {
        burst = Promise.all(
          Array.from({ length: 10 }, () =>
            instance.get("/api/v2/organizations/me").then((response) => {
              statuses.push(response.status);
            }),
          ),
        ).then(() => undefined);
        await burst;
      }
      return result;
    });
    try {
      const outcome = await stack.rotation.rotate(stack.credentials[VENDING_CREDENTIALS.single] as string);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    } finally {
      stack.rotation.setRotationFunction(stack.rotation.createHandler());
    }
    assert.ok(burst, "the calls ran inside the rotation");
    assert.deepEqual(statuses, Array(10).fill(200), "every call succeeded");
    assert.deepEqual(tokens.invoker.reports, [dead.accessToken], "exactly one report, of the dead token");
    assert.notEqual((await tokens.getToken()).accessToken, dead.accessToken);
  });

  it("the API's 429 with Retry-After is retried when asked, and handed back otherwise", async () => {
    const genesys = stack.rotation.genesys;
    const tokens = provider(VENDING_CREDENTIALS.app);
    await tokens.getToken();
    const plain = axios.create();
    attachGenesysAuth(plain, { provider: tokens });
    genesys.faults.apiRateLimit.retryAfterSeconds = 2;
    genesys.faults.apiRateLimit.nextN = 1;
    const refused = await plain.get("/api/v2/organizations/me").then(
      () => assert.fail("expected a 429"),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof AxiosError);
    assert.equal(refused.response?.status, 429);
    assert.equal(refused.response?.headers["retry-after"], "2");

    const clock = new SteppingClock(Date.parse("2026-12-05T12:00:00.000Z"));
    const retrying = axios.create();
    attachGenesysAuth(retrying, { provider: tokens, retryRateLimited: { clock } });
    genesys.faults.apiRateLimit.nextN = 2;
    const response = await retrying.get("/api/v2/organizations/me");
    assert.equal(response.status, 200);
    assert.deepEqual(clock.sleeps, [2_000, 2_000]);

    // The undici interceptor, the same policy.
    const undiciClock = new SteppingClock(Date.parse("2026-12-05T12:00:00.000Z"));
    const agent = new Agent();
    try {
      genesys.faults.apiRateLimit.nextN = 2;
      const answer = await request(`${genesys.url}/api/v2/organizations/me`, {
        dispatcher: agent.compose(bearerAuth({ provider: tokens, retryRateLimited: { clock: undiciClock } })),
      });
      assert.equal(answer.statusCode, 200);
      await answer.body.dump();
      assert.deepEqual(undiciClock.sleeps, [2_000, 2_000]);
    } finally {
      await agent.close();
      genesys.faults.reset();
    }
  });

  it("the example axios consumer Lambda (lambda/examples/axios-consumer.ts) reads its organisation", async () => {
    await fleet.lambda.register("axios-consumer", {
      module: fileURLToPath(new URL("../../lambda/examples/axios-consumer.ts", import.meta.url)),
      environment: {
        // What TokenVendor.vendorFunctionNameFor gives: the alias of the credential this consumer is granted.
        TOKEN_VENDOR_FUNCTION_NAME: `${fleet.name}:${VENDING_CREDENTIALS.app}`,
        AWS_ENDPOINT_URL_LAMBDA: fleet.lambda.url,
        AWS_REGION: LOCAL_AWS.region,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      },
      // Cold starts are not under test; a loaded machine may need well over the default 10 s.
      initTimeoutMs: 120_000,
      timeoutMs: 120_000,
    });
    const summary = (await fleet.lambda.invoke("axios-consumer", {})) as OrganizationSummary;
    assert.equal(summary.status, 200);
    assert.ok(summary.organizationId.length > 0);
    assert.equal(fleet.lambda.counters("axios-consumer").errors, 0);
  });

  it("the drill's axios consumer call (local/drill/consumer-kinds/axios.ts) reads the organisation", async () => {
    const tokens = provider(VENDING_CREDENTIALS.app);
    assert.deepEqual(await axiosConsumerCall(tokens), { status: 200 });
  });
});
