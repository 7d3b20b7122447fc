import assert from 'node:assert/strict';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { PolicyInput } from '../../src/domain/policy';
import { employeeWorkflowId } from '../../src/domain/ids';
import { wallClock } from '../../src/domain/time';
import type { StandinEmployee } from '../../src/dev/bamboohr-standin';
import { decideHold, showHold } from '../../src/client/cli-guard';
import { describeSyncSchedule } from '../../src/client/cli-sync';
import { runSyncNow, syncScheduleId } from '../../src/sync/schedule';
import { employeeStatusQuery } from '../../src/workflows/employee/messages';
import type { SyncSummary } from '../../src/workflows/sync/types';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor } from '../helpers/wait';

/**
 * The daily HR roster sync (issue 14, item 2) on the real dev server: a BambooHR stand-in holds the roster, the
 * worker creates the Temporal Schedule, and each run turns the differences into the events a webhook would have sent.
 */
let seq = 0;
/** BambooHR ids are numbers; unique per test run so entities never collide on the shared dev server. */
function uniqueBambooId(): string {
  seq += 1;
  return `${Date.now()}${String(seq).padStart(3, '0')}`;
}

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

function later(ms = 2_000): string {
  return new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function person(over: StandinEmployee = {}): StandinEmployee {
  const id = uniqueBambooId();
  return {
    id,
    firstName: 'Rui',
    lastName: `Sync${id.slice(-5)}`,
    workEmail: `rui.sync.${id}@acme.example`,
    department: 'Engineering',
    jobTitle: 'Engineer',
    location: 'Lisbon',
    status: 'Active',
    hireDate: isoDay(-30),
    terminationDate: '0000-00-00',
    ...over,
  };
}

function withSync(p: PolicyInput, extra: Partial<PolicyInput> = {}): PolicyInput {
  const baseUrl = p.hris?.baseUrl ?? '';
  return {
    ...p,
    ...extra,
    sync: {
      source: {
        type: 'bamboohr',
        baseUrl,
        apiKeyEnv: 'TENURE_TEST_HRIS_KEY',
        locations: { Lisbon: { countryCode: 'PT', timeZone: 'Europe/Lisbon' } },
      },
      // Far from now: the test triggers its runs; the schedule itself must only exist.
      schedule: { cron: '17 3 1 1 *', timeZone: 'Europe/Lisbon' },
    },
  };
}

async function status(t: TenureHarness, hrId: string) {
  return t.client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
}

function activeIn(t: TenureHarness, hrId: string): boolean | undefined {
  return t.idp.users().find((u) => u.externalId === hrId)?.active;
}

describe('scheduled HR sync: the roster against what each entity last accepted', function () {
  this.timeout(300_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({ bamboo: true, policy: (p) => withSync(p) });
  });
  after(async () => {
    await t?.stop();
  });

  it('creates the schedule at worker start, with the policy cron and time zone', async () => {
    const d = await describeSyncSchedule(t.client, t.taskQueue);
    assert.ok(d, 'schedule exists');
    assert.equal(d.scheduleId, syncScheduleId(t.taskQueue));
    assert.equal(d.scheduleId, `tenure-sync-${t.taskQueue}`);
    const described = await t.client.schedule.getHandle(d.scheduleId).describe();
    assert.equal(described.spec.timezone, 'Europe/Lisbon');
    assert.equal(described.action.type, 'startWorkflow');
    assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, 'syncWorkflow');
  });

  it('a run of the real Schedule (triggered now) reads the roster and leaves its evidence', async () => {
    const id = t.bamboo!.addEmployee(person());
    await t.client.schedule.getHandle(syncScheduleId(t.taskQueue)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    await waitFor(
      async () => {
        for await (const e of t.audit.stream({}))
          if (e.action === 'sync_run' && String(e.requestId).startsWith(`tenure-sync-run-${t.taskQueue}`)) return true;
        return false;
      },
      120_000,
      'the scheduled run',
    );
    await waitFor(async () => (await status(t, id).catch(() => undefined))?.record?.hrId === id, 60_000, 'hired');
  });

  it('hires new people, sends a change for an edited title and a termination for an exit date, reports the vanished, and a rerun sends nothing', async () => {
    const bamboo = t.bamboo!;
    const stays = bamboo.addEmployee(person());
    const promoted = bamboo.addEmployee(person());
    const leaver = bamboo.addEmployee(person());
    const vanishing = bamboo.addEmployee(person());
    const future = bamboo.addEmployee(person({ hireDate: isoDay(40) }));

    const first = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    const kinds = Object.fromEntries(first.planned.map((p) => [p.hrId, p.kind]));
    for (const id of [stays, promoted, leaver, vanishing, future])
      assert.equal(kinds[id], 'hire', JSON.stringify(first));
    assert.equal(first.outcomes.accepted, 5, JSON.stringify(first.outcomes));
    assert.equal(first.held, false);
    assert.deepEqual(first.vanished, []);
    await waitFor(
      () => [stays, promoted, leaver, vanishing].every((id) => activeIn(t, id) === true),
      120_000,
      'accounts',
    );
    assert.equal(activeIn(t, future), undefined, 'a future hire has no account yet');

    bamboo.updateEmployee(promoted, { jobTitle: 'Staff Engineer', lastChanged: later() });
    bamboo.updateEmployee(leaver, { terminationDate: isoDay(-1), lastChanged: later() });
    bamboo.removeEmployee(vanishing);

    const second = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    const planned = Object.fromEntries(second.planned.map((p) => [p.hrId, p]));
    assert.deepEqual(Object.keys(planned).sort(), [leaver, promoted].sort(), JSON.stringify(second.planned));
    assert.equal(planned[promoted]?.kind, 'change');
    assert.deepEqual(planned[promoted]?.fields, ['title']);
    assert.equal(planned[leaver]?.kind, 'termination');
    assert.equal(second.outcomes.accepted, 2, JSON.stringify(second.outcomes));
    assert.deepEqual(second.vanished, [{ hrId: vanishing, lastStatus: 'active' }]);
    assert.equal(second.onVanished, 'report');

    assert.equal((await status(t, promoted)).record?.title, 'Staff Engineer');
    await waitFor(() => activeIn(t, leaver) === false, 120_000, 'leaver disabled');
    // The vanished person is reported, never terminated: the entity and the account are as they were.
    assert.equal((await status(t, vanishing)).record?.status, 'active');
    assert.equal(activeIn(t, vanishing), true);
    const evidence = [];
    for await (const e of t.audit.stream({}))
      if (e.action === 'sync_vanished' || e.action === 'sync_run') evidence.push(e);
    assert.ok(evidence.some((e) => e.action === 'sync_vanished' && e.hrId === vanishing && e.outcome === 'reported'));
    assert.ok(evidence.some((e) => e.action === 'sync_run' && e.requestId === second.runId));

    const third = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.deepEqual(third.planned, [], 'the same roster asks nothing new');
    assert.equal(third.outcomes.accepted, undefined);
    // Everyone read is unchanged (other tests of this block may have added people to the same roster).
    assert.ok(third.read >= 4);
    assert.equal(third.unchanged, third.read);
  });
});

