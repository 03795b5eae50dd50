/**
 * Short drills for the test suite: a few seconds of traffic at a modest rate on dynalite (no JVM start),
 * one or two rotations, and the assertions every drill must pass whatever its faults. The drill suites'
 * timeouts (600 s) only catch a drill that hangs: on a loaded machine a suite needs minutes.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { runDrill } from "../../local/drill/drill.ts";
import { FAULTS, type FaultName } from "../../local/drill/faults.ts";
import { DEFAULT_DRILL_OPTIONS, type DrillOptions } from "../../local/drill/options.ts";
import { type DrillResult, drillProblems } from "../../local/drill/result.ts";
import { CLIENT_LABELS, DRILL_IDS } from "../../local/stack/seed.ts";
import { type DrillStack, type DrillStackOptions, handlerBundle } from "../../local/stack/stack.ts";
import { assertNoSecrets } from "../support/log-capture.ts";

/** Options of a short drill; `overrides` win. */
export function shortDrill(overrides: Partial<DrillOptions> = {}): DrillOptions {
  return {
    ...DEFAULT_DRILL_OPTIONS,
    rotations: 1,
    consumers: 4,
    rate: 40,
    durationSeconds: 12,
    tokenLifetimeSeconds: 20,
    seed: 7,
    dynalite: true,
    ...overrides,
  };
}

/**
 * Runs a short drill with a Secrets Manager that retries quickly (faults here last 1.5–5 s). The
 * handlers' log lines are kept (not printed) and checked: none may contain a secret or token Genesys
 * ever issued.
 */
export async function runShortDrill(
  options: DrillOptions,
  onStack?: (stack: DrillStack) => void,
  /** Receives the handlers' log lines (evidence that a fault reached the vendor). */
  lines: string[] = [],
  /** Further stack options (e.g. a propagation timeout close to a profile's delay). */
  stack: Partial<DrillStackOptions> = {},
): Promise<DrillResult> {
  const handlerLogs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  let issued: (() => string[]) | undefined;
  const result = await runDrill(options, {
    stack: { rotationRetryDelayMs: 1500, vendorContainers: 2, handlerLogs, ...stack },
    onStack: (stack) => {
      issued = () => stack.genesys.issued.all();
      // The drill exercises what `cdk deploy` uploads (a lazy chunk esbuild missed fails the drill).
      if (!options.fromSource) assert.equal(stack.vendingModule, handlerBundle("vending"));
      onStack?.(stack);
    },
  });
  assert.ok(issued, "the stack never started");
  assertNoSecrets(lines.join(""), { "Genesys secret or access token": issued() });
  return result;
}

/**
 * What every drill must show: traffic flowed, no consumer call failed, every requested rotation ran, and
 * each one either succeeded or failed safely (AWSCURRENT intact) under a fault allowed to fail it.
 */
export function assertDrillPassed(result: DrillResult): void {
  const context = JSON.stringify({
    problems: drillProblems(result),
    failureKinds: result.failureKinds,
    rotations: result.rotations,
  });
  assert.equal(result.consumerFailures, 0, context);
  assert.ok(
    result.consumerCalls > result.targetRate * result.durationSeconds * 0.5,
    `too few calls: ${context}`,
  );
  assert.equal(result.rotations.length, result.rotationsRequested, context);
  for (const rotation of result.rotations) {
    if (rotation.outcome === "succeeded") continue;
    assert.equal(
      rotation.awsCurrentIntact,
      true,
      `rotation ${rotation.index + 1} left AWSCURRENT broken: ${context}`,
    );
    assert.ok(
      rotation.faultsActive.some((name: FaultName) => FAULTS[name].mayFailRotation),
      `rotation ${rotation.index + 1} failed without a fault that may fail it: ${context}`,
    );
  }
  assertActiveClientHistory(result);
  assert.deepEqual(drillProblems(result), []);
}

/**
 * The history of AWSCURRENT's client: it starts with the seeded first client at 0 s, every entry names a
 * seeded client of the strategy by its real id and that client's label, and each entry is a change.
 */
export function assertActiveClientHistory(result: DrillResult): void {
  const history = result.activeClientHistory;
  const context = JSON.stringify(history);
  const seeded: string[] =
    result.strategy === "single" ? [DRILL_IDS.single] : [DRILL_IDS.appA, DRILL_IDS.appB];
  assert.equal(history[0]?.atSeconds, 0, context);
  assert.equal(history[0]?.clientId, seeded[0], context);
  for (const [index, entry] of history.entries()) {
    assert.ok(seeded.includes(entry.clientId), `entry ${index} is not a seeded client id: ${context}`);
    assert.equal(entry.label, CLIENT_LABELS[entry.clientId], context);
    if (index > 0) assert.notEqual(entry.clientId, history[index - 1]?.clientId, context);
  }
}

/** How many rotations succeeded. */
export function succeeded(result: DrillResult): number {
  return result.rotations.filter((r) => r.outcome === "succeeded").length;
}
