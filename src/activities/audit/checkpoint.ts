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
import { dataDir } from '../../config/local-env';
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

/** Where a checkpoint came from, as verify reports it. */
export type AnchorSource = 'files' | 'workflow';

export interface AnchoredVerifyReport extends VerifyReport {
  /** The latest valid checkpoint the chain was checked against (of either source). */
  anchor?: { seq: number; hash: string; at: string; source: AnchorSource };
  /** Checkpoint files that were found and checked. */
  checkpoints: number;
  /** The latest valid checkpoint file. */
  filesLatest?: { seq: number; at: string };
  /** A checkpoint file that does not verify (so what it anchors cannot be trusted). */
  checkpointProblem?: { file: string; message: string };
  /**
   * The checkpoint workflow's latest checkpoint (Temporal history), when it was asked: `checked` with what it
   * anchored, `none` (no checkpoint yet), `invalid` (not signed with this key: not trusted), or `unreachable`.
   */
  workflow?:
    | { state: 'checked'; seq: number; at: string }
    | { state: 'none' | 'unreachable'; message?: string }
    | { state: 'invalid'; seq: number; message: string };
}

type Problem = NonNullable<VerifyReport['problem']>;

/**
 * The first record, by seq, that is missing or not what `checkpoints` (ascending, not necessarily contiguous)
 * anchored. `chainEnd` is the chain's own head seq (records 1…chainEnd are contiguous when the chain verified).
 */
async function firstAnchoredProblem(
  store: Pick<AuditStore, 'stream'>,
  checkpoints: AuditCheckpoint[],
  chainEnd: number,
  label: (c: AuditCheckpoint) => string,
): Promise<Problem | undefined> {
  const latest = checkpoints.at(-1);
  if (!latest) return undefined;
  let found: Problem | undefined;
  const stream = store.stream({ throughSeq: latest.seq })[Symbol.asyncIterator]();
  let next = await stream.next();
  outer: for (const c of checkpoints) {
    for (let i = 0; i < c.hashes.length; i++) {
      const seq = c.fromSeq + i;
      while (!next.done && next.value.seq < seq) next = await stream.next();
      if (next.done || next.value.seq > seq) {
        found = {
          seq,
          kind: 'deleted',
          message: next.done
            ? `record ${seq} is missing: the chain ends at ${chainEnd}, but ${label(c)} anchored it through ${latest.seq} (the tail was cut)`
            : `record ${seq} is missing, though ${label(c)} anchored it`,
        };
        break outer;
      }
      if (next.value.hash !== c.hashes[i]) {
        found = {
          seq,
          key: next.value.key,
          kind: 'changed',
          message:
            i === 0 && c.fromSeq > 1 && checkpoints.length === 1
              ? `record ${seq} is not the record ${label(c)} anchored: it, or a record before it, was rewritten (and the chain re-hashed)`
              : `record ${seq} is not the record ${label(c)} anchored: it was rewritten (and the chain re-hashed from it)`,
        };
        break outer;
      }
    }
  }
  await stream.return?.();
  // A cut below the anchored range: the first missing record is the one after the chain's end.
  if (chainEnd < latest.seq && (!found || found.seq > chainEnd + 1)) {
    found = {
      seq: chainEnd + 1,
      kind: 'deleted',
      message: `record ${chainEnd + 1} is missing: the chain ends at ${chainEnd}, but ${label(latest)} anchored it through ${latest.seq} (the tail was cut)`,
    };
  }
  return found;
}

/** Whether `c` carries a valid MAC for the key (a checkpoint from Temporal is trusted only then). */
export function checkpointSigned(key: Buffer, c: AuditCheckpoint): boolean {
  return c.v === CHECKPOINT_VERSION && Array.isArray(c.hashes) && macMatches(key, c);
}

/**
 * The chain's own check plus every checkpoint: each anchored record must exist with the anchored hash. The report's
 * `problem` is the first broken record by seq: `deleted` (missing: a gap or a cut tail) or `changed` (its hash is not
 * the anchored one: it, or its content, was rewritten, whether or not later hashes were recomputed). `workflow` is
 * the checkpoint workflow's latest checkpoint (see `src/workflows/audit-checkpoint`), checked the same way when
 * given, so the chain stays anchored when the checkpoint files are gone.
 */
