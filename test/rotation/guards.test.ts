/**
 * The confused-deputy guards that run BEFORE the admin regenerates anything
 * (lambda/rotation/regeneration-guards.ts, `guardBeforeRegeneration`): a writer of a rotated secret who cannot read the admin secret must not
 * obtain or destroy any secret beyond the one of the client the value proves to hold. Each test forges a
 * value the way such a writer could, and checks that nothing in Genesys was regenerated.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { RotationGenesysApi } from "../../lambda/rotation/context.ts";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import { createGenesysGateway, type GenesysGateway } from "../../lambda/shared/genesys/gateway.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import type { CredentialSecret } from "../../lambda/shared/secret-value.ts";
import {
  type RotationStack,
  STACK_IDS,
  STACK_SECRET_NAMES,
  stackEndpoints,
  startRotationStack,
} from "../support/rotation-stack.ts";
import { SteppingClock } from "../support/stepping-clock.ts";
import { recordingLog, staged, waitFor } from "./helpers.ts";

/** Writes a new AWSCURRENT value by hand (as a secret editor can), outside any rotation. */
async function forge(stack: RotationStack, secretId: string, value: object): Promise<void> {
  await stack.client.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }),
  );
}

/** The empty AWSPENDING placeholder of a failed rotation is still empty (createSecret stored nothing). */
async function pendingIsEmpty(stack: RotationStack, secretId: string): Promise<boolean> {
  const pending = Object.entries(await stack.stages(secretId)).find(
    ([, labels]) => labels.includes("AWSPENDING") && !labels.includes("AWSCURRENT"),
  )?.[0];
  if (pending === undefined) return true;
  try {
    await stack.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: pending }));
    return false;
  } catch (error) {
    return (error as Error).name === "ResourceNotFoundException";
  }
}

/** A Platform API client acting as the admin credential (to edit clients as an operator would). */
async function adminApi(stack: RotationStack): Promise<GenesysApi> {
  const admin = await staged(stack, stack.secrets.admin);
  const endpoints = stackEndpoints(stack.genesys.url);
  const token = await requestClientCredentialsToken({ endpoints, ...admin });
  return new GenesysApi(endpoints, token.accessToken);
}

describe("the target must not be a client of the admin credential", () => {
  let stack: RotationStack;
  before(async () => {
    stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
  });
  after(() => stack?.stop());

  const cases = [
    // The reviewer's reproduction: working app credentials, alternateClientId = the admin's ACTIVE client.
    { secret: "app", field: "alternateClientId", client: STACK_IDS.adminA },
    { secret: "app", field: "alternateClientId", client: STACK_IDS.adminB },
    // Ids compared without case: Genesys may resolve an upper-cased id to the admin's client.
    { secret: "app", field: "alternateClientId", client: STACK_IDS.adminA.toUpperCase() },
    { secret: "single", field: "clientId", client: STACK_IDS.adminB },
  ] as const;
  for (const { secret, field, client } of cases) {
    test(`${secret}: ${field} = admin client ${client.slice(-4)} → TargetIsAdminClientError, nothing regenerated`, async () => {
      const secretId = stack.secrets[secret];
      const original = await staged(stack, secretId);
      const adminBefore = await staged(stack, stack.secrets.admin);
      try {
        await forge(stack, secretId, { ...original, [field]: client });
        const outcome = await stack.rotate(secretId);
        assert.equal(outcome.eventName, "RotationFailed");
        assert.equal(outcome.step, "createSecret");
        assert.match(
          outcome.cause ?? "",
          new RegExp(`^TargetIsAdminClientError: .*field "${field}" names client ${client}`),
        );
        assert.equal(stack.genesys.counters.regenerations(), 0);
        assert.equal(await pendingIsEmpty(stack, secretId), true, "no admin secret was staged in AWSPENDING");
        assert.deepEqual(await staged(stack, stack.secrets.admin), adminBefore);
        assert.equal(await stack.mints(adminBefore), true, "the admin's AWSCURRENT still works");
      } finally {
        await abandonAndRestore(stack, secretId, original);
      }
    });
  }

  test("the admin pair rotating itself still regenerates its own twin", async () => {
    const outcome = await stack.rotate(stack.secrets.admin);
    assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    assert.equal((await staged(stack, stack.secrets.admin)).clientId, STACK_IDS.adminB);
  });
});

