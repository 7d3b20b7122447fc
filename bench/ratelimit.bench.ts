/**
 * Per-system rate limits (issue 15 item 4): 2,000 hires against an identity provider whose stand-in allows 20
 * requests a second (past that it answers 429 with Retry-After, as Okta and Graph do), with the policy's
 * `systems[].rateLimit` set to the same 20/s. The burst must drain at the peer's pace (its requests a second over
 * the run close to 20), with no failed step: every hire completes, every account is active, and the peer had to
 * refuse (almost) nothing. The app, which has no limit, is served alongside without waiting for the identity
 * provider's queue beyond its dependency.
 *
 *   BENCH_SCALE=0.05 node -r tsx/cjs bench/ratelimit.bench.ts
 */
import { failedQuery, waitForHires } from './lib/hires';
import type { Figure } from './lib/results';
import { report } from './lib/results';
import { progress, scaled } from './lib/scale';
import { hireRecord, sendEvents, startBenchTenure, stopPostgres } from './lib/tenure';
import { benchClient, startBenchServer } from './lib/temporal';

const LIMIT = 20;

async function main(): Promise<void> {
  const n = scaled(2000, 20);
  const server = await startBenchServer();
  const { client, close } = await benchClient(server.address);
  try {
    const t = await startBenchTenure({
      temporalAddress: server.address,
      apps: 1,
      idpPeerLimit: LIMIT,
      idpRateLimit: { requestsPerSecond: LIMIT, concurrency: 10 },
    });
    let r: Record<string, number>;
    try {
      const prefix = `RL${Date.now().toString(36)}N`;
      progress(`${n} hires against an identity provider limited to ${LIMIT} requests/s`);
      const t0 = Date.now();
      const sends = await sendEvents(
        t,
        Array.from({ length: n }, (_, i) => ({
          eventId: `hire-${prefix}${i}`,
          kind: 'hire' as const,
          record: hireRecord(prefix, i, '2025-01-06'),
        })),
        50,
      );
      const acceptedIds = sends.filter((s) => s.outcome === 'accepted').map((s) => s.hrId);
      const accepted = acceptedIds.length;
      const doneAt = await waitForHires(t, acceptedIds, { label: 'rate-limited hires done', stallMs: 300_000 });
      const scim = t.idp.requests.filter((q) => q.path.startsWith('/scim/v2'));
      const first = Math.min(...scim.map((q) => q.at));
      const last = Math.max(...scim.map((q) => q.finishedAt ?? q.at));
      const refused = scim.filter((q) => q.status === 429).length;
      // The peer's busiest second: requests it let through in any one-second window.
      const served = scim
        .filter((q) => q.status !== 429)
        .map((q) => q.at)
        .sort((a, b) => a - b);
      let busiest = 0;
      for (let i = 0, j = 0; i < served.length; i += 1) {
        while ((served[i] ?? 0) - (served[j] ?? 0) >= 1000) j += 1;
        busiest = Math.max(busiest, i - j + 1);
      }
      const people = t.accountsByPerson();
      let notActive = 0;
      for (const s of sends) {
        const a = people.get(s.hrId) ?? [];
        if (a.length !== 2 || a.some((x) => !x.active)) notActive += 1;
      }
      const failed = await client.workflow.count(failedQuery(t.taskQueue));
      r = {
        n,
        accepted,
        seconds: (doneAt - t0) / 1000,
        idpRequests: scim.length,
        idpSeconds: (last - first) / 1000,
        pace: (scim.length - refused) / ((last - first) / 1000),
        refused,
        busiest,
        notActive,
        failedRuns: failed.count,
        appRequests: t.apps[0]?.requests.length ?? 0,
      };
    } finally {
      await t.stop();
    }
    const figures: Figure[] = [
      {
        name: `hires against a ${LIMIT}/s identity provider`,
        value: r.accepted ?? 0,
        unit: 'hires',
        target: `${n}`,
        holds: r.accepted === n,
      },
      { name: 'all hires done in', value: r.seconds ?? 0, unit: 's' },
      {
        name: 'identity provider requests served per second',
        value: r.pace ?? 0,
        unit: 'req/s',
        baseline: LIMIT,
        baselineName: "the peer's limit",
        target: `0.8–1.0× the peer's pace`,
        holds: (r.pace ?? 0) >= 0.8 * LIMIT && (r.pace ?? 0) <= LIMIT * 1.02,
      },
      {
        name: "peer's busiest second",
        value: r.busiest ?? 0,
        unit: 'requests',
        baseline: LIMIT,
        baselineName: 'limit',
      },
      {
        name: 'requests the peer refused (429)',
        value: r.refused ?? 0,
        unit: 'requests',
        note: 'each is one activity attempt that Temporal retried after Retry-After; the step itself did not fail',
      },
      {
        name: 'failed steps (runs not completed, accounts not active)',
        value: (r.failedRuns ?? 0) + (r.notActive ?? 0),
        unit: 'steps',
        target: 'none',
        holds: r.failedRuns === 0 && r.notActive === 0,
      },
      {
        name: 'identity provider requests per hire',
        value: (r.idpRequests ?? 0) / Math.max(1, r.accepted ?? 1),
        unit: 'requests',
      },
    ];
    report('ratelimit', figures, r);
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
