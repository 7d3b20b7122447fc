/**
 * A FIFO lock for workflow code (Temporal's safe-message-handlers pattern): a handler that checks state, awaits
 * (a local activity, a signal) and then writes holds it for the whole body, so two handlers never interleave.
 * Built on promises only, so it is deterministic; `@temporalio/workflow` has no mutex of its own.
 */
export class WorkflowLock {
  private tail: Promise<void> = Promise.resolve();
  private holders = 0;

  /** Runs `fn` once every earlier holder has finished; the lock is released however `fn` ends. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release = (): void => undefined;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.holders += 1;
    try {
      await previous;
      return await fn();
    } finally {
      this.holders -= 1;
      release();
    }
  }

  /** Whether someone holds or waits for the lock. */
  get busy(): boolean {
    return this.holders > 0;
  }
}