/** Removes a stuck AWSPENDING and puts the original value back (outside a rotation). */
async function abandonAndRestore(stack: RotationStack, secretId: string, original: CredentialSecret) {
  const stuck = Object.entries(await stack.stages(secretId)).find(
    ([, labels]) => labels.includes("AWSPENDING") && !labels.includes("AWSCURRENT"),
  )?.[0];
  if (stuck !== undefined) {
    await stack.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: "AWSPENDING",
        RemoveFromVersionId: stuck,
      }),
    );
  }
  await forge(stack, secretId, original);
}

/**
 * A gateway on which tokens of the `foreign` clients report another organisation in
 * `GET /api/v2/tokens/me`: the emulator models one organisation, so this stands in for an admin secret
 * of another organisation that `adminSecretArn` points at.
 */
function foreignOrganizationGateway(
  stack: RotationStack,
  foreign: readonly string[],
): GenesysGateway<RotationGenesysApi> {
  const gateway = createGenesysGateway({
    extraEnvironments: [],
    endpointOverride: stack.genesys.url,
    clock: stack.clock,
    log: recordingLog(),
  });
  const foreignTokens = new Set<string>();
  return {
    endpoints: (environment) => gateway.endpoints(environment),
    async requestToken(endpoints, clientId, clientSecret, limits) {
      const token = await gateway.requestToken(endpoints, clientId, clientSecret, limits);
      if (foreign.includes(clientId)) foreignTokens.add(token.accessToken);
      return token;
    },
    api(endpoints, accessToken) {
      const api = gateway.api(endpoints, accessToken);
      if (!foreignTokens.has(accessToken)) return api;
      return {
        getOAuthClient: (id) => api.getOAuthClient(id),
        regenerateClientSecret: (id) => api.regenerateClientSecret(id),
        getIntegrationCredential: (id) => api.getIntegrationCredential(id),
        updateIntegrationCredential: (id, update) => api.updateIntegrationCredential(id, update),
        async getTokenInfo() {
          const info = await api.getTokenInfo();
          const organization = { id: "0b0e0000-0000-4000-8000-0000000000ff", name: "Another Org" };
          return { ...info, organization, OAuthClient: { ...info.OAuthClient, organization } };
        },
      };
    },
  };
}

test("adminSecretArn naming the admin of another organisation → OrganizationMismatchError, nothing regenerated", async () => {
  const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
  try {
    stack.setRotationFunction(
      stack.createHandler({
        genesys: foreignOrganizationGateway(stack, [STACK_IDS.adminA, STACK_IDS.adminB]),
      }),
    );
    for (const secretId of [stack.secrets.app, stack.secrets.single]) {
      const outcome = await stack.rotate(secretId);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "createSecret");
      assert.match(
        outcome.cause ?? "",
        new RegExp(
          `^OrganizationMismatchError: .*belongs to organisation ${STACK_IDS.organization}, but the admin credential .* to organisation 0b0e0000-0000-4000-8000-0000000000ff`,
        ),
      );
    }
    assert.equal(stack.genesys.counters.regenerations(), 0);
  } finally {
    await stack.stop();
  }
});

