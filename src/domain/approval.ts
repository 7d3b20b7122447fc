/**
 * People in the loop (DESIGN §5 Humans): approval rules and manual-task settings in the policy, the durations
 * they use, who decides at each level and the ids of the workflows that wait for them. Pure code: no I/O.
 */
import { z } from 'zod';

// ── durations ─────────────────────────────────────────────────────────────────────────────────────────────

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+)(ms|s|m|h|d|w)/g;

/** True for "30s", "4h", "2d", "1h30m", "1w", "250ms". */
export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/** Milliseconds in a duration such as "1h30m". Throws RangeError on anything else. */
export function parseDuration(text: string): number {
  if (!isDuration(text)) throw new RangeError(`"${text}" is not a duration such as "30s", "4h", "2d" or "1h30m"`);
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2] as Unit];
  return ms;
}

/** A short human form of a duration for messages: "2d 4h", "45m", "10s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}

/** The longest wait the policy may set: a year. */
export const MAX_DURATION_MS = 366 * UNIT_MS.d;

/** A duration in the policy ("4h", "2d", "1h30m"), parsed to milliseconds. */
export const durationSchema = z
  .string()
  .trim()
  .refine(isDuration, { message: 'must be a duration such as "30s", "4h", "2d" or "1h30m"' })
  .transform(parseDuration)
  .refine((ms) => ms > 0 && ms <= MAX_DURATION_MS, { message: 'must be more than 0 and at most 366d' });

// ── policy schemas ────────────────────────────────────────────────────────────────────────────────────────

export const approverRoles = ['manager', 'owner'] as const;
export type ApproverRole = (typeof approverRoles)[number];

/**
 * Per system (`systems[].approval`): who must approve a grant of this system, in sequence, and how long they have.
 *
 * ```yaml
 * approval:
 *   approvers: [manager, owner]   # the manager, then the app owner
 *   sla: 1d                        # per level, before escalation (default: people.approvals.sla)
 *   remindEvery: 4h                # (default: people.approvals.remindEvery)
 *   escalationSla: 1d              # after escalation, until the timeout outcome (default: people.approvals.escalationSla)
 *   escalateTo: next-manager       # or fallback
 *   onTimeout: deny
 * ```
 */
export const approvalRuleSchema = z
  .object({
    /** Who decides, in this order: `[manager]`, `[owner]`, `[manager, owner]` or `[owner, manager]`. */
    approvers: z
      .array(z.enum(approverRoles))
      .min(1)
      .max(2)
      .refine((a) => new Set(a).size === a.length, { message: 'must not name the same role twice' }),
    /** Work emails of the people who decide at the `owner` level. @default the members of `people.teams[<system owner>]` */
    owners: z.array(z.email()).min(1).optional(),
    /** How long each level has before escalation. @default people.approvals.sla */
    sla: durationSchema.optional(),
    /** How often a waiting approver is reminded. @default people.approvals.remindEvery */
    remindEvery: durationSchema.optional(),
    /** After escalation, how long until the timeout outcome applies. @default people.approvals.escalationSla */
    escalationSla: durationSchema.optional(),
    /**
     * `next-manager`: the manager level escalates to the manager's manager (when the directory knows them), the owner
     * level to the fallback approvers; `fallback`: every level escalates to the fallback approvers. @default "next-manager"
     */
    escalateTo: z.enum(['next-manager', 'fallback']).default('next-manager'),
    /** What a request nobody decided becomes. Access grants are denied. @default "deny" */
    onTimeout: z.literal('deny').default('deny'),
  })
  .strict();
export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

const approvalTimingsSchema = z
  .object({
    /** @default "2d" */
    sla: durationSchema.default(2 * UNIT_MS.d),
    /** @default "4h" */
    remindEvery: durationSchema.default(4 * UNIT_MS.h),
    /** @default "1d" */
    escalationSla: durationSchema.default(UNIT_MS.d),
  })
  .strict();

const taskTimingsSchema = z
  .object({
    /** @default "3d" */
    sla: durationSchema.default(3 * UNIT_MS.d),
    /** @default "1d" */
    remindEvery: durationSchema.default(UNIT_MS.d),
  })
  .strict();

/**
 * The policy's `people` section: who is in each owner team, who the fallback approvers are, and default durations.
 *
 * ```yaml
 * people:
 *   teams:
 *     it-collab: [lee.owner@acme.example]
 *   fallbackApprovers: [it-oncall@acme.example]
 *   approvals: { sla: 2d, remindEvery: 4h, escalationSla: 1d }
 *   tasks: { sla: 3d, remindEvery: 1d }
 * ```
 */
