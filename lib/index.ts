/** The CDK constructs of genesys-oauth-rotator, for use in your own stacks. */
export * from "./config.ts";
export * from "./genesys-credential.ts";
export * from "./rotation-function.ts";
export * from "./rotator.ts";
export * from "./rotator-alarms.ts";
export * from "./secret-age-monitor.ts";
export * from "./stack.ts";
export * from "./static-egress.ts";
export * from "./token-vendor.ts";
