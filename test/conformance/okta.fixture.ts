import { randomBytes } from 'node:crypto';
import { buildConnectors } from '../../src/activities/connectors';
import type { IdentityConnector } from '../../src/activities/identity';
import type { Policy } from '../../src/domain/policy';
import { policySchema } from '../../src/domain/policy';
import type { OktaStandin } from '../peers/okta-standin';
import { startOktaStandin } from '../peers/okta-standin';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget } from './types';

const PAGE_SIZE = 7;
const TIMEOUT_MS = 800;

/** The okta connector as the worker builds it from a one-system policy. */
function oktaConnector(orgUrl: string, env: NodeJS.ProcessEnv): IdentityConnector {
  const policy: Policy = policySchema.parse({
    systems: [
      {
        id: 'okta',
        name: 'Okta',
        kind: 'identity-provider',
        connector: {
          type: 'okta',
          orgUrl,
          auth: { type: 'ssws', tokenEnv: 'CONF_OKTA_TOKEN' },
          timeoutMs: TIMEOUT_MS,
        },
      },
    ],
    birthright: [{ name: 'everyone', systems: ['okta'] }],
  });
  const c = buildConnectors(policy, env).get('okta');
  if (!c) throw new Error('no connector built for okta');
  return c;
}

function oktaFault(standin: OktaStandin, kind: ConformanceFault): void {
  const match = { method: 'POST', path: '/api/v1/users', exact: true };
  if (kind === 'timeout_after_write') standin.faults.delayResponse(1, TIMEOUT_MS * 3, match);
  else if (kind === 'rate_limited') standin.faults.next(1, { ...match, status: 429, resetInSeconds: 1 });
  else standin.faults.next(1, { ...match, status: 500 });
}

/** Okta's Management API (the local stand-in, SSWS token), as the worker builds the connector. */
export const oktaTarget: ConformanceFactory = async (): Promise<ConformanceTarget> => {
  const token = `00${randomBytes(20).toString('base64url')}`;
  const standin = await startOktaStandin({ apiTokens: [token], maxLimit: PAGE_SIZE });
  standin.createGroup('conf-engineering');
  standin.createGroup('conf-everyone');
  const connector = oktaConnector(standin.url, { CONF_OKTA_TOKEN: token });
  return {
    name: 'okta',
    connector,
    groups: ['conf-engineering', 'conf-everyone'],
    sessions: 'revoked',
    afterDelete: 'gone',
    writes: true,
    pageSize: PAGE_SIZE,
    seed: (a) =>
      Promise.resolve(
        standin.seedUser({
          profile: {
            login: a.userName,
            email: a.userName,
            firstName: a.givenName,
            lastName: a.familyName,
            ...(a.hrId ? { employeeNumber: a.hrId } : {}),
          },
          status: a.active ? 'ACTIVE' : 'STAGED',
          password: a.active,
        }),
      ),
    count: ({ hrId, userName }) =>
      Promise.resolve(
        standin
          .users()
          .filter(
            (u) =>
              (hrId ? u.profile.employeeNumber === hrId : true) &&
              (userName ? (u.profile.login ?? '').toLowerCase() === userName.toLowerCase() : true),
          ).length,
      ),
    fault: (kind) => Promise.resolve(oktaFault(standin, kind)),
    stop: () => standin.close(),
  };
};
