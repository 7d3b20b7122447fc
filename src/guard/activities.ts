/**
 * The guard workflow's activities: evidence of every hold, release and discard; the Slack notice of a hold; the
 * release itself (held events delivered to each person's entity, held account actions done through the connectors).
 * All idempotent: evidence keys are per hold and decision, a redelivered event is a duplicate at its entity, and
 * disabling or deleting an account that already is counts as done.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WebClient } from '@slack/web-api';
import type { AuditStore } from '../activities/audit/types';
import type { IdentityConnector } from '../activities/identity';
import { ConnectorError } from '../activities/identity';
import { esc, mentions } from '../activities/slack/blocks';
import { slackCall } from '../activities/slack/notifier';
import { deliverHrEvent } from '../client/deliver';
import type { LoadedPolicy } from '../config/policy-file';
import type { HrEvent } from '../domain/employee';
import { resolveGuardSettings } from '../domain/policy-guard';
import type { AccountActionResult, HoldSummary, ReleaseSummary } from '../workflows/guard/messages';
import type { AccountAction } from './types';

export interface GuardActivityDeps {
  policy: LoadedPolicy;
  audit: AuditStore;
  connectors: Map<string, IdentityConnector>;
  slack?: WebClient;
  taskQueue: string;
  /** A client of the deployment, for delivering released events (opened on first use by the composition root). */
  client: () => Promise<Client>;
}

const GUARD_ACTOR = { type: 'system', id: 'tenure-guard' } as const;

function decider(by: string): { type: 'person'; id: string } {
  return { type: 'person', id: by };
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity (a direct call)
  }
}

/** Owner-team members of the systems the hold touches, and the fallback approvers: work emails. */
function recipients(policy: LoadedPolicy['policy'], systems: readonly string[]): string[] {
  const out = new Set<string>(policy.people?.fallbackApprovers ?? []);
  for (const s of policy.systems) {
    if (!systems.includes(s.id) || !s.owner) continue;
    for (const e of policy.people?.teams[s.owner] ?? []) out.add(e);
  }
  return [...out];
}

function impactLine(h: HoldSummary): string {
  const t = h.impact.totals;
  const parts = [
    t.disables ? `${t.disables} disabled` : '',
    t.deletions ? `${t.deletions} deleted` : '',
    t.revocations ? `${t.revocations} losing access` : '',
    t.grants ? `${t.grants} granted` : '',
  ].filter(Boolean);
  return parts.join(', ') || 'nothing';
}

