/**
 * The KPIs HR and IT agree on, computed from the audit store's evidence alone (`tenure report`). Pure: feed it
 * records in chain order, read the result. Every definition is in docs/observability.md; keep the two in step.
 */
import type { EvidenceRecord } from '../activities/audit/types';
import { formatDuration, isDuration, parseDuration } from '../domain/approval';
import type { AccessDirection, RunRef } from './runs';
import { accessChange, parseRunWorkflowId, runKey } from './runs';

/** Targets the report checks against. */
export const KPI_TARGETS = {
  /** Runs with an automation failure: under 1 %. */
  maxFailureRate: 0.01,
  /** Due planned steps with evidence: all of them. */
  completeness: 1,
} as const;

export interface LatencyStats {
  /** Runs measured. */
  samples: number;
  /** Nearest-rank percentiles, in seconds; absent when there are no samples. */
  medianSeconds?: number;
  p95Seconds?: number;
}

export interface MissingEvidence {
  hrId: string;
  eventId: string;
  stepId: string;
}

export interface KpiReport {
  since?: string;
  /** The instant "due" is judged against. */
  asOf: string;
  records: number;
  events: { accepted: number; duplicate: number; refused: Record<string, number> };
  runs: { total: number; byKind: Record<string, number> };
  automationFailures: {
    /** Runs with at least one failure recorded by Tenure itself. */
    runsFailed: number;
    /** runsFailed ÷ runs.total; absent with no runs. */
    rate?: number;
    target: number;
    met?: boolean;
  };
  auditCompleteness: {
    /** Runs whose plan the intake recorded and whose instant has passed. */
    runsChecked: number;
    /** Runs without a recorded plan (scheduled by Tenure, delivered before the window, or by another route). */
    runsWithoutPlan: number;
    /** Steps that should have evidence by now. */
    stepsExpected: number;
    stepsWithEvidence: number;
    /** stepsWithEvidence ÷ stepsExpected; absent when nothing is expected. */
    ratio?: number;
    target: number;
    met?: boolean;
    /** The first few steps without evidence. */
    missing: MissingEvidence[];
  };
  /** From the HR change to the last access change of the run. */
  timeToAccess: LatencyStats & { byDirection: Partial<Record<AccessDirection, LatencyStats>> };
  /** From the later of the HR change and the run's due instant to the last access change: lateness. */
  delayPastDue: LatencyStats;
  manualTasks: { total: number; perRun?: number };
}

/** How many missing steps the report lists. */
export const MAX_MISSING_LISTED = 20;

interface StepSeen {
  any: boolean;
  succeeded: boolean;
}

interface RunState {
  hrId: string;
  eventId: string;
  kind?: RunRef['kind'];
  plan?: string[];
  effectiveAt?: string;
  hrChangedAt?: string;
  receivedAt?: string;
  steps: Map<string, StepSeen>;
  /** Approvals by system: any evidence, and the decision. */
  approvals: Map<string, { decision?: string }>;
  /** Manual tasks by `<systemId>/<action>`: any evidence, and done. */
  tasks: Map<string, { done: boolean }>;
  failed: boolean;
  access: { direction: AccessDirection; at: string }[];
}

const FAILURE_MARKERS = ['#failed#', '#retrying#'];
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The step id in a step's idempotency key (`<workflowId>#<stepId>`, `…#failed#<policy version>`). */
function stepIdFromKey(key: string, workflowId: string): string | undefined {
  if (!key.startsWith(`${workflowId}#`)) return undefined;
  let rest = key.slice(workflowId.length + 1);
  for (const m of FAILURE_MARKERS) {
    const i = rest.indexOf(m);
    if (i >= 0) rest = rest.slice(0, i);
  }
  return rest || undefined;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}

/** Nearest rank: the smallest value with at least p of the samples at or below it. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1];
}

function stats(values: number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const median = percentile(sorted, 0.5);
  const p95 = percentile(sorted, 0.95);
  return {
    samples: sorted.length,
    ...(median !== undefined ? { medianSeconds: median } : {}),
    ...(p95 !== undefined ? { p95Seconds: p95 } : {}),
  };
}

/** A planned step line from the intake (`summarizePlan`): `<stepId>` or `<stepId> after <dep>, <dep>`. */
export function parsePlanLine(line: string): { id: string; dependsOn: string[] } {
  const at = line.indexOf(' after ');
  if (at < 0) return { id: line.trim(), dependsOn: [] };
  return {
    id: line.slice(0, at).trim(),
    dependsOn: line
      .slice(at + ' after '.length)
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
  };
}

