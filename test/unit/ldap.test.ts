import assert from 'node:assert/strict';
import {
  accountNameBase,
  accountNameCandidate,
  escapeRdnValue,
  guidToBytes,
  guidToString,
  ouFor,
  randomPassword,
  splitDn,
  unicodePwd,
} from '../../src/activities/ldap/client';
import { adErrorCode, classifyResultCode } from '../../src/activities/ldap/transport';
import { ldapConnectorSchema, ldapSecretVariables } from '../../src/domain/connectors/ldap';

const base = {
  type: 'ldap',
  url: 'ldaps://dc1.acme.example:636',
  bindDn: 'CN=svc-tenure,OU=Service,DC=acme,DC=example',
  bindPasswordEnv: 'AD_BIND_PASSWORD',
  baseDn: 'OU=People,DC=acme,DC=example',
  groupBaseDn: 'OU=Groups,DC=acme,DC=example',
  defaultOu: 'OU=Staff,OU=People,DC=acme,DC=example',
};

describe('ldap connector: pure parts', () => {
  it('objectGUID: the first three fields are little-endian, the rest as stored; and back', () => {
    const bytes = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
    assert.equal(guidToString(bytes), '03020100-0504-0706-0809-0a0b0c0d0e0f');
    assert.deepEqual(guidToBytes('03020100-0504-0706-0809-0a0b0c0d0e0f'), bytes);
    assert.deepEqual(guidToBytes('{03020100-0504-0706-0809-0A0B0C0D0E0F}'), bytes, 'braces and upper case');
    assert.equal(guidToBytes('not-a-guid'), undefined);
    assert.throws(() => guidToString(Buffer.alloc(15)));
  });

  it('sAMAccountName: local part, no characters AD refuses, at most 20, numbered within the limit', () => {
    assert.equal(accountNameBase('ana.lima@acme.example', 20), 'ana.lima');
    assert.equal(accountNameBase('José.Müller-Lüdenscheidt@acme.example', 20), 'jose.muller-ludensch');
    assert.equal(accountNameBase('a"b/c\\d[e]f:g;h|i=j,k+l*m?n<o>p q@x', 40), 'abcdefghijklmnopq');
    assert.equal(accountNameBase('trailing.dots...........x@acme', 16), 'trailing.dots', 'no trailing dot');
    const long = accountNameBase('maximilian.alexander.vonhohenstein@acme.example', 20);
    assert.equal(long, 'maximilian.alexander');
    assert.equal(accountNameCandidate(long, 1, 20), 'maximilian.alexander');
    assert.equal(accountNameCandidate(long, 2, 20), 'maximilian.alexande2');
    assert.equal(accountNameCandidate(long, 12, 20), 'maximilian.alexand12');
    for (let n = 1; n < 60; n++) assert.ok(accountNameCandidate(long, n, 20).length <= 20);
  });

  it('unicodePwd is the quoted password in UTF-16LE; random passwords are long and use four character classes', () => {
    const attr = unicodePwd('Pa55word!');
    assert.equal(attr.type, 'unicodePwd');
    assert.deepEqual(
      attr.values[0],
      Buffer.from('"\u0000P\u0000a\u00005\u00005\u0000w\u0000o\u0000r\u0000d\u0000!\u0000"\u0000', 'latin1'),
    );
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pw = randomPassword();
      assert.equal(pw.length, 32);
      assert.ok(/[A-Z]/.test(pw) && /[a-z]/.test(pw) && /[0-9]/.test(pw) && /[^A-Za-z0-9]/.test(pw), pw);
      assert.ok(!pw.includes('"'), 'no quote: it would end the quoted value');
      seen.add(pw);
    }
    assert.equal(seen.size, 50);
  });

  it('RDN values are escaped (RFC 4514) and DNs split at the first unescaped comma', () => {
    assert.equal(escapeRdnValue('Lima, Ana'), 'Lima\\, Ana');
    assert.equal(escapeRdnValue('#1 "x" <y>;z=+\\'), '\\#1 \\"x\\" \\<y\\>\\;z\\=\\+\\\\');
    assert.equal(escapeRdnValue(' lead'), '\\ lead');
    assert.deepEqual(splitDn('cn=Lima\\, Ana,ou=Staff,dc=acme'), { rdn: 'cn=Lima\\, Ana', parent: 'ou=Staff,dc=acme' });
  });

  it('OU rules: the first rule whose named fields all match, case-insensitively; else the default', () => {
    const cfg = {
      defaultOu: 'ou=Staff',
      ouRules: [
        { department: 'Engineering', location: 'Lisbon', ou: 'ou=EngLisbon' },
        { department: 'Engineering', ou: 'ou=Eng' },
        { location: 'lisbon', ou: 'ou=Lisbon' },
      ],
    };
    assert.equal(ouFor(cfg, { department: 'engineering', location: 'Lisbon' }), 'ou=EngLisbon');
    assert.equal(ouFor(cfg, { department: 'Engineering', location: 'NYC' }), 'ou=Eng');
    assert.equal(ouFor(cfg, { department: 'Sales', location: 'LISBON' }), 'ou=Lisbon');
    assert.equal(ouFor(cfg, { department: 'Sales' }), 'ou=Staff');
    assert.equal(ouFor(cfg, {}), 'ou=Staff');
  });

  it("AD's error code is taken from the diagnostic message, never its text", () => {
    assert.equal(adErrorCode('0000052D: Constraint violation - check the password policy'), '0000052D');
    assert.equal(
      adErrorCode('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563'),
      '80090308/data 52e',
    );
    assert.equal(adErrorCode('no such user ana.lima@acme.example'), undefined);
  });

  it('result codes: busy is a rate limit, unavailable is transient, a broken admin limit and the rest stop', () => {
    assert.equal(classifyResultCode(51), 'rate_limited');
    assert.equal(classifyResultCode(11), 'invalid_request');
    assert.equal(classifyResultCode(52), 'transient');
    assert.equal(classifyResultCode(49), 'unauthorized');
    assert.equal(classifyResultCode(50), 'unauthorized');
    assert.equal(classifyResultCode(32), 'not_found');
    assert.equal(classifyResultCode(68), 'conflict');
    assert.equal(classifyResultCode(19), 'invalid_request');
    assert.equal(classifyResultCode(10), 'invalid_request', 'referrals are not chased');
  });

  it('config: URLs, DNs below baseDn, the password only by env-var name', () => {
    const parsed = ldapConnectorSchema.parse(base);
    assert.equal(parsed.dialect, 'ad');
    assert.equal(parsed.pageSize, 500);
    assert.deepEqual(parsed.accountName, { from: 'userName', maxLength: 20 });
    assert.deepEqual(ldapSecretVariables(parsed), ['AD_BIND_PASSWORD']);
    const refuse = (patch: Record<string, unknown>, path: string) => {
      const r = ldapConnectorSchema.safeParse({ ...base, ...patch });
      assert.ok(!r.success, JSON.stringify(patch));
      assert.ok(
        r.error.issues.some((i) => i.path.join('.').startsWith(path)),
        `${path}: ${JSON.stringify(r.error.issues)}`,
      );
    };
    refuse({ url: 'https://dc1.acme.example' }, 'url');
    refuse({ bindPasswordEnv: 'hunter2 is my password' }, 'bindPasswordEnv');
    refuse({ bindPassword: 'hunter2' }, '');
    refuse({ defaultOu: 'OU=Elsewhere,DC=acme,DC=example' }, 'defaultOu');
    refuse({ ouRules: [{ department: 'Eng', ou: 'OU=Eng,DC=other,DC=example' }] }, 'ouRules.0.ou');
    refuse({ ouRules: [{ ou: 'OU=Eng,OU=People,DC=acme,DC=example' }] }, 'ouRules.0');
    refuse({ startTls: true }, 'startTls');
    refuse({ pageSize: 5000 }, 'pageSize');
    refuse({ accountName: { maxLength: 21 } }, 'accountName.maxLength');
  });
});
