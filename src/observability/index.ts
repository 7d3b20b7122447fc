/**
 * Observability (issue 12 item 5): Tenure's Prometheus metrics, the fleet gauges read from visibility, the metrics
 * endpoint, the SDK exporter's options, and the KPIs `tenure report` computes from the audit store.
 * Never imported by workflow code. See docs/observability.md.
 */
export type { HrEventOutcome, StepObservation, TenureMetrics, TenureMetricsOptions } from './metrics';
export { METRIC, createTenureMetrics, defaultTenureMetrics } from './metrics';
export type { FleetCounts, FleetOptions } from './fleet';
export { collectFleetGauges, fleetQueries, registerFleetGauges } from './fleet';
export type { MetricsServerOptions, RunningMetricsServer } from './server';
export { startMetricsServer } from './server';
export type { MetricsSettings } from './sdk';
export { SDK_METRIC_NAMES, metricsSettingsFromEnv, sdkPrometheusOptions } from './sdk';
export type { AccessDirection, RunRef } from './runs';
export { accessChange, parseRunWorkflowId, runKey } from './runs';
export type { DriftMetrics } from './drift';
export { DRIFT_METRIC, driftMetrics } from './drift';
