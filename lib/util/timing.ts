/**
 * Best-of-N timing: `warmup` untimed runs, then the fastest of `repeats` timed ones (the least disturbed by
 * other work on the machine). Returns seconds and the last run's value.
 */
export async function bestOf<T>(repeats: number, run: () => T | Promise<T>, opts: { warmup?: number } = {}): Promise<{ seconds: number; value: T }> {
  let value!: T;
  for (let w = 0; w < (opts.warmup ?? 0); w++) value = await run();
  let seconds = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    value = await run();
    seconds = Math.min(seconds, (performance.now() - t) / 1000);
  }
  return { seconds, value };
}

/** bestOf for synchronous work (no await between the runs). */
export function bestOfSync<T>(repeats: number, run: () => T, opts: { warmup?: number } = {}): { seconds: number; value: T } {
  let value!: T;
  for (let w = 0; w < (opts.warmup ?? 0); w++) value = run();
  let seconds = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    value = run();
    seconds = Math.min(seconds, (performance.now() - t) / 1000);
  }
  return { seconds, value };
}
