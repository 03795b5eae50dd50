/**
 * The drill's `--emergency-at`: while consumers run, the application credential's active secret is
 * treated as leaked and `genesys-rotator emergency --replace-client --yes` runs against the drill's stack
 * (the operator CLI's own `main`, as `--local` runs it). Afterwards the leaked secret and a token minted
 * with it before the emergency must both be refused by Genesys (docs/drill.md, "Emergency").
 *
 * The import of bin/cli/ is deliberate, the one place local/ imports bin/: what this drill checks is the
 * operator's procedure — the CLI's own `emergency` command — under traffic, so it must run that code and
 * not a re-implementation. It calls `main` in process (rather than spawning `genesys-rotator`) to hand it
 * the stack's endpoints directly, with no `.local-stack.json` on disk. Nothing else under local/ may
 * import bin/ (docs/ARCHITECTURE.md, "Layering").
 */
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { main } from "../../bin/cli/main.ts";
import type { CliOutput } from "../../bin/cli/runtime.ts";
import { GenesysApi } from "../../lambda/shared/genesys/api.ts";
import { resolveEndpoints } from "../../lambda/shared/genesys/environments.ts";
import { GenesysInvalidClientError } from "../../lambda/shared/genesys/errors.ts";
import { requestClientCredentialsToken } from "../../lambda/shared/genesys/oauth.ts";
import { configureRotation, grantAdminPermissions, localStackEndpoints } from "../stack/operator.ts";
import type { DrillStack } from "../stack/stack.ts";

/** What the drill's emergency did and found. Client ids only. */
export interface EmergencyOutcome {
  /** ms since traffic start. */
  startMs: number;
  endMs: number;
  /** Exit code of `genesys-rotator emergency`. */
  exitCode: number;
  /** Its last stderr line when it failed (never a secret: the CLI prints none). */
  error?: string;
  leakedClientId: string;
  /** AWSCURRENT's client afterwards. */
  clientAfter: string;
  /** The fresh twin that replaced the leaked client. */
  replacementClientId?: string;
  /** Genesys refuses the leaked secret afterwards (invalid_client). */
  leakedSecretRejected: boolean;
  /** Genesys refuses a token minted with the leaked secret before the emergency. */
  leakedTokenRejected: boolean;
}

/** Runs the emergency now and checks that the leaked client's secret and tokens are dead. */
export async function runDrillEmergency(stack: DrillStack, elapsed: () => number): Promise<EmergencyOutcome> {
  const startMs = elapsed();
  // What an operator grants the admin credential for `--replace-client`.
  grantAdminPermissions(stack, ["oauth:client:add", "oauth:client:delete"]);
  const described = await stack.secretsManagerClient.send(
    new DescribeSecretCommand({ SecretId: stack.secrets.app }),
  );
  if (described.RotationLambdaARN === undefined) {
    await configureRotation(stack, stack.secrets.app, "rate(90 days)");
  }
  const leaked = (await stack.readCurrent()).value;
  const endpoints = resolveEndpoints(leaked.environment, { endpointOverride: stack.genesys.url });
  const leakedToken = await requestClientCredentialsToken({
    endpoints,
    clientId: leaked.clientId,
    clientSecret: leaked.clientSecret,
  });

  const stderr: string[] = [];
  const out: CliOutput = { stdout: () => {}, stderr: (text) => stderr.push(text) };
  const exitCode = await main(
    ["emergency", "--secret-id", stack.secrets.app, "--replace-client", "--yes", "--json", "--local"],
    { target: { kind: "local", endpoints: localStackEndpoints(stack) }, out, confirm: undefined },
  );
  const after = (await stack.readCurrent()).value;
  let leakedSecretRejected = false;
  try {
    await requestClientCredentialsToken({
      endpoints,
      clientId: leaked.clientId,
      clientSecret: leaked.clientSecret,
    });
  } catch (error) {
    leakedSecretRejected = error instanceof GenesysInvalidClientError;
  }
  const leakedTokenRejected = !(await new GenesysApi(endpoints, leakedToken.accessToken).probeToken());
  return {
    startMs,
    endMs: elapsed(),
    exitCode,
    ...(exitCode === 0 ? {} : { error: stderr.at(-1) ?? "no output" }),
    leakedClientId: leaked.clientId,
    clientAfter: after.clientId,
    ...(after.alternateClientId === undefined || after.alternateClientId === leaked.clientId
      ? {}
      : { replacementClientId: after.alternateClientId }),
    leakedSecretRejected,
    leakedTokenRejected,
  };
}
