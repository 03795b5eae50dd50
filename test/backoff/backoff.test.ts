/**
 * lambda/shared/backoff.ts: the exponential ceiling and the two jitters every retry and poll wait is
 * built from (docs/design.md#backoff-and-jitter). Pure functions, so the random source is injected.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { equalJitter, exponentialDelay, fullJitter } from "../../lambda/shared/backoff.ts";
import { seededRandom } from "../../lambda/shared/clock.ts";

/** The largest value a `[0, 1)` random source can return. */
const LARGEST_RANDOM = 1 - Number.EPSILON / 2;
const atZero = () => 0;
const atAlmostOne = () => 0.999;
const atLargest = () => LARGEST_RANDOM;

describe("exponentialDelay", () => {
  const policy = { baseMs: 250, capMs: 4_000 };

  test("starts at the base and doubles per attempt", () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((attempt) => exponentialDelay(attempt, policy)),
      [250, 500, 1_000, 2_000],
    );
  });

  test("is capped", () => {
    assert.equal(exponentialDelay(4, policy), 4_000);
    assert.equal(exponentialDelay(5, policy), 4_000);
    assert.equal(exponentialDelay(7, { baseMs: 100, capMs: 2_000 }), 2_000);
  });

  test("the ceiling never decreases and never exceeds the cap, however many attempts", () => {
    let previous = 0;
    for (let attempt = 0; attempt <= 2_000; attempt++) {
      const ceiling = exponentialDelay(attempt, policy);
      assert.ok(ceiling >= previous, `attempt ${attempt}: ${ceiling} < ${previous}`);
      assert.ok(ceiling <= policy.capMs, `attempt ${attempt}: ${ceiling} > cap`);
      previous = ceiling;
    }
    assert.equal(previous, policy.capMs);
  });

  test("stays a number where 2 ** attempt overflows (a zero base stays zero)", () => {
    assert.equal(exponentialDelay(5_000, policy), 4_000);
    assert.equal(exponentialDelay(Number.MAX_SAFE_INTEGER, policy), 4_000);
    assert.equal(exponentialDelay(5_000, { baseMs: 0, capMs: 1_000 }), 0);
  });
});

describe("fullJitter", () => {
  test("is 0 when the random source gives 0", () => {
    assert.equal(fullJitter(1_000, atZero), 0);
  });

  test("stays just below the ceiling when the random source gives almost 1, and never passes it", () => {
    assert.equal(fullJitter(1_000, atAlmostOne), 999);
    assert.equal(fullJitter(250, atAlmostOne), 249);
    for (const ceiling of [1, 250, 1_000, 2_000, 8_000]) {
      const wait = fullJitter(ceiling, atLargest);
      assert.ok(wait >= ceiling - 1 && wait <= ceiling, `${ceiling}: ${wait}`);
    }
  });

  test("gives whole milliseconds from 0 to the ceiling, spread over the whole range", () => {
    const random = seededRandom(12);
    const waits = Array.from({ length: 2_000 }, () => fullJitter(2_000, random));
    for (const wait of waits) {
      assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 2_000, String(wait));
    }
    assert.ok(Math.min(...waits) < 100, "reaches near zero");
    assert.ok(Math.max(...waits) > 1_900, "reaches near the ceiling");
  });

  test("defaults to the system random source", () => {
    for (let i = 0; i < 100; i++) {
      const wait = fullJitter(100);
      assert.ok(Number.isInteger(wait) && wait >= 0 && wait <= 100, String(wait));
    }
  });
});

describe("equalJitter", () => {
  test("is half the ceiling when the random source gives 0", () => {
    assert.equal(equalJitter(250, atZero), 125);
    assert.equal(equalJitter(4_000, atZero), 2_000);
  });

  test("stays just below the ceiling when the random source gives almost 1, and never passes it", () => {
    assert.equal(equalJitter(250, atAlmostOne), 249);
    assert.equal(equalJitter(8_000, atAlmostOne), 7_996);
    for (const ceiling of [2, 250, 1_000, 4_000, 8_000]) {
      const wait = equalJitter(ceiling, atLargest);
      assert.ok(wait >= ceiling - 1 && wait <= ceiling, `${ceiling}: ${wait}`);
    }
  });

  test("gives whole milliseconds from half the ceiling to the ceiling, spread over that range", () => {
    const random = seededRandom(34);
    const waits = Array.from({ length: 2_000 }, () => equalJitter(1_000, random));
    for (const wait of waits) {
      assert.ok(Number.isInteger(wait) && wait >= 500 && wait <= 1_000, String(wait));
    }
    assert.ok(Math.min(...waits) < 550, "reaches near half");
    assert.ok(Math.max(...waits) > 950, "reaches near the ceiling");
  });

  test("defaults to the system random source", () => {
    for (let i = 0; i < 100; i++) {
      const wait = equalJitter(100);
      assert.ok(Number.isInteger(wait) && wait >= 50 && wait <= 100, String(wait));
    }
  });
});

describe("composed, as the call sites use it", () => {
  test("every wait stays within its ceiling and the cap, and an equal-jitter wait above half of its ceiling", () => {
    const policy = { baseMs: 100, capMs: 2_000 };
    const random = seededRandom(56);
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = exponentialDelay(attempt, policy);
      const full = fullJitter(ceiling, random);
      const equal = equalJitter(ceiling, random);
      assert.ok(full >= 0 && full <= ceiling && full <= policy.capMs, `full ${attempt}: ${full}`);
      assert.ok(equal >= ceiling / 2 && equal <= ceiling, `equal ${attempt}: ${equal}`);
    }
  });
});
