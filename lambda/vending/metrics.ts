/**
 * The vending function's CloudWatch metrics (namespace `GenesysOAuthRotator`, Embedded Metric Format
 * through Powertools Metrics, built by lambda/shared/metrics.ts). Domain code counts through the
 * {@link VendMetrics} interface; tests pass a recorder.
 */
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { createMetrics } from "../shared/metrics.ts";
import type { VendMetricName } from "../shared/vend-metric-names.ts";

export type { VendMetricName };

/** Where the domain code counts. */
export interface VendMetrics {
  count(name: VendMetricName, value?: number): void;
}

/**
 * Powertools-backed metrics. `flush()` publishes once per invocation and only when something was
 * counted, so idle invocations print nothing. `POWERTOOLS_METRICS_DISABLED=true` (local mode) or
 * `POWERTOOLS_DEV=true` turns the output off entirely.
 */
export class PowertoolsVendMetrics implements VendMetrics {
  readonly #metrics: Metrics;

  constructor(serviceName = "token-vending") {
    this.#metrics = createMetrics(serviceName);
  }

  count(name: VendMetricName, value = 1): void {
    this.#metrics.addMetric(name, MetricUnit.Count, value);
  }

  /** Publishes what this invocation counted. */
  flush(): void {
    if (this.#metrics.hasStoredMetrics()) this.#metrics.publishStoredMetrics();
  }
}
