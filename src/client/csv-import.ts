/**
 * `tenure import roster.csv`: bulk intake from a CSV export. Parse (header row, RFC 4180) → validate every row
 * with the same zod schema the intake server uses, naming row and column → send the valid rows through
 * `TenureClient`: as one batch the mass-change guard judges as a whole (docs/guard.md), or, for a sender without
 * batches, row by row with bounded concurrency. Columns and answers are documented in docs/import.md.
 *
 * Rows are numbered as a spreadsheet shows them: the header is row 1, the first person row 2. A column the importer
 * does not know is ignored and named in `ignoredColumns`, as the webhook ignores unknown fields, unless
 * `unknownColumns` is "refuse" (the file is then unusable).
 */
import { createHash } from 'node:crypto';
import { parse, type Options as CsvParseOptions } from 'csv-parse/sync';
import type { z } from 'zod';
import { webhookEventSchema, type HrEventKind, type UnknownFieldPolicy } from '../domain/employee';
import { cleanEventText, stripControlCharacters } from '../domain/text';
import type { SendBatchInput, SendBatchResult, SendEventInput, SendEventResult } from './tenure-client';

/** Every column the importer knows. Header names match case-insensitively, ignoring spaces, `_` and `-`. */
export const CSV_COLUMNS = [
  'eventId',
  'kind',
  'hrId',
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'preferredLastName',
  'personalEmail',
  'workEmail',
  'department',
  'title',
  'locationName',
  'countryCode',
  'timeZone',
  'managerHrId',
  'employmentType',
  'status',
  'hireDate',
  'exitDate',
  'exitKind',
  'sourceUpdatedAt',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Columns the header must have (a row may still leave optional ones empty). */
export const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = [
  'hrId',
  'legalFirstName',
  'legalLastName',
  'department',
  'title',
  'locationName',
  'countryCode',
  'timeZone',
  'hireDate',
];

export interface CsvRowError {
  /** Spreadsheet row: the header is row 1. */
  row: number;
  /** The column as the file names it, or `(row)` / `(file)` when no single column is at fault. */
  column: string;
  message: string;
}

export interface RosterRow {
  row: number;
  event: SendEventInput;
}

export interface ParsedRoster {
  /** Data rows in the file (blank lines not counted). */
  rows: number;
  valid: RosterRow[];
  errors: CsvRowError[];
  /** The file itself is unusable (bad header, broken quoting): nothing may be sent. */
  fatal: boolean;
  /** Header names of the columns the importer does not know and ignored (under `unknownColumns: "ignore"`). */
  ignoredColumns: string[];
}

export interface ParseRosterOptions {
  /** Kind for rows without a `kind`. @default "hire" */
  defaultKind?: HrEventKind;
  /** `sourceUpdatedAt` for rows without one. @default now */
  now?: () => Date;
  /**
   * A column the importer does not know: `ignore` it (named in `ignoredColumns`) or `refuse` the file, as the
   * policy's `intake.unknownFields` does for webhook fields. @default "ignore"
   */
  unknownColumns?: UnknownFieldPolicy;
}

function normalizeHeader(name: string): string {
  return name.replace(/[\s_-]+/g, '').toLowerCase();
}

const COLUMN_BY_KEY = new Map<string, CsvColumn>(CSV_COLUMNS.map((c) => [normalizeHeader(c), c]));

/** Which CSV column a zod issue path points at. */
function columnOf(path: readonly PropertyKey[]): CsvColumn | undefined {
  const [top, field, sub] = path.map(String);
  if (top === 'eventId' || top === 'kind') return top;
  if (top !== 'record' || field === undefined) return undefined;
  if (field === 'location') {
    if (sub === 'name') return 'locationName';
    if (sub === 'countryCode' || sub === 'timeZone') return sub;
    return 'locationName';
  }
  return COLUMN_BY_KEY.get(normalizeHeader(field));
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'is required';
  return issue.message;
}

/** A stable event id for a row, so importing the same file twice sends duplicates, not new events. */
function rowEventId(values: Partial<Record<CsvColumn, string>>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(CSV_COLUMNS.map((c) => values[c] ?? '')))
    .digest('hex');
  return `csv-${values.hrId ?? 'row'}-${digest.slice(0, 16)}`.slice(0, 128);
}

