/**
 * Plain-fetch helpers for the emulator tests. Deliberately NOT the project's Genesys client: these tests
 * pin the emulator's wire protocol independently of the code that will be tested against it.
 */
import { ManualClock } from "../../lambda/shared/clock.ts";
import {
  type GenesysEmulator,
  type GenesysEmulatorOptions,
  type GenesysState,
  startGenesysEmulator,
} from "../../local/genesys-cloud/emulator.ts";

export const ORG = { id: "9d7c0000-0000-4000-8000-000000000001", name: "Test Org" };
export const ADMIN_ROLE = "9d7c0000-0000-4000-8000-0000000000a1";
export const READER_ROLE = "9d7c0000-0000-4000-8000-0000000000a2";
export const ADMIN = { id: "admin-client", secret: "admin-secret-value-0001" };
export const TARGET = { id: "target-client", secret: "target-secret-value-0001" };
export const CREDENTIAL_ID = "cred-0001";

/** An org with an admin client (oauth + integrations permissions) and a target client (no such permissions). */
export function testState(): GenesysState {
  return {
    organization: { ...ORG },
    roles: [
      {
        id: ADMIN_ROLE,
        name: "Admin",
        permissions: [
          "oauth:client:view",
          "oauth:client:edit",
          "oauth:client:add",
          "oauth:client:delete",
          "integrations:integration:*",
        ],
      },
      { id: READER_ROLE, name: "Reader", permissions: ["routing:queue:view"] },
    ],
    clients: [
      {
        ...ADMIN,
        name: "admin",
        roleDivisions: [{ roleId: ADMIN_ROLE, divisionId: "*" }],
        accessTokenValiditySeconds: 3600,
      },
      { ...TARGET, name: "target", roleDivisions: [{ roleId: READER_ROLE, divisionId: "*" }] },
    ],
    integrationCredentials: [
      {
        id: CREDENTIAL_ID,
        name: "Data Actions",
        type: "pureCloudOAuthClient",
        credentialFields: { clientId: TARGET.id, clientSecret: TARGET.secret },
      },
    ],
  };
}

/** Starts an emulator on a ManualClock with the test state; the caller stops it. */
export async function startTestEmulator(
  options: GenesysEmulatorOptions = {},
): Promise<GenesysEmulator & { clock: ManualClock }> {
  const clock = new ManualClock();
  const emulator = await startGenesysEmulator({ state: testState(), clock, ...options });
  return emulator as GenesysEmulator & { clock: ManualClock };
}

/** `POST /oauth/token` exactly as the official SDKs send it (Basic auth, form body). */
export function requestToken(
  url: string,
  clientId: string,
  clientSecret: string,
  options: { body?: string; authorization?: string; contentType?: string } = {},
): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: {
      authorization:
        options.authorization ?? `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
      "content-type": options.contentType ?? "application/x-www-form-urlencoded",
    },
    body: options.body ?? "grant_type=client_credentials",
  });
}

/** Mints a token and returns it (asserting success). */
export async function mint(url: string, clientId: string, clientSecret: string): Promise<string> {
  const response = await requestToken(url, clientId, clientSecret);
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || typeof body.access_token !== "string") {
    throw new Error(`token request for ${clientId} failed with HTTP ${response.status}`);
  }
  return body.access_token;
}

/** A Platform API call with a bearer token and an optional JSON body. */
export function api(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Reads a JSON body as a loose record. */
export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