/** Folds evidence records, in any order, into the KPIs. */
export class KpiAccumulator {
  private readonly runs = new Map<string, RunState>();
  private readonly events = { accepted: 0, duplicate: 0, refused: {} as Record<string, number> };
  private readonly taskIds = new Set<string>();
  private records = 0;

  add(r: EvidenceRecord): void {
    this.records += 1;
    if (r.action === 'hr_event_refused') {
      const reason = str(r.detail?.error) ?? 'unknown';
      this.events.refused[reason] = (this.events.refused[reason] ?? 0) + 1;
      return;
    }
    if (r.action === 'hr_event_received') {
      if (r.outcome === 'duplicate') this.events.duplicate += 1;
      else if (r.outcome === 'accepted') this.events.accepted += 1;
      const wf = str(r.detail?.workflowId);
      const ref = wf ? parseRunWorkflowId(wf, r.hrId) : undefined;
      if (!ref || r.outcome !== 'accepted') return;
      const run = this.run(ref);
      run.kind = ref.kind;
      const plan = r.detail?.plan;
      if (Array.isArray(plan)) run.plan = plan.filter((l): l is string => typeof l === 'string');
      run.effectiveAt = str(r.detail?.effectiveAt) ?? run.effectiveAt;
      run.receivedAt = earliest(run.receivedAt, r.at);
      return;
    }
    const ref = r.requestId ? parseRunWorkflowId(r.requestId, r.hrId) : undefined;
    if (!ref) return;
    const run = this.run(ref);
    if (r.outcome === 'failed' && r.actor.type === 'system') run.failed = true;
    if (ref.kind === 'approval') {
      const a = run.approvals.get(r.systemId ?? '') ?? {};
      if (r.action === 'approval_decided') a.decision = r.outcome;
      run.approvals.set(r.systemId ?? '', a);
      return;
    }
    if (ref.kind === 'task') {
      const taskAction = ref.workflowId.slice(ref.workflowId.lastIndexOf('/') + 1);
      this.taskIds.add(ref.workflowId);
      const key = `${r.systemId ?? ''}/${taskAction}`;
      const t = run.tasks.get(key) ?? { done: false };
      if (r.action === 'manual_task_completed' && r.outcome === 'done') {
        t.done = true;
        this.accessStep(run, r, taskAction);
      }
      run.tasks.set(key, t);
      return;
    }
    run.kind = ref.kind;
    const stepId = stepIdFromKey(r.key, ref.workflowId);
    if (!stepId) return;
    const seen = run.steps.get(stepId) ?? { any: false, succeeded: false };
    seen.any = true;
    if (r.outcome !== 'failed' && r.outcome !== 'retrying') seen.succeeded = true;
    run.steps.set(stepId, seen);
    run.hrChangedAt = earliest(run.hrChangedAt, str(r.detail?.hrChangedAt));
    this.accessStep(run, r);
  }

  private accessStep(run: RunState, r: EvidenceRecord, taskAction?: string): void {
    if (!run.kind) return;
    const direction = accessChange(run.kind, r.action, r.outcome, taskAction);
    if (direction) run.access.push({ direction, at: r.at });
  }

  private run(ref: RunRef): RunState {
    const key = runKey(ref);
    let run = this.runs.get(key);
    if (!run) {
      run = {
        hrId: ref.hrId,
        eventId: ref.eventId,
        steps: new Map(),
        approvals: new Map(),
        tasks: new Map(),
        failed: false,
        access: [],
      };
      this.runs.set(key, run);
    }
    return run;
  }

