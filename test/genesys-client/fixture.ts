/**
 * Starts the Genesys emulator with a small organisation for the client tests, on a SteppingClock shared
 * with the client, and builds endpoints that point at it.
 */

import { type GenesysEndpoints, resolveEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { closeSharedDispatcher } from "../../lambda/shared/genesys/http.ts";
import type { Log } from "../../lambda/shared/log.ts";
import {
  type GenesysEmulator,
  type GenesysEmulatorOptions,
  type GenesysState,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";
import { SteppingClock } from "../support/stepping-clock.ts";

export const ORG = { id: "5e0c0000-0000-4000-8000-000000000001", name: "Client Test Org" };
const ADMIN_ROLE = "5e0c0000-0000-4000-8000-0000000000a1";
const READER_ROLE = "5e0c0000-0000-4000-8000-0000000000a2";
export const ROLE_DIVISIONS = [{ roleId: READER_ROLE, divisionId: "*" }];
/** Holds oauth:client:* and integration permissions. */
export const ADMIN = {
  id: "5e0c0000-0000-4000-8000-00000000ad01",
  secret: "Adm1n-s3cret-Zq3V9xL0tR7mKp2Wc8Hn4Jy6Ud1Fs5",
};
/** A reader with no oauth permissions: the target of rotations. */
export const TARGET = {
  id: "5e0c0000-0000-4000-8000-00000000c0b1",
  secret: "T4rget-s3cret-Nw8pX2mQ7vK4tB9zR1cL6yH3dS5f",
};
export const INACTIVE = {
  id: "5e0c0000-0000-4000-8000-00000000c0b2",
  secret: "In4ctive-s3cret-Kd9Lm2Qp7Rt4Vx8Za1Bc3De5Fg",
};
export const CREDENTIAL_ID = "5e0c0000-0000-4000-8000-0000000000cc";

function clientTestState(): GenesysState {
  return {
    organization: { ...ORG },
    roles: [
      {
        id: ADMIN_ROLE,
        name: "Rotator Admin",
        permissions: ["oauth:client:*", "integrations:integration:view", "integrations:integration:edit"],
      },
      { id: READER_ROLE, name: "Reader", permissions: ["routing:queue:view"] },
    ],
    clients: [
      { ...ADMIN, name: "rotator-admin", roleDivisions: [{ roleId: ADMIN_ROLE, divisionId: "*" }] },
      { ...TARGET, name: "reporting", roleDivisions: ROLE_DIVISIONS, accessTokenValiditySeconds: 3600 },
      { ...INACTIVE, name: "retired", roleDivisions: ROLE_DIVISIONS, state: "inactive" },
    ],
    integrationCredentials: [
      {
        id: CREDENTIAL_ID,
        name: "Data Actions (reporting)",
        type: "pureCloudOAuthClient",
        credentialFields: { clientId: TARGET.id, clientSecret: TARGET.secret },
      },
    ],
  };
}

export interface ClientFixture {
  emulator: GenesysEmulator;
  clock: SteppingClock;
  endpoints: GenesysEndpoints;
  /** Clears the emulator's faults and the clock's recorded sleeps (call in `beforeEach`). */
  reset(): void;
  /** Stops the emulator and closes the client's shared connections (call in `after`). */
  stop(): Promise<void>;
}

/** Starts an emulator; the caller stops it (`after(() => fixture.stop())`). */
export async function startClientFixture(options: GenesysEmulatorOptions = {}): Promise<ClientFixture> {
  const clock = new SteppingClock();
  const emulator = await startGenesysEmulator({ state: clientTestState(), clock, ...options });
  const endpoints = resolveEndpoints("mypurecloud.ie", {
    endpointOverride: emulator.url,
    extraEnvironments: [],
  });
  return {
    emulator,
    clock,
    endpoints,
    reset() {
      emulator.faults.reset();
      clock.sleeps.length = 0;
    },
    async stop() {
      await emulator.stop();
      await closeSharedDispatcher();
    },
  };
}

/** A Log that keeps every call, for asserting on retries. */
export class RecordingLog implements Log {
  readonly entries: { level: string; message: string; extra: object[] }[] = [];
  debug(message: string, ...extra: object[]) {
    this.entries.push({ level: "debug", message, extra });
  }
  info(message: string, ...extra: object[]) {
    this.entries.push({ level: "info", message, extra });
  }
  warn(message: string, ...extra: object[]) {
    this.entries.push({ level: "warn", message, extra });
  }
  error(message: string, ...extra: object[]) {
    this.entries.push({ level: "error", message, extra });
  }
  /** How many retries were logged. */
  retries(): number {
    return this.entries.filter((entry) => entry.message.includes("retrying")).length;
  }
}
