/** The token life-cycle arithmetic (token-cache.ts): windows, states and the minTtl rule. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CachedToken,
  expiryMarginMs,
  hashToken,
  L1Cache,
  refreshAheadWindowMs,
  satisfies,
  tokenState,
} from "../../lambda/vending/token-cache.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

function token(lifetimeMs: number, overrides: Partial<CachedToken> = {}): CachedToken {
  return {
    accessToken: "t",
    tokenHash: hashToken("t"),
    issuedAt: 0,
    expiresAt: lifetimeMs,
    clientId: "c",
    secretVersionId: "v",
    environment: "mypurecloud.ie",
    generation: 1,
    ...overrides,
  };
}

test("the refresh-ahead window is max(5 min, 10%) of the lifetime, capped at a quarter of it", () => {
  assert.equal(refreshAheadWindowMs(86_400 * SECOND), 8_640 * SECOND); // Genesys default: 10%
  assert.equal(refreshAheadWindowMs(3_600 * SECOND), 6 * MINUTE); // 10% > 5 min
  assert.equal(refreshAheadWindowMs(2_400 * SECOND), 5 * MINUTE); // 5 min floor
  assert.equal(refreshAheadWindowMs(300 * SECOND), 75 * SECOND); // Genesys minimum: quarter cap
  assert.equal(refreshAheadWindowMs(60 * SECOND), 15 * SECOND); // drill tokens
});

test("the expiry margin is min(10 s, 5%) of the lifetime, at least 1 s, at most half of it", () => {
  assert.equal(expiryMarginMs(86_400 * SECOND), 10 * SECOND);
  assert.equal(expiryMarginMs(60 * SECOND), 3 * SECOND);
  assert.equal(expiryMarginMs(6 * SECOND), 1 * SECOND);
  assert.equal(expiryMarginMs(1 * SECOND), 0.5 * SECOND);
});

test("a token is fresh, then in its refresh-ahead window, then expired before its expiry time", () => {
  const minute = token(60 * SECOND);
  assert.equal(tokenState(minute, 0), "fresh");
  assert.equal(tokenState(minute, 44_999), "fresh");
  assert.equal(tokenState(minute, 45_000), "refresh-ahead");
  assert.equal(tokenState(minute, 56_999), "refresh-ahead");
  assert.equal(tokenState(minute, 57_000), "expired");
  assert.equal(tokenState(minute, 120_000), "expired");
});

test("minTtl: a fresh token satisfies any demand; in the window only what it still covers; never once expired", () => {
  const hour = token(3_600 * SECOND);
  // Fresh span is 3 240 s: a 3 600 s demand is capped to it instead of forcing a mint on every call.
  assert.ok(satisfies(hour, 0, 3_600 * SECOND));
  assert.ok(satisfies(hour, 300 * SECOND, 3_600 * SECOND));
  const inWindow = 3_400 * SECOND; // 200 s left
  assert.ok(satisfies(hour, inWindow, 0));
  assert.ok(satisfies(hour, inWindow, 200 * SECOND));
  assert.ok(!satisfies(hour, inWindow, 201 * SECOND));
  assert.ok(!satisfies(hour, 3_595 * SECOND, 0), "inside the expiry margin");
});

test("L1 keeps the newer token and forgets a reported one only if it is the cached one", () => {
  const cache = new L1Cache();
  const older = token(60_000, {
    accessToken: "a",
    tokenHash: hashToken("a"),
    issuedAt: 0,
    expiresAt: 60_000,
  });
  const newer = token(60_000, {
    accessToken: "b",
    tokenHash: hashToken("b"),
    issuedAt: 10,
    expiresAt: 60_010,
  });
  cache.set("x", newer);
  cache.set("x", older);
  assert.equal(cache.get("x"), newer);
  cache.forget("x", older.tokenHash);
  assert.equal(cache.get("x"), newer);
  cache.forget("x", newer.tokenHash);
  assert.equal(cache.get("x"), undefined);
});
