import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTenureMetrics, METRIC } from '../../src/observability/metrics';
import { SDK_METRIC_NAMES } from '../../src/observability/sdk';

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

const dashboard = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'deploy', 'grafana', 'tenure-dashboard.json'), 'utf8'),
) as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string }[] } };

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Every metric name a PromQL expression uses (Tenure's and the SDK's). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:tenure|temporal)_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '');
}

/** The labels grouped by in `by (…)` clauses. */
function groupedLabels(expr: string): string[] {
  return [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((l) => l.trim()));
}

describe('Grafana dashboard (deploy/grafana/tenure-dashboard.json)', () => {
  const { registry } = createTenureMetrics();
  const queried = dashboard.panels.filter((p) => p.type !== 'row');

  it('is a dashboard model Grafana imports: uid, title, schema version, panels on a Prometheus datasource', () => {
    assert.equal(dashboard.uid, 'tenure-overview');
    assert.ok(dashboard.title);
    assert.ok(dashboard.schemaVersion >= 36);
    assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource'));
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of queried) {
      assert.equal(p.datasource?.type, 'prometheus', p.title);
      assert.ok(p.targets && p.targets.length > 0, `${p.title} has a query`);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    }
  });

  it('queries only metrics that exist: Tenure names in the registry, SDK names from sdkPrometheusOptions', () => {
    const sdk: readonly string[] = SDK_METRIC_NAMES;
    for (const p of queried) {
      for (const t of p.targets ?? []) {
        const names = metricNames(t.expr);
        assert.ok(names.length > 0, `${p.title}: ${t.expr} names a metric`);
        for (const name of names) {
          if (name.startsWith('temporal_')) {
            assert.ok(sdk.includes(name), `${p.title}: ${name} is not in SDK_METRIC_NAMES`);
            continue;
          }
          const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
          const base = suffix && !registry.getSingleMetric(name) ? name.slice(0, -suffix.length) : name;
          const metric = registry.getSingleMetric(base) as unknown as { labelNames: string[] } | undefined;
          assert.ok(metric, `${p.title}: ${name} is not a Tenure metric`);
          for (const label of groupedLabels(t.expr)) {
            assert.ok(label === 'le' || metric.labelNames.includes(label), `${p.title}: ${base} has no label ${label}`);
          }
        }
      }
    }
  });

  it('shows every Tenure metric somewhere', () => {
    const used = new Set(queried.flatMap((p) => (p.targets ?? []).flatMap((t) => metricNames(t.expr))));
    const covered = (name: string): boolean =>
      used.has(name) || HISTOGRAM_SUFFIXES.some((s) => used.has(`${name}${s}`));
    for (const name of Object.values(METRIC)) assert.ok(covered(name), `no panel shows ${name}`);
  });
});
