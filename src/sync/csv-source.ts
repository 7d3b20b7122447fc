/**
 * The CSV roster source: a roster file in the `tenure import` format, parsed and validated by the importer's own
 * parser (`parseRosterCsv`). No incremental read: every run reads the whole file.
 */
import { readFile } from 'node:fs/promises';
import { parseRosterCsv } from '../client/csv-import';
import type { RosterEntry, RosterSource } from './roster-source';

export function csvRosterSource(o: { path: string }): RosterSource {
  return {
    name: 'csv',
    incremental: false,
    async *read() {
      const text = await readFile(o.path, 'utf8');
      const parsed = parseRosterCsv(text);
      if (parsed.fatal) {
        const why = parsed.errors.map((e) => `${e.column}: ${e.message}`).join('; ');
        throw new Error(`csv roster ${o.path} is unusable: ${why}`);
      }
      const byRow = new Map<number, string[]>();
      for (const e of parsed.errors) byRow.set(e.row, [...(byRow.get(e.row) ?? []), `${e.column}: ${e.message}`]);
      for (const [row, issues] of byRow) yield { ok: false, ref: `row ${row}`, issues } satisfies RosterEntry;
      for (const r of parsed.valid) yield { ok: true, record: r.event.record } satisfies RosterEntry;
    },
  };
}
