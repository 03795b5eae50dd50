/**
 * The CloudWatch namespace of every custom metric of this project, on its own so that the CDK constructs
 * can use it without loading Powertools (lambda/shared/metrics.ts re-exports it).
 */
export const METRICS_NAMESPACE = "GenesysOAuthRotator";
