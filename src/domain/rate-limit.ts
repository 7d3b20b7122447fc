/**
 * Per-system rate limits (policy `systems[].rateLimit`). Zod-free: workflow code imports the queue name.
 *
 * A rate-limited system's step activities run on a task queue of their own, `<taskQueue>.system.<id>`, served in
 * every worker process by an activity worker whose concurrency and activities-per-second are the system's
 * (`src/app/system-workers.ts`); its HTTP requests are also paced in-process (`src/activities/rate-limit.ts`). A
 * burst for one vendor then drains at that vendor's pace and never holds the slots every other system needs.
 */
import type { Plan } from './plan';
import type { Policy } from './policy';

export interface SystemRateLimit {
  /** Requests per second the vendor allows Tenure. */
  requestsPerSecond: number;
  /** Step activities in flight at once against the system (per worker process). */
  concurrency: number;
}

/** The activity task queue of a rate-limited system. */
export function systemTaskQueue(taskQueue: string, systemId: string): string {
  return `${taskQueue}.system.${systemId}`;
}

/** The systems with a rate limit, by id. */
export function rateLimits(policy: Pick<Policy, 'systems'>): Map<string, SystemRateLimit> {
  const out = new Map<string, SystemRateLimit>();
  for (const s of policy.systems) if (s.rateLimit) out.set(s.id, s.rateLimit);
  return out;
}

/** Marks the plan's steps on rate-limited systems, so the run schedules them on the system's own queue. */
export function markRateLimited<R extends { ok: boolean; plan?: Plan }>(result: R, policy: Pick<Policy, 'systems'>): R {
  const limited = rateLimits(policy);
  if (!result.ok || !result.plan || limited.size === 0) return result;
  for (const step of result.plan.steps) if (step.systemId && limited.has(step.systemId)) step.rateLimited = true;
  return result;
}
