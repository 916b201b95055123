/**
 * Everything the run draws: one spike raster per probed layer, the per-class output bars and the
 * prediction, the state trace, the latency per step and the input preview of non-image models.
 */
import type { GpuManifest } from '../../../targets/gpu/manifest.js';
import type { StepResult } from '../../../runtime/step-session.js';
import { widthIn } from './canvas.js';
import { BarChart, TraceChart, drawHeatmap } from './charts.js';
import { type DemoConfig, className } from './config.js';
import { Raster } from './raster.js';
import { TracePanel } from './trace.js';
import { byId } from './ui.js';

const DECODING_TITLES: Record<string, string> = {
  spike_count: 'spike count per class so far',
  accumulate: 'accumulated output per class so far',
  mean: 'mean output per class so far',
  mean_membrane: 'mean membrane value per class so far',
};

/** Index of the largest of the first n values. */
export function argmax(values: ArrayLike<number>, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  return best;
}

export class Views {
  readonly rasters: Raster[];
  private readonly bars: BarChart;
  private readonly trace: TracePanel;
  private readonly traceChart: TraceChart;

  constructor(
    private readonly config: DemoConfig,
    private readonly manifest: GpuManifest,
  ) {
    const m = manifest;
    this.rasters = m.io.probes.map((p) => new Raster(p.layer, p.dims[p.dims.length - 1], m.timesteps));
    byId('rasters').replaceChildren(...this.rasters.map((r) => r.element));
    if (this.rasters.length === 0) byId('rasters').textContent = 'this model has no probed spiking layers';
    this.bars = new BarChart(byId<HTMLCanvasElement>('bars'), Array.from({ length: m.classes }, (_, k) => className(config, k)));
    byId('bars-title').textContent = DECODING_TITLES[m.decoding] ?? `${m.decoding} per class`;
    this.traceChart = new TraceChart(byId<HTMLCanvasElement>('trace'), m.timesteps);
    this.trace = new TracePanel(m, byId<HTMLSelectElement>('trace-state'), byId<HTMLInputElement>('trace-neuron'), byId('trace-caption'), this.traceChart);
    this.layout();
  }

  /** Sizes every canvas to its panel. */
  layout(): void {
    for (const r of this.rasters) r.layout();
    const w = widthIn(byId('output-panel'));
    this.bars.layout(w);
    this.traceChart.layout(w, 150);
  }

  reset(): void {
    for (const r of this.rasters) r.reset();
    this.trace.reset();
    this.bars.draw([]);
    this.showPrediction(undefined);
    byId('latency').textContent = '–';
  }

  /** Draws one step: its spikes and states, and the decoded output so far (row 0). */
  step(r: StepResult, decoded: Float32Array, stepMs: readonly number[]): void {
    for (const raster of this.rasters) raster.add(r.t, r.probes.get(raster.layer)!);
    this.trace.record(r.states);
    this.bars.draw(decoded.subarray(0, this.manifest.classes));
    this.showPrediction(argmax(decoded, this.manifest.classes));
    this.showLatency(stepMs);
    byId('step-counter').textContent = `t = ${r.t} / ${this.manifest.timesteps}`;
  }

  showPrediction(k: number | undefined): void {
    const e = byId('prediction');
    e.textContent = k === undefined ? '–' : String(k);
    e.dataset.class = k === undefined ? '' : String(k);
    const name = k === undefined ? undefined : this.config.classNames?.[k];
    byId('prediction-name').textContent = name ?? '';
  }

  private showLatency(ms: readonly number[]): void {
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    byId('latency').textContent = `${mean.toFixed(2)} ms mean · ${ms[ms.length - 1].toFixed(2)} ms last (${ms.length} steps)`;
  }
}

/** A heatmap of a non-image input: time × channel for event input, else its last axis across. */
export function inputPreview(manifest: GpuManifest, canvas: HTMLCanvasElement): (values: Float32Array) => void {
  const perStep = manifest.inputShape.reduce((a, b) => a * b, 1);
  const events = manifest.encoding.type === 'events';
  const cols = events ? manifest.timesteps : manifest.inputShape[manifest.inputShape.length - 1];
  const rows = events ? perStep : perStep / cols;
  const caption = events ? `${perStep} channels × ${manifest.timesteps} steps` : `[${manifest.inputShape.join(', ')}]`;
  canvas.hidden = false;
  canvas.title = caption;
  byId('preview-caption').textContent = caption;
  return (values) => {
    const shown = events ? Float32Array.from({ length: rows * cols }, (_, i) => values[(i % cols) * perStep + Math.floor(i / cols)]) : values;
    const width = widthIn(canvas.parentElement!);
    drawHeatmap(canvas, shown, rows, cols, width, Math.min(200, Math.max(24, rows * 6)));
  };
}
