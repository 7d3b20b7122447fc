/**
 * `tenure drift [--format table|csv|json]`: the latest drift report, as the audit store keeps it (evidence of kind
 * `drift_report`), with each system's counts and current lag (its oldest unresolved drift). `tenure drift run` runs a
 * reconciliation now (the same workflow the schedule starts) and prints its report. `tenure drift schedule`
 * describes the Temporal Schedule `tenure-reconcile-<taskQueue>`. See docs/reconcile.md.
 */
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { AuditStore } from '../activities/audit';
import { openAuditStore, ownerFile } from '../activities/audit';
import { cliVars, withCliClient } from '../app/cli-context';
import { TASK_QUEUE } from '../domain/ids';
import { driftSituations } from '../domain/policy-reconcile';
import { reconcileScheduleId, runReconcileNow } from '../reconcile/schedule';
import type { DriftReport } from '../workflows/reconcile/types';
import { auditStoreOptionsFromEnv } from './cli-audit';

export type DriftFormat = 'table' | 'csv' | 'json';

export interface DriftCommandDeps {
  withClient?: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  openStore?: () => Promise<AuditStore>;
  stdout?: Pick<NodeJS.WriteStream, 'write'>;
  stderr?: Pick<NodeJS.WriteStream, 'write'>;
  taskQueue?: string;
  setExitCode?: (code: number) => void;
}

/** The newest `drift_report` in the store (a full report: every finding), or undefined when there is none. */
export async function latestDriftReport(store: AuditStore): Promise<DriftReport | undefined> {
  let latest: DriftReport | undefined;
  for await (const r of store.stream()) {
    if (r.action === 'drift_report' && r.detail) latest = r.detail as unknown as DriftReport;
  }
  return latest;
}

/** The report with each system's lag brought up to now (a finding still open keeps ageing after its run). */
export function withCurrentLag(report: DriftReport, now: Date): DriftReport {
  return {
    ...report,
    systems: report.systems.map((s) => ({
      ...s,
      lagSeconds: s.oldestSince ? Math.max(0, (now.getTime() - Date.parse(s.oldestSince)) / 1000) : 0,
    })),
  };
}

function csvCell(v: string | number | boolean | string[] | undefined): string {
  const s = v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const FINDING_COLUMNS = [
  'situation',
  'systemId',
  'hrId',
  'accountId',
  'active',
  'fields',
  'missing',
  'hrIds',
  'accountIds',
  'reaction',
  'outcome',
  'reason',
  'firstSeenAt',
] as const;

/** One row per finding (the systems' counts are in the table and JSON forms). */
export function driftCsv(report: DriftReport): string {
  const rows = report.findings.map((f) => FINDING_COLUMNS.map((c) => csvCell(f[c])).join(','));
  return `${[FINDING_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

function humanLag(seconds: number): string {
  if (seconds <= 0) return '-';
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

function pad(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Systems × situations with the lag, then the findings. */
export function driftTable(report: DriftReport): string {
  const head = ['system', 'accounts', ...driftSituations, 'lag'];
  const rows = report.systems.map((s) => [
    s.systemId,
    String(s.accounts),
    ...driftSituations.map((k) => String(s.counts[k] ?? 0)),
    humanLag(s.lagSeconds),
  ]);
  const findings = report.findings.map((f) => [
    f.situation,
    f.systemId,
    f.hrId ?? (f.hrIds ?? []).join(' '),
    f.accountId ?? '',
    (f.fields ?? []).join(' ') || f.missing || '',
    f.reaction,
    f.outcome,
  ]);
  const parts = [
    `Drift report ${report.runId} (${report.finishedAt}): ${report.people} HR people`,
    pad([head, ...rows]),
  ];
  if (report.unreachable.length > 0) {
    parts.push(`Not listed: ${report.unreachable.map((u) => `${u.systemId} (${u.error})`).join(', ')}`);
  }
  if (report.guard?.held) parts.push(`Fixes held by the mass-change guard: ${report.guard.holdId ?? ''}`);
  if (findings.length > 0) {
    parts.push(pad([['situation', 'system', 'hr id', 'account', 'detail', 'reaction', 'outcome'], ...findings]));
  } else parts.push('Every system matches HR.');
  return `${parts.join('\n\n')}\n`;
}

export function formatDrift(report: DriftReport, format: DriftFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return driftCsv(report);
  return driftTable(report);
}

async function openFromEnv(env: NodeJS.ProcessEnv): Promise<AuditStore> {
  const opts = auditStoreOptionsFromEnv(env);
  if (opts.dataDir && !existsSync(opts.dataDir) && !existsSync(ownerFile(opts.dataDir))) {
    throw new Error(
      `no audit store at ${opts.dataDir} yet (\`npm start\` creates it); set DATABASE_URL to use a Postgres store`,
    );
  }
  return openAuditStore(opts);
}

export function registerDriftCommands(program: Command, deps: DriftCommandDeps = {}): void {
  const withClient = deps.withClient ?? withCliClient;
  const out = deps.stdout ?? process.stdout;
  const err = deps.stderr ?? process.stderr;
  const setExitCode =
    deps.setExitCode ??
    ((code: number) => {
      process.exitCode = code;
    });
  const queue = (): string => deps.taskQueue ?? cliVars().TENURE_TASK_QUEUE ?? TASK_QUEUE;

  const drift = program
    .command('drift')
    .description('the latest drift report: every system against HR, counts per situation, lag per system')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .action(async (opts: { format: DriftFormat }) => {
      const store = await (deps.openStore ?? (() => openFromEnv(cliVars())))();
      try {
        const report = await latestDriftReport(store);
        if (!report) {
          err.write('no drift report yet: the reconciliation has not run (run one with `tenure drift run`)\n');
          setExitCode(1);
          return;
        }
        out.write(formatDrift(withCurrentLag(report, new Date()), opts.format));
      } finally {
        await store.close();
      }
    });
  drift
    .command('run')
    .description('run a reconciliation now and print its report (in the --format given to `drift`)')
    .action(async (_opts: unknown, cmd: Command) =>
      withClient(async (client) => {
        const report = await runReconcileNow(client, queue());
        const format = cmd.parent?.opts<{ format?: DriftFormat }>().format ?? 'table';
        out.write(formatDrift(report, format));
        if (report.guard?.held) setExitCode(3);
      }),
    );
  drift
    .command('schedule')
    .description("describe the reconciliation's Temporal Schedule")
    .action(async () =>
      withClient(async (client) => {
        const scheduleId = reconcileScheduleId(queue());
        try {
          const d = await client.schedule.getHandle(scheduleId).describe();
          out.write(
            `${JSON.stringify({ scheduleId, spec: d.spec, paused: d.state.paused, recentRuns: d.info.recentActions.length }, null, 2)}\n`,
          );
        } catch (e) {
          if (!(e instanceof ScheduleNotFoundError)) throw e;
          err.write(`no schedule ${scheduleId}: the policy has no reconcile section, or no worker started with it\n`);
          setExitCode(1);
        }
      }),
    );
}
