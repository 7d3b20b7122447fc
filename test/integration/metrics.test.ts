import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import type { AuditStore } from '../../src/activities/audit';
import { registerReportCommands } from '../../src/client/cli-report';
import { retryStep } from '../../src/client/operations';
import { TenureClient } from '../../src/client/tenure-client';
import { freePort } from '../../src/dev/ports';
import { eventWorkflowId } from '../../src/domain/ids';
import type { RunningMetricsServer } from '../../src/observability';
import {
  SDK_METRIC_NAMES,
  defaultTenureMetrics,
  registerFleetGauges,
  startMetricsServer,
} from '../../src/observability';
import type { KpiReport } from '../../src/observability/report';
import { onboardingStatusQuery } from '../../src/workflows/onboarding/messages';
import type { onboardingWorkflow } from '../../src/workflows/onboarding/onboarding';
import { makeRecord } from '../helpers/records';
import { devServer } from '../helpers/temporal';
import type { TenureHarness } from '../helpers/tenure';
import { startTenure } from '../helpers/tenure';
import { waitFor, resultWhenStarted } from '../helpers/wait';

/** One sample of the exposition text: `name{a="b",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ''] = l[2] ?? '';
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `match`. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

async function scrape(server: RunningMetricsServer): Promise<Sample[]> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return parseExposition(await res.text());
}

/**
 * Issue 12 item 5, done when `/metrics` and `tenure report` show the figures after a test run: two real hires
 * through the intake (one with an app that refuses the account until an operator retries), a refused and a
 * duplicate delivery, then the metrics endpoint and the report on the same audit store.
 */
describe('metrics and report: the figures after real hires', function () {
  this.timeout(180_000);
  let t: TenureHarness;
  let server: RunningMetricsServer;
  let unhook: () => void;
  let before0: Sample[];
  const metrics = defaultTenureMetrics();

  before(async () => {
    t = await startTenure();
    unhook = registerFleetGauges(metrics, t.client, { taskQueue: t.taskQueue, cacheMs: 0 });
    server = await startMetricsServer({ port: 0, registry: metrics.registry });
    before0 = await scrape(server);
  });
  after(async () => {
    unhook?.();
    await server?.close();
    await t?.stop();
  });

  const delta = (now: Sample[], name: string, match: Record<string, string> = {}): number =>
    total(now, name, match) - total(before0, name, match);

  it('counts events, steps, failures, access changes and the fleet; the report computes the KPIs', async () => {
    // A: a hire whose date has passed, so it runs at once.
    const a = makeRecord({ hireDate: '2026-01-05' });
    const aEvent = { eventId: `evt-${a.hrId}`, kind: 'hire' as const, record: a };
    assert.equal((await t.tenure.sendEvent(aEvent)).outcome, 'accepted');
    // The same event again (a duplicate) and one with a wrong signature (refused).
    assert.equal((await t.tenure.sendEvent(aEvent)).outcome, 'duplicate');
    const forged = await new TenureClient({ url: t.intake.url, secret: 'not-the-secret' }).sendEvent(aEvent);
    assert.equal(forged.status, 401);
    const aRun = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(a.hrId, 'hire', aEvent.eventId),
    );
    // Due and waiting on nobody, A is carried out by the person's entity (docs/decisions/0004): no run workflow.
    assert.equal((await resultWhenStarted(aRun)).stage, 'completed');

    // B: the app refuses the account with a 400: an exception, seen by the fleet gauge, until an operator retries.
    t.app.faults.next(1, {
      method: 'POST',
      path: '/Users',
      status: 400,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: 'title too long' },
    });
    const b = makeRecord({ hireDate: '2026-01-05' });
    const bEvent = { eventId: `evt-${b.hrId}`, kind: 'hire' as const, record: b };
    assert.equal((await t.tenure.sendEvent(bEvent)).outcome, 'accepted');
    const bRun = t.client.workflow.getHandle<typeof onboardingWorkflow>(
      eventWorkflowId(b.hrId, 'hire', bEvent.eventId),
    );
    await waitFor(async () => (await bRun.query(onboardingStatusQuery)).exceptions.length > 0, 30_000, 'exception');
    await waitFor(
      async () => total(await scrape(server), 'tenure_open_exceptions') === 1,
      30_000,
      'tenure_open_exceptions = 1 (visibility catches up)',
    );
    await retryStep(t.client, b.hrId, 'create_account:wiki');
    assert.equal((await bRun.result()).stage, 'completed');

    // /metrics: Tenure's counters moved by exactly what happened.
    const now = await scrape(server);
    assert.equal(delta(now, 'tenure_hr_events_total', { outcome: 'accepted', source: 'generic-webhook' }), 2);
    assert.equal(delta(now, 'tenure_hr_events_total', { outcome: 'duplicate' }), 1);
    assert.equal(delta(now, 'tenure_hr_events_total', { outcome: 'refused', reason: 'bad_signature' }), 1);
    assert.equal(
      delta(now, 'tenure_step_failures_total', { system: 'wiki', action: 'create_account', final: 'true' }),
      1,
    );
    assert.equal(delta(now, 'tenure_step_failures_total', { system: 'idp' }), 0);
    // Every step attempt timed: A's four, B's four and the failed one.
    assert.equal(delta(now, 'tenure_step_duration_seconds_count'), 9);
    assert.equal(delta(now, 'tenure_step_duration_seconds_count', { result: 'failure', system: 'wiki' }), 1);
    // Access granted: two activations per hire.
    assert.equal(delta(now, 'tenure_access_change_seconds_count', { direction: 'grant' }), 4);
    assert.equal(delta(now, 'tenure_access_change_seconds_count', { direction: 'revoke' }), 0);
    // The fleet, from visibility on this task queue: one completed hire run (B, handed over to a run of its own when
    // its step failed; A had no workflow of its own: it counts in the step and access-change metrics), nothing waiting.
    await waitFor(
      async () => total(await scrape(server), 'tenure_runs', { kind: 'hire', status: 'completed' }) === 1,
      30_000,
      'one completed hire run in visibility',
    );
    const fleet = await scrape(server);
    assert.equal(total(fleet, 'tenure_open_exceptions'), 0);
    assert.equal(total(fleet, 'tenure_waiting_approvals'), 0);
    assert.equal(total(fleet, 'tenure_waiting_tasks'), 0);
    assert.equal(delta(fleet, 'tenure_fleet_scrape_errors_total'), 0);
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { ok: true });

    // tenure report on the same audit store (the command does not close a store it was handed).
    const report = await runReport(t.audit, ['--since', '1h', '--format', 'json']);
    const r = JSON.parse(report.stdout) as KpiReport;
    assert.deepEqual(r.runs, { total: 2, byKind: { hire: 2 } });
    assert.equal(r.events.accepted, 2);
    assert.equal(r.events.duplicate, 1);
    assert.equal(r.automationFailures.runsFailed, 1, 'B failed once for good before the retry');
    assert.equal(r.automationFailures.rate, 0.5);
    assert.equal(r.automationFailures.met, false);
    assert.deepEqual(
      { expected: r.auditCompleteness.stepsExpected, evidenced: r.auditCompleteness.stepsWithEvidence },
      { expected: 8, evidenced: 8 },
    );
    assert.equal(r.auditCompleteness.ratio, 1);
    assert.equal(r.auditCompleteness.met, true);
    assert.equal(r.timeToAccess.samples, 2);
    assert.equal(r.timeToAccess.byDirection.grant?.samples, 2);
    const medianSeconds = r.timeToAccess.medianSeconds ?? -1;
    assert.ok(medianSeconds >= 0 && medianSeconds < 120, `median ${medianSeconds}s from HR change to access`);
    assert.ok((r.timeToAccess.p95Seconds ?? -1) >= medianSeconds);
    assert.deepEqual(r.manualTasks, { total: 0, perRun: 0 });

    const table = await runReport(t.audit, ['--since', '1h', '--strict']);
    assert.match(table.stdout, /Automation failure rate\s+50\.00 % \(1 of 2 runs; target < 1\.00 %\)\s+MISSED/);
    assert.match(table.stdout, /Audit completeness\s+100 % \(8 of 8 due steps in 2 runs; target 100 %\)\s+ok/);
    assert.match(table.stdout, /HR change → access change \(median \/ p95\)\s+\S+ \/ \S+ over 2 runs/);
    assert.match(table.stdout, /Manual tasks per run\s+0\.00 \(0 tasks\)/);
    assert.equal(table.exitCode, 2, '--strict exits 2 when a target is missed');
  });
});