describe('scheduled HR sync: a roster that would disable 30 % of the company is held by the guard', function () {
  this.timeout(300_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    // The guard's shipped defaults (the harness relaxes the percentage floor for its small test companies).
    t = await startTenure({ bamboo: true, policy: (p) => withSync(p, { guard: {} }) });
  });
  after(async () => {
    await t?.stop();
  });

  it('holds the terminations: nobody is disabled, the summary names the hold', async () => {
    const bamboo = t.bamboo!;
    const ids = Array.from({ length: 20 }, () => bamboo.addEmployee(person()));
    const hired = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.equal(hired.outcomes.accepted, 20, JSON.stringify(hired.outcomes));
    await waitFor(() => ids.every((id) => activeIn(t, id) === true), 180_000, 'twenty accounts');

    const leaving = ids.slice(0, 6);
    for (const id of leaving) bamboo.updateEmployee(id, { terminationDate: isoDay(-1), lastChanged: later() });
    const run = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.equal(run.held, true, JSON.stringify(run));
    assert.ok(run.holdId);
    assert.equal(run.outcomes.held, 6, JSON.stringify(run.outcomes));
    assert.equal(run.planned.filter((p) => p.kind === 'termination').length, 6);
    for (const id of leaving) {
      assert.equal(activeIn(t, id), true);
      assert.notEqual((await status(t, id)).record?.status, 'terminated');
    }
  });
});

