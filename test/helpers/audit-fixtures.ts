/** Fixtures the audit-store tests share: a stream that keeps what a CLI command printed, and sample evidence. */
import { Writable } from 'node:stream';
import type { EvidenceInput } from '../../src/activities/audit';

/** Collects what is written to it (a CLI command's stdout or stderr). */
export class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The n-th step's evidence of one made-up hire (person E1, identity provider). */
export function sampleEvidence(n: number, extra: Partial<EvidenceInput> = {}): EvidenceInput {
  return {
    key: `employee/E1/hire/ev1/step-${n}`,
    at: '2025-03-03T09:00:00.000Z',
    hrId: 'E1',
    systemId: 'idp',
    actor: { type: 'system', id: 'tenure-worker' },
    action: 'ensure_account',
    outcome: 'created',
    detail: { accountId: `acc-${n}` },
    ...extra,
  };
}
