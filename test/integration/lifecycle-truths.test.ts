import assert from 'node:assert/strict';
import { eventWorkflowId } from '../../src/domain/ids';
import type { OnboardingStatus } from '../../src/workflows/onboarding/messages';
import { makeRecord } from '../helpers/records';
import { workflowBundle } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { resultWhenStarted } from '../helpers/wait';

/**
 * Issue 17 item 6, through the signed webhook: the 202 answer says when a run is late, and an activation time inside
 * a DST gap takes effect as docs/architecture.md ("Time") says — moved forward by the length of the gap.
 */
describe('lifecycle: the answer tells the truth about time', function () {
  this.timeout(120_000);
  let t: TenureHarness;

  before(async () => {
    await workflowBundle();
    t = await startTenure({ activationTime: '02:30' });
  });
  after(async () => {
    await t?.stop();
  });

  const accounts = (hrId: string) => [...t.idp.users(), ...t.app.users()].filter((u) => u.externalId === hrId);
  const ny = { name: 'NYC', countryCode: 'US', timeZone: 'America/New_York' };

  it('an activation time in the DST gap is moved forward by the gap; not late', async () => {
    const record = makeRecord({ hireDate: '2027-03-14', location: ny });
    const a = await t.tenure.sendEvent({ eventId: `h-${record.hrId}`, kind: 'hire', record });
    assert.equal(a.status, 202);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    assert.ok('effectiveAt' in a);
    assert.equal(a.effectiveAt, '2027-03-14T07:30:00.000Z', '02:30 does not exist that night: 03:30 EDT');
    assert.equal('late' in a ? a.late : undefined, undefined);
    assert.deepEqual(accounts(record.hrId), [], 'nothing provisioned months ahead');
  });

  it('a hire whose instant has passed is accepted, late, and says so', async () => {
    const record = makeRecord({ hireDate: '2026-01-05', location: ny });
    const a = await t.tenure.sendEvent({ eventId: `h-${record.hrId}`, kind: 'hire', record });
    assert.equal(a.status, 202);
    assert.equal(a.outcome, 'accepted', JSON.stringify(a));
    assert.equal('late' in a ? a.late : undefined, true);
    assert.match('reason' in a ? (a.reason ?? '') : '', /^late: 2026-01-05T07:30:00.000Z had already passed/);
    const final = await resultWhenStarted<OnboardingStatus>(
      t.client.workflow.getHandle(eventWorkflowId(record.hrId, 'hire', `h-${record.hrId}`)),
    );
    assert.equal(final.late, true);
    assert.ok(accounts(record.hrId).length === 2 && accounts(record.hrId).every((u) => u.active));
    const received = [];
    for await (const e of t.audit.stream({ hrId: record.hrId })) if (e.action === 'hr_event_received') received.push(e);
    assert.equal((received[0]?.detail as { late?: boolean } | undefined)?.late, true, 'the audit record says late');
  });
});
