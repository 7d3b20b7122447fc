/**
 * Records workflow histories for the replay tests (test/workflows/replay.test.ts): runs real scenarios on a
 * fresh dev server and saves each run's history as JSON. Run it when a workflow change is deployed, so the
 * next change is replayed against what production has: `node -r tsx/cjs scripts/record-histories.ts`.
 */
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { join } from 'node:path';
import { deliverHrEvent } from '../src/client/deliver';
import { retryStep } from '../src/client/operations';
import { eventWorkflowId, employeeWorkflowId } from '../src/domain/ids';
import type { EmployeeRecord } from '../src/domain/employee';
import { makeRecord } from '../test/helpers/records';
import { REPLAY_CODEC_KEYS, startSharedServer, stopSharedServer } from '../test/helpers/temporal';
import { startTenure } from '../test/helpers/tenure';
import { WAITING_ON } from '../src/workflows/search-attributes';
import { employeeStatusQuery } from '../src/workflows/employee/messages';
import { CODE_LEVEL } from '../src/workflows/code-level';
import { ScimConnector } from '../src/activities/scim/client';
import { approvalWorkflowId } from '../src/domain/approval';
import { buttonsFor, clickAs } from '../test/helpers/slack-clicks';

const OUT = join(__dirname, '..', 'test', 'workflows', 'histories');

/** Which scenarios to record: all by default, or those named on the command line (`basic`, `mover`). */
const ONLY = new Set(process.argv.slice(2));
const wanted = (name: string): boolean => ONLY.size === 0 || ONLY.has(name);

async function main(): Promise<void> {
  await startSharedServer();
  try {
    if (wanted('basic')) await basic();
    if (wanted('mover')) await mover();
    if (wanted('serial')) await serial();
    if (wanted('people')) await people();
    if (wanted('repair')) await repair();
    if (wanted('priority')) await priority();
    if (wanted('folded')) await folded();
    if (wanted('level')) await atCodeLevel();
    if (wanted('inline')) await inline();
  } finally {
    await stopSharedServer();
  }
}

type Harness = Awaited<ReturnType<typeof startTenure>>;

async function save(t: Harness, name: string, workflowId: string, runId?: string): Promise<void> {
  const history = await t.client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(
    join(OUT, `${name}.json`),
    `{"workflowId": ${JSON.stringify(workflowId)}, "history": ${historyToJSON(history)}}\n`,
  );
}

/**
 * A mover (Engineering to Sales: the CRM granted now, the code host revoked after a 2 s grace period), then an
 * involuntary exit whose accounts are deleted when a 3 s retention period ends; the entity's timers included.
 */
