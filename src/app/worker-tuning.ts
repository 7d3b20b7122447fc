import { setFlagsFromString } from 'node:v8';

/**
 * The worker's cache and concurrency, set on purpose rather than left to the SDK's defaults (docs/scaling.md has
 * the measurements behind each number). Every value has an environment override, read and validated once at start.
 *
 * - `maxCachedWorkflows`: runs kept in memory between tasks (sticky execution). A cached run costs memory for as
 *   long as it waits, so the cache is sized for the runs that are *busy* at once, not for the people who are
 *   waiting: a person waiting for a start date a year away is evicted and costs the worker nothing until their
 *   timer fires, when the run is replayed from its (short) history. The SDK's default grows with the heap (2,310
 *   on a 4 GiB heap) and let 1,353 waiting people take a worker to 4.4 GB. A cached run costs about 0.45 MiB
 *   (bench/waiting.bench.ts), so 150 keep a worker with any number of waiting people near 400 MB; a burst of
 *   hires keeps more runs busy than any cache that size holds either way, and 150 measured no slower than 300
 *   there (bench/hires.bench.ts).
 * - `reuseV8Context`: one V8 context per workflow thread, each run's globals swapped in and out (the SDK's default
 *   since 1.9, stated here so it is not turned off by accident: a context per run costs several MB each).
 * - Slots: workflow tasks are CPU-bound on the worker's one workflow thread, so a few more slots than cores keep it
 *   busy without queueing tasks behind each other; activities wait on HTTP, so they get many more.
 * - `heapGrowingPercent`: how far V8 lets each thread's heap grow past what the last full collection kept before it
 *   collects again. V8's own factor rises to 4× while collections are cheap, so during a burst (10,000 people
 *   arriving) the main thread and the workflow thread each grew to about 180 MB of mostly garbage over 50 MB and
 *   35 MB kept, together past 500 MB (`--trace-gc`, bench/waiting.bench.ts). 50 % keeps each within about 1.5× what
 *   it keeps, for a few more full collections of 10–30 ms each.
 */
export interface WorkerTuning {
  /** `TENURE_WORKER_MAX_CACHED_WORKFLOWS`. @default 150 */
  maxCachedWorkflows: number;
  /** `TENURE_WORKER_REUSE_V8_CONTEXT` (`true` / `false`). @default true */
  reuseV8Context: boolean;
  /**
   * `TENURE_WORKER_WORKFLOW_THREADS`: threads that run workflow code (each with its own V8 context and cache share).
   * @default 1 (the SDK's with `reuseV8Context`): on a small machine the Temporal server needs the other cores
   */
  workflowThreadPoolSize: number;
  /** `TENURE_WORKER_WORKFLOW_SLOTS`: workflow tasks run at once. @default 20 */
  maxConcurrentWorkflowTaskExecutions: number;
  /** `TENURE_WORKER_ACTIVITY_SLOTS`: activities run at once (on the main task queue). @default 100 */
  maxConcurrentActivityTaskExecutions: number;
  /** `TENURE_WORKER_LOCAL_ACTIVITY_SLOTS`: local activities (planning) run at once. @default 100 */
  maxConcurrentLocalActivityExecutions: number;
  /** `TENURE_WORKER_WORKFLOW_POLLS`: concurrent long polls for workflow tasks. @default 10 */
  maxConcurrentWorkflowTaskPolls: number;
  /** `TENURE_WORKER_ACTIVITY_POLLS`: concurrent long polls for activity tasks. @default 10 */
  maxConcurrentActivityTaskPolls: number;
  /**
   * `TENURE_WORKER_NON_STICKY_RATIO`: the share of workflow polls on the task queue itself rather than on the
   * worker's sticky queue (0 < r ≤ 1). A new person's first task, which the intake's answer waits for, comes from
   * the task queue; tasks of cached runs come from the sticky queue, and with a cache kept small on purpose many
   * runs are evicted, so their tasks come from the task queue too. @default 0.5 (the SDK's is 0.2: 2 of 10 polls)
   */
  nonStickyToStickyPollRatio: number;
  /**
   * `TENURE_WORKER_HEAP_GROWING_PERCENT`: V8's `--heap-growing-percent`, set for the whole process (every thread's
   * heap) when the worker is composed; 0 leaves V8's own heuristics. @default 50
   */
  heapGrowingPercent: number;
}

export const WORKER_TUNING_DEFAULTS: Readonly<WorkerTuning> = {
  maxCachedWorkflows: 150,
  reuseV8Context: true,
  workflowThreadPoolSize: 1,
  maxConcurrentWorkflowTaskExecutions: 20,
  maxConcurrentActivityTaskExecutions: 100,
  maxConcurrentLocalActivityExecutions: 100,
  maxConcurrentWorkflowTaskPolls: 10,
  maxConcurrentActivityTaskPolls: 10,
  nonStickyToStickyPollRatio: 0.5,
  heapGrowingPercent: 50,
};

