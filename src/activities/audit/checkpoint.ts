/**
 * Anchoring the hash chain outside its table (issue 16). A chain can show an edit in the middle, but not a cut
 * tail (delete the last records) nor a re-chain (edit a record and recompute every later hash): both leave a
 * chain that is intact on its own. So, periodically, a signed **checkpoint** is written to a second place:
 *
 * - a file in a directory (`TENURE_AUDIT_CHECKPOINT_DIR`, default `<data dir>/audit-checkpoints`), one per
 *   checkpoint, named by its head seq, written once and never rewritten;
 * - its content: the head `seq` and `hash`, and the hash of every record since the previous checkpoint (hashes only:
 *   no personal data), linked to the previous checkpoint by its MAC;
 * - signed with HMAC-SHA256 under `TENURE_AUDIT_CHECKPOINT_KEY`, a key the database never sees, so whoever can
 *   rewrite the table cannot write a checkpoint that verifies.
 *
 * `verifyAgainstCheckpoints` then checks every anchored record is still there with its anchored hash and names the
 * first one missing (a cut) or altered (an edit, re-chained or not), besides the chain's own check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from './canonical';
import type { AuditStore, VerifyReport } from './types';

/** The checkpoint file format's version. */
export const CHECKPOINT_VERSION = 1;
/** `prevMac` of the first checkpoint. */
export const FIRST_PREV_MAC = '0'.repeat(64);

export interface AuditCheckpoint {
  v: typeof CHECKPOINT_VERSION;
  /** The head of the chain when the checkpoint was taken. */
  seq: number;
  hash: string;
  /** The first seq whose hash this checkpoint holds (the previous checkpoint's `seq` + 1). */
  fromSeq: number;
  /** The hashes of records `fromSeq`…`seq`, in order. */
  hashes: string[];
  /** The previous checkpoint's `mac`, or 64 zeros. */
  prevMac: string;
  /** When it was taken (ISO 8601). */
  at: string;
  /** HMAC-SHA256 (hex) over the canonical JSON of every other field. */
  mac: string;
}

/** What the periodic checkpointer and `tenure audit verify` need. */
export interface CheckpointConfig {
  /** The HMAC key (from `TENURE_AUDIT_CHECKPOINT_KEY`): never stored in the database. */
  key: Buffer;
  /** Where checkpoint files go. */
  dir: string;
}

/** The store's reads that checkpoints use (every SqlAuditStore has them). */
export type ChainSource = Pick<AuditStore, 'stream'> & { head(): Promise<{ seq: number; hash: string } | undefined> };

/** The checkpoint key from the environment: at least 32 bytes (hex, base64 or text), else undefined / an error. */
export function checkpointKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const text = env.TENURE_AUDIT_CHECKPOINT_KEY;
  if (text === undefined || text === '') return undefined;
  const key = /^[0-9a-f]{64,}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'utf8');
  if (key.length < 32 || new Set(text).size < 8) {
    throw new Error(
      'TENURE_AUDIT_CHECKPOINT_KEY must be at least 32 random bytes, e.g. `openssl rand -hex 32` (and must not be ' +
        'stored where the audit database is)',
    );
  }
  return key;
}

function macOf(key: Buffer, body: Omit<AuditCheckpoint, 'mac'>): string {
  return createHmac('sha256', key).update(canonicalJson(body), 'utf8').digest('hex');
}

function macMatches(key: Buffer, c: AuditCheckpoint): boolean {
  const { mac, ...body } = c;
  const want = Buffer.from(macOf(key, body), 'hex');
  const got = /^[0-9a-f]{64}$/.test(String(mac)) ? Buffer.from(mac, 'hex') : Buffer.alloc(0);
  return got.length === want.length && timingSafeEqual(got, want);
}

function fileName(seq: number): string {
  return `checkpoint-${String(seq).padStart(15, '0')}.json`;
}

export interface LoadedCheckpoints {
  /** Valid checkpoints, oldest first, each linked to the one before. */
  checkpoints: AuditCheckpoint[];
  /** A file that is not a valid, linked checkpoint: someone wrote or changed it without the key. */
  problem?: { file: string; message: string };
}

