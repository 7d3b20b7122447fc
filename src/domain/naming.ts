/**
 * Work email naming: "Ana Lima" with pattern "{first}.{last}" → ana.lima@domain, then ana.lima2, ana.lima3, …
 * Pure: the activity checks each candidate against the systems.
 */

/** Lower-case ASCII letters and digits only: accents removed, other characters dropped. */
export function slug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^a-z0-9]/g, '');
}

/** The n-th candidate (n from 1) for a person's work email. */
export function workEmailCandidate(first: string, last: string, pattern: string, domain: string, n: number): string {
  const local = pattern
    .replace(/\{first\}/g, slug(first))
    .replace(/\{last\}/g, slug(last))
    .replace(/\{f\}/g, slug(first).slice(0, 1))
    .replace(/^[._-]+|[._-]+$/g, '')
    .replace(/([._-])[._-]+/g, '$1');
  return `${local || 'user'}${n > 1 ? n : ''}@${domain}`;
}
