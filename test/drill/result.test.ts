import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { hashToken } from "../../lambda/vending/token-cache.ts";
import { VendedTokenLedger } from "../../local/drill/consumers.ts";
import { DRILL_REJECTION_MINT_INTERVAL_SECONDS, mintAllowance } from "../../local/drill/drill.ts";
import { planFaults } from "../../local/drill/faults.ts";
import { DrillMetrics } from "../../local/drill/metrics.ts";
import { formatProgressLine } from "../../local/drill/progress.ts";
import { renderHtmlReport } from "../../local/drill/report.ts";
import {
  type DrillResult,
  drillExitCode,
  drillProblems,
  drillVerdict,
  type ForgedCacheOutcome,
  formatSummary,
  type HostileConsumerOutcome,
  type RotationOutcome,
  toJsonSummary,
} from "../../local/drill/result.ts";

function rotation(index: number, overrides: Partial<RotationOutcome> = {}): RotationOutcome {
  return {
    index,
    startMs: 10_000 * (index + 1),
    endMs: 10_000 * (index + 1) + 1500,
    outcome: "succeeded",
    attempts: 1,
    clientBefore: index % 2 ? "app-b" : "app-a",
    clientAfter: index % 2 ? "app-a" : "app-b",
    faultsActive: [],
    ...overrides,
  };
}

function result(overrides: Partial<DrillResult> = {}): DrillResult {
  return {
    seed: 5,
    strategy: "alternating",
    consumers: 4,
    consumerKinds: ["fetch"],
    targetRate: 200,
    tokenLifetimeSeconds: 20,
    dynamoDbEngine: "dynalite",
    durationSeconds: 45,
    achievedRate: 199.6,
    rotationsRequested: 3,
    rotations: [rotation(0), rotation(1), rotation(2)],
    consumerCalls: 8982,
    consumerFailures: 0,
    failureKinds: {},
    skippedCalls: 0,
    tokenMints: 9,
    applicationTokenMints: 5,
    applicationSecretRegenerations: 3,
    vendorInvocations: 40,
    vendorErrors: 0,
    genesys: { api429: 0, serverErrors: 0, tokenRateLimited: 0, unauthorized: 0 },
    p50Ms: 1.2,
    p99Ms: 8.9,
    maxMs: 40,
    faults: [],
    activeClientHistory: [
      { atSeconds: 0, clientId: "a", label: "app-a" },
      { atSeconds: 11.5, clientId: "b", label: "app-b" },
    ],
    steps: [{ rotation: 0, step: "createSecret", startMs: 10_000, endMs: 10_400, ok: true }],
    timeline: [
      { second: 0, calls: 190, failures: 0, mints: 2, vendorInvocations: 8 },
      { second: 1, calls: 201, failures: 1, mints: 0, vendorInvocations: 0 },
    ],
    interrupted: false,
    ...overrides,
  };
}

