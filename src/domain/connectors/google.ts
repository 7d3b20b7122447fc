import { z } from 'zod';
import { envVarName } from '../env-var-name';

/** An organizational unit's full path in Google Workspace: `/`, `/Engineering`, `/Engineering/Lisbon`. */
const orgUnitPath = z.string().regex(/^\/([^/]+(\/[^/]+)*)?$/, {
  message: 'must be an organizational unit path such as "/" or "/Engineering/Lisbon"',
});

/** Places people of a department and/or location in an organizational unit; the first rule that matches wins. */
const orgUnitRuleSchema = z
  .object({
    /** HR department name, exactly as HR spells it. Absent: any department. */
    department: z.string().min(1).optional(),
    /** HR work location name. Absent: any location. */
    location: z.string().min(1).optional(),
    orgUnitPath,
  })
  .strict()
  .refine((r) => r.department !== undefined || r.location !== undefined, {
    message: 'a rule names a department, a location or both',
  });

/** The external id types the Directory API documents for `externalIds[].type`. */
export const GOOGLE_EXTERNAL_ID_TYPES = [
  'account',
  'custom',
  'customer',
  'login_id',
  'network',
  'organization',
] as const;

/**
 * Settings of the native Google Workspace connector (Admin SDK Directory API + Data Transfer API), see
 * docs/connectors/google.md. Secrets are named, never held: `serviceAccountKeyEnv` is the NAME of the environment
 * variable holding the service account's JSON key.
 */
export const googleConnectorSchema = z
  .object({
    type: z.literal('google'),
    /** The Workspace account. @default "my_customer" (the account of the impersonated admin) */
    customerId: z.string().min(1).default('my_customer'),
    /** The primary domain, e.g. `acme.example` (documentation and sanity checks; lookups use `customerId`). */
    domain: z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, { message: 'must be a domain name, e.g. acme.example' }),
    /** The admin user the service account impersonates through domain-wide delegation (the JWT `sub`). */
    adminSubject: z.email({ message: 'must be the e-mail address of a Workspace admin' }),
    /** NAME of the environment variable holding the service account's JSON key (client_email, private_key, token_uri). */
    serviceAccountKeyEnv: envVarName,
    /** OAuth token endpoint. @default the key's `token_uri`, else https://oauth2.googleapis.com/token */
    tokenUrl: z.url().optional(),
    /** Origin of the Admin SDK APIs (Directory and Data Transfer). @default "https://admin.googleapis.com" */
    directoryUrl: z.url().default('https://admin.googleapis.com'),
    /** Department/location → organizational unit; the first match wins. @default [] */
    orgUnitRules: z.array(orgUnitRuleSchema).default([]),
    /** Where people no rule places go. @default "/" */
    defaultOrgUnitPath: orgUnitPath.default('/'),
    /** The `externalIds[].type` that carries the HR id. @default "organization" */
    externalIdType: z.enum(GOOGLE_EXTERNAL_ID_TYPES).default('organization'),
    /** The `customType` when `externalIdType` is `custom`, e.g. "hris". */
    externalIdCustomType: z.string().min(1).max(64).optional(),
    /** Data Transfer API applications a leaver's data hand-over moves, by name. @default ["Drive and Docs", "Calendar"] */
    transferApplications: z.array(z.string().min(1)).min(1).default(['Drive and Docs', 'Calendar']),
    /** `maxResults` asked for per page when listing (the API allows 1–500). @default 100 */
    pageSize: z.number().int().min(1).max(500).default(100),
    /** Whole-request timeout in milliseconds. @default 10000 */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
  })
  .strict()
  .refine((c) => (c.externalIdType === 'custom') === (c.externalIdCustomType !== undefined), {
    message: 'externalIdCustomType is required with externalIdType "custom", and only then',
    path: ['externalIdCustomType'],
  });
export type GoogleConnectorConfig = z.infer<typeof googleConnectorSchema>;

/** The names of the environment variables this connector reads its secrets from. */
export function googleSecretVariables(config: GoogleConnectorConfig): string[] {
  return [config.serviceAccountKeyEnv];
}

/** The organizational unit a person belongs in: the first rule matching their department and location. */
export function orgUnitFor(
  config: Pick<GoogleConnectorConfig, 'orgUnitRules' | 'defaultOrgUnitPath'>,
  person: { department?: string | undefined; location?: string | undefined },
): string {
  const rule = config.orgUnitRules.find(
    (r) =>
      (r.department === undefined || r.department === person.department) &&
      (r.location === undefined || r.location === person.location),
  );
  return rule?.orgUnitPath ?? config.defaultOrgUnitPath;
}
