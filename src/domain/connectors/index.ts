import type { ConnectorConfig } from '../policy';
import { googleSecretVariables } from './google';
import { graphSecretVariables } from './graph';
import { ldapSecretVariables } from './ldap';
import { oktaSecretVariables } from './okta';

/** A connector that reaches a system through its API (everything but `manual`). */
export type ApiConnectorConfig = Exclude<ConnectorConfig, { type: 'manual' }>;

/** The API connector a system is reached through: its own, or a manual system's read connector. */
export function apiConnector(c: ConnectorConfig): ApiConnectorConfig | undefined {
  return c.type === 'manual' ? c.read : c;
}

/** The names of every environment variable a connector reads a secret from. */
export function connectorSecretVariables(c: ApiConnectorConfig): string[] {
  switch (c.type) {
    case 'scim':
      return [...(c.tokenEnv ? [c.tokenEnv] : []), ...(c.sessions?.tokenEnv ? [c.sessions.tokenEnv] : [])];
    case 'ldap':
      return ldapSecretVariables(c);
    case 'graph':
      return graphSecretVariables(c);
    case 'google':
      return googleSecretVariables(c);
    case 'okta':
      return oktaSecretVariables(c);
  }
}
