/**
 * Tenure's own Prometheus metrics (issue 12 item 5), in a prom-client Registry of their own. The worker and the
 * intake count here; workflow code never does (it replays). The SDK's metrics (task slots, latencies, workflow
 * completions by type) come from the Temporal Runtime's own exporter: see `sdkPrometheusOptions`.
 *
 * Label values are small closed sets (system ids from the policy, step actions, reasons from the intake's codes):
 * never an HR id, an event id or anything personal.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AccessDirection } from './runs';

/** Metric names, exported so the dashboard test can check every panel against the registry. */
export const METRIC = {
  hrEvents: 'tenure_hr_events_total',
  stepFailures: 'tenure_step_failures_total',
  stepDuration: 'tenure_step_duration_seconds',
  accessChange: 'tenure_access_change_seconds',
  runs: 'tenure_runs',
  openExceptions: 'tenure_open_exceptions',
  waitingApprovals: 'tenure_waiting_approvals',
  waitingTasks: 'tenure_waiting_tasks',
  fleetScrapeErrors: 'tenure_fleet_scrape_errors_total',
} as const;

/** How an HR event delivery ended at the intake. */
export type HrEventOutcome = 'accepted' | 'duplicate' | 'refused' | 'failed';

/** Step durations: 10 ms to 5 minutes (one attempt; the start-to-close timeout is a minute). */
export const STEP_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * HR change to access change: seconds for an immediate exit, days for a hire dated weeks ahead (the wait is part of
 * the figure; see docs/observability.md).
 */
export const ACCESS_CHANGE_BUCKETS = [
  1,
  5,
  15,
  60,
  300,
  900,
  3600,
  4 * 3600,
  12 * 3600,
  86_400,
  2 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
  90 * 86_400,
];

export interface StepObservation {
  /** Policy system id; `none` for steps on no system (allocate_work_email, verify_exit). */
  system?: string;
  action: string;
  seconds: number;
  /** Present when the attempt failed. */
  failure?: {
    /** Permanent (non-retryable): the step becomes an exception. */
    final: boolean;
    /** The failure's type: transient, rate_limited, config, not_found, … */
    type: string;
  };
}

export interface TenureMetrics {
  registry: Registry;
  /** One HR event delivery at the intake: accepted, duplicate, refused (with the refusal code) or failed. */
  hrEvent(e: { source: string; outcome: HrEventOutcome; reason?: string }): void;
  /** One step attempt in the worker: its duration, and a failure when it failed. */
  step(o: StepObservation): void;
  /** Access changed: seconds since the HR change (the record's `sourceUpdatedAt`). */
  accessChanged(direction: AccessDirection, seconds: number): void;
  /** Set at scrape time by `registerFleetGauges` (visibility counts); exposed for that module. */
  fleet: {
    runs: Gauge<'kind' | 'status'>;
    openExceptions: Gauge;
    waitingApprovals: Gauge;
    waitingTasks: Gauge;
    scrapeErrors: Counter;
    /** What fills the fleet gauges at scrape time (`registerFleetGauges` sets it); called once per scrape. */
    setCollector(collect: (() => Promise<void>) | undefined): void;
  };
}

export interface TenureMetricsOptions {
  /** Labels on every series, e.g. `{ service: 'tenure-worker' }`. */
  defaultLabels?: Record<string, string>;
}

/** A fresh registry with every Tenure metric, and typed helpers to record into it. */
export function createTenureMetrics(opts: TenureMetricsOptions = {}): TenureMetrics {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  const registers = [registry];
  let fleetCollector: (() => Promise<void>) | undefined;
  /** Every fleet gauge asks the same collector; it runs its queries once per scrape (see fleet.ts). */
  const collect = async (): Promise<void> => {
    await fleetCollector?.();
  };

  const hrEvents = new Counter({
    name: METRIC.hrEvents,
    help: 'HR events at the intake, by source, outcome (accepted, duplicate, refused, failed) and refusal reason',
    labelNames: ['source', 'outcome', 'reason'] as const,
    registers,
  });
  const stepFailures = new Counter({
    name: METRIC.stepFailures,
    help: 'Failed step attempts, by system, action, whether final (an exception) and failure type',
    labelNames: ['system', 'action', 'final', 'type'] as const,
    registers,
  });
  const stepDuration = new Histogram({
    name: METRIC.stepDuration,
    help: 'Duration of one step attempt (the system call and its evidence), by system, action and result',
    labelNames: ['system', 'action', 'result'] as const,
    buckets: STEP_DURATION_BUCKETS,
    registers,
  });
  const accessChange = new Histogram({
    name: METRIC.accessChange,
    help: "Seconds from the HR change (the record's sourceUpdatedAt) to a step that granted or revoked access",
    labelNames: ['direction'] as const,
    buckets: ACCESS_CHANGE_BUCKETS,
    registers,
  });
  const fleet = {
    runs: new Gauge({
      name: METRIC.runs,
      help: 'Runs (one child workflow per HR event) in Temporal visibility, by event kind and execution status',
      labelNames: ['kind', 'status'] as const,
      registers,
      collect,
    }),
    openExceptions: new Gauge({
      name: METRIC.openExceptions,
      help: 'Running runs with at least one step in exception, waiting for an operator (TenureWaitingOn operator:…)',
      registers,
      collect,
    }),
    waitingApprovals: new Gauge({
      name: METRIC.waitingApprovals,
      help: 'Approvals waiting for a decision (running approval workflows with someone to wait on)',
      registers,
      collect,
    }),
    waitingTasks: new Gauge({
      name: METRIC.waitingTasks,
      help: 'Manual tasks waiting for their owner (running task workflows with someone to wait on)',
      registers,
      collect,
    }),
    scrapeErrors: new Counter({
      name: METRIC.fleetScrapeErrors,
      help: 'Visibility queries for the fleet gauges that failed (the gauges keep their last value)',
      registers,
    }),
    setCollector(c: (() => Promise<void>) | undefined) {
      fleetCollector = c;
    },
  };

  return {
    registry,
    hrEvent({ source, outcome, reason }) {
      hrEvents.inc({ source, outcome, reason: reason ?? 'none' });
    },
    step({ system, action, seconds, failure }) {
      const sys = system ?? 'none';
      stepDuration.observe({ system: sys, action, result: failure ? 'failure' : 'success' }, seconds);
      if (failure) stepFailures.inc({ system: sys, action, final: String(failure.final), type: failure.type });
    },
    accessChanged(direction, seconds) {
      accessChange.observe({ direction }, Math.max(0, seconds));
    },
    fleet,
  };
}

let processDefault: TenureMetrics | undefined;

/**
 * The process's Tenure metrics: what the activities and the intake record into when no `metrics` is passed to them,
 * and what the composition root serves (worker and intake in one process share it, as in `npm start`).
 */
export function defaultTenureMetrics(): TenureMetrics {
  processDefault ??= createTenureMetrics();
  return processDefault;
}
