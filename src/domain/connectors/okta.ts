import { z } from 'zod';

/** Settings of the native Okta connector (docs/connectors.md). Placeholder: the connector's author fills it in. */
export const oktaConnectorSchema = z.object({ type: z.literal('okta') }).strict();
export type OktaConnectorConfig = z.infer<typeof oktaConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function oktaSecretVariables(_config: OktaConnectorConfig): string[] {
  return [];
}
