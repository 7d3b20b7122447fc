/**
 * Benchmark results: a table on stdout (each figure with its ratio to the baseline measured in the same run, and
 * whether the issue's target holds), and a JSON file so two runs can be compared. Every bench of one
 * `npm run bench` writes into the same file, `bench/results/<BENCH_RUN_ID>.json` (scripts/bench.sh sets the id;
 * a bench run on its own gets a timestamp), each under its own name.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchScale } from './scale';

export interface Figure {
  /** What was measured, e.g. `hires/s, 500 concurrent`. */
  name: string;
  value: number;
  unit: string;
  /** The baseline's figure measured in the same run (raw Temporal, or the state before). */
  baseline?: number;
  /** What the baseline is, e.g. `raw Temporal, 2 no-op activities`. */
  baselineName?: string;
  /** The issue's target, e.g. `≥ 0.5× baseline`. */
  target?: string;
  /** Whether the target holds (absent when there is none). */
  holds?: boolean;
  note?: string;
}

const RESULTS_DIR = join(__dirname, '..', 'results');
const RUN_ID = process.env.BENCH_RUN_ID ?? new Date().toISOString().replace(/[:.]/g, '-');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : abs >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export function ratio(f: Figure): number | undefined {
  return f.baseline !== undefined && f.baseline !== 0 ? f.value / f.baseline : undefined;
}

/** Prints the bench's figures as a table and merges them into this run's JSON file; returns the file's path. */
export function report(bench: string, figures: Figure[], details: Record<string, unknown> = {}): string {
  const rows = figures.map((f) => {
    const r = ratio(f);
    return [
      f.name,
      `${fmt(f.value)} ${f.unit}`,
      f.baseline !== undefined ? `${fmt(f.baseline)} ${f.unit}${f.baselineName ? ` (${f.baselineName})` : ''}` : '',
      r !== undefined ? `${r.toFixed(2)}×` : '',
      f.target ? `${f.target}: ${f.holds ? 'holds' : 'MISSED'}` : '',
    ];
  });
  const header = ['figure', 'value', 'baseline (same run)', 'ratio', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |\n`;
  process.stdout.write(`\n${bench} (BENCH_SCALE=${benchScale()})\n\n`);
  process.stdout.write(line(header));
  process.stdout.write(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) process.stdout.write(line(r));
  for (const f of figures) if (f.note) process.stdout.write(`  - ${f.name}: ${f.note}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${RUN_ID}.json`);
  const doc = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
    : {
        runId: RUN_ID,
        startedAt: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
        benches: {},
      };
  const benches = (doc.benches ?? {}) as Record<string, unknown>;
  benches[bench] = {
    scale: benchScale(),
    finishedAt: new Date().toISOString(),
    figures: figures.map((f) => ({ ...f, ratio: ratio(f) })),
    details,
  };
  doc.benches = benches;
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
  return file;
}
