/**
 * Refusals of requests that did not prove who sent them (no or a bad signature or token, a wrong Content-Type,
 * an unreadable or oversized body, an unknown path) are cheap to send and must not cost an audit row each.
 * This ledger:
 *
 * - counts them per source address in fixed windows, and answers a source that passed `limit` in the current
 *   window with 429 and `Retry-After` (the seconds to the window's end) until the window ends;
 * - records them as one aggregated audit row per window (`unauthenticated_requests_refused`): totals per
 *   endpoint, status and error, how many were rate-limited, how many distinct sources;
 * - logs the first `limit` refusals of a source per window, then one line when it is rate-limited.
 *
 * Signed-but-refused events are not counted here: each keeps a row of its own (the endpoints write them).
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { AuditStore } from '../activities/audit/types';
import type { Logger } from '../logger';
import type { Refusal } from './http-errors';
import { sendError } from './http-errors';

export interface RefusalLedgerOptions {
  audit: AuditStore;
  logger: Logger;
  /** Window length. @default 60000 */
  windowMs?: number;
  /** Unauthenticated refusals a source may cause per window before it is answered 429. @default 30 */
  limit?: number;
  /** Distinct sources tracked per window; beyond this, new sources share one counter. @default 10000 */
  maxSources?: number;
  /** @default Date.now */
  now?: () => number;
  /** Names this intake instance in the aggregated rows' keys (several run behind a load balancer). @default random */
  instanceId?: string;
}

interface Window {
  start: number;
  bySource: Map<string, number>;
  byReason: Map<string, { endpoint: string; status: number; error: string; count: number }>;
  total: number;
  rateLimited: number;
}

const OVERFLOW_SOURCE = '(overflow)';
const ACTOR = { type: 'system', id: 'tenure-intake' } as const;

export class RefusalLedger {
  private readonly windowMs: number;
  private readonly limit: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  private readonly instanceId: string;
  private current: Window;
  private readonly pending: Window[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RefusalLedgerOptions) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.limit = opts.limit ?? 30;
    this.maxSources = opts.maxSources ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.instanceId = opts.instanceId ?? randomUUID().slice(0, 8);
    this.current = this.freshWindow();
    this.timer = setInterval(() => void this.flush(false), this.windowMs);
    this.timer.unref();
  }

  private freshWindow(): Window {
    const start = Math.floor(this.now() / this.windowMs) * this.windowMs;
    return { start, bySource: new Map(), byReason: new Map(), total: 0, rateLimited: 0 };
  }

  /** The current window, rolling over (and queueing the finished one for the audit store) when it has ended. */
  private window(): Window {
    if (this.now() >= this.current.start + this.windowMs) {
      if (this.current.total > 0) this.pending.push(this.current);
      this.current = this.freshWindow();
    }
    return this.current;
  }

  private sourceKey(w: Window, source: string): string {
    return w.bySource.has(source) || w.bySource.size < this.maxSources ? source : OVERFLOW_SOURCE;
  }

  /** Seconds until the source may be refused again without a 429; undefined when it is not limited. */
  retryAfterSeconds(source: string): number | undefined {
    const w = this.window();
    const n = w.bySource.get(this.sourceKey(w, source)) ?? 0;
    if (n < this.limit) return undefined;
    return Math.max(1, Math.ceil((w.start + this.windowMs - this.now()) / 1000));
  }

  /** Counts one unauthenticated refusal. */
  count(source: string, endpoint: string, r: Refusal, requestId?: string): void {
    const w = this.window();
    const key = this.sourceKey(w, source);
    const n = (w.bySource.get(key) ?? 0) + 1;
    w.bySource.set(key, n);
    this.tally(w, endpoint, r.status, r.error);
    const fields = { source, endpoint, status: r.status, error: r.error, requestId };
    if (n <= this.limit) this.opts.logger.warn({ ...fields, reason: r.message }, 'unauthenticated request refused');
    if (n === this.limit) {
      this.opts.logger.warn(
        { source, endpoint, limit: this.limit, windowMs: this.windowMs },
        'source rate-limited: further refusals this window are answered 429 and counted only',
      );
    }
  }

  private tally(w: Window, endpoint: string, status: number, error: string): void {
    w.total += 1;
    const reason = `${endpoint} ${status} ${error}`;
    const entry = w.byReason.get(reason) ?? { endpoint, status, error, count: 0 };
    entry.count += 1;
    w.byReason.set(reason, entry);
  }

  /** Middleware: a source over its limit is answered 429 (JSON, `Retry-After`) before anything else is read. */
  guard(endpointOf: (req: Request) => string): RequestHandler {
    return (req: Request, res: Response, next) => {
      const source = req.ip ?? 'unknown';
      const retryAfter = this.retryAfterSeconds(source);
      if (retryAfter === undefined) return next();
      const w = this.window();
      w.rateLimited += 1;
      this.tally(w, endpointOf(req), 429, 'rate_limited');
      this.opts.logger.debug({ source, status: 429 }, 'rate-limited request refused');
      sendError(
        res,
        429,
        'rate_limited',
        `too many refused requests from this address; retry after ${retryAfter} seconds`,
        { retryAfterSeconds: retryAfter },
      );
    };
  }

  /**
   * Writes one audit row per finished window with refusals (all windows, the current one too, when `all`).
   * A failed write is logged and the window kept for the next flush.
   */
  flush(all = true): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      this.window();
      if (all && this.current.total > 0) {
        this.pending.push(this.current);
        this.current = this.freshWindow();
      }
      while (this.pending.length > 0) {
        const w = this.pending[0] as Window;
        try {
          await this.opts.audit.append(this.evidence(w));
          this.pending.shift();
        } catch (err) {
          this.opts.logger.error(
            { err: (err as Error).name, windows: this.pending.length },
            'audit write of refusal counts failed; kept for the next flush',
          );
          return;
        }
      }
    });
    return this.flushing;
  }

  private evidence(w: Window) {
    const windowStart = new Date(w.start).toISOString();
    // A window flushed early (at close) and then continued would reuse the key: the end makes it unique.
    const flushedAt = new Date(Math.min(this.now(), w.start + this.windowMs)).toISOString();
    return {
      key: `intake-refusals:${this.instanceId}:${windowStart}:${flushedAt}`,
      at: windowStart,
      actor: ACTOR,
      action: 'unauthenticated_requests_refused',
      outcome: 'refused',
      detail: {
        windowStart,
        windowEnd: new Date(w.start + this.windowMs).toISOString(),
        total: w.total,
        rateLimited: w.rateLimited,
        sources: w.bySource.size,
        reasons: [...w.byReason.values()].sort((a, b) => b.count - a.count),
      },
    };
  }

  /** Stops the timer and writes what is counted. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush(true);
  }
}

/** How an endpoint reports an unauthenticated refusal (the intake wires it to its ledger). */
export type CountRefusal = (req: Request, res: Response, r: Refusal) => void;
