/**
 * The policy's `guard` section: mass-change thresholds (docs/guard.md). Optional rather than defaulted, so a policy
 * without it keeps its content hash; `resolveGuardSettings` applies the safe defaults when it is absent or partial.
 */
import { z } from 'zod';
import type { GuardLimit, GuardLimits, GuardSettings } from './guard-thresholds';

const limitSchema = z
  .object({
    /** Hold when MORE than this many. */
    count: z.number().int().min(0).optional(),
    /** Hold when MORE than this percentage of the population (people Tenure knows, or the run's roster). */
    percent: z.number().min(0).max(100).optional(),
  })
  .strict()
  .refine((l) => l.count !== undefined || l.percent !== undefined, { message: 'needs count or percent' });

/** Per kind: a limit, or `off` to guard that kind in this scope no more. */
const limitOrOff = z.union([limitSchema, z.literal('off')]);

const scopeSchema = z
  .object({
    disables: limitOrOff.optional(),
    deletions: limitOrOff.optional(),
    revocations: limitOrOff.optional(),
    /** Grants are not guarded unless a limit is given here. */
    grants: limitOrOff.optional(),
  })
  .strict();

export const guardPolicySchema = z
  .object({
    /** @default true */
    enabled: z.boolean().optional(),
    /** Per run (one batch). @default disables 25 / 5 %, deletions 10 / 2 %, revocations 50 / 10 % */
    perRun: scopeSchema.optional(),
    /** Per rolling hour, all paths together. @default disables 50 / 10 %, deletions 20 / 4 %, revocations 100 / 20 % */
    perHour: scopeSchema.optional(),
    /** Per system, per run and per rolling hour. @default disables 25 / 5 %, deletions 10 / 2 %, revocations 50 / 10 % */
    perSystem: scopeSchema.optional(),
    /** Counts of at most this many never cross a percentage threshold. @default 5 */
    percentFloor: z.number().int().min(0).optional(),
    /** A Slack channel id (`C…`) told of every hold, besides the fallback approvers and the systems' owners. */
    notifyChannel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id such as "C0123ABCD"' })
      .optional(),
  })
  .strict();

export type GuardPolicy = z.infer<typeof guardPolicySchema>;

/** The safe defaults (issue 14: hold when one run would disable more than 5 % of accounts or more than 25 people). */
export const GUARD_DEFAULTS: GuardSettings = {
  enabled: true,
  run: {
    disables: { count: 25, percent: 5 },
    deletions: { count: 10, percent: 2 },
    revocations: { count: 50, percent: 10 },
  },
  hour: {
    disables: { count: 50, percent: 10 },
    deletions: { count: 20, percent: 4 },
    revocations: { count: 100, percent: 20 },
  },
  system: {
    disables: { count: 25, percent: 5 },
    deletions: { count: 10, percent: 2 },
    revocations: { count: 50, percent: 10 },
  },
  percentFloor: 5,
};

function mergeScope(defaults: GuardLimits, given: z.infer<typeof scopeSchema> | undefined): GuardLimits {
  const out: GuardLimits = { ...defaults };
  for (const [kind, v] of Object.entries(given ?? {}) as [keyof GuardLimits, GuardLimit | 'off' | undefined][]) {
    if (v === undefined) continue;
    if (v === 'off') delete out[kind];
    else out[kind] = { ...v };
  }
  return out;
}

/** The guard's settings: the policy's `guard` over the defaults (a kind given replaces that kind's default). */
export function resolveGuardSettings(guard: GuardPolicy | undefined): GuardSettings {
  return {
    enabled: guard?.enabled ?? GUARD_DEFAULTS.enabled,
    run: mergeScope(GUARD_DEFAULTS.run, guard?.perRun),
    hour: mergeScope(GUARD_DEFAULTS.hour, guard?.perHour),
    system: mergeScope(GUARD_DEFAULTS.system, guard?.perSystem),
    percentFloor: guard?.percentFloor ?? GUARD_DEFAULTS.percentFloor,
    ...(guard?.notifyChannel ? { notifyChannel: guard.notifyChannel } : {}),
  };
}
