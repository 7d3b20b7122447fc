import { z } from 'zod';
import { envVarName } from '../env-var-name';

/**
 * Settings of the native LDAP / Active Directory connector (docs/connectors/ldap.md). The policy holds URLs, DNs
 * and the NAME of the environment variable with the bind password; the password itself is read from the
 * environment when the connector is built.
 */

/** A DN as the policy writes it: `OU=Engineering,OU=People,DC=acme,DC=example` (compared case-insensitively). */
const dn = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9-]*=[^,]+(,\s*[A-Za-z][A-Za-z0-9-]*=[^,]+)*$/, {
    message: 'must be a distinguished name such as "OU=People,DC=acme,DC=example"',
  });

/** Lower-cased, with no spaces around the separators: enough to compare the DNs a policy writes. */
export function normalizeDn(value: string): string {
  return value
    .split(',')
    .map((rdn) => {
      const [type = '', ...rest] = rdn.split('=');
      return `${type.trim().toLowerCase()}=${rest.join('=').trim().toLowerCase()}`;
    })
    .join(',');
}

/** True when `child` is `parent` or lies below it. */
export function dnWithin(child: string, parent: string): boolean {
  const c = normalizeDn(child);
  const p = normalizeDn(parent);
  return c === p || c.endsWith(`,${p}`);
}

/** One OU rule: the first rule whose every given field matches the person (case-insensitively) decides the OU. */
const ouRuleSchema = z
  .object({
    department: z.string().min(1).optional(),
    location: z.string().min(1).optional(),
    /** The OU's DN; it must lie below `baseDn`. */
    ou: dn,
  })
  .strict()
  .refine((r) => r.department !== undefined || r.location !== undefined, {
    message: 'an OU rule names a department, a location or both',
  });

export const ldapConnectorSchema = z
  .object({
    type: z.literal('ldap'),
    /** `ldap://host:389` or `ldaps://host:636`. */
    url: z
      .string()
      .trim()
      .regex(/^ldaps?:\/\/[^/\s]+\/?$/, { message: 'must be ldap://host[:port] or ldaps://host[:port]' }),
    /** Upgrade an `ldap://` connection with the StartTLS extended operation before binding. @default false */
    startTls: z.boolean().default(false),
    /** PEM file of the CA that signed the directory's certificate (LDAPS / StartTLS); default: Node's CA store. */
    tlsCaPath: z.string().min(1).optional(),
    /** The service account Tenure binds as, e.g. `CN=svc-tenure,OU=Service,DC=acme,DC=example`. */
    bindDn: dn,
    /** Environment variable holding the service account's password. */
    bindPasswordEnv: envVarName,
    /** Where people's accounts live; every lookup searches this subtree. */
    baseDn: dn,
    /** Where the groups the policy names live (by `cn`); a group may also be named by its full DN. */
    groupBaseDn: dn,
    /**
     * `ad`: Active Directory (`user` objects, `userAccountControl`, `employeeID`, `sAMAccountName`,
     * `userPrincipalName`, `department`). `inetorgperson`: a plain directory (`inetOrgPerson`, `employeeNumber`,
     * `uid`, `departmentNumber`; disabled = the ppolicy overlay's `pwdAccountLockedTime`, groups `groupOfNames`).
     * @default "ad"
     */
    dialect: z.enum(['ad', 'inetorgperson']).default('ad'),
    /**
     * The attribute whose value is the account id Tenure records: stable across moves, unlike the DN.
     * @default "objectGUID" for `ad`, "entryUUID" for `inetorgperson`
     */
    idAttribute: z.enum(['objectGUID', 'entryUUID']).optional(),
    /** OU per department/location; the first matching rule wins. */
    ouRules: z.array(ouRuleSchema).default([]),
    /** The OU for people no rule matches. */
    defaultOu: dn,
    /** Entries per page asked for with the paged-results control (AD's MaxPageSize is 1000). @default 500 */
    pageSize: z.number().int().positive().max(1000).default(500),
    /** Whole-operation timeout (connect, bind and each request) in milliseconds. @default 10000 */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /**
     * How the login attribute (`sAMAccountName` in AD, `uid` otherwise) is derived: from the local part of the
     * userName (`ana.lima@acme.example` → `ana.lima`) or from the HR id; cut to `maxLength` (AD allows 20) and, when
     * another account holds it, ended with 2, 3, … within the same length.
     */
    accountName: z
      .object({
        from: z.enum(['userName', 'hrId']).default('userName'),
        maxLength: z.number().int().min(4).max(20).default(20),
      })
      .strict()
      .default({ from: 'userName', maxLength: 20 }),
    /**
     * `random` (AD only): a new account gets a random 32-character password nobody is told (`unicodePwd`, written as
     * the quoted UTF-16LE string AD requires, over LDAPS or StartTLS only) and `pwdLastSet: 0`, so AD's password
     * policy lets it be enabled at the hire instant; the person sets their own through the organisation's
     * onboarding (a helpdesk reset, self-service password reset or a temporary access pass). `none`: no password is
     * written; where the domain's policy requires one, enabling fails with AD's 0000052D (docs/connectors/ldap.md).
     * @default "none"
     */
    initialPassword: z.enum(['none', 'random']).default('none'),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [i, rule] of c.ouRules.entries()) {
      if (!dnWithin(rule.ou, c.baseDn))
        ctx.addIssue({ code: 'custom', path: ['ouRules', i, 'ou'], message: 'must lie below baseDn' });
    }
    if (!dnWithin(c.defaultOu, c.baseDn))
      ctx.addIssue({ code: 'custom', path: ['defaultOu'], message: 'must lie below baseDn' });
    if (c.initialPassword === 'random' && !c.url.startsWith('ldaps:') && !c.startTls)
      ctx.addIssue({
        code: 'custom',
        path: ['initialPassword'],
        message: 'AD accepts passwords over an encrypted connection only: use ldaps:// or startTls',
      });
    if (c.initialPassword === 'random' && c.dialect !== 'ad')
      ctx.addIssue({ code: 'custom', path: ['initialPassword'], message: 'only in the ad dialect' });
    if (c.startTls && c.url.startsWith('ldaps:'))
      ctx.addIssue({
        code: 'custom',
        path: ['startTls'],
        message: 'StartTLS is for ldap:// URLs; ldaps:// is TLS already',
      });
  });
export type LdapConnectorConfig = z.infer<typeof ldapConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function ldapSecretVariables(config: LdapConnectorConfig): string[] {
  return [config.bindPasswordEnv];
}