describe("drill verdict", () => {
  it("passes with zero consumer failures and every rotation succeeded", () => {
    assert.deepEqual(drillProblems(result()), []);
    assert.equal(drillExitCode(result()), 0);
  });

  it("fails on a single consumer failure", () => {
    const r = result({ consumerFailures: 1, failureKinds: { "HTTP 401": 1 } });
    assert.equal(drillExitCode(r), 1);
    assert.match(drillProblems(r).join("\n"), /1 consumer call\(s\) failed/);
  });

  it("accepts a rotation failure only when explained and safe", () => {
    const explained = rotation(1, {
      outcome: "failed",
      failedStep: "testSecret",
      cause: "GenesysTokenRateLimitError",
      awsCurrentIntact: true,
      faultsActive: ["token-rate-limit"],
      explained: true,
    });
    assert.equal(drillExitCode(result({ rotations: [rotation(0), explained, rotation(2)] })), 0);

    const unexplained = { ...explained, faultsActive: ["crash-rotation" as const], explained: false };
    const r = result({ rotations: [rotation(0), unexplained, rotation(2)] });
    assert.equal(drillExitCode(r), 1);
    assert.match(
      drillProblems(r).join("\n"),
      /rotation 2 failed at testSecret .* no active fault explains it/,
    );
  });

  it("fails when fewer rotations ran than requested", () => {
    const r = result({ rotations: [rotation(0)] });
    assert.equal(drillExitCode(r), 1);
    assert.match(drillProblems(r).join("\n"), /only 1 of 3 rotations ran/);
  });

  it("an interrupted drill is INTERRUPTED (exit 130), not a failure over rotations it never reached", () => {
    const r = result({ interrupted: true, rotations: [rotation(0)], durationSeconds: 12.34 });
    assert.equal(drillVerdict(r), "INTERRUPTED");
    assert.equal(drillExitCode(r), 130);
    assert.deepEqual(drillProblems(r), []);
    const json = toJsonSummary(r);
    assert.equal(json.ok, false);
    assert.equal(json.interrupted, true);
    const text = formatSummary(r);
    assert.match(
      text,
      /\nINTERRUPTED after 12\.3 s of traffic, 1 of 3 rotation\(s\) run\.\nThe figures above cover only/,
    );
    assert.doesNotMatch(text, /rotations ran|PASS|FAIL/);

    // What it did find before the interruption is still reported.
    const failed = formatSummary({ ...r, consumerFailures: 2 });
    assert.match(
      failed,
      /only that part of the drill\.\nFound before the interruption:\n {2}- 2 consumer call\(s\) failed/,
    );
    assert.equal(drillExitCode({ ...r, consumerFailures: 2 }), 130);

    const early = { ...r, durationSeconds: 0, rotations: [], consumerCalls: 0 };
    assert.equal(
      formatSummary(early),
      "\nINTERRUPTED before traffic started (seed 5): nothing was measured.\n",
    );
    assert.match(renderHtmlReport(r), /<h1>Rotation drill — <span class="interrupted">INTERRUPTED<\/span>/);
  });

  it("--json carries the fields the issue requires", () => {
    const json = toJsonSummary(
      result({
        faults: planFaults({ faults: ["api-429"], seed: 1, durationMs: 45_000, rotationStartsMs: [20_000] }),
      }),
    );
    for (const key of [
      "rotations",
      "rotationsSucceeded",
      "consumerCalls",
      "consumerFailures",
      "tokenMints",
      "vendorInvocations",
      "p50Ms",
      "p99Ms",
      "faults",
      "activeClientHistory",
      "achievedRate",
      "durationSeconds",
      "rotationFailuresExplained",
    ]) {
      assert.ok(key in json, key);
    }
    assert.equal(json.rotations, 3);
    assert.equal(json.rotationsSucceeded, 3);
    assert.deepEqual(json.faults, ["api-429"]);
    assert.equal(JSON.parse(JSON.stringify(json)).ok, true);
  });

  it("--json: whole milliseconds in the rotation details, client ids and labels in the history", () => {
    const json = toJsonSummary(
      result({ rotations: [rotation(0, { startMs: 10_000.4321, endMs: 11_499.5 })] }),
    );
    assert.deepEqual(
      (json.rotationDetails as RotationOutcome[]).map((r) => [r.startMs, r.endMs]),
      [[10_000, 11_500]],
    );
    assert.deepEqual(json.activeClientHistory, result().activeClientHistory);
  });

  it("the summary names the verdict and the rotations, with one decimal on every figure", () => {
    const text = formatSummary(result({ p50Ms: 0.74, p99Ms: 10, maxMs: 164.25, achievedRate: 200 }));
    assert.match(text, /PASS/);
    assert.match(text, /rate \(target \/ achieved\)\s+200 \/ 200\.0 calls\/s/);
    assert.match(text, /latency p50 \/ p99 \/ max\s+0\.7 \/ 10\.0 \/ 164\.3 ms/);
    assert.match(text, /duration\s+45\.0 s/);
    assert.match(text, /active client\s+app-a@0\.0s → app-b@11\.5s/);
    assert.match(text, /#1 succeeded 1\.5 s, 1 attempt\(s\)/);
    assert.match(text, /#1 succeeded .* app-a → app-b/);
    assert.match(formatSummary(result({ consumerFailures: 2 })), /FAIL\n {2}- 2 consumer call/);
  });
});

describe("drill report", () => {
  it("is one self-contained page: no script, no external reference", () => {
    const html = renderHtmlReport(
      result({
        faults: planFaults({
          faults: ["genesys-5xx", "crash-rotation"],
          seed: 3,
          durationMs: 45_000,
          rotationStartsMs: [10_000],
        }),
      }),
    );
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<svg [^>]*viewBox/);
    assert.doesNotMatch(html, /<script|<link|@import|url\(|src=|href=/i);
    assert.match(html, /genesys-5xx/);
    assert.match(html, /rotation 1 createSecret ok/);
  });

  it("escapes every interpolated string", () => {
    const html = renderHtmlReport(result({ failureKinds: { "<img onerror=x>": 1 }, consumerFailures: 1 }));
    assert.doesNotMatch(html, /<img/);
    assert.match(html, /&#60;img onerror=x&#62;/);
  });
});

describe("drill metrics", () => {
  it("folds calls, failures and counter samples into per-second buckets", () => {
    const metrics = new DrillMetrics();
    metrics.sample(0, { mints: 10, vendorInvocations: 100 });
    metrics.recordCall(200, 5);
    metrics.recordCall(900, 7, "HTTP 503");
    metrics.recordCall(1500, 9);
    metrics.sample(1600, { mints: 12, vendorInvocations: 104 });
    assert.deepEqual(metrics.timeline(2), [
      { second: 0, calls: 2, failures: 1, mints: 0, vendorInvocations: 0 },
      { second: 1, calls: 1, failures: 0, mints: 2, vendorInvocations: 4 },
      { second: 2, calls: 0, failures: 0, mints: 0, vendorInvocations: 0 },
    ]);
    assert.deepEqual(metrics.failureKinds, { "HTTP 503": 1 });
    assert.equal(metrics.percentile(0.5), 7);
    assert.equal(metrics.percentile(1), 9);
    assert.equal(metrics.recentCalls(2000, 2), 3);
  });

  it("the progress line shows elapsed time, rate, counters and active faults", () => {
    const line = formatProgressLine({
      elapsedMs: 22_500,
      plannedMs: 45_000,
      callsPerSecond: 201.4,
      calls: 4321,
      failures: 0,
      rotationsDone: 1,
      rotationsRequested: 3,
      rotationState: "#2 testSecret",
      mints: 4,
      activeFaults: ["api-429"],
    });
    assert.match(
      line,
      /^\[#{12}\.{12}\] 22\/45 s {2}201 calls\/s {2}calls 4321 {2}failures 0 {2}rotations 1\/3 \(#2 testSecret\)/,
    );
    assert.match(line, /faults: api-429$/);
  });
});

describe("drill verdict with hostile-consumer and forged-cache", () => {
  function hostile(overrides: Partial<HostileConsumerOutcome> = {}): HostileConsumerOutcome {
    return {
      reportsPerSecond: 20,
      falseReports: 880,
      reportsServedAgain: 860,
      reportsAnsweredWithNewToken: 12,
      reportsRefused: { TokenUnavailableError: 8 },
      reportsUnanswered: 0,
      ungranted: {
        requests: 90,
        byKind: { "other-credential": 30, unqualified: 30, warm: 30 },
        refused: 90,
        answered: 0,
        refusedOtherwise: {},
        unanswered: 0,
      },
      mintAllowance: mintAllowance({
        trafficSeconds: 45,
        tokenLifetimeSeconds: 20,
        vendorContainers: 2,
        rotationSteps: 12,
        forgeriesWritten: 7,
        outageWindows: 0,
      }),
      ...overrides,
    };
  }
  const forged = (overrides: Partial<ForgedCacheOutcome> = {}): ForgedCacheOutcome => ({
    planned: 7,
    written: 7,
    failed: 0,
    served: 0,
    vendedTokensChecked: 950,
    ...overrides,
  });

  it("passes when no forgery was served, every ungranted request was refused and grants stay within the allowance", () => {
    const r = result({ hostileConsumer: hostile(), forgedCache: forged() });
    assert.deepEqual(drillProblems(r), []);
    assert.equal(drillExitCode(r), 0);
    const text = formatSummary(r);
    assert.match(text, /false reports \(again \/ new \/ refused\)\s+880 \(860 \/ 12 \/ 8\)/);
    assert.match(text, /app token grants \/ allowance\s+5 \/ 59 \(cap 20, interval 5 s\)/);
    assert.match(text, /ungranted requests \(refused \/ answered\)\s+90 \(90 \/ 0\)/);
    assert.match(text, /forged items written \/ served\s+7 of 7 \/ 0 of 950 vends/);
    const json = toJsonSummary(r);
    assert.equal((json.hostileConsumer as HostileConsumerOutcome).falseReports, 880);
    assert.equal((json.forgedCache as ForgedCacheOutcome).served, 0);
  });

  it("fails when a forged token was served", () => {
    const r = result({ forgedCache: forged({ served: 1 }) });
    assert.equal(drillExitCode(r), 1);
    assert.deepEqual(drillProblems(r), ["1 vend answer(s) carried a forged token from the token table"]);
    assert.match(formatSummary(r), /FAIL\n {2}- 1 vend answer\(s\) carried a forged token/);
    assert.match(renderHtmlReport(r), /class="figure bad"><b>1<\/b><span>forged tokens served/);
  });

  it("fails when a request for another credential (or unqualified, or warm) was answered", () => {
    const r = result({
      hostileConsumer: hostile({ ungranted: { ...hostile().ungranted, refused: 89, answered: 1 } }),
    });
    assert.equal(drillExitCode(r), 1);
    assert.deepEqual(drillProblems(r), [
      "1 of 90 request(s) the invoked alias does not grant were answered instead of refused",
    ]);
  });

  it("fails when an ungranted request was refused for another reason than the grant", () => {
    const r = result({
      hostileConsumer: hostile({
        ungranted: { ...hostile().ungranted, refused: 88, refusedOtherwise: { TokenUnavailableError: 2 } },
      }),
    });
    assert.equal(drillExitCode(r), 1);
    assert.match(
      drillProblems(r).join("\n"),
      /2 request\(s\) .* refused with another error than CredentialNotGrantedError \(TokenUnavailableError: 2\)/,
    );
  });

  it("fails when the application's token grants exceed the allowance (false reports not capped)", () => {
    const allowance = hostile().mintAllowance.total;
    assert.equal(drillExitCode(result({ hostileConsumer: hostile(), applicationTokenMints: allowance })), 0);
    const r = result({ hostileConsumer: hostile(), applicationTokenMints: allowance + 1 });
    assert.equal(drillExitCode(r), 1);
    assert.deepEqual(drillProblems(r), [
      `${allowance + 1} application token grants exceed the allowance of ${allowance}: false reports were not capped`,
    ]);
  });

  it("the allowance: every legitimate reason to mint, and the cap per vendor container", () => {
    const allowance = mintAllowance({
      trafficSeconds: 12.3,
      tokenLifetimeSeconds: 20,
      vendorContainers: 2,
      rotationSteps: 4,
      forgeriesWritten: 7,
      outageWindows: 2,
    });
    assert.deepEqual(allowance, {
      // ceil(12.3 / 15) + 1 = 2 per container
      refreshes: 4,
      rotations: 8,
      forgeries: 7,
      outages: 4,
      // ceil(12.3 / 5) + 1 = 4 per container
      rejectionCap: 8,
      total: 31,
      rejectionMintIntervalSeconds: DRILL_REJECTION_MINT_INTERVAL_SECONDS,
    });
  });
});

describe("vended token ledger", () => {
  const encode = (body: unknown) => new TextEncoder().encode(JSON.stringify(body));

  it("records the token of every successful answer, below the consumer library, and nothing else", async () => {
    const answers = [
      { Payload: encode({ accessToken: "forged\r\nX-Injected: 1", tokenType: "Bearer" }) },
      { Payload: encode({ accessToken: "real-token", tokenType: "Bearer" }) },
      { Payload: encode({ accessToken: "real-token", tokenType: "Bearer" }) },
      { FunctionError: "Unhandled", Payload: encode({ errorType: "CredentialNotGrantedError" }) },
      { Payload: encode({ warmed: true, credential: "app" }) },
      { Payload: new TextEncoder().encode("not json") },
    ];
    const ledger = new VendedTokenLedger();
    const client = ledger.watch({ send: (async () => answers.shift()) as never });
    for (let i = 0; i < 6; i++) await client.send(new InvokeCommand({ FunctionName: "vendor" }));
    assert.equal(ledger.answers, 3);
    assert.equal(ledger.timesServed([hashToken("forged\r\nX-Injected: 1")]), 1);
    assert.equal(ledger.timesServed([hashToken("real-token"), hashToken("never-served")]), 2);
    assert.equal(ledger.timesServed([]), 0);
  });
  it("fails a drill whose notification listeners lost or repeated an event", () => {
    const notifications = {
      listeners: 2,
      eventsPushed: 300,
      eventsLost: 0,
      duplicates: 0,
      unreportedLosses: 0,
      gapsReported: 0,
      switchovers: 4,
      channelsCreated: 6,
      failures: [],
    };
    assert.deepEqual(drillProblems(result({ notifications })), []);
    assert.match(
      drillProblems(result({ notifications: { ...notifications, eventsLost: 3 } })).join("\n"),
      /3 notification event\(s\) lost/,
    );
    assert.match(
      drillProblems(result({ notifications: { ...notifications, duplicates: 1 } })).join("\n"),
      /delivered twice/,
    );
    assert.match(
      drillProblems(
        result({ notifications: { ...notifications, failures: ["NotificationChannelError"] } }),
      ).join("\n"),
      /listener\(s\) failed/,
    );
  });
});
