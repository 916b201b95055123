/**
 * The real CNTK MNIST CNN (tests/helpers/cntk-conversion.ts): snnc's default conversion
 * (quantisation-optimal λ for each T, max-pools of constant currents pooled before the IF, gating
 * elsewhere, v(0) = θ/2) beats the reference protocol (p99.9, θ/2, gating) at every T = 1…128.
 */
import { describe, expect, it } from 'vitest';
import { readOnnx } from '../../compiler/frontends/onnx/read.js';
import { calibrateAnn } from '../../compiler/passes/conversion.js';
import { convertedAccuracyVsT } from '../../tools/evaluate.js';
import { CNTK, SIMULATION_TIMEOUT, TS, cntkData, referenceAccuracy } from '../helpers/cntk-conversion.js';

describe('CNTK MNIST CNN: snnc\'s default conversion', () => {
  it('beats the reference protocol (p99.9, θ/2, gating) at every T = 1…128', async () => {
    const { calib, evalData } = cntkData();
    const calibrated = calibrateAnn(readOnnx(`${CNTK}/mnist.onnx`), calib, { norm: 'mse', maxpool: 'auto' });
    const acc = await convertedAccuracyVsT(calibrated, evalData, TS, { norm: 'mse', maxpool: 'auto', v0: 'half' }, { batch: 32 });
    for (const T of TS) {
      const ref = referenceAccuracy('p99.9', 'half', T);
      expect(acc.get(T)!, `T=${T}: ${acc.get(T)} vs reference ${ref}`).toBeGreaterThan(ref);
    }
  }, SIMULATION_TIMEOUT);
});
