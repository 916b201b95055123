/**
 * Stepping to the adjacent float32. For float32 x and θ: x > θ ⇔ x ≥ nextFloat32Up(θ), and
 * x ≥ θ ⇔ x > prevFloat32(θ). NIR spikes on v > θ and the IR on v ≥ θ, so its reader and writer use these.
 */

function stepFloat32(v: number, direction: 1 | -1): number {
  const buf = new Float32Array([v]);
  if (buf[0] === 0) return direction * Math.fround(1.4e-45); // the smallest float32 (denormal)
  const bits = new Int32Array(buf.buffer);
  bits[0] += buf[0] > 0 ? direction : -direction;
  return buf[0];
}

export const nextFloat32Up = (v: number): number => stepFloat32(v, 1);
export const prevFloat32 = (v: number): number => stepFloat32(v, -1);
