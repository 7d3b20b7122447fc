import { z } from 'zod';

/** Settings of the native Ldap connector (docs/connectors.md). Placeholder: the connector's author fills it in. */
export const ldapConnectorSchema = z.object({ type: z.literal('ldap') }).strict();
export type LdapConnectorConfig = z.infer<typeof ldapConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function ldapSecretVariables(_config: LdapConnectorConfig): string[] {
  return [];
}
