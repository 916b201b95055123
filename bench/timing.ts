/** Timing for benchmarks: run after warm-up, report the median and the range. */

export async function time(fn: () => Promise<unknown> | unknown, runs: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

export const median = (ms: readonly number[]): number => ms[ms.length >> 1];

/** "median (min–max)" with the given decimals. */
export const fmt = (ms: readonly number[], digits = 2): string => `${median(ms).toFixed(digits)} (${ms[0].toFixed(digits)}–${ms[ms.length - 1].toFixed(digits)})`;
