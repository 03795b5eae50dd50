/**
 * The `--report` HTML page: self-contained (nothing fetched, nothing executed), every string escaped, and
 * the timeline shows what a reviewer looks for — calls/s against the target, failed calls, token mints,
 * rotation steps (with kills and retries), fault windows and active-client switches.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planFaults } from "../../local/drill/faults.ts";
import type { StepRecord, TimelineBucket } from "../../local/drill/metrics.ts";
import { describeFault, escapeHtml, renderHtmlReport } from "../../local/drill/report.ts";
import type { DrillResult, RotationOutcome } from "../../local/drill/result.ts";

const ROTATION_STARTS_MS = [11_250, 22_500, 33_750];

function timeline(seconds: number, perSecond = 200): TimelineBucket[] {
  return Array.from({ length: seconds + 1 }, (_, second) => ({
    second,
    // The last second is partial, as in a real drill.
    calls: second === seconds ? 12 : perSecond,
    failures: 0,
    mints: second % 10 === 1 ? 2 : 0,
    vendorInvocations: 1,
  }));
}

function rotation(index: number, overrides: Partial<RotationOutcome> = {}): RotationOutcome {
  const startMs = ROTATION_STARTS_MS[index] ?? 0;
  return {
    index,
    startMs,
    endMs: startMs + 900,
    outcome: "succeeded",
    attempts: 1,
    clientBefore: index % 2 ? "app-b" : "app-a",
    clientAfter: index % 2 ? "app-a" : "app-b",
    faultsActive: [],
    ...overrides,
  };
}

/** The four steps of one attempt, back to back from `startMs`. */
function attemptSteps(index: number, startMs: number, overrides: Partial<StepRecord>[] = []): StepRecord[] {
  return ["createSecret", "setSecret", "testSecret", "finishSecret"].map((step, i) => ({
    rotation: index,
    step,
    startMs: startMs + i * 200,
    endMs: startMs + i * 200 + 150,
    ok: true,
    ...overrides[i],
  }));
}

function drill(overrides: Partial<DrillResult> = {}): DrillResult {
  return {
    seed: 7,
    strategy: "alternating",
    consumers: 8,
    consumerKinds: ["fetch"],
    targetRate: 200,
    tokenLifetimeSeconds: 20,
    dynamoDbEngine: "dynalite",
    durationSeconds: 45,
    achievedRate: 199.9,
    rotationsRequested: 3,
    rotations: [rotation(0), rotation(1), rotation(2)],
    consumerCalls: 9000,
    consumerFailures: 0,
    failureKinds: {},
    skippedCalls: 0,
    tokenMints: 21,
    applicationTokenMints: 12,
    applicationSecretRegenerations: 3,
    vendorInvocations: 35,
    vendorErrors: 0,
    genesys: { api429: 0, serverErrors: 0, tokenRateLimited: 0, unauthorized: 0 },
    p50Ms: 0.7,
    p99Ms: 10,
    maxMs: 164.3,
    faults: [],
    activeClientHistory: [
      { atSeconds: 0, clientId: "a", label: "app-a" },
      { atSeconds: 12.2, clientId: "b", label: "app-b" },
      { atSeconds: 23.4, clientId: "a", label: "app-a" },
      { atSeconds: 34.7, clientId: "b", label: "app-b" },
    ],
    steps: ROTATION_STARTS_MS.flatMap((start, index) => attemptSteps(index, start)),
    timeline: timeline(45),
    interrupted: false,
    ...overrides,
  };
}

