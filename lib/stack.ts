/**
 * The deployable stack of this repository (bin/app.ts): one {@link GenesysOAuthRotator} built from the
 * validated cdk.json context.
 */
import { Stack, type StackProps, Tags } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";
import type { RotatorConfig } from "./config.ts";
import type { GenesysCredential } from "./genesys-credential.ts";
import type { GenesysRotationFunction } from "./rotation-function.ts";
import { GenesysOAuthRotator } from "./rotator.ts";
import type { RotatorAlarms } from "./rotator-alarms.ts";
import type { RotatorDashboard } from "./rotator-dashboard.ts";
import type { SecretAgeMonitor } from "./secret-age-monitor.ts";
import type { StaticEgressNetwork } from "./static-egress.ts";
import type { TokenVendor } from "./token-vendor.ts";

/** Properties of {@link GenesysOAuthRotatorStack}. */
export interface GenesysOAuthRotatorStackProps extends StackProps {
  /** The validated configuration (see `parseRotatorConfig`). */
  readonly config: RotatorConfig;
}

/** A stack holding one {@link GenesysOAuthRotator}; its parts are exposed for tests and extensions. */
export class GenesysOAuthRotatorStack extends Stack {
  /**
   * The construct id "Default" is left out of logical ids, so the resources keep the logical ids they had
   * when the stack built them itself (no replacement on update).
   */
  static readonly ROTATOR_ID = "Default";

  readonly rotator: GenesysOAuthRotator;
  readonly encryptionKey: kms.Key;
  readonly rotationFunction: GenesysRotationFunction;
  readonly tokenVendor: TokenVendor;
  /** Credentials vended to consumers, in configuration order. */
  readonly credentials: readonly GenesysCredential[];
  /** Admin credentials, by configured name. */
  readonly adminCredentials: ReadonlyMap<string, GenesysCredential>;
  readonly alarms: RotatorAlarms;
  readonly secretAgeMonitor: SecretAgeMonitor;
  /** Absent with `dashboard: false`. */
  readonly dashboard?: RotatorDashboard;
  readonly network?: StaticEgressNetwork;

  constructor(scope: Construct, id: string, props: GenesysOAuthRotatorStackProps) {
    super(scope, id, {
      description:
        "Zero-downtime rotation of Genesys Cloud OAuth client secrets, with a token-vending function",
      ...props,
    });
    Tags.of(this).add("project", "genesys-oauth-rotator");
    const rotator = new GenesysOAuthRotator(this, GenesysOAuthRotatorStack.ROTATOR_ID, props.config);
    this.rotator = rotator;
    this.encryptionKey = rotator.encryptionKey;
    this.rotationFunction = rotator.rotationFunction;
    this.tokenVendor = rotator.tokenVendor;
    this.credentials = rotator.credentials;
    this.adminCredentials = rotator.adminCredentials;
    this.alarms = rotator.alarms;
    this.secretAgeMonitor = rotator.secretAgeMonitor;
    if (rotator.dashboard !== undefined) this.dashboard = rotator.dashboard;
    if (rotator.network !== undefined) this.network = rotator.network;
  }
}
