import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Attribute, Change, Client, EqualityFilter } from 'ldapts';
import type { AccountSpec } from '../../src/activities/identity';
import { ConnectorError } from '../../src/activities/identity';
import { createLdapConnector, type LdapConnector } from '../../src/activities/ldap/client';
import { ldapConnectorSchema } from '../../src/domain/connectors/ldap';
import { ldapConnectorConfig, seedLdap } from '../conformance/ldap.fixture';
import { startLdapFaultProxy, type LdapFaultProxy } from '../peers/ldap-fault-proxy';
import { startSlapd, type Slapd } from '../peers/slapd';

/** A person no other test uses. */
function person(overrides: Partial<AccountSpec> = {}): AccountSpec {
  const n = randomUUID().slice(0, 8);
  return {
    hrId: `E-${n}`,
    userName: `ana.${n}@acme.example`,
    givenName: 'Ana',
    familyName: `Lima${n}`,
    email: `ana.${n}@acme.example`,
    title: 'Engineer',
    department: 'Engineering',
    location: 'NYC',
    active: false,
    ...overrides,
  };
}

function connector(slapd: Slapd, url: string, extra: Record<string, unknown> = {}, password?: string): LdapConnector {
  const config = ldapConnectorSchema.parse(ldapConnectorConfig(slapd, url, extra));
  return createLdapConnector('ldap-idp', config, {
    CONF_LDAP_BIND_PASSWORD: password ?? slapd.servicePassword,
  }) as LdapConnector;
}

