import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CSV_COLUMNS, importRoster, parseRosterCsv, type ImportProgress } from '../../src/client/csv-import';
import { employeeWorkflowId } from '../../src/domain/ids';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';

const HEADER = [
  'hrId',
  'legalFirstName',
  'legalLastName',
  'preferredFirstName',
  'workEmail',
  'department',
  'title',
  'locationName',
  'countryCode',
  'timeZone',
  'employmentType',
  'hireDate',
];

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A roster of `count` people, hire dates in the future (so runs just wait). `bad` maps a 0-based person
 * index to a column to spoil and the bad value.
 */
function roster(
  prefix: string,
  count: number,
  bad: Record<number, [string, string]> = {},
): { csv: string; ids: string[] } {
  const ids: string[] = [];
  const lines = [HEADER.join(',')];
  for (let i = 0; i < count; i++) {
    const hrId = `${prefix}${i}`;
    ids.push(hrId);
    const values: Record<string, string> = {
      hrId,
      legalFirstName: 'Inês',
      legalLastName: `Ferreira, ${i}`,
      preferredFirstName: i % 3 === 0 ? 'Nês' : '',
      workEmail: `${hrId.toLowerCase()}@acme.example`,
      department: i % 2 ? 'Engineering' : 'Sales',
      title: 'Analyst "II"',
      locationName: 'Lisbon',
      countryCode: 'PT',
      timeZone: 'Europe/Lisbon',
      employmentType: 'employee',
      hireDate: `2031-${String((i % 12) + 1).padStart(2, '0')}-15`,
    };
    const spoil = bad[i];
    if (spoil) values[spoil[0]] = spoil[1];
    lines.push(HEADER.map((h) => csvField(values[h] ?? '')).join(','));
  }
  return { csv: `${lines.join('\r\n')}\r\n`, ids };
}

