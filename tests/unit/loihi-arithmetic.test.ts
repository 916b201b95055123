/**
 * Loihi fixed-point arithmetic against Lava: the unit-test vectors of loihi.md §1.5 and the lava-dl
 * ground truth lif_dense_oxford_layer0 (Dense + CUBA-LIF, 2000 steps: spikes and currents, 0 mismatches).
 */
import { describe, expect, it } from 'vitest';
import { readArray } from '../../compiler/io/datasets.js';
import { type CubaParams, cubaLifStep, denseBitAcc, prepareDenseWeights } from '../../targets/loihi/arithmetic.js';

function run(p: CubaParams, inputs: number[], steps: number, n = 1) {
  const u = new Float64Array(n);
  const v = new Float64Array(n);
  const s = new Uint8Array(n);
  const trace: { u: number; v: number; s: number }[] = [];
  for (let t = 0; t < steps; t++) {
    cubaLifStep(p, new Float64Array(n).fill(inputs[t] ?? 0), u, v, s);
    trace.push({ u: u[0], v: v[0], s: s[0] });
  }
  return trace;
}

describe('CUBA-LIF, bit-accurate (loihi.md §1.5 vectors)', () => {
  it('bias 2<<6, vth 8: v = 128, 256, 384, 512, 640 → spikes at steps 5 and 10', () => {
    const tr = run({ du: 0, dv: 0, vth: 8, biasMant: [2], biasExp: 6 }, [], 10);
    expect(tr.slice(0, 4).map((x) => x.v)).toEqual([128, 256, 384, 512]);
    expect(tr.flatMap((x, t) => (x.s ? [t + 1] : []))).toEqual([5, 10]);
  });
  it('du = 2047 halves u: 8192, 4096, …, 64; negative input gives the exact negatives', () => {
    expect(run({ du: 2047, dv: 0, vth: 256 }, [128], 8).map((x) => x.u)).toEqual([8192, 4096, 2048, 1024, 512, 256, 128, 64]);
    expect(run({ du: 2047, dv: 0, vth: 256 }, [-128], 8).map((x) => x.u)).toEqual([-8192, -4096, -2048, -1024, -512, -256, -128, -64]);
  });
  it('du = 0 still decays by 4095/4096; dv = 2048 halves v', () => {
    const tr = run({ du: 0, dv: 2048, vth: 1 << 17 }, [128], 8);
    expect(tr.map((x) => x.v)).toEqual([8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]);
    expect(tr[7].u).toBe(8178);
  });
  it('the derived vector with bias, decays and spikes (§1.5)', () => {
    const tr = run({ du: 409, dv: 410, vth: 64, biasMant: [3], biasExp: 6 }, [10, 0, -4, 7, 7, 0, 0, 25, 0, 0], 10);
    expect(tr.map((x) => [x.u, x.v, x.s])).toEqual([[640, 832, 0], [575, 1515, 0], [261, 1816, 0], [682, 2508, 0], [1061, 3509, 0], [954, 0, 1], [858, 1050, 0], [2372, 3508, 0], [2134, 0, 1], [1920, 2112, 0]]);
  });
  it('u wraps as Lava codes it; v saturates', () => {
    const u = Float64Array.of(8388544);
    const v = new Float64Array(1);
    cubaLifStep({ du: -1, dv: 0, vth: 1 << 17 }, [2], u, v, new Uint8Array(1));
    expect(u[0]).toBe(-8388544); // 8388544 + 2·64 = 8388672 > 2^23 → wraps to −8388544
    const edge = Float64Array.of(8388544);
    cubaLifStep({ du: -1, dv: 0, vth: 1 << 17 }, [1], edge, new Float64Array(1), new Uint8Array(1));
    expect(edge[0]).toBe(8388608); // exactly 2^23 is left unchanged (Lava's edge case)
    const u2 = new Float64Array(1);
    const v2 = Float64Array.of(8388000);
    cubaLifStep({ du: -1, dv: 0, vth: 1 << 17 }, [100], u2, v2, new Uint8Array(1));
    expect(v2[0]).toBe(8388607);
  });
});

describe('Dense weights (loihi.md §2.2)', () => {
  it('mixed-sign 8-bit weights lose their LSB; clipping by sign mode', () => {
    expect([...prepareDenseWeights([3, -3, 255, -300, 0]).weights]).toEqual([2, -4, 254, -256, 0]);
    expect(prepareDenseWeights([1, 300]).mode).toBe('excitatory');
    expect([...prepareDenseWeights([1, 300]).weights]).toEqual([1, 255]);
    expect([...prepareDenseWeights([-1, -300]).weights]).toEqual([-1, -255]);
  });
});

describe('lava-dl ground truth: lif_dense_oxford_layer0', () => {
  it('Dense (one-step delay) + CUBA-LIF over 2000 steps: 0 spike and 0 current mismatches', () => {
    const D = '../shared/fixtures/lava/lif_dense_oxford_layer0';
    const W = readArray(`${D}/weight.npy`);
    const input = readArray(`${D}/in.npy`);
    const out = readArray(`${D}/out.npy`);
    const current = readArray(`${D}/current.npy`);
    const [nOut, nIn] = W.shape;
    const steps = input.shape[1];
    expect(input.shape[0]).toBe(nIn);
    expect(out.shape).toEqual([nOut, steps]);
    const { weights } = prepareDenseWeights(W.data);
    const p: CubaParams = { du: 4095, dv: 415, vth: 6 };
    const u = new Float64Array(nOut);
    const v = new Float64Array(nOut);
    const s = new Uint8Array(nOut);
    let buffer = new Float64Array(nOut); // Dense sends last step's result first (the one-step delay)
    let spikeMismatch = 0;
    let currentMismatch = 0;
    let spikes = 0;
    const inCol = new Float64Array(nIn);
    for (let k = 0; k < steps; k++) {
      for (let j = 0; j < nIn; j++) inCol[j] = input.data[j * steps + k];
      // Dense sends its buffer (computed last step) before it receives this step's spikes: the one-step delay.
      cubaLifStep(p, buffer, u, v, s);
      const next = new Float64Array(nOut);
      denseBitAcc(weights, nOut, nIn, inCol, 0, next);
      buffer = next;
      for (let o = 0; o < nOut; o++) {
        spikes += s[o];
        if (s[o] !== out.data[o * steps + k]) spikeMismatch++;
        if (u[o] !== current.data[o * steps + k] * 64) currentMismatch++;
      }
    }
    expect(spikes).toBeGreaterThan(100);
    expect(spikeMismatch).toBe(0);
    expect(currentMismatch).toBe(0);
  });
});
