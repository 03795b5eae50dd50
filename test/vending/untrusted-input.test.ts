/**
 * A vendor that trusts nothing it reads (docs/vending.md, "Reported tokens" and "Untrusted cache items"):
 * a consumer's `rejectedToken` is checked with Genesys before it mints, a confirmed rejection is replaced
 * once fleet-wide, mints on reports that cannot be checked are capped fleet-wide, and forged or
 * corrupted L2 items are never served. Real wire protocols: the Genesys and Secrets Manager emulators,
 * DynamoDB Local, in-process containers sharing one table.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GENESYS_ENVIRONMENTS } from "../../lambda/shared/genesys/environments.ts";
import { type AccessToken, requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import type { VendingResponse } from "../../lambda/vending/handler.ts";
import type { TokenRequester } from "../../lambda/vending/mint.ts";
import { hashToken } from "../../lambda/vending/token-cache.ts";
import { FORGERY_KINDS, type ForgeryKind, forgedTokenItem } from "../../local/shared/forged-token-items.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import {
  type RecordingLog,
  useSharedVendingStack,
  VENDING_CREDENTIALS,
  type VendingContainer,
  type VendingStack,
} from "../support/vending-stack.ts";

const APP = VENDING_CREDENTIALS.app;
const PROBE_ROUTE = "HEAD /api/v2/tokens/me";

/** Tokens the tests forged: like real ones, they must never reach a log line. */
const forgedTokens: string[] = [];
let stack: VendingStack;
const shared = useSharedVendingStack(
  (started) => {
    stack = started;
  },
  { "forged token": forgedTokens },
);
const container = shared.container;

const tokenRequests = () => stack.rotation.genesys.counters.tokenRequests();
const probes = () => stack.rotation.genesys.counters.requests(PROBE_ROUTE);
const total = (containers: VendingContainer[], metric: Parameters<VendingContainer["metrics"]["get"]>[0]) =>
  containers.reduce((sum, c) => sum + c.metrics.get(metric), 0);

/** Makes every probe of a reported token fail (Genesys' API answers 503), so no report can be confirmed. */
function failProbes(): void {
  stack.rotation.genesys.faults.serverErrors = {
    ...stack.rotation.genesys.faults.serverErrors,
    nextN: 100,
    target: { method: "HEAD", pathPrefix: "/api/v2/tokens/me" },
  };
}

