/**
 * `tenure audit verify`, `tenure audit export` and `tenure evidence <hrId>`: the operator's and auditor's view
 * of the audit store. The store is `DATABASE_URL` when set, else the embedded one in `<data dir>/audit`
 * (reached through `npm start`'s audit server when it runs; opened directly when nothing else has it).
 *
 * Run on its own: `node -r tsx/cjs src/client/cli-audit.ts audit verify`.
 */
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Command, Option } from 'commander';
import type { OpenAuditStoreOptions } from '../activities/audit';
import { canonicalJson, openAuditStore, ownerFile, recordHash } from '../activities/audit';
import type { AuditStore, EvidenceQuery, EvidenceRecord } from '../activities/audit/types';
import type { AnchoredVerifyReport, AuditCheckpoint, ChainSource } from '../activities/audit/checkpoint';
import { checkpointConfigFromEnv, verifyAgainstCheckpoints, writeCheckpoint } from '../activities/audit/checkpoint';
import { dataDir } from '../config/local-env';

export interface AuditCliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Opens the store for one command. @default from `env`: DATABASE_URL, else the embedded data dir. */
  openStore: () => Promise<AuditStore>;
  setExitCode: (code: number) => void;
  /**
   * The checkpoint workflow's latest checkpoint (undefined: none yet); throws when Temporal cannot be reached.
   * @default asks the deployment in the environment (`withCliClient`), for `tenure/audit-checkpoints`
   */
  checkpointWorkflow: () => Promise<AuditCheckpoint | undefined>;
}

/** How long `tenure audit verify` waits for Temporal before it reports the workflow anchor as unreachable. */
const WORKFLOW_ANCHOR_TIMEOUT_MS = 5_000;

async function askCheckpointWorkflow(): Promise<AuditCheckpoint | undefined> {
  // Lazily: the audit commands must work with no Temporal at all.
  const { withCliClient } = await import('../app/cli-context');
  const { workflowLatestCheckpoint } = await import('./checkpoint-anchor');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Temporal did not answer in time')), WORKFLOW_ANCHOR_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([
      withCliClient((client) => workflowLatestCheckpoint(client, { timeoutMs: WORKFLOW_ANCHOR_TIMEOUT_MS })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The embedded store's directory: `<data dir>/audit` (`TENURE_DATA_DIR`, default `<project>/.data`). */
export function embeddedAuditDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), 'audit');
}

export { auditCheckpointDir, checkpointConfigFromEnv } from '../activities/audit/checkpoint';

/** Where the CLI finds the store: `DATABASE_URL`, else the embedded data directory. */
export function auditStoreOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OpenAuditStoreOptions {
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL };
  return { dataDir: embeddedAuditDir(env) };
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

/** Writes and waits for the stream to take more when its buffer is full (bounded memory). */
async function write(out: Writable, text: string): Promise<void> {
  if (out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('error', fail);
      resolve();
    };
    const fail = (err: Error): void => {
      out.off('drain', done);
      reject(err);
    };
    out.once('drain', done);
    out.once('error', fail);
  });
}

// --- export -------------------------------------------------------------------------------------------

export type ExportFormat = 'csv' | 'json' | 'ndjson';

export const CSV_COLUMNS = [
  'seq',
  'key',
  'at',
  'hrId',
  'systemId',
  'actorType',
  'actorId',
  'action',
  'requestId',
  'outcome',
  'detail',
  'readBack',
  'recordedAt',
  'prevHash',
  'hash',
] as const;

function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(r: EvidenceRecord): string {
  const cells: (string | number | undefined)[] = [
    r.seq,
    r.key,
    r.at,
    r.hrId,
    r.systemId,
    r.actor.type,
    r.actor.id,
    r.action,
    r.requestId,
    r.outcome,
    r.detail === undefined ? undefined : canonicalJson(r.detail),
    r.readBack === undefined ? undefined : canonicalJson(r.readBack),
    r.recordedAt,
    r.prevHash,
    r.hash,
  ];
  return `${cells.map(csvField).join(',')}\n`;
}

export interface ExportOptions {
  since?: string;
  hrId?: string;
  format: ExportFormat;
  out: Writable;
  /** Progress ("exported n/total") goes here. */
  progress?: Writable;
}

export interface ExportResult {
  exported: number;
  /** The last exported record: note its hash to anchor this export to the chain. */
  last?: { seq: number; hash: string };
}

