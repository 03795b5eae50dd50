import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FAULT_NAMES, FAULTS, faultsDuring, planFaults } from "../../local/drill/faults.ts";
import { DEFAULT_DRILL_OPTIONS, parseDrillArgs, USAGE } from "../../local/drill/options.ts";

const fixedSeed = () => 42;

describe("drill options", () => {
  it("defaults to three alternating rotations at 200 calls/s with short-lived tokens", () => {
    const parsed = parseDrillArgs([], fixedSeed);
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    assert.deepEqual(parsed.options, { ...DEFAULT_DRILL_OPTIONS, seed: 42 });
    assert.equal(parsed.options.rotations, 3);
    assert.ok(parsed.options.rate >= 200);
    assert.ok(
      parsed.options.tokenLifetimeSeconds < parsed.options.durationSeconds,
      "tokens must expire during the drill",
    );
  });

  it("parses every option, repeatable --fault, de-duplicated", () => {
    const parsed = parseDrillArgs(
      [
        "--rotations",
        "1",
        "--consumers",
        "3",
        "--rate",
        "50.5",
        "--duration",
        "12",
        "--token-lifetime",
        "30",
        "--strategy",
        "single",
        "--fault",
        "api-429",
        "--fault",
        "crash-rotation",
        "--fault",
        "api-429",
        "--seed",
        "7",
        "--json",
        "--report",
        "out.html",
        "--verbose",
        "--dynalite",
        "--from-source",
      ],
      fixedSeed,
    );
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    assert.deepEqual(parsed.options, {
      rotations: 1,
      consumers: 3,
      rate: 50.5,
      consumerKinds: ["fetch"],
      durationSeconds: 12,
      tokenLifetimeSeconds: 30,
      strategy: "single",
      faults: ["api-429", "crash-rotation"],
      seed: 7,
      json: true,
      reportFile: "out.html",
      verbose: true,
      dynalite: true,
      fromSource: true,
    });
  });

  it("--consumer-kind: repeatable and comma-separated, de-duplicated, only known kinds", () => {
    const parsed = parseDrillArgs(
      ["--consumer-kind", "axios", "--consumer-kind", " fetch,axios,sdk"],
      fixedSeed,
    );
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    assert.deepEqual(parsed.options.consumerKinds, ["axios", "fetch", "sdk"]);
    assert.throws(
      () => parseDrillArgs(["--consumer-kind", "fetch,carrier-pigeon"], fixedSeed),
      /--consumer-kind.*must be one of fetch, sdk, axios/,
    );
    assert.match(USAGE, /--consumer-kind/);
  });

  it("rejects bad values with a message naming the flag and the rule", () => {
    const cases: [string[], RegExp][] = [
      [["--rotations=-1"], /--rotations.*whole number from 0/],
      [["--rotations", "1.5"], /--rotations.*whole number/],
      [["--rate", "0"], /--rate.*number from 1/],
      [["--rate", "fast"], /--rate/],
      [["--token-lifetime", "4"], /--token-lifetime.*from 5/],
      [["--strategy", "blue-green"], /--strategy.*alternating or single/],
      [["--fault", "meteor"], /--fault.*token-rate-limit, api-429/],
      [["--report", ""], /--report/],
      [["--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseDrillArgs(argv, fixedSeed),
        { name: "DrillUsageError", message },
        argv.join(" "),
      );
    }
  });

  it("--help wins and lists every fault", () => {
    assert.deepEqual(parseDrillArgs(["--rate", "5", "--help"], fixedSeed), { help: true });
    for (const name of FAULT_NAMES) assert.match(USAGE, new RegExp(`\\b${name}\\b`));
  });
});

describe("fault schedule", () => {
  const request = {
    faults: [...FAULT_NAMES],
    seed: 1234,
    durationMs: 45_000,
    rotationStartsMs: [11_250, 22_500, 33_750],
  };

  it("is reproducible from the seed and changes with it", () => {
    assert.deepEqual(planFaults(request), planFaults(request));
    assert.notDeepEqual(planFaults(request), planFaults({ ...request, seed: 1235 }));
  });

  it("does not move one fault's windows when another fault is added", () => {
    const alone = planFaults({ ...request, faults: ["api-429"] });
    const together = planFaults(request).filter((f) => f.fault === "api-429");
    assert.deepEqual(together, alone);
  });

  it("puts a window of every timed fault around every rotation, inside the drill", () => {
    const plan = planFaults(request);
    for (const fault of ["token-rate-limit", "api-429", "genesys-5xx", "dynamodb-outage"] as const) {
      const windows = plan.filter((f) => f.fault === fault);
      assert.equal(windows.length, 4, `${fault}: one per rotation plus one free window`);
      for (const w of windows)
        assert.ok(w.startMs >= 0 && w.endMs <= request.durationMs && w.endMs > w.startMs);
      for (const start of request.rotationStartsMs) {
        assert.ok(
          windows.some((w) => w.startMs <= start + 500 && w.endMs >= start - 1500),
          `${fault} near the rotation at ${start} ms`,
        );
      }
    }
    const crashes = plan.filter((f) => f.fault === "crash-rotation");
    assert.deepEqual(
      crashes.map((c) => c.fault === "crash-rotation" && c.rotation),
      [0, 1, 2],
    );
  });

  it("knows which faults were active during a rotation", () => {
    const plan = planFaults({ ...request, faults: ["genesys-5xx", "propagation-delay"] });
    const window = plan.find((f) => f.fault === "genesys-5xx");
    assert.ok(window);
    assert.deepEqual(faultsDuring(plan, window.startMs, window.startMs).sort(), [
      "genesys-5xx",
      "propagation-delay",
    ]);
    // Drill-wide faults are active even past --duration (a late rotation still meets them).
    assert.deepEqual(faultsDuring(plan, 60_000, 61_000), ["propagation-delay"]);
  });

  it("allows a rotation failure only for faults where Genesys itself refuses service", () => {
    const mayFail = FAULT_NAMES.filter((name) => FAULTS[name].mayFailRotation);
    assert.deepEqual(mayFail, ["token-rate-limit", "api-429", "genesys-5xx"]);
  });
});