const INTEGER_VARIABLES: Record<
  Exclude<keyof WorkerTuning, 'reuseV8Context' | 'nonStickyToStickyPollRatio'>,
  { name: string; min: number }
> = {
  maxCachedWorkflows: { name: 'TENURE_WORKER_MAX_CACHED_WORKFLOWS', min: 0 },
  workflowThreadPoolSize: { name: 'TENURE_WORKER_WORKFLOW_THREADS', min: 1 },
  maxConcurrentWorkflowTaskExecutions: { name: 'TENURE_WORKER_WORKFLOW_SLOTS', min: 2 },
  maxConcurrentActivityTaskExecutions: { name: 'TENURE_WORKER_ACTIVITY_SLOTS', min: 1 },
  maxConcurrentLocalActivityExecutions: { name: 'TENURE_WORKER_LOCAL_ACTIVITY_SLOTS', min: 1 },
  maxConcurrentWorkflowTaskPolls: { name: 'TENURE_WORKER_WORKFLOW_POLLS', min: 2 },
  maxConcurrentActivityTaskPolls: { name: 'TENURE_WORKER_ACTIVITY_POLLS', min: 1 },
  heapGrowingPercent: { name: 'TENURE_WORKER_HEAP_GROWING_PERCENT', min: 0 },
};

/** Every variable `workerTuning` reads, for deployment files and docs. */
export const WORKER_TUNING_VARIABLES = [
  ...Object.values(INTEGER_VARIABLES).map((v) => v.name),
  'TENURE_WORKER_REUSE_V8_CONTEXT',
  'TENURE_WORKER_NON_STICKY_RATIO',
];

/** The SDK's worker options of the tuning (the heap's growth is the process's, not a worker option). */
export function workerOptions(t: WorkerTuning): Omit<WorkerTuning, 'heapGrowingPercent'> {
  const { heapGrowingPercent: _process, ...options } = t;
  return options;
}

/**
 * Sets the heap's growth for every V8 heap of this process, the workflow threads' included (a V8 flag is the
 * process's; V8 reads this one whenever a full collection sets the next limit, so setting it at run time takes
 * effect). Returns the flag set, or undefined when V8's own heuristics stay.
 */
export function applyHeapGrowth(t: Pick<WorkerTuning, 'heapGrowingPercent'>): string | undefined {
  if (t.heapGrowingPercent <= 0) return undefined;
  const flag = `--heap-growing-percent=${t.heapGrowingPercent}`;
  setFlagsFromString(flag);
  return flag;
}

/** The tuning from the environment; throws an error naming every bad variable. */
export function workerTuning(vars: NodeJS.ProcessEnv): WorkerTuning {
  const out: WorkerTuning = { ...WORKER_TUNING_DEFAULTS };
  const problems: string[] = [];
  for (const [key, { name, min }] of Object.entries(INTEGER_VARIABLES) as [
    keyof typeof INTEGER_VARIABLES,
    { name: string; min: number },
  ][]) {
    const raw = vars[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
      problems.push(`  - ${name}: must be a whole number of at least ${min}`);
      continue;
    }
    out[key] = n;
  }
  const reuse = vars.TENURE_WORKER_REUSE_V8_CONTEXT;
  if (reuse !== undefined && reuse !== '') {
    if (reuse === 'true' || reuse === 'false') out.reuseV8Context = reuse === 'true';
    else problems.push('  - TENURE_WORKER_REUSE_V8_CONTEXT: must be true or false');
  }
  const ratio = vars.TENURE_WORKER_NON_STICKY_RATIO;
  if (ratio !== undefined && ratio !== '') {
    const r = Number(ratio);
    if (/^\s*(0|1)?(\.\d+)?\s*$/.test(ratio) && r > 0 && r <= 1) out.nonStickyToStickyPollRatio = r;
    else problems.push('  - TENURE_WORKER_NON_STICKY_RATIO: must be a number above 0 and at most 1');
  }
  if (out.maxConcurrentWorkflowTaskPolls > out.maxConcurrentWorkflowTaskExecutions) {
    problems.push('  - TENURE_WORKER_WORKFLOW_POLLS: cannot exceed TENURE_WORKER_WORKFLOW_SLOTS');
  }
  if (out.maxConcurrentActivityTaskPolls > out.maxConcurrentActivityTaskExecutions) {
    problems.push('  - TENURE_WORKER_ACTIVITY_POLLS: cannot exceed TENURE_WORKER_ACTIVITY_SLOTS');
  }
  if (problems.length) throw new Error(`invalid environment:\n${problems.join('\n')}`);
  return out;
}
