/** `tenure import <roster.csv>`: the commander wiring of the CSV importer (src/client/csv-import.ts). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { intakeSender } from '../app/cli-context';
import { hrEventKinds, unknownFieldPolicies, type HrEventKind, type UnknownFieldPolicy } from '../domain/employee';
import { importRoster, type ImportProgress, type ImportSummary } from './csv-import';
import type { TenureClient } from './tenure-client';

export interface ImportCommandDeps {
  /** The client that sends; default: from TENURE_INTAKE_URL and TENURE_WEBHOOK_SECRET (or `npm start`'s .data/dev.env). */
  client?: () => TenureClient;
  stdout?: Pick<NodeJS.WriteStream, 'write'>;
  stderr?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
}

const defaultClient = intakeSender;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be an integer from 1 to 64');
  return n;
}

function kindOption(value: string): HrEventKind {
  if (!(hrEventKinds as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${hrEventKinds.join(', ')}`);
  }
  return value as HrEventKind;
}

function unknownColumnsOption(value: string): UnknownFieldPolicy {
  if (!(unknownFieldPolicies as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${unknownFieldPolicies.join(', ')}`);
  }
  return value as UnknownFieldPolicy;
}

/** A one-line progress bar on a terminal; a line per 10% otherwise. */
function progressPrinter(stderr: ImportCommandDeps['stderr'] & object): (p: ImportProgress) => void {
  let lastDecile = -1;
  return (p) => {
    const line = `sent ${p.done}/${p.total}: ${p.counts.accepted} accepted, ${p.counts.duplicate} duplicate, ${p.counts.rejected + p.counts.refused} rejected, ${p.counts.failed} failed`;
    if (stderr.isTTY) {
      const width = 30;
      const filled = Math.round((p.done / Math.max(1, p.total)) * width);
      stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${line}${p.done === p.total ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor((p.done / Math.max(1, p.total)) * 10);
    if (decile !== lastDecile || p.done === p.total) {
      lastDecile = decile;
      stderr.write(`${line}\n`);
    }
  };
}

function summaryText(s: ImportSummary): string {
  const lines = [
    `rows: ${s.rows}, valid: ${s.valid}, invalid: ${s.invalid}`,
    s.sentNothing
      ? `sent: 0 (${s.reason ?? 'nothing to send'})`
      : `sent: ${s.sent}: ${s.counts.accepted} accepted, ${s.counts.duplicate} duplicate, ${s.counts.rejected} rejected, ${s.counts.refused} refused, ${s.counts.failed} failed, ${s.counts.held} held`,
  ];
  if (s.hold) {
    lines.push(
      `held: ${s.counts.held} row(s) in ${s.hold.holdId} by the mass-change guard (${s.hold.reasons.join('; ')}); nothing of them runs until \`tenure guard release ${s.hold.holdId}\``,
    );
  }
  for (const r of s.results) {
    if (r.outcome === 'rejected' || r.outcome === 'refused' || r.outcome === 'failed') {
      lines.push(`row ${r.row} (${r.hrId}): ${r.outcome}${r.message ? `: ${r.message}` : ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Adds `import` to the `tenure` program. */
export function registerImportCommands(program: Command, deps: ImportCommandDeps = {}): Command {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  return program
    .command('import')
    .description('validate a roster CSV (header row; see docs/import.md) and send each valid row as a signed event')
    .argument('<file>', 'CSV file, UTF-8, first row the column names')
    .option('--atomic', 'all or nothing: if any row is invalid, send no row', false)
    .option('--dry-run', 'validate and report; send nothing', false)
    .option('--concurrency <n>', 'requests in flight at once', positiveInt, 8)
    .option('--kind <kind>', 'event kind for rows without a kind column', kindOption, 'hire' as HrEventKind)
    .option(
      '--unknown-columns <ignore|refuse>',
      'a column the importer does not know: ignore it (and say so), or refuse the file',
      unknownColumnsOption,
      'ignore' as UnknownFieldPolicy,
    )
    .option('--json', 'print the summary as JSON on stdout', false)
    .action(
      async (
        file: string,
        opts: {
          atomic: boolean;
          dryRun: boolean;
          concurrency: number;
          kind: HrEventKind;
          unknownColumns: UnknownFieldPolicy;
          json: boolean;
        },
      ) => {
        const text = readFileSync(file, 'utf8');
        const client = opts.dryRun
          ? { sendEvent: () => Promise.reject(new Error('dry run')) }
          : (deps.client ?? defaultClient)();
        const summary = await importRoster(text, client, {
          atomic: opts.atomic,
          dryRun: opts.dryRun,
          concurrency: opts.concurrency,
          defaultKind: opts.kind,
          unknownColumns: opts.unknownColumns,
          onProgress: progressPrinter(stderr),
        });
        if (summary.ignoredColumns.length > 0) {
          stderr.write(`ignored unknown column(s): ${summary.ignoredColumns.join(', ')}\n`);
        }
        for (const e of summary.errors) stderr.write(`row ${e.row}, column ${e.column}: ${e.message}\n`);
        stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary));
        const bad =
          summary.errors.length > 0 || summary.counts.failed + summary.counts.refused + summary.counts.rejected > 0;
        if (bad) process.exitCode = 1;
      },
    );
}