export const peopleSettingsSchema = z
  .object({
    /** Owner team (a system's `owner`) → the work emails of its members, who decide and do its tasks. */
    teams: z.record(z.string().min(1), z.array(z.email()).min(1)).default({}),
    /** Work emails of whoever decides when nobody else can: escalations, unresolvable approvers. */
    fallbackApprovers: z.array(z.email()).default([]),
    approvals: approvalTimingsSchema.default({
      sla: 2 * UNIT_MS.d,
      remindEvery: 4 * UNIT_MS.h,
      escalationSla: UNIT_MS.d,
    }),
    tasks: taskTimingsSchema.default({ sla: 3 * UNIT_MS.d, remindEvery: UNIT_MS.d }),
    /**
     * A step in exception is a task for its system's owners (SLA, reminders and escalation of `tasks`): Done retries
     * it. Past `giveUpAfter` the step is abandoned (with evidence) so the person's later events are not held forever.
     */
    exceptions: z
      .object({ giveUpAfter: durationSchema.default(7 * UNIT_MS.d) })
      .strict()
      .default({ giveUpAfter: 7 * UNIT_MS.d }),
  })
  .strict();
export type PeopleSettings = z.infer<typeof peopleSettingsSchema>;

/**
 * The `manual` connector, for apps with no API: a task to the app's owner team. When `read` is set (a connector that
 * can read the app, e.g. the policy's `scimConnectorSchema`), completion is verified by reading the app.
 *
 * ```yaml
 * connector:
 *   type: manual
 *   instructions: Create the account in the Payroll admin console (Settings → Users) with the work email.
 *   read: { type: scim, baseUrl: https://payroll.example/scim/v2, tokenEnv: TENURE_PAYROLL_READ_TOKEN }
 *   sla: 2d
 * ```
 *
 * A factory, so that the policy module passes its read-connector schema in and neither module imports the other.
 */
export function manualConnectorSchema<R extends z.ZodType>(readConnector: R) {
  return z
    .object({
      type: z.literal('manual'),
      /** What the owner must do, in words. Tenure adds who and which action. */
      instructions: z.string().min(1).max(2000),
      /** How to read the app to verify a completed task; without it a completion is taken on the owner's word. */
      read: readConnector.optional(),
      /** @default people.tasks.sla */
      sla: durationSchema.optional(),
      /** @default people.tasks.remindEvery */
      remindEvery: durationSchema.optional(),
    })
    .strict();
}

/** What this module reads from a manual connector (the output of `manualConnectorSchema`). */
export interface ManualConnectorSettings {
  type: 'manual';
  instructions: string;
  read?: unknown;
  sla?: number;
  remindEvery?: number;
}

/** The parts of a policy system this module reads; `Policy['systems'][number]` satisfies it. */
export interface PeopleSystem {
  id: string;
  name: string;
  kind: string;
  owner?: string;
  approval?: ApprovalRule;
  connector: { type: string } | ManualConnectorSettings;
  dataHandover?: { instructions: string };
}

/** The parts of a policy this module reads; `Policy` satisfies it. */
export interface PeoplePolicy {
  systems: readonly PeopleSystem[];
  people?: PeopleSettings;
}

export function isManualConnector(c: { type: string }): c is ManualConnectorSettings {
  return c.type === 'manual';
}

/**
 * Cross-field checks for `policySchema.superRefine`: every owner level and manual task names people, and there are
 * fallback approvers whenever somebody may have to be escalated to.
 */
export function peoplePolicyIssues(p: PeoplePolicy): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const teams = p.people?.teams ?? {};
  let humansNeeded = false;
  p.systems.forEach((s, i) => {
    const teamKnown = s.owner !== undefined && (teams[s.owner]?.length ?? 0) > 0;
    if (s.approval) {
      humansNeeded = true;
      if (s.approval.approvers.includes('owner') && !s.approval.owners && !teamKnown) {
        issues.push({
          path: ['systems', i, 'approval', 'owners'],
          message: `the owner level needs approval.owners, or people.teams["${s.owner ?? '<owner>'}"] for the system's owner`,
        });
      }
    }
    if (isManualConnector(s.connector)) {
      humansNeeded = true;
      if (!teamKnown) {
        issues.push({
          path: ['systems', i, 'owner'],
          message: `a manual system needs an owner team listed in people.teams (got "${s.owner ?? ''}")`,
        });
      }
    }
  });
  if (humansNeeded && (p.people?.fallbackApprovers.length ?? 0) === 0) {
    issues.push({
      path: ['people', 'fallbackApprovers'],
      message: 'approvals and manual tasks need at least one fallback approver to escalate to',
    });
  }
  return issues;
}

// ── who decides ───────────────────────────────────────────────────────────────────────────────────────────

/** A person named by the policy or the HR record, before Tenure finds their Slack user. */
export type PersonRef =
  | { kind: 'hr'; hrId: string }
  | { kind: 'email'; email: string }
  /** The manager of this HR id (found through the directory). */
  | { kind: 'manager-of'; hrId: string };

