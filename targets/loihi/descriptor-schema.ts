/**
 * JSON Schema (draft 2020-12) of loihi.json, derived from the interfaces in descriptor.ts, with the
 * ranges the hardware and the emulator support. Cross references (names, indices, [offset, length]
 * ranges into loihi.bin, totals) are checked in descriptor.ts after the schema.
 */
import { DECODINGS } from '../../compiler/ir/model.js';
import { count, descriptorProvenance, integer, object, shape, string, tuple } from '../common/descriptor-checks.js';
import { CHIP_KINDS } from './chip.js';

/** Longest synaptic delay accepted (steps); the emulator keeps delay + 2 buffer slots per format. */
export const MAX_DELAY = 1023;
/** Most formats (incoming projections) per core. */
export const MAX_FORMATS = 256;
/** Time steps, and the output window's start and length. */
export const MAX_STEPS = 100_000;

const range = tuple(count, 2);
const budgetPair = tuple(count, 2);
const dimension = integer(1, 1 << 24);
/** Kernel sizes, strides and paddings of a shared convolution. */
const KERNEL_MAX = 1024;

const shared = object({
  weights: range,
  inShape: tuple(dimension, 3),
  outShape: tuple(dimension, 3),
  groups: dimension,
  kernel: tuple(integer(1, KERNEL_MAX), 2),
  stride: tuple(integer(1, KERNEL_MAX), 2),
  padding: tuple(integer(0, KERNEL_MAX), 2),
});

const format = object(
  {
    projection: string,
    kind: { enum: ['dense', 'sparse', 'conv'] },
    signMode: { enum: ['mixed', 'excitatory', 'inhibitory'] },
    weightBits: integer(1, 8),
    weightExp: integer(-16, 16),
    delay: integer(0, MAX_DELAY),
    shared,
  },
  ['projection', 'kind', 'signMode', 'weightBits', 'weightExp', 'delay'],
);

const core = object(
  {
    id: count,
    chip: count,
    population: string,
    neurons: range,
    compartments: integer(1, 1 << 16),
    dendrites: range,
    bias: range,
    formats: { type: 'array', items: format, maxItems: MAX_FORMATS },
    axonMap: range,
    synapses: range,
    outAxons: range,
    grid: object({ box: tuple(count, 6), targets: range }, ['box']),
    budget: object({ compartments: budgetPair, inAxons: budgetPair, outAxons: budgetPair, synapseBits: budgetPair }),
  },
  ['id', 'chip', 'population', 'neurons', 'compartments', 'formats', 'axonMap', 'synapses', 'outAxons', 'budget'],
);

const profile = object(
  {
    du: integer(-1, 4095),
    dv: integer(0, 4096),
    vth: integer(0, 2 ** 24),
    resetSubtract: { type: 'number', minimum: 0, maximum: 2 ** 30 },
    v0: { type: 'number', minimum: -(2 ** 23), maximum: 2 ** 23 },
    biasExp: integer(-16, 16),
    spiking: { type: 'boolean' },
    relay: { type: 'boolean' },
    sigmaDelta: object({ kind: { enum: ['delta', 'sigma_delta', 'sigma'] }, spikeExp: integer(0, 7), stateExp: integer(0, 7), messageBits: integer(1, 24) }, ['kind', 'spikeExp', 'stateExp', 'messageBits']),
  },
  ['du', 'dv', 'vth', 'v0', 'biasExp', 'spiking'],
);

const population = object({
  name: string,
  shape,
  neurons: integer(1, 1 << 24),
  depth: integer(0, MAX_STEPS),
  scale: { type: 'number', exclusiveMinimum: 0 },
  profile,
  cores: { type: 'array', items: count },
});

export const loihiDescriptorSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'snnc loihi.json, format version 2',
  ...object(
    {
      format: { const: 'snnc-loihi' },
      formatVersion: { const: 2 },
      ...descriptorProvenance,
      chip: { enum: [...CHIP_KINDS] },
      timesteps: integer(1, MAX_STEPS),
      host: object({ population: string, encoder: { type: 'object' }, port: range }, ['population', 'port']),
      spikeInput: object({ axons: range }),
      populations: { type: 'array', items: population, minItems: 1 },
      board: object({ chips: { type: 'array', items: object({ id: count, cores: { type: 'array', items: count } }), minItems: 1 } }),
      cores: { type: 'array', items: core, minItems: 1 },
      output: object({ population: string, decoding: { enum: [...DECODINGS] }, start: integer(0, MAX_STEPS), length: integer(1, MAX_STEPS) }),
      resetInterval: integer(1, MAX_STEPS),
      blob: object({ file: { const: 'loihi.bin' }, int32s: count }),
      totals: object({ cores: count, chips: count, lowerBound: count, compartments: count, synapses: count, sharedWeights: count }),
    },
    ['format', 'formatVersion', 'snncVersion', 'sourceHash', 'model', 'chip', 'timesteps', 'input', 'populations', 'board', 'cores', 'output', 'blob', 'totals'],
  ),
} as const;
