import { z } from 'zod';
import { envVarName } from '../env-var-name';

/** An Okta OAuth 2.0 scope for the Management API, e.g. `okta.users.manage`. */
const oktaScope = z.string().regex(/^okta\.[A-Za-z]+\.(read|manage)$/, {
  message: 'must be an Okta API scope such as "okta.users.manage"',
});

/** `Authorization: SSWS <API token>`: an API token an Okta admin created, read from the environment. */
const sswsAuthSchema = z
  .object({
    type: z.literal('ssws'),
    /** Environment variable holding the API token. */
    tokenEnv: envVarName,
  })
  .strict();

/**
 * OAuth 2.0 client credentials for an Okta API service app, authenticated with `private_key_jwt` (an RS256 JWT signed
 * with the app's private key): `Authorization: Bearer <access token>`.
 */
const oauthAuthSchema = z
  .object({
    type: z.literal('oauth'),
    /** The service app's client id (the JWT's `iss` and `sub`). */
    clientId: z.string().min(1).max(200),
    /** Environment variable holding the app's private key, PEM (PKCS#8 or PKCS#1 RSA). */
    privateKeyEnv: envVarName,
    /** The key's id (`kid`) as registered in Okta; sent in the JWT header when set. */
    keyId: z.string().min(1).max(200).optional(),
    /** Scopes granted to the app. @default ["okta.users.manage", "okta.groups.manage"] */
    scopes: z.array(oktaScope).min(1).default(['okta.users.manage', 'okta.groups.manage']),
    /** The org authorization server's token endpoint. @default "{orgUrl}/oauth2/v1/token" */
    tokenUrl: z.url({ message: 'must be the token endpoint URL' }).optional(),
  })
  .strict();

/** Settings of the native Okta connector (docs/connectors/okta.md). */
export const oktaConnectorSchema = z
  .object({
    type: z.literal('okta'),
    /** The Okta org, e.g. https://acme.okta.com (the Management API lives under /api/v1). */
    orgUrl: z.url({ message: 'must be the Okta org URL, e.g. https://acme.okta.com' }),
    auth: z.discriminatedUnion('type', [sswsAuthSchema, oauthAuthSchema]),
    /** Whole-request timeout. @default 10000 */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /** The profile attribute holding the HR id (a base or custom attribute). @default "employeeNumber" */
    hrKeyAttribute: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,99}$/, { message: 'must be an Okta profile attribute name' })
      .default('employeeNumber'),
    /** Let Okta e-mail the activation link on activate (`sendEmail`). @default false */
    sendActivationEmail: z.boolean().default(false),
    /**
     * Users sign in through an external identity provider (`credentials.provider`): Okta then activates them straight
     * to ACTIVE. Without it, users without a password are PROVISIONED until they finish the activation flow.
     */
    provider: z
      .object({ type: z.enum(['FEDERATION', 'SOCIAL']), name: z.string().min(1).max(200).optional() })
      .strict()
      .optional(),
    /** `limit` asked for per page when listing (Okta's maximum for users is 200). @default 200 */
    pageSize: z.number().int().min(1).max(200).default(200),
  })
  .strict();
export type OktaConnectorConfig = z.infer<typeof oktaConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function oktaSecretVariables(config: OktaConnectorConfig): string[] {
  return config.auth.type === 'ssws' ? [config.auth.tokenEnv] : [config.auth.privateKeyEnv];
}