describe("alternating: the twins are checked before the regeneration, and again in testSecret", () => {
  test("an inactive twin is never regenerated (PendingClientStateError at createSecret)", async () => {
    const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
    try {
      stack.genesys.state.setClientState(STACK_IDS.appB, "inactive");
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.eventName, "RotationFailed");
      assert.equal(outcome.step, "createSecret");
      assert.match(
        outcome.cause ?? "",
        /^PendingClientStateError: .*client 0b0e0000-0000-4000-8000-0000000a990b \(alternateClientId\) is inactive/,
      );
      assert.equal(stack.genesys.counters.regenerations(), 0);
    } finally {
      await stack.stop();
    }
  });

  test("a twin that does not exist is never regenerated", async () => {
    const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
    try {
      const original = await staged(stack, stack.secrets.app);
      await forge(stack, stack.secrets.app, {
        ...original,
        alternateClientId: "0b0e0000-0000-4000-8000-00000000dead",
      });
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.step, "createSecret");
      assert.match(
        outcome.cause ?? "",
        /^PendingClientStateError: .*client 0b0e0000-0000-4000-8000-00000000dead does not exist/,
      );
      assert.equal(stack.genesys.counters.regenerations(), 0);
    } finally {
      await stack.stop();
    }
  });

  test("drift that appears after createSecret still fails testSecret; AWSCURRENT unchanged", async () => {
    const stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
    try {
      const before = await staged(stack, stack.secrets.app);
      const handler = stack.createHandler();
      stack.setRotationFunction(async (event) => {
        if (event.Step === "testSecret") {
          const api = await adminApi(stack);
          const twin = await api.getOAuthClient(STACK_IDS.appB);
          await api.updateOAuthClient(STACK_IDS.appB, {
            name: twin.name,
            authorizedGrantType: "CLIENT-CREDENTIALS",
            accessTokenValiditySeconds: 7200,
            roleDivisions: twin.roleDivisions,
            state: "active",
          });
        }
        await handler(event);
      });
      const outcome = await stack.rotate(stack.secrets.app);
      assert.equal(outcome.step, "testSecret");
      assert.match(outcome.cause ?? "", /^RoleDriftError: .*accessTokenValiditySeconds differs/);
      assert.deepEqual(await staged(stack, stack.secrets.app), before);
    } finally {
      await stack.stop();
    }
  });
});

describe("ADMIN_SECRET_ARNS pins each secret's admin at deploy time", () => {
  let stack: RotationStack;
  /** SecretIds of every GetSecretValue the rotation function made. */
  const reads: string[] = [];
  before(async () => {
    stack = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog(), pinAdminSecrets: true });
    const client = new SecretsManagerClient(stack.secretsManager.clientConfig);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "GetSecretValueCommand") {
          reads.push((args.input as { SecretId: string }).SecretId);
        }
        return next(args);
      },
      { step: "initialize", name: "recordReads" },
    );
    stack.setRotationFunction(stack.createHandler({ secretsManager: client }));
  });
  after(() => stack?.stop());

  test("values that name their pinned admin rotate (app, single, the admin itself)", async () => {
    for (const secretId of [stack.secrets.app, stack.secrets.single, stack.secrets.admin]) {
      const outcome = await stack.rotate(secretId);
      assert.equal(outcome.eventName, "RotationSucceeded", outcome.cause);
    }
  });

  const refusals = [
    {
      name: "adminSecretArn naming another secret the function can read",
      secret: "app",
      edit: (value: CredentialSecret, stack: RotationStack) => ({
        ...value,
        adminSecretArn: stack.secrets.single,
      }),
      cause:
        /^AdminSecretPinError: .*field "adminSecretArn" names .*genesys\/single.*, but ADMIN_SECRET_ARNS pins admin secret .*genesys\/admin/,
    },
    {
      name: "adminSecretArn removed (the pair would manage itself)",
      secret: "app",
      edit: ({ adminSecretArn: _, ...value }: CredentialSecret) => value,
      cause:
        /^AdminSecretPinError: .*field "adminSecretArn" is absent, but ADMIN_SECRET_ARNS pins admin secret/,
    },
    {
      name: "adminSecretArn added to the self-managed admin pair",
      secret: "admin",
      edit: (value: CredentialSecret, stack: RotationStack) => ({
        ...value,
        adminSecretArn: stack.secrets.app,
      }),
      cause:
        /^AdminSecretPinError: .*field "adminSecretArn" must be absent: the secret is pinned as a self-managed pair/,
    },
  ] as const;
  for (const refusal of refusals) {
    test(`refused before the admin secret is read: ${refusal.name}`, async () => {
      const secretId = stack.secrets[refusal.secret];
      const original = await staged(stack, secretId);
      try {
        await forge(stack, secretId, refusal.edit(original, stack));
        reads.length = 0;
        const regenerations = stack.genesys.counters.regenerations();
        const outcome = await stack.rotate(secretId);
        assert.equal(outcome.eventName, "RotationFailed");
        assert.match(outcome.cause ?? "", refusal.cause);
        assert.deepEqual(
          reads.filter((read) => read !== secretId),
          [],
          "no other secret (admin or decoy) was read",
        );
        assert.equal(stack.genesys.counters.regenerations(), regenerations);
      } finally {
        await abandonAndRestore(stack, secretId, original);
      }
    });
  }

  test("a secret the pins do not list is refused", async () => {
    const unlisted = await startRotationStack({ maxRotationAttempts: 1, log: recordingLog() });
    try {
      unlisted.handlerEnvironment.ADMIN_SECRET_ARNS = JSON.stringify({ [STACK_SECRET_NAMES.admin]: "" });
      const outcome = await unlisted.rotate(unlisted.secrets.app);
      assert.match(
        outcome.cause ?? "",
        /^AdminSecretPinError: .*ADMIN_SECRET_ARNS is set but has no entry for this secret/,
      );
      assert.equal(unlisted.genesys.counters.regenerations(), 0);
    } finally {
      await unlisted.stop();
    }
  });
});

