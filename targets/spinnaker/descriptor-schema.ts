/**
 * JSON Schema (draft 2020-12) of spinnaker.json, derived from the interfaces in descriptor.ts, with the
 * ranges the machine and the emulator support (s16.15 and u0.32 words, 16-bit ring buffers of at most
 * 2^14 entries, rows of at most 256 synapses, 18 processors per chip, 8-bit chip coordinates, links
 * 0–5). Cross references (names, chips, dead chips and links, ranges into spinnaker.bin, totals) are
 * checked in descriptor.ts.
 */
import { DECODINGS } from '../../compiler/ir/model.js';
import { INT32_MAX, UINT32_MAX, count, descriptorProvenance, integer, number, object, shape, string, tuple } from '../common/descriptor-checks.js';
import { MAX_RING_BUFFER_BITS, MAX_ROW_LENGTH, TYPE_BITS } from './synaptic-matrix.js';

/** Machine steps per sample (T + the output's depth). */
export const MAX_STEPS = 200_000;

const int32 = integer(-INT32_MAX - 1, INT32_MAX);
const uint32 = integer(0, UINT32_MAX);
const range = object({ offset: count, length: count });
const chip = tuple(integer(0, 255), 2);
/** A dead link: chip x, y and link 0–5 (E, NE, N, W, SW, S). */
const deadLink = { type: 'array', prefixItems: [integer(0, 255), integer(0, 255), integer(0, 5)], items: false, minItems: 3 } as const;

const params = object({
  vInit: int32,
  vRest: int32,
  cm: int32,
  tauM: int32,
  iOffset: int32,
  vReset: int32,
  tauRefrac: int32,
  refractTimerInit: integer(0, INT32_MAX),
  vThresh: int32,
  tauSynE: int32,
  tauSynI: int32,
  timestep: int32,
});
const constants = object({ rMembrane: int32, expTc: int32, tRefract: integer(0, INT32_MAX), decayE: uint32, initE: uint32, decayI: uint32, initI: uint32 });

const population = object(
  {
    name: string,
    role: { enum: ['neuron', 'readout', 'or', 'source'] },
    shape,
    neurons: integer(1, 1 << 24),
    atomsPerCore: integer(1, 1 << 16),
    params,
    constants,
    iOffset: { oneOf: [{ type: 'null' }, range] },
    scale: number,
    gain: { type: 'number', exclusiveMinimum: 0 },
    depth: integer(0, MAX_STEPS),
    shift: tuple(integer(0, 16), 2),
    hostCurrent: { type: 'boolean' },
    keys: object({ key: uint32, mask: uint32, vertexMask: uint32 }),
  },
  ['name', 'role', 'shape', 'neurons', 'atomsPerCore', 'params', 'constants', 'iOffset', 'scale', 'gain', 'depth', 'shift', 'hostCurrent'],
);

const popTableEntry = object({
  source: string,
  key: uint32,
  mask: uint32,
  coreMask: uint32,
  maskShift: integer(0, 31),
  nNeurons: integer(1, 1 << 24),
  colourBits: integer(0, 31),
  addresses: { type: 'array', items: object({ projection: string, rowLength: integer(0, MAX_ROW_LENGTH), offset: count }) },
});

const core = object(
  {
    population: string,
    index: count,
    lo: count,
    hi: count,
    chip,
    processor: integer(0, 17),
    key: uint32,
    ringBuffer: object({ indexBits: integer(0, MAX_RING_BUFFER_BITS), typeBits: { const: TYPE_BITS }, delayBits: integer(0, MAX_RING_BUFFER_BITS) }),
    popTable: { type: 'array', items: popTableEntry },
    matrix: range,
    synapses: count,
    dtcm: count,
    sdram: count,
  },
  ['population', 'index', 'lo', 'hi', 'chip', 'processor', 'popTable', 'matrix', 'synapses', 'dtcm', 'sdram'],
);

export const spinnakerDescriptorSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'snnc spinnaker.json, version 1',
  ...object(
    {
      format: { const: 'snnc-spinnaker' },
      version: { const: 1 },
      ...descriptorProvenance,
      timesteps: integer(1, 100_000),
      steps: integer(1, MAX_STEPS),
      machine: object(
        {
          name: string,
          width: integer(1, 256),
          height: integer(1, 256),
          wrap: { type: 'boolean' },
          boards: integer(1, 1 << 16),
          deadChips: { type: 'array', items: chip },
          deadLinks: { type: 'array', items: deadLink },
          routerEntries: integer(1, 1 << 16),
          sdramPerChip: count,
          dtcmPerCore: count,
          timestepMs: { const: 1 },
        },
        ['name', 'width', 'height', 'wrap', 'boards', 'routerEntries', 'sdramPerChip', 'dtcmPerCore', 'timestepMs'],
      ),
      keySpace: object({ colourBits: integer(0, 16), appBits: integer(0, 32), machineBits: integer(0, 32), atomBits: integer(0, 32) }),
      host: object({ encoder: { type: 'object' }, population: string }, ['population']),
      output: object({ population: string, decoding: { enum: [...DECODINGS] } }),
      populations: { type: 'array', items: population, minItems: 1 },
      cores: { type: 'array', items: core, minItems: 1 },
      routing: { type: 'array', items: object({ chip, before: count, after: count, entries: { type: 'array', items: tuple(uint32, 3) } }) },
      totals: object({ cores: count, chips: count, neurons: count, synapses: count, maxEntriesBefore: count, maxEntriesAfter: count }),
      blob: object({ file: { const: 'spinnaker.bin' }, words: count }),
    },
    ['format', 'version', 'snncVersion', 'sourceHash', 'model', 'timesteps', 'steps', 'machine', 'keySpace', 'input', 'output', 'populations', 'cores', 'routing', 'totals', 'blob'],
  ),
} as const;
