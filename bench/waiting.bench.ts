/**
 * 10,000 people waiting (hire date a year away; issue 15 target: worker RSS under 500 MB, and flat). The worker is
 * the real entry point as its own process; its resident memory is sampled before (warmed up by a few hires that
 * run at once), while the waiting hires arrive through the intake from 50 HR senders, and for 30 s once every hire
 * run waits and the worker is at rest (flat: it should not grow then). The Temporal server's RSS is reported too,
 * and the webhook's answer times over the whole wave.
 *
 *   BENCH_SCALE=0.1 node -r tsx/cjs bench/waiting.bench.ts
 */
import { hireWave } from './lib/hires';
import { cpuSeconds, MiB, rssBytes } from './lib/proc';
import type { Figure } from './lib/results';
import { report } from './lib/results';
import { progress, scaled, sleep } from './lib/scale';
import { summarize } from './lib/stats';
import { hireRecord, sendEvents, startBenchTenure, stopPostgres } from './lib/tenure';
import { benchClient, countWorkflows, startBenchServer, waitForCount } from './lib/temporal';

async function main(): Promise<void> {
  const n = scaled(10_000, 100);
  const settleMs = 30_000;
  const server = await startBenchServer();
  const serverPid = server.process.pid ?? -1;
  const { client, close } = await benchClient(server.address);
  try {
    const t = await startBenchTenure({ temporalAddress: server.address, apps: 1 });
    const worker = t.workers[0];
    if (!worker) throw new Error('no worker');
    const samples: { at: number; worker: number; server: number }[] = [];
    const sample = (): void =>
      void samples.push({ at: Date.now(), worker: rssBytes(worker.pid), server: rssBytes(serverPid) });
    let result: Record<string, number>;
    let answers: ReturnType<typeof summarize>;
    try {
      // Warm up: workflow code loaded, a few runs done; then the worker's memory before anyone waits.
      await hireWave(t, serverPid, 20, 20);
      await sleep(5_000);
      sample();
      const before = samples[0] as { worker: number; server: number };
      progress(`worker RSS before: ${(before.worker / MiB).toFixed(0)} MiB; sending ${n} hires a year away`);
      const timer = setInterval(sample, 2_000);
      const hireDate = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
      const prefix = `WAIT${Date.now().toString(36)}N`;
      const sends = await sendEvents(
        t,
        Array.from({ length: n }, (_, i) => ({
          eventId: `hire-${prefix}${i}`,
          kind: 'hire' as const,
          record: hireRecord(prefix, i, hireDate),
        })),
        50,
      );
      const accepted = sends.filter((s) => s.outcome === 'accepted').length;
      answers = summarize(sends.filter((s) => !s.timedOut).map((s) => s.answeredAt - s.sentAt));
      // Every person's entity keeps running (the warm-up's 20 too); the waiting ones have a hire run that waits.
      const waitingQuery = `TaskQueue="${t.taskQueue}" AND WorkflowType="onboardingWorkflow" AND ExecutionStatus="Running"`;
      // The answers go ahead of the runs (task priority): the last runs start after the last answer. Flat is measured
      // once every run waits.
      progress(`${accepted}/${n} accepted; waiting for every hire run to start`);
      await waitForCount(client, waitingQuery, accepted, { label: 'hire runs waiting' });
      // The entities then take note of their runs' starts: the worker is at rest when it idles (under 5 % of a core).
      const quietFrom = Date.now();
      for (let cpu = cpuSeconds(worker.pid); Date.now() - quietFrom < 300_000;) {
        await sleep(2_000);
        const now = cpuSeconds(worker.pid);
        if (now - cpu < 0.1) break;
        cpu = now;
      }
      progress(
        `worker at rest after ${((Date.now() - quietFrom) / 1000).toFixed(0)} s; watching it for ${settleMs / 1000} s`,
      );
      const afterSend = samples.length;
      await sleep(settleMs);
      clearInterval(timer);
      sample();
      const waiting = await countWorkflows(client, waitingQuery);
      const peakWorker = Math.max(...samples.map((s) => s.worker));
      const last = samples[samples.length - 1] as { worker: number; server: number };
      const settle = samples.slice(afterSend);
      result = {
        n,
        accepted,
        waiting,
        workerBefore: before.worker,
        workerPeak: peakWorker,
        workerAfter: last.worker,
        workerSettleFirst: settle[0]?.worker ?? Number.NaN,
        workerSettleMin: Math.min(...settle.map((s) => s.worker)),
        workerSettleMax: Math.max(...settle.map((s) => s.worker)),
        serverBefore: before.server,
        serverAfter: last.server,
        sendSeconds: (Math.max(...sends.map((s) => s.answeredAt)) - Math.min(...sends.map((s) => s.sentAt))) / 1000,
      };
    } finally {
      await t.stop();
    }
    const r = result;
    const mib = (b: number | undefined): number => (b ?? Number.NaN) / MiB;
    const restGrowth = mib((r.workerAfter ?? 0) - (r.workerSettleFirst ?? 0));
    const figures: Figure[] = [
      {
        name: 'people waiting (hire runs waiting)',
        value: r.waiting ?? 0,
        unit: 'people',
        target: `${n}`,
        holds: r.waiting === n,
      },
      {
        name: `worker RSS, ${n} waiting`,
        value: mib(r.workerAfter),
        unit: 'MiB',
        baseline: mib(r.workerBefore),
        baselineName: 'before, nobody waiting',
        target: '< 500 MB',
        holds: (r.workerAfter ?? Infinity) < 500e6 && (r.workerPeak ?? Infinity) < 500e6,
      },
      {
        name: 'worker RSS, peak while they arrived',
        value: mib(r.workerPeak),
        unit: 'MiB',
        baseline: mib(r.workerBefore),
        baselineName: 'before',
        target: '< 500 MB',
        holds: (r.workerPeak ?? Infinity) < 500e6,
      },
      {
        name: `worker RSS growth over ${settleMs / 1000} s at rest`,
        value: restGrowth,
        unit: 'MiB',
        target: '< 25 MiB (flat)',
        holds: restGrowth < 25,
        note:
          `flat: the waiting people are evicted from the cache and cost the worker nothing until their timer fires ` +
          `(lowest to highest over that time: ${mib((r.workerSettleMax ?? 0) - (r.workerSettleMin ?? 0)).toFixed(1)} MiB)`,
      },
      {
        name: `Temporal server RSS, ${n} waiting`,
        value: mib(r.serverAfter),
        unit: 'MiB',
        baseline: mib(r.serverBefore),
        baselineName: 'before',
      },
      { name: 'webhook answer p50, 50 senders', value: answers.p50, unit: 'ms' },
      {
        name: 'webhook answer p99, 50 senders',
        value: answers.p99,
        unit: 'ms',
        target: '< 2000 ms',
        holds: answers.p99 < 2000,
      },
      { name: 'intake rate, hires a year away', value: (r.accepted ?? 0) / (r.sendSeconds ?? 1), unit: 'events/s' },
    ];
    report('waiting', figures, {
      ...r,
      answers,
      samples: samples.map((s) => ({ ...s, worker: mib(s.worker), server: mib(s.server) })),
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
