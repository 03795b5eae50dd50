/** The rules a cached token must pass before it is served (token-vetting.ts), without I/O. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../lambda/shared/clock.ts";
import type { Log } from "../../lambda/shared/log.ts";
import { type CachedToken, hashToken, L1Cache } from "../../lambda/vending/token-cache.ts";
import type { TokenItem, TokenTable } from "../../lambda/vending/token-table.ts";
import {
  type CachedTokenDefect,
  cachedTokenDefect,
  TokenVetter,
  VettedTokenTable,
} from "../../lambda/vending/token-vetting.ts";
import { RecordingLog, RecordingMetrics } from "../support/vending-stack.ts";

const NOW = Date.UTC(2026, 5, 1);
const HOUR = 3_600_000;
const ENVIRONMENTS = new Set(["mypurecloud.ie", "mypurecloud.com"]);
const KEY = {
  credential: "reporting",
  secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app",
};

function token(overrides: Partial<CachedToken> = {}): CachedToken {
  const accessToken = overrides.accessToken ?? "Abcdefghijklmnopqrstuvwxyz0123456789-_";
  return {
    accessToken,
    tokenHash: hashToken(accessToken),
    issuedAt: NOW - 60_000,
    expiresAt: NOW - 60_000 + HOUR,
    clientId: "0b0e0000-0000-4000-8000-0000000a990b",
    secretVersionId: "05b36087-80b3-40ef-8b7b-2f87acef897b",
    environment: "mypurecloud.ie",
    generation: 3,
    ...overrides,
  };
}

test("a well-formed token passes; each broken rule is named", () => {
  const context = { now: NOW, environments: ENVIRONMENTS };
  assert.equal(cachedTokenDefect(token(), context), undefined);
  assert.equal(cachedTokenDefect(token(), { ...context, secretEnvironment: "mypurecloud.ie" }), undefined);
  // Exactly 48 h is Genesys' maximum and still fine; a minute of clock skew too.
  assert.equal(cachedTokenDefect(token({ expiresAt: NOW - 60_000 + 48 * HOUR }), context), undefined);
  assert.equal(
    cachedTokenDefect(token({ issuedAt: NOW + 60_000, expiresAt: NOW + HOUR }), context),
    undefined,
  );

  const crlf = "Abcdefghijklmnopqrstuvwxyz\r\nX-Injected: 1";
  const cases: [
    Partial<CachedToken>,
    CachedTokenDefect,
    Partial<typeof context> & { secretEnvironment?: string },
  ][] = [
    [{ accessToken: crlf, tokenHash: hashToken(crlf) }, "token-format", {}],
    [{ accessToken: "short", tokenHash: hashToken("short") }, "token-format", {}],
    [{ tokenHash: hashToken("another token") }, "token-hash", {}],
    [{ tokenHash: "" }, "token-hash", {}],
    [{ expiresAt: Date.UTC(2100, 0, 1) }, "lifetime", {}],
    [{ expiresAt: NOW - 60_000 + 48 * HOUR + 1 }, "lifetime", {}],
    [{ expiresAt: NOW - 60_000 }, "lifetime", {}],
    [{ issuedAt: NOW + 0.5 }, "lifetime", {}],
    [{ issuedAt: NOW + 61_000, expiresAt: NOW + HOUR }, "issued-in-future", {}],
    [{ clientId: "" }, "identifiers", {}],
    [{ secretVersionId: "v 1" }, "identifiers", {}],
    [{ environment: "tokens.attacker.example" }, "environment-unknown", {}],
    [{ environment: "mypurecloud.com" }, "environment-mismatch", { secretEnvironment: "mypurecloud.ie" }],
  ];
  for (const [overrides, defect, extra] of cases) {
    assert.equal(cachedTokenDefect(token(overrides), { ...context, ...extra }), defect, defect);
  }
});

function vetter(options: { secretEnvironment?: string } = {}) {
  const clock = new ManualClock(NOW);
  const log = new RecordingLog();
  const metrics = new RecordingMetrics();
  const instance = new TokenVetter({
    clock,
    log: log as Log,
    metrics,
    genesys: { extraEnvironments: [] },
    secretEnvironment: () => options.secretEnvironment,
  });
  return { vetter: instance, clock, log, metrics };
}

test("L1 drops an entry the vetter refuses, and it cannot keep a newer token out", () => {
  const { vetter: check, metrics, log } = vetter({ secretEnvironment: "mypurecloud.ie" });
  const l1 = new L1Cache((credential, cached) => check.accepts({ ...KEY, credential }, cached, "L1"));
  const good = token();
  l1.set("reporting", good);
  assert.equal(l1.get("reporting"), good);
  // Claims a later issuedAt than any real token: without the check it would win every comparison.
  const forged = token({
    environment: "mypurecloud.com",
    issuedAt: NOW,
    expiresAt: NOW + HOUR,
    generation: 9,
  });
  l1.set("reporting", forged);
  assert.equal(l1.get("reporting"), undefined, "refused on read");
  l1.set("reporting", forged);
  l1.set("reporting", good);
  assert.equal(l1.get("reporting"), good, "the refused entry did not keep the real token out");
  assert.ok(metrics.get("CacheItemRejected") >= 2);
  assert.ok(log.matching("environment-mismatch").length >= 1);
  assert.ok(log.lines.every((line) => !line.includes(forged.accessToken)));
});

test("the vetted table strips refused tokens and implausible lease/cap fields from every answer", async () => {
  const { vetter: check, metrics } = vetter();
  const forgedItem: TokenItem = {
    generation: 4,
    token: token({ expiresAt: Date.UTC(2100, 0, 1) }),
    leaseOwner: "forged",
    leaseUntil: Date.UTC(2100, 0, 1),
    lastRejectionMintAt: Date.UTC(2100, 0, 1),
  };
  const inner: TokenTable = {
    read: async () => forgedItem,
    acquireLease: async () => ({ acquired: false, item: forgedItem }),
    writeToken: async () => ({ written: false, item: forgedItem }),
    releaseLease: async () => {},
  };
  const table = new VettedTokenTable(inner, check);
  const lease = { owner: "me", observedGeneration: 4, now: NOW, leaseUntil: NOW + 30_000 };
  const answers = [
    await table.read(KEY),
    ((await table.acquireLease(KEY, lease)) as { item: TokenItem }).item,
    ((await table.writeToken(KEY, token(), 4)) as { item: TokenItem }).item,
  ];
  for (const item of answers) assert.deepEqual(item, { generation: 4 });
  assert.equal(metrics.get("CacheItemRejected"), 9);

  // A plausible item passes untouched.
  const fine: TokenItem = {
    generation: 4,
    token: token(),
    leaseOwner: "x",
    leaseUntil: NOW + 30_000,
    lastRejectionMintAt: NOW,
  };
  const plain = new VettedTokenTable({ ...inner, read: async () => fine }, check);
  assert.deepEqual(await plain.read(KEY), fine);
});
