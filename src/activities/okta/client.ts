import type { OktaConnectorConfig } from '../../domain/connectors/okta';
import type { IdentityConnector } from '../identity';

/** The native Okta connector. Placeholder until it is written. */
export function createOktaConnector(
  systemId: string,
  _config: OktaConnectorConfig,
  _env: NodeJS.ProcessEnv,
): IdentityConnector {
  throw new Error(`system "${systemId}": the okta connector is not built yet`);
}
