import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Account, AccountSpec, IdentityConnector } from '../../src/activities/identity';
import { ConnectorError, isGroupCapable, isLicenceCapable } from '../../src/activities/identity';
import { googleTarget } from '../conformance/google.fixture';
import { graphTarget } from '../conformance/graph.fixture';
import { ldapInetOrgPersonTarget, ldapTarget } from '../conformance/ldap.fixture';
import { oktaTarget } from '../conformance/okta.fixture';
import { manualTarget, scimTarget } from '../conformance/scim.fixture';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget } from '../conformance/types';

/**
 * One suite, every connector: the behaviours Tenure's steps and the reconciliation rely on, run the same way against
 * SCIM, LDAP (a real slapd), Graph, Google, Okta (honest stand-ins) and a manual system's read connector.
 */
const TARGETS: [string, ConformanceFactory | undefined][] = [
  ['scim', scimTarget],
  ['manual', manualTarget],
  ['ldap', ldapTarget],
  ['ldap-inetorgperson', ldapInetOrgPersonTarget],
  ['graph', graphTarget],
  ['google', googleTarget],
  ['okta', oktaTarget],
];

/** The retries Temporal would do: a retryable connector error is tried again, after the vendor's Retry-After. */
async function asTemporalWould<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ConnectorError) || !err.retryable || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.min(err.details.retryAfterMs ?? 200, 3_000)));
    }
  }
}

async function collect(iterable: AsyncIterable<Account>): Promise<Account[]> {
  const out: Account[] = [];
  for await (const a of iterable) out.push(a);
  return out;
}

/** A person no other test uses. */
function person(overrides: Partial<AccountSpec> = {}): AccountSpec {
  const n = randomUUID().slice(0, 8);
  return {
    hrId: `conf-${n}`,
    userName: `conf.${n}@acme.example`,
    givenName: 'Ana',
    familyName: `Conf${n}`,
    email: `conf.${n}@acme.example`,
    title: 'Engineer',
    department: 'Engineering',
    countryCode: 'PT',
    location: 'Lisbon',
    active: false,
    ...overrides,
  };
}

