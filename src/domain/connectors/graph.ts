import { z } from 'zod';

/** Settings of the native Graph connector (docs/connectors.md). Placeholder: the connector's author fills it in. */
export const graphConnectorSchema = z.object({ type: z.literal('graph') }).strict();
export type GraphConnectorConfig = z.infer<typeof graphConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function graphSecretVariables(_config: GraphConnectorConfig): string[] {
  return [];
}
