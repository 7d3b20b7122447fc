import { EqualityFilter, AndFilter, type Filter } from 'ldapts';
import { buildConnectors } from '../../src/activities/connectors';
import type { IdentityConnector } from '../../src/activities/identity';
import type { Policy } from '../../src/domain/policy';
import { policySchema } from '../../src/domain/policy';
import { startLdapFaultProxy, type LdapFaultProxy } from '../peers/ldap-fault-proxy';
import { startSlapd, type Slapd, type SlapdMode } from '../peers/slapd';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget, SeedAccount } from './types';

const PAGE_SIZE = 7;
const TIMEOUT_MS = 1_500;

/** The policy's `connector` block for a slapd (through `url`, e.g. the fault proxy). */
export function ldapConnectorConfig(slapd: Slapd, url: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'ldap',
    url,
    bindDn: slapd.serviceDn,
    bindPasswordEnv: 'CONF_LDAP_BIND_PASSWORD',
    baseDn: slapd.peopleDn,
    groupBaseDn: slapd.groupsDn,
    dialect: slapd.mode,
    // slapd has no objectGUID; entryUUID is its stable id (real AD: objectGUID, the default).
    idAttribute: 'entryUUID',
    ouRules: [
      { department: 'Engineering', ou: slapd.ouDn('Engineering') },
      { department: 'Sales', ou: slapd.ouDn('Sales') },
      { location: 'Lisbon', ou: slapd.ouDn('Lisbon') },
    ],
    defaultOu: slapd.ouDn('Staff'),
    pageSize: PAGE_SIZE,
    timeoutMs: TIMEOUT_MS,
    ...extra,
  };
}

/** A one-system policy around the connector config: the connector is built the way the worker builds it. */
function connectorFor(systemId: string, connector: Record<string, unknown>, env: NodeJS.ProcessEnv): IdentityConnector {
  const policy: Policy = policySchema.parse({
    systems: [{ id: systemId, name: systemId, kind: 'identity-provider', connector }],
    birthright: [{ name: 'everyone', systems: [systemId] }],
  });
  const c = buildConnectors(policy, env).get(systemId);
  if (!c) throw new Error(`no connector built for ${systemId}`);
  return c;
}

/** Puts a person into slapd as an administrator (or another tool) would; returns its entryUUID. */
export async function seedLdap(slapd: Slapd, a: SeedAccount, ou = 'Staff'): Promise<string> {
  const local = a.userName.split('@')[0] ?? a.userName;
  const cn = `${a.givenName} ${a.familyName}`;
  const attrs: Record<string, string | string[]> =
    slapd.mode === 'ad'
      ? {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          cn,
          sn: a.familyName,
          givenName: a.givenName,
          sAMAccountName: local.slice(0, 20),
          userPrincipalName: a.userName,
          mail: a.userName,
          userAccountControl: String(a.active ? 0x200 : 0x202),
          ...(a.hrId ? { employeeID: a.hrId } : {}),
        }
      : {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          cn,
          sn: a.familyName,
          givenName: a.givenName,
          uid: local,
          mail: a.userName,
          ...(a.active ? {} : { pwdAccountLockedTime: '000001010000Z' }),
          ...(a.hrId ? { employeeNumber: a.hrId } : {}),
        };
  const dn = slapd.mode === 'ad' ? `cn=${cn},${slapd.ouDn(ou)}` : `uid=${local},${slapd.ouDn(ou)}`;
  return slapd.admin(async (c) => {
    await c.add(dn, attrs);
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return String(searchEntries[0]?.entryUUID ?? '');
  });
}

/** Ground truth: how many people match, read by the administrator. */
export async function countLdap(slapd: Slapd, match: { hrId?: string; userName?: string }): Promise<number> {
  const filters: Filter[] = [
    new EqualityFilter({ attribute: 'objectClass', value: slapd.mode === 'ad' ? 'user' : 'inetOrgPerson' }),
  ];
  if (match.hrId)
    filters.push(
      new EqualityFilter({ attribute: slapd.mode === 'ad' ? 'employeeID' : 'employeeNumber', value: match.hrId }),
    );
  if (match.userName)
    filters.push(
      new EqualityFilter({ attribute: slapd.mode === 'ad' ? 'userPrincipalName' : 'mail', value: match.userName }),
    );
  return slapd.admin(
    async (c) =>
      (await c.search(slapd.peopleDn, { scope: 'sub', filter: new AndFilter({ filters }), attributes: ['1.1'] }))
        .searchEntries.length,
  );
}

/**
 * LDAP has no 429: `rate_limited` is the directory answering busy (51), which AD and slapd send when they shed
 * load; `server_error` is unavailable (52); `timeout_after_write` lets slapd write and holds its answer.
 */
export function ldapFault(proxy: LdapFaultProxy, kind: ConformanceFault): void {
  if (kind === 'timeout_after_write') proxy.next({ kind: 'delay', op: 'add', ms: TIMEOUT_MS * 3 });
  else if (kind === 'rate_limited')
    proxy.next({
      kind: 'answer',
      op: 'add',
      resultCode: 51,
      diagnostic: 'server busy',
    });
  else proxy.next({ kind: 'answer', op: 'add', resultCode: 52, diagnostic: '' });
}

function ldapFactory(mode: SlapdMode): ConformanceFactory {
  return async (): Promise<ConformanceTarget> => {
    const slapd = await startSlapd({ mode, pageSize: PAGE_SIZE, groups: ['conf-engineering', 'conf-everyone'] });
    let proxy: LdapFaultProxy | undefined;
    try {
      proxy = await startLdapFaultProxy(slapd.url);
      const connector = connectorFor('ldap-idp', ldapConnectorConfig(slapd, proxy.url), {
        CONF_LDAP_BIND_PASSWORD: slapd.servicePassword,
      });
      const p = proxy;
      return {
        name: mode === 'ad' ? 'ldap (slapd, AD schema)' : 'ldap (slapd, inetOrgPerson + ppolicy)',
        connector,
        groups: ['conf-engineering', 'conf-everyone'],
        sessions: 'not_supported',
        afterDelete: 'gone',
        writes: true,
        ...(mode === 'ad' ? { createActiveOff: true as const } : {}),
        pageSize: PAGE_SIZE,
        seed: (a) => seedLdap(slapd, a),
        count: (match) => countLdap(slapd, match),
        fault: (kind) => Promise.resolve(ldapFault(p, kind)),
        stop: async () => {
          await p.close();
          await slapd.stop();
        },
      };
    } catch (err) {
      await proxy?.close();
      await slapd.stop();
      throw err;
    }
  };
}

/** A real OpenLDAP slapd with Active Directory's attributes, behind a fault proxy; the worker builds the connector. */
export const ldapTarget: ConformanceFactory | undefined = ldapFactory('ad');

/** The same against a plain inetOrgPerson directory, disabled = the ppolicy lock. */
export const ldapInetOrgPersonTarget: ConformanceFactory = ldapFactory('inetorgperson');