describe("reported tokens are checked with Genesys before they mint", () => {
  test("20 reports of the current, valid token → no token request; the token is served again", async () => {
    // Reports soon after a probe wait for the next one (probes are spaced): a stepping clock skips the waits.
    const clock = new SteppingClock(Date.now());
    const containers = [container({ clock }), container({ clock })];
    const first = await containers[0]!.token();
    const before = tokenRequests();
    let current: VendingResponse = first;
    // A buggy consumer: reports whatever it was given as rejected, 20 times.
    for (let i = 0; i < 20; i++) {
      current = await containers[i % 2]!.token({ rejectedToken: current.accessToken });
      assert.equal(current.accessToken, first.accessToken);
    }
    assert.equal(tokenRequests() - before, 0, "no mint for a report Genesys does not confirm");
    assert.equal(total(containers, "RejectionReportsUnconfirmed"), 20);
    // Each report is checked by a probe of its own, at most one per second and container.
    assert.ok(probes() >= 1 && probes() <= 20, `probes: ${probes()}`);
    assert.equal((await stack.readItem(APP))?.generation, 1);
  });

  test("a token that dies right after a probe found it valid: the next report is probed afresh, not dismissed", async () => {
    const clock = new SteppingClock(Date.now());
    const vendor = container({ clock });
    const first = await vendor.token();
    const before = { tokens: tokenRequests(), probes: probes() };
    // A buggy or hostile consumer reports the valid token: Genesys still accepts it, it is served again.
    assert.equal((await vendor.token({ rejectedToken: first.accessToken })).accessToken, first.accessToken);
    // Then the token really dies (as on a regeneration) and an honest consumer reports its 401 at once.
    await stack.revokeToken(first.accessToken);
    clock.advance(100);
    const answer = await vendor.token({ rejectedToken: first.accessToken });
    assert.notEqual(
      answer.accessToken,
      first.accessToken,
      "the honest report was answered with the dead token",
    );
    assert.equal(probes() - before.probes, 2, "the second report was probed, not answered from memory");
    assert.equal(tokenRequests() - before.tokens, 1);
    // The probe waited for the spacing (on the caller's clock), not for real time.
    assert.ok(
      clock.sleeps.some((ms) => ms > 0 && ms <= 1000),
      `sleeps: ${clock.sleeps.join(",")}`,
    );
  });

  test("a confirmed rejection is replaced once for everybody, also when the replacement dies within the interval", async () => {
    const containers = [container(), container()];
    const first = await containers[0]!.token();
    const before = tokenRequests();

    await stack.revokeToken(first.accessToken);
    const round1 = await Promise.all(
      containers.flatMap((c) => [1, 2, 3].map(() => c.token({ rejectedToken: first.accessToken }))),
    );
    assert.equal(tokenRequests() - before, 1, "one replacement for everybody");
    const second = round1[0]!;
    assert.notEqual(second.accessToken, first.accessToken);
    assert.ok(round1.every((answer) => answer.accessToken === second.accessToken));
    const item = await stack.readItem(APP);
    assert.equal(item?.generation, 2);
    assert.equal(item?.lastRejectionMintAt, undefined, "a confirmed rejection does not arm the cap");

    // The replacement dies too, well within the 30 s interval (a second revocation): Genesys confirms
    // it, so it is replaced — again once for everybody. Refusing would leave the fleet without a token.
    await stack.revokeToken(second.accessToken);
    const round2 = await Promise.all(
      containers.flatMap((c) => [1, 2].map(() => c.token({ rejectedToken: second.accessToken }))),
    );
    const third = round2[0]!;
    assert.ok(![first.accessToken, second.accessToken].includes(third.accessToken));
    assert.ok(round2.every((answer) => answer.accessToken === third.accessToken));
    assert.equal(tokenRequests() - before, 2);
    assert.equal(total(containers, "RejectionMintsCapped"), 0);
  });

  test("a probe that fails falls back to the cap: one mint, then TokenUnavailableError within the interval", async () => {
    const clock = new SteppingClock(Date.now());
    const vendor = container({ clock });
    const first = await vendor.token();
    const before = tokenRequests();
    stack.rotation.genesys.faults.serverErrors = {
      ...stack.rotation.genesys.faults.serverErrors,
      nextN: 100,
      target: { method: "HEAD", pathPrefix: "/api/v2/tokens/me" },
    };
    const second = await vendor.token({ rejectedToken: first.accessToken });
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(tokenRequests() - before, 1);
    await assert.rejects(container({ clock }).token({ rejectedToken: second.accessToken }), {
      name: "TokenUnavailableError",
    });
    assert.equal(tokenRequests() - before, 1);
    assert.ok(
      (vendor.log as RecordingLog).matching("Could not ask Genesys about a reported token").length >= 1,
    );
  });

  test("the interval is configurable (REJECTION_MINT_INTERVAL_SECONDS) and ends", async () => {
    const clock = new SteppingClock(Date.now());
    const environment = { REJECTION_MINT_INTERVAL_SECONDS: "5" };
    const [a, b] = [container({ clock, environment }), container({ clock, environment })];
    const first = await a.token();
    const before = tokenRequests();
    failProbes();
    const second = await a.token({ rejectedToken: first.accessToken });
    clock.advance(4_000);
    // The cap lives on the item: the other container is held to it as well.
    await assert.rejects(b.token({ rejectedToken: second.accessToken }), /less than 5 s ago/);
    assert.equal(tokenRequests() - before, 1);
    clock.advance(1_000);
    const third = await b.token({ rejectedToken: second.accessToken });
    assert.notEqual(third.accessToken, second.accessToken);
    assert.equal(tokenRequests() - before, 2);
  });

  test("an unverified report's mint does not hold back the replacement of a token Genesys then confirms dead", async () => {
    const clock = new SteppingClock(Date.now());
    const [a, b] = [container({ clock }), container({ clock })];
    const first = await a.token();
    const before = tokenRequests();
    // A report nobody can check (Genesys' API answers 5xx): one capped mint.
    failProbes();
    const second = await a.token({ rejectedToken: first.accessToken });
    assert.notEqual(second.accessToken, first.accessToken);
    assert.ok((await stack.readItem(APP))?.lastRejectionMintAt !== undefined);
    // Genesys recovers and, seconds later, really kills the replacement (a regeneration, a revocation).
    stack.rotation.genesys.faults.reset();
    clock.advance(2_000);
    await stack.revokeToken(second.accessToken);
    const third = await b.token({ rejectedToken: second.accessToken });
    assert.ok(![first.accessToken, second.accessToken].includes(third.accessToken));
    assert.equal(tokenRequests() - before, 2);
    assert.equal(total([a, b], "RejectionMintsCapped"), 0);
  });

  test("without DynamoDB a false report mints nothing either", async () => {
    const vendor = container({ clock: new SteppingClock(Date.now()), dynamoDbProbeIntervalMs: 60_000 });
    const first = await vendor.token();
    stack.dynamoDb.outage.begin("refuse");
    const before = tokenRequests();
    for (let i = 0; i < 5; i++) {
      assert.equal((await vendor.token({ rejectedToken: first.accessToken })).accessToken, first.accessToken);
    }
    assert.equal(tokenRequests(), before);
    assert.ok(vendor.metrics.get("DynamoDbDegraded") >= 1);
    assert.equal(vendor.metrics.get("RejectionReportsUnconfirmed"), 5);
  });

  test("without DynamoDB a confirmed rejection is replaced directly, also twice within the interval", async () => {
    const vendor = container({ clock: new SteppingClock(Date.now()), dynamoDbProbeIntervalMs: 60_000 });
    const first = await vendor.token();
    stack.dynamoDb.outage.begin("refuse");
    const before = tokenRequests();
    await stack.revokeToken(first.accessToken);
    const second = await vendor.token({ rejectedToken: first.accessToken });
    assert.notEqual(second.accessToken, first.accessToken);
    await stack.revokeToken(second.accessToken);
    const third = await vendor.token({ rejectedToken: second.accessToken });
    assert.ok(![first.accessToken, second.accessToken].includes(third.accessToken));
    assert.equal(tokenRequests() - before, 2);
    assert.ok(vendor.metrics.get("DynamoDbDegraded") >= 1);
    assert.equal(vendor.metrics.get("RejectionMintsCapped"), 0);
  });
});

