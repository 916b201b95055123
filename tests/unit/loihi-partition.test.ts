/**
 * The Loihi resource model and partitioner (targets/loihi/chip.ts, footprint.ts, partition.ts,
 * shared-conv.ts): a hand-computed footprint of a convolution tile in both synapse formats; the joint
 * search never worse than the per-layer choice; the PilotNet-shaped LIF network on one Loihi 2 chip;
 * refusals naming layer, resource, limit and excess. Property (fast-check): random conv / max-pool /
 * dense networks split over tiny cores, where the partitioner's per-core estimates equal the
 * materialised descriptor, and every shared-weight axon expands into exactly the explicit synapses of
 * the same tile. A compiled folder with shared weights round-trips, and its mutated words and fields are
 * refused by name. The emulator's exactness on shared weights is tests/unit/loihi.test.ts's.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, SnncError } from '../../compiler/errors.js';
import { loadModel } from '../../compiler/frontends/index.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { readModelJson } from '../../compiler/ir/serialize/read.js';
import { CHIPS, type ChipKind, type ChipSpec } from '../../targets/loihi/chip.js';
import { type LoihiDescriptor, buildDescriptor } from '../../targets/loihi/descriptor.js';
import { LoihiEmulator, readLoihiFolder } from '../../targets/loihi/emulator.js';
import { PopulationGeometry } from '../../targets/loihi/footprint.js';
import { compileLoihi, loihiTarget, planLoihi, quantiseForChip } from '../../targets/loihi/index.js';
import { type Partition, partitionLoihiCores } from '../../targets/loihi/partition.js';
import type { LoihiPopulation, LoihiProjection } from '../../targets/loihi/quantise.js';
import { expandSynapses } from '../../targets/loihi/shared-conv.js';
import { pilotnetLif, resnet18 } from '../../bench/loihi-networks.js';
import { randomTensor, rng } from '../helpers/models.js';
import { snncErrorMessage } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';

describe('resource model', () => {
  /**
   * Conv 4 → 6 channels, 3×3, stride 1, padding 1, on 8×8; the split [2, 3, 2] gives tile (0, 1, 0):
   * channels 0…2, rows 3…5, columns 0…3, 36 neurons. It reads source rows 2…6 (taps per row 1, 2, 3, 2,
   * 1: Σ 9) and columns 0…4 (padding cuts column −1; taps 2, 3, 3, 2, 1: Σ 11): 4 · 5 · 5 = 100 axons
   * and 4 · 3 · 9 · 11 = 1188 connections.
   */
  const tile = (chip: ChipKind) => {
    const pop = { name: 'n', shape: [6, 8, 8], neurons: 384, hostCurrent: false } as unknown as LoihiPopulation;
    const proj = { name: 'c', source: INPUT, target: 'n', geometry: { kind: 'conv', inShape: [4, 8, 8], outShape: [6, 8, 8], kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }, weights: new Int32Array(216) } as unknown as LoihiProjection;
    const geo = new PopulationGeometry(pop, [proj], CHIPS[chip]);
    return geo.tile(geo.reads([2, 3, 2]), 0, 1, 0);
  };

  it('Loihi 2 stores the tile’s kernel slice once plus one 64-bit entry per input axon', () => {
    // 3 · 4 · 3 · 3 = 108 weights · 8 bits = 864 → 14 words = 896 bits; 100 axons · 64 = 6400.
    expect(tile('loihi2')).toEqual({ box: { c0: 0, c1: 3, y0: 3, y1: 6, x0: 0, x1: 4 }, neurons: 36, compartments: 36, inAxons: 100, synapses: 1188, synapseBits: 896 + 6400 });
  });

  it('Loihi 1 stores one row of explicit synapses per input axon', () => {
    // Axon (c, y, x) has 3 · taps_y · taps_x synapses of 8 + 10 bits, plus a 10-bit header, in whole words:
    // lengths 3, 6, 9, 12, 18, 27 take 64, 128, 192, 256, 384, 512 bits. Per source channel Σ over the
    // 5 × 5 (row, column) pairs = 6208 bits; 4 channels.
    expect(tile('loihi1')).toMatchObject({ inAxons: 100, synapses: 1188, synapseBits: 4 * 6208 });
  });
});