export interface ApprovalLevelPlan {
  role: ApproverRole;
  approvers: PersonRef[];
  escalateTo: PersonRef[];
}

export interface ApprovalTimings {
  slaMs: number;
  reminderEveryMs: number;
  escalationSlaMs: number;
}

export interface ApprovalPlan extends ApprovalTimings {
  systemId: string;
  levels: ApprovalLevelPlan[];
  /** Whoever decides when a level's people cannot be found. */
  fallback: PersonRef[];
  timeoutOutcome: 'denied';
}

const DEFAULT_APPROVAL_TIMINGS: ApprovalTimings = {
  slaMs: 2 * UNIT_MS.d,
  reminderEveryMs: 4 * UNIT_MS.h,
  escalationSlaMs: UNIT_MS.d,
};

const emails = (list: readonly string[] | undefined): PersonRef[] =>
  (list ?? []).map((email) => ({ kind: 'email', email }));

/** The owner team's members for a system: the rule's `owners`, else `people.teams[system.owner]`. */
export function ownerRefs(system: PeopleSystem, people: PeopleSettings | undefined): PersonRef[] {
  if (system.approval?.owners) return emails(system.approval.owners);
  return emails(system.owner !== undefined ? people?.teams[system.owner] : undefined);
}

/**
 * Who approves a grant of `system` for the person `hrId` whose manager is `managerHrId`, level by level, and the
 * durations that apply. `undefined` when the system needs no approval.
 */
export function planApproval(
  system: PeopleSystem,
  people: PeopleSettings | undefined,
  managerHrId: string | undefined,
): ApprovalPlan | undefined {
  const rule = system.approval;
  if (!rule) return undefined;
  const defaults = people?.approvals;
  const fallback = emails(people?.fallbackApprovers);
  const levels = rule.approvers.map((role): ApprovalLevelPlan => {
    if (role === 'manager') {
      const approvers: PersonRef[] = managerHrId ? [{ kind: 'hr', hrId: managerHrId }] : [];
      const escalateTo: PersonRef[] =
        rule.escalateTo === 'next-manager' && managerHrId ? [{ kind: 'manager-of', hrId: managerHrId }] : fallback;
      return { role, approvers, escalateTo };
    }
    return { role, approvers: ownerRefs(system, people), escalateTo: fallback };
  });
  return {
    systemId: system.id,
    levels,
    fallback,
    slaMs: rule.sla ?? defaults?.sla ?? DEFAULT_APPROVAL_TIMINGS.slaMs,
    reminderEveryMs: rule.remindEvery ?? defaults?.remindEvery ?? DEFAULT_APPROVAL_TIMINGS.reminderEveryMs,
    escalationSlaMs: rule.escalationSla ?? defaults?.escalationSla ?? DEFAULT_APPROVAL_TIMINGS.escalationSlaMs,
    timeoutOutcome: 'denied',
  };
}

export interface TaskTimings {
  slaMs: number;
  reminderEveryMs: number;
}

/** Durations of a manual task for `system`: the connector's, else the policy's defaults. */
export function taskTimings(system: PeopleSystem, people: PeopleSettings | undefined): TaskTimings {
  const c = isManualConnector(system.connector) ? system.connector : undefined;
  return {
    slaMs: c?.sla ?? people?.tasks.sla ?? 3 * UNIT_MS.d,
    reminderEveryMs: c?.remindEvery ?? people?.tasks.remindEvery ?? UNIT_MS.d,
  };
}

// ── rejection reasons ─────────────────────────────────────────────────────────────────────────────────────

/**
 * The reasons an approver picks from when rejecting in Slack (buttons carry no free text). The code is what the
 * select sends; the label is what the workflow, the message and the audit trail record.
 */
export const REJECT_REASONS = {
  not_needed: 'Not needed for this role',
  less_access: 'Too much access: request a smaller role',
  wait_for_start: 'Not before the start is confirmed',
  security: 'Security or compliance concern',
  wrong_approver: 'I am not the right person to decide',
} as const;
export type RejectReasonCode = keyof typeof REJECT_REASONS;

export function rejectReasonLabel(code: string): string | undefined {
  return Object.hasOwn(REJECT_REASONS, code) ? REJECT_REASONS[code as RejectReasonCode] : undefined;
}

/** The longest free-text reason a decision may carry. */
export const MAX_REASON_LENGTH = 500;

// ── ids (zod-free, for workflow code: src/domain/people-ids.ts) ────────────────────────────────────────────
export {
  approvalRequestId,
  approvalWorkflowId,
  manualTaskId,
  manualTaskWorkflowId,
  parsePeopleWorkflowId,
} from './people-ids';
export type { ManualTaskAction, PeopleWorkflowRef } from './people-ids';
