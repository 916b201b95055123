/**
 * Wall time and memory per stage of a SpiNNaker compile (quantise, machine, partition, keys, rows,
 * place, routing, write), the one line `snnc check` and `snnc compile` print about them on large networks,
 * and the progress of the stage under way, passed on to whoever draws it.
 */

/** Networks with at least this many synapses get the stage line. */
export const STAGE_LINE_SYNAPSES = 10_000_000;

export interface StageTime {
  readonly stage: string;
  readonly ms: number;
  /** Resident memory at the end of the stage. */
  readonly rssMiB: number;
}

/** Records laps: each `lap(stage)` closes the stage that began at the previous lap (or at construction). */
export class StageClock {
  readonly stages: StageTime[] = [];
  private last = performance.now();

  constructor(private readonly onProgress?: (stage: string, done: number, total: number) => void) {}

  /** `done` of `total` units of `stage` are finished. */
  progress(stage: string, done: number, total: number): void {
    this.onProgress?.(stage, done, total);
  }

  lap(stage: string): void {
    const now = performance.now();
    this.stages.push({ stage, ms: now - this.last, rssMiB: process.memoryUsage.rss() / 2 ** 20 });
    this.last = now;
  }
}

/** "quantise 1.20 s (410 MiB), partition …; peak RSS 1.30 GiB". */
export function stageLine(stages: readonly StageTime[]): string {
  const parts = stages.map((s) => `${s.stage} ${(s.ms / 1000).toFixed(2)} s (${s.rssMiB.toFixed(0)} MiB)`);
  return `${parts.join(', ')}; peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB`;
}