export async function verifyAgainstCheckpoints(
  store: AuditStore,
  cfg: CheckpointConfig,
  opts: { workflow?: AuditCheckpoint | null | { unreachable: string } } = {},
): Promise<AnchoredVerifyReport> {
  const chain = await store.verify();
  const chainEnd = chain.head?.seq ?? 0;
  const loaded = loadCheckpoints(cfg);
  const fileProblem = await firstAnchoredProblem(store, loaded.checkpoints, chainEnd, (c) => `checkpoint ${c.at}`);
  let workflow: AnchoredVerifyReport['workflow'];
  let workflowProblem: Problem | undefined;
  let trusted: AuditCheckpoint | undefined;
  const w = opts.workflow;
  if (w === null) workflow = { state: 'none' };
  else if (w && 'unreachable' in w) workflow = { state: 'unreachable', message: w.unreachable };
  else if (w && !checkpointSigned(cfg.key, w)) {
    workflow = { state: 'invalid', seq: w.seq, message: 'does not carry a valid signature for this key' };
  } else if (w) {
    trusted = w;
    workflow = { state: 'checked', seq: w.seq, at: w.at };
    workflowProblem = await firstAnchoredProblem(
      store,
      [w],
      chainEnd,
      (c) => `the checkpoint workflow's checkpoint ${c.at}`,
    );
  }
  const latestFile = loaded.checkpoints.at(-1);
  const latest =
    trusted && (!latestFile || trusted.seq > latestFile.seq)
      ? { seq: trusted.seq, hash: trusted.hash, at: trusted.at, source: 'workflow' as const }
      : latestFile
        ? { seq: latestFile.seq, hash: latestFile.hash, at: latestFile.at, source: 'files' as const }
        : undefined;
  const problems = [chain.problem, fileProblem, workflowProblem].filter((p): p is Problem => p !== undefined);
  problems.sort((a, b) => a.seq - b.seq);
  const problem = problems[0];
  const ok = problem === undefined && !loaded.problem && workflow?.state !== 'invalid';
  const { problem: _chainProblem, ...rest } = chain;
  return {
    ...rest,
    ok,
    checkpoints: loaded.checkpoints.length,
    ...(latestFile ? { filesLatest: { seq: latestFile.seq, at: latestFile.at } } : {}),
    ...(latest ? { anchor: latest } : {}),
    ...(loaded.problem ? { checkpointProblem: loaded.problem } : {}),
    ...(workflow ? { workflow } : {}),
    ...(problem ? { problem } : {}),
  };
}

/**
 * A second place for checkpoints beside the files: the checkpoint workflow's history (src/client/checkpoint-anchor.ts
 * builds one from a Temporal client). Kept as an interface so activity code imports no workflow code.
 */
export interface CheckpointAnchor {
  /** The latest checkpoint it holds, or undefined. */
  latest(): Promise<AuditCheckpoint | undefined>;
  /** Hands it a checkpoint (it keeps the newest). */
  record(c: AuditCheckpoint): Promise<void>;
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
  /**
   * Also hand every checkpoint to the checkpoint workflow (Temporal history), and write none over a chain that no
   * longer matches the workflow's latest one (so deleting the files does not let a re-chained store be re-anchored).
   */
  anchor?: CheckpointAnchor;
  /** @default 300000 (5 minutes) */
  intervalMs?: number;
  logger?: { info(o: object, m: string): void; error(o: object, m: string): void };
}): AuditCheckpointer {
  let running: Promise<AuditCheckpoint | undefined> = Promise.resolve(undefined);
  const once = async (): Promise<AuditCheckpoint | undefined> => {
    const anchor = opts.anchor;
    let remote: AuditCheckpoint | undefined;
    if (anchor) {
      remote = await anchor.latest();
      if (remote && checkpointSigned(opts.config.key, remote)) {
        const head = await opts.store.head();
        const problem = await firstAnchoredProblem(
          opts.store,
          [remote],
          head?.seq ?? 0,
          () => 'the checkpoint workflow',
        );
        if (problem) throw new Error(`${problem.message}: no checkpoint written`);
      }
    }
    const c = await writeCheckpoint(opts.store, opts.config);
    const newest = c ?? loadCheckpoints(opts.config).checkpoints.at(-1);
    if (anchor && newest && (!remote || newest.seq > remote.seq)) await anchor.record(newest);
    return c;
  };
  const tick = (): Promise<AuditCheckpoint | undefined> => {
    running = running.then(async () => {
      try {
        const c = await once();
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

/** Where checkpoints live: `TENURE_AUDIT_CHECKPOINT_DIR`, default `<data dir>/audit-checkpoints`. */
export function auditCheckpointDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TENURE_AUDIT_CHECKPOINT_DIR || join(dataDir(env), 'audit-checkpoints');
}

/** Checkpoints are on when `TENURE_AUDIT_CHECKPOINT_KEY` is set. */
export function checkpointConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CheckpointConfig | undefined {
  const key = checkpointKeyFromEnv(env);
  return key ? { key, dir: auditCheckpointDir(env) } : undefined;
}
