/**
 * A throwaway OpenLDAP `slapd` (Debian's package) for tests: a temp directory, a slapd.conf written at runtime, the
 * mdb backend, a free port on 127.0.0.1, and — on request — LDAPS/StartTLS with a CA and server certificate made
 * with `openssl` for the occasion.
 *
 * Two modes:
 * - `ad`: core + cosine + inetorgperson + test/peers/ad-schema.schema (Active Directory's `user`/`group` classes and
 *   the attributes Tenure uses: sAMAccountName, userPrincipalName, employeeID, userAccountControl, department).
 * - `inetorgperson`: a plain directory (inetOrgPerson people, groupOfNames groups) with the ppolicy overlay, whose
 *   `pwdAccountLockedTime` lock makes slapd refuse a person's binds.
 *
 * Both modes load the refint overlay for `member` and `manager`, as AD's linked attributes behave: when an account
 * moves OU, the groups and reports that name its DN follow.
 *
 * Tenure binds as a service account (not the rootdn) whose limits are those of a real directory: at most `pageSize`
 * entries per search unless the paged-results control is used, and at most `pageSize` per page.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, type Entry, type Filter } from 'ldapts';

const run = promisify(execFile);
const SLAPD = process.env.SLAPD_BIN ?? '/usr/sbin/slapd';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export type SlapdMode = 'ad' | 'inetorgperson';

export interface SlapdOptions {
  mode: SlapdMode;
  /** Also listen with ldaps:// and offer StartTLS, with a CA and certificate generated now. @default false */
  tls?: boolean;
  /** The service account's search size limit and page size limit. @default 7 */
  pageSize?: number;
  /** OUs made below `ou=People` (the people base). @default Staff, Engineering, Sales, Lisbon */
  ous?: string[];
  /** Groups made below `ou=Groups`. @default none */
  groups?: string[];
}

export interface Slapd {
  mode: SlapdMode;
  /** `ldap://127.0.0.1:<port>` */
  url: string;
  /** `ldaps://localhost:<port>` when `tls`. */
  ldapsUrl?: string;
  /** The CA certificate file (PEM) when `tls`. */
  caPath?: string;
  suffix: string;
  peopleDn: string;
  groupsDn: string;
  /** `ou=<name>,ou=People,…` */
  ouDn(name: string): string;
  groupDn(name: string): string;
  /** The service account Tenure binds as, with write access to people and groups. */
  serviceDn: string;
  servicePassword: string;
  rootDn: string;
  rootPassword: string;
  /** Runs `fn` with a client bound as the rootdn (an administrator, not Tenure). */
  admin<T>(fn: (client: Client) => Promise<T>): Promise<T>;
  /** Every entry below `base` matching `filter`, read as the rootdn (ground truth for assertions). */
  find(filter: string | Filter, base?: string, attributes?: string[]): Promise<Entry[]>;
  /** True when `dn` can bind with `password` (a person's own sign-in). */
  canBind(dn: string, password: string): Promise<boolean>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A CA and a server certificate for localhost/127.0.0.1, signed by it, made with openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = path.join(dir, 'ca.pem');
  const caKey = path.join(dir, 'ca.key');
  const key = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const cert = path.join(dir, 'server.pem');
  const ext = path.join(dir, 'server.ext');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=Tenure test CA',
  ]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  await writeFile(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { ca, cert, key };
}

const ROOT_PASSWORD = 'root-secret';

