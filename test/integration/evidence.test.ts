import assert from 'node:assert/strict';
import type { EvidenceRecord } from '../../src/activities/audit/types';
import { eventWorkflowId } from '../../src/domain/ids';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { instantFromNow, makeRecord } from '../helpers/records';
import { sdkLogLines } from '../helpers/root-hooks';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted } from '../helpers/wait';

async function all(it: AsyncIterable<EvidenceRecord>): Promise<EvidenceRecord[]> {
  const out: EvidenceRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** A whole hire leaves evidence for every step, and no personal data in any log line. */
describe('evidence: a full hire writes one record per step and logs no personal data', function () {
  this.timeout(120_000);
  let t: TenureHarness;
  let when: ReturnType<typeof instantFromNow>;
  const tz = 'Asia/Tokyo';

  before(async () => {
    await workflowBundle();
    when = instantFromNow(6, tz);
    t = await startTenure({ activationTime: when.activationTime });
  });
  after(async () => {
    await t?.stop();
  });

  it('records the intake decision, each step with its read-back, and keeps the chain intact', async () => {
    // Personal data that must never reach a log line.
    const record = makeRecord({
      legalFirstName: 'Zephyrine',
      legalLastName: 'Quillfeather',
      preferredFirstName: 'Zeph',
      personalEmail: 'zephyrine.quillfeather@home-mail.example',
      workEmail: 'zeph.quillfeather@acme-corp.example',
      hireDate: when.hireDate,
      location: { name: 'Tokyo', countryCode: 'JP', timeZone: tz },
    });
    const logStart = sdkLogLines.length;
    const eventId = `evt-${record.hrId}`;
    const answer = await t.tenure.sendEvent({ eventId, kind: 'hire', record });
    assert.equal(answer.outcome, 'accepted', JSON.stringify(answer));
    const refused = await t.tenure.sendEvent({ eventId: 'x', kind: 'hire', record: { ...record, hireDate: 'soon' } });
    assert.equal(refused.outcome, 'refused');

    const child = t.client.workflow.getHandle<typeof onboardingWorkflow>(eventWorkflowId(record.hrId, 'hire', eventId));
    const final = await resultWhenStarted(child);
    assert.equal(final.stage, 'completed');

    const mine = await all(t.audit.stream({ hrId: record.hrId }));
    const byAction = (a: string) => mine.filter((r) => r.action === a);
    assert.deepEqual(
      byAction('hr_event_received').map((r) => [r.outcome, r.requestId]),
      [['accepted', eventId]],
    );
    const steps = [...byAction('create_account'), ...byAction('activate_account')];
    assert.deepEqual(steps.map((r) => [r.action, r.systemId, r.outcome]).sort(), [
      ['activate_account', 'idp', 'activated'],
      ['activate_account', 'wiki', 'activated'],
      ['create_account', 'idp', 'created'],
      ['create_account', 'wiki', 'created'],
    ]);
    // A create step that also carried out its system's activation (the hire instant had passed by the time it
    // ran: `withCreate` on the activation) created the account on, and its read-back shows it on.
    const withCreate = (systemId: string) =>
      steps.some((r) => r.action === 'activate_account' && r.systemId === systemId && r.detail?.withCreate === true);
    for (const s of steps) {
      assert.equal(s.actor.type, 'system');
      assert.equal(s.requestId, child.workflowId);
      assert.equal(
        s.readBack?.active,
        s.action === 'activate_account' || withCreate(s.systemId ?? ''),
        'each step was verified by reading back',
      );
      assert.equal(s.detail?.policyVersion, t.policy.version);
    }
    const idp = steps.find((s) => s.systemId === 'idp' && s.action === 'create_account');
    const wiki = steps.find((s) => s.systemId === 'wiki' && s.action === 'create_account');
    assert.ok(idp && wiki && idp.seq < wiki.seq, 'the IdP evidence precedes the app evidence');

    const refusals = await all(t.audit.stream({}));
    assert.ok(
      refusals.some((r) => r.action === 'hr_event_refused' && /record\.hireDate/.test(String(r.detail?.reason))),
      'the refused event is in the audit trail with its reason',
    );
    const verify = await t.audit.verify();
    assert.equal(verify.ok, true, JSON.stringify(verify.problem));

    // No record field that identifies the person appears in evidence or in any log line.
    const pii = ['Zephyrine', 'Quillfeather', 'Zeph', 'home-mail.example', 'acme-corp.example'];
    const evidenceText = JSON.stringify(await all(t.audit.stream({})));
    const logText =
      JSON.stringify(t.logLines) +
      JSON.stringify(sdkLogLines.slice(logStart), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    for (const value of pii) {
      assert.ok(!evidenceText.includes(value), `evidence contains "${value}"`);
      assert.ok(!logText.includes(value), `a log line contains "${value}"`);
    }
    assert.ok(sdkLogLines.length > logStart, 'the worker logged something during the run (the scan is not vacuous)');
  });
});
