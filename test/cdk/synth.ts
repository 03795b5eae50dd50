/**
 * Test helper: synthesizes the stack from a raw `genesys-oauth-rotator` context value into a temporary
 * directory that the caller removes with `cleanup()`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { parseRotatorConfig } from "../../lib/config.ts";
import { GenesysOAuthRotatorStack } from "../../lib/stack.ts";
import { ensureHandlerBundles } from "../../scripts/build.ts";

// The functions deploy the pre-built bundles of dist/functions/ (`npm run build`).
await ensureHandlerBundles();

export interface SynthOptions {
  /** Add cdk-nag's AwsSolutions plugin to the app. @default false */
  nag?: boolean;
}

export interface Synthesized {
  app: App;
  stack: GenesysOAuthRotatorStack;
  outdir: string;
  /** The template (synthesizes on first use). */
  template(): Template;
  /** `stack.getLogicalId` of a construct's default CloudFormation resource. */
  logicalId(construct: { node: { defaultChild?: unknown } } | object): string;
  cleanup(): void;
}

/** The configuration most tests use: every strategy and both kinds of import. */
export const FULL_CONFIG = {
  credentials: [
    { name: "default", environment: "mypurecloud.ie", strategy: "alternating", admin: "admin" },
    {
      name: "legacy",
      environment: "mypurecloud.ie",
      strategy: "single",
      admin: "admin",
      importSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/legacy",
      importSecretKmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/0d3c0c8e-1111-2222-3333-444455556666",
    },
    {
      name: "reporting",
      environment: "mypurecloud.ie",
      importSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/reporting-AbC123",
      integrationCredentialIds: ["1f6e3f0a-aaaa-bbbb-cccc-0123456789ab"],
    },
  ],
  adminCredentials: [{ name: "admin", environment: "mypurecloud.ie" }],
  alarmEmail: "ops@example.com",
};

export function synthesize(raw: unknown, options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), "genesys-rotator-cdk-"));
  const app = new App({ outdir });
  const config = parseRotatorConfig(raw);
  const stack = new GenesysOAuthRotatorStack(app, config.stackName, { config });
  if (options.nag === true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let template: Template | undefined;
  return {
    app,
    stack,
    outdir,
    template: () => {
      template ??= Template.fromStack(stack);
      return template;
    },
    logicalId: (construct) => {
      const child = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
      return Stack.of(stack).getLogicalId(child as never);
    },
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