/** Reads and checks every checkpoint file in `dir` (MAC, link to the previous one, continuous seq ranges). */
export function loadCheckpoints(cfg: CheckpointConfig): LoadedCheckpoints {
  let files: string[];
  try {
    files = readdirSync(cfg.dir).filter((f) => /^checkpoint-\d{15}\.json$/.test(f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [] };
    throw err;
  }
  files.sort();
  const checkpoints: AuditCheckpoint[] = [];
  for (const file of files) {
    let c: AuditCheckpoint;
    try {
      c = JSON.parse(readFileSync(join(cfg.dir, file), 'utf8')) as AuditCheckpoint;
    } catch {
      return { checkpoints, problem: { file, message: 'is not valid JSON' } };
    }
    if (c.v !== CHECKPOINT_VERSION || !macMatches(cfg.key, c)) {
      return { checkpoints, problem: { file, message: 'does not carry a valid signature for this key' } };
    }
    const prev = checkpoints.at(-1);
    const linked =
      c.prevMac === (prev?.mac ?? FIRST_PREV_MAC) &&
      c.fromSeq === (prev?.seq ?? 0) + 1 &&
      c.hashes.length === c.seq - c.fromSeq + 1 &&
      c.hashes.at(-1) === c.hash;
    if (!linked) {
      return { checkpoints, problem: { file, message: 'does not follow the previous checkpoint (one is missing)' } };
    }
    checkpoints.push(c);
  }
  return { checkpoints };
}

/**
 * Writes a checkpoint of the store's current head, covering the records since the last valid checkpoint. Returns
 * it, or undefined when nothing was appended since (or the store is empty). Refuses to extend a directory whose
 * checkpoints do not verify, or a store whose anchored records no longer match (that is for `verify` to report).
 */
export async function writeCheckpoint(
  store: ChainSource,
  cfg: CheckpointConfig,
  now: () => Date = () => new Date(),
): Promise<AuditCheckpoint | undefined> {
  const loaded = loadCheckpoints(cfg);
  if (loaded.problem) throw new Error(`audit checkpoint ${loaded.problem.file} ${loaded.problem.message}`);
  const last = loaded.checkpoints.at(-1);
  const head = await store.head();
  if (!head || head.seq <= (last?.seq ?? 0)) return undefined;
  const fromSeq = (last?.seq ?? 0) + 1;
  const hashes: string[] = [];
  let expected = fromSeq;
  for await (const r of store.stream({ afterSeq: fromSeq - 1, throughSeq: head.seq })) {
    if (r.seq !== expected) throw new Error(`audit record ${expected} is missing: no checkpoint written`);
    if (expected === fromSeq && last && r.prevHash !== last.hash) {
      throw new Error(`audit record ${r.seq} does not link to the last checkpoint: no checkpoint written`);
    }
    hashes.push(r.hash);
    expected += 1;
  }
  if (expected !== head.seq + 1) throw new Error('the audit chain changed while a checkpoint was taken');
  const body: Omit<AuditCheckpoint, 'mac'> = {
    v: CHECKPOINT_VERSION,
    seq: head.seq,
    hash: head.hash,
    fromSeq,
    hashes,
    prevMac: last?.mac ?? FIRST_PREV_MAC,
    at: now().toISOString(),
  };
  const checkpoint: AuditCheckpoint = { ...body, mac: macOf(cfg.key, body) };
  mkdirSync(cfg.dir, { recursive: true, mode: 0o700 });
  // 'wx': written once; a second checkpointer racing for the same head loses and changes nothing.
  try {
    writeFileSync(join(cfg.dir, fileName(checkpoint.seq)), `${JSON.stringify(checkpoint)}\n`, {
      flag: 'wx',
      mode: 0o400,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  return checkpoint;
}

export interface AnchoredVerifyReport extends VerifyReport {
  /** The latest valid checkpoint the chain was checked against. */
  anchor?: { seq: number; hash: string; at: string };
  /** Checkpoints that were found and checked. */
  checkpoints: number;
  /** A checkpoint file that does not verify (so what it anchors cannot be trusted). */
  checkpointProblem?: { file: string; message: string };
}

/**
 * The chain's own check plus every checkpoint: each anchored record must exist with the anchored hash. The report's
 * `problem` is the first broken record by seq: `deleted` (missing: a gap or a cut tail) or `changed` (its hash is not
 * the anchored one: it, or its content, was rewritten, whether or not later hashes were recomputed).
 */
export async function verifyAgainstCheckpoints(
  store: AuditStore,
  cfg: CheckpointConfig,
): Promise<AnchoredVerifyReport> {
  const chain = await store.verify();
  const loaded = loadCheckpoints(cfg);
  const latest = loaded.checkpoints.at(-1);
  const base: AnchoredVerifyReport = {
    ...chain,
    checkpoints: loaded.checkpoints.length,
    ...(latest ? { anchor: { seq: latest.seq, hash: latest.hash, at: latest.at } } : {}),
    ...(loaded.problem ? { checkpointProblem: loaded.problem } : {}),
  };
  let anchored: NonNullable<VerifyReport['problem']> | undefined;
  const stream = store.stream(latest ? { throughSeq: latest.seq } : { throughSeq: 0 })[Symbol.asyncIterator]();
  let next = await stream.next();
  outer: for (const c of loaded.checkpoints) {
    for (let i = 0; i < c.hashes.length; i++) {
      const seq = c.fromSeq + i;
      while (!next.done && next.value.seq < seq) next = await stream.next();
      if (next.done || next.value.seq > seq) {
        const cut = next.done;
        anchored = {
          seq,
          kind: 'deleted',
          message: cut
            ? `record ${seq} is missing: the chain ends at ${chain.head?.seq ?? 0}, but checkpoint ${c.at} anchored it through ${latest?.seq} (the tail was cut)`
            : `record ${seq} is missing, though checkpoint ${c.at} anchored it`,
        };
        break outer;
      }
      if (next.value.hash !== c.hashes[i]) {
        anchored = {
          seq,
          key: next.value.key,
          kind: 'changed',
          message: `record ${seq} is not the record checkpoint ${c.at} anchored: it was rewritten (and the chain re-hashed from it)`,
        };
        break outer;
      }
    }
  }
  await stream.return?.();
  const problems = [chain.problem, anchored].filter((p): p is NonNullable<typeof p> => p !== undefined);
  problems.sort((a, b) => a.seq - b.seq);
  const problem = problems[0];
  const ok = problem === undefined && !loaded.problem;
  const { problem: _chainProblem, ...rest } = base;
  return problem ? { ...rest, ok, problem } : { ...rest, ok };
}

export interface AuditCheckpointer {
  /** Writes a checkpoint now (when anything was appended since the last). */
  checkpointNow(): Promise<AuditCheckpoint | undefined>;
  stop(): Promise<void>;
}

/**
 * Writes a checkpoint every `intervalMs` (and at stop). Run one per audit store: in the worker process, or wherever
 * the composition root puts it. Failures are logged and retried at the next tick.
 */
export function startAuditCheckpointer(opts: {
  store: ChainSource;
  config: CheckpointConfig;
  /** @default 300000 (5 minutes) */
  intervalMs?: number;
  logger?: { info(o: object, m: string): void; error(o: object, m: string): void };
}): AuditCheckpointer {
  let running: Promise<AuditCheckpoint | undefined> = Promise.resolve(undefined);
  const tick = (): Promise<AuditCheckpoint | undefined> => {
    running = running.then(async () => {
      try {
        const c = await writeCheckpoint(opts.store, opts.config);
        if (c) opts.logger?.info({ seq: c.seq, records: c.hashes.length }, 'audit checkpoint written');
        return c;
      } catch (err) {
        opts.logger?.error({ err: (err as Error).message }, 'audit checkpoint not written');
        return undefined;
      }
    });
    return running;
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 300_000);
  timer.unref();
  return {
    checkpointNow: tick,
    async stop() {
      clearInterval(timer);
      await tick();
    },
  };
}