async function entityExists(t: TenureHarness, hrId: string): Promise<boolean> {
  try {
    await t.client.workflow.getHandle(employeeWorkflowId(hrId)).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Events the intake delivered: one per single webhook, every event of a batch (`tenure import` sends one). */
function delivered(t: TenureHarness): number {
  return t.logLines.reduce(
    (n, l) => n + (l.msg === 'hr event delivered' ? 1 : l.msg === 'hr batch delivered' ? Number(l.events ?? 0) : 0),
    0,
  );
}

describe('tenure import roster.csv', function () {
  this.timeout(300_000);

  describe('parsing and validation', () => {
    it('names row and column for every problem, as a spreadsheet numbers rows', () => {
      const { csv } = roster('P', 6, {
        1: ['hireDate', '2031-02-30'],
        2: ['department', ''],
        4: ['workEmail', 'not-an-email'],
      });
      const parsed = parseRosterCsv(csv);
      assert.equal(parsed.fatal, false);
      assert.equal(parsed.rows, 6);
      assert.deepEqual(
        parsed.errors.map((e) => [e.row, e.column]),
        [
          [3, 'hireDate'],
          [4, 'department'],
          [6, 'workEmail'],
        ],
      );
      assert.equal(parsed.errors[1]?.message, 'is required');
      assert.deepEqual(
        parsed.valid.map((v) => v.row),
        [2, 5, 7],
      );
      const first = parsed.valid[0]?.event;
      assert.equal(first?.kind, 'hire');
      assert.equal(first?.record.legalLastName, 'Ferreira, 0', 'quoted commas survive');
      assert.equal(first?.record.title, 'Analyst "II"', 'escaped quotes survive');
      assert.equal(first?.record.preferredFirstName, 'Nês');
      assert.equal(first?.record.status, 'pre_hire', 'a future hire date makes a pre-hire');
      assert.match(first?.eventId ?? '', /^csv-P0-[0-9a-f]{16}$/);
      assert.equal(parseRosterCsv(csv).valid[0]?.event.eventId, first?.eventId, 'the same row, the same event id');
    });

    it('refuses a file whose header is wrong, whose rows are ragged, or that repeats a person', () => {
      const unknown = parseRosterCsv(
        'hrId,legalFirstName,legalLastName,departmnt,title,locationName,countryCode,timeZone,hireDate\n',
        { unknownColumns: 'refuse' },
      );
      assert.equal(unknown.fatal, true);
      assert.deepEqual(
        unknown.errors.map((e) => [e.row, e.column]),
        [
          [1, 'departmnt'],
          [1, 'department'],
        ],
      );
      const ignoring = parseRosterCsv(
        'hrId,legalFirstName,legalLastName,departmnt,title,locationName,countryCode,timeZone,hireDate\n',
      );
      assert.equal(ignoring.fatal, true, 'an ignored misspelling still leaves a required column missing');
      assert.deepEqual(
        ignoring.errors.map((e) => [e.row, e.column]),
        [[1, 'department']],
      );
      assert.deepEqual(ignoring.ignoredColumns, ['departmnt']);
      const lenient = parseRosterCsv(
        'HR ID,Legal First Name,legal_last_name,Department,Title,Location Name,Country Code,Time Zone,Hire Date,Work-Email\n' +
          'A1,Ana,Lima,Eng,Dev,Lisbon,PT,Europe/Lisbon,2031-01-01,ana@acme.example\n' +
          'A2,Rui\n' +
          '\n' +
          'A1,Ana,Lima,Eng,Dev,Lisbon,PT,Europe/Lisbon,2031-01-01,ana@acme.example\n',
      );
      assert.equal(lenient.fatal, false, 'header names match loosely');
      assert.deepEqual(
        lenient.errors.map((e) => [e.row, e.column, e.message]),
        [
          [3, '(row)', 'has 2 fields; the header has 10'],
          [5, 'HR ID', 'repeats row 2: one row per person'],
        ],
      );
      assert.equal(lenient.valid.length, 1);
      assert.deepEqual(CSV_COLUMNS.includes('personalEmail'), true);
      assert.equal(parseRosterCsv('hrId,"unclosed\n').fatal, true);
    });

    it('a column it does not know is ignored and named, as the webhook ignores unknown fields; or refused', () => {
      const csv =
        'hrId,legalFirstName,legalLastName,department,title,locationName,countryCode,timeZone,hireDate,workEmail,Cost Center\n' +
        'C1,Ana,Lima,Eng,Dev,Lisbon,PT,Europe/Lisbon,2031-01-01,ana@acme.example,CC-4711\n';
      const ignored = parseRosterCsv(csv);
      assert.equal(ignored.fatal, false);
      assert.deepEqual(ignored.errors, []);
      assert.deepEqual(ignored.ignoredColumns, ['Cost Center']);
      assert.equal(ignored.valid.length, 1);
      assert.doesNotMatch(JSON.stringify(ignored.valid[0]?.event), /CC-4711/, 'the value is not sent');
      const refused = parseRosterCsv(csv, { unknownColumns: 'refuse' });
      assert.equal(refused.fatal, true);
      assert.deepEqual(
        refused.errors.map((e) => [e.row, e.column]),
        [[1, 'Cost Center']],
      );
    });
  });

  describe('through the real intake server', () => {
    let t: TenureHarness;
    let dir: string;

    before(async () => {
      await workflowBundle();
      t = await startTenure();
      dir = mkdtempSync(join(tmpdir(), 'tenure-import-'));
    });
    after(async () => {
      await t?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('1,000 rows with 3 bad ones: the 3 are named by row and column, the other 997 are accepted', async () => {
      const prefix = `R${Date.now().toString(36)}x`;
      const { csv, ids } = roster(prefix, 1000, {
        99: ['hireDate', '2031-02-30'],
        500: ['department', ''],
        900: ['workEmail', 'not-an-email'],
      });
      const progress: ImportProgress[] = [];
      const started = Date.now();
      const summary = await importRoster(csv, t.tenure, { concurrency: 8, onProgress: (p) => progress.push(p) });
      const seconds = (Date.now() - started) / 1000;

      assert.deepEqual(summary.errors, [
        { row: 101, column: 'hireDate', message: 'must be a calendar date YYYY-MM-DD' },
        { row: 502, column: 'department', message: 'is required' },
        { row: 902, column: 'workEmail', message: 'Invalid email address' },
      ]);
      assert.equal(summary.rows, 1000);
      assert.equal(summary.valid, 997);
      assert.equal(summary.invalid, 3);
      assert.equal(summary.sent, 997);
      assert.deepEqual(summary.counts, { accepted: 997, duplicate: 0, rejected: 0, refused: 0, failed: 0, held: 0 });
      // One batch: the progress is reported when the intake answered for every row.
      assert.equal(progress.at(-1)?.done, 997);
      assert.equal(progress.at(-1)?.total, 997);
      assert.equal(delivered(t), 997);
      assert.ok(await entityExists(t, ids[0] ?? ''));
      assert.ok(await entityExists(t, ids[999] ?? ''));
      assert.equal(await entityExists(t, ids[500] ?? ''), false, 'a bad row was not sent');
      process.stderr.write(`      (997 events in ${seconds.toFixed(1)} s)\n`);

      // The same rows again (the first 50): duplicates, nothing new starts.
      const head = csv.split('\r\n').slice(0, 51).join('\r\n');
      const again = await importRoster(head, t.tenure, { concurrency: 8 });
      assert.deepEqual(again.counts, { accepted: 0, duplicate: 50, rejected: 0, refused: 0, failed: 0, held: 0 });
      assert.equal(delivered(t), 997 + 50);
    });

    it('--atomic: one bad row and nothing is sent', async () => {
      const prefix = `T${Date.now().toString(36)}x`;
      const { csv, ids } = roster(prefix, 200, { 150: ['timeZone', 'Mars/Olympus'] });
      const before = delivered(t);
      const summary = await importRoster(csv, t.tenure, { atomic: true });
      assert.equal(summary.sentNothing, true);
      assert.equal(summary.sent, 0);
      assert.deepEqual(
        summary.errors.map((e) => [e.row, e.column]),
        [[152, 'timeZone']],
      );
      assert.match(summary.reason ?? '', /--atomic/);
      assert.equal(delivered(t), before, 'the intake server received nothing');
      assert.equal(await entityExists(t, ids[0] ?? ''), false);
    });

    it('the `tenure import` command: errors on stderr, summary on stdout, exit code', async () => {
      const prefix = `C${Date.now().toString(36)}x`;
      const bad = roster(prefix, 5, { 3: ['hireDate', 'soon'] });
      const badFile = join(dir, 'bad.csv');
      writeFileSync(badFile, bad.csv);
      const atomic = await runCli(t, ['import', badFile, '--atomic']);
      assert.equal(atomic.code, 1);
      assert.match(atomic.stderr, /row 5, column hireDate: must be a calendar date/);
      assert.match(atomic.stdout, /sent: 0 \(--atomic/);
      assert.equal(await entityExists(t, `${prefix}0`), false);

      const goAhead = await runCli(t, ['import', badFile, '--concurrency', '2']);
      assert.equal(goAhead.code, 1, 'a bad row still fails the command');
      assert.match(goAhead.stdout, /rows: 5, valid: 4, invalid: 1/);
      assert.match(goAhead.stdout, /4 accepted/);
      assert.match(goAhead.stderr, /sent 4\/4/);
      assert.ok(await entityExists(t, `${prefix}0`));

      const good = roster(`${prefix}g`, 2);
      const goodFile = join(dir, 'good.csv');
      writeFileSync(goodFile, good.csv);
      const ok = await runCli(t, ['import', goodFile, '--json']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((JSON.parse(ok.stdout) as { counts: { accepted: number } }).counts.accepted, 2);
    });
  });
});

/** Runs `registerImportCommands` on a fresh commander program in a child process, as `tenure` would. */
function runCli(t: TenureHarness, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = [
    "const { Command } = require('commander');",
    "const { registerImportCommands } = require('./src/client/cli-import.ts');",
    "const program = new Command('tenure');",
    'registerImportCommands(program);',
    "program.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { process.stderr.write(String(e) + '\\n'); process.exit(2); });",
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script, '--', ...args], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, TENURE_INTAKE_URL: t.intake.url, TENURE_WEBHOOK_SECRET: t.webhookSecret },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