export function createGuardActivities(deps: GuardActivityDeps) {
  const settings = () => resolveGuardSettings(deps.policy.policy.guard);

  async function doAction(ref: string, a: AccountAction): Promise<AccountActionResult> {
    const base = { systemId: a.systemId, accountId: a.accountId, action: a.action };
    const connector = deps.connectors.get(a.systemId);
    const record = (outcome: string, detail: Record<string, unknown>) =>
      deps.audit.append({
        key: `guard:${ref}:${a.action}:${a.systemId}:${a.accountId}`,
        at: new Date().toISOString(),
        systemId: a.systemId,
        actor: GUARD_ACTOR,
        action: a.action === 'delete' ? 'delete_account' : 'disable_account',
        requestId: ref,
        outcome,
        detail: { accountId: a.accountId, reason: a.reason, ...detail },
      });
    if (!connector) {
      await record('failed', { error: 'no connector for this system' });
      return { ...base, outcome: 'failed', reason: `no connector for system ${a.systemId}` };
    }
    try {
      if (a.action === 'delete') {
        await connector.delete(a.accountId);
        await record('succeeded', {});
        return { ...base, outcome: 'deleted' };
      }
      const after = await connector.setActive(a.accountId, false);
      if (after.active) {
        await record('failed', { error: 'still active on read-back' });
        return { ...base, outcome: 'failed', reason: 'the system still reports the account active' };
      }
      await record('succeeded', { readBack: { active: false } });
      return { ...base, outcome: 'disabled' };
    } catch (err) {
      if (err instanceof ConnectorError && err.retryable) throw err;
      const reason =
        err instanceof ConnectorError
          ? `${err.type}${err.details.vendorCode ? ` (${err.details.vendorCode})` : ''}`
          : 'error';
      await record('failed', { error: reason });
      return { ...base, outcome: 'failed', reason };
    }
  }

  return {
    /** Evidence of a new hold (or of a batch joining one), and for a new hold a Slack notice to the people who decide. */
    async guardHoldNotice(input: {
      hold: HoldSummary;
      batchId: string;
      joined: boolean;
    }): Promise<{ notified: number }> {
      const h = input.hold;
      const systems = Object.keys(h.impact.systems).sort();
      let notified = 0;
      let notifyError: string | undefined;
      if (!input.joined && deps.slack) {
        const slack = deps.slack;
        const text =
          `:octagonal_sign: Tenure's mass-change guard held ${esc(h.holdId)} (${esc(h.path)}): ${impactLine(h)}. ` +
          `Nothing in it has run. ${h.reasons.map(esc).join('; ')}. ` +
          `Review with \`tenure guard show ${esc(h.holdId)}\`, then \`tenure guard release ${esc(h.holdId)}\` or \`tenure guard discard ${esc(h.holdId)}\`.`;
        const ids: string[] = [];
        try {
          for (const email of recipients(deps.policy.policy, systems)) {
            const found = await slackCall('slack', () => slack.users.lookupByEmail({ email })).catch((e: unknown) => {
              if (e instanceof ConnectorError && e.type === 'not_found') return undefined;
              throw e;
            });
            if (found?.user?.id && !ids.includes(found.user.id)) ids.push(found.user.id);
          }
          const channels = [...ids];
          const channel = settings().notifyChannel;
          if (channel) channels.push(channel);
          for (const c of channels) {
            const mention = c === channel && ids.length > 0 ? `${mentions(ids)} ` : '';
            await slackCall('slack', () => slack.chat.postMessage({ channel: c, text: `${mention}${text}` }));
            notified += 1;
          }
        } catch (err) {
          if (err instanceof ConnectorError && err.retryable) throw err;
          notifyError = err instanceof ConnectorError ? err.type : 'error';
        }
      }
      await deps.audit.append({
        key: input.joined ? `guard:${h.holdId}:joined:${input.batchId}` : `guard:${h.holdId}:held`,
        at: new Date().toISOString(),
        actor: GUARD_ACTOR,
        action: input.joined ? 'guard_hold_joined' : 'guard_hold',
        requestId: h.holdId,
        outcome: 'held',
        detail: {
          holdId: h.holdId,
          path: h.path,
          batchId: input.batchId,
          reasons: h.reasons,
          population: h.population,
          totals: h.impact.totals,
          systems: h.impact.systems,
          events: h.events,
          actions: h.actions,
          ...(input.joined ? {} : { notified, ...(notifyError ? { notifyError } : {}) }),
        },
      });
      return { notified };
    },

    /** Evidence of an operator's release or discard, before anything is delivered. */
    async guardRecordDecision(input: {
      hold: HoldSummary;
      decision: 'released' | 'discarded';
      by: string;
    }): Promise<void> {
      const h = input.hold;
      await deps.audit.append({
        key: `guard:${h.holdId}:${input.decision}`,
        at: new Date().toISOString(),
        actor: decider(input.by),
        action: input.decision === 'released' ? 'guard_release' : 'guard_discard',
        requestId: h.holdId,
        outcome: input.decision,
        detail: {
          holdId: h.holdId,
          path: h.path,
          reasons: h.reasons,
          totals: h.impact.totals,
          events: h.events,
          actions: h.actions,
          ...(h.note ? { note: h.note } : {}),
        },
      });
    },

    /** A release: each held event to its person's entity (in order per person), then each held account action. */
    async guardDeliverHeld(input: {
      holdId: string;
      events: HrEvent[];
      actions: AccountAction[];
    }): Promise<ReleaseSummary> {
      const client = await deps.client();
      const out: ReleaseSummary = { delivered: 0, accepted: 0, duplicate: 0, rejected: 0, failed: 0, actions: [] };
      // One lane per person keeps each person's events in order; people go in parallel.
      const byPerson = new Map<string, HrEvent[]>();
      for (const e of input.events) byPerson.set(e.record.hrId, [...(byPerson.get(e.record.hrId) ?? []), e]);
      const lanes = [...byPerson.values()];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < lanes.length) {
          const lane = lanes[next++] ?? [];
          for (const event of lane) {
            try {
              const r = await deliverHrEvent(client, deps.taskQueue, event);
              out[r.outcome] += 1;
            } catch (err) {
              if (!(err instanceof WorkflowUpdateFailedError)) throw err;
              out.rejected += 1;
            }
            out.delivered += 1;
            heartbeat({ delivered: out.delivered });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(8, lanes.length) }, worker));
      for (const a of input.actions) {
        out.actions.push(await doAction(input.holdId, a));
        heartbeat({ delivered: out.delivered, actions: out.actions.length });
      }
      out.failed = out.actions.filter((r) => r.outcome === 'failed').length;
      await deps.audit.append({
        key: `guard:${input.holdId}:delivered`,
        at: new Date().toISOString(),
        actor: GUARD_ACTOR,
        action: 'guard_release_delivered',
        requestId: input.holdId,
        outcome: out.failed > 0 ? 'partly_failed' : 'succeeded',
        detail: { holdId: input.holdId, ...out },
      });
      return out;
    },

    /** Admitted account actions (a reconciliation's fixes): done now, with evidence. */
    async guardExecuteActions(input: { ref: string; actions: AccountAction[] }): Promise<AccountActionResult[]> {
      const out: AccountActionResult[] = [];
      for (const a of input.actions) {
        out.push(await doAction(input.ref, a));
        heartbeat({ actions: out.length });
      }
      return out;
    },
  };
}

export type GuardActivities = ReturnType<typeof createGuardActivities>;
