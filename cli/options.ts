/** Option parsers shared by several commands. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LoadOptions } from '../compiler/frontends/index.js';
import { badInput } from '../compiler/errors.js';
import { IDENTITY_PREPROCESS, type Preprocess } from '../compiler/ir/model.js';
import { finiteNumber, intInRange, positiveNumber } from '../compiler/io/option-values.js';
import { warn } from './terminal.js';

export { finiteNumber, intInRange, positiveInt, positiveNumber } from '../compiler/io/option-values.js';

/** Most time steps a command takes: beyond this, state and spike buffers outgrow memory on any model. */
export const MAX_TIMESTEPS = 100_000;
/** Largest batch a command takes. */
export const MAX_BATCH = 65_536;

/** A percentage in (0, 100]. */
export function percentArg(value: string): number {
  const x = finiteNumber(value);
  if (!(x > 0 && x <= 100)) throw new InvalidArgumentError('expected a percentage in (0, 100].');
  return x;
}
export const timestepsArg = intInRange(1, MAX_TIMESTEPS);
export const batchArg = intInRange(1, MAX_BATCH);

export function numberList(value: string): number[] {
  try {
    return value.split(',').map((v) => finiteNumber(v));
  } catch {
    throw new InvalidArgumentError('expected comma-separated numbers, e.g. 0.5,0.5,0.5.');
  }
}

export function timestepsList(value: string): number[] {
  try {
    return value.split(',').map((v) => timestepsArg(v));
  } catch {
    throw new InvalidArgumentError(`expected comma-separated whole numbers from 1 to ${MAX_TIMESTEPS}, e.g. 1,2,4,8.`);
  }
}

/** --input-scale / --input-mean / --input-std as a Preprocess, or undefined when none was given. */
export function inputPreprocess(o: { inputScale?: number; inputMean?: number[]; inputStd?: number[] }): Preprocess | undefined {
  if (o.inputScale === undefined && !o.inputMean && !o.inputStd) return undefined;
  if (o.inputStd?.some((s) => s === 0)) throw badInput('--input-std must not contain 0 (inputs are divided by it)');
  return { scale: o.inputScale ?? IDENTITY_PREPROCESS.scale, mean: o.inputMean ?? IDENTITY_PREPROCESS.mean, std: o.inputStd ?? IDENTITY_PREPROCESS.std };
}

/** NIR and NetX import options from --dt/--reset/--timesteps (where a command has them); diagnostics go to stderr. */
export function nirLoadOptions(o: { dt?: number; reset?: 'zero' | 'subtract'; semantics?: 'nir' | 'snntorch'; timesteps?: number }): LoadOptions {
  return {
    nir: { dt: o.dt, reset: o.reset, semantics: o.semantics, timesteps: o.timesteps },
    netx: { timesteps: o.timesteps },
    onDiagnostic: (d) => warn(`node "${d.node}": ${d.message}`),
  };
}

/** --dt and --reset for commands that also read a .nir model directly, as `snnc import` has them. */
export const addNirOptions = (c: Command) =>
  c
    .option('--dt <seconds>', '.nir model: time step for discretising the continuous-time graph (default 1e-4, the NIR paper\'s; 1/R for graphs of IF neurons only)', positiveNumber)
    .addOption(new Option('--reset <mode>', '.nir model: reset of every spiking neuron, overriding the file (default: its v_reset, else zero)').choices(['zero', 'subtract']))
    .addOption(new Option('--semantics <whose>', '.nir model: nir = NIR\'s equations (default); snntorch = LIF/CubaLIF subtract θ one step late, as snnTorch\'s Leaky/Synaptic do by default').choices(['nir', 'snntorch']));
