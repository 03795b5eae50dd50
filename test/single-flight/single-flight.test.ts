/**
 * lambda/shared/single-flight.ts: concurrent callers of one key share one execution; a settled
 * execution is forgotten, so a failure reaches everybody who joined it and the next call starts afresh.
 * Driven by promises the test settles itself: no timers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SingleFlight } from "../../lambda/shared/single-flight.ts";

/** The failure the operations below reject with. */
class OperationFailed extends Error {
  override readonly name = "OperationFailed";
}

/** An operation whose runs the test counts and settles by hand. */
function controlledOperation<T>() {
  const runs: { resolve: (value: T) => void; reject: (error: unknown) => void }[] = [];
  const operation = () =>
    new Promise<T>((resolve, reject) => {
      runs.push({ resolve, reject });
    });
  return { operation, runs };
}

/** Lets the microtask that starts a flight run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("SingleFlight", () => {
  test("concurrent callers of one key share one execution and its result", async () => {
    const flights = new SingleFlight();
    const { operation, runs } = controlledOperation<{ token: string }>();
    const callers = Array.from({ length: 10 }, () => flights.run("k", operation));
    await settle();
    assert.equal(runs.length, 1);
    assert.equal(flights.has("k"), true);

    const result = { token: "one" };
    runs[0]!.resolve(result);
    const results = await Promise.all(callers);
    for (const value of results) assert.equal(value, result, "every caller gets the very same value");
    assert.equal(flights.has("k"), false);
  });

  test("an operation that settles at once is still shared by a caller of the same tick", async () => {
    const flights = new SingleFlight();
    let runs = 0;
    const operation = async () => ++runs;
    const [first, second] = await Promise.all([flights.run("k", operation), flights.run("k", operation)]);
    assert.deepEqual([first, second, runs], [1, 1, 1]);
  });

  test("a rejection reaches every waiter, and the next call starts afresh", async () => {
    const flights = new SingleFlight();
    const { operation, runs } = controlledOperation<string>();
    const callers = Array.from({ length: 5 }, () => flights.run("k", operation));
    await settle();
    const failure = new OperationFailed("the vendor did not answer");
    runs[0]!.reject(failure);
    const outcomes = await Promise.allSettled(callers);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      assert.equal(outcome.status === "rejected" && outcome.reason, failure);
    }
    assert.equal(flights.has("k"), false);

    const next = flights.run("k", operation);
    await settle();
    assert.equal(runs.length, 2, "the failed execution is not reused");
    runs[1]!.resolve("recovered");
    assert.equal(await next, "recovered");
  });

  test("a synchronous throw becomes a rejection of the shared promise and is forgotten too", async () => {
    const flights = new SingleFlight();
    let runs = 0;
    const operation = (): Promise<string> => {
      runs += 1;
      throw new TypeError("broken");
    };
    const callers = [flights.run("k", operation), flights.run("k", operation)];
    for (const caller of callers) await assert.rejects(caller, TypeError);
    assert.equal(runs, 1);
    assert.equal(flights.has("k"), false);
  });

  test("a settled success is not cached: the next call runs again", async () => {
    const flights = new SingleFlight();
    let runs = 0;
    const operation = async () => ++runs;
    assert.equal(await flights.run("k", operation), 1);
    assert.equal(await flights.run("k", operation), 2);
  });

  test("keys are independent: each runs once, and one settling or failing leaves the other running", async () => {
    const flights = new SingleFlight();
    const a = controlledOperation<string>();
    const b = controlledOperation<string>();
    const callersA = [flights.run("a", a.operation), flights.run("a", a.operation)];
    const callersB = [flights.run("b", b.operation), flights.run("b", b.operation)];
    await settle();
    assert.deepEqual([a.runs.length, b.runs.length], [1, 1]);

    a.runs[0]!.reject(new OperationFailed("a failed"));
    for (const caller of callersA) await assert.rejects(caller, OperationFailed);
    assert.equal(flights.has("a"), false);
    assert.equal(flights.has("b"), true, "b is still running");

    b.runs[0]!.resolve("b-result");
    assert.deepEqual(await Promise.all(callersB), ["b-result", "b-result"]);
    assert.equal(flights.has("b"), false);
  });

  test("two instances share nothing", async () => {
    const first = new SingleFlight();
    const second = new SingleFlight();
    const { operation, runs } = controlledOperation<string>();
    const callers = [first.run("k", operation), second.run("k", operation)];
    await settle();
    assert.equal(runs.length, 2);
    for (const run of runs) run.resolve("done");
    await Promise.all(callers);
  });
});