/**
 * Streams the records matching the query to `out` in chain order, one keyset page at a time, honouring
 * back-pressure. The snapshot is fixed at the start: records appended meanwhile are not included.
 * Formats: `csv` (header, one row per record, JSON columns as canonical JSON), `json` (one array, one record
 * per line — a valid JSON document), `ndjson` (one record per line).
 */
export async function exportEvidence(store: AuditStore, opts: ExportOptions): Promise<ExportResult> {
  const base: EvidenceQuery = {};
  if (opts.since !== undefined) base.since = opts.since;
  if (opts.hrId !== undefined) base.hrId = opts.hrId;
  const head = await headSeq(store);
  const query: EvidenceQuery = head === undefined ? base : { ...base, throughSeq: head };
  const total = await store.count(query);
  const tty = (opts.progress as { isTTY?: boolean } | undefined)?.isTTY === true;
  let exported = 0;
  let last: ExportResult['last'];
  let shownAt = 0;
  let shown = -1;
  const progress = (final: boolean): void => {
    if (!opts.progress) return;
    if (tty) {
      const now = Date.now();
      if (!final && now - shownAt < 100) return;
      shownAt = now;
      opts.progress.write(`\rexported ${exported}/${total}${final ? '\n' : ''}`);
    } else if (final ? shown !== exported : exported % 1000 === 0) {
      shown = exported;
      opts.progress.write(`exported ${exported}/${total}\n`);
    }
  };

  if (opts.format === 'csv') await write(opts.out, `${CSV_COLUMNS.join(',')}\n`);
  if (opts.format === 'json') await write(opts.out, '[');
  for await (const record of store.stream(query)) {
    let text: string;
    if (opts.format === 'csv') text = csvRow(record);
    else if (opts.format === 'json') text = `${exported === 0 ? '\n' : ',\n'}${JSON.stringify(record)}`;
    else text = `${JSON.stringify(record)}\n`;
    await write(opts.out, text);
    exported += 1;
    last = { seq: record.seq, hash: record.hash };
    progress(false);
  }
  if (opts.format === 'json') await write(opts.out, exported === 0 ? ']\n' : '\n]\n');
  progress(true);
  return last ? { exported, last } : { exported };
}

async function headSeq(store: AuditStore): Promise<number | undefined> {
  const withHead = store as AuditStore & { head?: () => Promise<{ seq: number } | undefined> };
  return withHead.head ? (await withHead.head())?.seq : undefined;
}

// --- evidence timeline --------------------------------------------------------------------------------

export interface TimelineEntry {
  seq: number;
  at: string;
  action: string;
  outcome: string;
  actor: EvidenceRecord['actor'];
  requestId?: string;
  detail?: Record<string, unknown>;
  readBack?: Record<string, unknown>;
  /** The record still matches its own hash (the full chain check is `tenure audit verify`). */
  intact: boolean;
}

export interface Timeline {
  hrId: string;
  records: number;
  /** One group per system, in order of first activity; `systemId: null` for intake and decisions. */
  systems: { systemId: string | null; entries: TimelineEntry[] }[];
}

/** A person's evidence grouped by system, each group in time order. Streams; keeps only this person's records. */
export async function evidenceTimeline(store: AuditStore, hrId: string): Promise<Timeline> {
  const groups = new Map<string | null, TimelineEntry[]>();
  let records = 0;
  for await (const r of store.stream({ hrId })) {
    records += 1;
    const { hash, ...unhashed } = r;
    const entry: TimelineEntry = {
      seq: r.seq,
      at: r.at,
      action: r.action,
      outcome: r.outcome,
      actor: r.actor,
      intact: recordHash(unhashed) === hash,
    };
    if (r.requestId !== undefined) entry.requestId = r.requestId;
    if (r.detail !== undefined) entry.detail = r.detail;
    if (r.readBack !== undefined) entry.readBack = r.readBack;
    const key = r.systemId ?? null;
    const list = groups.get(key) ?? [];
    list.push(entry);
    groups.set(key, list);
  }
  const byTime = (a: TimelineEntry, b: TimelineEntry): number => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.seq - b.seq);
  const systems = [...groups.entries()].map(([systemId, entries]) => ({ systemId, entries: entries.sort(byTime) }));
  systems.sort((a, b) => byTime(a.entries[0]!, b.entries[0]!));
  return { hrId, records, systems };
}

