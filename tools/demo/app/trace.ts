/**
 * The state-trace panel: a select of the model's state tensors (membrane voltage v, synaptic current
 * i, …, per layer), a neuron index, and the chosen value of row 0 over the steps of the run. It keeps
 * every state's row 0 per step when that is small, so changing the choice after a run redraws it.
 */
import type { GpuManifest } from '../../../targets/gpu/manifest.js';
import type { TraceChart } from './charts.js';
import { fmt, make } from './ui.js';

type StateIO = GpuManifest['io']['states'][number];

/** Above this many recorded values per run, only the chosen neuron is recorded. */
const MAX_HISTORY = 1 << 24;

const KEY_NAMES: Record<string, string> = { v: 'membrane v', i: 'synaptic current i' };

/** Values per sample of a state tensor [B, ...]. */
function perSample(s: StateIO): number {
  return s.dims.slice(1).reduce((a, b) => a * b, 1);
}

export class TracePanel {
  private readonly all: boolean;
  /** Row 0 of each state (or only the chosen neuron's value) per step. */
  private history = new Map<string, Float32Array[]>();
  private chosen: number[] = [];

  constructor(
    private readonly manifest: GpuManifest,
    private readonly select: HTMLSelectElement,
    private readonly neuron: HTMLInputElement,
    private readonly caption: HTMLElement,
    private readonly chart: TraceChart,
  ) {
    const states = manifest.io.states;
    this.all = states.reduce((a, s) => a + perSample(s), 0) * manifest.timesteps <= MAX_HISTORY;
    select.replaceChildren(...states.map((s) => this.option(s)));
    const v = states.map((s) => s.key).lastIndexOf('v');
    select.selectedIndex = v >= 0 ? v : 0;
    select.disabled = neuron.disabled = states.length === 0;
    select.addEventListener('change', () => this.choose());
    neuron.addEventListener('change', () => this.choose());
    this.choose();
  }

  /** Starts a new run. */
  reset(): void {
    this.history = new Map();
    this.chosen = [];
    this.redraw();
  }

  /** Records the states after one step. */
  record(states: ReadonlyMap<string, Float32Array>): void {
    const s = this.state();
    if (!s) return;
    if (!this.all) this.chosen.push(states.get(s.input)![this.index()]);
    else for (const st of this.manifest.io.states) this.push(st.input, states.get(st.input)!.slice(0, perSample(st)));
    this.redraw();
  }

  private push(name: string, row: Float32Array): void {
    const h = this.history.get(name) ?? [];
    h.push(row);
    this.history.set(name, h);
  }

  private option(s: StateIO): HTMLOptionElement {
    const o = make('option', '', `${s.layer} · ${KEY_NAMES[s.key] ?? s.key} (${perSample(s)})`);
    o.value = s.input;
    return o;
  }

  private state(): StateIO | undefined {
    return this.manifest.io.states[this.select.selectedIndex];
  }

  /** The neuron index, clamped to the chosen state's size. */
  private index(): number {
    const s = this.state();
    const n = s ? perSample(s) : 1;
    const i = Math.min(n - 1, Math.max(0, Math.floor(Number(this.neuron.value) || 0)));
    return i;
  }

  private choose(): void {
    const s = this.state();
    this.neuron.max = String(s ? perSample(s) - 1 : 0);
    this.neuron.value = String(this.index());
    if (!this.all) this.chosen = [];
    this.redraw();
  }

  private values(): number[] {
    const s = this.state();
    if (!s) return [];
    if (!this.all) return this.chosen;
    const i = this.index();
    return (this.history.get(s.input) ?? []).map((row) => row[i]);
  }

  private redraw(): void {
    const s = this.state();
    const v = this.values();
    this.chart.draw(v);
    if (!s) return void this.caption.replaceChildren('this model has no state tensors');
    const now = v.length ? ` = ${fmt(v[v.length - 1])} at t = ${v.length}` : this.all ? '' : ' (recorded from the next run)';
    this.caption.replaceChildren(make('b', '', s.layer), ` · ${s.key}[${this.index()}]${now}`);
  }
}