describe('joint partitioner', () => {
  const cases: [string, () => Promise<SnnModel> | SnnModel, ChipKind[]][] = [
    ['MNIST CNN example', () => readModelJson('examples/mnist-cnn/model.json'), ['loihi2']],
    ['PilotNet-shaped LIF', pilotnetLif, ['loihi1', 'loihi2']],
    ['PilotNet SDNN (lava-dl)', () => loadModel('../shared/fixtures/lava/pilotnet_sdnn/network.net'), ['loihi2']],
    ['ResNet-18 at 64×64, stage 4 at 384', () => resnet18(384, 64), ['loihi1', 'loihi2']],
  ];
  for (const [name, make, chips] of cases) {
    it(`${name}: never more cores than the per-layer choice, and no fewer than the lower bound`, async () => {
      const model = await make();
      for (const chip of chips) {
        const { network, partition } = planLoihi(model, { chip, chips: 1000 });
        const perLayer = partitionLoihiCores(network, CHIPS[chip], { beam: 1 });
        expect(partition.cores).toBeLessThanOrEqual(perLayer.cores);
        expect(partition.cores).toBeGreaterThanOrEqual(partition.lowerBound);
        expect(perLayer.lowerBound).toBe(partition.lowerBound);
        expect(partition.lowerBound).toBeGreaterThanOrEqual(partition.volumeBound);
      }
    });
  }

  it('the PilotNet-shaped LIF network fits one Loihi 2 chip; on Loihi 1 the joint search saves cores', () => {
    expect(planLoihi(pilotnetLif()).partition.cores).toBeLessThanOrEqual(128);
    const network = quantiseForChip(pilotnetLif(), { chip: 'loihi1' });
    expect(partitionLoihiCores(network, CHIPS.loihi1).cores).toBeLessThan(partitionLoihiCores(network, CHIPS.loihi1, { beam: 1 }).cores);
  });

  it('refusals name the layer, the resource, the limit and the excess', () => {
    const model = convNet({ cin: 4, groups: 1, coutPerGroup: 2, k: 3, stride: 1, pad: 1, h: 6, w: 6, pool: 'none', dense: 3, seed: 1 });
    const network = quantiseForChip(model);
    // A single interior neuron reads 4 · 3 · 3 = 36 axons: 36 · 8 bits of kernel in 5 words (320) + 36 · 64.
    expect(snncErrorMessage(() => partitionLoihiCores(network, { ...CHIPS.loihi2, synapseBits: 1000 }))).toBe('layer "n1": does not fit a loihi2 core even when split into single neurons: synapse memory bits 2624 > limit 1000 (over by 1624)');
    // Every n1 neuron feeds each of the dense layer's cores (split into 3 by compartments), more than 2 output axons.
    expect(snncErrorMessage(() => partitionLoihiCores(network, { ...CHIPS.loihi2, compartments: 1, outAxons: 2 }))).toBe('layer "n1": output axons 3 > limit 2 (over by 1) even after splitting');
  });
});

interface ConvNet {
  readonly cin: number;
  readonly groups: number;
  readonly coutPerGroup: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly h: number;
  readonly w: number;
  readonly pool: 'none' | '2s2' | '2s1' | '3s2';
  readonly dense: number;
  readonly seed: number;
}

