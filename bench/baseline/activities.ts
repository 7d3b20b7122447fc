/** The baseline's two no-op activities. */
export function first(n: number): Promise<number> {
  return Promise.resolve(n);
}

export function second(n: number): Promise<number> {
  return Promise.resolve(n + 1);
}
