/**
 * Drift reconciliation benchmark (issue 14, item 7): a reconciliation of 10,000 HR records against three SCIM
 * systems holding 10,000 accounts each, on local peers (src/dev/scim-peer.ts), reported as a ratio to a bare paged
 * listing of the same three systems measured in the same run. Targets: under 30 s in all, ratio under 2.
 *
 *   node -r tsx/cjs bench/reconcile.bench.ts           # full size
 *   BENCH_SCALE=0.1 node -r tsx/cjs bench/reconcile.bench.ts
 *
 * The systems are read-only SCIM stand-ins seeded directly (test/peers/scim-list-peer.ts): SCIMMY's peer
 * (src/dev/scim-peer.ts) renders every user for every page, so its own paging is quadratic and it, not Tenure, is the
 * bottleneck at this size (measured: 3 × 1,000 accounts listed in 18 s on a loaded 2-core machine, seeding 1,000 users
 * by POST took 4-20 s). `RECONCILE_BENCH_PEER=scimmy` runs the same bench on it (seeded through its SCIM API).
 *
 * What is timed: the reconcile activity (`runReconcile`) end to end — every system listed through the SCIM
 * connector (paged, systems in parallel), the audit store read for Tenure's last writes, the classification, and
 * the report and each finding written as evidence (embedded store) — with HR's people handed in directly (10,000
 * person entities would measure Temporal's status queries, not reconciliation). The baseline is the same connectors'
 * `listAccounts`, all three in parallel, and nothing else. About 1 % of accounts are seeded with drift (hand-edited
 * titles, orphans, leavers still active, missing accounts), so the findings' evidence is part of the figure.
 * Seeding is timed and printed apart: it is not part of either figure.
 */
import { openAuditStore } from '../src/activities/audit';
import { ScimConnector } from '../src/activities/scim/client';
import { parsePolicy } from '../src/config/policy-file';
import type { EmployeeRecord } from '../src/domain/employee';
import type { ScimPeer } from '../src/dev/scim-peer';
import { startScimPeer } from '../src/dev/scim-peer';
import type { HrSnapshot } from '../src/reconcile/activities';
import { createReconcileActivities } from '../src/reconcile/activities';
import { createTenureMetrics } from '../src/observability/metrics';
import { startScimListPeer } from '../test/peers/scim-list-peer';
import { report } from './lib/results';
import { pool, progress, scaled } from './lib/scale';

