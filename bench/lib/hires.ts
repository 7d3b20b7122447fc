/** One measured wave of hires through a Tenure deployment: send, wait for every run to finish, collect figures. */
import { employeeWorkflowId } from '../../src/domain/ids';
import { cpuSeconds, threadCpuSeconds, treeCpuSeconds, workerThreadSplit } from './proc';
import { progress, sleep } from './scale';
import type { Summary } from './stats';
import { summarize } from './stats';
import type { BenchTenure, SendResult } from './tenure';
import { hireRecord, sendEvents } from './tenure';
import type { HistoryCost } from './temporal';
import type { AnswerPhases } from './temporal';
import { answerPhases, countWorkflows, historyCost } from './temporal';

export interface WaveResult {
  n: number;
  senders: number;
  /** Hire runs that completed in this wave (accepted, and any whose sender timed out but whose hire started). */
  ran: number;
  seconds: number;
  perSecond: number;
  answerMs: Summary;
  timeouts: number;
  /** Senders answered 503 `overloaded` at least once (they resent after Retry-After), and such answers in all. */
  overloadedSenders: number;
  overloadedAnswers: number;
  errors: number;
  notAccepted: number;
  /** From the webhook being sent to the person's last account write in any system. */
  toLastAccountMs: Summary;
  workerCpuSecondsPerHire: number;
  /** The worker's CPU per hire by thread: main (activities, SDK bridge), workflow thread, the rest (core, V8). */
  workerThreadsPerHire: { main: number; workflow: number; other: number };
  serverCpuSecondsPerHire: number;
  intakeCpuSecondsPerHire: number;
  /** The audit store's PostgreSQL, its backends included. */
  postgresCpuSecondsPerHire: number;
  /** This process: the HR senders and the SCIM stand-ins (a cost of the test bed, not of Tenure). */
  benchCpuSecondsPerHire: number;
  apiCallsPerHire: number;
  auditRowsPerHire: number;
  /** Peer requests that took longer than 1 s to answer (the stand-ins were a bottleneck if any). */
  slowPeerRequests: number;
  perHire: HistoryCost;
  /** Medians over a sample of answers: where the answer's time went (see `AnswerPhases`). */
  answerPhasesMs: AnswerPhases | undefined;
  /** The same for the slowest answers (the slowest 2 %, at least 3): where the tail's time went. */
  slowAnswerPhasesMs: AnswerPhases | undefined;
  sends: SendResult[];
}

/** How many answers the phase breakdown reads (one entity history each). */
const PHASE_SAMPLE = 40;

/** Answers spread over the wave (the first ones meet an idle deployment, the last ones a draining one). */
function spread(sends: readonly SendResult[]): SendResult[] {
  const step = Math.max(1, Math.floor(sends.length / PHASE_SAMPLE));
  return sends.filter((_, i) => i % step === 0).slice(0, PHASE_SAMPLE);
}

/** The slowest 2 % of the answers, at least 3. */
function slowest(sends: readonly SendResult[]): SendResult[] {
  const n = Math.max(3, Math.ceil(sends.length * 0.02));
  return [...sends].sort((a, b) => b.answeredAt - b.sentAt - (a.answeredAt - a.sentAt)).slice(0, n);
}

async function medianPhases(t: BenchTenure, picked: readonly SendResult[]): Promise<AnswerPhases | undefined> {
  const phases = (
    await Promise.all(picked.map((s) => answerPhases(t.client, employeeWorkflowId(s.hrId), s.sentAt, s.answeredAt)))
  ).filter((p): p is AnswerPhases => p !== undefined);
  if (phases.length === 0) return undefined;
  const median = (k: keyof AnswerPhases): number => summarize(phases.map((p) => p[k])).p50;
  return { toServer: median('toServer'), queued: median('queued'), onWorker: median('onWorker'), back: median('back') };
}

export function failedQuery(taskQueue: string): string {
  return `TaskQueue="${taskQueue}" AND (ExecutionStatus="Failed" OR ExecutionStatus="Terminated" OR ExecutionStatus="TimedOut")`;
}

let wave = 0;

/** How many of these people have every system's account, active: their hire is done (`BenchTenure.peers`). */
export function hiredCount(t: BenchTenure, hrIds: readonly string[]): number {
  const people = t.accountsByPerson();
  return hrIds.filter((id) => {
    const accounts = people.get(id) ?? [];
    return accounts.length === t.peers.length && accounts.every((a) => a.active);
  }).length;
}

/**
 * Resolves (with the instant) once every one of these people's hires is done: each system's stand-in holds their
 * account, active. A hire's run may have a workflow of its own or be carried out by the person's entity
 * (docs/decisions/0004), so the stand-ins, not visibility, say when it is done. Throws when a workflow on the task
 * queue failed, or when the count has not moved for `stallMs`.
 */
export async function waitForHires(
  t: BenchTenure,
  hrIds: readonly string[],
  opts: { label?: string; stallMs?: number } = {},
): Promise<number> {
  const stallMs = opts.stallMs ?? 180_000;
  let last = -1;
  let movedAt = Date.now();
  let reportedAt = 0;
  for (;;) {
    const done = hiredCount(t, hrIds);
    const now = Date.now();
    if (done >= hrIds.length) return now;
    if (done !== last) {
      last = done;
      movedAt = now;
    }
    if (now - reportedAt > 10_000) {
      reportedAt = now;
      progress(`${opts.label ?? 'hires done'}: ${done}/${hrIds.length}`);
      const failed = await countWorkflows(t.client, failedQuery(t.taskQueue));
      if (failed > 0) throw new Error(`${failed} workflow(s) failed (${failedQuery(t.taskQueue)})`);
    }
    if (now - movedAt > stallMs) {
      throw new Error(`${opts.label ?? 'hires done'}: stuck at ${done}/${hrIds.length} for ${stallMs} ms`);
    }
    await sleep(100);
  }
}