describe('scheduled HR sync: people who vanished from the roster, under onVanished terminate_after_review', function () {
  this.timeout(300_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      bamboo: true,
      policy: (p) => {
        const withIt = withSync(p);
        return { ...withIt, sync: { ...withIt.sync!, onVanished: 'terminate_after_review' } };
      },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it('holds their terminations for review: nobody is disabled until an operator releases the hold', async () => {
    const bamboo = t.bamboo!;
    const stays = bamboo.addEmployee(person());
    const gone = bamboo.addEmployee(person());
    const first = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.equal(first.outcomes.accepted, 2, JSON.stringify(first.outcomes));
    await waitFor(() => activeIn(t, stays) === true && activeIn(t, gone) === true, 120_000, 'accounts');

    bamboo.removeEmployee(gone);
    const run = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.deepEqual(run.vanished, [{ hrId: gone, lastStatus: 'active' }]);
    assert.equal(run.held, false, 'the roster itself asked nothing that takes access away');
    assert.ok(run.vanishedHoldId, JSON.stringify(run));
    const hold = await showHold(t.client, t.taskQueue, run.vanishedHoldId);
    assert.equal(hold?.status, 'held');
    assert.match(hold?.reasons.join(' ') ?? '', /held for review: 1 people are no longer in the bamboohr roster/);
    assert.deepEqual(
      hold?.items.map((i) => [i.hrId, i.kind]),
      [[gone, 'termination']],
    );
    const vanishedEvidence = [];
    for await (const e of t.audit.stream({ hrId: gone })) if (e.action === 'sync_vanished') vanishedEvidence.push(e);
    assert.equal(vanishedEvidence[0]?.outcome, 'held');

    // A rerun the same day holds the same termination again (same event id), and still runs nothing.
    const again = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.ok(again.vanishedHoldId);
    assert.equal(activeIn(t, gone), true);
    assert.equal((await status(t, gone)).record?.status, 'active');

    // Released, the termination reaches the entity: the exit is today at the policy's exit time in their zone.
    const released = await decideHold(t.client, t.taskQueue, 'release', { holdId: run.vanishedHoldId, by: 'cli:test' });
    assert.equal(released.released?.accepted, 1, JSON.stringify(released));
    await waitFor(async () => (await status(t, gone)).record?.status === 'terminated', 60_000, 'terminated');
    const exit = (await status(t, gone)).record;
    assert.equal(exit?.exitDate, wallClock(new Date(), 'Europe/Lisbon').date);
    assert.equal((await status(t, stays)).record?.status, 'active');
  });
});

describe('scheduled HR sync: incremental mode reads only who changed since the last run', function () {
  this.timeout(300_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({
      bamboo: true,
      policy: (p) => {
        const withIt = withSync(p);
        return { ...withIt, sync: { ...withIt.sync!, mode: 'incremental' } };
      },
    });
  });
  after(async () => {
    await t?.stop();
  });

  it("a first full run, then BambooHR's changed list, and a full run again on --full", async () => {
    const bamboo = t.bamboo!;
    const a = bamboo.addEmployee(person());
    const b = bamboo.addEmployee(person());
    const gone = bamboo.addEmployee(person());
    const first = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.equal(first.mode, 'full', 'no earlier run: the whole roster');
    assert.equal(first.outcomes.accepted, 3, JSON.stringify(first.outcomes));

    bamboo.updateEmployee(b, { jobTitle: 'Principal Engineer', lastChanged: later() });
    bamboo.removeEmployee(gone);
    const before = bamboo.requests.length;
    const second = (await runSyncNow(t.client, t.taskQueue)) as SyncSummary;
    assert.equal(second.mode, 'incremental');
    assert.equal(second.changedSince, first.startedAt);
    assert.equal(second.lastFullAt, first.startedAt);
    assert.deepEqual(
      second.planned.map((p) => [p.hrId, p.kind, p.fields]),
      [[b, 'change', ['title']]],
    );
    assert.equal(second.read, 1, 'only the changed employee was read');
    assert.deepEqual(second.vanished, [], 'an incremental read cannot tell who vanished');
    const asked = bamboo.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    assert.ok(
      asked.some((r) => r.startsWith('GET') && r.includes('/employees/changed')),
      asked.join(', '),
    );
    assert.ok(!asked.some((r) => r.includes('/reports/custom')), asked.join(', '));
    assert.equal((await status(t, b)).record?.title, 'Principal Engineer');

    const full = (await runSyncNow(t.client, t.taskQueue, { full: true })) as SyncSummary;
    assert.equal(full.mode, 'full');
    assert.deepEqual(full.vanished, [{ hrId: gone, lastStatus: 'active' }]);
    assert.equal(full.unchanged, 2);
    assert.equal((await status(t, a)).record?.status, 'active');
  });
});
