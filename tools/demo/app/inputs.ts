/**
 * The current input of the next run: the drawing, a bundled sample, an uploaded .npy or values set by
 * script; keeps the sample select, the input label and the picture (drawing pad or preview) in step.
 */
import type { Samples } from './config.js';
import type { DrawingPad } from './draw-input.js';
import { firstSample, parseNpy } from './npy.js';

type Source = { kind: 'drawing' } | { kind: 'sample'; index: number } | { kind: 'values'; values: Float32Array; label: string };

/** "#3 (label 7)", or "#3" for an unlabelled sample (label −1). */
function sampleName(i: number, label: number): string {
  return label >= 0 ? `#${i} (label ${label})` : `#${i}`;
}

export interface InputElements {
  readonly select: HTMLSelectElement;
  readonly label: HTMLElement;
  /** The drawing pad, for image input. */
  readonly pad?: DrawingPad;
  /** Shows a non-image input. */
  readonly preview?: (values: Float32Array) => void;
}

export class Inputs {
  private source: Source;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly sampleSize: number,
    private readonly samples: Samples | undefined,
    private readonly ui: InputElements,
  ) {
    this.fillSelect();
    this.source = ui.pad ? { kind: 'drawing' } : samples ? { kind: 'sample', index: 0 } : { kind: 'values', values: new Float32Array(sampleSize), label: 'zeros' };
    this.update();
  }

  /** The raw values of the current input (sampleSize of them). */
  current(): Float32Array {
    const s = this.source;
    if (s.kind === 'drawing') return this.ui.pad!.read();
    if (s.kind === 'sample') return this.samples!.values.slice(s.index * this.sampleSize, (s.index + 1) * this.sampleSize);
    return s.values.slice();
  }

  /** The user started drawing. */
  drawn(): void {
    if (this.source.kind === 'drawing') return;
    this.source = { kind: 'drawing' };
    this.update(false);
  }

  /** Clears the drawing (image input) or sets all inputs to zero. */
  clear(): void {
    this.ui.pad?.clear();
    this.source = this.ui.pad ? { kind: 'drawing' } : { kind: 'values', values: new Float32Array(this.sampleSize), label: 'zeros' };
    this.update(!this.ui.pad);
  }

  selectSample(i: number): void {
    const count = this.samples?.labels.length ?? 0;
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new Error(`selectSample(${i}): there are ${count} bundled samples`);
    this.source = { kind: 'sample', index: i };
    this.update();
  }

  setInput(values: ArrayLike<number>, label = 'values set by script'): void {
    if (values.length !== this.sampleSize) throw new Error(`setInput: ${values.length} values, the model takes ${this.sampleSize}`);
    this.source = { kind: 'values', values: Float32Array.from(values), label };
    this.update();
  }

  /** Waits for an upload in progress; throws if it failed. */
  async settled(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    await pending;
  }

  /** Loads an uploaded .npy as the current input; a run started meanwhile waits for it (see settled). */
  upload(file: File): Promise<void> {
    const p = this.load(file);
    this.pending = p;
    return p;
  }

  private async load(file: File): Promise<void> {
    let sample: ReturnType<typeof firstSample>;
    try {
      sample = firstSample(parseNpy(new Uint8Array(await file.arrayBuffer())), this.sampleSize);
    } catch (e) {
      throw new Error(`${file.name}: ${(e as Error).message}`);
    }
    const { values, count } = sample;
    this.setInput(values, `${file.name}${count > 1 ? ` (first of ${count} samples)` : ''}`);
  }

  /** Describes the current input on the page and shows it (unless the pad already shows the drawing). */
  private update(show = true): void {
    this.pending = undefined; // a newer choice: a failed upload no longer matters
    const s = this.source;
    this.ui.select.selectedIndex = s.kind === 'sample' ? s.index : -1;
    this.ui.label.textContent = `input: ${this.describe()}`;
    if (!show || s.kind === 'drawing') return;
    this.ui.pad?.show(this.current());
    this.ui.preview?.(this.current());
  }

  private describe(): string {
    const s = this.source;
    if (s.kind === 'drawing') return 'drawing';
    if (s.kind === 'sample') return `sample ${sampleName(s.index, this.samples!.labels[s.index])}`;
    return s.label;
  }

  private fillSelect(): void {
    const select = this.ui.select;
    const labels = this.samples?.labels ?? [];
    select.replaceChildren(
      ...labels.map((label, i) => {
        const o = document.createElement('option');
        o.value = String(i);
        o.textContent = sampleName(i, label);
        return o;
      }),
    );
    select.disabled = labels.length === 0;
    if (select.parentElement) select.parentElement.hidden = labels.length === 0;
    select.title = labels.length ? `${labels.length} bundled test samples` : 'no bundled samples';
    select.addEventListener('change', () => {
      if (select.value !== '') this.selectSample(Number(select.value));
    });
  }
}
