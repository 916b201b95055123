/**
 * Plain-canvas charts: the per-class output bars (updated each step), the trace of one state value
 * over time, and a heatmap preview of a non-image input.
 */
import { COLORS, fitCanvas } from './canvas.js';
import { fmt } from './ui.js';

const FONT = '11px system-ui, sans-serif';

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function range(values: ArrayLike<number>): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  return [lo, hi];
}

function text(ctx: CanvasRenderingContext2D, s: string, x: number, y: number, align: CanvasTextAlign, baseline: CanvasTextBaseline, color: string = COLORS.muted): void {
  ctx.fillStyle = color;
  ctx.font = FONT;
  ctx.textAlign = align;
  ctx.textBaseline = baseline;
  ctx.fillText(s, x, y);
}

/** 1234 → "1.23k", 99522.4 → "99.5k": short labels for bar values. */
function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return fmt(v, a >= 100 ? 0 : 2);
}

/** One horizontal bar per class for the output so far; the leading class in the accent colour. */
export class BarChart {
  private ctx: CanvasRenderingContext2D | undefined;
  private width = 0;
  private values: ArrayLike<number> = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly labels: readonly string[],
  ) {}

  /** The height the chart wants: about 18 px per class. */
  get height(): number {
    return Math.min(260, Math.max(90, this.labels.length * 18 + 8));
  }

  layout(width: number): void {
    this.width = width;
    this.ctx = fitCanvas(this.canvas, width, this.height);
    this.draw(this.values);
  }

  /** Draws row 0's value per class (the first `labels.length` values). */
  draw(values: ArrayLike<number>): void {
    this.values = values;
    const ctx = this.ctx;
    if (!ctx) return;
    const n = this.labels.length;
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.font = FONT;
    const labelW = Math.min(120, Math.max(...this.labels.map((l) => ctx.measureText(l).width))) + 8;
    const p: Box = { x: labelW + 44, y: 4, w: this.width - labelW - 88, h: this.height - 8 };
    const v = Array.from({ length: n }, (_, i) => values[i] ?? 0);
    const [lo, hi] = range(v);
    const x0 = p.x + (-lo / (hi - lo)) * p.w;
    const best = values.length ? v.indexOf(Math.max(...v)) : -1;
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(Math.round(x0), p.y, 1, p.h);
    for (let i = 0; i < n; i++) this.bar(ctx, p, i, x0, (v[i] / (hi - lo)) * p.w, i === best, values.length > 0);
  }

  private bar(ctx: CanvasRenderingContext2D, p: Box, i: number, x0: number, w: number, best: boolean, labelled: boolean): void {
    const rh = p.h / this.labels.length;
    const y = p.y + i * rh;
    const color = best ? COLORS.accent : COLORS.muted;
    ctx.fillStyle = best ? COLORS.accent : COLORS.bar;
    ctx.fillRect(w >= 0 ? x0 : x0 + w, y + rh * 0.15, Math.abs(w), Math.max(1, rh * 0.7));
    if (rh < 9) return;
    text(ctx, this.labels[i], 4, y + rh / 2, 'left', 'middle', best ? COLORS.accent : COLORS.ink);
    if (labelled) text(ctx, compact(this.values[i]), w >= 0 ? x0 + w + 4 : x0 + w - 4, y + rh / 2, w >= 0 ? 'left' : 'right', 'middle', color);
  }
}

/** One state value over time steps 1..T. */
export class TraceChart {
  private ctx: CanvasRenderingContext2D | undefined;
  private size = { w: 0, h: 0 };
  private values: readonly number[] = [];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly timesteps: number,
  ) {}

  layout(width: number, height: number): void {
    this.size = { w: width, h: height };
    this.ctx = fitCanvas(this.canvas, width, height);
    this.draw(this.values);
  }

  /** Draws values[k] at step k + 1. */
  draw(values: readonly number[]): void {
    this.values = values;
    const ctx = this.ctx;
    if (!ctx) return;
    const p: Box = { x: 44, y: 8, w: this.size.w - 52, h: this.size.h - 26 };
    ctx.clearRect(0, 0, this.size.w, this.size.h);
    ctx.fillStyle = '#f8fafc';
    ctx.fillRect(p.x, p.y, p.w, p.h);
    const [lo, hi] = range(values);
    const X = (k: number) => p.x + (this.timesteps > 1 ? (k / (this.timesteps - 1)) * p.w : p.w / 2);
    const Y = (v: number) => p.y + p.h - ((v - lo) / (hi - lo)) * p.h;
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(p.x, Math.round(Y(0)), p.w, 1);
    text(ctx, fmt(hi), p.x - 4, p.y, 'right', 'top');
    text(ctx, fmt(lo), p.x - 4, p.y + p.h, 'right', 'bottom');
    text(ctx, 't = 1', p.x, p.y + p.h + 4, 'left', 'top');
    text(ctx, String(this.timesteps), p.x + p.w, p.y + p.h + 4, 'right', 'top');
    this.line(ctx, values, X, Y);
  }

  private line(ctx: CanvasRenderingContext2D, values: readonly number[], X: (k: number) => number, Y: (v: number) => number): void {
    ctx.strokeStyle = COLORS.accent;
    ctx.fillStyle = COLORS.accent;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, k) => (k ? ctx.lineTo(X(k), Y(v)) : ctx.moveTo(X(k), Y(v))));
    ctx.stroke();
    if (values.length <= 64) for (let k = 0; k < values.length; k++) ctx.fillRect(X(k) - 1.5, Y(values[k]) - 1.5, 3, 3);
  }
}

/** Draws `rows` × `cols` values as a heatmap (0 white, the largest magnitude dark) filling the canvas. */
export function drawHeatmap(canvas: HTMLCanvasElement, values: Float32Array, rows: number, cols: number, width: number, height: number): void {
  const ctx = fitCanvas(canvas, width, height);
  let top = 0;
  for (const v of values) top = Math.max(top, Math.abs(v));
  const cw = width / cols;
  const rh = height / rows;
  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, 0, width, height);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = top > 0 ? Math.abs(values[r * cols + c]) / top : 0;
      if (a === 0) continue;
      ctx.fillStyle = `rgba(29, 35, 48, ${a.toFixed(3)})`;
      ctx.fillRect(c * cw, r * rh, Math.max(cw, 0.5), Math.max(rh, 0.5));
    }
  }
  ctx.strokeStyle = COLORS.grid;
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
}
