/**
 * The policy's `reconcile` section (issue 14, item 3; docs/reconcile.md): when the drift reconciliation's Temporal
 * Schedule runs, and what each situation it finds leads to. Safe defaults: every situation is only reported, and
 * nothing is ever deleted (a fix disables, or goes through the person's entity and the normal workflows).
 */
import { z } from 'zod';
import { isValidTimeZone } from './employee';

/** Five-field cron (minute hour day-of-month month day-of-week), as Temporal Schedules take it. */
const cronSchema = z.string().regex(/^\s*\S+(\s+\S+){4}\s*$/, {
  message: 'must be a five-field cron expression such as "30 6 * * *"',
});

/** What reconciliation can find about one account, or one person in one system. */
export const driftSituations = [
  'matching',
  'attribute_drift',
  'manual_override',
  'missing',
  'leaver_active',
  'orphan',
  'collision',
  'not_granted',
] as const;
export type DriftSituation = (typeof driftSituations)[number];

/**
 * `report`: a finding in the drift report (and evidence), nothing else. `fix`: a leaver still active or an orphan is
 * disabled through the mass-change guard; a missing account or drifted attributes are corrected by sending the
 * person's record back through their entity (the normal workflows, approvals and evidence). `task`: a manual task
 * to the system's owner.
 */
export const driftReactions = ['report', 'fix', 'task'] as const;
export type DriftReaction = (typeof driftReactions)[number];

const reaction = z.enum(driftReactions);

/** Situations a policy can react to (`matching` needs nothing). */
const reactionsSchema = z
  .object({
    attribute_drift: reaction.default('report'),
    manual_override: reaction.default('report'),
    missing: reaction.default('report'),
    leaver_active: reaction.default('report'),
    orphan: reaction.default('report'),
    /**
     * An active account of a current employee in a system the policy no longer grants them (a birthright rule
     * removed or narrowed). `fix` disables it through the mass-change guard on its `policy` path: adopting a policy
     * that takes access from many people at once is held for an operator.
     */
    not_granted: reaction.default('report'),
    /** A collision has no safe automatic fix: `fix` is refused here. */
    collision: z.enum(['report', 'task']).default('report'),
  })
  .strict();

export type DriftReactions = z.infer<typeof reactionsSchema>;

const DEFAULT_REACTIONS: DriftReactions = {
  attribute_drift: 'report',
  manual_override: 'report',
  missing: 'report',
  leaver_active: 'report',
  orphan: 'report',
  not_granted: 'report',
  collision: 'report',
};

export const reconcilePolicySchema = z
  .object({
    schedule: z
      .object({
        cron: cronSchema.default('30 6 * * *'),
        timeZone: z
          .string()
          .refine(isValidTimeZone, { message: 'must be an IANA time zone such as "Europe/Lisbon"' })
          .default('UTC'),
      })
      .strict()
      .default({ cron: '30 6 * * *', timeZone: 'UTC' }),
    /** @default every situation `report` */
    reactions: reactionsSchema.default(DEFAULT_REACTIONS),
    /**
     * Accounts that are nobody's by design (service accounts, break-glass admins): login names matched
     * case-insensitively, `*` as a wildcard. They are never orphans. @default []
     */
    ignoreAccounts: z.array(z.string().min(1)).default([]),
    /** When false the schedule is created paused (runs only with `tenure drift run`). @default true */
    enabled: z.boolean().default(true),
  })
  .strict();

export type ReconcilePolicy = z.infer<typeof reconcilePolicySchema>;

/** The reconciliation settings with their defaults, for a policy that has no `reconcile` section. */
export function resolveReconcilePolicy(p: ReconcilePolicy | undefined): ReconcilePolicy {
  return p ?? reconcilePolicySchema.parse({});
}
