/**
 * Admission control for the intake's event webhooks (docs/webhook.md, "Bursts").
 *
 * Every HR event is answered synchronously by the person's entity, so a delivery holds its sender until a worker has
 * taken the entity's task. Under a burst (a merger's day one: thousands of events at once) holding every sender
 * means most of them time out, and a sender that gave up cannot tell whether its event landed. The intake instead
 * delivers only as many requests at once as it can answer within `targetLatencyMs` at the pace answers are coming
 * back (Little's law: in flight = pace × latency), between `minInFlight` and `maxInFlight`. A request that finds no
 * room waits up to `maxWaitMs` for one, and is then answered at once with 503, a JSON body that says why, and
 * `Retry-After`: nothing of it was read or delivered, and resending the same event (same `eventId`) later is safe.
 * The `Retry-After`s handed out are spread at the measured pace, so the refused senders come back one after
 * another instead of all at once.
 */
import type { RequestHandler, Response } from 'express';
import { sendError } from './http-errors';

export interface AdmissionOptions {
  /** Most requests delivered at once, whatever the pace. @default 200 */
  maxInFlight?: number;
  /** Fewest: always admitted, and the limit before any answer came back. @default 16 */
  minInFlight?: number;
  /** The answer time the limit aims at. @default 5000 */
  targetLatencyMs?: number;
  /** How long a request waits for room before it is answered 503. @default 10000 */
  maxWaitMs?: number;
  /** Called for each request answered 503 (metrics, logs). */
  onOverloaded?: (path: string, retryAfterSeconds: number) => void;
  /** @default Date.now */
  now?: () => number;
}

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/** The pace is measured over this window. */
const PACE_WINDOW_MS = 10_000;
/** The longest `Retry-After` handed out. */
const MAX_RETRY_AFTER_S = 300;

export class Admission {
  private readonly maxInFlight: number;
  private readonly minInFlight: number;
  private readonly targetLatencyMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private inFlight = 0;
  private readonly waiting: Waiter[] = [];
  /** When requests finished over the last window, oldest first. */
  private readonly finished: number[] = [];
  /** The instant up to which `Retry-After`s were handed out (ms since epoch). */
  private retryCursor = 0;

  constructor(private readonly opts: AdmissionOptions = {}) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 200);
    this.minInFlight = Math.min(this.maxInFlight, Math.max(1, opts.minInFlight ?? 16));
    this.targetLatencyMs = Math.max(100, opts.targetLatencyMs ?? 5_000);
    this.maxWaitMs = Math.max(0, opts.maxWaitMs ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** Requests being delivered now, waiting for room, and the current limit. */
  get load(): { inFlight: number; waiting: number; limit: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length, limit: this.limit() };
  }

  /** Answers finished per second over the last window (0 before the first). */
  pace(): number {
    const now = this.now();
    this.forget(now);
    const first = this.finished[0];
    if (first === undefined) return 0;
    // Early on the window is shorter than PACE_WINDOW_MS: the pace is over the time since the first answer.
    const span = Math.max(1_000, Math.min(PACE_WINDOW_MS, now - first));
    return (this.finished.length * 1000) / span;
  }

  /** In flight at once: the pace times the target answer time, within [minInFlight, maxInFlight]. */
  limit(): number {
    const byPace = Math.floor((this.pace() * this.targetLatencyMs) / 1000);
    return Math.min(this.maxInFlight, Math.max(this.minInFlight, byPace));
  }

  /**
   * Middleware for the paths in `paths` (POST only): admits the request, or answers it 503 with `Retry-After`.
   * Room is given back when the answer is sent or the connection closes.
   */
  middleware(paths: ReadonlySet<string>): RequestHandler {
    return (req, res, next) => {
      if (req.method !== 'POST' || !paths.has(req.path)) return next();
      const admitted = (): void => {
        this.inFlight += 1;
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          this.release();
        };
        res.once('finish', release);
        res.once('close', release);
        next();
      };
      const limit = this.limit();
      // Whoever waits goes first (the limit may have grown since it came).
      while (this.waiting.length > 0 && this.inFlight < limit) this.waiting.shift()?.admit();
      if (this.waiting.length === 0 && this.inFlight < limit) return admitted();
      if (this.maxWaitMs === 0) return this.refuse(req.path, res);
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          admitted();
        },
        timer: setTimeout(() => {
          this.leave(waiter);
          this.refuse(req.path, res);
        }, this.maxWaitMs),
      };
      this.waiting.push(waiter);
      // A sender that gives up while waiting leaves the line.
      res.once('close', () => {
        if (this.leave(waiter)) clearTimeout(waiter.timer);
      });
    };
  }

  private leave(waiter: Waiter): boolean {
    const i = this.waiting.indexOf(waiter);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  private forget(now: number): void {
    const since = now - PACE_WINDOW_MS;
    let drop = 0;
    while (drop < this.finished.length && (this.finished[drop] ?? 0) < since) drop += 1;
    if (drop > 0) this.finished.splice(0, drop);
  }

  private release(): void {
    this.inFlight -= 1;
    this.finished.push(this.now());
    // Whoever waits longest goes next, as long as the limit allows (it may have shrunk).
    const limit = this.limit();
    while (this.waiting.length > 0 && this.inFlight < limit) this.waiting.shift()?.admit();
  }

  /**
   * Seconds a refused sender should wait: the refused are spread one after another at the current pace, after
   * those in flight; at least 1, at most five minutes.
   */
  retryAfterSeconds(): number {
    const now = this.now();
    const pace = this.pace();
    if (pace === 0) return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(this.maxWaitMs / 1000)));
    // Those waiting in line now are not counted: most of them are being refused too, and get slots of their own.
    const ahead = (this.inFlight * 1000) / pace;
    this.retryCursor = Math.max(this.retryCursor, now + ahead) + 1000 / pace;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil((this.retryCursor - now) / 1000)));
  }

  private refuse(path: string, res: Response): void {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const retryAfterSeconds = this.retryAfterSeconds();
    this.opts.onOverloaded?.(path, retryAfterSeconds);
    sendError(
      res,
      503,
      'overloaded',
      `the intake is delivering ${this.inFlight} events already and had no room for this one within ` +
        `${Math.round(this.maxWaitMs / 1000)} s; nothing of this request was read or delivered: send it again ` +
        `(same eventId) after ${retryAfterSeconds} seconds`,
      { retryAfterSeconds },
    );
  }
}
