/**
 * The reconcile workflow's activity (issue 14, items 3 and 6; docs/reconcile.md): list every API system's accounts
 * (paged, systems in parallel), take HR's truth (each person entity's last accepted record), classify
 * (src/reconcile/classify.ts), react as the policy says, and keep the report and each finding as evidence.
 *
 * Reactions: `report` only records; `fix` disables a leaver's still-active account or an orphan through the
 * mass-change guard (`deliverGuarded`, path `reconcile`, the run id as batch id), and sends a person with a missing
 * or drifted account their current record back through their entity (an event with `repair`), so the normal run
 * with its approvals and evidence corrects it; `task` opens a manual task for the system's owners. Nothing is ever
 * deleted. Idempotent per run: evidence keys, the guard's batch and the repair events' ids are the run id's.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { WebClient } from '@slack/web-api';
import type { AuditStore, EvidenceInput, EvidenceRecord } from '../activities/audit/types';
import type { Account, IdentityConnector } from '../activities/identity';
import { ConnectorError } from '../activities/identity';
import { slackCall } from '../activities/slack/notifier';
import type { LoadedPolicy } from '../config/policy-file';
import type { HrEvent } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import { manualTaskId, manualTaskWorkflowId } from '../domain/people-ids';
import { targetSystems } from '../domain/plan';
import type { DriftReaction, DriftSituation } from '../domain/policy-reconcile';
import { resolveReconcilePolicy } from '../domain/policy-reconcile';
import { deliverGuarded } from '../guard';
import type { AccountAction } from '../guard/types';
import type { TenureMetrics } from '../observability/metrics';
import { defaultTenureMetrics } from '../observability/metrics';
import { driftMetrics } from '../observability/drift';
import type { EmployeeStatus } from '../workflows/employee/messages';
import { employeeStatusQuery } from '../workflows/employee/messages';
import type { DriftFinding, DriftReport, ReconcileRunInput, SystemDrift } from '../workflows/reconcile/types';
import { MAX_FINDINGS_IN_ANSWER } from '../workflows/reconcile/types';
import type { ManualTaskInput } from '../workflows/task/messages';
import type { Finding, HrPerson, LastWrite, SystemAccounts } from './classify';
import { classifyDrift, findingKey, writeKey } from './classify';

export interface ReconcileActivityDeps {
  policy: LoadedPolicy;
  audit: AuditStore;
  connectors: ReadonlyMap<string, IdentityConnector>;
  slack?: WebClient;
  taskQueue: string;
  client: () => Promise<Client>;
  /** Where the drift gauges and the convergence histogram go. @default defaultTenureMetrics() */
  metrics?: TenureMetrics;
  /** The benchmark: HR's people from elsewhere than the entities (the rest of the run is the same). */
  people?: () => Promise<HrSnapshot>;
}

/** HR's truth, with what convergence needs: each person's current event and the run that applied it. */
export interface HrSnapshot {
  people: HrPerson[];
  /** By HR id: the accepted event that brought the current record, and its run's workflow id when it has one. */
  current: Map<string, { eventId: string; receivedAt: string; workflowId?: string }>;
}

