/**
 * The multiply-adds of LocalZO's sparse backward (training/sparse-backward.ts) as a WebAssembly SIMD
 * kernel, compiled once per process from the text below by wabt, with the two passes over every input
 * value that go with them (the input's leaky trace, ρ leaked back into dx). Per non-zero term (input
 * offset xo, weight offset wo, amount a) and per row r < rows, over q < len contiguous values:
 *   dW[wo + r·len + q] += a·x̄[xo + r·stride + q]    and, when ρ is wanted,
 *   ρ[xo + r·stride + q] += a·W[wo + r·len + q]
 * (a convolution: one row per kernel row, the kernel's width × channels contiguous; a dense layer: one
 * row of all its inputs). Four lanes at a time (f32x4), then one at a time; each product is rounded to
 * float32 before its add, in term order: the same input gives the same sums.
 *
 * Owns the module and its memory: the caller lays out its arrays in that memory (`arena`) and reads
 * them back before the next call, which may grow (and move) the memory.
 */
import wabtInit from 'wabt';

const WAT = `(module
  (memory (export "memory") 1)
  ;; dst[q] += a·src[q] for q < len (f32, byte addresses).
  (func $axpy (param $dst i32) (param $src i32) (param $a f32) (param $len i32)
    (local $q i32) (local $len4 i32) (local $av v128)
    (local.set $len4 (i32.and (local.get $len) (i32.const -4)))
    (local.set $av (f32x4.splat (local.get $a)))
    (block $vectorDone (loop $vector
      (br_if $vectorDone (i32.ge_u (local.get $q) (local.get $len4)))
      (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (f32x4.mul (local.get $av) (v128.load (local.get $src)))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $q (i32.add (local.get $q) (i32.const 4)))
      (br $vector)))
    (block $scalarDone (loop $scalar
      (br_if $scalarDone (i32.ge_u (local.get $q) (local.get $len)))
      (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.mul (local.get $a) (f32.load (local.get $src)))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $scalar))))
  ;; In place over T steps of $per values at $a: x̄_t = β·x̄_{t−1} + x_t (forwards).
  (func (export "trace") (param $a i32) (param $T i32) (param $per i32) (param $beta f32)
    (local $end i32) (local $prev i32)
    (local.set $prev (local.get $a))
    (local.set $a (i32.add (local.get $a) (i32.shl (local.get $per) (i32.const 2))))
    (local.set $end (i32.add (local.get $prev) (i32.shl (i32.mul (local.get $T) (local.get $per)) (i32.const 2))))
    (block $done (loop $step
      (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
      (call $axpy (local.get $a) (local.get $prev) (local.get $beta) (local.get $per))
      (local.set $prev (local.get $a))
      (local.set $a (i32.add (local.get $a) (i32.shl (local.get $per) (i32.const 2))))
      (br $step))))
  ;; In place over T steps of $per values at $a: dx_t = ρ_t + β·dx_{t+1} (backwards).
  (func (export "leak") (param $a i32) (param $T i32) (param $per i32) (param $beta f32)
    (local $at i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $per) (i32.const 2)))
    (local.set $at (i32.add (local.get $a) (i32.mul (i32.sub (local.get $T) (i32.const 2)) (local.get $bytes))))
    (block $done (loop $step
      (br_if $done (i32.lt_s (local.get $at) (local.get $a)))
      (call $axpy (local.get $at) (i32.add (local.get $at) (local.get $bytes)) (local.get $beta) (local.get $per))
      (local.set $at (i32.sub (local.get $at) (local.get $bytes)))
      (br $step))))
  ;; $rho = 0: no ρ wanted.
  (func (export "terms") (param $n i32) (param $terms i32) (param $xbar i32) (param $rho i32) (param $w i32) (param $dw i32)
        (param $rows i32) (param $len i32) (param $stride i32)
    (local $k i32) (local $t i32) (local $xo i32) (local $wo i32) (local $a f32) (local $r i32)
    (block $termsDone (loop $term
      (br_if $termsDone (i32.ge_u (local.get $k) (local.get $n)))
      (local.set $t (i32.add (local.get $terms) (i32.mul (local.get $k) (i32.const 12))))
      (local.set $xo (i32.shl (i32.load (local.get $t)) (i32.const 2)))
      (local.set $wo (i32.shl (i32.load offset=4 (local.get $t)) (i32.const 2)))
      (local.set $a (f32.load offset=8 (local.get $t)))
      (local.set $r (i32.const 0))
      (block $rowsDone (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (call $axpy (i32.add (local.get $dw) (local.get $wo)) (i32.add (local.get $xbar) (local.get $xo)) (local.get $a) (local.get $len))
        (if (local.get $rho) (then
          (call $axpy (i32.add (local.get $rho) (local.get $xo)) (i32.add (local.get $w) (local.get $wo)) (local.get $a) (local.get $len))))
        (local.set $xo (i32.add (local.get $xo) (i32.shl (local.get $stride) (i32.const 2))))
        (local.set $wo (i32.add (local.get $wo) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $term))))
)`;

