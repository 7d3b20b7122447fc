/**
 * Issue 16, item 4: the second place checkpoints go is the Temporal history of the checkpoint workflow. With the
 * checkpoint files deleted, `tenure audit verify` still names the first missing record after a tail cut and the
 * altered record after a re-chain, against the workflow's latest checkpoint; the checkpointer will not re-anchor a
 * re-chained store; a checkpoint signalled without the key is not trusted; the workflow continues as new small.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Command } from 'commander';
import type { EvidenceInput, EvidenceRecord } from '../../src/activities/audit';
import { AUDIT_TABLE, SqlAuditStore, recordHash } from '../../src/activities/audit';
import { pgliteDriver } from '../../src/activities/audit/driver';
import type { AuditCheckpointer, CheckpointConfig } from '../../src/activities/audit/checkpoint';
import { startAuditCheckpointer } from '../../src/activities/audit/checkpoint';
import type { AuditCliIo } from '../../src/client/cli-audit';
import { registerAuditCommands } from '../../src/client/cli-audit';
import { workflowAnchor, workflowLatestCheckpoint } from '../../src/client/checkpoint-anchor';
import type { auditCheckpointWorkflow } from '../../src/workflows';
import { auditCheckpointWorkflowId, checkpointSignal } from '../../src/workflows/audit-checkpoint/messages';
import { connectClient, connectNative, uniqueTaskQueue, workflowBundle } from '../helpers/temporal';
import { Capture, sampleEvidence } from '../helpers/audit-fixtures';

const evidence = (n: number): EvidenceInput => sampleEvidence(n);

const DISABLE = `ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER USER;`;
const ENABLE = `ALTER TABLE ${AUDIT_TABLE} ENABLE TRIGGER USER;`;

describe('hardening: the checkpoint workflow anchors the audit chain in Temporal history', function () {
  this.timeout(120_000);
  let client: Client;
  let closeClient: () => Promise<void>;
  let worker: Worker;
  let running: Promise<void>;
  let taskQueue: string;
  let db: PGlite;
  let store: SqlAuditStore;
  let dir: string;
  let workflowId: string;
  let checkpointer: AuditCheckpointer;
  const key = randomBytes(32).toString('hex');
  let config: CheckpointConfig;

  before(async () => {
    taskQueue = uniqueTaskQueue('audit-checkpoints');
    ({ client, close: closeClient } = await connectClient());
    worker = await Worker.create({
      connection: await connectNative(),
      taskQueue,
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await closeClient();
  });

  beforeEach(async () => {
    db = await PGlite.create();
    store = await SqlAuditStore.open(pgliteDriver(db));
    dir = mkdtempSync(join(tmpdir(), 'tenure-checkpoints-'));
    config = { key: Buffer.from(key, 'hex'), dir };
    workflowId = auditCheckpointWorkflowId(uniqueTaskQueue('store'));
    checkpointer = startAuditCheckpointer({ store, config, anchor: workflowAnchor({ client, taskQueue, workflowId }) });
  });
  afterEach(async () => {
    await checkpointer.stop();
    await client.workflow
      .getHandle(workflowId)
      .terminate()
      .catch(() => undefined);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function verify(): Promise<{ stdout: string; stderr: string; code: number }> {
    const stdout = new Capture();
    const stderr = new Capture();
    let code = 0;
    const io: Partial<AuditCliIo> = {
      stdout,
      stderr,
      env: { TENURE_AUDIT_CHECKPOINT_KEY: key, TENURE_AUDIT_CHECKPOINT_DIR: dir },
      openStore: () =>
        Promise.resolve({
          append: (i: EvidenceInput) => store.append(i),
          stream: (q?: Parameters<SqlAuditStore['stream']>[0]) => store.stream(q),
          count: (q?: Parameters<SqlAuditStore['count']>[0]) => store.count(q),
          verify: () => store.verify(),
          head: () => store.head(),
          close: () => Promise.resolve(),
        }),
      checkpointWorkflow: () => workflowLatestCheckpoint(client, { workflowId }),
      setExitCode: (c) => {
        code = c;
      },
    };
    const program = new Command('tenure').exitOverride();
    registerAuditCommands(program, io);
    await program.parseAsync(['audit', 'verify'], { from: 'user' });
    return { stdout: stdout.text, stderr: stderr.text, code };
  }

  async function seed(from: number, to: number): Promise<void> {
    for (let i = from; i <= to; i++) await store.append(evidence(i));
  }

  async function records(): Promise<EvidenceRecord[]> {
    const out: EvidenceRecord[] = [];
    for await (const r of store.stream()) out.push(r);
    return out;
  }

  /** Seeds 1–10, checkpoints (files and workflow), then 11–15 and checkpoints again. */
  async function twoCheckpoints(): Promise<void> {
    await seed(1, 10);
    assert.equal((await checkpointer.checkpointNow())?.seq, 10);
    await seed(11, 15);
    assert.equal((await checkpointer.checkpointNow())?.seq, 15);
    const latest = await workflowLatestCheckpoint(client, { workflowId });
    assert.deepEqual([latest?.fromSeq, latest?.seq], [11, 15]);
  }

  it('every checkpoint reaches the workflow; verify reports both anchors', async () => {
    await twoCheckpoints();
    const ok = await verify();
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^audit chain intact: 15 records/);
    assert.match(ok.stdout, /anchored: 2 signed checkpoints, the latest at .* through seq 15/);
    assert.match(ok.stdout, /anchored in Temporal: the checkpoint workflow's latest checkpoint, .* through seq 15/);
  });

  it('a cut tail is named against the workflow, with the checkpoint files deleted', async () => {
    await twoCheckpoints();
    rmSync(dir, { recursive: true, force: true });
    await db.exec(`${DISABLE} DELETE FROM ${AUDIT_TABLE} WHERE seq > 12; ${ENABLE}`);
    assert.equal((await store.verify()).ok, true, 'the chain alone cannot see it');
    const broken = await verify();
    assert.equal(broken.code, 1);
    assert.match(
      broken.stdout,
      /^audit chain BROKEN at seq 13: deleted — record 13 is missing: the chain ends at 12, but the checkpoint workflow's checkpoint .* anchored it through 15/,
    );
    assert.match(broken.stdout, /anchored in Temporal: .* through seq 15/);
    assert.doesNotMatch(broken.stdout, /anchored: \d+ signed checkpoint/, 'no files were left to check');

    // A cut below the workflow's range (11–15) is named too: the first missing record is the one after the end.
    await db.exec(`${DISABLE} DELETE FROM ${AUDIT_TABLE} WHERE seq > 7; ${ENABLE}`);
    assert.match((await verify()).stdout, /^audit chain BROKEN at seq 8: deleted — record 8 is missing/);
  });

  it('a re-chain is named against the workflow, and the checkpointer will not re-anchor it', async () => {
    await twoCheckpoints();
    rmSync(dir, { recursive: true, force: true });
    // Edit record 13 and re-hash 13…15, so the chain links up again.
    const all = await records();
    let prevHash = all[11]!.hash;
    const statements: string[] = [];
    for (const r of all.slice(12)) {
      const { hash: _old, ...rest } = r;
      const edited = { ...rest, prevHash, ...(r.seq === 13 ? { outcome: 'adopted' } : {}) };
      const hash = recordHash(edited);
      statements.push(
        `UPDATE ${AUDIT_TABLE} SET outcome = '${edited.outcome}', prev_hash = '${prevHash}', hash = '${hash}' WHERE seq = ${r.seq};`,
      );
      prevHash = hash;
    }
    await db.exec(`${DISABLE} ${statements.join(' ')} ${ENABLE}`);
    assert.equal((await store.verify()).ok, true, 'the chain alone cannot see it');
    const broken = await verify();
    assert.equal(broken.code, 1);
    assert.ok(
      broken.stdout.startsWith(
        `audit chain BROKEN at seq 13 (key ${all[12]!.key}): changed — record 13 is not the record the checkpoint workflow's checkpoint`,
      ),
      broken.stdout,
    );

    // With no files left, a checkpointer would start afresh over the forged chain; the workflow's checkpoint stops it.
    await store.append(evidence(16));
    assert.equal(await checkpointer.checkpointNow(), undefined);
    assert.equal((await workflowLatestCheckpoint(client, { workflowId }))?.seq, 15);
  });

  it('a checkpoint signalled without the key is reported, not trusted', async () => {
    await twoCheckpoints();
    const latest = (await workflowLatestCheckpoint(client, { workflowId }))!;
    await client.workflow.getHandle(workflowId).signal(checkpointSignal, { ...latest, seq: 99, hash: '0'.repeat(64) });
    const r = await verify();
    assert.equal(r.code, 1);
    assert.match(r.stdout, /the checkpoint workflow's checkpoint \(seq 99\) does not carry a valid signature/);
  });

  it('continues as new with only the latest checkpoint', async () => {
    const handle = await client.workflow.start<typeof auditCheckpointWorkflow>('auditCheckpointWorkflow', {
      workflowId,
      taskQueue,
      args: [{ signalsPerRun: 2 }],
    });
    const firstRun = handle.firstExecutionRunId;
    for (let n = 1; n <= 5; n++) {
      await seed(n, n);
      await checkpointer.checkpointNow();
    }
    const latest = await workflowLatestCheckpoint(client, { workflowId });
    assert.deepEqual([latest?.fromSeq, latest?.seq], [5, 5]);
    const current = await client.workflow.getHandle(workflowId).describe();
    assert.notEqual(current.runId, firstRun, 'it continued as new');
    assert.equal(current.status.name, 'RUNNING');
    assert.equal((await verify()).code, 0);
  });
});
