import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deliverHrEvent } from '../../src/client/deliver';
import type { EmployeeRecord, HrEvent } from '../../src/domain/employee';
import { RECORD_LIMITS } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { spawnEntryPoint } from '../helpers/processes';
import { DEPARTMENT, DEPARTMENT_KEY_MAX_BYTES, WAITING_ON } from '../../src/workflows/search-attributes';
import { makeRecord } from '../helpers/records';
import { devServer, workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/** Odd text: any unicode (lone surrogates too), control characters, bidi overrides, exactly-at and over the bounds. */
const oddText = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: max }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: max }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.ceil(max / 4) }),
    fc.constantFrom(
      'x'.repeat(max),
      'x'.repeat(max + 1),
      '🦄'.repeat(Math.floor(max / 2)),
      'é'.repeat(3000),
      '\u0000\u0007\u001b[31m',
      'Eng\nineering\r\n',
      '\u202eGNIREENIGNE',
      '\ud800',
      ' ',
    ),
  );

const recordOverrides = fc.record({
  legalFirstName: oddText(RECORD_LIMITS.name),
  legalLastName: oddText(RECORD_LIMITS.name),
  preferredFirstName: fc.option(oddText(RECORD_LIMITS.name), { nil: undefined }),
  department: oddText(RECORD_LIMITS.department),
  title: oddText(RECORD_LIMITS.title),
  locationName: oddText(RECORD_LIMITS.locationName),
});

const plain = {
  legalFirstName: 'Ana',
  legalLastName: 'Lima',
  preferredFirstName: undefined,
  department: 'Engineering',
  title: 'Engineer',
  locationName: 'Lisbon',
};

/**
 * No input can break a person's workflow: generated records, huge and odd, through the real signed webhook and the
 * entity. A record is refused at the intake (422 naming the field) or accepted; either way a person whose hire was
 * accepted keeps a running entity with their state. Past the intake too: events that bypass it reach the entity
 * with a 3,000-byte department, and the entity still starts its run and keeps its state.
 */
