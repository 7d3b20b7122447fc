/**
 * The closing summary of a bench run, or the comparison of two runs:
 *
 *   node -r tsx/cjs bench/lib/summary.ts bench/results/<run>.json                 # every target, held or missed
 *   node -r tsx/cjs bench/lib/summary.ts bench/results/<old>.json bench/results/<new>.json   # figure by figure
 */
import { readFileSync } from 'node:fs';

interface StoredFigure {
  name: string;
  value: number;
  unit: string;
  ratio?: number;
  target?: string;
  holds?: boolean;
}
interface Run {
  runId: string;
  benches: Record<string, { scale: number; figures: StoredFigure[] }>;
}

const load = (file: string): Run => JSON.parse(readFileSync(file, 'utf8')) as Run;
const num = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(3));

function summary(run: Run): void {
  process.stdout.write(`\nTargets (run ${run.runId})\n\n`);
  let missed = 0;
  for (const [bench, b] of Object.entries(run.benches)) {
    for (const f of b.figures) {
      if (!f.target) continue;
      if (!f.holds) missed += 1;
      const ratio = f.ratio !== undefined && f.ratio !== null ? ` (${f.ratio.toFixed(2)}×)` : '';
      process.stdout.write(
        `  ${f.holds ? 'holds ' : 'MISSED'}  ${bench}: ${f.name} = ${num(f.value)} ${f.unit}${ratio}; target ${f.target}${b.scale !== 1 ? ` [BENCH_SCALE=${b.scale}]` : ''}\n`,
      );
    }
  }
  process.stdout.write(`\n${missed === 0 ? 'every target holds' : `${missed} target(s) missed`}\n`);
}

function compare(before: Run, after: Run): void {
  process.stdout.write(`\n${before.runId} → ${after.runId}\n\n`);
  for (const [bench, b] of Object.entries(after.benches)) {
    const old = before.benches[bench];
    for (const f of b.figures) {
      const o = old?.figures.find((x) => x.name === f.name);
      const change = o && o.value !== 0 ? ` (${((f.value / o.value - 1) * 100).toFixed(0)} %)` : '';
      process.stdout.write(`  ${bench}: ${f.name}: ${o ? num(o.value) : '—'} → ${num(f.value)} ${f.unit}${change}\n`);
    }
  }
}

const [a, b] = process.argv.slice(2);
if (!a) {
  process.stderr.write('usage: summary.ts <run.json> [<newer run.json>]\n');
  process.exit(2);
}
if (b) compare(load(a), load(b));
else summary(load(a));
