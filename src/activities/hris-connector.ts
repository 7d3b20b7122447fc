/** What Tenure needs from an HRIS: HR stays the source of truth, so generated values are written back. */
export interface HrisConnector {
  readonly name: string;
  /** Idempotent: writing the same address twice is one change. */
  writeWorkEmail(hrId: string, workEmail: string): Promise<void>;
}
