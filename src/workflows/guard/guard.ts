import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { GuardActivities } from '../../guard/activities';
import { addImpacts, evaluateGuard, pruneWindow, windowImpact } from '../../domain/guard-thresholds';
import { WorkflowLock } from '../employee/lock';
import type {
  AdmitAnswer,
  AdmitInput,
  DecideHoldInput,
  GuardState,
  GuardWorkflowInput,
  Hold,
  HoldDetail,
  HoldSummary,
} from './messages';
import { admitUpdate, discardHoldUpdate, holdQuery, holdsQuery, releaseHoldUpdate } from './messages';

/** Batch decisions remembered for retried admits. */
const MAX_DECIDED = 1000;
/** Closed holds kept for `tenure guard list` (open ones are always kept). */
const MAX_CLOSED_HOLDS = 50;
/** Continue as new after this many updates, or sooner when the server suggests it. */
const UPDATES_PER_RUN = 2000;

const notify = proxyActivities<GuardActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});
const execute = proxyActivities<GuardActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '2 seconds', maximumInterval: '1 minute' },
});

function summary(h: Hold): HoldSummary {
  return {
    holdId: h.holdId,
    path: h.path,
    status: h.status,
    heldAt: h.heldAt,
    reasons: h.reasons,
    population: h.population,
    impact: h.impact,
    events: h.events.length,
    actions: h.actions.length,
    batches: h.batchIds.length,
    ...(h.decidedBy ? { decidedBy: h.decidedBy } : {}),
    ...(h.decidedAt ? { decidedAt: h.decidedAt } : {}),
    ...(h.note ? { note: h.note } : {}),
    ...(h.released ? { released: h.released } : {}),
  };
}

function detail(h: Hold): HoldDetail {
  return {
    ...summary(h),
    items: [
      ...h.events.map((e) => ({ type: 'hr_event' as const, eventId: e.eventId, hrId: e.record.hrId, kind: e.kind })),
      ...h.actions.map((a) => ({
        type: 'account_action' as const,
        systemId: a.systemId,
        accountId: a.accountId,
        action: a.action,
      })),
    ],
  };
}

/**
 * The mass-change guard's durable state (issue 14, item 4), one per deployment (`tenure-guard`): every batch that
 * takes access away is admitted here (update `admit`), counted against the policy's thresholds per run, per system
 * and per rolling hour, and either admitted (the caller delivers it) or held (nothing runs). Operators release
 * (`release`: an activity delivers the held events and does the held account actions) or discard (`discard`) a
 * hold; each hold, release and discard is evidence, and each new hold is told in Slack. Decisions are serialized:
 * `admit` decides without awaiting; release and discard hold a lock.
 */
