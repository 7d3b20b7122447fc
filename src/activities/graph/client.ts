import type { GraphConnectorConfig } from '../../domain/connectors/graph';
import type { IdentityConnector } from '../identity';

/** The native Graph connector. Placeholder until it is written. */
export function createGraphConnector(
  systemId: string,
  _config: GraphConnectorConfig,
  _env: NodeJS.ProcessEnv,
): IdentityConnector {
  throw new Error(`system "${systemId}": the graph connector is not built yet`);
}