async function runReport(store: AuditStore, args: string[]): Promise<{ stdout: string; exitCode: number }> {
  let stdout = '';
  let exitCode = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      stdout += chunk.toString('utf8');
      done();
    },
  });
  const program = new Command('tenure').exitOverride();
  registerReportCommands(program, {
    stdout: sink,
    stderr: sink,
    openStore: () =>
      Promise.resolve({
        append: (e) => store.append(e),
        stream: (q) => store.stream(q),
        count: (q) => store.count(q),
        verify: () => store.verify(),
        close: () => Promise.resolve(),
      }),
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  await program.parseAsync(['node', 'tenure', 'report', ...args]);
  return { stdout, exitCode };
}

/** The SDK's own exporter, installed the way the worker process does it (a Runtime is once per process). */
describe('metrics: the SDK exporter from sdkPrometheusOptions', function () {
  this.timeout(120_000);

  it('serves temporal_* metrics with the names the dashboard queries', async () => {
    const port = await freePort();
    const script = `
      const { Runtime, NativeConnection, Worker } = require('@temporalio/worker');
      const { sdkPrometheusOptions } = require('./src/observability/sdk');
      Runtime.install({ telemetryOptions: sdkPrometheusOptions('127.0.0.1:${port}') });
      (async () => {
        const connection = await NativeConnection.connect({ address: process.argv[1] });
        const worker = await Worker.create({ connection, taskQueue: 'sdk-metrics-' + process.pid, activities: { ping: async () => 'pong' } });
        const running = worker.run();
        const res = await fetch('http://127.0.0.1:${port}/metrics');
        process.stdout.write(await res.text());
        worker.shutdown();
        await running;
        await connection.close();
      })().catch((err) => { console.error(err); process.exit(1); });
    `;
    const text = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-r', 'tsx/cjs', '-e', script, devServer().address],
        { cwd: join(__dirname, '..', '..'), timeout: 90_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      );
    });
    const names = new Set(parseExposition(text).map((s) => s.name));
    assert.ok(names.has('temporal_worker_task_slots_available'), [...names].join(', '));
    for (const name of [...names].filter((n) => n.startsWith('temporal_'))) {
      assert.ok(!/_milliseconds/.test(name), `${name}: durations are in seconds`);
    }
    // Every SDK name the dashboard uses that this idle worker already emits is spelt as SDK_METRIC_NAMES says.
    const emitted = SDK_METRIC_NAMES.filter((n) => names.has(n));
    assert.ok(emitted.length >= 1, `emitted: ${[...names].join(', ')}`);
  });
});
