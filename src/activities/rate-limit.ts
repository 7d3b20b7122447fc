/**
 * In-process pacing of a rate-limited system's HTTP requests (policy `systems[].rateLimit.requestsPerSecond`).
 * Every JSON connector's request goes through `requestText` (src/activities/http.ts), which waits here first, so
 * however many of the system's steps run at once, this process never sends the vendor more than its limit in any
 * second: FIFO, a sliding one-second window with a little margin for network jitter between here and the vendor.
 */

/** A request counts against the window for this long (a second plus jitter). */
const WINDOW_MS = 1_050;

class RequestPacer {
  private readonly issued: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly perSecond: number) {}

  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.wait());
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = Date.now();
      while (this.issued.length > 0 && (this.issued[0] ?? 0) <= now - WINDOW_MS) this.issued.shift();
      if (this.issued.length < this.perSecond) {
        this.issued.push(now);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, (this.issued[0] ?? now) + WINDOW_MS - now + 1));
    }
  }
}

const pacers = new Map<string, RequestPacer>();

/** Sets (or, with `undefined`, removes) the pace of a system's requests in this process. */
export function setRequestPace(systemId: string, requestsPerSecond: number | undefined): void {
  if (requestsPerSecond === undefined) {
    pacers.delete(systemId);
    return;
  }
  // A fractional limit (one request every few seconds) still lets one request through per window.
  pacers.set(systemId, new RequestPacer(Math.max(1, Math.floor(requestsPerSecond))));
}

/** Resolves when the system may send its next request (at once for a system without a limit). */
export function awaitRequestTurn(systemId: string): Promise<void> {
  return pacers.get(systemId)?.acquire() ?? Promise.resolve();
}
