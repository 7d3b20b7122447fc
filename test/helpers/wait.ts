/** Polls `check` until it returns true; errors count as "not yet". */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The result of a workflow that may not have started yet (children start when their parent gets to them). */
export async function resultWhenStarted<T>(
  handle: { describe(): Promise<unknown>; result(): Promise<T> },
  startWithinMs = 30_000,
): Promise<T> {
  await waitFor(async () => (await handle.describe()) !== undefined, startWithinMs, 'workflow started');
  return handle.result();
}