describe('entity survives any record: generated records through the signed webhook and the entity', function () {
  this.timeout(600_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  const entity = (hrId: string) => t.client.workflow.getHandle(employeeWorkflowId(hrId));

  async function assertAlive(hrId: string, lastEventId: string): Promise<void> {
    const d = await entity(hrId).describe();
    assert.equal(d.status.name, 'RUNNING', `employee/${hrId} is ${d.status.name}`);
    const s = await entity(hrId).query(employeeStatusQuery);
    assert.ok(s.record, 'the entity keeps its record');
    assert.ok(
      s.events.some((e) => e.eventId === lastEventId),
      'the entity remembers the event',
    );
  }

  it('a record is refused naming its field, or accepted and its entity lives on with its state', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(recordOverrides, recordOverrides, async (first, second) => {
        const base = makeRecord({ hireDate: '2031-06-02' });
        const apply = (o: typeof first, sourceUpdatedAt: string): EmployeeRecord => ({
          ...base,
          legalFirstName: o.legalFirstName,
          legalLastName: o.legalLastName,
          ...(o.preferredFirstName !== undefined ? { preferredFirstName: o.preferredFirstName } : {}),
          department: o.department,
          title: o.title,
          location: { ...base.location, name: o.locationName },
          sourceUpdatedAt,
        });
        const hire = await t.tenure.sendEvent({
          eventId: `hire-${base.hrId}`,
          kind: 'hire',
          record: apply(first, new Date().toISOString()),
        });
        if (hire.outcome === 'refused') {
          refused += 1;
          assert.equal(hire.status, 422, JSON.stringify(hire));
          assert.match(hire.message, /record\.\w+/, 'the refusal names the field');
          return;
        }
        accepted += 1;
        assert.equal(hire.outcome, 'accepted', JSON.stringify(hire));
        await assertAlive(base.hrId, `hire-${base.hrId}`);
        const change = await t.tenure.sendEvent({
          eventId: `change-${base.hrId}`,
          kind: 'change',
          record: apply(second, new Date(Date.now() + 1000).toISOString()),
        });
        if (change.outcome === 'refused') assert.ok([409, 422].includes(change.status), JSON.stringify(change));
        await assertAlive(base.hrId, `hire-${base.hrId}`);
        const child = t.client.workflow.getHandle(eventWorkflowId(base.hrId, 'hire', `hire-${base.hrId}`));
        await waitFor(async () => (await child.describe()) !== undefined, 30_000, 'the onboarding started');
        const dept = (await child.describe()).typedSearchAttributes.get(DEPARTMENT) ?? '';
        assert.ok(Buffer.byteLength(dept) <= DEPARTMENT_KEY_MAX_BYTES);
      }),
      {
        numRuns: 12,
        // Always at least one of each: a plain record, and one a character over the department bound.
        examples: [
          [plain, { ...plain, department: 'Sales' }],
          [{ ...plain, department: 'x'.repeat(RECORD_LIMITS.department + 1) }, plain],
        ],
      },
    );
    assert.ok(accepted > 0 && refused > 0);
  });

  it('past the intake: a 3,000-byte department, control characters and all, cannot terminate the entity', async () => {
    const department = `${'Ingeniería \u0000\u202e'.repeat(150)}🦄`;
    assert.ok(Buffer.byteLength(department) > 2048);
    const record = makeRecord({
      hireDate: '2031-06-02',
      employmentType: 'contractor',
      exitDate: '2031-12-31',
      department,
    });
    const event: HrEvent = {
      eventId: `hire-${record.hrId}`,
      kind: 'hire',
      source: 'test',
      record,
      receivedAt: new Date().toISOString(),
    };
    const answer = await deliverHrEvent(t.client, t.taskQueue, event);
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const child = t.client.workflow.getHandle(answer.workflowId ?? '');
    await waitFor(async () => (await child.describe()).status.name === 'RUNNING', 30_000, 'the onboarding runs');
    const key = (await child.describe()).typedSearchAttributes.get(DEPARTMENT) ?? '';
    assert.ok(Buffer.byteLength(key) <= DEPARTMENT_KEY_MAX_BYTES, key);
    assert.match(key, /~[0-9a-f]{8}$/);

    // A change with an even longer department: still running, still the person's state, the exit still scheduled.
    const moved = {
      ...record,
      department: 'Ω'.repeat(5000),
      sourceUpdatedAt: new Date(Date.now() + 1000).toISOString(),
    };
    await deliverHrEvent(t.client, t.taskQueue, {
      ...event,
      eventId: `move-${record.hrId}`,
      kind: 'change',
      record: moved,
    });
    await assertAlive(record.hrId, `hire-${record.hrId}`);
    const s = await entity(record.hrId).query(employeeStatusQuery);
    assert.ok(s.events.some((e) => e.eventId === `hire-${record.hrId}.exit` && e.state === 'queued'));
  });

  it('a run that fails is an exception of the entity, which keeps running; an operator retries it', async () => {
    const record = makeRecord({ hireDate: '2031-06-02' });
    const eventId = `hire-${record.hrId}`;
    assert.equal((await t.tenure.sendEvent({ eventId, kind: 'hire', record })).outcome, 'accepted');
    const child = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await waitFor(async () => (await child.describe()).status.name === 'RUNNING', 30_000, 'the onboarding runs');
    await child.terminate('an operator terminated it by mistake');

    await waitFor(
      async () => (await entity(record.hrId).describe()).typedSearchAttributes.get(WAITING_ON) === 'operator:entity',
      30_000,
      'the entity shows the exception',
    );
    const s = await entity(record.hrId).query(employeeStatusQuery);
    assert.equal((await entity(record.hrId).describe()).status.name, 'RUNNING');
    assert.equal(s.exceptions.length, 1);
    assert.equal(s.exceptions[0]?.kind, 'run_failed');
    assert.match(s.exceptions[0]?.reason ?? '', /ended without completing/);
    assert.equal(s.events.find((e) => e.eventId === eventId)?.state, 'failed');

    // The operator retries it with the CLI (a process, as they would).
    const cli = spawnEntryPoint(
      'cli',
      { TEMPORAL_ADDRESS: devServer().address, TENURE_CODEC_KEYS: t.settings.vars.TENURE_CODEC_KEYS },
      'tenure entity-exception',
      ['entity-exception', record.hrId, s.exceptions[0]?.id ?? '', 'retry', '--as', 'oncall'],
    );
    assert.equal(await cli.exited, 0, cli.lines.join('\n'));
    const after = JSON.parse(cli.lines.join('\n')) as { exceptions: unknown[] };
    assert.deepEqual(after.exceptions, []);
    await waitFor(
      async () =>
        (await entity(record.hrId).query(employeeStatusQuery)).events.find((e) => e.eventId === eventId)?.state ===
        'running',
      30_000,
      'the run starts again',
    );
    await waitFor(async () => (await child.describe()).status.name === 'RUNNING', 30_000, 'a new onboarding run');
    assert.equal((await entity(record.hrId).describe()).typedSearchAttributes.get(WAITING_ON), undefined);
  });
});