async function rejectsWith(p: Promise<unknown>, type: ConnectorError['type']): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConnectorError, `a ConnectorError, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    return err;
  }
  assert.fail(`expected a ${type} ConnectorError`);
}

describe('ldap connector against a real slapd (AD schema)', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let proxy: LdapFaultProxy;
  let c: LdapConnector;
  const one = async (filter: string) => {
    const [entry] = await slapd.find(filter);
    assert.ok(entry, `an entry matches ${filter}`);
    return entry;
  };

  before(async () => {
    slapd = await startSlapd({ mode: 'ad', tls: true, groups: ['engineering', 'vpn'] });
    proxy = await startLdapFaultProxy(slapd.url);
    c = connector(slapd, proxy.url);
  });
  after(async () => {
    await proxy?.close();
    await slapd?.stop();
  });

  it('creates the user disabled (514) in the OU its department maps to, with every AD attribute and the manager DN', async () => {
    const boss = await c.ensureAccount(person({ givenName: 'Bea', department: 'Sales', title: 'Head of Sales' }));
    const spec = person({ managerId: boss.account.id });
    const { account, outcome } = await c.ensureAccount(spec);
    assert.equal(outcome, 'created');
    assert.equal(account.active, false);
    const e = await one(`(employeeID=${spec.hrId})`);
    assert.equal(e.dn, `cn=${spec.givenName} ${spec.familyName},${slapd.ouDn('Engineering')}`);
    assert.equal(e.userAccountControl, '514');
    assert.equal(e.sAMAccountName, spec.userName.split('@')[0]);
    assert.equal(e.userPrincipalName, spec.userName);
    assert.equal(e.mail, spec.email);
    assert.equal(e.givenName, 'Ana');
    assert.equal(e.sn, spec.familyName);
    assert.equal(e.displayName, `Ana ${spec.familyName}`);
    assert.equal(e.title, 'Engineer');
    assert.equal(e.department, 'Engineering');
    const bossEntry = await one(`(employeeID=${boss.account.hrId ?? ''})`);
    assert.equal(bossEntry.dn, `cn=Bea ${boss.account.familyName ?? ''},${slapd.ouDn('Sales')}`);
    assert.equal(e.manager, bossEntry.dn, 'manager is written as the DN');
    assert.equal(account.id, e.entryUUID, 'the id is the stable entryUUID');
    assert.equal(account.managerId, boss.account.id, 'and read back as the manager id');
    assert.equal((await c.findById(boss.account.id))?.hrId, boss.account.hrId);
  });

  it('sAMAccountName: at most 20 characters, numbered when another account holds it', async () => {
    const n = randomUUID().slice(0, 6);
    const long = `maximilian.${n}.vonhohenstein`;
    const a = await c.ensureAccount(person({ userName: `${long}@acme.example`, email: `${long}@acme.example` }));
    const b = await c.ensureAccount(person({ userName: `${long}@other.example`, email: `${long}@other.example` }));
    const sa = (await one(`(employeeID=${a.account.hrId ?? ''})`)).sAMAccountName;
    const sb = (await one(`(employeeID=${b.account.hrId ?? ''})`)).sAMAccountName;
    assert.equal(sa, `maximilian.${n}.von`.slice(0, 20));
    assert.equal(sb, `${`maximilian.${n}.von`.slice(0, 19)}2`);
    assert.ok(String(sb).length <= 20);
  });

  it('two people with the same name in one OU: the second CN carries its login name', async () => {
    const n = randomUUID().slice(0, 6);
    const a = await c.ensureAccount(person({ familyName: `Twin${n}` }));
    const b = await c.ensureAccount(person({ familyName: `Twin${n}` }));
    assert.notEqual(a.account.id, b.account.id);
    const eb = await one(`(employeeID=${b.account.hrId ?? ''})`);
    assert.match(eb.dn, new RegExp(`^cn=Ana Twin${n} \\(${String(eb.sAMAccountName).replace('.', '\\.')}\\),`));
  });

  it('enable/disable flips only ACCOUNTDISABLE and keeps every other userAccountControl bit', async () => {
    const spec = person();
    const id = await seedLdap(slapd, { ...spec, active: false });
    // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | ACCOUNTDISABLE, as an admin left it.
    await slapd.admin((a) =>
      a.modify(`cn=${spec.givenName} ${spec.familyName},${slapd.ouDn('Staff')}`, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userAccountControl', values: [String(0x10202)] }),
        }),
      ]),
    );
    assert.equal((await c.setActive(id, true)).active, true);
    assert.equal((await one(`(employeeID=${spec.hrId})`)).userAccountControl, String(0x10200));
    assert.equal((await c.setActive(id, false)).active, false);
    assert.equal((await one(`(employeeID=${spec.hrId})`)).userAccountControl, String(0x10202));
    assert.equal((await c.setActive(id, false)).active, false, 'idempotent');
    await rejectsWith(c.setActive(randomUUID(), true), 'not_found');
  });

  it('a mover: a new department moves the account to its OU (modifyDN), keeping its id; the title follows', async () => {
    const spec = person();
    const created = await c.ensureAccount(spec);
    await c.setActive(created.account.id, true);
    const moved = await c.ensureAccount({ ...spec, department: 'Sales', title: 'Account Executive', active: true });
    assert.equal(moved.outcome, 'updated');
    assert.equal(moved.account.id, created.account.id);
    assert.equal(moved.account.title, 'Account Executive');
    const e = await one(`(employeeID=${spec.hrId})`);
    assert.equal(e.dn, `cn=${spec.givenName} ${spec.familyName},${slapd.ouDn('Sales')}`);
    assert.equal(e.department, 'Sales');
    assert.equal(e.userAccountControl, '512', 'still enabled');
    // By location when no department rule matches; the same spec again changes nothing.
    await c.ensureAccount({ ...spec, department: 'Finance', location: 'Lisbon', active: true });
    assert.ok((await one(`(employeeID=${spec.hrId})`)).dn.endsWith(slapd.ouDn('Lisbon')));
    const again = await c.ensureAccount({ ...spec, department: 'Finance', location: 'Lisbon', active: true });
    assert.equal(again.outcome, 'adopted');
  });

  it('groups by cn or by DN; add/remove idempotent and read back through member; unknown group is not_found', async () => {
    const a = await c.ensureAccount(person());
    assert.equal((await c.addToGroup('vpn', a.account.id)).outcome, 'changed');
    assert.equal((await c.addToGroup(slapd.groupDn('vpn'), a.account.id)).outcome, 'unchanged');
    const dn = (await one(`(employeeID=${a.account.hrId ?? ''})`)).dn;
    const [group] = await slapd.find(`(member=${dn})`, slapd.groupsDn);
    assert.equal(group?.dn, slapd.groupDn('vpn'));
    assert.equal((await c.removeFromGroup(slapd.groupDn('vpn'), a.account.id)).outcome, 'changed');
    assert.equal((await c.removeFromGroup('vpn', a.account.id)).outcome, 'unchanged');
    assert.equal((await slapd.find(`(member=${dn})`, slapd.groupsDn)).length, 0);
    await rejectsWith(c.addToGroup('no-such-group', a.account.id), 'not_found');
    await rejectsWith(c.addToGroup(`cn=nope,${slapd.groupsDn}`, a.account.id), 'not_found');
  });

  it('an OU the policy names that does not exist is invalid_request (configuration), and nothing is created', async () => {
    const bad = connector(slapd, slapd.url, { defaultOu: `ou=Ghost,${slapd.peopleDn}`, ouRules: [] });
    const spec = person();
    await rejectsWith(bad.ensureAccount(spec), 'invalid_request');
    assert.equal((await slapd.find(`(employeeID=${spec.hrId})`)).length, 0);
  });

  it('classifies: wrong password unauthorized, busy rate_limited, unavailable and refused transient', async () => {
    const wrong = await rejectsWith(
      connector(slapd, slapd.url, {}, 'not-the-password').findByHrKey('x'),
      'unauthorized',
    );
    assert.equal(wrong.details.status, 49);
    assert.ok(!wrong.message.includes('not-the-password') && !wrong.message.includes(slapd.serviceDn));

    proxy.next({ kind: 'answer', op: 'add', resultCode: 51 });
    const busy = await rejectsWith(c.ensureAccount(person()), 'rate_limited');
    assert.equal(busy.details.status, 51);
    proxy.next({ kind: 'answer', op: 'add', resultCode: 52 });
    await rejectsWith(c.ensureAccount(person()), 'transient');
    await rejectsWith(connector(slapd, 'ldap://127.0.0.1:1').findByHrKey('x'), 'transient');
  });

  it("AD's error code reaches details.vendorCode; the diagnostic text, the DN and the name do not", async () => {
    const spec = person({ familyName: 'Secretname' });
    proxy.next({
      kind: 'answer',
      op: 'add',
      resultCode: 19,
      diagnostic: `0000052D: Constraint violation - check the password policy for cn=Ana Secretname,${slapd.ouDn('Engineering')}`,
    });
    const err = await rejectsWith(c.ensureAccount(spec), 'invalid_request');
    assert.equal(err.details.vendorCode, '0000052D');
    assert.equal(err.details.status, 19);
    assert.match(err.message, /constraintViolation \(19\) \[0000052D\]/);
    assert.ok(!/Secretname|password policy|acme|ana\./i.test(err.message), err.message);
  });

  it('a timeout after the write: the attempt is transient, the retry adopts the written account', async () => {
    const spec = person();
    proxy.next({ kind: 'delay', op: 'add', ms: 4_500 });
    await rejectsWith(c.ensureAccount(spec), 'transient');
    const retry = await c.ensureAccount(spec);
    assert.equal(retry.outcome, 'adopted');
    assert.equal((await slapd.find(`(employeeID=${spec.hrId})`)).length, 1);
  });

  it('the service account cannot list without the paged-results control past its size limit; the connector pages', async () => {
    for (let i = 0; i < 8; i++) await seedLdap(slapd, { ...person(), active: true });
    const plain = new Client({ url: slapd.url });
    try {
      await plain.bind(slapd.serviceDn, slapd.servicePassword);
      await assert.rejects(
        plain.search(slapd.peopleDn, { scope: 'sub', filter: '(objectClass=user)' }),
        (err: Error) => err.constructor.name === 'SizeLimitExceededError',
      );
    } finally {
      await plain.unbind();
    }
    const all: string[] = [];
    for await (const a of c.listAccounts()) all.push(a.id);
    assert.equal(new Set(all).size, all.length);
    assert.ok(all.length > 8);
    // slapd refuses pages above its size.pr limit (AD would cap them at MaxPageSize): a configuration error.
    const big = connector(slapd, slapd.url, { pageSize: 1000 });
    const refused = await rejectsWith(
      (async () => {
        for await (const _ of big.listAccounts()) void _;
      })(),
      'invalid_request',
    );
    assert.match(refused.message, /lower the policy's pageSize/);
  });

  it('sessions are not_supported, and the evidence says why', async () => {
    const r = await c.revokeSessions(randomUUID());
    assert.equal(r.outcome, 'not_supported');
    assert.match(r.detail, /Kerberos/);
  });

  it('StartTLS and LDAPS with the CA from the policy; a certificate nobody trusts is refused', async () => {
    const spec = person();
    await c.ensureAccount(spec);
    const startTls = connector(slapd, slapd.url, { startTls: true, tlsCaPath: slapd.caPath });
    assert.equal((await startTls.findByHrKey(spec.hrId))?.hrId, spec.hrId);
    const ldaps = connector(slapd, slapd.ldapsUrl ?? '', { tlsCaPath: slapd.caPath });
    assert.equal((await ldaps.findByHrKey(spec.hrId))?.hrId, spec.hrId);
    const untrusted = await rejectsWith(
      connector(slapd, slapd.ldapsUrl ?? '').findByHrKey(spec.hrId),
      'invalid_request',
    );
    assert.match(untrusted.details.vendorCode ?? '', /CERT|SIGNED/);
    await rejectsWith(connector(slapd, slapd.url, { startTls: true }).findByHrKey(spec.hrId), 'invalid_request');
  });

  it('initialPassword random: a quoted UTF-16LE unicodePwd over StartTLS and pwdLastSet 0; refused without TLS', async () => {
    const tlsConnector = connector(slapd, slapd.url, {
      startTls: true,
      tlsCaPath: slapd.caPath,
      initialPassword: 'random',
    });
    const spec = person();
    const r = await tlsConnector.ensureAccount(spec);
    assert.equal(r.outcome, 'created');
    const entry = await slapd.admin(async (a) => {
      const { searchEntries } = await a.search(slapd.peopleDn, {
        scope: 'sub',
        filter: new EqualityFilter({ attribute: 'employeeID', value: spec.hrId }),
        attributes: ['unicodePwd', 'pwdLastSet', 'userAccountControl'],
        explicitBufferAttributes: ['unicodePwd'],
      });
      return searchEntries[0];
    });
    const raw = entry?.unicodePwd;
    assert.ok(Buffer.isBuffer(raw), 'unicodePwd written');
    const written = raw.toString('utf16le');
    assert.match(written, /^"[^"]{32}"$/, 'the password in double quotes, UTF-16LE');
    assert.equal(entry?.pwdLastSet, '0', 'must change at first sign-in');
    assert.equal(entry?.userAccountControl, '514', 'still created disabled');
    assert.ok(!JSON.stringify(r).includes(written.slice(1, -1)), 'the password is in no answer');

    // A late hire's create (`createActive`): enabled (512) in the same add when it has a password, and disabled
    // (514) without one, which a domain policy may refuse to enable: the activation step then shows the refusal.
    const { active: _late, ...lateSpec } = person();
    const late = await tlsConnector.ensureAccount({ ...lateSpec, createActive: true });
    assert.equal(late.account.active, true);
    assert.equal((await one(`(employeeID=${late.account.hrId ?? ''})`)).userAccountControl, '512');
    const { active: _none, ...noPasswordSpec } = person();
    const noPassword = await c.ensureAccount({ ...noPasswordSpec, createActive: true });
    assert.equal(noPassword.account.active, false);
    assert.equal((await one(`(employeeID=${noPassword.account.hrId ?? ''})`)).userAccountControl, '514');
    assert.throws(
      () => ldapConnectorSchema.parse(ldapConnectorConfig(slapd, slapd.url, { initialPassword: 'random' })),
      /encrypted connection/,
    );
  });

  it('the bind password comes from the environment only', () => {
    const config = ldapConnectorSchema.parse(ldapConnectorConfig(slapd, slapd.url));
    assert.throws(() => createLdapConnector('ldap-idp', config, {}), /CONF_LDAP_BIND_PASSWORD is not set/);
  });
});

describe('ldap connector against a real slapd (inetOrgPerson, ppolicy lock)', function () {
  this.timeout(60_000);
  let slapd: Slapd;
  let c: LdapConnector;

  before(async () => {
    slapd = await startSlapd({ mode: 'inetorgperson', groups: ['staff'] });
    c = connector(slapd, slapd.url);
  });
  after(async () => {
    await slapd?.stop();
  });

  it('disabled is the ppolicy lock: the person cannot bind while disabled, and can once enabled', async () => {
    const spec = person();
    const { account } = await c.ensureAccount(spec);
    const [e] = await slapd.find(`(employeeNumber=${spec.hrId})`);
    assert.ok(e);
    assert.equal(e.dn, `uid=${spec.userName.split('@')[0]},${slapd.ouDn('Engineering')}`);
    assert.equal(e.pwdAccountLockedTime, '000001010000Z', 'created locked');
    assert.equal(e.departmentNumber, 'Engineering');
    const setPassword = (pw: string) =>
      slapd.admin((a) =>
        a.modify(e.dn, [
          new Change({ operation: 'replace', modification: new Attribute({ type: 'userPassword', values: [pw] }) }),
        ]),
      );
    // OpenLDAP's ppolicy lifts the lock when an administrator resets the password (docs/connectors/ldap.md):
    // the read-back shows it, so reconciliation sees the account enabled again.
    await setPassword('pw-1');
    assert.equal((await c.findById(account.id))?.active, true, 'a password reset unlocked it');
    assert.equal((await c.setActive(account.id, false)).active, false);
    assert.equal(await slapd.canBind(e.dn, 'pw-1'), false, 'locked: no sign-in');
    assert.equal((await c.setActive(account.id, true)).active, true);
    assert.equal(await slapd.canBind(e.dn, 'pw-1'), true, 'unlocked: sign-in works');
    assert.equal((await c.setActive(account.id, false)).active, false);
    assert.equal(await slapd.canBind(e.dn, 'pw-1'), false, 'locked again');
  });

  it('a mover keeps its uid RDN and moves OU; groupOfNames membership by member DN', async () => {
    const spec = person();
    const { account } = await c.ensureAccount(spec);
    await c.ensureAccount({ ...spec, department: 'Sales' });
    const [e] = await slapd.find(`(employeeNumber=${spec.hrId})`);
    assert.equal(e?.dn, `uid=${spec.userName.split('@')[0]},${slapd.ouDn('Sales')}`);
    assert.equal((await c.addToGroup('staff', account.id)).outcome, 'changed');
    assert.equal((await slapd.find(`(member=${e?.dn ?? ''})`, slapd.groupsDn)).length, 1);
    assert.equal((await c.removeFromGroup('staff', account.id)).outcome, 'changed');
  });
});
