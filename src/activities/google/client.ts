import type { GoogleConnectorConfig } from '../../domain/connectors/google';
import type { IdentityConnector } from '../identity';

/** The native Google connector. Placeholder until it is written. */
export function createGoogleConnector(
  systemId: string,
  _config: GoogleConnectorConfig,
  _env: NodeJS.ProcessEnv,
): IdentityConnector {
  throw new Error(`system "${systemId}": the google connector is not built yet`);
}