interface Exports {
  readonly memory: WebAssembly.Memory;
  terms(n: number, terms: number, xbar: number, rho: number, w: number, dw: number, rows: number, len: number, stride: number): void;
  trace(at: number, T: number, per: number, beta: number): void;
  leak(at: number, T: number, per: number, beta: number): void;
}

let instance: Exports | undefined;

/** Compiles the kernel (once); the training network awaits it before a LocalZO sparse backward runs. */
export async function loadSparseKernel(): Promise<void> {
  if (instance) return;
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('sparse-wasm.wat', WAT, { simd: true });
  try {
    const { buffer } = parsed.toBinary({});
    const compiled = await WebAssembly.compile(new Uint8Array(buffer));
    instance = (await WebAssembly.instantiate(compiled)).exports as unknown as Exports;
  } finally {
    parsed.destroy();
  }
}

/** The kernel's arrays for one call, as views of its memory. */
export interface Arena {
  /** Terms: (xo, wo) as int32 and the amount as float32, 3 words per term. */
  readonly termWords: Int32Array;
  readonly termAmounts: Float32Array;
  readonly xbar: Float32Array;
  /** Zeroed; empty when ρ is not wanted. */
  readonly rho: Float32Array;
  /** The weights [outputs, taps] ρ is scattered from; empty when ρ is not wanted. */
  readonly w: Float32Array;
  /** Zeroed. */
  readonly dw: Float32Array;
  /** Runs the kernel over the first `n` terms. */
  run(n: number, rows: number, len: number, stride: number): void;
  /** x̄ (holding x [T·per]) becomes x's leaky trace, in place (see sparse-backward.ts). */
  trace(T: number, per: number, beta: number): void;
  /** ρ [T·per] becomes dx, in place (see sparse-backward.ts). */
  leak(T: number, per: number, beta: number): void;
}

/** Lays out the kernel's arrays for one call (growing its memory as needed); valid until the next call. */
export function arena(sizes: { terms: number; xbar: number; rho: number; w: number; dw: number }): Arena {
  if (!instance) throw new Error('sparse-wasm: loadSparseKernel() was not awaited');
  const k = instance;
  const offsets: number[] = [];
  let end = 0;
  // x̄ first: ρ's offset is then never 0, which the kernel reads as "no ρ".
  for (const words of [sizes.xbar, sizes.rho, sizes.w, sizes.dw, 3 * sizes.terms]) {
    offsets.push(end);
    end += 4 * Math.max(4, Math.ceil(words / 4) * 4); // 16-byte aligned, never empty
  }
  const pages = Math.ceil(end / 65536) - k.memory.buffer.byteLength / 65536;
  if (pages > 0) k.memory.grow(pages);
  const buffer = k.memory.buffer;
  const [xbar, rho, w, dw, terms] = offsets;
  return {
    termWords: new Int32Array(buffer, terms, 3 * sizes.terms),
    termAmounts: new Float32Array(buffer, terms, 3 * sizes.terms),
    xbar: new Float32Array(buffer, xbar, sizes.xbar),
    rho: new Float32Array(buffer, rho, sizes.rho).fill(0),
    w: new Float32Array(buffer, w, sizes.w),
    dw: new Float32Array(buffer, dw, sizes.dw).fill(0),
    run: (n, rows, len, stride) => k.terms(n, terms, xbar, sizes.rho ? rho : 0, w, dw, rows, len, stride),
    trace: (T, per, beta) => k.trace(xbar, T, per, beta),
    leak: (T, per, beta) => k.leak(rho, T, per, beta),
  };
}
