import { z } from 'zod';
import { employmentTypes, isValidTimeZone, unknownFieldPolicies } from './employee';
import { isTimeOfDay } from './time';
import { envVarName } from './env-var-name';
import { ldapConnectorSchema } from './connectors/ldap';
import { graphConnectorSchema } from './connectors/graph';
import { googleConnectorSchema } from './connectors/google';
import { oktaConnectorSchema } from './connectors/okta';
import { guardPolicySchema } from './policy-guard';
import { syncPolicySchema } from './policy-sync';
import { reconcilePolicySchema } from './policy-reconcile';
import {
  approvalRuleSchema,
  formatDuration,
  isDuration,
  manualConnectorSchema,
  parseDuration,
  peoplePolicyIssues,
  peopleSettingsSchema,
} from './approval';

const DAY_MS = 86_400_000;

/** A duration written like "7d", "12h", "1h30m" (see `parseDuration`), within [min, max] milliseconds. */
function policyDuration(minMs: number, maxMs: number) {
  return z
    .string()
    .trim()
    .refine(isDuration, { message: 'must be a duration such as "30s", "4h", "7d" or "2w"' })
    .transform(parseDuration)
    .refine((ms) => ms >= minMs && ms <= maxMs, {
      message: `must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`,
    });
}

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
    /**
     * The vendor API that ends a leaver's sign-in sessions (SCIM 2.0 has none); omitted means sessions cannot be
     * revoked, only new sign-ins stopped by deactivation. The account's SCIM `id` must be the vendor's user id.
     */
    sessions: z
      .object({
        /**
         * `okta`: Okta Users API, `DELETE {baseUrl}/api/v1/users/{id}/sessions?oauthTokens=true`
         * (`Authorization: SSWS <token>`) — ends Okta sessions and revokes OAuth/OIDC tokens.
         * `entra`: Microsoft Graph, `POST {baseUrl}/v1.0/users/{id}/revokeSignInSessions`
         * (`Authorization: Bearer <token>`) — invalidates refresh tokens and browser session cookies.
         */
        api: z.enum(['okta', 'entra']),
        /** The vendor API's origin, e.g. https://acme.okta.com or https://graph.microsoft.com */
        baseUrl: z.url({ message: 'must be the vendor API URL, e.g. https://acme.okta.com' }),
        /** Environment variable holding the vendor API token; unset means the SCIM connector's token. */
        tokenEnv: envVarName.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Connectors that read an app to verify a manual task's completion. */
const readConnectorSchema = z.discriminatedUnion('type', [
  scimConnectorSchema,
  ldapConnectorSchema,
  graphConnectorSchema,
  googleConnectorSchema,
  oktaConnectorSchema,
]);

export const connectorSchema = z.discriminatedUnion('type', [
  scimConnectorSchema,
  ldapConnectorSchema,
  graphConnectorSchema,
  googleConnectorSchema,
  oktaConnectorSchema,
  manualConnectorSchema(readConnectorSchema),
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
    /** Licence SKU consumed by an account in this system, recorded with the grant and reclaimed at exit. */
    licence: z.string().min(1).optional(),
    /**
     * The group whose membership carries the licence (licences assigned by group, as in Entra ID and Okta). The hire
     * joins it; the exit removes the account from it, which frees the seat. Without it, the seat is freed by the
     * deactivation and the evidence says so.
     */
    licenceGroup: z.string().min(1).optional(),
    /**
     * At exit, the leaver's data in this system (files, mailbox, repositories) goes to their manager: the manager
     * is asked to accept it, then the system's owner does the transfer as a task.
     */
    dataHandover: z
      .object({
        /** What the owner must do, in words. Tenure adds whose data and who receives it. */
        instructions: z.string().min(1).max(2000),
        /**
         * `task`: the system's owner transfers the data by hand (a manual task). `api`: once the manager accepts,
         * Tenure transfers it through the connector's vendor API (Google's Data Transfer API) and reads the
         * transfer back complete. @default "task"
         */
        method: z.enum(['task', 'api']).default('task'),
      })
      .strict()
      .optional(),
    /**
     * The vendor's API limit: Tenure sends this system at most `requestsPerSecond` requests (per worker process)
     * and runs at most `concurrency` of its steps at once, on a task queue of its own (src/domain/rate-limit.ts),
     * so a burst drains at the vendor's pace without starving other systems. Absent: no limit but Temporal's.
     */
    rateLimit: z
      .object({
        requestsPerSecond: z.number().positive().max(10_000),
        concurrency: z.number().int().min(1).max(1_000).default(10),
      })
      .strict()
      .optional(),
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
        /**
         * A mover keeps the access their old role had and the new one does not for this long (a hand-over window),
         * then it is revoked: "7d", "2w", "0s" for at once. @default "7d"
         */
        moverGrace: policyDuration(0, 90 * DAY_MS).default(7 * DAY_MS),
        /**
         * A leaver's disabled accounts are deleted this long after the exit instant ("90d", "52w"). Unset: Tenure
         * never deletes them (deletion is destructive, so it is opt-in).
         */
        retention: policyDuration(1, 3660 * DAY_MS).optional(),
      })
      .strict()
      .default({
        activationTime: '09:00',
        defaultTimeZone: 'UTC',
        preProvisionDays: 0,
        exitTime: '18:00',
        moverGrace: 7 * DAY_MS,
      }),
    /**
     * What the intake server does with the events it receives. Optional rather than defaulted, so that a policy
     * without it keeps its content hash (its version). @default { unknownFields: "ignore" }
     */
    intake: z
      .object({
        /**
         * A field of an event that Tenure does not know (an HR system's `record.costCenter`): `ignore` accepts the
         * event without it and names it in the answer's and the audit record's `ignoredFields`; `refuse` answers
         * 422 naming each such field. Applies to the generic webhook and the plan preview; `tenure import` makes the
         * same choice for CSV columns with `--unknown-columns`. @default "ignore"
         */
        unknownFields: z.enum(unknownFieldPolicies).default('ignore'),
      })
      .strict()
      .optional(),
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
        /**
         * The workspace (team id, `T…`) whose clicks may decide. Clicks signed with the app's secret but sent from
         * any other workspace are refused. @default the bot token's workspace, as Slack's `auth.test` reports it
         */
        teamId: z
          .string()
          .regex(/^[TE][A-Z0-9]{2,}$/, { message: 'must be a Slack team id such as "T0123ABCD"' })
          .optional(),
        /** The Enterprise Grid organization (`E…`), when the workspace is in one. @default from `auth.test` */
        enterpriseId: z
          .string()
          .regex(/^E[A-Z0-9]{2,}$/, { message: 'must be a Slack enterprise id such as "E0123ABCD"' })
          .optional(),
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
    /** Mass-change thresholds (docs/guard.md); absent: the safe defaults (`resolveGuardSettings`). */
    guard: guardPolicySchema.optional(),
    /** The scheduled HR roster sync (src/domain/policy-sync.ts); absent: no schedule. */
    sync: syncPolicySchema.optional(),
    /** Drift reconciliation (src/domain/policy-reconcile.ts, docs/reconcile.md); absent: no schedule. */
    reconcile: reconcilePolicySchema.optional(),
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
    const handover = p.systems.findIndex((s) => s.dataHandover);
    if (handover >= 0 && !(p.people?.fallbackApprovers.length ?? 0)) {
      ctx.addIssue({
        code: 'custom',
        path: ['people', 'fallbackApprovers'],
        message: 'a data hand-over needs at least one fallback approver for leavers without a manager',
      });
    }
    if (handover >= 0 && !p.slack) {
      ctx.addIssue({
        code: 'custom',
        path: ['systems', handover, 'dataHandover'],
        message: 'a data hand-over asks the manager in Slack: configure `slack`',
      });
    }
    p.systems.forEach((s, i) => {
      if (s.dataHandover?.method === 'api' && s.connector.type !== 'google')
        ctx.addIssue({
          code: 'custom',
          path: ['systems', i, 'dataHandover', 'method'],
          message: 'a hand-over by API needs a connector with a data transfer API (type "google")',
        });
      if (s.licenceGroup && !s.licence)
        ctx.addIssue({
          code: 'custom',
          path: ['systems', i, 'licenceGroup'],
          message: 'needs `licence`: the SKU the group carries',
        });
    });
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

export { identityProvider } from './policy-lookup';
