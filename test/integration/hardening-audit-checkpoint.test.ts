/**
 * Issue 16, item 4: the evidence cannot be cut or re-chained unseen. The chain alone says "intact" after its last
 * records are deleted, and after a record is edited and every later hash recomputed; signed checkpoints written to
 * a second place (a directory, with a key the database never sees) make `tenure audit verify` name the first
 * missing or altered record.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Command } from 'commander';
import type { EvidenceInput, EvidenceRecord } from '../../src/activities/audit';
import { AUDIT_TABLE, SqlAuditStore, recordHash } from '../../src/activities/audit';
import { pgliteDriver } from '../../src/activities/audit/driver';
import { startAuditCheckpointer, writeCheckpoint } from '../../src/activities/audit/checkpoint';
import type { AuditCliIo } from '../../src/client/cli-audit';
import { registerAuditCommands } from '../../src/client/cli-audit';
import { Capture, sampleEvidence } from '../helpers/audit-fixtures';

const evidence = (n: number): EvidenceInput => sampleEvidence(n, { requestId: 'employee/E1/hire/ev1' });

const DISABLE = `ALTER TABLE ${AUDIT_TABLE} DISABLE TRIGGER USER;`;
const ENABLE = `ALTER TABLE ${AUDIT_TABLE} ENABLE TRIGGER USER;`;

describe('hardening: signed checkpoints anchor the audit chain', function () {
  this.timeout(120_000);
  let db: PGlite;
  let store: SqlAuditStore;
  let dir: string;
  const key = randomBytes(32).toString('hex');
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    db = await PGlite.create();
    store = await SqlAuditStore.open(pgliteDriver(db));
    dir = mkdtempSync(join(tmpdir(), 'tenure-checkpoints-'));
    env = { TENURE_AUDIT_CHECKPOINT_KEY: key, TENURE_AUDIT_CHECKPOINT_DIR: dir };
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(
    args: string[],
    over: NodeJS.ProcessEnv = env,
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    const stdout = new Capture();
    const stderr = new Capture();
    let code = 0;
    const borrowed = {
      append: (i: EvidenceInput) => store.append(i),
      stream: (q?: Parameters<SqlAuditStore['stream']>[0]) => store.stream(q),
      count: (q?: Parameters<SqlAuditStore['count']>[0]) => store.count(q),
      verify: () => store.verify(),
      head: () => store.head(),
      close: () => Promise.resolve(),
    };
    const io: Partial<AuditCliIo> = {
      stdout,
      stderr,
      env: over,
      openStore: () => Promise.resolve(borrowed),
      // The files only (the workflow anchor: hardening-audit-checkpoint-workflow.test.ts).
      checkpointWorkflow: () => Promise.resolve(undefined),
      setExitCode: (c) => {
        code = c;
      },
    };
    const program = new Command('tenure').exitOverride();
    registerAuditCommands(program, io);
    await program.parseAsync(args, { from: 'user' });
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

  it('checkpoints are signed, cover every hash since the last one, and verify says anchored', async () => {
    await seed(1, 10);
    assert.match((await cli(['audit', 'checkpoint'])).stdout, /checkpoint written: seq 1–10/);
    await seed(11, 15);
    const checkpointer = startAuditCheckpointer({ store, config: { key: Buffer.from(key, 'hex'), dir } });
    assert.equal((await checkpointer.checkpointNow())?.fromSeq, 11);
    await checkpointer.stop();
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint-000000000000010.json', 'checkpoint-000000000000015.json']);
    const file = JSON.parse(readFileSync(join(dir, 'checkpoint-000000000000015.json'), 'utf8')) as {
      hashes: string[];
      mac: string;
    };
    assert.equal(file.hashes.length, 5);
    assert.doesNotMatch(JSON.stringify(file), /acc-|E1|ensure_account/, 'hashes only, no content');
    const ok = await cli(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^audit chain intact: 15 records/);
    assert.match(ok.stdout, /anchored: 2 signed checkpoints, the latest at .* through seq 15/);
  });

  it('a cut tail: the chain alone says intact; verify names the first missing record', async () => {
    await seed(1, 15);
    await writeCheckpoint(store, { key: Buffer.from(key, 'hex'), dir });
    await db.exec(`${DISABLE} DELETE FROM ${AUDIT_TABLE} WHERE seq > 12; ${ENABLE}`);
    assert.equal((await store.verify()).ok, true, 'the chain alone cannot see it');
    const plain = await cli(['audit', 'verify'], {});
    assert.match(plain.stdout, /^audit chain intact: 12 records/);
    assert.match(plain.stderr, /unanchored/);

    const broken = await cli(['audit', 'verify']);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /^audit chain BROKEN at seq 13: deleted — record 13 is missing: the chain ends at 12/);
    const json = JSON.parse((await cli(['audit', 'verify', '--json'])).stdout) as { problem: { seq: number } };
    assert.equal(json.problem.seq, 13);
  });

  it('a re-chain (an edit and every later hash recomputed): verify names the altered record', async () => {
    await seed(1, 10);
    await writeCheckpoint(store, { key: Buffer.from(key, 'hex'), dir });
    // The attacker edits record 4 and re-hashes 4…10, so the chain links up again.
    const all = await records();
    let prevHash = all[2]!.hash;
    const statements: string[] = [];
    for (const r of all.slice(3)) {
      const { hash: _old, ...rest } = r;
      const edited = { ...rest, prevHash, ...(r.seq === 4 ? { outcome: 'adopted' } : {}) };
      const hash = recordHash(edited);
      statements.push(
        `UPDATE ${AUDIT_TABLE} SET outcome = '${edited.outcome}', prev_hash = '${prevHash}', hash = '${hash}' WHERE seq = ${r.seq};`,
      );
      prevHash = hash;
    }
    await db.exec(`${DISABLE} ${statements.join(' ')} ${ENABLE}`);
    assert.equal((await store.verify()).ok, true, 'the chain alone cannot see it');

    const broken = await cli(['audit', 'verify']);
    assert.equal(broken.code, 1);
    const key4 = all[3]!.key;
    assert.ok(
      broken.stdout.startsWith(`audit chain BROKEN at seq 4 (key ${key4}): changed — record 4 is not the record`),
      broken.stdout,
    );
    // And no checkpoint is written over it.
    await store.append(evidence(11));
    await assert.rejects(writeCheckpoint(store, { key: Buffer.from(key, 'hex'), dir }), /does not link/);
  });

  it('a checkpoint file written without the key is reported, not trusted', async () => {
    await seed(1, 5);
    await writeCheckpoint(store, { key: Buffer.from(key, 'hex'), dir });
    const path = join(dir, 'checkpoint-000000000000005.json');
    const forged = JSON.parse(readFileSync(path, 'utf8')) as { hash: string };
    forged.hash = '0'.repeat(64);
    chmodSync(path, 0o600);
    writeFileSync(path, JSON.stringify(forged));
    const r = await cli(['audit', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /checkpoint checkpoint-000000000000005\.json does not carry a valid signature/);
  });
});
