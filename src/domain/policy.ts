import { z } from 'zod';
import { employmentTypes, isValidTimeZone } from './employee';
import { isTimeOfDay } from './time';
import { approvalRuleSchema, manualConnectorSchema, peoplePolicyIssues, peopleSettingsSchema } from './approval';

const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, {
  message: 'must be the NAME of an environment variable (secrets never live in the policy)',
});

export const scimConnectorSchema = z
  .object({
    type: z.literal('scim'),
    baseUrl: z.url({ message: 'must be the SCIM base URL, e.g. https://idp.example.com/scim/v2' }),
    /** Environment variable holding the bearer token; unset means no Authorization header. */
    tokenEnv: envVarName.optional(),
    /** @default 10000 */
    timeoutMs: z.number().int().positive().max(120_000).default(10_000),
    /** The vendor's SCIM dialect (docs/connectors.md). @default "generic" */
    dialect: z.enum(['generic', 'okta', 'entra', 'github', 'slack']).default('generic'),
    /** PATCH form for deactivation; the dialect's default when omitted. */
    patchStyle: z.enum(['value', 'path']).optional(),
  })
  .strict();

export const connectorSchema = z.discriminatedUnion('type', [
  scimConnectorSchema,
  manualConnectorSchema(scimConnectorSchema),
]);
export type ConnectorConfig = z.infer<typeof connectorSchema>;

const systemIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, { message: 'must be lower-case letters, digits and "-", starting with a letter' });

export const systemSchema = z
  .object({
    id: systemIdSchema,
    name: z.string().min(1),
    kind: z.enum(['identity-provider', 'app']),
    connector: connectorSchema,
    dependsOn: z.array(systemIdSchema).default([]),
    owner: z.string().min(1).optional(),
    /** Who must approve a grant of this system (manager, owner, both in sequence), with SLA and fallbacks. */
    approval: approvalRuleSchema.optional(),
    /** Licence SKU consumed by an account in this system, recorded with the grant. */
    licence: z.string().min(1).optional(),
  })
  .strict();
export type SystemConfig = z.infer<typeof systemSchema>;

export const birthrightRuleSchema = z
  .object({
    name: z.string().min(1),
    /** Every field given must match; an empty match applies to everyone. */
    match: z
      .object({
        department: z.array(z.string().min(1)).optional(),
        title: z.array(z.string().min(1)).optional(),
        countryCode: z.array(z.string().regex(/^[A-Z]{2}$/)).optional(),
        employmentType: z.array(z.enum(employmentTypes)).optional(),
      })
      .strict()
      .default({}),
    /** The named playbook this rule belongs to, e.g. "Engineering Onboarding Playbook". */
    playbook: z.string().min(1).optional(),
    /** Systems granted, each optionally with groups: `wiki` or `{ system: wiki, groups: [engineering] }`. */
    systems: z
      .array(
        z.union([
          systemIdSchema.transform((system) => ({ system, groups: [] as string[] })),
          z.object({ system: systemIdSchema, groups: z.array(z.string().min(1)).default([]) }).strict(),
        ]),
      )
      .min(1),
  })
  .strict();
export type BirthrightRule = z.infer<typeof birthrightRuleSchema>;

export const policySchema = z
  .object({
    timing: z
      .object({
        /** Local wall-clock time at which a hire's access turns on, in the person's time zone. @default "09:00" */
        activationTime: z.string().refine(isTimeOfDay, { message: 'must be HH:MM or HH:MM:SS' }).default('09:00'),
        /** Time zone used when a record's location has none that the runtime knows. @default "UTC" */
        defaultTimeZone: z.string().refine(isValidTimeZone, { message: 'must be an IANA time zone' }).default('UTC'),
        /** Accounts are created, disabled, this many days before the hire date, at the activation time. @default 0 */
        preProvisionDays: z.number().int().min(0).max(60).default(0),
        /** Local wall-clock time on the exit date at which access ends (voluntary exits). @default "18:00" */
        exitTime: z.string().refine(isTimeOfDay, { message: 'must be HH:MM or HH:MM:SS' }).default('18:00'),
      })
      .strict()
      .default({ activationTime: '09:00', defaultTimeZone: 'UTC', preProvisionDays: 0, exitTime: '18:00' }),
    /** How work emails are made for hires that have none. */
    naming: z
      .object({
        /** e.g. "acme.example" */
        workEmailDomain: z
          .string()
          .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, { message: 'must be a domain such as "acme.example"' }),
        /** Tokens: {first}, {last}, {f} (first initial). @default "{first}.{last}" */
        pattern: z
          .string()
          .refine((p) => /\{(first|last|f)\}/.test(p) && !/[^a-z0-9.{}_-]/.test(p.replace(/\{(first|last|f)\}/g, '')), {
            message: 'must use {first}, {last} or {f} with only a-z, 0-9, ".", "_", "-" between them',
          })
          .default('{first}.{last}'),
      })
      .strict()
      .optional(),
    /** Slack, for notices to managers (and approvals). */
    slack: z
      .object({
        /** Web API base URL. @default "https://slack.com/api/" */
        apiUrl: z.url().optional(),
        tokenEnv: envVarName,
      })
      .strict()
      .optional(),
    /** The HRIS that Tenure writes generated values (the work email) back to. */
    hris: z
      .object({
        type: z.literal('bamboohr'),
        /** e.g. https://api.bamboohr.com/api/gateway.php/acme/v1 */
        baseUrl: z.url(),
        apiKeyEnv: envVarName,
      })
      .strict()
      .optional(),
    /** Approvals and manual tasks: SLAs, reminders, escalation, fallback approvers. */
    people: peopleSettingsSchema.optional(),
    systems: z.array(systemSchema).min(1),
    birthright: z.array(birthrightRuleSchema).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    p.systems.forEach((s, i) => {
      if (ids.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['systems', i, 'id'], message: `duplicate system id "${s.id}"` });
      ids.add(s.id);
    });
    const idps = p.systems.filter((s) => s.kind === 'identity-provider');
    if (idps.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['systems'],
        message: `exactly one system must be the identity-provider (found ${idps.length})`,
      });
    }
    p.systems.forEach((s, i) =>
      s.dependsOn.forEach((d, j) => {
        if (!ids.has(d))
          ctx.addIssue({ code: 'custom', path: ['systems', i, 'dependsOn', j], message: `unknown system "${d}"` });
      }),
    );
    p.birthright.forEach((r, i) =>
      r.systems.forEach((s, j) => {
        if (!ids.has(s.system)) {
          ctx.addIssue({
            code: 'custom',
            path: ['birthright', i, 'systems', j],
            message: `unknown system "${s.system}"`,
          });
        }
      }),
    );
    for (const issue of peoplePolicyIssues(p)) ctx.addIssue({ code: 'custom', ...issue });
    const cycle = findCycle(p.systems);
    if (cycle)
      ctx.addIssue({ code: 'custom', path: ['systems'], message: `dependsOn has a cycle: ${cycle.join(' -> ')}` });
  });

export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

function findCycle(systems: { id: string; dependsOn: string[] }[]): string[] | undefined {
  const deps = new Map(systems.map((s) => [s.id, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const s of systems) {
    const c = visit(s.id);
    if (c) return c;
  }
  return undefined;
}

export function identityProvider(policy: Policy): SystemConfig {
  const idp = policy.systems.find((s) => s.kind === 'identity-provider');
  if (!idp) throw new Error('policy has no identity provider'); // unreachable after validation
  return idp;
}
