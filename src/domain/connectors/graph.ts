import { z } from 'zod';
import { envVarName } from '../env-var-name';

/** Microsoft's Entra ID sign-in service (the client-credentials token endpoint lives below it). */
export const GRAPH_AUTHORITY_URL = 'https://login.microsoftonline.com';
/** Microsoft Graph's API origin. */
export const GRAPH_API_URL = 'https://graph.microsoft.com';
/** The scope a client-credentials token for Microsoft Graph asks for: every application permission granted. */
export const GRAPH_DEFAULT_SCOPE = 'https://graph.microsoft.com/.default';

/**
 * Settings of the native Microsoft Graph connector (Entra ID users, Microsoft 365 licences; docs/connectors/graph.md).
 * The credential is never here: `clientSecretEnv` (or `certificate`) names the environment variables that hold it.
 */
export const graphConnectorSchema = z
  .object({
    type: z.literal('graph'),
    /** The Entra tenant: its id (a GUID) or a verified domain (`acme.onmicrosoft.com`). */
    tenantId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$/, { message: 'must be the tenant id (GUID) or a tenant domain' }),
    /** The application (client) id of Tenure's app registration. */
    clientId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { message: 'must be the application (client) id' }),
    /** Environment variable holding the app registration's client secret. One of this and `certificate`. */
    clientSecretEnv: envVarName.optional(),
    /**
     * Certificate credentials instead of a secret (Microsoft's recommendation): a signed client assertion
     * (`private_key_jwt`). Both are PEM texts read from the environment variables named here.
     */
    certificate: z
      .object({
        /** The certificate uploaded to the app registration (PEM); its SHA-256 thumbprint names the key. */
        certificateEnv: envVarName,
        /** Its RSA private key (PEM, PKCS#8 or PKCS#1, unencrypted). */
        privateKeyEnv: envVarName,
      })
      .strict()
      .optional(),
    /** Where tokens come from: `{authorityUrl}/{tenantId}/oauth2/v2.0/token`. @default "https://login.microsoftonline.com" */
    authorityUrl: z.url().default(GRAPH_AUTHORITY_URL),
    /** The Graph API origin (`/v1.0/...` is appended). @default "https://graph.microsoft.com" */
    graphUrl: z.url().default(GRAPH_API_URL),
    /** The token's scope; national clouds have their own (e.g. `https://graph.microsoft.us/.default`). @default "https://graph.microsoft.com/.default" */
    scope: z.string().min(1).default(GRAPH_DEFAULT_SCOPE),
    /** Whole-request timeout in milliseconds. @default 10000 */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /**
     * ISO 3166-1 alpha-2 country used as `usageLocation` when the HR record has none; a licence cannot be assigned
     * to a user without one. Absent: such an assignment stops as a visible exception.
     */
    usageLocationDefault: z
      .string()
      .regex(/^[A-Z]{2}$/, { message: 'must be a two-letter country code, e.g. "PT"' })
      .optional(),
    /** `$top` asked for when listing users (Graph allows 1-999). @default 100 */
    pageSize: z.number().int().min(1).max(999).default(100),
  })
  .strict()
  .refine((c) => (c.clientSecretEnv === undefined) !== (c.certificate === undefined), {
    message: 'needs exactly one credential: clientSecretEnv or certificate',
    path: ['clientSecretEnv'],
  });
export type GraphConnectorConfig = z.infer<typeof graphConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function graphSecretVariables(config: GraphConnectorConfig): string[] {
  if (config.certificate) return [config.certificate.certificateEnv, config.certificate.privateKeyEnv];
  return config.clientSecretEnv ? [config.clientSecretEnv] : [];
}
