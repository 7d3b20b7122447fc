import assert from 'node:assert/strict';
import type { EmployeeRecord } from '../../src/domain/employee';
import { employeeWorkflowId, eventWorkflowId } from '../../src/domain/ids';
import type { EvidenceRecord } from '../../src/activities/audit/types';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted } from '../helpers/wait';

/** Values only the unknown fields carry: none of them may surface in an answer, an audit record or an account. */
const COST_CENTER = 'CC-4711-secret';
const BUILDING = 'Tower-B-secret';

/** A record as an HR system that added fields sends it: `record.costCenter` and `record.location.building`. */
function recordWithExtras(over: Partial<EmployeeRecord> = {}): EmployeeRecord {
  const r = makeRecord({ hireDate: '2026-01-05', status: 'active', ...over });
  return {
    ...r,
    costCenter: COST_CENTER,
    location: { ...r.location, building: BUILDING },
  } as EmployeeRecord;
}

const IGNORED = ['record.costCenter', 'record.location.building'];

async function evidenceOf(t: TenureHarness, hrId?: string): Promise<EvidenceRecord[]> {
  const out: EvidenceRecord[] = [];
  for await (const e of t.audit.stream(hrId ? { hrId } : {})) out.push(e);
  return out;
}

/**
 * Issue 17 item 5, through the signed webhook on the real dev server: a field Tenure does not know is ignored and
 * named (never its value) in the answer and the audit record, and the hire goes ahead; a policy with
 * `intake.unknownFields: refuse` answers 422 naming each such field, and nothing starts.
 */
describe('lifecycle: unknown fields do not break an integration', function () {
  this.timeout(180_000);
  before(async () => {
    await workflowBundle();
  });

  describe('by default (intake.unknownFields: ignore)', () => {
    let t: TenureHarness;
    before(async () => {
      t = await startTenure();
    });
    after(async () => {
      await t?.stop();
    });

    it('a hire with record.costCenter and record.location.building is accepted, names both, and provisions as usual', async () => {
      const record = recordWithExtras();
      const eventId = `h-${record.hrId}`;
      const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
      assert.equal(answer.status, 202, JSON.stringify(answer));
      assert.equal(answer.outcome, 'accepted');
      assert.deepEqual('ignoredFields' in answer ? answer.ignoredFields : undefined, IGNORED);
      assert.doesNotMatch(JSON.stringify(answer), /secret/, 'the answer names the fields, never their values');

      const final = await resultWhenStarted<OnboardingStatus>(
        t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', eventId)),
      );
      assert.equal(final.stage, 'completed', JSON.stringify(final));
      const accounts = [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === record.hrId);
      assert.equal(accounts.length, 2, 'an account in the identity provider and in the app');
      assert.ok(accounts.every((u) => u.active));
      assert.doesNotMatch(JSON.stringify(accounts), /secret/, 'no ignored value reaches a system');

      const evidence = await evidenceOf(t, record.hrId);
      const received = evidence.filter((e) => e.action === 'hr_event_received');
      assert.equal(received.length, 1);
      assert.deepEqual((received[0]?.detail as { ignoredFields?: string[] }).ignoredFields, IGNORED);
      assert.doesNotMatch(JSON.stringify(evidence), /secret/, 'no audit record holds an ignored value');

      // The same event again: a duplicate, and the answer still names what was ignored.
      const again = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
      assert.equal(again.status, 200);
      assert.equal(again.outcome, 'duplicate');
      assert.deepEqual('ignoredFields' in again ? again.ignoredFields : undefined, IGNORED);
    });

    it('an event without unknown fields says nothing about them', async () => {
      const record = makeRecord({ hireDate: '2031-03-01' });
      const answer = await t.tenure.sendEvent({ eventId: `h-${record.hrId}`, kind: 'hire', record });
      assert.equal(answer.status, 202, JSON.stringify(answer));
      assert.equal('ignoredFields' in answer, false);
    });

    it('the plan preview ignores and names them too', async () => {
      const plan = await t.tenure.previewPlan(recordWithExtras({ hireDate: '2031-03-01', status: 'pre_hire' }));
      assert.equal(plan.ok, true, JSON.stringify(plan));
      assert.deepEqual(plan.ignoredFields, IGNORED);
    });
  });

  describe('with intake.unknownFields: refuse', () => {
    let t: TenureHarness;
    before(async () => {
      t = await startTenure({ policy: (p) => ({ ...p, intake: { unknownFields: 'refuse' } }) });
    });
    after(async () => {
      await t?.stop();
    });

    it('the same hire is a 422 naming both fields, and nothing starts', async () => {
      const record = recordWithExtras();
      const answer = await t.tenure.sendEvent({ eventId: `h-${record.hrId}`, kind: 'hire', record });
      assert.equal(answer.status, 422, JSON.stringify(answer));
      assert.equal(answer.outcome, 'refused');
      assert.equal('error' in answer ? answer.error : undefined, 'invalid_event');
      const issues = 'issues' in answer ? (answer.issues ?? []) : [];
      assert.deepEqual(
        issues.map((i) => i.path),
        IGNORED,
      );
      for (const i of issues) assert.match(i.message, /intake\.unknownFields/);
      assert.doesNotMatch(JSON.stringify(answer), /secret/);

      await assert.rejects(
        t.client.workflow.getHandle(employeeWorkflowId(record.hrId)).describe(),
        'no entity workflow',
      );
      assert.deepEqual(
        [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === record.hrId),
        [],
        'no account',
      );
      const refused = (await evidenceOf(t)).filter(
        (e) => e.action === 'hr_event_refused' && /record\.costCenter/.test(JSON.stringify(e.detail)),
      );
      assert.equal(refused.length, 1, 'the refusal is evidence');
      assert.doesNotMatch(JSON.stringify(refused), /secret/);
    });

    it('the plan preview refuses them as well', async () => {
      await assert.rejects(
        t.tenure.previewPlan(recordWithExtras({ hireDate: '2031-03-01', status: 'pre_hire' })),
        /422.*record\.costCenter.*record\.location\.building/,
      );
    });
  });
});