/** Parse and validate a roster CSV. Never throws for bad content: problems come back as `errors`. */
export function parseRosterCsv(text: string, options: ParseRosterOptions = {}): ParsedRoster {
  const now = options.now ?? (() => new Date());
  const importedAt = now().toISOString();
  const today = importedAt.slice(0, 10);
  let records: string[][];
  try {
    const csvOptions: CsvParseOptions = { bom: true, relax_column_count: true, skip_empty_lines: false };
    records = parse(text, csvOptions);
  } catch (err) {
    const lines = (err as { lines?: number }).lines;
    return {
      rows: 0,
      valid: [],
      errors: [{ row: lines ?? 1, column: '(file)', message: `not readable as CSV: ${(err as Error).message}` }],
      fatal: true,
      ignoredColumns: [],
    };
  }

  const header = records[0] ?? [];
  const errors: CsvRowError[] = [];
  const ignoredColumns: string[] = [];
  const columns: (CsvColumn | undefined)[] = header.map((name) => COLUMN_BY_KEY.get(normalizeHeader(name)));
  header.forEach((name, i) => {
    const column = columns[i];
    if (column === undefined) {
      if ((options.unknownColumns ?? 'ignore') === 'ignore')
        ignoredColumns.push(stripControlCharacters(name) || '(unnamed)');
      else errors.push({ row: 1, column: name, message: `unknown column (known: ${CSV_COLUMNS.join(', ')})` });
    } else if (columns.indexOf(column) !== i) {
      errors.push({ row: 1, column: name, message: `repeats column ${header[columns.indexOf(column)] ?? column}` });
    }
  });
  for (const required of REQUIRED_CSV_COLUMNS) {
    if (!columns.includes(required)) errors.push({ row: 1, column: required, message: 'required column is missing' });
  }
  if (header.length === 0) errors.push({ row: 1, column: '(file)', message: 'the file is empty: no header row' });
  if (errors.length > 0) {
    return { rows: Math.max(0, records.length - 1), valid: [], errors, fatal: true, ignoredColumns };
  }

  const headerName = (column: CsvColumn): string => header[columns.indexOf(column)] ?? column;
  const valid: RosterRow[] = [];
  const firstRowOf = new Map<string, number>();
  let rows = 0;

  records.slice(1).forEach((cells, index) => {
    const row = index + 2;
    if (cells.every((c) => c.trim() === '')) return;
    rows += 1;
    if (cells.length !== header.length) {
      errors.push({ row, column: '(row)', message: `has ${cells.length} fields; the header has ${header.length}` });
      return;
    }
    const values: Partial<Record<CsvColumn, string>> = {};
    cells.forEach((cell, i) => {
      const column = columns[i];
      const value = cell.trim();
      if (column !== undefined && value !== '') values[column] = value;
    });
    const record: Record<string, unknown> = {
      hrId: values.hrId,
      legalFirstName: values.legalFirstName,
      legalLastName: values.legalLastName,
      preferredFirstName: values.preferredFirstName,
      preferredLastName: values.preferredLastName,
      personalEmail: values.personalEmail,
      workEmail: values.workEmail,
      department: values.department,
      title: values.title,
      location: { name: values.locationName, countryCode: values.countryCode, timeZone: values.timeZone },
      managerHrId: values.managerHrId,
      employmentType: values.employmentType ?? 'employee',
      status:
        values.status ??
        (values.exitDate !== undefined && values.exitDate <= today
          ? 'terminated'
          : values.hireDate !== undefined && values.hireDate > today
            ? 'pre_hire'
            : 'active'),
      hireDate: values.hireDate,
      exitDate: values.exitDate,
      exitKind: values.exitKind,
      sourceUpdatedAt: values.sourceUpdatedAt ?? importedAt,
    };
    for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
    const candidate = {
      eventId: values.eventId ?? rowEventId(values),
      kind: values.kind ?? options.defaultKind ?? 'hire',
      record,
    };
    const parsed = webhookEventSchema.safeParse(cleanEventText(candidate));
    if (!parsed.success) {
      const seen = new Set<string>();
      for (const issue of parsed.error.issues) {
        const column = columnOf(issue.path);
        const name = column ? headerName(column) : '(row)';
        const message = issueMessage(issue);
        if (seen.has(`${name}:${message}`)) continue;
        seen.add(`${name}:${message}`);
        errors.push({ row, column: name, message });
      }
      return;
    }
    const hrId = parsed.data.record.hrId;
    const earlier = firstRowOf.get(hrId);
    if (earlier !== undefined) {
      errors.push({ row, column: headerName('hrId'), message: `repeats row ${earlier}: one row per person` });
      return;
    }
    firstRowOf.set(hrId, row);
    valid.push({ row, event: parsed.data });
  });
  errors.sort((a, b) => a.row - b.row);
  return { rows, valid, errors, fatal: false, ignoredColumns };
}