  /** The KPIs as of `asOf` (steps of runs due after it are not expected yet). */
  result(opts: { asOf: Date; since?: string }): KpiReport {
    const asOf = opts.asOf.getTime();
    const byKind: Record<string, number> = {};
    let runsFailed = 0;
    let runsChecked = 0;
    let runsWithoutPlan = 0;
    let stepsExpected = 0;
    let stepsWithEvidence = 0;
    const missing: MissingEvidence[] = [];
    const toAccess: number[] = [];
    const toAccessBy: Record<AccessDirection, number[]> = { grant: [], revoke: [] };
    const pastDue: number[] = [];

    for (const run of this.runs.values()) {
      const kind = run.kind ?? 'unknown';
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      if (run.failed) runsFailed += 1;

      if (!run.plan) runsWithoutPlan += 1;
      else if (run.effectiveAt === undefined || Date.parse(run.effectiveAt) <= asOf) {
        runsChecked += 1;
        for (const line of run.plan) {
          const step = parsePlanLine(line);
          if (!step.dependsOn.every((d) => this.done(run, d))) continue;
          stepsExpected += 1;
          if (this.evidenced(run, step.id)) stepsWithEvidence += 1;
          else if (missing.length < MAX_MISSING_LISTED) {
            missing.push({ hrId: run.hrId, eventId: run.eventId, stepId: step.id });
          }
        }
      }

      const changedAt = run.hrChangedAt ?? run.receivedAt;
      if (run.access.length > 0 && changedAt !== undefined) {
        const last = run.access.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
        const seconds = Math.max(0, (Date.parse(last.at) - Date.parse(changedAt)) / 1000);
        toAccess.push(seconds);
        toAccessBy[last.direction].push(seconds);
        const due = Math.max(Date.parse(changedAt), run.effectiveAt ? Date.parse(run.effectiveAt) : -Infinity);
        pastDue.push(Math.max(0, (Date.parse(last.at) - due) / 1000));
      }
    }

    const total = this.runs.size;
    const rate = total > 0 ? runsFailed / total : undefined;
    const ratio = stepsExpected > 0 ? stepsWithEvidence / stepsExpected : undefined;
    const byDirection: Partial<Record<AccessDirection, LatencyStats>> = {};
    for (const d of ['grant', 'revoke'] as const) if (toAccessBy[d].length > 0) byDirection[d] = stats(toAccessBy[d]);
    return {
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      asOf: opts.asOf.toISOString(),
      records: this.records,
      events: { ...this.events, refused: { ...this.events.refused } },
      runs: { total, byKind },
      automationFailures: {
        runsFailed,
        ...(rate !== undefined ? { rate, met: rate < KPI_TARGETS.maxFailureRate } : {}),
        target: KPI_TARGETS.maxFailureRate,
      },
      auditCompleteness: {
        runsChecked,
        runsWithoutPlan,
        stepsExpected,
        stepsWithEvidence,
        ...(ratio !== undefined ? { ratio, met: ratio >= KPI_TARGETS.completeness } : {}),
        target: KPI_TARGETS.completeness,
        missing,
      },
      timeToAccess: { ...stats(toAccess), byDirection },
      delayPastDue: stats(pastDue),
      manualTasks: { total: this.taskIds.size, ...(total > 0 ? { perRun: this.taskIds.size / total } : {}) },
    };
  }

  /** A step that has evidence: its own record, its approval's, or its manual task's. */
  private evidenced(run: RunState, stepId: string): boolean {
    const { action, systemId } = splitStepId(stepId);
    if (action === 'approve' || action === 'approve_handover') return run.approvals.has(systemId);
    if (action === 'manual_task') {
      return run.tasks.has(`${systemId}/create_account`) || run.tasks.has(`${systemId}/disable_account`);
    }
    if (action === 'transfer_data') return run.tasks.has(`${systemId}/transfer_data`);
    return run.steps.get(stepId)?.any === true;
  }

  /** A step that succeeded, so the steps after it are due: approved, task done, or a step's success. */
  private done(run: RunState, stepId: string): boolean {
    const { action, systemId } = splitStepId(stepId);
    if (action === 'approve' || action === 'approve_handover') {
      return run.approvals.get(systemId)?.decision === 'approved';
    }
    if (action === 'manual_task') {
      return (
        run.tasks.get(`${systemId}/create_account`)?.done === true ||
        run.tasks.get(`${systemId}/disable_account`)?.done === true
      );
    }
    if (action === 'transfer_data') return run.tasks.get(`${systemId}/transfer_data`)?.done === true;
    return run.steps.get(stepId)?.succeeded === true;
  }
}

