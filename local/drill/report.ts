/**
 * `--report FILE.html`: one self-contained page (inline CSS and SVG, no script, no external asset) that a
 * team can attach to a review: the verdict and key figures, a timeline (consumer calls per second against
 * the target, failed calls, token mints, rotation steps, fault windows, active-client switches), one
 * zoomed step chart per rotation (rotations last about a second, invisible at the scale of the drill),
 * the rotations and faults as tables, and the summary exactly as `npm start` printed it.
 *
 * Every interpolated string goes through {@link escapeHtml} (element content and attribute values alike);
 * a DrillResult carries client ids, labels, counts and error names only — nothing secret.
 */
import { DRILL_WIDE_FAULTS, FAULT_NAMES, FAULTS, type FaultName, type ScheduledFault } from "./faults.ts";
import type { StepRecord, TimelineBucket } from "./metrics.ts";
import {
  type DrillResult,
  drillProblems,
  drillVerdict,
  formatSummary,
  type RotationOutcome,
  toJsonSummary,
} from "./result.ts";

/** Width of every chart, in CSS pixels (the page is laid out for it). */
const WIDTH = 1100;
/** Left column of every chart: lane and axis labels. */
const PLOT_LEFT = 180;
const PLOT_RIGHT = WIDTH - 24;
const PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT;
const LANE = 20;
const STEP_NAMES = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;

const COLOURS = {
  calls: "#1f5fa8",
  target: "#666",
  failures: "#c62828",
  mints: "#2e7d32",
  rotation: "#f2c12e",
  faultShade: "#000",
  stepOk: "#546e7a",
  stepFailed: "#c62828",
  grid: "#e3e3e3",
  axis: "#888",
} as const;

/** One colour per fault, fixed by the catalogue order so a fault looks the same in every report. */
const FAULT_COLOURS: Readonly<Record<FaultName, string>> = {
  "token-rate-limit": "#e69f00",
  "api-429": "#cc79a7",
  "genesys-5xx": "#8c564b",
  "propagation-delay": "#56b4e9",
  "dynamodb-outage": "#6a3d9a",
  "crash-rotation": "#222",
  "tokens-die-on-regeneration": "#009e73",
  "hostile-consumer": "#d62728",
  "forged-cache": "#bcbd22",
};

