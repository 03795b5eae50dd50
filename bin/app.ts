/**
 * The CDK app (cdk.json "app": `node --import tsx bin/app.ts`): reads the `genesys-oauth-rotator`
 * context, validates it, builds the stack and runs cdk-nag's AwsSolutions checks on it. Synthesis fails
 * on any configuration problem (every one listed with its key path) and on any unacknowledged finding.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { CONTEXT_KEY, parseRotatorConfig, RotatorConfigError } from "../lib/config.ts";
import { GenesysOAuthRotatorStack } from "../lib/stack.ts";

const app = new App();
let config: ReturnType<typeof parseRotatorConfig>;
try {
  config = parseRotatorConfig(app.node.tryGetContext(CONTEXT_KEY));
} catch (error) {
  if (!(error instanceof RotatorConfigError)) throw error;
  // A readable list instead of a stack trace: this is the operator's cdk.json, not a bug.
  console.error(`Invalid configuration (cdk.json context "${CONTEXT_KEY}"):\n${error.message}`);
  process.exit(1);
}

new GenesysOAuthRotatorStack(app, config.stackName, {
  config,
  // Deploy-time account/region from the CLI's credentials; env-agnostic (and offline) when there are none.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
