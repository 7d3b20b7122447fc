/**
 * Local stand-ins for the outside systems a policy names on this machine: a SCIM 2.0 server for every system whose
 * `baseUrl` is on 127.0.0.1 / localhost, the Slack Web API stand-in when `slack.apiUrl` is local, and the BambooHR
 * stand-in when `hris.baseUrl` is local. `npm start` starts them for its policy (whatever `TENURE_POLICY` names), and
 * says which systems it left to the real thing; the process-level tests start them the same way.
 */
import { ScimConnector } from '../activities/scim/client';
import type { Policy } from '../domain/policy';
import { apiConnector } from '../domain/connectors';
import type { BambooStandin } from './bamboohr-standin';
import { startBambooStandin } from './bamboohr-standin';
import type { ScimPeer } from './scim-peer';
import { startScimPeer } from './scim-peer';
import type { SlackStandIn } from './slack-standin';
import { startSlackStandIn } from './slack-standin';

/** The people of the local Slack workspace and identity provider: the demo hire's manager, an owner, on-call. */
export const DEMO_PEOPLE = {
  manager: {
    hrId: 'DEMO-MGR',
    slackId: 'UMARIA',
    email: 'maria.manager@acme.example',
    givenName: 'Maria',
    familyName: 'Manager',
  },
  owner: { slackId: 'USAM', email: 'sam.owner@acme.example', name: 'sam' },
  oncall: { slackId: 'UONCALL', email: 'it-oncall@acme.example', name: 'oncall' },
} as const;

export interface LocalPeers {
  scim: Map<string, ScimPeer>;
  slack?: SlackStandIn;
  bamboo?: BambooStandin;
  /** One line per system: started here, or left alone (not on this machine). */
  describe(): string[];
  close(): Promise<void>;
}

/** The port of a URL on this machine, or undefined when the URL points elsewhere. */
export function localPort(url: string): number | undefined {
  const u = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

export async function startLocalPeers(policy: Policy, vars: NodeJS.ProcessEnv): Promise<LocalPeers> {
  const scim = new Map<string, ScimPeer>();
  const lines: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const out: LocalPeers = {
    scim,
    describe: () => lines,
    async close() {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    },
  };
  try {
    for (const sys of policy.systems) {
      const c = apiConnector(sys.connector);
      if (!c) continue;
      if (c.type !== 'scim') {
        lines.push(`  ${sys.id.padEnd(18)} ${c.type} connector  (no local stand-in started by npm start)`);
        continue;
      }
      const port = localPort(c.baseUrl);
      if (port === undefined) {
        lines.push(`  ${sys.id.padEnd(18)} ${c.baseUrl}  (not on this machine: no stand-in)`);
        continue;
      }
      const peer = await startScimPeer({
        name: sys.id,
        port,
        ...(c.tokenEnv && vars[c.tokenEnv] ? { token: vars[c.tokenEnv] } : {}),
      });
      closers.push(() => peer.close());
      scim.set(sys.id, peer);
      lines.push(`  SCIM ${sys.id.padEnd(13)} ${peer.url}  (local stand-in)`);
    }
    const slackPort = policy.slack?.apiUrl ? localPort(policy.slack.apiUrl) : undefined;
    if (policy.slack && slackPort !== undefined) {
      const token = vars[policy.slack.tokenEnv];
      if (!token) throw new Error(`slack: environment variable ${policy.slack.tokenEnv} is not set`);
      const m = DEMO_PEOPLE.manager;
      out.slack = await startSlackStandIn({
        port: slackPort,
        token,
        users: [
          { id: m.slackId, email: m.email, name: m.givenName.toLowerCase() },
          { id: DEMO_PEOPLE.owner.slackId, email: DEMO_PEOPLE.owner.email, name: DEMO_PEOPLE.owner.name },
          { id: DEMO_PEOPLE.oncall.slackId, email: DEMO_PEOPLE.oncall.email, name: DEMO_PEOPLE.oncall.name },
        ],
      });
      const slack = out.slack;
      closers.push(() => slack.close());
      lines.push(`  Slack Web API      ${slack.url}  (local stand-in)`);
    }
    const hrisPort = policy.hris ? localPort(policy.hris.baseUrl) : undefined;
    if (policy.hris && hrisPort !== undefined) {
      const key = vars[policy.hris.apiKeyEnv];
      if (!key) throw new Error(`hris: environment variable ${policy.hris.apiKeyEnv} is not set`);
      const company = /\/gateway\.php\/([^/]+)\//.exec(policy.hris.baseUrl)?.[1] ?? 'acme';
      out.bamboo = await startBambooStandin({ apiKeys: [key], port: hrisPort, companyDomain: company });
      const bamboo = out.bamboo;
      closers.push(() => bamboo.close());
      lines.push(`  BambooHR           ${bamboo.url}  (local stand-in)`);
    }
    return out;
  } catch (err) {
    await out.close();
    throw err;
  }
}

/** The demo manager's account in the identity provider (approvals and welcomes find managers there). */
export async function seedDemoManager(idpBaseUrl: string, token?: string): Promise<void> {
  const m = DEMO_PEOPLE.manager;
  await new ScimConnector({ systemId: 'idp', baseUrl: idpBaseUrl, ...(token ? { token } : {}) }).ensureAccount({
    hrId: m.hrId,
    userName: m.email,
    givenName: m.givenName,
    familyName: m.familyName,
    email: m.email,
    active: true,
  });
}
