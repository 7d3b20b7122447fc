/**
 * The mass-change guard's arithmetic (issue 14, item 4): what a set of changes takes away, added up, and which of
 * the policy's thresholds it crosses. Pure and zod-free: the guard workflow (src/workflows/guard) decides with it,
 * and test/unit/guard-thresholds.test.ts checks it. The policy's schema is src/domain/policy-guard.ts.
 */

/** What the guard counts. */
export const guardKinds = ['disables', 'deletions', 'revocations', 'grants'] as const;
export type GuardKind = (typeof guardKinds)[number];

/** One threshold: crossed when a count is MORE than `count`, or MORE than `percent` % of the population. */
export interface GuardLimit {
  count?: number;
  percent?: number;
}

export type GuardLimits = Partial<Record<GuardKind, GuardLimit>>;

/** The guard's settings with every default applied (`resolveGuardSettings` in policy-guard.ts). */
export interface GuardSettings {
  /** Off: every change goes through unchecked (not recommended). */
  enabled: boolean;
  /** Per run: one batch (a sync, an import, a reconciliation, one webhook, one policy adoption). */
  run: GuardLimits;
  /** Per rolling hour: everything admitted in the last 60 minutes, every path together, plus this batch. */
  hour: GuardLimits;
  /** Per system, per run and per rolling hour: the same counts on one system. */
  system: GuardLimits;
  /** A percentage threshold is never crossed by a count of at most this many (small companies, one leaver). */
  percentFloor: number;
  /** Slack channel (id) told of every hold, besides the fallback approvers and the systems' owner teams. */
  notifyChannel?: string;
  /**
   * Hold the batch for an operator's review whatever it counts, for this reason (a sync's terminations of people who
   * vanished from the roster, under `sync.onVanished: terminate_after_review`). Set per batch, never by the policy.
   */
  review?: string;
}

export type Counts = Record<GuardKind, number>;

/** What one change (or a batch, summed) takes away: people counted once each, and per system. */
export interface Impact {
  totals: Counts;
  systems: Record<string, Counts>;
}

export const ROLLING_WINDOW_MS = 3_600_000;

export function zeroCounts(): Counts {
  return { disables: 0, deletions: 0, revocations: 0, grants: 0 };
}

export function emptyImpact(): Impact {
  return { totals: zeroCounts(), systems: {} };
}

function addCounts(a: Counts, b: Counts): Counts {
  return {
    disables: a.disables + b.disables,
    deletions: a.deletions + b.deletions,
    revocations: a.revocations + b.revocations,
    grants: a.grants + b.grants,
  };
}

/** The sum of impacts. */
export function addImpacts(...impacts: readonly Impact[]): Impact {
  const out = emptyImpact();
  for (const i of impacts) {
    out.totals = addCounts(out.totals, i.totals);
    for (const [id, c] of Object.entries(i.systems)) out.systems[id] = addCounts(out.systems[id] ?? zeroCounts(), c);
  }
  return out;
}

/** True when the impact counts anything the settings guard (a kind with at least one limit somewhere). */
export function takesAway(impact: Impact, settings: GuardSettings): boolean {
  return guardKinds.some((k) => guarded(settings, k) && impact.totals[k] > 0);
}

/** A kind is guarded when any scope has a limit for it. */
export function guarded(settings: GuardSettings, kind: GuardKind): boolean {
  return [settings.run, settings.hour, settings.system].some((l) => l[kind] !== undefined);
}

/** Why `count` crosses `limit` (of `population`), or undefined when it does not. */
export function crossing(
  count: number,
  limit: GuardLimit | undefined,
  population: number,
  percentFloor: number,
): string | undefined {
  if (!limit || count <= 0) return undefined;
  if (limit.count !== undefined && count > limit.count) return `${count} > ${limit.count}`;
  if (limit.percent !== undefined && count > percentFloor && population > 0) {
    const pct = (count / population) * 100;
    if (pct > limit.percent) return `${count} of ${population} (${round1(pct)} %) > ${limit.percent} %`;
  }
  if (limit.percent !== undefined && count > percentFloor && population <= 0) {
    return `${count} of an unknown population > ${limit.percent} %`;
  }
  return undefined;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

const KIND_WORD: Record<GuardKind, string> = {
  disables: 'people or accounts disabled',
  deletions: 'accounts deleted',
  revocations: 'people losing access (revocations)',
  grants: 'people granted access',
};

export interface GuardVerdict {
  hold: boolean;
  /** Each threshold crossed, in words: `per run: people or accounts disabled 6 of 20 (30 %) > 5 %`. */
  reasons: string[];
}

/**
 * The verdict on a batch: `batch` is what it takes away, `hour` what was admitted in the rolling hour before it
 * (the batch is added to it), `population` the number of people (or accounts) the percentages are of.
 */
export function evaluateGuard(settings: GuardSettings, batch: Impact, hour: Impact, population: number): GuardVerdict {
  if (settings.review !== undefined) return { hold: true, reasons: [`held for review: ${settings.review}`] };
  if (!settings.enabled) return { hold: false, reasons: [] };
  const reasons: string[] = [];
  const within = addImpacts(hour, batch);
  for (const kind of guardKinds) {
    if (batch.totals[kind] <= 0) continue;
    const run = crossing(batch.totals[kind], settings.run[kind], population, settings.percentFloor);
    if (run) reasons.push(`per run: ${KIND_WORD[kind]} ${run}`);
    const hourly = crossing(within.totals[kind], settings.hour[kind], population, settings.percentFloor);
    if (hourly) reasons.push(`per rolling hour: ${KIND_WORD[kind]} ${hourly}`);
    for (const [systemId, counts] of Object.entries(batch.systems).sort(([a], [b]) => a.localeCompare(b))) {
      if (counts[kind] <= 0) continue;
      const sysRun = crossing(counts[kind], settings.system[kind], population, settings.percentFloor);
      if (sysRun) {
        reasons.push(`per run on ${systemId}: ${KIND_WORD[kind]} ${sysRun}`);
        continue;
      }
      const sysHour = crossing(
        within.systems[systemId]?.[kind] ?? 0,
        settings.system[kind],
        population,
        settings.percentFloor,
      );
      if (sysHour) reasons.push(`per rolling hour on ${systemId}: ${KIND_WORD[kind]} ${sysHour}`);
    }
  }
  return { hold: reasons.length > 0, reasons };
}

/** What was admitted at one instant, kept for the rolling hour. */
export interface WindowEntry {
  at: number;
  impact: Impact;
}

/** The entries still inside the rolling hour at `now`. */
export function pruneWindow(entries: readonly WindowEntry[], now: number): WindowEntry[] {
  return entries.filter((e) => now - e.at < ROLLING_WINDOW_MS);
}

/** The sum of what the rolling hour holds at `now`. */
export function windowImpact(entries: readonly WindowEntry[], now: number): Impact {
  return addImpacts(...pruneWindow(entries, now).map((e) => e.impact));
}