function splitStepId(stepId: string): { action: string; systemId: string } {
  const i = stepId.indexOf(':');
  return i < 0 ? { action: stepId, systemId: '' } : { action: stepId.slice(0, i), systemId: stepId.slice(i + 1) };
}

/** The KPIs of a set of records (tests, small stores); `tenure report` streams into a `KpiAccumulator`. */
export function computeKpis(records: Iterable<EvidenceRecord>, opts: { asOf: Date; since?: string }): KpiReport {
  const acc = new KpiAccumulator();
  for (const r of records) acc.add(r);
  return acc.result(opts);
}

/** `--since`: an ISO 8601 date or instant, or a duration back from now (`7d`, `24h`, `1h30m`). */
export function parseSince(text: string, now: Date = new Date()): string {
  if (isDuration(text)) return new Date(now.getTime() - parseDuration(text)).toISOString();
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) {
    throw new RangeError(`--since "${text}" is neither an ISO 8601 date or instant nor a duration such as 7d or 24h`);
  }
  return new Date(t).toISOString();
}

const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(x * 100).toFixed(x === 1 ? 0 : 2)} %`);
const dur = (s: number | undefined): string => (s === undefined ? 'n/a' : formatDuration(s * 1000));
const mark = (met: boolean | undefined): string => (met === undefined ? '' : met ? '  ok' : '  MISSED');

/** The report as a table for people. */
export function formatKpiReport(r: KpiReport): string {
  const refused = Object.entries(r.events.refused)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const kinds = Object.entries(r.runs.byKind)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lat = (s: LatencyStats): string =>
    s.samples === 0 ? 'n/a (no access change measured)' : `${dur(s.medianSeconds)} / ${dur(s.p95Seconds)}`;
  const rows: [string, string][] = [
    ['Window', `${r.since ? `since ${r.since}` : 'all evidence'} (as of ${r.asOf}), ${r.records} records`],
    [
      'HR events',
      `accepted ${r.events.accepted}, duplicate ${r.events.duplicate}, refused ${Object.values(r.events.refused).reduce((a, b) => a + b, 0)}${refused ? ` (${refused})` : ''}`,
    ],
    ['Runs', `${r.runs.total}${kinds ? ` (${kinds})` : ''}`],
    [
      'Automation failure rate',
      `${pct(r.automationFailures.rate)} (${r.automationFailures.runsFailed} of ${r.runs.total} runs; target < ${pct(r.automationFailures.target)})${mark(r.automationFailures.met)}`,
    ],
    [
      'Audit completeness',
      `${pct(r.auditCompleteness.ratio)} (${r.auditCompleteness.stepsWithEvidence} of ${r.auditCompleteness.stepsExpected} due steps in ${r.auditCompleteness.runsChecked} runs; target 100 %)${mark(r.auditCompleteness.met)}`,
    ],
    ['HR change → access change (median / p95)', `${lat(r.timeToAccess)} over ${r.timeToAccess.samples} runs`],
    ...(['grant', 'revoke'] as const)
      .filter((d) => r.timeToAccess.byDirection[d])
      .map((d): [string, string] => [
        `  ${d === 'grant' ? 'granted' : 'revoked'}`,
        lat(r.timeToAccess.byDirection[d]!),
      ]),
    ['Delay past due (median / p95)', lat(r.delayPastDue)],
    [
      'Manual tasks per run',
      `${r.manualTasks.perRun === undefined ? 'n/a' : r.manualTasks.perRun.toFixed(2)} (${r.manualTasks.total} tasks)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (r.auditCompleteness.runsWithoutPlan > 0) {
    lines.push(
      '',
      `${r.auditCompleteness.runsWithoutPlan} runs have no plan recorded in the window: not in completeness.`,
    );
  }
  if (r.auditCompleteness.missing.length > 0) {
    lines.push('', 'Steps without evidence:');
    for (const m of r.auditCompleteness.missing) lines.push(`  ${m.hrId} ${m.eventId} ${m.stepId}`);
  }
  return `${lines.join('\n')}\n`;
}