const ACTOR = { type: 'system', id: 'tenure-reconcile' } as const;
const CONCURRENCY = 8;
const HEARTBEAT_EVERY = 500;
/** Evidence of Tenure writing an account's attributes (the steps of src/activities/index.ts). */
const WRITE_ACTIONS = new Set(['create_account', 'update_account']);
const NOT_WRITTEN = new Set(['failed', 'retrying']);

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity (the benchmark, a direct call)
  }
}

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** Every person entity on the task queue and its status: HR's truth as Tenure last accepted it. */
export async function entitySnapshot(client: Client, taskQueue: string): Promise<HrSnapshot> {
  const ids: string[] = [];
  const q = `WorkflowType = 'employeeWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  for await (const wf of client.workflow.list({ query: q })) {
    if (wf.workflowId.startsWith('employee/')) ids.push(wf.workflowId.slice('employee/'.length));
  }
  const people: HrPerson[] = [];
  const current: HrSnapshot['current'] = new Map();
  let done = 0;
  await eachLimited(ids, async (hrId) => {
    let status: EmployeeStatus;
    try {
      status = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    if (++done % HEARTBEAT_EVERY === 0) heartbeat({ people: done });
    if (!status.record) return;
    const accepted = status.events.filter((e) => e.outcome === 'accepted' && !e.derived);
    const last = accepted.reduce<(typeof accepted)[number] | undefined>(
      (a, e) => (a === undefined || Date.parse(e.receivedAt) >= Date.parse(a.receivedAt) ? e : a),
      undefined,
    );
    const running = status.current !== undefined || status.queued > 0 || status.exceptions.length > 0;
    const grace = [...new Set(status.pendingRevocations.flatMap((p) => p.revocations.map((r) => r.systemId)))];
    people.push({
      record: status.record,
      ...(grace.length > 0 ? { graceSystems: grace } : {}),
      ...(last ? { hrChangedAt: last.receivedAt, eventId: last.eventId } : {}),
      ...(running ? { converging: true } : {}),
    });
    if (last) {
      current.set(hrId, {
        eventId: last.eventId,
        receivedAt: last.receivedAt,
        ...(last.workflowId ? { workflowId: last.workflowId } : {}),
      });
    }
  });
  return { people, current };
}

/** One system's accounts, every page. */
async function listAll(c: IdentityConnector, progress: () => void): Promise<Account[]> {
  const out: Account[] = [];
  for await (const a of c.listAccounts()) {
    out.push(a);
    if (out.length % HEARTBEAT_EVERY === 0) progress();
  }
  return out;
}

/** What one pass over the audit store tells a run. */
interface AuditFacts {
  lastWrites: Map<string, LastWrite>;
  /** Each run's (workflow id's) latest evidence instant. */
  lastStepAt: Map<string, string>;
  /** `<hrId>:<eventId>` already recorded as converged. */
  converged: Set<string>;
  previous?: EvidenceRecord;
}

async function auditFacts(audit: AuditStore, runId: string): Promise<AuditFacts> {
  const facts: AuditFacts = { lastWrites: new Map(), lastStepAt: new Map(), converged: new Set() };
  const later = (a: string | undefined, b: string): boolean => a === undefined || Date.parse(b) >= Date.parse(a);
  let n = 0;
  for await (const r of audit.stream()) {
    if (++n % 10_000 === 0) heartbeat({ evidence: n });
    if (r.hrId && r.systemId && WRITE_ACTIONS.has(r.action) && !NOT_WRITTEN.has(r.outcome)) {
      const key = writeKey(r.systemId, r.hrId);
      if (later(facts.lastWrites.get(key)?.at, r.at)) {
        const hrChangedAt = r.detail?.hrChangedAt;
        facts.lastWrites.set(key, {
          at: r.at,
          ...(typeof hrChangedAt === 'string' ? { sourceUpdatedAt: hrChangedAt } : {}),
        });
      }
    }
    if (r.requestId?.startsWith('employee/') && r.hrId && later(facts.lastStepAt.get(r.requestId), r.at)) {
      facts.lastStepAt.set(r.requestId, r.at);
    }
    if (r.action === 'converged' && r.hrId && typeof r.detail?.eventId === 'string') {
      facts.converged.add(`${r.hrId}:${r.detail.eventId}`);
    }
    if (r.action === 'drift_report' && r.requestId !== runId) facts.previous = r;
  }
  return facts;
}

/** A run id as part of an event id or a task id: letters, digits, `.`, `_`, `-`. */
function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '-');
}

export function createReconcileActivities(deps: ReconcileActivityDeps) {
  const policy = deps.policy.policy;
  const metrics = driftMetrics((deps.metrics ?? defaultTenureMetrics()).registry);
  const systemName = (id: string): string => policy.systems.find((s) => s.id === id)?.name ?? id;

  /** The Slack ids of a system's owner team, else the fallback approvers. */
  async function owners(systemId: string, slack: WebClient): Promise<{ owners: string[]; fallback: string[] }> {
    const lookup = async (emails: readonly string[]): Promise<string[]> => {
      const ids: string[] = [];
      for (const email of emails) {
        const found = await slackCall('slack', () => slack.users.lookupByEmail({ email })).catch((e: unknown) => {
          if (e instanceof ConnectorError && e.type === 'not_found') return undefined;
          throw e;
        });
        if (found?.user?.id && !ids.includes(found.user.id)) ids.push(found.user.id);
      }
      return ids;
    };
    const sys = policy.systems.find((s) => s.id === systemId);
    const fallback = await lookup(policy.people?.fallbackApprovers ?? []);
    const team = sys?.owner ? await lookup(policy.people?.teams[sys.owner] ?? []) : [];
    return { owners: team.length > 0 ? team : fallback, fallback };
  }

  /** A manual task for the system's owners about one finding (one per finding while it stays open). */
  async function openTask(client: Client, f: DriftFinding): Promise<{ outcome: string; reason?: string }> {
    if (!deps.slack) return { outcome: 'task_unavailable', reason: 'no Slack configured' };
    const who = await owners(f.systemId, deps.slack);
    if (who.owners.length === 0) return { outcome: 'task_unavailable', reason: 'nobody owns the system in Slack' };
    const hrId = f.hrId ?? 'no-hr-person';
    const taskId = manualTaskId(
      hrId,
      safe(`drift.${f.situation}.${f.accountId ?? 'none'}`),
      f.systemId,
      'fix_exception',
    );
    const what: Record<Finding['situation'], string> = {
      orphan: 'an account that belongs to no HR person',
      not_granted: 'an active account the policy no longer grants this person',
      leaver_active: 'an account still active for someone HR says has left',
      collision:
        (f.hrIds?.length ?? 0) > 1
          ? `one account claimed by ${f.hrIds?.length ?? 0} HR people (HR ids ${(f.hrIds ?? []).join(', ')})`
          : `one person with ${f.accountIds?.length ?? 0} accounts (ids ${(f.accountIds ?? []).join(', ')})`,
      missing: 'no working account for someone HR says should have one',
      attribute_drift: `attributes that differ from HR (${(f.fields ?? []).join(', ')})`,
      manual_override: `attributes changed by hand after Tenure wrote them (${(f.fields ?? []).join(', ')})`,
    };
    const people = deps.policy.policy.people;
    const task: ManualTaskInput = {
      taskId,
      hrId,
      systemId: f.systemId,
      systemName: systemName(f.systemId),
      action: 'fix_exception',
      instructions:
        `Tenure's reconciliation found ${what[f.situation]} in ${systemName(f.systemId)}` +
        `${f.accountId ? ` (account id ${f.accountId})` : ''}${f.hrId ? ` for HR id ${f.hrId}` : ''}. ` +
        'Review it, put it right in the system (or in HR), then click Done. See `tenure drift`.',
      owners: who.owners,
      escalateTo: who.fallback.filter((x) => !who.owners.includes(x)),
      slaMs: people?.tasks.sla ?? 3 * 86_400_000,
      reminderEveryMs: people?.tasks.remindEvery ?? 86_400_000,
      verify: false,
    };
    await client.workflow.start('manualTaskWorkflow', {
      workflowId: manualTaskWorkflowId(taskId),
      taskQueue: deps.taskQueue,
      args: [task],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return { outcome: 'task_opened', reason: taskId };
  }

  return {
    async runReconcile(input: ReconcileRunInput): Promise<DriftReport> {
      const settings = resolveReconcilePolicy(policy.reconcile);
      const startedAt = new Date().toISOString();
      // Opened only when needed: a report-only run on given people (the benchmark) talks to no Temporal.
      let opened: Client | undefined;
      const client = async (): Promise<Client> => (opened ??= await deps.client());

      // 1. Every API system's accounts (in parallel, each paged) and HR's truth, at the same time.
      const apiSystems = policy.systems.filter((s) => s.connector.type !== 'manual' && deps.connectors.has(s.id));
      let listed = 0;
      const progress = (): void => heartbeat({ accounts: (listed += HEARTBEAT_EVERY) });
      const [lists, hr] = await Promise.all([
        Promise.allSettled(apiSystems.map((s) => listAll(deps.connectors.get(s.id) as IdentityConnector, progress))),
        deps.people ? deps.people() : client().then((c) => entitySnapshot(c, deps.taskQueue)),
      ]);
      const systems: SystemAccounts[] = [];
      const unreachable: DriftReport['unreachable'] = [];
      lists.forEach((r, i) => {
        const systemId = apiSystems[i]?.id ?? '?';
        if (r.status === 'fulfilled') systems.push({ systemId, accounts: r.value });
        else if (r.reason instanceof ConnectorError && r.reason.retryable) throw r.reason;
        else unreachable.push({ systemId, error: r.reason instanceof ConnectorError ? r.reason.type : 'error' });
      });
      heartbeat({ classified: false });

      // 2. What the evidence says: Tenure's last writes (override or drift), run ends (convergence), the last report.
      const facts = await auditFacts(deps.audit, input.runId);
      const api = new Set(apiSystems.map((s) => s.id));
      const c = classifyDrift({
        people: hr.people,
        systems,
        expected: (record) => targetSystems(record, policy).filter((id) => api.has(id)),
        lastWrites: facts.lastWrites,
        ignoreAccounts: settings.ignoreAccounts,
      });

      // 3. Reactions.
      const firstSeen = new Map<string, string>();
      const prevFindings = facts.previous?.detail?.findings;
      if (Array.isArray(prevFindings)) {
        for (const f of prevFindings as DriftFinding[]) firstSeen.set(findingKey(f), f.firstSeenAt);
      }
      const findings: DriftFinding[] = c.findings.map((f) => {
        const reaction: DriftReaction = settings.reactions[f.situation];
        return { ...f, reaction, outcome: 'reported', firstSeenAt: firstSeen.get(findingKey(f)) ?? startedAt };
      });
      const actions: AccountAction[] = [];
      /** Disables of what the policy no longer grants: a batch of their own, on the guard's `policy` path. */
      const policyActions: AccountAction[] = [];
      const repairs = new Map<string, { missing: Set<string>; drift: Set<string> }>();
      for (const f of findings) {
        if (f.reaction !== 'fix') continue;
        if (f.situation === 'not_granted') {
          if (!f.accountId) continue;
          policyActions.push({
            type: 'account_action',
            systemId: f.systemId,
            accountId: f.accountId,
            action: 'disable',
            reason: 'reconciliation: the policy no longer grants this account',
          });
        } else if (f.situation === 'orphan' || f.situation === 'leaver_active') {
          if (!f.accountId || f.active === false) {
            f.outcome = 'skipped';
            f.reason = 'already inactive';
            continue;
          }
          actions.push({
            type: 'account_action',
            systemId: f.systemId,
            accountId: f.accountId,
            action: 'disable',
            reason: `reconciliation: ${f.situation === 'orphan' ? 'orphan account' : 'leaver still active'}`,
          });
        } else if (f.hrId && f.situation !== 'collision') {
          const r = repairs.get(f.hrId) ?? { missing: new Set<string>(), drift: new Set<string>() };
          (f.situation === 'missing' ? r.missing : r.drift).add(f.systemId);
          repairs.set(f.hrId, r);
        }
      }
      const records = new Map(hr.people.map((p) => [p.record.hrId, p.record]));
      const receivedAt = new Date().toISOString();
      const events: HrEvent[] = [];
      const eventOf = new Map<string, string>();
      for (const [hrId, r] of [...repairs].sort(([a], [b]) => a.localeCompare(b))) {
        const record = records.get(hrId);
        if (!record) continue;
        const eventId = `${safe(input.runId)}.repair.${hrId}`;
        eventOf.set(hrId, eventId);
        events.push({
          eventId,
          source: 'reconcile',
          kind: 'change',
          record,
          receivedAt,
          repair: { missing: [...r.missing].sort(), drift: [...r.drift].sort() },
        });
      }
      let guard: DriftReport['guard'];
      if (actions.length > 0 || events.length > 0) {
        const population = Math.max(hr.people.length, ...systems.map((s) => s.accounts.length));
        const g = await deliverGuarded(await client(), deps.taskQueue, policy, {
          path: 'reconcile',
          batchId: input.runId,
          population,
          events,
          actions,
        });
        guard = { held: g.held, ...(g.holdId !== undefined ? { holdId: g.holdId } : {}), reasons: g.reasons };
        const actionOutcome = new Map((g.actionResults ?? []).map((r) => [`${r.systemId}\u0000${r.accountId}`, r]));
        const eventOutcome = new Map(g.results.map((r) => [r.eventId, r]));
        for (const f of findings) {
          if (f.reaction !== 'fix' || f.outcome === 'skipped' || f.situation === 'not_granted') continue;
          if (f.situation === 'orphan' || f.situation === 'leaver_active') {
            const r = actionOutcome.get(`${f.systemId}\u0000${f.accountId ?? ''}`);
            f.outcome = r ? r.outcome : g.held ? 'held' : 'failed';
            if (r?.reason) f.reason = r.reason;
          } else {
            const r = f.hrId ? eventOutcome.get(eventOf.get(f.hrId) ?? '') : undefined;
            if (!r) {
              f.outcome = 'failed';
              f.reason = 'the person has no record to send back';
            } else if (r.held) f.outcome = 'held';
            else if (r.error !== undefined) {
              f.outcome = 'failed';
              f.reason = r.error;
            } else {
              f.outcome = r.result?.outcome === 'accepted' ? 'sent' : (r.result?.outcome ?? 'failed');
              if (r.result?.outcome === 'rejected' && r.result.reason) f.reason = r.result.reason;
            }
          }
        }
      }
      let policyGuard: DriftReport['policyGuard'];
      if (policyActions.length > 0) {
        const population = Math.max(hr.people.length, ...systems.map((s) => s.accounts.length));
        const g = await deliverGuarded(await client(), deps.taskQueue, policy, {
          path: 'policy',
          batchId: `${input.runId}:policy`,
          population,
          events: [],
          actions: policyActions,
        });
        policyGuard = { held: g.held, ...(g.holdId !== undefined ? { holdId: g.holdId } : {}), reasons: g.reasons };
        const done = new Map((g.actionResults ?? []).map((r) => [`${r.systemId}\u0000${r.accountId}`, r]));
        for (const f of findings) {
          if (f.reaction !== 'fix' || f.situation !== 'not_granted') continue;
          const r = done.get(`${f.systemId}\u0000${f.accountId ?? ''}`);
          f.outcome = r ? r.outcome : g.held ? 'held' : 'failed';
          if (r?.reason) f.reason = r.reason;
        }
      }
      for (const f of findings) {
        if (f.reaction !== 'task') continue;
        const t = await openTask(await client(), f);
        f.outcome = t.outcome;
        if (t.reason) f.reason = t.reason;
      }

      // 4. Convergence: people whose every system matches HR, and whose current change has not been measured yet.
      const finishedAt = new Date().toISOString();
      const open = new Set(findings.flatMap((f) => [f.hrId, ...(f.hrIds ?? [])]).filter(Boolean));
      const converged: DriftReport['converged'] = [];
      if (unreachable.length === 0) {
        for (const p of hr.people) {
          const hrId = p.record.hrId;
          const cur = hr.current.get(hrId);
          if (p.converging || open.has(hrId) || !cur?.workflowId) continue;
          if (facts.converged.has(`${hrId}:${cur.eventId}`)) continue;
          const last = facts.lastStepAt.get(cur.workflowId);
          if (!last) continue;
          const seconds = Math.max(0, (Date.parse(last) - Date.parse(cur.receivedAt)) / 1000);
          converged.push({ hrId, eventId: cur.eventId, seconds });
        }
      }
      for (const cv of converged) {
        await deps.audit.append({
          key: `converged:${cv.hrId}:${cv.eventId}`,
          at: finishedAt,
          hrId: cv.hrId,
          actor: ACTOR,
          action: 'converged',
          requestId: input.runId,
          outcome: 'converged',
          detail: { eventId: cv.eventId, seconds: cv.seconds },
        });
        metrics.converged(cv.seconds);
      }

      // 5. The report: per system counts and lag (oldest unresolved finding), then the evidence.
      const now = Date.parse(finishedAt);
      const systemsOut: SystemDrift[] = systems.map((s) => {
        const mine = findings.filter((f) => f.systemId === s.systemId);
        const oldest = mine.reduce<string | undefined>(
          (a, f) => (a === undefined || Date.parse(f.firstSeenAt) < Date.parse(a) ? f.firstSeenAt : a),
          undefined,
        );
        return {
          systemId: s.systemId,
          accounts: s.accounts.length,
          counts: c.counts[s.systemId] ?? {},
          lagSeconds: oldest ? Math.max(0, (now - Date.parse(oldest)) / 1000) : 0,
          ...(oldest ? { oldestSince: oldest } : {}),
        };
      });
      const totals: Partial<Record<DriftSituation, number>> = {};
      for (const s of systemsOut) {
        for (const [k, v] of Object.entries(s.counts) as [DriftSituation, number][]) totals[k] = (totals[k] ?? 0) + v;
      }
      const report: DriftReport = {
        runId: input.runId,
        startedAt,
        finishedAt,
        people: hr.people.length,
        systems: systemsOut,
        totals,
        findings,
        findingsOmitted: 0,
        ...(guard ? { guard } : {}),
        ...(policyGuard ? { policyGuard } : {}),
        converged,
        unreachable,
      };
      heartbeat({ evidence: findings.length });
      const findingEvidence = findings.map((f): EvidenceInput => ({
        key: `reconcile:${input.runId}:finding:${findingKey(f)}`,
        at: finishedAt,
        ...(f.hrId ? { hrId: f.hrId } : {}),
        systemId: f.systemId,
        actor: ACTOR,
        action: 'drift_finding',
        requestId: input.runId,
        outcome: f.outcome,
        detail: { ...f },
      }));
      // One transaction per 1,000 findings where the store can (the chain is extended once per batch).
      for (let i = 0; i < findingEvidence.length; i += 1000) {
        const batch = findingEvidence.slice(i, i + 1000);
        if (deps.audit.appendMany) await deps.audit.appendMany(batch);
        else for (const e of batch) await deps.audit.append(e);
        heartbeat({ evidence: i + batch.length });
      }
      await deps.audit.append({
        key: `reconcile:${input.runId}:report`,
        at: finishedAt,
        actor: ACTOR,
        action: 'drift_report',
        requestId: input.runId,
        outcome: findings.length === 0 ? 'matching' : 'drift',
        detail: { ...report },
      });
      metrics.report(
        Object.fromEntries(systemsOut.map((s) => [s.systemId, s.counts])),
        Object.fromEntries(systemsOut.map((s) => [s.systemId, s.lagSeconds])),
      );
      return {
        ...report,
        findings: findings.slice(0, MAX_FINDINGS_IN_ANSWER),
        findingsOmitted: Math.max(0, findings.length - MAX_FINDINGS_IN_ANSWER),
      };
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
