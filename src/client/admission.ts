/**
 * Admission control for the intake's event webhooks (docs/scaling.md, "Bursts at the intake").
 *
 * Every HR event is answered synchronously by the person's entity, so a delivery holds its sender until a worker has
 * taken the entity's task. Under a burst (a merger's day one: thousands of events at once) holding every sender
 * means most of them time out, and a sender that gave up cannot tell whether its event landed. The intake instead
 * delivers at most `maxInFlight` requests at once; a request that finds no room waits up to `maxWaitMs` for one, and
 * is then answered at once with 503, a JSON body that says why, and `Retry-After`: nothing of it was read or
 * delivered, and resending the same event (same `eventId`) later is safe.
 */
import type { RequestHandler } from 'express';
import { sendError } from './http-errors';

export interface AdmissionOptions {
  /** Requests delivered at once. @default 200 */
  maxInFlight?: number;
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

/** The longest `Retry-After` suggested. */
const MAX_RETRY_AFTER_S = 60;

export class Admission {
  private readonly maxInFlight: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private inFlight = 0;
  private readonly waiting: Waiter[] = [];
  /** Requests finished recently, for the rate a `Retry-After` is estimated from (timestamps, oldest first). */
  private readonly finished: number[] = [];

  constructor(private readonly opts: AdmissionOptions = {}) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 200);
    this.maxWaitMs = Math.max(0, opts.maxWaitMs ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** Requests being delivered now, and requests waiting for room. */
  get load(): { inFlight: number; waiting: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.length };
  }

  /**
   * Middleware for the paths in `paths` (POST only): admits the request, or answers it 503 with `Retry-After`.
   * Room is given back when the answer is sent or the connection closes.
   */
  middleware(paths: ReadonlySet<string>): RequestHandler {
    return (req, res, next) => {
      if (req.method !== 'POST' || !paths.has(req.path)) return next();
      const admitted = (): void => {
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
      if (this.inFlight < this.maxInFlight && this.waiting.length === 0) {
        this.inFlight += 1;
        return admitted();
      }
      if (this.maxWaitMs === 0) return this.refuse(req.path, res);
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          admitted();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          this.refuse(req.path, res);
        }, this.maxWaitMs),
      };
      this.waiting.push(waiter);
      // A sender that gives up while waiting leaves the line.
      res.once('close', () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          clearTimeout(waiter.timer);
        }
      });
    };
  }

  private release(): void {
    this.finished.push(this.now());
    if (this.finished.length > 1000) this.finished.splice(0, this.finished.length - 1000);
    const next = this.waiting.shift();
    if (next) {
      // The room passes straight to the next in line.
      next.admit();
    } else {
      this.inFlight -= 1;
    }
  }

  /**
   * Seconds until room is likely: everyone in line and in flight, at the rate requests finished over the last ten
   * seconds; at least 1, at most a minute.
   */
  retryAfterSeconds(): number {
    const since = this.now() - 10_000;
    const recent = this.finished.filter((t) => t >= since).length;
    if (recent === 0) return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(this.maxWaitMs / 1000)));
    const perSecond = recent / 10;
    const ahead = this.inFlight + this.waiting.length;
    return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(ahead / perSecond)));
  }

  private refuse(path: string, res: Parameters<RequestHandler>[1]): void {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const retryAfterSeconds = this.retryAfterSeconds();
    this.opts.onOverloaded?.(path, retryAfterSeconds);
    sendError(
      res,
      503,
      'overloaded',
      `the intake is delivering ${this.maxInFlight} events already and none finished within ${Math.round(this.maxWaitMs / 1000)} s; ` +
        `nothing of this request was read or delivered: send it again (same eventId) after ${retryAfterSeconds} seconds`,
      { retryAfterSeconds },
    );
  }
}