/** Something that sends events: a `TenureClient`, or a stand-in in tests. */
export interface EventSender {
  sendEvent(event: SendEventInput): Promise<SendEventResult>;
  /**
   * The whole file as ONE batch for the mass-change guard (`POST /webhooks/hr/batch`): a `TenureClient` has it, and
   * then the import is one guarded run (what takes access away past the thresholds is held, docs/guard.md).
   */
  sendBatch?(batch: SendBatchInput): Promise<SendBatchResult>;
}

/** `held`: the mass-change guard held the row's event (`ImportSummary.hold`); it runs only after a release. */
export type RowOutcome = 'accepted' | 'duplicate' | 'rejected' | 'refused' | 'failed' | 'held';

export interface RowResult {
  row: number;
  hrId: string;
  eventId: string;
  outcome: RowOutcome;
  status?: number;
  message?: string;
}

export interface ImportProgress {
  done: number;
  total: number;
  counts: Record<RowOutcome, number>;
}

export interface ImportOptions extends ParseRosterOptions {
  /** All or nothing: any bad row and nothing is sent. @default false ("valid rows go ahead") */
  atomic?: boolean;
  /** Requests in flight at once. @default 8 */
  concurrency?: number;
  /** Validate only; send nothing. */
  dryRun?: boolean;
  /** Called after every row sent. */
  onProgress?: (progress: ImportProgress) => void;
  /** Tries per row when the intake server is unreachable or answers 5xx. @default 3 */
  attempts?: number;
  /** Wait before a retry, in ms (doubled each time). @default 500 */
  retryDelayMs?: number;
}

export interface ImportSummary {
  rows: number;
  valid: number;
  invalid: number;
  errors: CsvRowError[];
  /** Columns the importer does not know and ignored (see `unknownColumns`). */
  ignoredColumns: string[];
  /** Nothing was sent because the file is unusable, or `--atomic` found a bad row, or a dry run. */
  sentNothing: boolean;
  reason?: string;
  sent: number;
  counts: Record<RowOutcome, number>;
  results: RowResult[];
  /** The hold the guard put the file's held rows in (`tenure guard show <holdId>`), when it held any. */
  hold?: { holdId: string; reasons: string[] };
}

function emptyCounts(): Record<RowOutcome, number> {
  return { accepted: 0, duplicate: 0, rejected: 0, refused: 0, failed: 0, held: 0 };
}

function outcomeOf(answer: SendEventResult): RowOutcome {
  if (answer.outcome === 'refused') return 'refused';
  return answer.outcome;
}

