/**
 * A TCP proxy bound to 127.0.0.1 that can simulate a network outage of whatever is behind it.
 *
 * It sits in front of DynamoDB Local (which listens on every interface and has no host option) so
 * that clients only ever talk to loopback, and so that tests and the drill can make the database
 * disappear the two ways a real network does: connections refused (fast failure) or a black hole
 * (the client's own timeouts are the only way out).
 */
import net from "node:net";

/** How an outage looks from the client side. */
export type OutageMode = "refuse" | "hang";

/** Switches a simulated outage on and off. */
export interface OutageControl {
  /**
   * Starts an outage. `refuse` (default) closes every open connection and resets each new one as
   * soon as it is accepted. `hang` accepts connections but forwards nothing in either direction;
   * open connections go silent too (their upstream side is closed), so in-flight requests time out.
   * Calling it again switches the mode.
   */
  begin(mode?: OutageMode): void;
  /** Ends the outage: silent connections are closed (clients reconnect) and new ones are forwarded. */
  end(): void;
  /** True between `begin` and `end`. */
  readonly active: boolean;
  /** The current mode, or undefined when no outage is active. */
  readonly mode: OutageMode | undefined;
}

/** A running proxy. */
export interface OutageProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  outage: OutageControl;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

/**
 * Starts a proxy on 127.0.0.1 (port 0 = any free port) forwarding to `target` on 127.0.0.1.
 * The target is always reached through loopback, never through another interface.
 */
export async function startOutageProxy(
  target: { port: number },
  options: { port?: number } = {},
): Promise<OutageProxy> {
  let mode: OutageMode | undefined;
  const pairs = new Set<Pair>();

  const closePair = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  /** Keeps the client socket open and reading (so it never sees back-pressure) but answers nothing. */
  const silence = (pair: Pair) => {
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.upstream?.destroy();
    pair.upstream = undefined;
    pair.client.removeAllListeners("data");
    pair.client.on("data", () => {});
    pair.client.resume();
  };

  const server = net.createServer((client) => {
    if (mode === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client };
    pairs.add(pair);
    client.on("error", () => closePair(pair));
    client.on("close", () => closePair(pair));
    if (mode === "hang") {
      silence(pair);
      return;
    }
    const upstream = net.connect({ host: "127.0.0.1", port: target.port });
    pair.upstream = upstream;
    upstream.on("error", () => closePair(pair));
    upstream.on("close", () => {
      // A silenced pair has already dropped its upstream on purpose; the client must stay open.
      if (pair.upstream === upstream) closePair(pair);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("outage proxy: no TCP address");

  const outage: OutageControl = {
    begin(next: OutageMode = "refuse") {
      mode = next;
      for (const pair of [...pairs]) {
        if (next === "refuse") {
          pair.client.resetAndDestroy();
          closePair(pair);
        } else {
          silence(pair);
        }
      }
    },
    end() {
      if (mode === undefined) return;
      mode = undefined;
      // Silent connections carry requests that will never be answered: close them so clients retry.
      for (const pair of [...pairs]) if (pair.upstream === undefined) closePair(pair);
    },
    get active() {
      return mode !== undefined;
    },
    get mode() {
      return mode;
    },
  };

  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    outage,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const pair of [...pairs]) closePair(pair);
      await closed;
    },
  };
}