/** events [cin, h, w] → conv (grouped, strided, padded) → [max-pool join] → IF → flatten → dense → IF. */
function convNet(p: ConvNet): SnnModel {
  const r = rng(p.seed);
  const cout = p.groups * p.coutPerGroup;
  const oh = Math.floor((p.h + 2 * p.pad - p.k) / p.stride) + 1;
  const ow = Math.floor((p.w + 2 * p.pad - p.k) / p.stride) + 1;
  const [pk, ps] = p.pool === 'none' || Math.min(oh, ow) < 3 ? [1, 1] : p.pool === '2s2' ? [2, 2] : p.pool === '2s1' ? [2, 1] : [3, 2];
  const [ph, pw] = [Math.floor((oh - pk) / ps) + 1, Math.floor((ow - pk) / ps) + 1];
  const neuron = { threshold: 1, reset: 'zero' as const, v0: 0 };
  const layers: L.Layer[] = [L.conv2d({ name: 'c', inputs: [INPUT], weight: randomTensor(r, [cout, p.cin / p.groups, p.k, p.k], 0.5, 0.1), stride: [p.stride, p.stride], padding: [p.pad, p.pad, p.pad, p.pad], groups: p.groups })];
  if (pk > 1) layers.push(L.maxpool2d({ name: 'p', inputs: ['c'], kernel: [pk, pk], stride: [ps, ps], padding: [0, 0, 0, 0] }));
  layers.push(
    L.ifNeuron({ name: 'n1', inputs: [pk > 1 ? 'p' : 'c'], ...neuron }),
    L.flatten({ name: 'f', inputs: ['n1'] }),
    L.dense({ name: 'd', inputs: ['f'], weight: randomTensor(r, [p.dense, cout * ph * pw], 0.3, 0.05) }),
    L.ifNeuron({ name: 'n2', inputs: ['d'], ...neuron }),
  );
  return { name: 'conv_net', input: { shape: [p.cin, p.h, p.w], encoding: { type: 'events' }, preprocess: { scale: 1, mean: [0], std: [1] } }, layers, output: { layer: 'n2', decoding: 'spike_count' }, timesteps: 4, dt: 1e-3, metadata: {} };
}

/** Per input axon of each core, its (compartment, weight) synapses in a canonical order. */
function synapsesByAxon(d: LoihiDescriptor, ints: Int32Array): string[][] {
  return d.cores.map((c) => {
    const { axonMap, synCx, synW } = expandSynapses(c, ints);
    const rows: string[] = [];
    for (let a = 0; a < axonMap.length; a += 3) {
      const row = Array.from({ length: axonMap[a + 1] }, (_, k) => `${synCx[axonMap[a] + k]}:${synW[axonMap[a] + k]}`);
      rows.push(`${axonMap[a + 2]}|${row.sort().join(',')}`);
    }
    return rows;
  });
}

describe('estimates equal the materialised descriptor (property)', () => {
  it('random conv / max-pool / dense networks split over tiny cores, on both chips', () => {
    let compiled = 0;
    let shared = 0;
    fc.assert(
      fc.property(
        fc.record({
          cin: fc.integer({ min: 1, max: 4 }),
          groupPick: fc.integer({ min: 0, max: 3 }),
          coutPerGroup: fc.integer({ min: 1, max: 3 }),
          k: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 2 }),
          padPick: fc.integer({ min: 0, max: 2 }),
          h: fc.integer({ min: 4, max: 8 }),
          w: fc.integer({ min: 4, max: 8 }),
          pool: fc.constantFrom('none', '2s2', '2s1', '3s2'),
          dense: fc.integer({ min: 1, max: 6 }),
          seed: fc.integer({ min: 1, max: 1000 }),
          chip: fc.constantFrom<ChipKind>('loihi1', 'loihi2'),
          compartments: fc.integer({ min: 4, max: 80 }),
          outAxons: fc.integer({ min: 16, max: 400 }),
        }),
        (q) => {
          const divisors = Array.from({ length: q.cin }, (_, i) => i + 1).filter((d) => q.cin % d === 0);
          const model = convNet({ ...q, groups: divisors[q.groupPick % divisors.length], pad: Math.min(q.padPick, q.k - 1) });
          const chip: ChipSpec = { ...CHIPS[q.chip], compartments: q.compartments, outAxons: q.outAxons };
          const network = quantiseForChip(model, { chip: q.chip });
          let part: Partition;
          try {
            part = partitionLoihiCores(network, chip);
          } catch (e) {
            if (e instanceof SnncError && e.exitCode === ExitCode.doesNotFit) return; // a budget too tiny for this network
            throw e;
          }
          compiled++;
          const info = { snncVersion: 'test', sourceHash: 'test' };
          const { descriptor, ints } = buildDescriptor(network, part, info);
          part.tiles.forEach((t, i) => {
            const c = descriptor.cores[i];
            expect([c.compartments, c.budget.inAxons[0], c.budget.outAxons[0], c.budget.synapseBits[0]]).toEqual([t.compartments, t.inAxons, t.outAxons, t.synapseBits]);
            expect(expandSynapses(c, ints).synCx.length).toBe(t.synapses);
          });
          if (q.chip === 'loihi2') {
            const explicit = buildDescriptor(network, { ...part, chip: { ...chip, convWeights: 'explicit' } }, info);
            expect(synapsesByAxon(descriptor, ints)).toEqual(synapsesByAxon(explicit.descriptor, explicit.ints));
            shared += descriptor.totals.sharedWeights > 0 ? 1 : 0;
          }
        },
      ),
      { numRuns: 60, seed: 19 },
    );
    expect(compiled).toBeGreaterThan(30); // the property is not vacuous
    expect(shared).toBeGreaterThan(10);
  });
});