/** Parse, validate and send a roster. Progress goes to `onProgress`; nothing is printed here. */
export async function importRoster(
  text: string,
  sender: EventSender,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const parsed = parseRosterCsv(text, options);
  const counts = emptyCounts();
  const base = {
    rows: parsed.rows,
    valid: parsed.valid.length,
    invalid: new Set(parsed.errors.map((e) => e.row)).size,
    errors: parsed.errors,
    ignoredColumns: parsed.ignoredColumns,
  };
  const nothing = (reason: string): ImportSummary => ({
    ...base,
    sentNothing: true,
    reason,
    sent: 0,
    counts,
    results: [],
  });
  if (parsed.fatal) return nothing('the file cannot be imported: fix the header or the CSV syntax');
  if (options.atomic && parsed.errors.length > 0) {
    return nothing(`--atomic: ${base.invalid} row(s) are invalid, so no row was sent`);
  }
  if (options.dryRun) return nothing('dry run: nothing was sent');

  const attempts = Math.max(1, options.attempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 500;
  const queue = parsed.valid;
  if (sender.sendBatch && queue.length > 0) {
    return {
      ...base,
      ...(await sendAsBatch(text, queue, sender.sendBatch.bind(sender), attempts, retryDelayMs, options)),
    };
  }
  const results = new Array<RowResult>(queue.length);
  let next = 0;
  let done = 0;

  const sendOne = async ({ row, event }: RosterRow): Promise<RowResult> => {
    const result: RowResult = { row, hrId: event.record.hrId, eventId: event.eventId, outcome: 'failed' };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const answer = await sender.sendEvent(event);
        result.status = answer.status;
        result.outcome = outcomeOf(answer);
        if (answer.outcome === 'refused') result.message = `${answer.error}: ${answer.message}`;
        else if (answer.reason !== undefined) result.message = answer.reason;
        if (answer.status < 500) return result;
        result.outcome = 'failed';
      } catch (err) {
        result.outcome = 'failed';
        result.message = err instanceof Error ? err.message : String(err);
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
    }
    return result;
  };

  const lanes = Array.from({ length: Math.min(Math.max(1, options.concurrency ?? 8), queue.length) }, async () => {
    while (next < queue.length) {
      const i = next++;
      const result = await sendOne(queue[i] as RosterRow);
      results[i] = result;
      counts[result.outcome] += 1;
      done += 1;
      options.onProgress?.({ done, total: queue.length, counts: { ...counts } });
    }
  });
  await Promise.all(lanes);
  return { ...base, sentNothing: false, sent: queue.length, counts, results };
}

/**
 * The valid rows as one batch, id the file's hash (sending the same file again is the same batch and gets the same
 * decision). Retried like a row when the intake server is unreachable or answers 5xx.
 */
async function sendAsBatch(
  text: string,
  queue: RosterRow[],
  sendBatch: (b: SendBatchInput) => Promise<SendBatchResult>,
  attempts: number,
  retryDelayMs: number,
  options: ImportOptions,
): Promise<Pick<ImportSummary, 'sentNothing' | 'sent' | 'counts' | 'results' | 'hold'>> {
  const counts = emptyCounts();
  const batchId = `csv-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  let answer: SendBatchResult | undefined;
  let failure = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      answer = await sendBatch({ batchId, path: 'import', events: queue.map((r) => r.event) });
      if (answer.status < 500) break;
      failure = answer.outcome === 'refused' ? `${answer.error}: ${answer.message}` : `status ${answer.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    answer = undefined;
    if (attempt < attempts) await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** (attempt - 1)));
  }
  const results: RowResult[] = queue.map(({ row, event }) => {
    const r: RowResult = { row, hrId: event.record.hrId, eventId: event.eventId, outcome: 'failed' };
    if (!answer) {
      r.message = failure;
      return r;
    }
    r.status = answer.status;
    if (answer.outcome === 'refused') {
      r.outcome = 'refused';
      r.message = `${answer.error}: ${answer.message}`;
      return r;
    }
    const one = answer.results.find((x) => x.eventId === event.eventId);
    if (one?.held) r.outcome = 'held';
    else if (one?.result) {
      r.outcome = one.result.outcome;
      if (one.result.reason !== undefined) r.message = one.result.reason;
    } else r.message = one?.error ?? 'no answer for this row';
    return r;
  });
  for (const r of results) counts[r.outcome] += 1;
  options.onProgress?.({ done: queue.length, total: queue.length, counts: { ...counts } });
  return {
    sentNothing: false,
    sent: queue.length,
    counts,
    results,
    ...(answer?.outcome === 'delivered' && answer.held && answer.holdId
      ? { hold: { holdId: answer.holdId, reasons: answer.reasons } }
      : {}),
  };
}
