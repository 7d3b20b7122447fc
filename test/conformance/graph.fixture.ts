import { buildConnectors } from '../../src/activities/connectors';
import type { Policy } from '../../src/domain/policy';
import { policySchema } from '../../src/domain/policy';
import type { GraphStandin } from '../peers/graph-standin';
import { startGraphStandin } from '../peers/graph-standin';
import type { ConformanceFactory, ConformanceFault, ConformanceTarget } from './types';

const PAGE_SIZE = 7;
const TIMEOUT_MS = 800;
const CREATE = { method: 'POST', path: /^\/v1\.0\/users$/ };

function graphFault(standin: GraphStandin, kind: ConformanceFault): void {
  if (kind === 'timeout_after_write') standin.faults.delayResponse(1, TIMEOUT_MS * 3, CREATE);
  else if (kind === 'rate_limited') standin.faults.next(1, { ...CREATE, status: 429, retryAfter: 1 });
  else standin.faults.next(1, { ...CREATE, status: 503 });
}

/** Microsoft Entra ID over Graph (the stand-in in test/peers), its connector built the way the worker builds it. */
export const graphTarget: ConformanceFactory = async (): Promise<ConformanceTarget> => {
  const standin = await startGraphStandin({ defaultPageSize: 100 });
  standin.createGroup('conf-engineering');
  standin.createGroup('conf-everyone');
  const policy: Policy = policySchema.parse({
    systems: [
      {
        id: 'entra',
        name: 'Entra ID',
        kind: 'identity-provider',
        connector: {
          type: 'graph',
          tenantId: standin.tenantId,
          clientId: standin.clientId,
          clientSecretEnv: 'CONF_GRAPH_SECRET',
          authorityUrl: standin.url,
          graphUrl: standin.url,
          timeoutMs: TIMEOUT_MS,
          pageSize: PAGE_SIZE,
        },
      },
    ],
    birthright: [{ name: 'everyone', systems: ['entra'] }],
  });
  const connector = buildConnectors(policy, { CONF_GRAPH_SECRET: standin.clientSecret }).get('entra');
  if (!connector) throw new Error('no connector built for entra');
  return {
    name: 'graph',
    connector,
    groups: ['conf-engineering', 'conf-everyone'],
    licence: 'ENTERPRISEPACK',
    sessions: 'revoked',
    afterDelete: 'gone',
    writes: true,
    pageSize: PAGE_SIZE,
    seed: (a) =>
      Promise.resolve(
        standin.seedUser({
          userPrincipalName: a.userName,
          displayName: `${a.givenName} ${a.familyName}`,
          givenName: a.givenName,
          surname: a.familyName,
          mail: a.userName,
          accountEnabled: a.active,
          employeeId: a.hrId ?? null,
        }),
      ),
    count: ({ hrId, userName }) =>
      Promise.resolve(
        standin
          .users()
          .filter(
            (u) =>
              (hrId ? u.employeeId === hrId : true) &&
              (userName ? u.userPrincipalName.toLowerCase() === userName.toLowerCase() : true),
          ).length,
      ),
    fault: (kind) => Promise.resolve(graphFault(standin, kind)),
    stop: () => standin.close(),
  };
};