async function mover(): Promise<void> {
  const t = await startTenure({
    codecKeys: REPLAY_CODEC_KEYS,
    extraApps: ['crm', 'code'],
    policy: (p) => ({
      ...p,
      timing: { ...p.timing, moverGrace: '2s', retention: '3s' },
      birthright: [
        { name: 'everyone', systems: ['idp', 'wiki'] },
        { name: 'eng', match: { department: ['Engineering'] }, systems: ['code'] },
        { name: 'sales', match: { department: ['Sales'] }, systems: ['crm'] },
      ],
    }),
  });
  try {
    const r = makeRecord({ hrId: 'REPLAY3', hireDate: '2025-02-03', department: 'Engineering' });
    await t.tenure.sendEvent({ eventId: 'hire-3', kind: 'hire', record: r });
    await waitResult(t, eventWorkflowId(r.hrId, 'hire', 'hire-3'));
    const moved = { ...r, department: 'Sales', sourceUpdatedAt: new Date().toISOString() };
    await t.tenure.sendEvent({ eventId: 'move-3', kind: 'change', record: moved });
    await waitResult(t, eventWorkflowId(r.hrId, 'change', 'move-3'));
    await save(t, 'role-change', eventWorkflowId(r.hrId, 'change', 'move-3'));
    await waitResult(t, eventWorkflowId(r.hrId, 'change', 'move-3.grace'));
    await save(t, 'grace-revocation', eventWorkflowId(r.hrId, 'change', 'move-3.grace'));
    await t.tenure.sendEvent({
      eventId: 'exit-3',
      kind: 'termination',
      record: { ...moved, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    await waitResult(t, eventWorkflowId(r.hrId, 'termination', 'exit-3.retention'));
    await save(t, 'retention-deletion', eventWorkflowId(r.hrId, 'termination', 'exit-3.retention'));
    await save(t, 'employee-mover', employeeWorkflowId(r.hrId));
  } finally {
    await t.stop();
  }
}

/**
 * A reconciliation's repair (`tenure-reconcile-repair`): a hired person whose wiki account was deleted by hand and
 * whose identity-provider title drifted; the entity gets their record back with `repair` and runs the repair.
 */
async function repair(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    const r = makeRecord({ hrId: 'REPLAY7', hireDate: '2025-02-03', status: 'active' });
    await t.tenure.sendEvent({ eventId: 'hire-7', kind: 'hire', record: r });
    await waitResult(t, eventWorkflowId(r.hrId, 'hire', 'hire-7'));
    const eventId = 'reconcile-7.repair.REPLAY7';
    const answer = await deliverHrEvent(t.client, t.taskQueue, {
      eventId,
      source: 'reconcile',
      kind: 'change',
      record: r,
      receivedAt: new Date().toISOString(),
      repair: { missing: ['wiki'], drift: ['idp'] },
    });
    if (answer.outcome !== 'accepted' || !answer.workflowId) throw new Error(`repair: ${JSON.stringify(answer)}`);
    await waitResult(t, eventWorkflowId(r.hrId, 'change', eventId));
    await save(t, 'repair-run', eventWorkflowId(r.hrId, 'change', eventId));
    await save(t, 'employee-repair', employeeWorkflowId(r.hrId));
  } finally {
    await t.stop();
  }
}

async function basic(): Promise<void> {
  const t = await startTenure();
  try {
    // A hire that runs at once (late), then a voluntary exit already past, then the entity.
    const r = makeRecord({ hrId: 'REPLAY1', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-1', kind: 'hire', record: r });
    const hireId = eventWorkflowId(r.hrId, 'hire', 'hire-1');
    await waitResult(t, hireId);
    await save(t, 'onboarding-late', hireId);
    await t.tenure.sendEvent({
      eventId: 'exit-1',
      kind: 'termination',
      record: { ...r, exitDate: '2025-06-30', exitKind: 'voluntary', sourceUpdatedAt: new Date().toISOString() },
    });
    const exitId = eventWorkflowId(r.hrId, 'termination', 'exit-1');
    await waitResult(t, exitId);
    await save(t, 'offboarding', exitId);
    await save(t, 'employee', employeeWorkflowId(r.hrId));

    // An exception retried by an operator.
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    const r2 = makeRecord({ hrId: 'REPLAY2', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-2', kind: 'hire', record: r2 });
    const id2 = eventWorkflowId(r2.hrId, 'hire', 'hire-2');

    await retryOnceInException(t, r2.hrId, 'create_account:wiki');
    await waitResult(t, id2);
    await save(t, 'onboarding-exception-retry', id2);
  } finally {
    await t.stop();
  }
}

/**
 * The serial entity (`tenure-serial-entity`): a waiting hire whose date moves (the run answers the entity), two
 * changes delivered together (the lock), an involuntary exit, and the finished story's continue-as-new; and an
 * onboarding in exception cancelled by an exit (`tenure-cancelled-not-exception`).
 */
async function serial(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    const { r, moved } = await hireMovedToPast(t, 4);
    await Promise.all([
      t.tenure.sendEvent({
        eventId: 'title-4b',
        kind: 'change',
        record: { ...moved, title: 'Principal', sourceUpdatedAt: new Date(Date.now() + 2000).toISOString() },
      }),
      t.tenure.sendEvent({
        eventId: 'title-4a',
        kind: 'change',
        record: { ...moved, title: 'Staff', sourceUpdatedAt: new Date(Date.now() + 1000).toISOString() },
      }),
    ]);
    const runId = await exitUntilContinued(t, moved, 'exit-4', 3000);
    await save(t, 'employee-serial', employeeWorkflowId(r.hrId), runId);

    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    const r5 = makeRecord({ hrId: 'REPLAY5', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-5', kind: 'hire', record: r5 });
    const id5 = eventWorkflowId(r5.hrId, 'hire', 'hire-5');
    const h5 = t.client.workflow.getHandle(id5);
    for (let i = 0; i < 100; i++) {
      const d = await h5.describe().catch(() => undefined);
      if (d?.typedSearchAttributes.get(WAITING_ON)) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    await t.tenure.sendEvent({
      eventId: 'exit-5',
      kind: 'termination',
      record: { ...r5, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    for (let i = 0; i < 100 && (await h5.describe()).status.name === 'RUNNING'; i++) {
      await new Promise((res) => setTimeout(res, 300));
    }
    await save(t, 'onboarding-cancelled-exception', id5);
  } finally {
    await t.stop();
  }
}

/**
 * People in the loop under the newer patches: the manager leaves after the approval request is sent, so their
 * click is refused and the request escalates to their manager (`tenure-approver-eligibility`); then the app refuses
 * the account and nobody fixes it, so the owners' fix-and-retry task runs and the step is abandoned
 * (`tenure-exception-owner`).
 */
async function people(): Promise<void> {
  const t = await startTenure({
    codecKeys: REPLAY_CODEC_KEYS,
    slack: true,
    policy: (p) => ({
      ...p,
      people: {
        teams: { 'wiki-team': ['wendy.wiki@acme.example'] },
        fallbackApprovers: ['it-oncall@acme.example'],
        exceptions: { giveUpAfter: '3s' },
      },
      systems: p.systems.map((x) =>
        x.id === 'wiki' ? { ...x, owner: 'wiki-team', approval: { approvers: ['manager' as const] } } : x,
      ),
    }),
  });
  try {
    for (const [id, email] of [
      ['UBOSS', 'bea.boss@acme.example'],
      ['UMGR', 'max.manager@acme.example'],
      ['UWENDY', 'wendy.wiki@acme.example'],
      ['UONCALL', 'it-oncall@acme.example'],
    ] as const) {
      t.slack?.addUser({ id, email, name: id.toLowerCase() });
    }
    const idp = new ScimConnector({ systemId: 'idp', baseUrl: t.idp.url });
    const boss = await idp.ensureAccount({
      hrId: 'REPLAYBOSS',
      userName: 'bea.boss@acme.example',
      givenName: 'Bea',
      familyName: 'Boss',
      active: true,
    });
    const mgr = await idp.ensureAccount({
      hrId: 'REPLAYMGR',
      userName: 'max.manager@acme.example',
      givenName: 'Max',
      familyName: 'Manager',
      managerId: boss.account.id,
      active: true,
    });
    const r = makeRecord({ hrId: 'REPLAY5', hireDate: '2025-02-03', managerHrId: 'REPLAYMGR' });
    t.app.faults.next(50, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'bad' },
    });
    await t.tenure.sendEvent({ eventId: 'hire-5', kind: 'hire', record: r });
    const until = async (check: () => boolean): Promise<void> => {
      for (let i = 0; i < 150 && !check(); i++) await new Promise((res) => setTimeout(res, 200));
    };
    await until(() => buttonsFor(t.slack, 'UMGR').length === 1);
    await idp.setActive(mgr.account.id, false);
    const [request] = buttonsFor(t.slack, 'UMGR');
    if (request) await clickAs(t, request, 'UMGR', 'approve');
    await until(() => buttonsFor(t.slack, 'UBOSS').length === 1);
    const [escalated] = buttonsFor(t.slack, 'UBOSS');
    if (escalated) await clickAs(t, escalated, 'UBOSS', 'approve');
    const hireId = eventWorkflowId(r.hrId, 'hire', 'hire-5');
    await waitResult(t, hireId);
    t.app.faults.clear();
    await save(t, 'approval-eligibility', approvalWorkflowId(r.hrId, 'hire-5', 'wiki'));
    await save(t, 'onboarding-exception-owner', hireId);
  } finally {
    await t.stop();
  }
}

/**
 * Runs at `RUN_PRIORITY` (RUN_PRIORITY_PATCH): a hire that runs at once, then a title change, so the entity's
 * history holds two children started with a priority of their own, and the entity's own priority from the intake.
 */
async function priority(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    const r = makeRecord({ hrId: 'REPLAY7', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-7', kind: 'hire', record: r });
    await waitResult(t, eventWorkflowId(r.hrId, 'hire', 'hire-7'));
    const changed = { ...r, title: 'Staff Engineer', sourceUpdatedAt: new Date().toISOString() };
    await t.tenure.sendEvent({ eventId: 'title-7', kind: 'change', record: changed });
    await waitResult(t, eventWorkflowId(r.hrId, 'change', 'title-7'));
    await save(t, 'employee-priority', employeeWorkflowId(r.hrId));
  } finally {
    await t.stop();
  }
}

/**
 * A late hire whose create steps carry out their systems' activation (`tenure-fold-activation`, `createActiveAccount`):
 * one activity per system where the runs recorded before it have two.
 */
async function folded(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    const r = makeRecord({ hrId: 'REPLAY8', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-8', kind: 'hire', record: r });
    const id = eventWorkflowId(r.hrId, 'hire', 'hire-8');
    await waitResult(t, id);
    await save(t, 'onboarding-folded', id);
  } finally {
    await t.stop();
  }
}

/**
 * Started at this code's level (src/workflows/code-level.ts), saved as `*-level<N>.json` so each level keeps its own: a
 * hire moved from next year to the past, then an involuntary exit; the entity's first run (until it continues as
 * new) and both runs; and a late hire's run.
 */
async function atCodeLevel(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    const { r, hireId, moved } = await hireMovedToPast(t, 9);
    const runId = await exitUntilContinued(t, moved, 'exit-9', 1000);
    const exitId = eventWorkflowId(r.hrId, 'termination', 'exit-9');
    await waitResult(t, exitId);
    await save(t, `employee-level${CODE_LEVEL}`, employeeWorkflowId(r.hrId), runId);
    await save(t, `onboarding-level${CODE_LEVEL}`, hireId);
    await save(t, `offboarding-level${CODE_LEVEL}`, exitId);
    // A late hire: its instants had passed when it started. From level 3 its entity carries it out (no run of its
    // own): the entity's history is saved instead.
    const late = makeRecord({ hrId: 'REPLAY10', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-10', kind: 'hire', record: late });
    const lateId = eventWorkflowId(late.hrId, 'hire', 'hire-10');
    if (await carriedOutByEntity(t, late.hrId, lateId)) {
      await save(t, `employee-late-level${CODE_LEVEL}`, employeeWorkflowId(late.hrId));
    } else {
      await waitResult(t, lateId);
      await save(t, `onboarding-late-level${CODE_LEVEL}`, lateId);
    }
  } finally {
    await t.stop();
  }
}

/**
 * Runs carried out by the entity (`tenure-inline-runs`, docs/decisions/0004): a late hire whose app refuses its
 * first creation, so the entity hands the run over; the run of its own starts with that step in exception, and an
 * operator retries it. Saved: the entity and the handed-over run.
 */
async function inline(): Promise<void> {
  const t = await startTenure({ codecKeys: REPLAY_CODEC_KEYS });
  try {
    t.app.faults.next(1, { method: 'POST', path: '/Users', status: 400 });
    const r = makeRecord({ hrId: 'REPLAY11', hireDate: '2025-02-03' });
    await t.tenure.sendEvent({ eventId: 'hire-11', kind: 'hire', record: r });
    const id = eventWorkflowId(r.hrId, 'hire', 'hire-11');
    await retryOnceInException(t, r.hrId, 'create_account:wiki');
    await waitResult(t, id);
    await save(t, `onboarding-handed-over-level${CODE_LEVEL}`, id);
    await save(t, `employee-handed-over-level${CODE_LEVEL}`, employeeWorkflowId(r.hrId));
  } finally {
    await t.stop();
  }
}

/** Waits until the person's entity has finished the run; whether it carried it out itself (no workflow of its own). */
async function carriedOutByEntity(t: Harness, hrId: string, runId: string): Promise<boolean> {
  const entity = t.client.workflow.getHandle(employeeWorkflowId(hrId));
  for (let i = 0; i < 100; i++) {
    const status = await entity.query(employeeStatusQuery).catch(() => undefined);
    const entry = status?.events.find((e) => e.workflowId === runId);
    if (entry?.carriedOut === 'entity' && entry.state === 'done') return true;
    if (entry && entry.carriedOut !== 'entity' && entry.state !== 'queued') return false;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(`${runId} did not finish`);
}

/** A hire waiting for next year, its date then moved into the past; resolves once its run has finished. */
async function hireMovedToPast(t: Harness, n: number) {
  const r = makeRecord({ hrId: `REPLAY${n}`, hireDate: '2031-02-03' });
  await t.tenure.sendEvent({ eventId: `hire-${n}`, kind: 'hire', record: r });
  const hireId = eventWorkflowId(r.hrId, 'hire', `hire-${n}`);
  await t.client.workflow.getHandle(hireId).describe();
  const moved = { ...r, hireDate: '2025-03-03', sourceUpdatedAt: new Date().toISOString() };
  await t.tenure.sendEvent({ eventId: `move-${n}`, kind: 'change', record: moved });
  await waitResult(t, hireId);
  return { r, hireId, moved };
}

/**
 * An involuntary exit that finishes the person's story; resolves once the entity has continued as new, with the run
 * id it had before (the run whose history is saved). `laterMs`: how far after now the exit's `sourceUpdatedAt` is.
 */
async function exitUntilContinued(t: Harness, record: EmployeeRecord, eventId: string, laterMs: number) {
  const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
  const runId = (await entity.describe()).runId;
  await t.tenure.sendEvent({
    eventId,
    kind: 'termination',
    record: { ...record, exitKind: 'involuntary', sourceUpdatedAt: new Date(Date.now() + laterMs).toISOString() },
  });
  for (let i = 0; i < 100 && (await entity.describe()).runId === runId; i++) {
    await new Promise((res) => setTimeout(res, 300));
  }
  return runId;
}

/** An operator's `tenure retry` of the step, sent as soon as the person's run has it in exception. */
async function retryOnceInException(t: Harness, hrId: string, stepId: string): Promise<void> {
  for (;;) {
    try {
      await retryStep(t.client, hrId, stepId);
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}

async function waitResult(t: Harness, id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await t.client.workflow.getHandle(id).result();
      return;
    } catch {
      await new Promise((res) => setTimeout(res, 300));
    }
  }
  throw new Error(`${id} did not finish`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