describe('shared weights in a compiled folder', () => {
  const root = tempDir('snnc-shared-');
  const model = convNet({ cin: 2, groups: 1, coutPerGroup: 3, k: 3, stride: 1, pad: 1, h: 6, w: 6, pool: '2s2', dense: 4, seed: 3 });
  const x = Float32Array.from({ length: 2 * 4 * 72 }, (_, i) => ((i * 7) % 5 === 0 ? 1 : 0));
  beforeAll(async () => void (await loihiTarget.emit(model, join(root, 'ok'), {})));

  /** A copy of the folder without checksums, with loihi.json and loihi.bin edited. */
  const mutated = (name: string, edit: (d: any, words: Int32Array) => void): string => {
    const dir = join(root, name);
    cpSync(join(root, 'ok'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    delete m.sha256;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const d = JSON.parse(readFileSync(join(dir, 'loihi.json'), 'utf8'));
    const bytes = readFileSync(join(dir, 'loihi.bin'));
    const words = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    edit(d, words);
    writeFileSync(join(dir, 'loihi.json'), JSON.stringify(d));
    writeFileSync(join(dir, 'loihi.bin'), new Uint8Array(words.buffer));
    return dir;
  };

  it('round-trips: the folder runs as the compiled network does', () => {
    const folder = readLoihiFolder(join(root, 'ok'));
    expect(folder.descriptor.cores[0].formats[0].shared).toBeDefined();
    expect(folder.descriptor.cores[0].grid?.targets).toBeDefined(); // the max-pool join's dendrites
    expect(new LoihiEmulator(folder).run(x, 2).output).toEqual(new LoihiEmulator(compileLoihi(model)).run(x, 2).output);
  });

  it('mutated shared-weight fields and words are refused by name', () => {
    const refused = (dir: string) => snncErrorMessage(() => readLoihiFolder(dir));
    expect(refused(mutated('channel', (d, w) => void (w[d.cores[0].axonMap[0]] = 99)))).toMatch(/\/cores\/0\/axonMap\): axon 0 is \(channel 99, position \d+, format 0\); expected a channel 0 … 1 and a position 0 … 35 of its shared convolution/);
    expect(refused(mutated('target', (d, w) => void (w[d.cores[0].grid.targets[0] + d.cores[0].grid.targets[1] - 1] = 1e6)))).toMatch(/\/cores\/0\/grid\/targets\): target \d+ is compartment 1000000; the core has \d+/);
    expect(refused(mutated('slice', (d) => void d.cores[0].formats[0].shared.weights[1]--))).toMatch(/\/cores\/0\/formats\/0\/shared: kernel slice of \d+ weights; the grid box's \d+ channels need \d+/);
    expect(refused(mutated('grid', (d) => void delete d.cores[0].grid))).toMatch(/\/cores\/0\/formats\/0\/shared: a shared convolution format needs the core's "grid"/);
  });
});