for (const [name, factory] of TARGETS) {
  describe(`connector conformance: ${name}`, function () {
    this.timeout(60_000);
    let t: ConformanceTarget;
    let c: IdentityConnector;

    before(async function () {
      if (!factory) {
        this.skip();
        return;
      }
      t = await factory();
      c = t.connector;
    });
    after(async () => {
      await t?.stop();
    });

    /** Creates through the connector, or, for a read-only target, as the system's owner would. */
    async function provisioned(spec: AccountSpec): Promise<Account> {
      if (t.writes) return (await asTemporalWould(() => c.ensureAccount(spec))).account;
      await t.seed({ ...spec, hrId: spec.hrId, active: spec.active ?? false });
      const found = await c.findByHrKey(spec.hrId, spec.userName);
      assert.ok(found, 'the seeded account is found by HR key');
      return found;
    }

    /** An account someone else created for the person's login, not linked to HR. */
    function seedUnlinked(spec: AccountSpec, active: boolean): Promise<string> {
      return t.seed({ userName: spec.userName, givenName: spec.givenName, familyName: spec.familyName, active });
    }

    it('creates an account, and a second ensure adopts it rather than creating another', async function () {
      if (!t.writes) this.skip();
      const spec = person();
      const first = await asTemporalWould(() => c.ensureAccount(spec));
      assert.equal(first.outcome, 'created');
      assert.equal(first.account.active, false);
      assert.equal(first.account.hrId, spec.hrId);
      const again = await asTemporalWould(() => c.ensureAccount(spec));
      assert.notEqual(again.outcome, 'created');
      assert.equal(again.account.id, first.account.id);
      assert.equal(await t.count({ hrId: spec.hrId }), 1);
    });

    it('an ensure that names no state creates the account off, and leaves an existing one as it is', async function () {
      if (!t.writes) this.skip();
      const { active: _none, ...spec } = person();
      const created = await asTemporalWould(() => c.ensureAccount(spec));
      assert.equal(created.outcome, 'created');
      assert.equal(created.account.active, false);
      await asTemporalWould(() => c.setActive(created.account.id, true, { reason: 'hire' }));
      const again = await asTemporalWould(() => c.ensureAccount({ ...spec, title: 'Staff Engineer' }));
      assert.equal(again.account.id, created.account.id);
      assert.equal(again.account.active, true, 'an account turned on stays on');
      assert.equal((await c.findByHrKey(spec.hrId, spec.userName))?.active, true);

      // An account someone else created, already on, adopted by a create step: still on.
      const { active: _unset, ...other } = person();
      const seededId = await seedUnlinked(other, true);
      const adopted = await asTemporalWould(() => c.ensureAccount(other));
      assert.notEqual(adopted.outcome, 'created');
      assert.equal(adopted.account.id, seededId);
      assert.equal((await c.findByHrKey(other.hrId, other.userName))?.active, true);
      assert.equal(await t.count({ userName: other.userName }), 1);
    });

    it('an ensure that names a state brings an existing account to it', async function () {
      if (!t.writes) this.skip();
      const { active: _none, ...spec } = person();
      const created = await asTemporalWould(() => c.ensureAccount(spec));
      assert.equal(created.account.active, false);
      const on = await asTemporalWould(() => c.ensureAccount({ ...spec, active: true }));
      assert.equal(on.account.id, created.account.id);
      assert.equal(on.outcome, 'updated');
      assert.equal(on.account.active, true);
      assert.equal((await c.findByHrKey(spec.hrId, spec.userName))?.active, true, 'reads back on');
      const off = await asTemporalWould(() => c.ensureAccount({ ...spec, active: false }));
      assert.equal(off.account.active, false);
      assert.equal((await c.findByHrKey(spec.hrId, spec.userName))?.active, false, 'reads back off');
      assert.equal(await t.count({ hrId: spec.hrId }), 1);
    });

    it('createActive: a new account is created on, an existing one keeps its state', async function () {
      if (!t.writes) this.skip();
      const { active: _none, ...spec } = person();
      const created = await asTemporalWould(() => c.ensureAccount({ ...spec, createActive: true }));
      assert.equal(created.outcome, 'created');
      const on = t.createActiveOff !== true;
      assert.equal(created.account.active, on, on ? 'created on' : 'created off (see ConformanceTarget)');
      assert.equal((await c.findByHrKey(spec.hrId, spec.userName))?.active, on, 'and reads back so');

      // An account someone left off is adopted as it is: the activation step, not the create, switches it on.
      const { active: _unset, ...other } = person();
      const seededId = await seedUnlinked(other, false);
      const adopted = await asTemporalWould(() => c.ensureAccount({ ...other, createActive: true }));
      assert.notEqual(adopted.outcome, 'created');
      assert.equal(adopted.account.id, seededId);
      assert.equal((await c.findByHrKey(other.hrId, other.userName))?.active, false, 'still off');
      assert.equal(await t.count({ userName: other.userName }), 1);
    });

    it('adopts an account someone else created for the same login, linking it to the HR key', async function () {
      if (!t.writes) this.skip();
      const spec = person();
      const seededId = await seedUnlinked(spec, false);
      const r = await asTemporalWould(() => c.ensureAccount(spec));
      assert.notEqual(r.outcome, 'created');
      assert.equal(r.account.id, seededId);
      assert.equal(await t.count({ userName: spec.userName }), 1);
      const byKey = await c.findByHrKey(spec.hrId);
      assert.equal(byKey?.id, seededId, 'found by HR key after adoption');
    });

    it('finds by HR key, then by email for an account nobody linked to HR, and by login name', async function () {
      const linked = person();
      const linkedId = await t.seed({ ...linked, active: true });
      const unlinked = person();
      const unlinkedId = await t.seed({
        userName: unlinked.userName,
        givenName: unlinked.givenName,
        familyName: unlinked.familyName,
        active: true,
      });
      assert.equal((await c.findByHrKey(linked.hrId))?.id, linkedId);
      assert.equal((await c.findByHrKey(unlinked.hrId, unlinked.userName))?.id, unlinkedId, 'found by email');
      assert.equal(await c.findByHrKey(unlinked.hrId), undefined, 'not by HR key alone');
      assert.equal((await c.findByUserName(unlinked.userName))?.id, unlinkedId);
      assert.equal(await c.findByUserName(person().userName), undefined);
      const found = await c.findByHrKey(linked.hrId);
      assert.equal(found?.active, true);
      assert.equal(found?.userName.toLowerCase(), linked.userName.toLowerCase());
    });

    it('enables and disables, and each change reads back', async function () {
      if (!t.writes) this.skip();
      const spec = person();
      const a = await provisioned(spec);
      const on = await asTemporalWould(() => c.setActive(a.id, true, { reason: 'hire' }));
      assert.equal(on.active, true);
      assert.equal((await c.findByHrKey(spec.hrId))?.active, true);
      const off = await asTemporalWould(() => c.setActive(a.id, false, { reason: 'exit' }));
      assert.equal(off.active, false);
      assert.equal((await c.findByHrKey(spec.hrId, spec.userName))?.active ?? false, false);
      // Idempotent: disabling again is not an error and changes nothing.
      assert.equal((await asTemporalWould(() => c.setActive(a.id, false, { reason: 'exit' }))).active, false);
    });

    it('a leave turns access off and a return turns it back on', async function () {
      if (!t.writes) this.skip();
      const spec = person();
      const a = await provisioned(spec);
      await asTemporalWould(() => c.setActive(a.id, true, { reason: 'hire' }));
      assert.equal((await asTemporalWould(() => c.setActive(a.id, false, { reason: 'leave' }))).active, false);
      assert.equal((await c.findByHrKey(spec.hrId))?.active, false);
      assert.equal((await asTemporalWould(() => c.setActive(a.id, true, { reason: 'return' }))).active, true);
      assert.equal((await c.findByHrKey(spec.hrId))?.active, true);
    });

    it('group membership: add and remove are idempotent', async function () {
      if (!t.writes || t.groups.length === 0) this.skip();
      assert.ok(isGroupCapable(c), 'a target with groups has a group-capable connector');
      const a = await provisioned(person());
      const g = t.groups[0] ?? '';
      const gc = c;
      if (!isGroupCapable(gc)) throw new Error('unreachable');
      assert.equal((await asTemporalWould(() => gc.addToGroup(g, a.id))).outcome, 'changed');
      assert.equal((await asTemporalWould(() => gc.addToGroup(g, a.id))).outcome, 'unchanged');
      assert.equal((await asTemporalWould(() => gc.removeFromGroup(g, a.id))).outcome, 'changed');
      assert.equal((await asTemporalWould(() => gc.removeFromGroup(g, a.id))).outcome, 'unchanged');
    });

    it(`sessions: revoked through the vendor API, or not_supported with a reason`, async function () {
      if (!t.writes) this.skip();
      const a = await provisioned(person());
      await asTemporalWould(() => c.setActive(a.id, true, { reason: 'hire' }));
      const r = c.revokeSessions
        ? await asTemporalWould(() => c.revokeSessions!(a.id))
        : { outcome: 'not_supported' as const, detail: 'no sessions API' };
      assert.equal(r.outcome, t.sessions);
      assert.ok(r.detail.length > 0);
      if (r.outcome === 'revoked') {
        // Idempotent: a second revocation is not an error.
        assert.equal((await asTemporalWould(() => c.revokeSessions!(a.id))).outcome, 'revoked');
      }
    });

    it('licence: assigned and removed directly, each read back', async function () {
      if (!t.writes || !t.licence) this.skip();
      assert.ok(isLicenceCapable(c), 'a target with a licence has a licence-capable connector');
      const sku = t.licence ?? '';
      const lc = c;
      if (!isLicenceCapable(lc)) throw new Error('unreachable');
      const a = await provisioned(person());
      assert.equal((await asTemporalWould(() => lc.assignLicence(a.id, sku))).outcome, 'changed');
      assert.equal((await asTemporalWould(() => lc.assignLicence(a.id, sku))).outcome, 'unchanged');
      assert.ok((await lc.listLicences(a.id)).includes(sku));
      assert.equal((await asTemporalWould(() => lc.removeLicence(a.id, sku))).outcome, 'changed');
      assert.equal((await asTemporalWould(() => lc.removeLicence(a.id, sku))).outcome, 'unchanged');
      assert.ok(!(await lc.listLicences(a.id)).includes(sku));
    });

    it('delete is idempotent and leaves the account gone (or, where the system only deactivates, inactive)', async function () {
      if (!t.writes) this.skip();
      const spec = person();
      const a = await provisioned(spec);
      await asTemporalWould(() => c.delete(a.id));
      await asTemporalWould(() => c.delete(a.id));
      const back = await c.findByHrKey(spec.hrId, spec.userName);
      if (t.afterDelete === 'gone') assert.equal(back, undefined);
      else assert.equal(back?.active ?? false, false);
    });

    it('lists every account, paging past the page size, each once', async function () {
      const ids = new Set<string>();
      for (let i = 0; i < t.pageSize * 2 + 1; i++) {
        const p = person();
        ids.add(await t.seed({ ...p, active: i % 2 === 0 }));
      }
      const listed = await collect(c.listAccounts());
      const listedIds = listed.map((a) => a.id);
      assert.equal(new Set(listedIds).size, listedIds.length, 'no account listed twice');
      for (const id of ids) assert.ok(listedIds.includes(id), `account ${id} is listed`);
      const one = listed.find((a) => ids.has(a.id));
      assert.ok(one?.userName, 'listed accounts carry their login name');
    });

    const faults: ConformanceFault[] = ['timeout_after_write', 'rate_limited', 'server_error'];
    for (const fault of faults) {
      it(`a create that meets ${fault} ends, after retries, with exactly one account`, async function () {
        if (!t.writes) this.skip();
        const spec = person();
        await t.fault(fault);
        const r = await asTemporalWould(() => c.ensureAccount(spec));
        assert.equal(r.account.hrId, spec.hrId);
        assert.equal(await t.count({ hrId: spec.hrId }), 1);
        assert.equal(await t.count({ userName: spec.userName }), 1);
      });
    }
  });
}
