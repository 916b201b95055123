/**
 * The drawing pad for image inputs: white round-brush strokes on black (MNIST-like) with pointer
 * events (mouse, pen, touch); reads back as the H×W input by averaging each block of canvas pixels,
 * scaled to 0..max; shows a sample as a picture.
 */

const CSS_SIZE = 280;

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  /** Backing-store pixels per input pixel. */
  private readonly scale: number;
  private last: { x: number; y: number } | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly height: number,
    private readonly width: number,
    private readonly max: number,
    /** Called when the user starts a stroke. */
    private readonly onDraw: () => void,
  ) {
    const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    const long = Math.max(height, width);
    this.scale = Math.max(1, Math.ceil((CSS_SIZE * dpr) / long));
    canvas.width = width * this.scale;
    canvas.height = height * this.scale;
    canvas.style.width = `${Math.round((CSS_SIZE * width) / long)}px`;
    canvas.style.height = `${Math.round((CSS_SIZE * height) / long)}px`;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser gives no 2D canvas context');
    this.ctx = ctx;
    this.clear();
    this.listen();
  }

  /** Paints the canvas black (all inputs zero). */
  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Shows H·W raw values (0..max) as a grey picture. */
  show(values: Float32Array): void {
    const picture = document.createElement('canvas');
    picture.width = this.width;
    picture.height = this.height;
    const image = new ImageData(this.width, this.height);
    for (let i = 0; i < values.length; i++) {
      const g = Math.round(Math.min(1, Math.max(0, values[i] / this.max)) * 255);
      image.data.set([g, g, g, 255], i * 4);
    }
    picture.getContext('2d')!.putImageData(image, 0, 0);
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(picture, 0, 0, this.canvas.width, this.canvas.height);
  }

  /** The picture as H·W raw values 0..max, each the mean of its block of canvas pixels. */
  read(): Float32Array {
    const { width: W, height: H, scale: s } = this;
    const pixels = this.ctx.getImageData(0, 0, W * s, H * s).data;
    const out = new Float32Array(H * W);
    for (let y = 0; y < H * s; y++) {
      const row = Math.floor(y / s) * W;
      for (let x = 0; x < W * s; x++) out[row + Math.floor(x / s)] += pixels[(y * W * s + x) * 4];
    }
    const k = this.max / (255 * s * s);
    for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] * k);
    return out;
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * this.canvas.width, y: ((e.clientY - r.top) / r.height) * this.canvas.height };
  }

  private stroke(to: { x: number; y: number }): void {
    const ctx = this.ctx;
    const from = this.last ?? to;
    ctx.strokeStyle = '#fff';
    ctx.fillStyle = '#fff';
    ctx.lineWidth = this.canvas.width / 14;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    if (from === to) {
      ctx.arc(to.x, to.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }
    this.last = to;
  }

  private listen(): void {
    const c = this.canvas;
    c.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      this.last = undefined;
      this.onDraw();
      this.stroke(this.point(e));
    });
    c.addEventListener('pointermove', (e) => {
      if (this.last) this.stroke(this.point(e));
    });
    const end = () => (this.last = undefined);
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('lostpointercapture', end);
  }
}
