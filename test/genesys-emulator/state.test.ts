import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  type GenesysState,
  GenesysStateError,
  parseGenesysState,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";
import { ADMIN, mint, READER_ROLE, requestToken, startTestEmulator, TARGET, testState } from "./support.ts";

describe("state file validation", () => {
  /** The test state with one value replaced (or removed, for `undefined`) at a JSON path. */
  const withChange = (path: (string | number)[], value: unknown): unknown => {
    const state: unknown = structuredClone(testState());
    let node = state as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const last = path.at(-1)!;
    if (value === undefined) delete node[last];
    else node[last] = value;
    return state;
  };

  const rejection = (raw: unknown): GenesysStateError => {
    try {
      parseGenesysState(raw);
    } catch (error) {
      assert.ok(error instanceof GenesysStateError);
      assert.equal(error.name, "GenesysStateError");
      assert.equal(error.retryable, false);
      for (const client of testState().clients) assert.equal(error.message.includes(client.secret), false);
      return error;
    }
    assert.fail("expected GenesysStateError");
  };

  it("accepts the test state and the documented example", () => {
    assert.equal(parseGenesysState(testState()).clients.length, 2);
    const example = readFileSync(
      new URL("../../local/genesys-cloud/example-state.json", import.meta.url),
      "utf8",
    );
    assert.equal(parseGenesysState(JSON.parse(example)).clients.length, 4);
  });

  it("names the offending field and the rule, never a secret", () => {
    const cases: [(string | number)[], unknown, string, RegExp][] = [
      [["organization"], undefined, "organization", /JSON object/],
      [["organization", "name"], "", "organization.name", /non-empty/],
      [["roles", 1, "permissions"], ["not a permission"], "roles[1].permissions[0]", /domain:entity:action/],
      [["clients", 1, "secret"], "has whitespace", "clients[1].secret", /printable ASCII/],
      [["clients", 0, "secret"], undefined, "clients[0].secret", /printable ASCII/],
      [
        ["clients", 0, "roleDivisions", 0, "roleId"],
        "ghost",
        "clients[0].roleDivisions[0].roleId",
        /role in roles/,
      ],
      [
        ["clients", 0, "accessTokenValiditySeconds"],
        60,
        "clients[0].accessTokenValiditySeconds",
        /300 to 172800/,
      ],
      [["clients", 0, "state"], "deleted", "clients[0].state", /active, inactive, disabled/],
      [["clients", 1, "id"], ADMIN.id, "clients[1].id", /unique/],
      // The secret schema's id rule: a client the emulator serves must be storable in a secret value.
      [["clients", 0, "id"], "client.one", "clients[0].id", /\[A-Za-z0-9-\]/],
      [["clients", 0, "id"], "client_one", "clients[0].id", /\[A-Za-z0-9-\]/],
      [["roles", 0, "id"], "x".repeat(129), "roles[0].id", /1-128/],
      [["clients", 0, "scopes"], [], "clients[0].scopes", /not a known key/],
      [
        ["integrationCredentials", 0, "credentialFields", "clientSecret"],
        7,
        "integrationCredentials[0].credentialFields.clientSecret",
        /string/,
      ],
    ];
    for (const [path, value, field, rule] of cases) {
      const error = rejection(withChange(path, value));
      assert.equal(error.field, field);
      assert.match(error.message, rule);
    }
  });
});

describe("state API", () => {
  it("addClient generates an id and a Genesys-shaped secret that works at once", async () => {
    const emulator = await startTestEmulator({ propagationDelayMs: 60_000 });
    try {
      const client = emulator.state.addClient({
        name: "generated",
        roleDivisions: [{ roleId: READER_ROLE, divisionId: "*" }],
      });
      assert.match(client.id, /^[0-9a-f-]{36}$/);
      assert.match(client.secret, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(emulator.issued.secrets.has(client.secret));
      assert.equal((await requestToken(emulator.url, client.id, client.secret)).status, 200);
      assert.throws(
        () => emulator.state.addClient({ id: client.id, name: "dup", roleDivisions: [] }),
        GenesysStateError,
      );
    } finally {
      await emulator.stop();
    }
  });

  it("snapshot() round-trips through parseGenesysState with the current secrets", async () => {
    const emulator = await startTestEmulator();
    try {
      const regenerated = emulator.state.regenerateSecret(TARGET.id);
      const snapshot: GenesysState = parseGenesysState(JSON.parse(JSON.stringify(emulator.state.snapshot())));
      assert.equal(snapshot.clients.find((client) => client.id === TARGET.id)?.secret, regenerated.secret);
      assert.equal(snapshot.clients.find((client) => client.id === ADMIN.id)?.secret, ADMIN.secret);
    } finally {
      await emulator.stop();
    }
  });

  it("issued never prints its values and finds them in text", async () => {
    const emulator = await startTestEmulator();
    try {
      const token = await mint(emulator.url, ADMIN.id, ADMIN.secret);
      const dump = JSON.stringify(emulator.issued);
      assert.equal(dump.includes(token) || dump.includes(ADMIN.secret), false);
      assert.deepEqual(emulator.issued.occurrencesIn(`log line with ${token}`), {
        secrets: 0,
        accessTokens: 1,
      });
      assert.deepEqual(emulator.issued.occurrencesIn(`log line with ${ADMIN.secret}`), {
        secrets: 1,
        accessTokens: 0,
      });
    } finally {
      await emulator.stop();
    }
  });
});

describe("emulator lifecycle", () => {
  it("refuses non-loopback hosts and invalid knobs", async () => {
    await assert.rejects(startGenesysEmulator({ host: "0.0.0.0" as "127.0.0.1" }), {
      name: "ConfigurationError",
    });
    await assert.rejects(startGenesysEmulator({ tokenLifetimeSeconds: 0 }), /tokenLifetimeSeconds/);
    await assert.rejects(startGenesysEmulator({ propagationDelayMs: -1 }), /propagationDelayMs/);
  });

  it("stop() closes keep-alive connections and is idempotent", async () => {
    const emulator = await startTestEmulator();
    await mint(emulator.url, ADMIN.id, ADMIN.secret); // leaves a keep-alive socket open
    await Promise.all([emulator.stop(), emulator.stop()]);
    await assert.rejects(fetch(`${emulator.url}/api/v2/tokens/me`));
  });
});