const PEOPLE = scaled(10_000, 50);
const SYSTEMS = ['idp', 'crm', 'wiki'] as const;
/** The peers' largest page and the connectors' page size (the same for the baseline and the reconciliation). */
const PAGE = 200;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function person(i: number): EmployeeRecord {
  const hrId = `B${String(i).padStart(6, '0')}`;
  return {
    hrId,
    legalFirstName: `Given${i}`,
    legalLastName: `Family${i}`,
    workEmail: `p${i}@bench.example`,
    department: ['Engineering', 'Sales', 'Finance', 'People'][i % 4] ?? 'Engineering',
    title: `Title ${i % 37}`,
    location: { name: 'Lisbon', countryCode: 'PT', timeZone: 'Europe/Lisbon' },
    employmentType: 'employee',
    status: i % 200 === 7 ? 'terminated' : 'active',
    hireDate: '2024-01-02',
    sourceUpdatedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** The user a system holds for a person, with the bench's drift mixed in (about 1 %). */
function userFor(r: EmployeeRecord, i: number, system: number): Record<string, unknown> | undefined {
  if (i % 300 === 11 + system) return undefined; // missing
  const leaverActive = r.status === 'terminated' && i % 400 === 7;
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    userName: r.workEmail,
    externalId: r.hrId,
    name: { givenName: r.legalFirstName, familyName: r.legalLastName },
    emails: [{ value: r.workEmail, type: 'work', primary: true }],
    title: i % 250 === 3 + system ? 'Hand-edited' : r.title,
    active: r.status !== 'terminated' || leaverActive,
    [ENTERPRISE]: { department: r.department },
  };
}

interface BenchPeer {
  name: string;
  url: string;
  seed(users: Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

async function lean(name: string): Promise<BenchPeer> {
  const peer = await startScimListPeer({ maxPageSize: PAGE });
  return {
    name,
    url: peer.url,
    seed: (users) => Promise.resolve(void peer.seed(users)),
    close: () => peer.close(),
  };
}

async function scimmy(name: string): Promise<BenchPeer> {
  const peer = await startScimPeer({ name, maxPageSize: PAGE });
  return { name, url: peer.url, seed: (users) => seedOverHttp(peer, users), close: () => peer.close() };
}

async function seedOverHttp(peer: ScimPeer, users: Record<string, unknown>[]): Promise<void> {
  await pool(users, 16, async (u) => {
    const res = await fetch(`${peer.url}/Users`, {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json' },
      body: JSON.stringify(u),
    });
    if (res.status !== 201) throw new Error(`seeding ${peer.name}: ${res.status} ${await res.text()}`);
  });
}

async function bareListing(connectors: ScimConnector[]): Promise<{ ms: number; accounts: number }> {
  const t0 = performance.now();
  const counts = await Promise.all(
    connectors.map(async (c) => {
      let n = 0;
      for await (const _ of c.listAccounts()) n += 1;
      return n;
    }),
  );
  return { ms: performance.now() - t0, accounts: counts.reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
  const kind = process.env.RECONCILE_BENCH_PEER === 'scimmy' ? 'scimmy' : 'lean';
  const peers = await Promise.all(SYSTEMS.map((name) => (kind === 'scimmy' ? scimmy(name) : lean(name))));
  const audit = await openAuditStore();
  try {
    const people = Array.from({ length: PEOPLE }, (_, i) => person(i));
    const t0 = performance.now();
    for (const [s, peer] of peers.entries()) {
      const users = people.map((r, i) => userFor(r, i, s)).filter((u): u is Record<string, unknown> => !!u);
      // Orphans: about 0.5 % more accounts nobody in HR has.
      for (let k = 0; k < Math.max(1, Math.round(PEOPLE / 200)); k++) {
        users.push({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `orphan${s}-${k}`,
          active: true,
        });
      }
      await peer.seed(users);
      progress(`seeded ${peer.name}: ${users.length} accounts`);
    }
    const seedSeconds = (performance.now() - t0) / 1000;

    const { policy, version } = parsePolicy({
      systems: SYSTEMS.map((id, s) => ({
        id,
        name: id,
        kind: s === 0 ? ('identity-provider' as const) : ('app' as const),
        connector: { type: 'scim' as const, baseUrl: peers[s]?.url ?? '' },
      })),
      birthright: [{ name: 'everyone', systems: [...SYSTEMS] }],
      reconcile: {},
    });
    const connectors = SYSTEMS.map(
      (id, s) => new ScimConnector({ systemId: id, baseUrl: peers[s]?.url ?? '', pageSize: PAGE }),
    );
    const hr: HrSnapshot = {
      people: people.map((record) => ({ record, hrChangedAt: '2026-01-01T00:00:01.000Z' })),
      current: new Map(),
    };
    const acts = createReconcileActivities({
      policy: { policy, version },
      audit,
      connectors: new Map(connectors.map((c) => [c.systemId, c])),
      taskQueue: 'bench',
      client: () => Promise.reject(new Error('a report-only bench needs no Temporal')),
      metrics: createTenureMetrics(),
      people: () => Promise.resolve(hr),
    });

    // Warm-up (JIT, keep-alive sockets), then baseline / reconcile / baseline: the baseline is their mean.
    await bareListing(connectors);
    const before = await bareListing(connectors);
    const r0 = performance.now();
    const result = await acts.runReconcile({ runId: `bench-${Date.now()}` });
    const reconcileMs = performance.now() - r0;
    const after = await bareListing(connectors);
    const listingMs = (before.ms + after.ms) / 2;
    const seconds = reconcileMs / 1000;
    const ratio = reconcileMs / listingMs;
    const findings = result.findings.length + result.findingsOmitted;
    progress(`listed ${before.accounts} accounts; ${findings} findings: ${JSON.stringify(result.totals)}`);

    report(
      'reconcile',
      [
        {
          name: `reconciliation, ${PEOPLE} HR records × ${SYSTEMS.length} systems`,
          value: seconds,
          unit: 's',
          baseline: listingMs / 1000,
          baselineName: `bare paged listing of ${before.accounts} accounts`,
          target: '< 30 s and ratio < 2',
          holds: seconds < 30 && ratio < 2,
          note: `${kind === 'lean' ? 'read-only SCIM stand-ins' : 'SCIMMY peers'}; ratio ${ratio.toFixed(2)}; ${findings} findings written as evidence; seeding (not timed in either) took ${seedSeconds.toFixed(1)} s`,
        },
      ],
      { people: PEOPLE, accounts: before.accounts, totals: result.totals, pageSize: PAGE, seedSeconds, peer: kind },
    );
    process.stdout.write(`reconcile: ${seconds.toFixed(2)} s in all, ratio ${ratio.toFixed(2)} to the bare listing\n`);
  } finally {
    await audit.close();
    await Promise.all(peers.map((p) => p.close()));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