describe("single: a dead AWSCURRENT is never regenerated, whatever the client's dateModified says", () => {
  /**
   * A rotation fails before any regeneration and stays stuck (AWSPENDING empty). `delayMs` later an
   * operator edits the single client (dateModified moves) and someone moves AWSCURRENT to a dead value
   * without abandoning the rotation (UpdateSecretVersionStage) — a value written before the rotation
   * started, or during it. When the stuck rotation is reattempted, the client looks "modified during this
   * rotation"; only the evidence window and the age of AWSCURRENT's version tell it from our own lost put.
   */
  async function reattemptAfter(delayMs: number, forgedVersionWritten: "before" | "during") {
    const clock = new SteppingClock();
    const stack = await startRotationStack({ clock, maxRotationAttempts: 1, log: recordingLog() });
    try {
      const dead = {
        ...(await staged(stack, stack.secrets.single)),
        clientSecret: "dead-secret-value-xxxxxxxxxxxxxxxxxxxxxxxx",
      };
      const writeForged = async () =>
        stack.client.send(
          new PutSecretValueCommand({
            SecretId: stack.secrets.single,
            SecretString: JSON.stringify(dead),
            VersionStages: ["FORGED"],
          }),
        );
      let forged = forgedVersionWritten === "before" ? await writeForged() : undefined;
      const handler = stack.createHandler();
      stack.setRotationFunction(async () => {
        throw new Error("throttled before anything happened");
      });
      const first = await stack.rotate(stack.secrets.single);
      assert.equal(first.eventName, "RotationFailed");
      stack.setRotationFunction(handler);

      clock.advance(delayMs);
      stack.genesys.state.setClientState(STACK_IDS.single, "active"); // an operator's edit: dateModified = now
      forged ??= await writeForged();
      const currentVersion = Object.entries(await stack.stages(stack.secrets.single)).find(([, labels]) =>
        labels.includes("AWSCURRENT"),
      )?.[0];
      await stack.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: stack.secrets.single,
          VersionStage: "AWSCURRENT",
          MoveToVersionId: forged.VersionId,
          RemoveFromVersionId: currentVersion,
        }),
      );
      // RotateSecret is refused while AWSPENDING is stuck, and the stuck rotation is reattempted instead.
      const seen = stack.secretsManager.events.length;
      await assert.rejects(stack.client.send(new RotateSecretCommand({ SecretId: stack.secrets.single })));
      const outcome = await waitFor(() =>
        stack.secretsManager.events.slice(seen).find((event) => event.eventName !== "RotationStarted"),
      );
      return { outcome, regenerations: stack.genesys.counters.regenerations(STACK_IDS.single) };
    } finally {
      await stack.stop();
    }
  }

  test("an edit after the evidence window does not unlock a regeneration", async () => {
    const { outcome, regenerations } = await reattemptAfter(24 * 60 * 60 * 1000 + 60_000, "before");
    assert.equal(outcome.eventName, "RotationFailed");
    assert.match(outcome.cause ?? "", /^CurrentCredentialRejectedError: /);
    assert.equal(regenerations, 0);
  });

  test("an AWSCURRENT written during the rotation is no evidence, even within the window", async () => {
    const { outcome, regenerations } = await reattemptAfter(60_000, "during");
    assert.match(outcome.cause ?? "", /^CurrentCredentialRejectedError: /);
    assert.equal(regenerations, 0);
  });

  test("an edit soon after the rotation started, with an AWSCURRENT older than the rotation, is no evidence either", async () => {
    const { outcome, regenerations } = await reattemptAfter(60_000, "before");
    assert.match(outcome.cause ?? "", /^CurrentCredentialRejectedError: /);
    assert.equal(regenerations, 0);
  });
});
