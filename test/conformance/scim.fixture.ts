import { buildConnectors } from '../../src/activities/connectors';
import type { IdentityConnector } from '../../src/activities/identity';
import type { Policy } from '../../src/domain/policy';
import { policySchema } from '../../src/domain/policy';
import type { ScimPeer } from '../../src/dev/scim-peer';
import { startScimPeer } from '../../src/dev/scim-peer';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget, SeedAccount } from './types';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PAGE_SIZE = 7;
const TIMEOUT_MS = 800;

/** A one-system policy around a connector config: the connector is built the way the worker builds it. */
function connectorFor(systemId: string, connector: Record<string, unknown>, env: NodeJS.ProcessEnv): IdentityConnector {
  const idp =
    connector.type === 'manual'
      ? [{ id: 'conf-idp', name: 'IdP', kind: 'identity-provider', connector: connector.read }]
      : [];
  const policy: Policy = policySchema.parse({
    systems: [
      ...idp,
      {
        id: systemId,
        name: systemId,
        kind: idp.length ? 'app' : 'identity-provider',
        connector,
        ...(idp.length ? { owner: 'it' } : {}),
      },
    ],
    birthright: [{ name: 'everyone', systems: [systemId] }],
    ...(idp.length
      ? { people: { teams: { it: ['it.owner@acme.example'] }, fallbackApprovers: ['it.lead@acme.example'] } }
      : {}),
  });
  const c = buildConnectors(policy, env).get(systemId);
  if (!c) throw new Error(`no connector built for ${systemId}`);
  return c;
}

async function seedScim(peer: ScimPeer, token: string, a: SeedAccount): Promise<string> {
  const res = await fetch(`${peer.url}/Users`, {
    method: 'POST',
    headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      schemas: [USER_SCHEMA],
      userName: a.userName,
      ...(a.hrId ? { externalId: a.hrId } : {}),
      name: { givenName: a.givenName, familyName: a.familyName },
      emails: [{ value: a.userName, primary: true, type: 'work' }],
      active: a.active,
    }),
  });
  if (res.status !== 201) throw new Error(`seeding the SCIM peer answered ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

function scimFault(peer: ScimPeer, kind: ConformanceFault): void {
  const match = { method: 'POST', path: '/Users' };
  if (kind === 'timeout_after_write') peer.faults.delayResponse(1, TIMEOUT_MS * 3, match);
  else if (kind === 'rate_limited') peer.faults.next(1, { ...match, status: 429, retryAfter: 1 });
  else peer.faults.next(1, { ...match, status: 503 });
}

/** A SCIM 2.0 system (the SCIMMY-based stand-in, generic dialect), as the worker builds its connector. */
export const scimTarget: ConformanceFactory = async (): Promise<ConformanceTarget> => {
  const token = `conf-${Math.random().toString(36).slice(2)}`;
  const peer = await startScimPeer({ name: 'conformance-scim', token, maxPageSize: PAGE_SIZE });
  peer.createGroup('conf-engineering');
  peer.createGroup('conf-everyone');
  const connector = connectorFor(
    'scim-app',
    { type: 'scim', baseUrl: peer.url, tokenEnv: 'CONF_SCIM_TOKEN', timeoutMs: TIMEOUT_MS },
    { CONF_SCIM_TOKEN: token },
  );
  return {
    name: 'scim',
    connector,
    groups: ['conf-engineering', 'conf-everyone'],
    sessions: 'not_supported',
    afterDelete: 'gone',
    writes: true,
    pageSize: PAGE_SIZE,
    seed: (a) => seedScim(peer, token, a),
    count: ({ hrId, userName }) =>
      Promise.resolve(
        peer.users().filter((u) => (hrId ? u.externalId === hrId : true) && (userName ? u.userName === userName : true))
          .length,
      ),
    fault: (kind) => Promise.resolve(scimFault(peer, kind)),
    stop: () => peer.close(),
  };
};

/**
 * A manual system (no API: its owner does the work as a task) with a SCIM read connector, which Tenure uses only to
 * verify completed tasks: the reads must conform; writes are the owner's.
 */
export const manualTarget: ConformanceFactory = async (): Promise<ConformanceTarget> => {
  const token = `conf-${Math.random().toString(36).slice(2)}`;
  const peer = await startScimPeer({ name: 'conformance-manual', token, maxPageSize: PAGE_SIZE });
  const connector = connectorFor(
    'manual-app',
    {
      type: 'manual',
      instructions: 'Create the account in the admin console.',
      read: { type: 'scim', baseUrl: peer.url, tokenEnv: 'CONF_MANUAL_TOKEN', timeoutMs: TIMEOUT_MS },
    },
    { CONF_MANUAL_TOKEN: token },
  );
  return {
    name: 'manual (read connector)',
    connector,
    groups: [],
    sessions: 'not_supported',
    afterDelete: 'gone',
    writes: false,
    pageSize: PAGE_SIZE,
    seed: (a) => seedScim(peer, token, a),
    count: ({ hrId, userName }) =>
      Promise.resolve(
        peer.users().filter((u) => (hrId ? u.externalId === hrId : true) && (userName ? u.userName === userName : true))
          .length,
      ),
    fault: (kind) => Promise.resolve(scimFault(peer, kind)),
    stop: () => peer.close(),
  };
};
