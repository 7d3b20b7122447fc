import assert from 'node:assert/strict';
import { createTenureMetrics } from '../../src/observability/metrics';
import { fleetQueries, statusLabel } from '../../src/observability/fleet';
import { metricsSettingsFromEnv, sdkPrometheusOptions } from '../../src/observability/sdk';
import { startMetricsServer } from '../../src/observability/server';

describe('metrics: the registry, its settings and its endpoint', () => {
  it('records through typed helpers into its own registry', async () => {
    const m = createTenureMetrics({ defaultLabels: { service: 'test' } });
    m.hrEvent({ source: 'generic-webhook', outcome: 'refused', reason: 'bad_signature' });
    m.hrEvent({ source: 'generic-webhook', outcome: 'accepted' });
    m.step({
      system: 'wiki',
      action: 'create_account',
      seconds: 0.2,
      failure: { final: true, type: 'invalid_request' },
    });
    m.step({ action: 'verify_exit', seconds: 0.01 });
    m.accessChanged('revoke', -5);
    /** The value of the series of `name` with exactly these labels (besides the default ones). */
    const value = async (name: string, labels: Record<string, string>): Promise<number | undefined> => {
      const all = await m.registry.getMetricsAsJSON();
      const want = { ...labels, service: 'test' };
      return all
        .flatMap((x) =>
          (x.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]).map((v) => ({
            ...v,
            name: v.metricName ?? x.name,
          })),
        )
        .find(
          (v) =>
            v.name === name &&
            Object.keys(v.labels).length === Object.keys(want).length &&
            Object.entries(want).every(([k, l]) => String(v.labels[k]) === l),
        )?.value;
    };
    const webhook = { source: 'generic-webhook' };
    assert.equal(await value('tenure_hr_events_total', { ...webhook, outcome: 'refused', reason: 'bad_signature' }), 1);
    assert.equal(await value('tenure_hr_events_total', { ...webhook, outcome: 'accepted', reason: 'none' }), 1);
    const failure = { system: 'wiki', action: 'create_account', final: 'true', type: 'invalid_request' };
    assert.equal(await value('tenure_step_failures_total', failure), 1);
    const verify = { system: 'none', action: 'verify_exit', result: 'success' };
    assert.equal(await value('tenure_step_duration_seconds_count', verify), 1);
    // A clock skew never observes a negative latency: it lands in the first bucket.
    assert.equal(await value('tenure_access_change_seconds_bucket', { le: '1', direction: 'revoke' }), 1);
  });

  it('reads the ports from the environment and refuses nonsense', () => {
    assert.deepEqual(metricsSettingsFromEnv({}), { host: '127.0.0.1' });
    assert.deepEqual(metricsSettingsFromEnv({ TENURE_METRICS_PORT: '9464', TENURE_SDK_METRICS_PORT: '9465' }), {
      host: '127.0.0.1',
      port: 9464,
      sdkBindAddress: '127.0.0.1:9465',
    });
    assert.throws(
      () => metricsSettingsFromEnv({ TENURE_METRICS_PORT: 'http' }),
      /TENURE_METRICS_PORT: "http" is not a port/,
    );
    assert.throws(
      () => metricsSettingsFromEnv({ TENURE_METRICS_PORT: '9464', TENURE_SDK_METRICS_PORT: '9464' }),
      /must differ/,
    );
    assert.deepEqual(sdkPrometheusOptions('0.0.0.0:9465').metrics, {
      metricPrefix: 'temporal_',
      prometheus: { bindAddress: '0.0.0.0:9465', countersTotalSuffix: true, useSecondsForDurations: true },
    });
  });

  it('asks visibility on the search attributes, scoped to a task queue when given', () => {
    const q = fleetQueries('tq-1');
    assert.equal(q.runs('hire'), 'TenureEventKind = "hire" AND TaskQueue = "tq-1" GROUP BY ExecutionStatus');
    assert.equal(
      q.openExceptions,
      'ExecutionStatus = "Running" AND TenureWaitingOn STARTS_WITH "operator:" AND TaskQueue = "tq-1"',
    );
    assert.match(fleetQueries().waitingApprovals, /^WorkflowType = "approvalWorkflow" AND ExecutionStatus = "Running"/);
    assert.equal(statusLabel('ContinuedAsNew'), 'continued_as_new');
    assert.equal(statusLabel('Running'), 'running');
  });

  it('serves /metrics, /healthz, extra text, and 404 elsewhere', async () => {
    const m = createTenureMetrics();
    m.hrEvent({ source: 's', outcome: 'accepted' });
    const server = await startMetricsServer({
      port: 0,
      registry: m.registry,
      extraText: () => Promise.resolve('other_metric 1\n'),
    });
    try {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /tenure_hr_events_total\{source="s",outcome="accepted",reason="none"\} 1/);
      assert.match(text, /\nother_metric 1\n$/);
      assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { ok: true });
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
      assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });
});
