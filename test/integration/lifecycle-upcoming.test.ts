import assert from 'node:assert/strict';
import { generateKey } from '../../src/codec';
import type { Upcoming } from '../../src/client/cli-upcoming';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { addDays, wallClock } from '../../src/domain/time';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import { makeRecord } from '../helpers/records';
import { spawnEntryPoint } from '../helpers/processes';
import { devServer, workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/**
 * Issue 17 item 4: `tenure upcoming` (the CLI as a process) lists the starts, exits and pending revocations due in the
 * next N days, at the person's local time and in UTC, and what waits on a person — and leaves out what is later.
 */
describe('lifecycle: tenure upcoming lists what is due and who is waited on', function () {
  this.timeout(240_000);
  const codecKeys = `test:${generateKey()}`;
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      codecKeys,
      policy: (p) => ({
        ...p,
        timing: { ...p.timing, exitTime: '17:00', moverGrace: '3d' },
        birthright: [
          { name: 'everyone', systems: ['idp', 'wiki'] },
          {
            name: 'engineering',
            match: { department: ['Engineering'] },
            systems: [{ system: 'wiki', groups: ['eng'] }],
          },
        ],
      }),
    });
    t.app.createGroup('eng');
  });
  after(async () => {
    await t?.stop();
  });

  async function cli(args: string[]): Promise<{ code: number | string; out: string }> {
    const p = spawnEntryPoint(
      'cli',
      {
        TEMPORAL_ADDRESS: devServer().address,
        TEMPORAL_NAMESPACE: 'default',
        TENURE_CODEC_KEYS: codecKeys,
        TENURE_TASK_QUEUE: t.taskQueue,
        TENURE_LOG_LEVEL: 'error',
      },
      'cli',
      args,
    );
    const code = await p.exited;
    return { code, out: p.lines.join('\n') };
  }

  const settled = async (hrId: string) => {
    const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
    await waitFor(async () => {
      const s = await entity.query(employeeStatusQuery);
      return s.current === undefined && s.queued === 0;
    }, 60_000);
  };
  const today = new Date().toISOString().slice(0, 10);
  const tokyo = { name: 'Tokyo', countryCode: 'JP', timeZone: 'Asia/Tokyo' };

  it('starts, exits, revocations and waits, in the window only', async () => {
    // A start in three days, in Tokyo: activation 09:00 local.
    const starter = makeRecord({ hireDate: addDays(today, 3), location: tokyo });
    assert.equal(
      (await t.tenure.sendEvent({ eventId: `h-${starter.hrId}`, kind: 'hire', record: starter })).outcome,
      'accepted',
    );
    // A start in 2031: outside the window.
    const later = makeRecord({ hireDate: '2031-05-01' });
    assert.equal(
      (await t.tenure.sendEvent({ eventId: `h-${later.hrId}`, kind: 'hire', record: later })).outcome,
      'accepted',
    );
    // A leaver: hired, then an exit in two days at 17:00 local.
    const leaver = makeRecord({ hireDate: '2025-03-01' });
    assert.equal(
      (await t.tenure.sendEvent({ eventId: `h-${leaver.hrId}`, kind: 'hire', record: leaver })).outcome,
      'accepted',
    );
    await settled(leaver.hrId);
    const exitDate = addDays(today, 2);
    const ex = await t.tenure.sendEvent({
      eventId: `x-${leaver.hrId}`,
      kind: 'termination',
      record: {
        ...leaver,
        status: 'terminated',
        exitDate,
        exitKind: 'voluntary',
        sourceUpdatedAt: new Date().toISOString(),
      },
    });
    assert.equal(ex.outcome, 'accepted', JSON.stringify(ex));
    // A mover out of Engineering: the eng group goes when the three-day grace period ends.
    const mover = makeRecord({ hireDate: '2025-03-01' });
    assert.equal(
      (await t.tenure.sendEvent({ eventId: `h-${mover.hrId}`, kind: 'hire', record: mover })).outcome,
      'accepted',
    );
    await settled(mover.hrId);
    const mv = await t.tenure.sendEvent({
      eventId: `m-${mover.hrId}`,
      kind: 'change',
      record: { ...mover, department: 'Sales', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(mv.outcome, 'accepted', JSON.stringify(mv));
    await settled(mover.hrId);
    // A hire whose app account fails: a step in exception waits on an operator.
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    const stuck = makeRecord({ hireDate: '2025-03-03' });
    assert.equal(
      (await t.tenure.sendEvent({ eventId: `h-${stuck.hrId}`, kind: 'hire', record: stuck })).outcome,
      'accepted',
    );
    const stuckRun = eventWorkflowId(stuck.hrId, 'hire', `h-${stuck.hrId}`);
    await waitFor(
      async () => (await t.client.workflow.getHandle(stuckRun).query(onboardingStatusQuery)).exceptions.length > 0,
      60_000,
      'step in exception',
    );
    const starterRun = eventWorkflowId(starter.hrId, 'hire', `h-${starter.hrId}`);
    const exitRun = eventWorkflowId(leaver.hrId, 'termination', `x-${leaver.hrId}`);
    // Visibility is eventually consistent: wait until the runs are listed.
    let u: Upcoming | undefined;
    await waitFor(
      async () => {
        const r = await cli(['upcoming', '--days', '7', '--format', 'json']);
        if (r.code !== 0) return false;
        u = JSON.parse(r.out.slice(r.out.indexOf('{'))) as Upcoming;
        return (
          u.due.some((d) => d.workflowId === starterRun) &&
          u.due.some((d) => d.workflowId === exitRun) &&
          u.waiting.some((w) => w.workflowId === stuckRun)
        );
      },
      60_000,
      'listed by visibility',
    );
    assert.ok(u);
    const mine = (hrId: string) => u?.due.filter((d) => d.hrId === hrId) ?? [];

    const start = mine(starter.hrId);
    assert.equal(start.length, 1, JSON.stringify(u.due));
    assert.deepEqual(
      [start[0]?.kind, start[0]?.state, start[0]?.timeZone, start[0]?.local],
      ['start', 'waiting', 'Asia/Tokyo', `${starter.hireDate} 09:00:00`],
    );
    assert.equal(start[0]?.at, new Date(`${starter.hireDate}T00:00:00Z`).toISOString(), '09:00 in Tokyo is 00:00 UTC');

    const exit = mine(leaver.hrId);
    assert.deepEqual(
      exit.map((d) => [d.kind, d.state, d.local]),
      [['exit', 'waiting', `${exitDate} 17:00:00`]],
    );
    assert.equal(wallClock(new Date(exit[0]?.at ?? ''), 'Europe/Lisbon').time, '17:00:00');

    const rev = mine(mover.hrId);
    assert.deepEqual(
      rev.map((d) => [d.kind, d.state, d.eventId]),
      [['revocation', 'scheduled', `m-${mover.hrId}.grace`]],
    );
    assert.match(rev[0]?.detail ?? '', /wiki groups eng/);

    assert.deepEqual(mine(later.hrId), [], 'a start in 2031 is not within 7 days');
    const wait = u.waiting.find((w) => w.workflowId === stuckRun);
    assert.deepEqual(
      [wait?.what, wait?.hrId, wait?.waitingOn],
      ['exception', stuck.hrId, 'operator:create_account:wiki'],
    );

    // The same in CSV and as a table.
    const csv = await cli(['upcoming', '--days', '7', '--format', 'csv']);
    assert.equal(csv.code, 0, csv.out);
    const lines = csv.out.split('\n');
    assert.match(lines[0] ?? '', /^section,kind,hrId,local,timeZone,at,state/);
    assert.ok(lines.some((l) => l.startsWith(`due,start,${starter.hrId},${starter.hireDate} 09:00:00,Asia/Tokyo,`)));
    assert.ok(lines.some((l) => l.startsWith('waiting,') && l.includes(stuckRun)));
    const tableOut = await cli(['upcoming', '--days', '7']);
    assert.equal(tableOut.code, 0, tableOut.out);
    assert.match(tableOut.out, new RegExp(`start\\s+${starter.hrId}\\s+${starter.hireDate} 09:00:00\\s+Asia/Tokyo`));

    // Every system: the future hires and the leaver as they should be before their instants.
    const users = [...t.idp.users(), ...t.app.users()];
    assert.deepEqual(
      users.filter((x) => x.externalId === later.hrId),
      [],
    );
    assert.ok(
      users.filter((x) => x.externalId === leaver.hrId).every((x) => x.active),
      'the leaver is active until 17:00',
    );
    assert.equal(t.app.users().filter((x) => x.externalId === stuck.hrId).length, 0, 'the failed account is not there');
  });
});
