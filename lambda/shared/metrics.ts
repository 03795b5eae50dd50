/**
 * CloudWatch metrics of the Lambda functions: Powertools Metrics, printed as Embedded Metric Format on
 * stdout. Both handlers build theirs here, so namespace and `service` dimension cannot drift apart (the
 * CDK alarms select on both).
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { METRICS_NAMESPACE } from "./metrics-namespace.ts";

/** The CloudWatch namespace of every custom metric of this project (the CDK stack sets and alarms on it). */
export { METRICS_NAMESPACE } from "./metrics-namespace.ts";

/**
 * Powertools Metrics for one function. The namespace is `POWERTOOLS_METRICS_NAMESPACE` (set by the CDK
 * stack) or {@link METRICS_NAMESPACE}; `serviceName` becomes the `service` dimension.
 * `POWERTOOLS_METRICS_DISABLED=true` (the local stack) turns the output off.
 *
 * @param env where `POWERTOOLS_METRICS_NAMESPACE` is read. @default process.env
 */
export function createMetrics(
  serviceName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Metrics {
  return new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName });
}
