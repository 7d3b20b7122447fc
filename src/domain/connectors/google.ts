import { z } from 'zod';

/** Settings of the native Google connector (docs/connectors.md). Placeholder: the connector's author fills it in. */
export const googleConnectorSchema = z.object({ type: z.literal('google') }).strict();
export type GoogleConnectorConfig = z.infer<typeof googleConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function googleSecretVariables(_config: GoogleConnectorConfig): string[] {
  return [];
}
