/**
 * The spike raster of one spiking layer: x = time step, y = neuron (at most 256 rows: larger layers
 * show every k-th neuron), drawn one column per step as the run goes; counts the layer's spikes.
 */
import { COLORS, fitCanvas, widthIn } from './canvas.js';
import { make } from './ui.js';

const MAX_ROWS = 256;
const MARGIN = { left: 34, right: 6, top: 4, bottom: 16 };

function ordinal(k: number): string {
  const tens = k % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][k % 10] ?? 'th');
  return `${k}${suffix}`;
}

export class Raster {
  readonly element: HTMLElement;
  /** Spikes of row 0 (all neurons) so far. */
  total = 0;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly stride: number;
  private readonly rows: number;
  /** Per step: which shown neurons spiked (for redrawing). */
  private columns: Uint8Array[] = [];
  private ctx: CanvasRenderingContext2D | undefined;
  private width = 0;
  private height = 0;

  constructor(
    readonly layer: string,
    private readonly neurons: number,
    private readonly timesteps: number,
  ) {
    this.stride = Math.ceil(neurons / MAX_ROWS);
    this.rows = Math.ceil(neurons / this.stride);
    this.element = make('figure', 'raster-figure');
    this.caption = make('figcaption');
    this.canvas = make('canvas', 'raster');
    this.canvas.dataset.layer = layer;
    this.element.append(this.caption, this.canvas);
    this.updateCaption();
  }

  /** Sizes the canvas to its parent's width and redraws what has run. */
  layout(): void {
    this.width = widthIn(this.element);
    this.height = Math.min(200, Math.max(64, this.rows * 4)) + MARGIN.top + MARGIN.bottom;
    this.ctx = fitCanvas(this.canvas, this.width, this.height);
    this.drawFrame();
    this.columns.forEach((c, t) => this.drawColumn(t, c));
  }

  reset(): void {
    this.columns = [];
    this.total = 0;
    this.canvas.dataset.spikes = '0';
    this.updateCaption();
    this.drawFrame();
  }

  /** Adds step t's (1-based) spikes; `spikes` holds the layer's [B, N] values, row 0 is drawn. */
  add(t: number, spikes: Float32Array): void {
    const column = new Uint8Array(this.rows);
    for (let n = 0; n < this.neurons; n++) {
      const s = spikes[n];
      if (s === 0) continue;
      this.total += s;
      if (n % this.stride === 0) column[n / this.stride] = 1;
    }
    this.columns[t - 1] = column;
    this.canvas.dataset.spikes = String(this.total);
    this.drawColumn(t - 1, column);
    this.updateCaption();
  }

  private updateCaption(): void {
    const shown = this.stride > 1 ? `, every ${ordinal(this.stride)} neuron shown` : '';
    this.caption.replaceChildren(make('b', '', this.layer), ` · ${this.neurons} neurons${shown} · ${this.total} spikes`);
  }

  private plot(): { x: number; y: number; w: number; h: number } {
    return { x: MARGIN.left, y: MARGIN.top, w: this.width - MARGIN.left - MARGIN.right, h: this.height - MARGIN.top - MARGIN.bottom };
  }

  private drawFrame(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const p = this.plot();
    // Opaque white everywhere and light labels: the only dark pixels are spikes.
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, this.width, this.height);
    ctx.fillStyle = '#f8fafc';
    ctx.fillRect(p.x, p.y, p.w, p.h);
    ctx.strokeStyle = COLORS.grid;
    ctx.strokeRect(p.x + 0.5, p.y + 0.5, p.w - 1, p.h - 1);
    ctx.fillStyle = COLORS.axis;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText('0', p.x - 4, p.y);
    ctx.textBaseline = 'bottom';
    ctx.fillText(String((this.rows - 1) * this.stride), p.x - 4, p.y + p.h);
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText('t = 1', p.x, p.y + p.h + 3);
    ctx.textAlign = 'right';
    ctx.fillText(String(this.timesteps), p.x + p.w, p.y + p.h + 3);
  }

  private drawColumn(step: number, column: Uint8Array): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const p = this.plot();
    const cw = p.w / this.timesteps;
    const rh = p.h / this.rows;
    const mw = Math.min(Math.max(cw * 0.7, 1), 8);
    const mh = rh >= 3 ? rh * 0.8 : Math.max(rh, 0.75);
    const x = p.x + step * cw + (cw - mw) / 2;
    ctx.fillStyle = COLORS.spike;
    for (let r = 0; r < this.rows; r++) if (column[r]) ctx.fillRect(x, p.y + r * rh + (rh - mh) / 2, mw, mh);
  }
}
