/**
 * Drift reconciliation's metrics (issue 14, items 3 and 6), registered next to Tenure's own in the same registry:
 * findings per system and situation and the oldest unresolved drift per system (set by each reconciliation run),
 * and the convergence time of HR changes (observed once per change, when a run finds every system matching).
 * Labels are system ids from the policy and situation names: never an HR id.
 */
import type { Registry } from 'prom-client';
import { Gauge, Histogram } from 'prom-client';
import { ACCESS_CHANGE_BUCKETS } from './metrics';

export const DRIFT_METRIC = {
  findings: 'tenure_drift_findings',
  lag: 'tenure_drift_lag_seconds',
  convergence: 'tenure_convergence_seconds',
} as const;

export interface DriftMetrics {
  /** A run's counts: every (system, situation) of the run is set, the ones it did not see are reset to 0. */
  report(counts: Record<string, Partial<Record<string, number>>>, lagSeconds: Record<string, number>): void;
  /** One HR change converged: seconds from its arrival to the last step that applied it. */
  converged(seconds: number): void;
}

const bound = new WeakMap<Registry, DriftMetrics>();

/** The drift metrics of a registry (created on first use, the same object after). */
export function driftMetrics(registry: Registry): DriftMetrics {
  const existing = bound.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const findings = new Gauge({
    name: DRIFT_METRIC.findings,
    help: 'Accounts (or person-system pairs) per system and drift situation, as the last reconciliation found them',
    labelNames: ['system', 'situation'] as const,
    registers,
  });
  const lag = new Gauge({
    name: DRIFT_METRIC.lag,
    help: 'Age in seconds of the oldest unresolved drift per system at the last reconciliation (0: matches HR)',
    labelNames: ['system'] as const,
    registers,
  });
  const convergence = new Histogram({
    name: DRIFT_METRIC.convergence,
    help: 'Seconds from an HR change reaching Tenure to the last step that brought every system in line with it',
    buckets: ACCESS_CHANGE_BUCKETS,
    registers,
  });
  const m: DriftMetrics = {
    report(counts, lagSeconds) {
      findings.reset();
      for (const [system, bySituation] of Object.entries(counts)) {
        for (const [situation, n] of Object.entries(bySituation)) findings.set({ system, situation }, n ?? 0);
      }
      lag.reset();
      for (const [system, s] of Object.entries(lagSeconds)) lag.set({ system }, Math.max(0, s));
    },
    converged(seconds) {
      convergence.observe(Math.max(0, seconds));
    },
  };
  bound.set(registry, m);
  return m;
}
