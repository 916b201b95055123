/**
 * Sizing canvases for the device's pixel ratio, so charts are drawn in CSS pixels and stay sharp.
 */

/** Sets the canvas's CSS size and a backing store of devicePixelRatio × that; returns a context in CSS px. */
export function fitCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** The width a canvas may take inside its parent (its content box), at least `min`. */
export function widthIn(parent: HTMLElement, min = 160): number {
  const style = getComputedStyle(parent);
  const w = parent.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return Math.max(min, Math.floor(w));
}

/** Colours shared by the charts (dark on light). */
export const COLORS = {
  ink: '#1d2330',
  muted: '#6b7280',
  /** Axis labels of the rasters: light enough that only spikes are dark. */
  axis: '#8b93a1',
  grid: '#e5e7eb',
  accent: '#2563eb',
  bar: '#94a3b8',
  spike: '#1d2330',
  background: '#ffffff',
} as const;
