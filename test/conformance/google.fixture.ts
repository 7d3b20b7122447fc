import { buildConnectors } from '../../src/activities/connectors';
import type { Policy } from '../../src/domain/policy';
import { policySchema } from '../../src/domain/policy';
import type { GoogleStandin } from '../peers/google-standin';
import { startGoogleWorkspace } from '../peers/google-standin';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget } from './types';

const PAGE_SIZE = 7;
const TIMEOUT_MS = 800;
const USERS = '/admin/directory/v1/users';

function googleFault(standin: GoogleStandin, kind: ConformanceFault): void {
  if (kind === 'timeout_after_write') {
    standin.faults.delayAfterWrite({ method: 'POST', path: USERS, delayMs: TIMEOUT_MS * 3 });
  } else if (kind === 'rate_limited') {
    standin.faults.next({ method: 'POST', path: USERS, status: 429, retryAfter: 1 });
  } else {
    standin.faults.next({ method: 'POST', path: USERS, status: 503 });
  }
}

/**
 * Google Workspace over the Admin SDK (the stand-in in test/peers, which verifies the service account's signed JWT),
 * its connector built the way the worker builds it: from a policy, and the key from the environment variable it names.
 */
export const googleTarget: ConformanceFactory = async (): Promise<ConformanceTarget> => {
  const admin = 'it.admin@acme.example';
  const { standin: s, serviceAccountKey } = await startGoogleWorkspace({
    admins: [admin],
    domains: ['acme.example'],
    maxPageSize: PAGE_SIZE,
    orgUnits: ['/Engineering'],
  });
  s.createGroup('conf-engineering@acme.example', 'Conformance engineering');
  s.createGroup('conf-everyone@acme.example', 'Conformance everyone');
  const policy: Policy = policySchema.parse({
    systems: [
      {
        id: 'google',
        name: 'Google Workspace',
        kind: 'identity-provider',
        connector: {
          type: 'google',
          domain: 'acme.example',
          adminSubject: admin,
          serviceAccountKeyEnv: 'CONF_GOOGLE_KEY',
          directoryUrl: s.url,
          orgUnitRules: [{ department: 'Engineering', orgUnitPath: '/Engineering' }],
          timeoutMs: TIMEOUT_MS,
        },
      },
    ],
    birthright: [{ name: 'everyone', systems: ['google'] }],
  });
  const connector = buildConnectors(policy, { CONF_GOOGLE_KEY: serviceAccountKey }).get('google');
  if (!connector) throw new Error('no google connector built');
  return {
    name: 'google',
    connector,
    groups: ['conf-engineering@acme.example', 'conf-everyone@acme.example'],
    sessions: 'revoked',
    afterDelete: 'gone',
    writes: true,
    pageSize: PAGE_SIZE,
    seed: (a) =>
      Promise.resolve(
        s.seedUser({
          primaryEmail: a.userName,
          givenName: a.givenName,
          familyName: a.familyName,
          suspended: !a.active,
          ...(a.hrId ? { hrId: a.hrId } : {}),
        }).id,
      ),
    count: ({ hrId, userName }) =>
      Promise.resolve(
        s
          .users()
          .filter(
            (u) =>
              (hrId ? (u.externalIds ?? []).some((e) => e.type === 'organization' && e.value === hrId) : true) &&
              (userName ? u.primaryEmail.toLowerCase() === userName.toLowerCase() : true),
          ).length,
      ),
    fault: (kind) => Promise.resolve(googleFault(s, kind)),
    stop: () => s.close(),
  };
};
