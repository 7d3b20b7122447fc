import { allHandlersFinished, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AuditCheckpoint, AuditCheckpointWorkflowInput } from './messages';
import { checkpointSignal, latestCheckpointQuery } from './messages';

const DEFAULT_SIGNALS_PER_RUN = 500;

/**
 * The second place the audit chain is anchored (issue 16): Temporal's history. The checkpointer signals every signed
 * checkpoint it writes (signal-with-start on the fixed id `tenure/audit-checkpoints`); the workflow keeps the latest
 * (query `latestCheckpoint`), and continues as new with only that one when the server suggests it or after
 * `signalsPerRun` signals, so its history stays small. It never checks signatures (it has no key and must not):
 * `tenure audit verify` does. It runs until terminated.
 */
export async function auditCheckpointWorkflow(input: AuditCheckpointWorkflowInput = {}): Promise<void> {
  let latest: AuditCheckpoint | undefined = input.latest;
  let received = 0;
  setHandler(latestCheckpointQuery, () => latest ?? null);
  setHandler(checkpointSignal, (c: AuditCheckpoint) => {
    received += 1;
    if (latest && c.seq <= latest.seq) {
      log.info('audit checkpoint ignored: not newer than the latest', { seq: c.seq, latest: latest.seq });
      return;
    }
    latest = c;
  });
  const limit = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  await condition(() => received >= limit || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof auditCheckpointWorkflow>({
    ...(latest ? { latest } : {}),
    ...(input.signalsPerRun !== undefined ? { signalsPerRun: input.signalsPerRun } : {}),
  });
}
