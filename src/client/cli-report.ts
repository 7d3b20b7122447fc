/**
 * `tenure report --since <ISO date or instant | 7d> [--format table|json]`: the KPIs HR and IT agree on, from the
 * audit store's evidence (automation failure rate, audit completeness, HR change to access change, manual tasks per
 * run). The store is the one `tenure audit` reads: `DATABASE_URL`, else the embedded store. Definitions:
 * docs/observability.md.
 */
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { Option } from 'commander';
import { openAuditStore, ownerFile } from '../activities/audit';
import type { AuditStore } from '../activities/audit/types';
import type { KpiReport } from '../observability/report';
import { KpiAccumulator, formatKpiReport, parseSince } from '../observability/report';
import { auditStoreOptionsFromEnv } from './cli-audit';

export interface ReportCliIo {
  stdout: Writable;
  stderr: Writable;
  /** Opens the store for the command. @default DATABASE_URL, else the embedded store */
  openStore: () => Promise<AuditStore>;
  /** @default () => new Date() */
  now: () => Date;
  setExitCode: (code: number) => void;
}

/** Streams the evidence since `since` (all of it when absent) into the KPIs. */
export async function buildReport(store: AuditStore, opts: { since?: string; asOf: Date }): Promise<KpiReport> {
  const acc = new KpiAccumulator();
  for await (const r of store.stream(opts.since !== undefined ? { since: opts.since } : {})) acc.add(r);
  return acc.result(opts);
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

/** Adds `report` to the `tenure` program. Exit code 2 when a target (failure rate, completeness) is missed. */
export function registerReportCommands(program: Command, overrides: Partial<ReportCliIo> = {}): void {
  const io: ReportCliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    openStore: () => openFromEnv(process.env),
    now: () => new Date(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    ...overrides,
  };
  program
    .command('report')
    .description('KPIs from the audit store: automation failure rate, audit completeness, time to access, manual tasks')
    .option('--since <when>', 'an ISO 8601 date or instant, or a duration back from now (7d, 24h)', '7d')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--strict', 'exit 2 when a target is missed (failure rate ≥ 1 %, completeness < 100 %)')
    .action(async (opts: { since: string; format: 'table' | 'json'; strict?: boolean }) => {
      const now = io.now();
      const since = parseSince(opts.since, now);
      const store = await io.openStore();
      let report: KpiReport;
      try {
        report = await buildReport(store, { since, asOf: now });
      } finally {
        await store.close();
      }
      io.stdout.write(opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatKpiReport(report));
      const missed = report.automationFailures.met === false || report.auditCompleteness.met === false;
      if (opts.strict && missed) io.setExitCode(2);
    });
}
