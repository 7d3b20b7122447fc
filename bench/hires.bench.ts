/**
 * Hire throughput against raw Temporal (issue 15), on one dev server in one run:
 *
 * - the baseline: 500 and 2,000 trivial workflows (two no-op activities) at once, before Tenure's waves and again
 *   after them (the ratios are to the mean: the machine drifts and the dev server's store grows through a run);
 * - the floor: 500 and 2,000 hires of the least work a hire needs (one workflow, two activities each creating one
 *   account in a SCIM stand-in and writing one audit row, payloads encrypted; bench/lib/floor.ts): a hire's work
 *   on raw Temporal with regular activities, for reference (a late hire's steps as local activities can beat it);
 * - Tenure as it ships (worker and intake entry points as processes, audit store on PostgreSQL, SCIM stand-ins for
 *   an identity provider and an app): 500 hires from 50 concurrent HR senders, then 2,000 hires from 2,000 senders
 *   at once, every event signed and sent through the intake.
 *
 * Figures: hires/s and the ratio to the baseline; the webhook's answer p50/p99 at 50 senders and the senders that
 * timed out at 2,000; webhook to the person's last account p50/p99; history events and workflow tasks per hire
 * (read from a hire's histories: the person's entity and the hire run); worker CPU-s, API calls and audit rows per
 * hire (docs/scaling.md sizes a deployment from these).
 *
 *   npm run bench                                   # all benches, full scale
 *   BENCH_SCALE=0.05 node -r tsx/cjs bench/hires.bench.ts
 */
import type { BaselineResult } from './lib/baseline';
import { runBaseline } from './lib/baseline';
import { runFloor } from './lib/floor';
import type { WaveResult } from './lib/hires';
import { hireWave } from './lib/hires';
import type { Figure } from './lib/results';
import { report } from './lib/results';
import { progress, scaled } from './lib/scale';
import { startBenchTenure, stopPostgres } from './lib/tenure';
import { benchClient, startBenchServer } from './lib/temporal';

/** Where the answers' time went at 50 senders (medians of a sample, from the entities' histories). */
function phaseFigures(w: WaveResult, which: 'p50' | 'slowest 2 %'): Figure[] {
  const p = which === 'p50' ? w.answerPhasesMs : w.slowAnswerPhasesMs;
  if (!p) return [];
  const phases: [string, number][] = [
    ['to the server (intake, admission, update recorded)', p.toServer],
    ["waiting for a worker to take the entity's task", p.queued],
    ["the entity's task on the worker (plan, accept, start the run)", p.onWorker],
    ['back to the sender', p.back],
  ];
  return phases.map(([phase, value]) => ({ name: `answer ${which}, 50 senders: ${phase}`, value, unit: 'ms' }));
}

/** The baseline measured before and after Tenure's waves: their mean rate and CPU, the history of the first. */
function bracketed(before: BaselineResult, after: BaselineResult): BaselineResult {
  const mean = (a: number, b: number): number => (a + b) / 2;
  return {
    ...before,
    seconds: mean(before.seconds, after.seconds),
    perSecond: mean(before.perSecond, after.perSecond),
    workerCpuSeconds: mean(before.workerCpuSeconds, after.workerCpuSeconds),
    serverCpuSeconds: mean(before.serverCpuSeconds, after.serverCpuSeconds),
  };
}

/** Where the floor itself stands against the baseline. */
function floorNote(floorRatio: number): string {
  return `the floor is ${floorRatio.toFixed(2)}× the baseline here`;
}

function cpuTotal(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}

