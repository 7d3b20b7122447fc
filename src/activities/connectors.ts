import type { WebClient } from '@slack/web-api';
import type { Policy } from '../domain/policy';
import type { HrisConnector } from './hris-connector';
import { createBambooHrisConnector } from './hris/bamboohr/client';
import type { ApiConnectorConfig } from '../domain/connectors';
import { apiConnector } from '../domain/connectors';
import { createGoogleConnector } from './google/client';
import { createGraphConnector } from './graph/client';
import type { IdentityConnector } from './identity';
import { createLdapConnector } from './ldap/client';
import { createOktaConnector } from './okta/client';
import { ScimConnector } from './scim/client';
import { createSlackClient } from './slack/notifier';

function secret(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new Error(`${what}: environment variable ${name} is not set`);
  return v;
}

/** One connector per system, built once at worker start. Tokens come from the environment by name. */
export function buildConnectors(policy: Policy, env: NodeJS.ProcessEnv = process.env): Map<string, IdentityConnector> {
  const out = new Map<string, IdentityConnector>();
  for (const sys of policy.systems) {
    // A manual system (no API) has a connector only to read it, for verifying completed tasks.
    const c = apiConnector(sys.connector);
    if (!c) continue;
    if (c.type !== 'scim') {
      out.set(sys.id, nativeConnector(sys.id, c, env));
      continue;
    }
    const token = c.tokenEnv ? secret(env, c.tokenEnv, `system "${sys.id}" (its SCIM token)`) : undefined;
    out.set(
      sys.id,
      new ScimConnector({
        systemId: sys.id,
        baseUrl: c.baseUrl,
        token,
        timeoutMs: c.timeoutMs,
        dialect: c.dialect,
        ...(c.patchStyle ? { patchStyle: c.patchStyle } : {}),
        ...(c.sessions
          ? {
              sessions: {
                api: c.sessions.api,
                baseUrl: c.sessions.baseUrl,
                // Its own token when named, else the SCIM token.
                token: c.sessions.tokenEnv
                  ? secret(env, c.sessions.tokenEnv, `system "${sys.id}" (its sessions API token)`)
                  : token,
              },
            }
          : {}),
      }),
    );
  }
  return out;
}

/** The connectors that speak a vendor's own API rather than SCIM. */
function nativeConnector(
  systemId: string,
  c: Exclude<ApiConnectorConfig, { type: 'scim' }>,
  env: NodeJS.ProcessEnv,
): IdentityConnector {
  switch (c.type) {
    case 'ldap':
      return createLdapConnector(systemId, c, env);
    case 'graph':
      return createGraphConnector(systemId, c, env);
    case 'google':
      return createGoogleConnector(systemId, c, env);
    case 'okta':
      return createOktaConnector(systemId, c, env);
  }
}

export interface Integrations {
  connectors: Map<string, IdentityConnector>;
  slack?: WebClient;
  hris?: HrisConnector;
}

/** Every outside system the policy names: identity connectors, Slack, the HRIS. */
export function buildIntegrations(
  policy: Policy,
  env: NodeJS.ProcessEnv = process.env,
  hrisFactory: (p: NonNullable<Policy['hris']>, apiKey: string) => HrisConnector = createBambooHrisConnector,
): Integrations {
  const out: Integrations = { connectors: buildConnectors(policy, env) };
  if (policy.slack) {
    out.slack = createSlackClient({ token: secret(env, policy.slack.tokenEnv, 'slack'), apiUrl: policy.slack.apiUrl });
  }
  if (policy.hris) {
    out.hris = hrisFactory(policy.hris, secret(env, policy.hris.apiKeyEnv, 'hris'));
  }
  return out;
}
