/**
 * The Temporal SDK's own metrics (task slots, poll and schedule-to-start latencies, workflow completions and
 * failures by type, activity failures): exported by the Runtime's Prometheus server, which the worker process
 * installs once, before it opens any connection:
 *
 * ```ts
 * Runtime.install({ telemetryOptions: sdkPrometheusOptions(`${host}:${port}`) });
 * ```
 *
 * And where the ports come from: `TENURE_METRICS_PORT` for Tenure's registry (worker and intake, see server.ts),
 * `TENURE_SDK_METRICS_PORT` for the SDK's exporter (worker only).
 */
import type { TelemetryOptions } from '@temporalio/worker';

/**
 * Telemetry options for `Runtime.install`: Prometheus on `bindAddress` (`host:port`), durations in seconds like
 * Tenure's own histograms, counters with the `_total` suffix Prometheus expects, names prefixed `temporal_`.
 */
export function sdkPrometheusOptions(
  bindAddress: string,
  opts: { globalTags?: Record<string, string> } = {},
): TelemetryOptions {
  return {
    metrics: {
      metricPrefix: 'temporal_',
      ...(opts.globalTags ? { globalTags: opts.globalTags } : {}),
      prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true },
    },
  };
}

/** SDK metric names the Grafana dashboard queries (with `sdkPrometheusOptions`); the dashboard test checks them. */
export const SDK_METRIC_NAMES = [
  'temporal_workflow_completed_total',
  'temporal_workflow_failed_total',
  'temporal_activity_execution_failed_total',
  'temporal_activity_schedule_to_start_latency_bucket',
  'temporal_workflow_task_schedule_to_start_latency_bucket',
  'temporal_worker_task_slots_available',
] as const;

export interface MetricsSettings {
  /** Tenure's registry (`GET /metrics`); absent: not served. */
  port?: number;
  /** @default "127.0.0.1" */
  host: string;
  /** The SDK exporter's `host:port`; absent: the SDK exports no metrics. */
  sdkBindAddress?: string;
}

function port(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new Error(`${name}: "${value}" is not a port (0–65535)`);
  return n;
}

/**
 * `TENURE_METRICS_PORT`, `TENURE_METRICS_HOST` (default 127.0.0.1, as src/config/env.ts; 0.0.0.0 in a container) and `TENURE_SDK_METRICS_PORT`, validated.
 * Both ports unset: no metrics endpoints.
 */
export function metricsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  const host = env.TENURE_METRICS_HOST || '127.0.0.1';
  const own = port('TENURE_METRICS_PORT', env.TENURE_METRICS_PORT);
  const sdk = port('TENURE_SDK_METRICS_PORT', env.TENURE_SDK_METRICS_PORT);
  if (own !== undefined && sdk !== undefined && own === sdk && own !== 0) {
    throw new Error('TENURE_METRICS_PORT and TENURE_SDK_METRICS_PORT must differ');
  }
  return {
    host,
    ...(own !== undefined ? { port: own } : {}),
    ...(sdk !== undefined ? { sdkBindAddress: `${host.includes(':') ? `[${host}]` : host}:${sdk}` } : {}),
  };
}