/** A drill under crash-rotation and token-rate-limit: rotation 1's first attempt was killed in setSecret. */
function crashedDrill(): DrillResult {
  const faults = planFaults({
    faults: ["crash-rotation", "token-rate-limit", "propagation-delay"],
    seed: 11,
    durationMs: 45_000,
    rotationStartsMs: ROTATION_STARTS_MS,
  });
  const steps = [
    { rotation: 0, step: "createSecret", startMs: 11_250, endMs: 11_400, ok: true },
    {
      rotation: 0,
      step: "setSecret",
      startMs: 11_500,
      endMs: 11_550,
      ok: false,
      errorName: "Sandbox.Crashed",
      crashed: true,
    },
    ...attemptSteps(0, 13_600),
    ...attemptSteps(1, 22_500),
    ...attemptSteps(2, 33_750),
  ];
  return drill({
    faults,
    steps,
    rotations: [
      rotation(0, { endMs: 14_500, attempts: 2, faultsActive: ["crash-rotation", "propagation-delay"] }),
      rotation(1),
      rotation(2),
    ],
  });
}

/** Attribute values and texts of every element of a kind, e.g. every `<title>` of the SVG. */
function contents(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}[^>]*>([^<]*)</${tag}>`, "g"))].map((m) => m[1] as string);
}

describe("drill report", () => {
  it("is one self-contained page: no script, no event handler, nothing fetched", () => {
    for (const result of [drill(), crashedDrill()]) {
      const html = renderHtmlReport(result);
      assert.match(html, /^<!doctype html>/);
      assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(|src=|href=|\son\w+=/i);
      // The SVG namespace is a name, not a fetch; no other URL may appear.
      assert.deepEqual(
        [...html.matchAll(/https?:\/\/[^"\s<]+/g)].map((m) => m[0]),
        ["http://www.w3.org/2000/svg", ...result.rotations.map(() => "http://www.w3.org/2000/svg")],
      );
      assert.doesNotMatch(html, /NaN|Infinity|undefined/);
    }
  });

  it("escapes every string that comes from the drill, in text and in attributes", () => {
    const hostile = `<img src=x onerror="alert(1)">'`;
    const html = renderHtmlReport(
      drill({
        consumerFailures: 1,
        failureKinds: { [hostile]: 1 },
        dynamoDbEngine: hostile,
        rotations: [
          rotation(0, {
            outcome: "failed",
            failedStep: hostile,
            cause: hostile,
            clientBefore: hostile,
            clientAfter: hostile,
            awsCurrentIntact: true,
            explained: false,
          }),
        ],
        activeClientHistory: [
          { atSeconds: 0, clientId: "a", label: "app-a" },
          { atSeconds: 12, clientId: hostile, label: hostile },
        ],
        steps: [
          {
            rotation: 0,
            step: "createSecret",
            startMs: 11_250,
            endMs: 11_400,
            ok: false,
            errorName: hostile,
          },
        ],
      }),
    );
    assert.doesNotMatch(html, /<img|onerror="/);
    assert.match(html, /&#60;img src=x onerror=&#34;alert\(1\)&#34;&#62;&#39;/);
  });

  it("escapeHtml covers the five characters that matter in content and quoted attributes", () => {
    assert.equal(escapeHtml(`a&b<c>"d"'e'`), "a&#38;b&#60;c&#62;&#34;d&#34;&#39;e&#39;");
  });

  it("the timeline has a calls/s axis, the target, rotations, client switches and the steps", () => {
    const html = renderHtmlReport(drill());
    assert.match(html, /<svg [^>]*aria-label="drill timeline"/);
    const texts = contents(html, "text");
    for (const label of [
      "consumer calls/s",
      "target 200/s",
      "0 s",
      "45 s",
      "R1 ✓",
      "R3 ✓",
      "→ app-b",
      "→ app-a",
    ]) {
      assert.ok(texts.includes(label), `timeline text "${label}" in ${JSON.stringify(texts)}`);
    }
    // y axis: gridlines labelled from 0 to at least the target.
    assert.ok(texts.includes("0") && texts.includes("200"), "y axis ticks 0 and 200");
    for (const lane of [
      "createSecret",
      "setSecret",
      "testSecret",
      "finishSecret",
      "failed calls",
      "token mints",
    ]) {
      assert.ok(texts.includes(lane), `lane ${lane}`);
    }
    assert.ok(texts.includes("total 0"), "the failures lane says there were none");
    const titles = contents(html, "title");
    assert.ok(
      titles.some((t) => t.startsWith("rotation 1 createSecret ok")),
      "step tooltips",
    );
    assert.ok(
      titles.some((t) => /^1–2 s: 2 token mints$/.test(t)),
      "mint tooltips",
    );
  });

  it("a killed step and the retry are visible in the rotation's own chart", () => {
    const html = renderHtmlReport(crashedDrill());
    assert.match(html, /aria-label="rotation 1 steps"/);
    const texts = contents(html, "text");
    assert.ok(texts.includes("✕"), "crash marker");
    assert.ok(texts.includes("attempt 2"), "the retry is marked");
    assert.ok(
      texts.some((t) =>
        /^Rotation 1: succeeded in 3\.3 s, 2 attempt\(s\), app-a → app-b · planned crash: \w+ after \d+ ms$/.test(
          t,
        ),
      ),
      JSON.stringify(texts.filter((t) => t.startsWith("Rotation 1"))),
    );
    assert.ok(texts.includes("150 ms"), "step durations");
    assert.ok(
      contents(html, "title").includes(
        "rotation 1 setSecret failed (Sandbox.Crashed), container killed, 50 ms at 11.5 s",
      ),
    );
    // The rotations table names the killed step.
    assert.match(html, /<td>setSecret killed<\/td>/);
  });

  it("fault lanes: windows as bars, crashes as markers; drill-wide faults do not shade the chart", () => {
    const result = crashedDrill();
    const html = renderHtmlReport(result);
    const texts = contents(html, "text");
    for (const name of ["token-rate-limit", "propagation-delay", "crash-rotation"])
      assert.ok(texts.includes(name));
    const titles = contents(html, "title");
    for (const fault of result.faults) assert.ok(titles.includes(describeFault(fault)), describeFault(fault));
    const shades = [...html.matchAll(/<rect [^>]*fill="#000" opacity="0.05"\/>/g)];
    const windowed = result.faults.filter((f) => f.fault === "token-rate-limit");
    assert.equal(
      shades.length,
      windowed.length,
      "one shade per token-rate-limit window, none for the others",
    );
    // The faults table explains each fault and whether it may fail a rotation.
    assert.match(
      html,
      /crash-rotation<\/td><td class="nowrap">rotation 1<\/td><td>step=\w+ afterMs=\d+<\/td>/,
    );
    assert.match(html, /Genesys throttles the token endpoint/);
  });

  it("a failed drill says why, at the top", () => {
    const html = renderHtmlReport(
      drill({
        consumerFailures: 3,
        failureKinds: { "HTTP 504": 3 },
        timeline: timeline(45).map((b) => (b.second === 20 ? { ...b, failures: 3 } : b)),
      }),
    );
    assert.match(html, /<title>Rotation drill — FAIL — seed 7<\/title>/);
    assert.match(
      html,
      /<div class="problems"><strong>Why it failed<\/strong><ul><li>3 consumer call\(s\) failed<\/li>/,
    );
    assert.match(html, /<div class="figure bad"><b>3<\/b><span>failed calls<\/span>/);
    assert.ok(contents(html, "title").includes("20–21 s: 3 failed calls"));
    assert.ok(contents(html, "text").includes("total 3, peak 3/s"));
  });

  it("renders an interrupted drill with no traffic and no rotation", () => {
    const html = renderHtmlReport(
      drill({
        interrupted: true,
        durationSeconds: 0,
        consumerCalls: 0,
        rotations: [],
        steps: [],
        timeline: [],
        activeClientHistory: [{ atSeconds: 0, clientId: "a", label: "app-a" }],
      }),
    );
    assert.match(html, /<span class="interrupted">INTERRUPTED<\/span>/);
    assert.doesNotMatch(html, /FAIL|Why it failed/);
    assert.match(html, /interrupted \(Ctrl-C\)/);
    assert.match(html, /<p>No rotation ran\.<\/p>/);
    assert.doesNotMatch(html, /NaN|Infinity/);
  });

  it("is deterministic", () => {
    assert.equal(renderHtmlReport(crashedDrill()), renderHtmlReport(crashedDrill()));
  });
});