function slapdConf(o: {
  mode: SlapdMode;
  dir: string;
  suffix: string;
  rootDn: string;
  serviceDn: string;
  pageSize: number;
  tls?: { ca: string; cert: string; key: string };
}): string {
  const schemas = ['core', 'cosine', 'inetorgperson'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`);
  if (o.mode === 'ad') schemas.push(`include ${path.join(__dirname, 'ad-schema.schema')}`);
  const indexes =
    o.mode === 'ad'
      ? 'objectClass,cn,mail,member,entryUUID,employeeID,sAMAccountName,userPrincipalName'
      : 'objectClass,cn,mail,member,entryUUID,employeeNumber,uid';
  return [
    ...schemas,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    'moduleload refint',
    ...(o.mode === 'inetorgperson' ? ['moduleload ppolicy'] : []),
    `pidfile ${path.join(o.dir, 'slapd.pid')}`,
    `argsfile ${path.join(o.dir, 'slapd.args')}`,
    ...(o.tls
      ? [`TLSCACertificateFile ${o.tls.ca}`, `TLSCertificateFile ${o.tls.cert}`, `TLSCertificateKeyFile ${o.tls.key}`]
      : []),
    'database mdb',
    `suffix "${o.suffix}"`,
    `rootdn "${o.rootDn}"`,
    `rootpw ${ROOT_PASSWORD}`,
    `directory ${path.join(o.dir, 'db')}`,
    'maxsize 268435456',
    `index ${indexes} eq`,
    `limits dn.exact="${o.serviceDn}" size.soft=${o.pageSize} size.hard=${o.pageSize} size.pr=${o.pageSize} size.prtotal=unlimited`,
    'access to attrs=userPassword by self write by anonymous auth by * none',
    `access to * by dn.exact="${o.serviceDn}" write by self read by users read by * none`,
    // AD keeps member/manager DNs right when an entry moves (linked attributes); OpenLDAP needs refint for that.
    'overlay refint',
    'refint_attributes member manager',
    ...(o.mode === 'inetorgperson'
      ? ['overlay ppolicy', `ppolicy_default "cn=default,ou=Policies,${o.suffix}"`, 'ppolicy_use_lockout']
      : []),
    '',
  ].join('\n');
}

async function waitForBind(url: string, dn: string, password: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    const client = new Client({ url, timeout: 2_000, connectTimeout: 2_000 });
    try {
      await client.bind(dn, password);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`slapd did not answer: ${String(err)}: ${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

/** Starts a fresh slapd with the base entries, OUs, groups and the service account. */
export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const { mode } = options;
  const pageSize = options.pageSize ?? 7;
  const dir = await mkdtemp(path.join(tmpdir(), 'tenure-slapd-'));
  await mkdir(path.join(dir, 'db'));
  const suffix = 'dc=acme,dc=example';
  const rootDn = `cn=admin,${suffix}`;
  const serviceDn = `cn=tenure,ou=Service,${suffix}`;
  const servicePassword = `svc-${Math.random().toString(36).slice(2)}`;
  const tls = options.tls ? await makeCertificates(dir) : undefined;
  const conf = path.join(dir, 'slapd.conf');
  await writeFile(conf, slapdConf({ mode, dir, suffix, rootDn, serviceDn, pageSize, ...(tls ? { tls } : {}) }));

  const port = await freePort();
  const ldapsPort = tls ? await freePort() : undefined;
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = ldapsPort ? `ldaps://localhost:${ldapsPort}` : undefined;
  const listen = [`${url}/`, ...(ldapsPort ? [`ldaps://127.0.0.1:${ldapsPort}/`] : [])].join(' ');
  const child = spawn(SLAPD, ['-f', conf, '-h', listen, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitForBind(url, rootDn, ROOT_PASSWORD, child, () => stderr);
    const admin = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
      const client = new Client({ url, timeout: 10_000, connectTimeout: 10_000 });
      try {
        await client.bind(rootDn, ROOT_PASSWORD);
        return await fn(client);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    };
    const peopleDn = `ou=People,${suffix}`;
    const groupsDn = `ou=Groups,${suffix}`;
    const ouDn = (name: string) => `ou=${name},${peopleDn}`;
    const groupDn = (name: string) => `cn=${name},${groupsDn}`;
    await admin(async (c) => {
      await c.add(suffix, { objectClass: ['top', 'dcObject', 'organization'], dc: 'acme', o: 'Acme' });
      for (const ou of ['People', 'Groups', 'Service', 'Policies'])
        await c.add(`ou=${ou},${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou });
      for (const ou of options.ous ?? ['Staff', 'Engineering', 'Sales', 'Lisbon'])
        await c.add(ouDn(ou), { objectClass: ['top', 'organizationalUnit'], ou });
      await c.add(serviceDn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        cn: 'tenure',
        sn: 'Service',
        userPassword: servicePassword,
      });
      for (const g of options.groups ?? []) {
        await c.add(
          groupDn(g),
          mode === 'ad'
            ? { objectClass: ['top', 'group'], cn: g, sAMAccountName: g.slice(0, 20), groupType: '-2147483646' }
            : // groupOfNames must have a member: the service account holds the place (docs/connectors/ldap.md).
              { objectClass: ['top', 'groupOfNames'], cn: g, member: serviceDn },
        );
      }
      if (mode === 'inetorgperson') {
        await c.add(`cn=default,ou=Policies,${suffix}`, {
          objectClass: ['top', 'device', 'pwdPolicy'],
          cn: 'default',
          pwdAttribute: 'userPassword',
          pwdLockout: 'TRUE',
        });
      }
    });

    return {
      mode,
      url,
      ...(ldapsUrl ? { ldapsUrl } : {}),
      ...(tls ? { caPath: tls.ca } : {}),
      suffix,
      peopleDn,
      groupsDn,
      ouDn,
      groupDn,
      serviceDn,
      servicePassword,
      rootDn,
      rootPassword: ROOT_PASSWORD,
      admin,
      find: (filter, base = peopleDn, attributes = ['*', '+']) =>
        admin(async (c) => (await c.search(base, { scope: 'sub', filter, attributes })).searchEntries),
      canBind: async (dn, password) => {
        const client = new Client({ url, timeout: 5_000, connectTimeout: 5_000 });
        try {
          await client.bind(dn, password);
          return true;
        } catch {
          return false;
        } finally {
          await client.unbind().catch(() => undefined);
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
