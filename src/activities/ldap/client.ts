import type { LdapConnectorConfig } from '../../domain/connectors/ldap';
import type { IdentityConnector } from '../identity';

/** The native Ldap connector. Placeholder until it is written. */
export function createLdapConnector(
  systemId: string,
  _config: LdapConnectorConfig,
  _env: NodeJS.ProcessEnv,
): IdentityConnector {
  throw new Error(`system "${systemId}": the ldap connector is not built yet`);
}
