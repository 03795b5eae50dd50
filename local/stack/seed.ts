/**
 * The local stack's seeded organisation (named after the drill, its first user): a self-managed admin pair, the application pair (alternating) and a
 * single client, with fixed fake ids and secrets (emulator fixtures, not credentials), and the secret
 * values Secrets Manager starts with.
 */
import type { CredentialSecret, Strategy } from "../../lambda/shared/secret-value.ts";
import type { GenesysState } from "../genesys-cloud/emulator.ts";

/** The Genesys domain the seeded secrets name; the endpoint override sends it to the emulator. */
export const DRILL_ENVIRONMENT = "mypurecloud.ie";

/** Fixed ids of the seeded organisation (fake values for an emulator, not credentials). */
export const DRILL_IDS = {
  organization: "d7111000-0000-4000-8000-000000000001",
  adminRole: "d7111000-0000-4000-8000-0000000000a1",
  appRole: "d7111000-0000-4000-8000-0000000000a2",
  adminA: "d7111000-0000-4000-8000-00000000ad0a",
  adminB: "d7111000-0000-4000-8000-00000000ad0b",
  appA: "d7111000-0000-4000-8000-0000000a990a",
  appB: "d7111000-0000-4000-8000-0000000a990b",
  single: "d7111000-0000-4000-8000-00000051e001",
} as const;

/** Short names for the summary ("active client: app-a → app-b"). */
export const CLIENT_LABELS: Readonly<Record<string, string>> = {
  [DRILL_IDS.adminA]: "admin-a",
  [DRILL_IDS.adminB]: "admin-b",
  [DRILL_IDS.appA]: "app-a",
  [DRILL_IDS.appB]: "app-b",
  [DRILL_IDS.single]: "single",
};

/** The seeded organisation: a self-managed admin pair, the application pair and a single client. */
export function drillGenesysState(): GenesysState {
  const admin = [{ roleId: DRILL_IDS.adminRole, divisionId: "*" }];
  const app = [{ roleId: DRILL_IDS.appRole, divisionId: "*" }];
  return {
    organization: { id: DRILL_IDS.organization, name: "Drill Org" },
    roles: [
      {
        id: DRILL_IDS.adminRole,
        name: "Rotation Admin",
        permissions: ["oauth:client:view", "oauth:client:edit"],
      },
      { id: DRILL_IDS.appRole, name: "Reporting", permissions: ["analytics:conversationDetail:view"] },
    ],
    clients: [
      { id: DRILL_IDS.adminA, name: "drill-admin-a", secret: fakeSecret("admin-a"), roleDivisions: admin },
      { id: DRILL_IDS.adminB, name: "drill-admin-b", secret: fakeSecret("admin-b"), roleDivisions: admin },
      { id: DRILL_IDS.appA, name: "drill-app-a", secret: fakeSecret("app-a"), roleDivisions: app },
      { id: DRILL_IDS.appB, name: "drill-app-b", secret: fakeSecret("app-b"), roleDivisions: app },
      { id: DRILL_IDS.single, name: "drill-single", secret: fakeSecret("single"), roleDivisions: app },
    ],
  };
}

/** A well-formed fake secret for the emulator seed (an emulator fixture, not a credential). */
export function fakeSecret(label: string): string {
  return `drill-seed-${label}-`.padEnd(43, "x");
}

/** The seeded admin credential (self-managed alternating pair). */
export function adminSecretValue(): CredentialSecret {
  return {
    environment: DRILL_ENVIRONMENT,
    clientId: DRILL_IDS.adminA,
    clientSecret: fakeSecret("admin-a"),
    strategy: "alternating",
    alternateClientId: DRILL_IDS.adminB,
  };
}

/** The seeded application credential for `strategy`, managed by the admin secret `adminSecretArn`. */
export function appSecretValue(strategy: Strategy, adminSecretArn: string): CredentialSecret {
  return strategy === "single"
    ? {
        environment: DRILL_ENVIRONMENT,
        clientId: DRILL_IDS.single,
        clientSecret: fakeSecret("single"),
        strategy,
        adminSecretArn,
      }
    : {
        environment: DRILL_ENVIRONMENT,
        clientId: DRILL_IDS.appA,
        clientSecret: fakeSecret("app-a"),
        strategy,
        alternateClientId: DRILL_IDS.appB,
        adminSecretArn,
      };
}
