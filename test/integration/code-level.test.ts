import { WorkflowNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import type { temporal } from '@temporalio/proto';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import { RUN_PRIORITY } from '../../src/domain/priority';
import { CODE_LEVEL, CODE_LEVEL_MEMO } from '../../src/workflows/code-level';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import { daysAgo, makeRecord } from '../helpers/records';
import { historyActivities } from '../helpers/history';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted, waitFor } from '../helpers/wait';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const patchMarkers = (events: HistoryEvent[]): number =>
  events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length;
/** The `TenureStage` a run started at, then every value it published. */
const stages = (events: HistoryEvent[]): string[] => {
  const read = (f: { [k: string]: temporal.api.common.v1.IPayload } | null | undefined): string[] => {
    const p = f?.TenureStage;
    return p?.data ? [JSON.parse(Buffer.from(p.data).toString()) as string] : [];
  };
  return events.flatMap((e) =>
    read(
      e.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ??
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields,
    ),
  );
};
const changeVersionUpserts = (events: HistoryEvent[]): number =>
  events.filter(
    (e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion,
  ).length;

/**
 * Code levels (src/workflows/code-level.ts): a hire started by this code takes every patched path without a patch
 * marker or a `TemporalChangeVersion` upsert, in the entity and in its run. The new paths are the ones taken: the run
 * at the runs' priority (`tenure-run-priority`) and one activity per system (`tenure-fold-activation`). A late run
 * starts at its instant's stage (`tenure-stage-at-start`), so it publishes its stage once instead of three times.
 */
describe('code levels: a hire started by this code records no patch markers', function () {
  this.timeout(120_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure();
  });
  after(async () => {
    await t?.stop();
  });

  it('takes the patched paths with no marker, and keeps the level in the encrypted memo', async () => {
    const record = makeRecord({ hireDate: daysAgo(2) });
    const eventId = `h-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const run = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    const final = await resultWhenStarted<OnboardingStatus>(run);
    assert.equal(final.stage, 'completed');

    const entity = t.client.workflow.getHandle(employeeWorkflowId(record.hrId));
    const entityEvents = (await entity.fetchHistory()).events ?? [];
    // A late hire with nobody to wait for is carried out by the entity (`tenure-inline-runs`): no run of its own.
    await assert.rejects(run.describe(), WorkflowNotFoundError);
    const memoOf = (
      events: typeof entityEvents,
    ): (typeof entityEvents)[number]['workflowExecutionStartedEventAttributes'] =>
      events[0]?.workflowExecutionStartedEventAttributes;
    assert.equal(patchMarkers(entityEvents), 0, 'entity: no patch markers');
    assert.equal(changeVersionUpserts(entityEvents), 0, 'entity: no TemporalChangeVersion upserts');
    const memo = memoOf(entityEvents)?.memo?.fields?.[CODE_LEVEL_MEMO];
    assert.ok(memo, 'entity: started with a code level');
    assert.equal(Buffer.from(memo.metadata?.encoding ?? []).toString(), 'binary/encrypted', 'entity: memo encrypted');
    assert.equal((await entity.describe()).memo?.[CODE_LEVEL_MEMO], CODE_LEVEL);

    // The patched paths, taken without their markers: one activity per system (the late fold), no stage published.
    assert.deepEqual(historyActivities(entityEvents), ['createActiveAccount', 'createActiveAccount']);
    assert.deepEqual(stages(entityEvents), []);
    assert.equal(final.late, true);

    // An involuntary exit, due at once: a run of its own, started revoking, at the runs' priority.
    const exitId = `x-${record.hrId}`;
    const exit = await t.tenure.sendEvent({
      eventId: exitId,
      kind: 'termination',
      record: { ...record, exitKind: 'involuntary', sourceUpdatedAt: new Date().toISOString() },
    });
    assert.equal(exit.outcome, 'accepted', JSON.stringify(exit));
    const exitRun = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'termination', exitId));
    const exitFinal = await resultWhenStarted<OnboardingStatus>(exitRun);
    assert.equal(exitFinal.stage, 'completed');
    const exitEvents = (await exitRun.fetchHistory()).events ?? [];
    assert.deepEqual(stages(exitEvents), ['revoking', 'completed']);
    assert.equal(changeVersionUpserts(exitEvents), 0, 'run: no TemporalChangeVersion upserts');
    const runMemo = memoOf(exitEvents)?.memo?.fields?.[CODE_LEVEL_MEMO];
    assert.equal(Buffer.from(runMemo?.metadata?.encoding ?? []).toString(), 'binary/encrypted', 'run: memo encrypted');
    assert.equal((await exitRun.describe()).memo?.[CODE_LEVEL_MEMO], CODE_LEVEL);
    const childStart = ((await entity.fetchHistory()).events ?? []).find(
      (e) => e.startChildWorkflowExecutionInitiatedEventAttributes,
    );
    assert.equal(childStart?.startChildWorkflowExecutionInitiatedEventAttributes?.priority?.priorityKey, RUN_PRIORITY);
    assert.equal(patchMarkers(exitEvents), 0);
    assert.ok(
      t.idp.users().every((u) => u.externalId !== record.hrId || !u.active),
      'the identity provider account is off',
    );
  });

  it('a run whose instants are ahead starts waiting and moves through the stages', async () => {
    const record = makeRecord({ hireDate: '2031-03-03' });
    const eventId = `h-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const run = t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId));
    await run.describe();
    await waitFor(async () => (await run.query(onboardingStatusQuery)).stage === 'waiting_pre_provision');
    // Moved into the past: the run takes its waiting stages' way to the instant, published as before.
    const moved = { ...record, hireDate: daysAgo(2), sourceUpdatedAt: new Date().toISOString() };
    const change = await t.tenure.sendEvent({ eventId: `m-${record.hrId}`, kind: 'change', record: moved });
    assert.equal(change.outcome, 'accepted', JSON.stringify(change));
    const final = await resultWhenStarted<OnboardingStatus>(run);
    assert.equal(final.stage, 'completed');
    assert.deepEqual(stages((await run.fetchHistory()).events ?? []), [
      'waiting_pre_provision',
      'pre_provisioning',
      'activating',
      'completed',
    ]);
  });
});
