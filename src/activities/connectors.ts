import type { Policy } from '../domain/policy';
import type { IdentityConnector } from './identity';
import { ScimConnector } from './scim/client';

/** One connector per system, built once at worker start. Tokens come from the environment by name. */
export function buildConnectors(policy: Policy, env: NodeJS.ProcessEnv = process.env): Map<string, IdentityConnector> {
  const out = new Map<string, IdentityConnector>();
  for (const sys of policy.systems) {
    const c = sys.connector;
    const token = c.tokenEnv ? env[c.tokenEnv] : undefined;
    if (c.tokenEnv && !token) {
      throw new Error(`system "${sys.id}": environment variable ${c.tokenEnv} (its SCIM token) is not set`);
    }
    out.set(sys.id, new ScimConnector({ systemId: sys.id, baseUrl: c.baseUrl, token, timeoutMs: c.timeoutMs }));
  }
  return out;
}