/** Renders the report page. Pure: the same result always gives the same page. */
export function renderHtmlReport(result: DrillResult): string {
  const problems = drillProblems(result);
  const verdict = drillVerdict(result);
  const faultNames = usedFaults(result);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Rotation drill — ${verdict} — seed ${result.seed}</title>
<style>${STYLE}</style></head><body>
<h1>Rotation drill — <span class="${verdict.toLowerCase()}">${verdict}</span></h1>
<p class="meta">${escapeHtml(describeRun(result, faultNames))}</p>
${figures(result)}
${problems.length > 0 ? `<div class="problems"><strong>${result.interrupted ? "Found before the interruption" : "Why it failed"}</strong><ul>${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join("")}</ul></div>` : ""}
<h2>Timeline</h2>
${timelineLegend(result)}
${timelineSvg(result, faultNames)}
<h2>Rotations</h2>
${rotationsTable(result)}
${result.rotations.map((rotation) => rotationSvg(result, rotation)).join("\n")}
<h2>Faults</h2>
${faultsTable(result)}
<h2>Summary <small>(as printed by <code>npm start</code>)</small></h2>
<pre>${escapeHtml(formatSummary(result).trim())}</pre>
</body></html>
`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;padding:0 20px;color:#222;max-width:${WIDTH}px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h2 small{font-weight:normal;color:#666;font-size:13px}
.pass{color:#1e7d32}.fail{color:#b71c1c}.interrupted{color:#b26a00}.meta{color:#555;margin:0 0 14px}
.figures{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 14px}
.figure{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.figure b{display:block;font-size:20px}.figure span{color:#555;font-size:12px}
.figure.bad{border-color:#e57373;background:#fdecea}
.problems{border:1px solid #e57373;background:#fdecea;border-radius:6px;padding:8px 14px}
.problems ul{margin:4px 0 0;padding-left:20px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#333;margin:0 0 6px}
.sw{display:inline-block;width:14px;height:10px;vertical-align:middle;margin-right:5px;border-radius:2px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:0 0 12px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f4f4f4;font-weight:600}.nowrap{white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1e7d32;font-weight:600}.bad{color:#b71c1c;font-weight:600}
pre{background:#f6f6f6;padding:12px;font-size:12px;white-space:pre-wrap;border-radius:6px}
svg{display:block;margin:0 0 10px}svg text{font:11px system-ui,sans-serif;fill:#333}
svg text.title{font-weight:600;font-size:12px}svg text.small{font-size:10px;fill:#555}
`;

// ---------------------------------------------------------------------------------------------------------
// Header

function describeRun(result: DrillResult, faultNames: readonly FaultName[]): string {
  return [
    `strategy ${result.strategy}`,
    `${result.consumers} consumers at ${result.targetRate} calls/s`,
    `${round(result.durationSeconds, 1)} s of traffic`,
    `${result.tokenLifetimeSeconds} s tokens`,
    `DynamoDB: ${result.dynamoDbEngine}`,
    `faults: ${faultNames.join(", ") || "none"}`,
    `seed ${result.seed}`,
    ...(result.interrupted ? ["interrupted (Ctrl-C)"] : []),
  ].join(" · ");
}

function figures(result: DrillResult): string {
  const json = toJsonSummary(result);
  const succeeded = json.rotationsSucceeded as number;
  const cards: { value: string; label: string; bad?: boolean }[] = [
    { value: thousands(result.consumerCalls), label: "consumer calls" },
    { value: thousands(result.consumerFailures), label: "failed calls", bad: result.consumerFailures > 0 },
    {
      value: `${succeeded} / ${result.rotationsRequested}`,
      label: "rotations succeeded",
      bad:
        (json.rotationFailuresUnexplained as number) > 0 ||
        (!result.interrupted && result.rotations.length < result.rotationsRequested),
    },
    { value: `${round(result.achievedRate, 1)}/s`, label: `achieved (target ${result.targetRate}/s)` },
    { value: `${round(result.p99Ms, 1)} ms`, label: `p99 latency (p50 ${round(result.p50Ms, 1)} ms)` },
    { value: `${result.applicationTokenMints}`, label: `app token mints (${result.tokenMints} in all)` },
  ];
  const hostile = result.hostileConsumer;
  if (hostile !== undefined) {
    cards.push(
      {
        value: `${result.applicationTokenMints} / ${hostile.mintAllowance.total}`,
        label: `app grants / allowance (${thousands(hostile.falseReports)} false reports)`,
        bad: result.applicationTokenMints > hostile.mintAllowance.total,
      },
      {
        value: `${hostile.ungranted.refused} / ${hostile.ungranted.requests}`,
        label: "ungranted requests refused",
        bad: hostile.ungranted.refused < hostile.ungranted.requests - hostile.ungranted.unanswered,
      },
    );
  }
  const forged = result.forgedCache;
  if (forged !== undefined) {
    cards.push({
      value: `${forged.served}`,
      label: `forged tokens served (${forged.written} forged items)`,
      bad: forged.served > 0,
    });
  }
  return `<div class="figures">${cards
    .map(
      (c) =>
        `<div class="figure${c.bad ? " bad" : ""}"><b>${escapeHtml(c.value)}</b><span>${escapeHtml(c.label)}</span></div>`,
    )
    .join("")}</div>`;
}

function timelineLegend(result: DrillResult): string {
  const hasWindows = result.faults.some(isWindow);
  const item = (colour: string, label: string, extra = "") =>
    `<span><i class="sw" style="background:${colour}${extra}"></i>${escapeHtml(label)}</span>`;
  return `<div class="legend">${[
    item(COLOURS.calls, "consumer calls/s"),
    item("transparent", "target rate", `;border-top:2px dashed ${COLOURS.target};height:0`),
    item(COLOURS.failures, "failed calls"),
    item(COLOURS.mints, "token mints"),
    item(COLOURS.rotation, "rotation running", ";opacity:0.5"),
    item("transparent", "active client switch", ";border-left:2px dashed #000;width:0;height:12px"),
    item(COLOURS.stepOk, "step ok"),
    item(COLOURS.stepFailed, "step failed"),
    item(COLOURS.stepFailed, "container killed (✕)", ";outline:1px solid #000"),
    ...(hasWindows ? [item(COLOURS.faultShade, "a fault window is open", ";opacity:0.12")] : []),
  ].join("")}</div>`;
}

// ---------------------------------------------------------------------------------------------------------
// The timeline: the whole drill, one x axis for every lane.

function timelineSvg(result: DrillResult, faultNames: readonly FaultName[]): string {
  const domainMs = Math.max(
    1000,
    result.durationSeconds * 1000,
    ...result.rotations.map((r) => r.endMs),
    ...result.steps.map((s) => s.endMs),
  );
  const x = (ms: number) => PLOT_LEFT + (Math.min(domainMs, Math.max(0, ms)) / domainMs) * PLOT_WIDTH;
  const seconds = domainMs / 1000;
  const tickSeconds = niceStep(seconds / 12, [1, 2, 5, 10, 15, 30, 60, 120, 300, 600]);

  const callsTop = 34;
  const callsHeight = 190;
  const failuresTop = callsTop + callsHeight + 30;
  const mintsTop = failuresTop + 44;
  const stepsTop = mintsTop + 58;
  const faultsTop = stepsTop + STEP_NAMES.length * LANE + 14;
  const bottom = faultsTop + faultNames.length * LANE;
  const height = bottom + 26;
  const parts: string[] = [];

  // Vertical grid and time axis, under everything else.
  for (let s = 0; s <= seconds + 1e-9; s += tickSeconds) {
    parts.push(line(x(s * 1000), callsTop, x(s * 1000), bottom, COLOURS.grid));
    parts.push(text(x(s * 1000), callsTop + callsHeight + 14, `${s} s`, { anchor: "middle" }));
    parts.push(text(x(s * 1000), bottom + 16, `${s} s`, { anchor: "middle" }));
  }
  parts.push(text(4, bottom + 16, "since traffic start", { className: "small" }));

  // Rotations: a band over every lane while a rotation runs, labelled above the chart.
  for (const rotation of result.rotations) {
    const start = x(rotation.startMs);
    const width = Math.max(4, x(rotation.endMs) - start);
    parts.push(
      rect(start, callsTop, width, bottom - callsTop, COLOURS.rotation, {
        opacity: 0.35,
        title: `rotation ${rotation.index + 1} ${rotation.outcome} in ${seconds1(rotation.endMs - rotation.startMs)} s`,
      }),
      text(start + width / 2, callsTop - 20, `R${rotation.index + 1} ${outcomeMark(rotation)}`, {
        anchor: "middle",
        className: "title",
      }),
    );
  }

  // Windowed faults shade the calls chart, so a dip can be read against its cause (the lanes below say
  // which fault). Drill-wide faults would shade everything, so they only get their lane.
  for (const fault of result.faults) {
    if (!isWindow(fault)) continue;
    parts.push(
      rect(x(fault.startMs), callsTop, x(fault.endMs) - x(fault.startMs), callsHeight, COLOURS.faultShade, {
        opacity: 0.05,
      }),
    );
  }

  parts.push(callsChart(result, x, domainMs, callsTop, callsHeight));
  parts.push(
    barLane(result.timeline, "failures", "failed calls", failuresTop, COLOURS.failures, x, {
      empty: "none",
    }),
  );
  parts.push(barLane(result.timeline, "mints", "token mints", mintsTop, COLOURS.mints, x, { empty: "none" }));

  // Active-client switches: the moment AWSCURRENT named the other client.
  for (const change of result.activeClientHistory.slice(1)) {
    const at = x(change.atSeconds * 1000);
    parts.push(
      `<line x1="${at}" y1="${callsTop}" x2="${at}" y2="${stepsTop + STEP_NAMES.length * LANE}" stroke="#000" stroke-dasharray="4 3"/>`,
      text(at + 3, callsTop - 6, `→ ${change.label}`, { className: "small" }),
    );
  }

  STEP_NAMES.forEach((step, lane) => {
    const top = stepsTop + lane * LANE;
    parts.push(text(PLOT_LEFT - 8, top + 13, step, { anchor: "end" }));
    for (const record of result.steps.filter((r) => r.step === step)) {
      parts.push(stepBar(record, x, top));
    }
  });
  parts.push(text(4, stepsTop - 4, "rotation steps", { className: "title" }));

  if (faultNames.length > 0) parts.push(text(4, faultsTop - 4, "faults", { className: "title" }));
  faultNames.forEach((name, lane) => {
    const top = faultsTop + lane * LANE;
    parts.push(text(PLOT_LEFT - 8, top + 13, name, { anchor: "end" }));
    for (const fault of result.faults.filter((f) => f.fault === name)) parts.push(faultMark(fault, x, top));
  });

  return svg(height, "drill timeline", parts);
}

/** Calls per second as an area, on a labelled y axis, with the target rate as a dashed line. */
function callsChart(
  result: DrillResult,
  x: (ms: number) => number,
  domainMs: number,
  top: number,
  height: number,
): string {
  const maxCalls = Math.max(1, result.targetRate, ...result.timeline.map((b) => b.calls));
  const tick = niceStep(maxCalls / 4, [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]);
  const yMax = Math.ceil((maxCalls * 1.05) / tick) * tick;
  const y = (calls: number) => top + height - (calls / yMax) * height;
  const parts: string[] = [text(4, top - 20, "consumer calls/s", { className: "title" })];
  for (let value = 0; value <= yMax; value += tick) {
    parts.push(line(PLOT_LEFT, y(value), PLOT_RIGHT, y(value), COLOURS.grid));
    parts.push(text(PLOT_LEFT - 8, y(value) + 4, thousands(value), { anchor: "end" }));
  }
  parts.push(line(PLOT_LEFT, top + height, PLOT_RIGHT, top + height, COLOURS.axis));
  parts.push(line(PLOT_LEFT, top, PLOT_LEFT, top + height, COLOURS.axis));

  // A second is plotted once it is complete: the last, partial second would read as a collapse.
  const complete = result.timeline.filter((b) => (b.second + 1) * 1000 <= domainMs + 50);
  if (complete.length > 0) {
    const points = complete.map((b) => `${fixed(x(b.second * 1000 + 500))},${fixed(y(b.calls))}`);
    const first = fixed(x((complete[0] as TimelineBucket).second * 1000 + 500));
    const last = fixed(x((complete.at(-1) as TimelineBucket).second * 1000 + 500));
    parts.push(
      `<polygon points="${first},${fixed(y(0))} ${points.join(" ")} ${last},${fixed(y(0))}" fill="${COLOURS.calls}" fill-opacity="0.18"/>`,
      `<polyline points="${points.join(" ")}" fill="none" stroke="${COLOURS.calls}" stroke-width="1.8"/>`,
    );
  }
  const target = fixed(y(result.targetRate));
  parts.push(
    `<line x1="${PLOT_LEFT}" y1="${target}" x2="${PLOT_RIGHT}" y2="${target}" stroke="${COLOURS.target}" stroke-dasharray="6 4"/>`,
    text(PLOT_RIGHT - 4, Number(target) - 4, `target ${result.targetRate}/s`, {
      anchor: "end",
      className: "small",
    }),
  );
  return parts.join("");
}

/** A lane of per-second bars on its own scale, labelled with its peak; `empty` is written when all are 0. */
function barLane(
  timeline: readonly TimelineBucket[],
  field: "failures" | "mints",
  label: string,
  top: number,
  colour: string,
  x: (ms: number) => number,
  options: { empty: string },
): string {
  const height = 30;
  const max = Math.max(0, ...timeline.map((b) => b[field]));
  const total = timeline.reduce((sum, b) => sum + b[field], 0);
  const parts = [
    text(PLOT_LEFT - 8, top + 12, label, { anchor: "end" }),
    text(PLOT_LEFT - 8, top + 25, `total ${thousands(total)}${max > 0 ? `, peak ${max}/s` : ""}`, {
      anchor: "end",
      className: "small",
    }),
    line(PLOT_LEFT, top + height, PLOT_RIGHT, top + height, COLOURS.axis),
  ];
  if (max === 0) {
    parts.push(text(PLOT_LEFT + 6, top + height - 8, options.empty, { className: "small" }));
    return parts.join("");
  }
  const barWidth = Math.max(2, x(1000) - x(0) - 1);
  for (const bucket of timeline) {
    const value = bucket[field];
    if (value === 0) continue;
    const h = Math.max(3, (value / max) * height);
    parts.push(
      rect(x(bucket.second * 1000), top + height - h, barWidth, h, colour, {
        title: `${bucket.second}–${bucket.second + 1} s: ${value} ${label}`,
      }),
    );
  }
  return parts.join("");
}

function stepBar(record: StepRecord, x: (ms: number) => number, top: number, minWidth = 3): string {
  const start = x(record.startMs);
  const width = Math.max(minWidth, x(record.endMs) - start);
  const parts = [
    rect(start, top + 2, width, LANE - 6, record.ok ? COLOURS.stepOk : COLOURS.stepFailed, {
      title: describeStep(record),
      ...(record.crashed ? { stroke: "#000" } : {}),
    }),
  ];
  if (record.crashed)
    parts.push(text(start + width / 2, top + 1, "✕", { anchor: "middle", className: "title" }));
  return parts.join("");
}

/** A fault window as a bar; a crash (a moment, not a window) as a marker. */
function faultMark(fault: ScheduledFault, x: (ms: number) => number, top: number): string {
  const colour = FAULT_COLOURS[fault.fault];
  const start = x(fault.startMs);
  if (fault.endMs - fault.startMs < 1) {
    return `<path d="M${fixed(start - 5)},${top + 3} h10 l-5,10 z" fill="${colour}"><title>${escapeHtml(describeFault(fault))}</title></path>`;
  }
  return rect(start, top + 3, Math.max(2, x(fault.endMs) - start), LANE - 8, colour, {
    title: describeFault(fault),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Rotations: a table, then one chart per rotation at a scale where its steps are readable.

function rotationsTable(result: DrillResult): string {
  if (result.rotations.length === 0) return "<p>No rotation ran.</p>";
  const rows = result.rotations.map((rotation) => {
    const steps = result.steps.filter((s) => s.rotation === rotation.index);
    const incidents = steps
      .filter((s) => !s.ok || s.crashed)
      .map((s) => `${s.step} ${s.crashed ? "killed" : `failed${s.errorName ? ` (${s.errorName})` : ""}`}`);
    const verdict =
      rotation.outcome === "succeeded"
        ? "—"
        : `AWSCURRENT ${rotation.awsCurrentIntact ? "intact" : "NOT intact"}; ${rotation.explained ? "explained" : "NOT explained"}`;
    return `<tr><td class="num">${rotation.index + 1}</td><td class="num">${seconds1(rotation.startMs)} s</td><td class="num">${seconds1(rotation.endMs - rotation.startMs)} s</td><td class="num">${rotation.attempts}</td><td class="${rotation.outcome === "succeeded" ? "ok" : "bad"}">${escapeHtml(rotation.outcome)}${rotation.failedStep ? ` at ${escapeHtml(rotation.failedStep)}` : ""}${rotation.cause ? ` (${escapeHtml(rotation.cause)})` : ""}</td><td>${escapeHtml(`${rotation.clientBefore} → ${rotation.clientAfter}`)}</td><td>${escapeHtml(incidents.join("; ") || "none")}</td><td>${escapeHtml(rotation.faultsActive.join(", ") || "none")}</td><td>${escapeHtml(verdict)}</td></tr>`;
  });
  return `<table><thead><tr><th>#</th><th>started</th><th>took</th><th>attempts</th><th>outcome</th><th>active client</th><th>step failures</th><th>faults active</th><th>if unsuccessful</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** One rotation's steps, zoomed to the rotation, with the windowed faults open meanwhile. */
function rotationSvg(result: DrillResult, rotation: RotationOutcome): string {
  const steps = result.steps
    .filter((s) => s.rotation === rotation.index)
    .sort((a, b) => a.startMs - b.startMs);
  const from = Math.min(rotation.startMs, ...steps.map((s) => s.startMs));
  const to = Math.max(rotation.endMs, from + 1, ...steps.map((s) => s.endMs));
  const pad = Math.max(50, (to - from) * 0.03);
  const domain = { from: from - pad, to: to + pad };
  const x = (ms: number) =>
    PLOT_LEFT +
    ((Math.min(domain.to, Math.max(domain.from, ms)) - domain.from) / (domain.to - domain.from)) * PLOT_WIDTH;
  const windows = result.faults.filter(
    (f) => isWindow(f) && f.startMs <= domain.to && f.endMs >= domain.from,
  );
  const crash = result.faults.find(
    (f): f is Extract<ScheduledFault, { fault: "crash-rotation" }> =>
      f.fault === "crash-rotation" && f.rotation === rotation.index,
  );
  const windowNames = FAULT_NAMES.filter((name) => windows.some((f) => f.fault === name));
  const stepsTop = 30;
  const faultsTop = stepsTop + STEP_NAMES.length * LANE + 6;
  const bottom = faultsTop + windowNames.length * LANE;
  const height = bottom + 24;
  const parts: string[] = [];

  const title =
    `Rotation ${rotation.index + 1}: ${rotation.outcome} in ${seconds1(rotation.endMs - rotation.startMs)} s, ` +
    `${rotation.attempts} attempt(s), ${rotation.clientBefore} → ${rotation.clientAfter}` +
    (crash ? ` · planned crash: ${crash.step} after ${crash.afterMs} ms` : "");
  parts.push(text(4, 14, title, { className: "title" }));

  const spanSeconds = (domain.to - domain.from) / 1000;
  const tick = niceStep(spanSeconds / 10, [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60]);
  for (let s = Math.ceil(domain.from / 1000 / tick) * tick; s <= domain.to / 1000 + 1e-9; s += tick) {
    parts.push(line(x(s * 1000), stepsTop, x(s * 1000), bottom, COLOURS.grid));
    parts.push(text(x(s * 1000), bottom + 14, `${trimNumber(s)} s`, { anchor: "middle" }));
  }
  parts.push(line(PLOT_LEFT, bottom, PLOT_RIGHT, bottom, COLOURS.axis));

  // Secrets Manager restarts at createSecret on every attempt: mark where each retry began.
  steps
    .filter((s, i) => i > 0 && s.step === "createSecret")
    .forEach((s, i) => {
      parts.push(
        `<line x1="${fixed(x(s.startMs))}" y1="${stepsTop - 4}" x2="${fixed(x(s.startMs))}" y2="${bottom}" stroke="#000" stroke-dasharray="2 3"/>`,
        text(x(s.startMs) + 3, stepsTop - 4, `attempt ${i + 2}`, { className: "small" }),
      );
    });

  STEP_NAMES.forEach((step, lane) => {
    const top = stepsTop + lane * LANE;
    parts.push(text(PLOT_LEFT - 8, top + 13, step, { anchor: "end" }));
    for (const record of steps.filter((s) => s.step === step)) {
      parts.push(stepBar(record, x, top, 2));
      const start = x(record.startMs);
      const width = x(record.endMs) - start;
      const ms = `${Math.round(record.endMs - record.startMs)} ms`;
      // The duration inside the bar when it fits, else right of it.
      if (width > 46) parts.push(text(start + 4, top + 13, ms, { className: "small", fill: "#fff" }));
      else parts.push(text(start + Math.max(width, 2) + 3, top + 13, ms, { className: "small" }));
    }
  });
  windowNames.forEach((name, lane) => {
    const top = faultsTop + lane * LANE;
    parts.push(text(PLOT_LEFT - 8, top + 13, name, { anchor: "end" }));
    for (const fault of windows.filter((f) => f.fault === name)) parts.push(faultMark(fault, x, top));
  });
  return svg(height, `rotation ${rotation.index + 1} steps`, parts);
}

// ---------------------------------------------------------------------------------------------------------
// Faults

function faultsTable(result: DrillResult): string {
  if (result.faults.length === 0) return "<p>No fault injected.</p>";
  const rows = result.faults.map((fault) => {
    const { when, detail } = faultParts(fault);
    const about = FAULTS[fault.fault];
    return `<tr><td class="nowrap"><i class="sw" style="background:${FAULT_COLOURS[fault.fault]}"></i>${escapeHtml(fault.fault)}</td><td class="nowrap">${escapeHtml(when)}</td><td>${escapeHtml(detail || "—")}</td><td>${escapeHtml(about.summary)}</td><td>${about.mayFailRotation ? "yes" : "no"}</td></tr>`;
  });
  return `<table><thead><tr><th>fault</th><th>when</th><th>parameters</th><th>what happens</th><th>may fail a rotation</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** One line per scheduled fault, e.g. `api-429 12.0–15.5 s everyNth=7 retryAfterSeconds=1`. */
export function describeFault(fault: ScheduledFault): string {
  const { when, detail } = faultParts(fault);
  return `${fault.fault} ${when} ${detail}`.trim();
}

function faultParts(fault: ScheduledFault): { when: string; detail: string } {
  const { fault: name, startMs, endMs, ...parameters } = fault;
  const when =
    name === "crash-rotation"
      ? `rotation ${(fault as { rotation: number }).rotation + 1}`
      : name === "forged-cache"
        ? `at ${(startMs / 1000).toFixed(1)} s`
        : `${(startMs / 1000).toFixed(1)}–${(endMs / 1000).toFixed(1)} s`;
  const detail = Object.entries(parameters)
    .filter(([key]) => key !== "rotation")
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
  return { when, detail };
}

function describeStep(record: StepRecord): string {
  const status = record.ok ? "ok" : `failed${record.errorName ? ` (${record.errorName})` : ""}`;
  return `rotation ${record.rotation + 1} ${record.step} ${status}${record.crashed ? ", container killed" : ""}, ${Math.round(record.endMs - record.startMs)} ms at ${seconds1(record.startMs)} s`;
}

function usedFaults(result: DrillResult): FaultName[] {
  const used = new Set(result.faults.map((f) => f.fault));
  return FAULT_NAMES.filter((name) => used.has(name));
}

/** A fault that opens and closes during the drill (not drill-wide, not a one-off crash). */
function isWindow(fault: ScheduledFault): boolean {
  return !DRILL_WIDE_FAULTS.has(fault.fault) && fault.endMs - fault.startMs >= 1;
}

function outcomeMark(rotation: RotationOutcome): string {
  if (rotation.outcome === "succeeded") return "✓";
  return rotation.explained ? "✗ (explained)" : "✗";
}

// ---------------------------------------------------------------------------------------------------------
// SVG and text helpers

function svg(height: number, label: string, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(label)}">${parts.join("")}</svg>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${fixed(x1)}" y1="${fixed(y1)}" x2="${fixed(x2)}" y2="${fixed(y2)}" stroke="${stroke}"/>`;
}

function rect(
  x: number,
  y: number,
  width: number,
  height: number,
  fill: string,
  options: { opacity?: number; title?: string; stroke?: string } = {},
): string {
  const attributes = [
    `x="${fixed(x)}"`,
    `y="${fixed(y)}"`,
    `width="${fixed(Math.max(0, width))}"`,
    `height="${fixed(Math.max(0, height))}"`,
    `fill="${fill}"`,
    ...(options.opacity === undefined ? [] : [`opacity="${options.opacity}"`]),
    ...(options.stroke === undefined ? [] : [`stroke="${options.stroke}" stroke-width="1.5"`]),
  ].join(" ");
  return options.title === undefined
    ? `<rect ${attributes}/>`
    : `<rect ${attributes}><title>${escapeHtml(options.title)}</title></rect>`;
}

function text(
  x: number,
  y: number,
  content: string,
  options: { anchor?: "start" | "middle" | "end"; className?: string; fill?: string } = {},
): string {
  const attributes = [
    `x="${fixed(x)}"`,
    `y="${fixed(y)}"`,
    ...(options.anchor && options.anchor !== "start" ? [`text-anchor="${options.anchor}"`] : []),
    ...(options.className ? [`class="${options.className}"`] : []),
    ...(options.fill ? [`style="fill:${options.fill}"`] : []),
  ].join(" ");
  return `<text ${attributes}>${escapeHtml(content)}</text>`;
}

/** The smallest of `steps` that is at least `raw` (the largest when none is). */
function niceStep(raw: number, steps: readonly number[]): number {
  return steps.find((step) => step >= raw) ?? (steps.at(-1) as number);
}

function fixed(value: number): string {
  return trimNumber(Math.round(value * 10) / 10);
}

function trimNumber(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

function seconds1(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function thousands(value: number): string {
  return value.toLocaleString("en-US");
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
