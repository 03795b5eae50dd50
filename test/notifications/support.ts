/**
 * Helpers of the notifications suites: a token source that mints straight from the Genesys emulator
 * (the helper's tests that do not need the vendor), a WebSocket probe that records what a channel sends,
 * and a wait that polls a condition (never a fixed sleep: the machine may be slow).
 */
import { setTimeout as delay } from "node:timers/promises";
import WebSocket from "ws";
import type { GetTokenOptions, TokenSource, VendedToken } from "../../lambda/client/index.ts";
import type { GenesysEmulator } from "../../local/genesys-cloud/emulator.ts";
import { requestToken } from "../genesys-emulator/support.ts";

/** A `TokenSource` that mints from the emulator with client credentials; counts reports of rejected tokens. */
export class EmulatorTokenSource implements TokenSource {
  readonly rejected: string[] = [];
  readonly issued: string[] = [];
  #current: string | undefined;

  constructor(
    private readonly emulator: GenesysEmulator,
    private readonly client: { id: string; secret: string },
  ) {}

  async getToken(options: GetTokenOptions = {}): Promise<VendedToken> {
    if (options.rejectedToken !== undefined) {
      this.rejected.push(options.rejectedToken);
      if (this.#current === options.rejectedToken) this.#current = undefined;
    }
    if (this.#current === undefined) {
      const response = await requestToken(this.emulator.url, this.client.id, this.client.secret);
      const body = (await response.json()) as { access_token: string; expires_in: number };
      if (!response.ok) throw new Error(`token request answered ${response.status}`);
      this.#current = body.access_token;
      this.issued.push(body.access_token);
    }
    return {
      accessToken: this.#current,
      tokenType: "Bearer",
      expiresAt: new Date(this.emulator.clock.now() + 3_600_000).toISOString(),
      expiresInSeconds: 3600,
      environment: "emulated",
      apiBaseUrl: this.emulator.url,
    };
  }

  invalidate(token: string | VendedToken): void {
    const value = typeof token === "string" ? token : token.accessToken;
    if (this.#current === value) this.#current = undefined;
  }
}

/** A raw WebSocket on a channel's connectUri that records every message (parsed JSON) and the close. */
export class SocketProbe {
  readonly messages: Record<string, unknown>[] = [];
  closed: { code: number } | undefined;
  readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) =>
      this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>),
    );
    socket.on("close", (code) => {
      this.closed = { code };
    });
  }

  static async connect(connectUri: string): Promise<SocketProbe> {
    const socket = new WebSocket(connectUri);
    const probe = new SocketProbe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return probe;
  }

  /** Messages whose topicName is `topic` (and, for channel.metadata, whose message is `message`). */
  of(topic: string, message?: string): Record<string, unknown>[] {
    return this.messages.filter(
      (m) =>
        m.topicName === topic &&
        (message === undefined || (m.eventBody as { message?: unknown } | undefined)?.message === message),
    );
  }

  close(): void {
    this.socket.terminate();
  }
}

/** Polls `condition` every few ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Calls the Notifications API with a bearer token (plain fetch: the tests pin the wire format). */
export async function api(
  emulator: GenesysEmulator,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === "" ? undefined : JSON.parse(text),
    headers: response.headers,
  };
}