/**
 * `n` hires (hire date in the past: each run starts at once) sent by `senders` concurrent HR senders; resolves
 * when every accepted hire is done (`waitForHires`).
 */
export async function hireWave(t: BenchTenure, serverPid: number, n: number, senders: number): Promise<WaveResult> {
  wave += 1;
  const prefix = `W${wave}X${Date.now().toString(36)}N`;
  const events = Array.from({ length: n }, (_, i) => ({
    eventId: `hire-${prefix}${i}`,
    kind: 'hire' as const,
    record: hireRecord(prefix, i, '2025-01-06'),
  }));
  const worker = t.workers[0];
  if (!worker) throw new Error('no worker');
  const cpu0 = {
    worker: cpuSeconds(worker.pid),
    server: cpuSeconds(serverPid),
    intake: cpuSeconds(t.intake.pid),
    postgres: treeCpuSeconds(t.postgresPid),
    bench: cpuSeconds(process.pid),
  };
  const threads0 = threadCpuSeconds(worker.pid);
  const requests0 = t.peers.map((p) => p.requests.length);
  const audit0 = await t.auditRows();
  progress(`${n} hires from ${senders} concurrent senders`);
  const t0 = Date.now();
  const sends = await sendEvents(t, events, senders);
  const accepted = sends.filter((s) => s.outcome === 'accepted');
  progress(`answered: ${accepted.length} accepted, ${sends.length - accepted.length} not`);
  let doneAt = await waitForHires(
    t,
    accepted.map((s) => s.hrId),
    { label: 'hires done' },
  );
  // A sender that timed out may still have had its hire accepted: the wave ends when their count stops moving.
  let ran = hiredCount(
    t,
    sends.map((s) => s.hrId),
  );
  if (accepted.length < sends.length) {
    for (let stillFor = 0; stillFor < 5_000; stillFor += 250) {
      await sleep(250);
      const now = hiredCount(
        t,
        sends.map((s) => s.hrId),
      );
      if (now !== ran) {
        ran = now;
        stillFor = 0;
        doneAt = Date.now();
      }
    }
  }
  const seconds = (doneAt - t0) / 1000;
  const cpu = {
    worker: cpuSeconds(worker.pid),
    server: cpuSeconds(serverPid),
    intake: cpuSeconds(t.intake.pid),
    postgres: treeCpuSeconds(t.postgresPid),
    bench: cpuSeconds(process.pid),
  };
  const threads = workerThreadSplit(worker.pid, threads0, threadCpuSeconds(worker.pid));
  const lastWrite = t.lastAccountWrite();
  const toLast = accepted.flatMap((s) => {
    const at = lastWrite.get(s.hrId);
    return at === undefined ? [] : [at - s.sentAt];
  });
  const newRequests = t.peers.flatMap((p, i) => p.requests.slice(requests0[i]));
  const apiCalls = newRequests.length;
  const slowPeerRequests = newRequests.filter((r) => r.finishedAt !== undefined && r.finishedAt - r.at > 1000).length;
  const sample = accepted[0];
  const perHire = sample
    ? await historyCost(t.client, [
        employeeWorkflowId(sample.hrId),
        `${employeeWorkflowId(sample.hrId)}/hire/${sample.eventId}`,
      ])
    : { events: 0, workflowTasks: 0, activities: 0 };
  // Per hire that ran (a hire whose sender timed out still runs: the intake finishes delivering it).
  const count = Math.max(1, ran);
  return {
    n,
    senders,
    seconds,
    ran,
    perSecond: ran / seconds,
    answerMs: summarize(sends.filter((s) => !s.timedOut).map((s) => s.answeredAt - s.sentAt)),
    timeouts: sends.filter((s) => s.timedOut).length,
    overloadedSenders: sends.filter((s) => s.overloaded > 0).length,
    overloadedAnswers: sends.reduce((n, s) => n + s.overloaded, 0),
    errors: sends.filter((s) => s.outcome === 'error' && !s.timedOut).length,
    notAccepted: sends.length - accepted.length,
    toLastAccountMs: summarize(toLast),
    workerCpuSecondsPerHire: (cpu.worker - cpu0.worker) / count,
    workerThreadsPerHire: {
      main: threads.main / count,
      workflow: threads.workflow / count,
      other: threads.other / count,
    },
    serverCpuSecondsPerHire: (cpu.server - cpu0.server) / count,
    intakeCpuSecondsPerHire: (cpu.intake - cpu0.intake) / count,
    postgresCpuSecondsPerHire: (cpu.postgres - cpu0.postgres) / count,
    benchCpuSecondsPerHire: (cpu.bench - cpu0.bench) / count,
    apiCallsPerHire: apiCalls / count,
    auditRowsPerHire: ((await t.auditRows()) - audit0) / count,
    slowPeerRequests,
    perHire,
    answerPhasesMs: await medianPhases(t, spread(accepted.filter((s) => s.overloaded === 0))),
    slowAnswerPhasesMs: await medianPhases(t, slowest(accepted.filter((s) => s.overloaded === 0))),
    sends,
  };
}
