/**
 * Where an onnxruntime graph's time goes: runs it with onnxruntime's own profiler and sums each node's
 * kernel time per run. Nodes inside a Scan's (Loop's, If's) body are left to the Scan, whose own entry
 * already includes them. Bench-only: it writes the profiler's JSON to a temporary folder and removes it.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

interface ProfileEvent {
  readonly cat: string;
  readonly name: string;
  readonly ts: number;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

const CONTROL_FLOW = new Set(['Scan', 'Loop', 'If']);
const within = (e: ProfileEvent, w: ProfileEvent) => e.ts >= w.ts && e.ts + e.dur <= w.ts + w.dur;

export interface NodeTime {
  /** "OpType node-name" of a top-level node. */
  readonly node: string;
  /** Kernel time per run, ms (mean over the profiled runs). */
  readonly ms: number;
}

/** Top-level nodes by kernel time per run (descending), and the mean model_run time, over `runs` runs after 2 warm-ups. */
export async function profileNodes(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, threads: number, runs: number): Promise<{ nodes: NodeTime[]; runMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'snnc-ort-profile-'));
  try {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: join(dir, 'profile') });
    for (let i = 0; i < 2 + runs; i++) await session.run(feeds);
    await session.endProfiling();
    await session.release();
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as ProfileEvent[];
    // The profile holds every run, warm-ups included: keep the nodes inside the last `runs` model_run windows.
    const windows = events.filter((e) => e.name === 'model_run').slice(-runs);
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && windows.some((w) => within(e, w)));
    const bodies = kernels.filter((e) => CONTROL_FLOW.has(e.args?.op_name ?? ''));
    const totals = new Map<string, number>();
    for (const e of kernels) {
      if (bodies.some((b) => b !== e && within(e, b))) continue;
      const key = `${e.args?.op_name ?? '?'} ${e.name.slice(0, -'_kernel_time'.length)}`;
      totals.set(key, (totals.get(key) ?? 0) + e.dur);
    }
    const nodes = [...totals].map(([node, us]) => ({ node, ms: us / runs / 1000 })).sort((a, b) => b.ms - a.ms);
    return { nodes, runMs: windows.reduce((sum, w) => sum + w.dur, 0) / runs / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