export async function guardWorkflow(input: GuardWorkflowInput = {}): Promise<void> {
  const state: GuardState = input.state ?? { holds: [], window: [], decided: [], nextHold: 1 };
  const notices: { holdId: string; batchId: string; joined: boolean }[] = [];
  const lock = new WorkflowLock();
  let updates = 0;

  const remember = (batchId: string, answer: AdmitAnswer): void => {
    state.decided.push({ batchId, answer });
    if (state.decided.length > MAX_DECIDED) state.decided.splice(0, state.decided.length - MAX_DECIDED);
  };
  const findHold = (holdId: string): Hold | undefined => state.holds.find((h) => h.holdId === holdId);
  const openHold = (holdId: string): Hold => {
    const h = findHold(holdId);
    if (!h) throw ApplicationFailure.nonRetryable(`no hold ${holdId}`, 'GuardNoSuchHold');
    if (h.status !== 'held') {
      throw ApplicationFailure.nonRetryable(`hold ${holdId} is ${h.status}, not held`, 'GuardHoldClosed');
    }
    return h;
  };

  setHandler(holdsQuery, () => [...state.holds].reverse().map(summary));
  setHandler(holdQuery, (holdId: string) => {
    const h = findHold(holdId);
    return h ? detail(h) : null;
  });

  setHandler(admitUpdate, async (a: AdmitInput): Promise<AdmitAnswer> => {
    updates += 1;
    const prior = state.decided.find((d) => d.batchId === a.batchId);
    if (prior) return { ...prior.answer, repeated: true };
    const now = Date.now();
    state.window = pruneWindow(state.window, now);
    // A rolling-hour hold still open on this path gathers what follows it (a burst is one hold, not hundreds).
    const gathering = state.holds.find((h) => h.status === 'held' && h.gathering && h.path === a.path);
    if (gathering && a.settings.enabled) {
      gathering.batchIds.push(a.batchId);
      gathering.events.push(...a.events);
      gathering.actions.push(...a.actions);
      gathering.impact = addImpacts(gathering.impact, a.impact);
      const answer: AdmitAnswer = { decision: 'held', holdId: gathering.holdId, reasons: gathering.reasons };
      remember(a.batchId, answer);
      notices.push({ holdId: gathering.holdId, batchId: a.batchId, joined: true });
      return answer;
    }
    const verdict = evaluateGuard(a.settings, a.impact, windowImpact(state.window, now), a.population);
    if (verdict.hold) {
      const holdId = `hold-${state.nextHold++}`;
      state.holds.push({
        holdId,
        path: a.path,
        batchIds: [a.batchId],
        status: 'held',
        heldAt: new Date(now).toISOString(),
        reasons: verdict.reasons,
        population: a.population,
        impact: a.impact,
        events: a.events,
        actions: a.actions,
        gathering: verdict.reasons.some((r) => r.includes('rolling hour')),
      });
      const answer: AdmitAnswer = { decision: 'held', holdId, reasons: verdict.reasons };
      remember(a.batchId, answer);
      notices.push({ holdId, batchId: a.batchId, joined: false });
      return answer;
    }
    state.window.push({ at: now, impact: a.impact });
    const answer: AdmitAnswer = { decision: 'admitted', reasons: [] };
    remember(a.batchId, answer);
    if (a.actions.length === 0) return answer;
    const actionResults = await execute.guardExecuteActions({ ref: `batch:${a.batchId}`, actions: a.actions });
    return { ...answer, actionResults };
  });

  setHandler(
    releaseHoldUpdate,
    async ({ holdId, by, note }: DecideHoldInput): Promise<HoldSummary> => {
      updates += 1;
      return lock.run(async () => {
        const h = openHold(holdId);
        h.status = 'releasing';
        h.decidedBy = by;
        h.decidedAt = new Date(Date.now()).toISOString();
        if (note) h.note = note;
        try {
          await notify.guardRecordDecision({ hold: summary(h), decision: 'released', by });
          h.released = await execute.guardDeliverHeld({ holdId, events: h.events, actions: h.actions });
          h.status = 'released';
        } catch (err) {
          h.status = 'held';
          throw ApplicationFailure.nonRetryable(
            `release of ${holdId} did not finish: ${(err as Error).message}; release it again`,
            'GuardReleaseFailed',
          );
        }
        return summary(h);
      });
    },
    { validator: ({ holdId }: DecideHoldInput) => void openHold(holdId) },
  );

  setHandler(
    discardHoldUpdate,
    async ({ holdId, by, note }: DecideHoldInput): Promise<HoldSummary> => {
      updates += 1;
      return lock.run(async () => {
        const h = openHold(holdId);
        h.status = 'discarded';
        h.decidedBy = by;
        h.decidedAt = new Date(Date.now()).toISOString();
        if (note) h.note = note;
        await notify.guardRecordDecision({ hold: summary(h), decision: 'discarded', by });
        return summary(h);
      });
    },
    { validator: ({ holdId }: DecideHoldInput) => void openHold(holdId) },
  );

  const shouldContinue = (): boolean => updates >= UPDATES_PER_RUN || workflowInfo().continueAsNewSuggested;
  for (;;) {
    await condition(() => notices.length > 0 || shouldContinue());
    while (notices.length > 0) {
      const n = notices.shift();
      const h = n ? findHold(n.holdId) : undefined;
      if (!n || !h) continue;
      try {
        await notify.guardHoldNotice({ hold: summary(h), batchId: n.batchId, joined: n.joined });
      } catch (err) {
        // The hold stands; only the notice failed (its evidence says so once Slack or the store answers again).
        log.warn('guard notice failed', { holdId: n.holdId, error: (err as Error).message });
      }
    }
    if (shouldContinue()) {
      await condition(allHandlersFinished);
      if (notices.length > 0) continue;
      break;
    }
  }
  await continueAsNew<typeof guardWorkflow>({ state: compact(state) });
}

/** What the next run keeps: open holds whole, the latest closed ones without their records. */
function compact(state: GuardState): GuardState {
  const open = state.holds.filter((h) => h.status === 'held' || h.status === 'releasing');
  const closed = state.holds
    .filter((h) => h.status === 'released' || h.status === 'discarded')
    .slice(-MAX_CLOSED_HOLDS)
    .map((h) => ({ ...h, events: [], actions: [] }));
  const holds = [...open, ...closed].sort((a, b) => Number(a.holdId.slice(5)) - Number(b.holdId.slice(5)));
  return { ...state, holds, window: pruneWindow(state.window, Date.now()) };
}