describe("forged or corrupted cache items are never served", () => {
  const environment = "mypurecloud.ie";
  const otherEnvironment = GENESYS_ENVIRONMENTS.find((domain) => domain !== environment)!;

  /** Writes a forged item of `kind` over the app's entry (its token is recorded for the leak check). */
  async function plantForged(kind: ForgeryKind, generation: number, now: number): Promise<string> {
    const forged = forgedTokenItem(kind, {
      secretArn: stack.credentials[APP]!,
      environment,
      otherEnvironment,
      generation,
      now,
    });
    forgedTokens.push(forged.accessToken);
    await stack.writeRawItem(APP, forged.item);
    return forged.accessToken;
  }

  /** Mints a real token with `vendor` (so the container knows the secret), then forges the item over it. */
  async function forgeAfterMint(vendor: VendingContainer, kind: ForgeryKind): Promise<string> {
    const real = await vendor.token();
    assert.equal(real.environment, environment, "sanity: the stack's environment");
    vendor.runtime.deps.l1.clear();
    return plantForged(kind, (await stack.readItem(APP))!.generation, vendor.runtime.deps.clock.now());
  }

  for (const kind of FORGERY_KINDS) {
    test(`${kind}: not served, replaced by a fresh mint, counted`, async () => {
      const vendor = container();
      const forged = await forgeAfterMint(vendor, kind);
      const before = tokenRequests();
      const answer = await vendor.token();
      assert.notEqual(answer.accessToken, forged);
      assert.equal(answer.environment, environment);
      assert.ok(answer.expiresInSeconds <= 3600);
      assert.equal(tokenRequests() - before, 1, "one fresh mint replaced it");
      const item = await stack.readItem(APP);
      assert.equal(
        item?.token?.tokenHash,
        hashToken(answer.accessToken),
        "the item now holds the fresh token",
      );
      assert.ok(vendor.metrics.get("CacheItemRejected") >= 1);
      const refusals = (vendor.log as RecordingLog).matching("refused");
      assert.ok(refusals.length >= 1);
      // The log names the rule, never the value.
      assert.ok(refusals.every((line) => !line.includes(forged)));
      // Another container now gets the fresh token from L2.
      assert.equal((await container().token()).accessToken, answer.accessToken);
    });
  }

  test("a container that never minted reads the secret before serving a cached token: another region's token is refused", async () => {
    await container().token();
    const forged = forgedTokenItem("other-environment", {
      secretArn: stack.credentials[APP]!,
      environment,
      otherEnvironment,
      generation: (await stack.readItem(APP))!.generation,
      now: Date.now(),
    });
    forgedTokens.push(forged.accessToken);
    await stack.writeRawItem(APP, forged.item);
    const fresh = container();
    const answer = await fresh.token();
    assert.notEqual(answer.accessToken, forged.accessToken, "served a token of another Genesys region");
    assert.equal(answer.environment, environment);
    assert.equal(fresh.metrics.get("CacheItemRejected"), 1);
  });

  test("a fresh container (the secret not read yet) refuses what needs no secret to refuse", async () => {
    for (const kind of ["expires-in-2100", "unknown-environment", "hash-mismatch", "crlf-token"] as const) {
      const forged = await plantForged(kind, 7, Date.now());
      const vendor = container();
      const answer = await vendor.token();
      assert.notEqual(answer.accessToken, forged, kind);
      assert.equal(vendor.metrics.get("CacheItemRejected"), 1, kind);
      assert.equal((await stack.readItem(APP))?.generation, 8, kind);
      await stack.clearTable();
    }
  });

  test("a minted token is held to the same rules: a lifetime beyond 48 h is cut to 48 h, a malformed token is refused", async () => {
    let answer: ((token: AccessToken) => AccessToken) | undefined;
    const requestToken: TokenRequester = async (request, options) => {
      const token = await requestClientCredentialsToken(request, options);
      return answer === undefined ? token : answer(token);
    };
    const vendor = container({ requestToken });
    answer = (token) => ({
      ...token,
      expiresInSeconds: 2_300_000_000,
      expiresAt: token.expiresAt - token.expiresInSeconds * 1000 + 2_300_000_000_000,
    });
    const long = await vendor.token();
    assert.ok(long.expiresInSeconds <= 172_800, `expiresInSeconds ${long.expiresInSeconds}`);
    const item = (await stack.readItem(APP))!.token!;
    assert.equal(item.expiresAt - item.issuedAt, 172_800_000);
    // What was stored is served as is by another container (it passes the checks).
    const reader = container();
    assert.equal((await reader.token()).accessToken, long.accessToken);
    assert.equal(reader.metrics.get("CacheItemRejected"), 0);

    await stack.clearTable();
    const crlf = container({ requestToken });
    answer = (token) => ({ ...token, accessToken: `${token.accessToken}\r\nX-Injected: 1` });
    await assert.rejects(crlf.token(), (error: Error) => {
      assert.match(error.message, /GenesysProtocolError/);
      return true;
    });
    assert.equal((await stack.readItem(APP))?.token, undefined, "nothing stored");
  });

  test("a valid item is still served from L2", async () => {
    const writer = container();
    const minted = await writer.token();
    const reader = container();
    assert.equal((await reader.token()).accessToken, minted.accessToken);
    assert.equal(reader.metrics.get("L2Hits"), 1);
    assert.equal(reader.metrics.get("CacheItemRejected"), 0);

    // A hand-written item that follows every rule is served as well, without a mint.
    const valid = await plantForged("valid", 2, Date.now());
    const before = tokenRequests();
    const third = container();
    assert.equal((await third.token()).accessToken, valid);
    assert.equal(third.metrics.get("CacheItemRejected"), 0);
    assert.equal(tokenRequests(), before);
  });
});
