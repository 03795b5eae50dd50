/**
 * `--report FILE.html`: one self-contained page (inline CSS and SVG, no script, no external asset) with
 * the drill's timeline — consumer calls per second, failures, token mints, rotation steps and fault
 * windows — and the summary. Every interpolated string is escaped; nothing secret is in a DrillResult.
 */
import type { ScheduledFault } from "./faults.ts";
import { type DrillResult, drillProblems, formatSummary } from "./result.ts";

const WIDTH = 1000;
const LEFT = 56;
const RIGHT = 16;
const CHART_TOP = 16;
const CHART_HEIGHT = 220;
const LANE_HEIGHT = 18;
const STEP_LANES = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
const FAULT_COLOURS = ["#e8a33d", "#9b59b6", "#16a085", "#c0392b", "#2980b9", "#7f8c8d", "#d35400"];

/** Renders the report page. */
export function renderHtmlReport(result: DrillResult): string {
  const passed = drillProblems(result).length === 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drill report — ${passed ? "PASS" : "FAIL"}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:${WIDTH + 40}px}
h1{font-size:20px}.pass{color:#1e7d32}.fail{color:#b71c1c}
pre{background:#f6f6f6;padding:12px;overflow:auto;font-size:12px}
svg text{font:11px system-ui,sans-serif;fill:#333}
.legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
</style></head><body>
<h1>Rotation drill — <span class="${passed ? "pass" : "fail"}">${passed ? "PASS" : "FAIL"}</span></h1>
<div class="legend"><span><i class="sw" style="background:#3b6fb6"></i>consumer calls/s</span><span><i class="sw" style="background:#d62728"></i>failures</span><span><i class="sw" style="background:#2ca02c"></i>token mints</span><span><i class="sw" style="background:#bbb"></i>fault window</span></div>
${timelineSvg(result)}
<h2>Summary</h2>
<pre>${escapeHtml(formatSummary(result))}</pre>
<h2>Fault schedule</h2>
<pre>${escapeHtml(result.faults.map(describeFault).join("\n") || "no faults")}</pre>
</body></html>
`;
}

function timelineSvg(result: DrillResult): string {
  const seconds = Math.max(1, result.timeline.length);
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (ms: number) => LEFT + (Math.max(0, ms) / 1000 / seconds) * plotWidth;
  const maxCalls = Math.max(1, ...result.timeline.map((b) => b.calls));
  const maxMints = Math.max(1, ...result.timeline.map((b) => b.mints));
  const y = (calls: number) => CHART_TOP + CHART_HEIGHT - (calls / maxCalls) * CHART_HEIGHT;
  const faultNames = [...new Set(result.faults.map((f) => f.fault))];
  const stepsTop = CHART_TOP + CHART_HEIGHT + 30;
  const faultsTop = stepsTop + STEP_LANES.length * LANE_HEIGHT + 16;
  const height = faultsTop + Math.max(1, faultNames.length) * LANE_HEIGHT + 30;
  const parts: string[] = [];

  // Fault windows shade the chart so a dip can be read against its cause.
  faultNames.forEach((name, lane) => {
    const colour = FAULT_COLOURS[lane % FAULT_COLOURS.length];
    const top = faultsTop + lane * LANE_HEIGHT;
    parts.push(`<text x="4" y="${top + 12}">${escapeHtml(name)}</text>`);
    for (const fault of result.faults.filter((f) => f.fault === name)) {
      const start = x(fault.startMs);
      const width = Math.max(2, x(fault.endMs) - start);
      parts.push(
        `<rect x="${start}" y="${CHART_TOP}" width="${width}" height="${CHART_HEIGHT}" fill="${colour}" opacity="0.12"/>`,
        `<rect x="${start}" y="${top}" width="${width}" height="${LANE_HEIGHT - 4}" fill="${colour}"><title>${escapeHtml(describeFault(fault))}</title></rect>`,
      );
    }
  });

  // Axes and grid.
  parts.push(
    `<line x1="${LEFT}" y1="${CHART_TOP + CHART_HEIGHT}" x2="${WIDTH - RIGHT}" y2="${CHART_TOP + CHART_HEIGHT}" stroke="#999"/>`,
    `<line x1="${LEFT}" y1="${CHART_TOP}" x2="${LEFT}" y2="${CHART_TOP + CHART_HEIGHT}" stroke="#999"/>`,
    `<text x="4" y="${CHART_TOP + 10}">${maxCalls}/s</text><text x="4" y="${CHART_TOP + CHART_HEIGHT}">0</text>`,
  );
  const tickEvery = Math.max(1, Math.ceil(seconds / 20 / 5) * 5);
  for (let s = 0; s <= seconds; s += tickEvery) {
    parts.push(`<text x="${x(s * 1000) - 4}" y="${CHART_TOP + CHART_HEIGHT + 14}">${s}s</text>`);
  }

  // Calls per second (area), failures and mints (bars).
  const points = result.timeline.map(
    (b) => `${x(b.second * 1000 + 500).toFixed(1)},${y(b.calls).toFixed(1)}`,
  );
  if (points.length > 0) {
    parts.push(
      `<polyline points="${x(0)},${y(0)} ${points.join(" ")} ${x(seconds * 1000)},${y(0)}" fill="#3b6fb6" fill-opacity="0.25" stroke="#3b6fb6" stroke-width="1.5"/>`,
    );
  }
  const barWidth = Math.max(1, plotWidth / seconds - 1);
  for (const b of result.timeline) {
    if (b.failures > 0) {
      const top = y(Math.min(maxCalls, Math.max(b.failures, maxCalls * 0.03)));
      parts.push(
        `<rect x="${x(b.second * 1000)}" y="${top}" width="${barWidth}" height="${CHART_TOP + CHART_HEIGHT - top}" fill="#d62728"><title>${b.second}s: ${b.failures} failures</title></rect>`,
      );
    }
    if (b.mints > 0) {
      const h = Math.max(3, (b.mints / maxMints) * 24);
      parts.push(
        `<rect x="${x(b.second * 1000)}" y="${CHART_TOP + CHART_HEIGHT - h}" width="${Math.max(2, barWidth / 3)}" height="${h}" fill="#2ca02c"><title>${b.second}s: ${b.mints} token mints</title></rect>`,
      );
    }
  }

  // Rotation steps, one lane per step; red = failed, outlined = crashed on purpose.
  STEP_LANES.forEach((step, lane) => {
    const top = stepsTop + lane * LANE_HEIGHT;
    parts.push(`<text x="4" y="${top + 12}">${step}</text>`);
    for (const s of result.steps.filter((r) => r.step === step)) {
      const start = x(s.startMs);
      const width = Math.max(2, x(s.endMs) - start);
      const label = `rotation ${s.rotation + 1} ${step} ${s.ok ? "ok" : `failed${s.errorName ? ` (${s.errorName})` : ""}`}${s.crashed ? ", container killed" : ""}, ${Math.round(s.endMs - s.startMs)} ms`;
      parts.push(
        `<rect x="${start}" y="${top}" width="${width}" height="${LANE_HEIGHT - 4}" fill="${s.ok ? "#555" : "#d62728"}"${s.crashed ? ' stroke="#000" stroke-dasharray="2"' : ""}><title>${escapeHtml(label)}</title></rect>`,
      );
    }
  });
  for (const change of result.activeClientHistory.slice(1)) {
    const at = x(change.atSeconds * 1000);
    parts.push(
      `<line x1="${at}" y1="${CHART_TOP}" x2="${at}" y2="${stepsTop + STEP_LANES.length * LANE_HEIGHT}" stroke="#000" stroke-dasharray="4 3"/>`,
      `<text x="${at + 3}" y="${CHART_TOP + 12}">→ ${escapeHtml(change.label)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="drill timeline">${parts.join("")}</svg>`;
}

/** One line per scheduled fault, e.g. `api-429 12.0–15.5 s everyNth=7 retryAfterSeconds=1`. */
export function describeFault(fault: ScheduledFault): string {
  const { fault: name, startMs, endMs, ...parameters } = fault;
  const when =
    name === "crash-rotation"
      ? `rotation ${(fault as { rotation: number }).rotation + 1}`
      : `${(startMs / 1000).toFixed(1)}–${(endMs / 1000).toFixed(1)} s`;
  const detail = Object.entries(parameters)
    .filter(([key]) => key !== "rotation")
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
  return `${name} ${when} ${detail}`.trim();
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
