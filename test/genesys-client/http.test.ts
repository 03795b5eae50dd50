import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import { GenesysProtocolError, GenesysTransientError } from "../../lambda/shared/genesys/errors.ts";
import {
  closeSharedDispatcher,
  type GenesysHttpRequest,
  sendGenesysRequest,
} from "../../lambda/shared/genesys/http.ts";
import { errorForStatus } from "../../lambda/shared/genesys/responses.ts";
import { parseRetryAfter } from "../../lambda/shared/retry-after.ts";
import { SteppingClock } from "../support/stepping-clock.ts";

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it("reads delay-seconds", () => {
    assert.equal(parseRetryAfter("42", now), 42_000);
    assert.equal(parseRetryAfter(" 0 ", now), 0);
  });

  it("reads an HTTP-date relative to now, never negative", () => {
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 11:00:00 GMT", now), 0);
  });

  it("ignores absent or malformed values", () => {
    for (const value of [undefined, "", "-1", "1.5", "soon", "12abc"]) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
  });
});

describe("sendGenesysRequest", () => {
  /** Scripted responses, consumed in order; the last one repeats. */
  let script: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
  let received = 0;
  let server: Server;
  let url: string;
  const clock = new SteppingClock();

  before(async () => {
    server = createServer((req, res) => {
      const step = script[Math.min(received, script.length - 1)]!;
      received += 1;
      req.resume();
      req.on("end", () => step(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeSharedDispatcher();
  });
  beforeEach(() => {
    received = 0;
    clock.sleeps.length = 0;
  });

  const request = (idempotent = true): GenesysHttpRequest => ({
    operation: "GET /api/v2/test",
    method: "GET",
    url: `${url}/api/v2/test`,
    headers: {},
    idempotent,
  });
  const send = (idempotent = true, options = {}) =>
    sendGenesysRequest(
      request(idempotent),
      (response) => {
        if (response.status !== 200) throw errorForStatus(response);
        return response.body;
      },
      { clock, ...options },
    );
  const reply =
    (status: number, body = "{}", headers: Record<string, string> = {}) =>
    (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(body);
    };

  it("honours an HTTP-date Retry-After on a 429", async () => {
    const retryAt = new Date(clock.now() + 7_000).toUTCString();
    script = [reply(429, "{}", { "retry-after": retryAt }), reply(200, "ok")];
    assert.equal(await send(), "ok");
    assert.equal(clock.sleeps.length, 1);
    // The HTTP-date has one-second resolution.
    assert.ok(clock.sleeps[0]! > 6_000 && clock.sleeps[0]! <= 7_000, String(clock.sleeps[0]));
  });

  it("honours Retry-After on a 503 and keeps the correlation id of the failure", async () => {
    script = [
      reply(503, '{"code":"service.unavailable"}', { "retry-after": "2", "inin-correlation-id": "abc-123" }),
    ];
    await assert.rejects(send(true, { maxAttempts: 2 }), (error: unknown) => {
      assert.ok(error instanceof GenesysTransientError);
      assert.equal(error.correlationId, "abc-123");
      assert.equal(error.genesysCode, "service.unavailable");
      return true;
    });
    assert.deepEqual(clock.sleeps, [2_000]);
    assert.equal(received, 2);
  });

  it("does not retry a non-idempotent request after a 5xx", async () => {
    script = [reply(502), reply(200, "ok")];
    await assert.rejects(send(false), GenesysTransientError);
    assert.equal(received, 1);
  });

  it("sends nothing when the deadline has already passed", async () => {
    script = [reply(200, "ok")];
    await assert.rejects(send(true, { deadline: clock.now() - 1 }), /deadline passed/);
    assert.equal(received, 0);
  });

  it("refuses an oversized body as a protocol error", async () => {
    script = [reply(200, "x".repeat(1024 * 1024 + 1))];
    await assert.rejects(send(), GenesysProtocolError);
    assert.equal(received, 1, "a protocol error is not retried");
  });

  it("never puts Genesys' free-text message into the error (it may echo request fields)", async () => {
    script = [reply(400, JSON.stringify({ code: "bad.request", message: "Value [s3cr3t-echo] is invalid" }))];
    await assert.rejects(send(), (error: unknown) => {
      assert.ok(error instanceof GenesysProtocolError);
      assert.equal(error.genesysCode, "bad.request");
      assert.ok(!error.message.includes("s3cr3t-echo"));
      return true;
    });
  });
});
