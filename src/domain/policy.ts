import { z } from 'zod';
import { employmentTypes, isValidTimeZone } from './employee';
import { isTimeOfDay } from './time';

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
  })
  .strict();

export const connectorSchema = z.discriminatedUnion('type', [scimConnectorSchema]);
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
    systems: z.array(systemIdSchema).min(1),
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
      })
      .strict()
      .default({ activationTime: '09:00', defaultTimeZone: 'UTC' }),
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
        if (!ids.has(s))
          ctx.addIssue({ code: 'custom', path: ['birthright', i, 'systems', j], message: `unknown system "${s}"` });
      }),
    );
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
