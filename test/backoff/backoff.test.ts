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

/** The two jitters: each is a whole number of milliseconds from its floor up to the ceiling. */
const JITTERS = [
  {
    name: "fullJitter (uniform from 0)",
    jitter: fullJitter,
    floor: (_ceiling: number) => 0,
    /** [ceiling, wait at random 0.999] */
    nearTop: [
      [1_000, 999],
      [250, 249],
    ],
  },
  {
    name: "equalJitter (half fixed, half random)",
    jitter: equalJitter,
    floor: (ceiling: number) => Math.floor(ceiling / 2),
    nearTop: [
      [250, 249],
      [8_000, 7_996],
    ],
  },
] as const;

for (const { name, jitter, floor, nearTop } of JITTERS) {
  describe(name, () => {
    test("gives its floor when the random source gives 0", () => {
      for (const ceiling of [250, 1_000, 4_000]) assert.equal(jitter(ceiling, atZero), floor(ceiling));
    });

    test("stays just below the ceiling when the random source gives almost 1, and never passes it", () => {
      for (const [ceiling, wait] of nearTop) assert.equal(jitter(ceiling, atAlmostOne), wait);
      for (const ceiling of [2, 250, 1_000, 4_000, 8_000]) {
        const wait = jitter(ceiling, atLargest);
        assert.ok(wait >= ceiling - 1 && wait <= ceiling, `${ceiling}: ${wait}`);
      }
    });

    test("gives whole milliseconds from its floor to the ceiling, spread over that range", () => {
      const random = seededRandom(12);
      const ceiling = 2_000;
      const waits = Array.from({ length: 2_000 }, () => jitter(ceiling, random));
      for (const wait of waits) {
        assert.ok(Number.isInteger(wait) && wait >= floor(ceiling) && wait <= ceiling, String(wait));
      }
      const span = ceiling - floor(ceiling);
      assert.ok(Math.min(...waits) < floor(ceiling) + span / 20, "reaches near its floor");
      assert.ok(Math.max(...waits) > ceiling - span / 20, "reaches near the ceiling");
    });

    test("defaults to the system random source", () => {
      for (let i = 0; i < 100; i++) {
        const wait = jitter(100);
        assert.ok(Number.isInteger(wait) && wait >= floor(100) && wait <= 100, String(wait));
      }
    });
  });
}

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