function cpuSplit(c: Record<string, number>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const small = scaled(500, 10);
  const large = scaled(2000, 20);
  const server = await startBenchServer();
  const serverPid = server.process.pid ?? -1;
  const { client, close } = await benchClient(server.address);
  try {
    const before = {
      small: await runBaseline(server.address, client, small, serverPid),
      large: await runBaseline(server.address, client, large, serverPid),
    };
    progress(
      `baseline: ${before.small.perSecond.toFixed(1)}/s at ${small}, ${before.large.perSecond.toFixed(1)}/s at ${large}`,
    );
    const [floorSmall, floorLarge] = await runFloor(server.address, [small, large], serverPid);
    if (!floorSmall || !floorLarge) throw new Error('floor: no result');
    progress(
      `floor: ${floorSmall.perSecond.toFixed(1)}/s at ${small}, ${floorLarge.perSecond.toFixed(1)}/s at ${large}`,
    );

    const t = await startBenchTenure({ temporalAddress: server.address, apps: 1 });
    let waves: { warm: WaveResult; small: WaveResult; large: WaveResult };
    try {
      const warm = await hireWave(t, serverPid, 10, 10);
      const s = await hireWave(t, serverPid, small, 50);
      const l = await hireWave(t, serverPid, large, large);
      waves = { warm, small: s, large: l };
    } finally {
      await t.stop();
    }
    // The baseline again, now that the server holds everything the waves left: the machine's speed drifts and the
    // dev server's store grows through a run, so Tenure is compared with the mean of a baseline on either side.
    const after = {
      small: await runBaseline(server.address, client, small, serverPid),
      large: await runBaseline(server.address, client, large, serverPid),
    };
    progress(
      `baseline after: ${after.small.perSecond.toFixed(1)}/s at ${small}, ${after.large.perSecond.toFixed(1)}/s at ${large}`,
    );
    const base = { small: bracketed(before.small, after.small), large: bracketed(before.large, after.large) };
    const { small: s, large: l } = waves;
    const rt = 'raw Temporal';
    const figures: Figure[] = [
      {
        name: `hires/s, ${small} at once (50 senders)`,
        value: s.perSecond,
        unit: '/s',
        baseline: base.small.perSecond,
        baselineName: rt,
        target: '≥ 0.5× baseline',
        holds: s.perSecond >= 0.5 * base.small.perSecond,
        note: floorNote(floorSmall.perSecond / base.small.perSecond),
      },
      {
        name: `hires/s, ${large} at once (${large} senders)`,
        value: l.perSecond,
        unit: '/s',
        baseline: base.large.perSecond,
        baselineName: rt,
        target: '≥ 0.5× baseline',
        holds: l.perSecond >= 0.5 * base.large.perSecond,
        note: floorNote(floorLarge.perSecond / base.large.perSecond),
      },
      {
        name: `the baseline before and after Tenure's waves, ${small} at once`,
        value: after.small.perSecond,
        unit: '/s',
        baseline: before.small.perSecond,
        baselineName: 'before',
        note: 'the hires ratios above are to the mean of the two',
      },
      {
        name: `the baseline before and after Tenure's waves, ${large} at once`,
        value: after.large.perSecond,
        unit: '/s',
        baseline: before.large.perSecond,
        baselineName: 'before',
      },
      {
        name: `the floor: a hire's least work, ${small} at once`,
        value: floorSmall.perSecond,
        unit: '/s',
        baseline: base.small.perSecond,
        baselineName: rt,
        note:
          'one workflow, two activities each creating one account in a SCIM stand-in and writing one audit row, ' +
          'payloads encrypted, started without sender or intake: a hire on raw Temporal with regular activities',
      },
      {
        name: `the floor: a hire's least work, ${large} at once`,
        value: floorLarge.perSecond,
        unit: '/s',
        baseline: base.large.perSecond,
        baselineName: rt,
      },
      {
        name: `hires/s against the floor, ${small} at once`,
        value: s.perSecond,
        unit: '/s',
        baseline: floorSmall.perSecond,
        baselineName: 'the floor',
      },
      {
        name: `hires/s against the floor, ${large} at once`,
        value: l.perSecond,
        unit: '/s',
        baseline: floorLarge.perSecond,
        baselineName: 'the floor',
      },
      {
        name: `the floor's CPU per hire (${small}-hire wave)`,
        value: cpuTotal(floorSmall.cpuPerHire),
        unit: 'CPU-s',
        baseline: (base.small.workerCpuSeconds + base.small.serverCpuSeconds) / small,
        baselineName: rt,
        note: cpuSplit(floorSmall.cpuPerHire),
      },
      {
        name: 'webhook answer p50, 50 senders',
        value: s.answerMs.p50,
        unit: 'ms',
      },
      {
        name: 'webhook answer p99, 50 senders',
        value: s.answerMs.p99,
        unit: 'ms',
        target: '< 2000 ms',
        holds: s.answerMs.p99 < 2000,
      },
      ...phaseFigures(s, 'p50'),
      ...phaseFigures(s, 'slowest 2 %'),
      {
        name: `webhook answer p99, ${large} senders`,
        value: l.answerMs.p99,
        unit: 'ms',
      },
      {
        name: `sender timeouts (30 s), ${large} senders`,
        value: l.timeouts,
        unit: 'senders',
        target: 'none',
        holds: l.timeouts === 0 && l.errors === 0,
        note:
          `${l.ran} of the ${l.n} hires ran; past the intake's limit a sender is answered 503 overloaded at once and ` +
          `resends after Retry-After (TenureClient does)${l.errors ? `; ${l.errors} other errors` : ''}`,
      },
      {
        name: `senders answered 503 overloaded first, ${large} senders`,
        value: l.overloadedSenders,
        unit: 'senders',
        note: `${l.overloadedAnswers} such answers in all; the answer times above include the waits and resends`,
      },
      {
        name: `senders answered 503 overloaded first, ${small} from 50 senders`,
        value: s.overloadedSenders,
        unit: 'senders',
      },
      { name: `webhook to last account p50, ${small} hires`, value: s.toLastAccountMs.p50, unit: 'ms' },
      { name: `webhook to last account p99, ${small} hires`, value: s.toLastAccountMs.p99, unit: 'ms' },
      { name: `webhook to last account p50, ${large} hires`, value: l.toLastAccountMs.p50, unit: 'ms' },
      { name: `webhook to last account p99, ${large} hires`, value: l.toLastAccountMs.p99, unit: 'ms' },
      {
        name: 'history events per hire',
        value: s.perHire.events,
        unit: 'events',
        baseline: base.small.perRun.events,
        baselineName: rt,
        note: 'the entity workflow and the hire run together',
      },
      {
        name: 'workflow tasks per hire',
        value: s.perHire.workflowTasks,
        unit: 'tasks',
        baseline: base.small.perRun.workflowTasks,
        baselineName: rt,
      },
      {
        name: 'activities per hire',
        value: s.perHire.activities,
        unit: 'activities',
        baseline: base.small.perRun.activities,
        baselineName: rt,
      },
      {
        // From the 500-hire wave, where every sender was answered.
        name: `worker CPU per hire (${small}-hire wave)`,
        value: s.workerCpuSecondsPerHire,
        unit: 'CPU-s',
        baseline: base.small.workerCpuSeconds / small,
        baselineName: rt,
      },
      {
        name: `  of which the workflow thread (${small}-hire wave)`,
        value: s.workerThreadsPerHire.workflow,
        unit: 'CPU-s',
        note: "workflow code in the SDK's sandbox: every workflow task of the entity and the run",
      },
      {
        name: `  of which the main thread (${small}-hire wave)`,
        value: s.workerThreadsPerHire.main,
        unit: 'CPU-s',
        note: "activities (HTTP to the systems, audit appends, payload encryption) and the SDK's bridge",
      },
      {
        name: `  of which other threads (${small}-hire wave)`,
        value: s.workerThreadsPerHire.other,
        unit: 'CPU-s',
        note: "Temporal's core SDK (Rust: gRPC, history), V8's compiler and garbage collector",
      },
      {
        name: `Temporal server CPU per hire (${small}-hire wave)`,
        value: s.serverCpuSecondsPerHire,
        unit: 'CPU-s',
        baseline: base.small.serverCpuSeconds / small,
        baselineName: rt,
      },
      {
        name: `intake CPU per hire (${small}-hire wave)`,
        value: s.intakeCpuSecondsPerHire,
        unit: 'CPU-s',
      },
      {
        name: `audit store (PostgreSQL) CPU per hire (${small}-hire wave)`,
        value: s.postgresCpuSecondsPerHire,
        unit: 'CPU-s',
      },
      {
        name: `senders and stand-ins CPU per hire (${small}-hire wave)`,
        value: s.benchCpuSecondsPerHire,
        unit: 'CPU-s',
        note: 'the test bed on the same 2 cores (HR senders, SCIM peers): not Tenure, but not free either',
      },
      { name: 'API calls per hire (2 systems)', value: s.apiCallsPerHire, unit: 'requests' },
      { name: 'audit rows per hire', value: s.auditRowsPerHire, unit: 'rows' },
      {
        name: 'stand-in requests slower than 1 s',
        value: s.slowPeerRequests + l.slowPeerRequests,
        unit: 'requests',
        note: 'non-zero means the SCIM stand-ins, not Tenure, limited the run',
      },
    ];
    const strip = (w: WaveResult): Omit<WaveResult, 'sends'> => {
      const { sends: _sends, ...rest } = w;
      return rest;
    };
    report('hires', figures, {
      baseline: base,
      baselineBefore: before,
      baselineAfter: after,
      floor: { small: floorSmall, large: floorLarge },
      small: strip(s),
      large: strip(l),
      warm: strip(waves.warm),
    });
  } finally {
    await close();
    await server.stop();
    await stopPostgres();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
