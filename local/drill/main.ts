/**
 * `npm start -- [options]`: the offline drill (docs/drill.md). Human output: progress on stderr (a live
 * line on a terminal), then the summary on stdout. `--json`: one JSON object as the last stdout line.
 * Exit codes: 0 pass, 1 the drill found a problem, 2 bad usage, 3 the drill could not run, 130 interrupted.
 * Ctrl-C (also during start-up) stops the traffic and every local server; a second Ctrl-C exits at once.
 * The handlers' log lines go through the progress reporter, so they never tear the live line.
 */
import { writeFileSync } from "node:fs";
import { describeError } from "../../lambda/shared/errors.ts";
import { runDrill } from "./drill.ts";
import { DrillUsageError, parseDrillArgs, USAGE } from "./options.ts";
import { handlerLogOutput, silentProgress, streamProgress } from "./progress.ts";
import { renderHtmlReport } from "./report.ts";
import { drillExitCode, formatSummary, toJsonSummary } from "./result.ts";

async function main(argv: string[]): Promise<number> {
  const command = parseDrillArgs(argv);
  if (command.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { options } = command;
  // The AWS SDK warns about Node versions on stderr; it is noise in a drill.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

  const interrupt = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    interrupt.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const progress = options.json && !process.stderr.isTTY ? silentProgress : streamProgress(process.stderr);
  // Printed as milestones, above the live line. On a terminal they are shortened (unless --verbose asks
  // for everything); off a terminal the Powertools JSON stays as is, searchable in CI logs. The stream is
  // never ended: the Lambda emulator writes whole lines only, and a straggler after end() would throw.
  const handlerLogs =
    progress === silentProgress
      ? process.stderr
      : handlerLogOutput(progress, { compact: process.stderr.isTTY === true && !options.verbose });
  const result = await runDrill(options, { progress, signal: interrupt.signal, stack: { handlerLogs } });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);

  if (options.reportFile !== undefined) {
    writeFileSync(options.reportFile, renderHtmlReport(result));
    progress.note(`Report written to ${options.reportFile}`);
  }
  process.stdout.write(options.json ? `${JSON.stringify(toJsonSummary(result))}\n` : formatSummary(result));
  return drillExitCode(result);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Every server was stopped; if a stray keep-alive handle lingers, do not hang the terminal over it.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (error: unknown) => {
    const { errorMessage } = describeError(error);
    const usage = error instanceof DrillUsageError;
    process.stderr.write(`drill: ${errorMessage}\n${usage ? "Run with --help for usage.\n" : ""}`);
    process.exitCode = usage ? 2 : 3;
  },
);