function keyValues(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : canonicalJson(v)}`)
    .join(', ');
}

export function formatTimeline(t: Timeline): string {
  const lines = [`Evidence for ${t.hrId}: ${t.records} record${t.records === 1 ? '' : 's'}`, ''];
  for (const group of t.systems) {
    lines.push(group.systemId ?? '(no system: intake and decisions)');
    for (const e of group.entries) {
      lines.push(`  ${e.at}  ${e.action} → ${e.outcome}`);
      const who = `by ${e.actor.type} ${e.actor.id}`;
      lines.push(
        `      ${[who, e.requestId ? `request ${e.requestId}` : undefined, `seq ${e.seq}`].filter(Boolean).join(' · ')}`,
      );
      if (e.detail && Object.keys(e.detail).length) lines.push(`      detail: ${keyValues(e.detail)}`);
      lines.push(`      ${e.readBack ? `verified by read-back: ${keyValues(e.readBack)}` : 'not read back'}`);
      if (!e.intact) lines.push('      ! this record no longer matches its hash — run `tenure audit verify`');
    }
    lines.push('');
  }
  return lines.join('\n');
}

// --- commands -----------------------------------------------------------------------------------------

/** The latest checkpoint file's seq and time, from a report (the anchor, unless the workflow's is newer). */
function loadedLatest(r: AnchoredVerifyReport): { seq: number; at: string } {
  return r.filesLatest ?? { seq: r.anchor?.seq ?? 0, at: r.anchor?.at ?? '' };
}

async function withStore<T>(io: AuditCliIo, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await io.openStore();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function out(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Adds `audit verify`, `audit export` and `evidence` to the `tenure` program. */
export function registerAuditCommands(program: Command, overrides: Partial<AuditCliIo> = {}): void {
  const env = overrides.env ?? process.env;
  const io: AuditCliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    openStore: () => openFromEnv(env),
    checkpointWorkflow: askCheckpointWorkflow,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    ...overrides,
  };

  const audit = program
    .command('audit')
    .description('the audit store: hash-chained evidence of every step (DATABASE_URL, or the embedded store)');

  audit
    .command('verify')
    .description(
      'walk the whole chain: every record present, unchanged and linked, and (with TENURE_AUDIT_CHECKPOINT_KEY) ' +
        'every record the signed checkpoints anchored; exits 1 when it is broken',
    )
    .option('--json', 'print the report as JSON')
    .action((opts: { json?: boolean }) =>
      withStore(io, async (store) => {
        const checkpoints = checkpointConfigFromEnv(io.env);
        let workflow: AuditCheckpoint | null | { unreachable: string } = null;
        if (checkpoints) {
          try {
            workflow = (await io.checkpointWorkflow()) ?? null;
          } catch (err) {
            workflow = { unreachable: err instanceof Error ? err.message : String(err) };
          }
        }
        const report: AnchoredVerifyReport | Awaited<ReturnType<AuditStore['verify']>> = checkpoints
          ? await verifyAgainstCheckpoints(store, checkpoints, { workflow })
          : await store.verify();
        const anchored = checkpoints ? (report as AnchoredVerifyReport) : undefined;
        if (opts.json) out(io.stdout, JSON.stringify(report, null, 2));
        else if (report.ok) {
          out(
            io.stdout,
            report.head
              ? `audit chain intact: ${report.checked} records, head seq ${report.head.seq} hash ${report.head.hash}`
              : 'audit chain intact: no records yet',
          );
        } else if (report.problem) {
          const p = report.problem;
          out(
            io.stdout,
            `audit chain BROKEN at seq ${p.seq}${p.key ? ` (key ${p.key})` : ''}: ${p.kind} — ${p.message}\n` +
              `${Math.min(report.checked, p.seq - 1)} records before it are intact.`,
          );
        }
        if (!opts.json) {
          if (anchored?.checkpointProblem) {
            out(
              io.stdout,
              `checkpoint ${anchored.checkpointProblem.file} ${anchored.checkpointProblem.message}: the checkpoints after it are not trusted`,
            );
          }
          const w = anchored?.workflow;
          if (anchored && anchored.checkpoints > 0) {
            const files = loadedLatest(anchored);
            out(
              io.stdout,
              `anchored: ${anchored.checkpoints} signed checkpoint${anchored.checkpoints === 1 ? '' : 's'}, the latest at ` +
                `${files.at} through seq ${files.seq}`,
            );
          }
          if (w?.state === 'checked') {
            out(
              io.stdout,
              `anchored in Temporal: the checkpoint workflow's latest checkpoint, ${w.at} through seq ${w.seq}`,
            );
          } else if (w?.state === 'invalid') {
            out(
              io.stdout,
              `the checkpoint workflow's checkpoint (seq ${w.seq}) ${w.message}: someone without the key signalled it`,
            );
          } else if (w?.state === 'unreachable') {
            out(io.stderr, `checkpoint workflow not checked: Temporal is not reachable (${w.message ?? ''})`);
          } else if (w?.state === 'none') {
            out(io.stderr, 'checkpoint workflow: no checkpoint in Temporal yet');
          }
          if (anchored && !anchored.anchor) {
            out(io.stderr, 'no checkpoint yet: a cut tail or a re-hashed chain would not show');
          } else if (!anchored) {
            out(
              io.stderr,
              'unanchored: set TENURE_AUDIT_CHECKPOINT_KEY to check against signed checkpoints (a cut tail or a ' +
                're-hashed chain does not show without them)',
            );
          }
        }
        if (!report.ok) io.setExitCode(1);
      }),
    );

  audit
    .command('checkpoint')
    .description(
      'sign the chain head (and every hash since the last checkpoint) into TENURE_AUDIT_CHECKPOINT_DIR with ' +
        'TENURE_AUDIT_CHECKPOINT_KEY',
    )
    .action(() =>
      withStore(io, async (store) => {
        const checkpoints = checkpointConfigFromEnv(io.env);
        if (!checkpoints) throw new Error('TENURE_AUDIT_CHECKPOINT_KEY is not set');
        if (typeof (store as Partial<ChainSource>).head !== 'function') throw new Error('this store has no head()');
        const c = await writeCheckpoint(store as AuditStore & ChainSource, checkpoints);
        out(
          io.stdout,
          c
            ? `checkpoint written: seq ${c.fromSeq}–${c.seq}, head hash ${c.hash}, in ${checkpoints.dir}`
            : 'nothing new since the last checkpoint',
        );
      }),
    );

  audit
    .command('export')
    .description('stream evidence as CSV, a JSON array or NDJSON, in chain order; progress on stderr')
    .option('--since <instant>', 'only records whose time is at or after this ISO 8601 date or instant')
    .option('--hr-id <hrId>', "only one person's records")
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json', 'ndjson']).default('csv'))
    .option('--out <file>', 'write to this file (atomically, when complete) instead of stdout')
    .action((opts: { since?: string; hrId?: string; format: ExportFormat; out?: string }) =>
      withStore(io, async (store) => {
        const target = opts.out;
        const partial = target ? `${target}.partial` : undefined;
        const sink = partial ? createWriteStream(partial) : io.stdout;
        try {
          const result = await exportEvidence(store, {
            format: opts.format,
            out: sink,
            progress: io.stderr,
            ...(opts.since !== undefined ? { since: opts.since } : {}),
            ...(opts.hrId !== undefined ? { hrId: opts.hrId } : {}),
          });
          if (partial && target) {
            sink.end();
            await finished(sink);
            renameSync(partial, target);
          }
          out(
            io.stderr,
            `exported ${result.exported} record${result.exported === 1 ? '' : 's'}${target ? ` to ${target}` : ''}` +
              (result.last ? `; last seq ${result.last.seq} hash ${result.last.hash}` : ''),
          );
        } catch (err) {
          if (partial) {
            sink.destroy();
            rmSync(partial, { force: true });
          }
          throw err;
        }
      }),
    );

  program
    .command('evidence')
    .description("a person's evidence, grouped by system: what was done, when, by whom, outcome, read-back")
    .argument('<hrId>')
    .option('--json', 'print the timeline as JSON')
    .action((hrId: string, opts: { json?: boolean }) =>
      withStore(io, async (store) => {
        const timeline = await evidenceTimeline(store, hrId);
        if (timeline.records === 0) {
          out(io.stderr, `no evidence recorded for ${hrId}`);
          io.setExitCode(1);
          return;
        }
        out(io.stdout, opts.json ? JSON.stringify(timeline, null, 2) : formatTimeline(timeline));
      }),
    );
}

if (require.main === module) {
  const program = new Command('tenure').description('Tenure audit commands');
  registerAuditCommands(program);
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`tenure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
