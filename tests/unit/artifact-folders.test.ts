/**
 * Readers of compiled artifact folders refuse mutated contents with a named SnncError (issue
 * "Reliability", bench/fuzz/FINDINGS.md F1–F7): each case is a small compiled folder, edited the way
 * the fuzz harness found it crashed, hung or allocated gigabytes. The folders' manifest.json loses its
 * sha256 first: the readers must hold for hand-edited folders too.
 */
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxPkg from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { SnncError } from '../../compiler/errors.js';
import * as L from '../../compiler/ir/layers.js';
import { INPUT, type SnnModel } from '../../compiler/ir/model.js';
import { LoihiEmulator, readLoihiFolder } from '../../targets/loihi/emulator.js';
import { OrtRunner } from '../../runtime/ort-runner.js';
import { SpinnakerEmulator, readSpinnakerFolder } from '../../targets/spinnaker/emulator.js';
import { gpuTarget } from '../../targets/gpu/index.js';
import { loihiTarget } from '../../targets/loihi/index.js';
import { toS1615 } from '../../targets/spinnaker/fixed-point.js';
import { spinnakerTarget } from '../../targets/spinnaker/index.js';
import { mlp, randomTensor, rng } from '../helpers/models.js';
import { tempDir } from '../helpers/tmp.js';

const onnx = onnxPkg.onnx;
const root = tempDir('snnc-artifacts-');
/** IF_curr_exp resets to v_reset: the spinnaker target needs reset "zero". */
const resetZero = (m: SnnModel): SnnModel => ({ ...m, layers: m.layers.map((l) => ('reset' in l ? { ...l, reset: 'zero' as const } : l)) as SnnModel['layers'] });
/** Direct input through a host encoder (conv, avg-pool), then IF → dense → IF: every target takes it. */
function tinyConv(): SnnModel {
  const r = rng(5);
  return {
    name: 'tiny-conv',
    input: { shape: [1, 6, 6], encoding: { type: 'direct' }, preprocess: { scale: 0.01, mean: [0], std: [1] } },
    layers: [
      L.conv2d({ name: 'c1', inputs: [INPUT], weight: randomTensor(r, [2, 1, 3, 3], 1.5, 0.5), bias: randomTensor(r, [2], 0.1), stride: [1, 1], padding: [1, 1, 1, 1], groups: 1 }),
      L.avgpool2d({ name: 'pool', inputs: ['c1'], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] }),
      L.ifNeuron({ name: 'if1', inputs: ['pool'], threshold: 1, reset: 'zero', v0: 0 }),
      L.flatten({ name: 'flat', inputs: ['if1'] }),
      L.dense({ name: 'fc', inputs: ['flat'], weight: randomTensor(r, [3, 18], 1, 0.2) }),
      L.ifNeuron({ name: 'if2', inputs: ['fc'], threshold: 1, reset: 'zero', v0: 0 }),
    ],
    output: { layer: 'if2', decoding: 'spike_count' },
    timesteps: 4,
    dt: 1e-3,
    metadata: {},
  };
}
const models: Record<'mlp' | 'conv', SnnModel> = { mlp: resetZero(mlp()), conv: tinyConv() };
let n = 0;

type Json = any;

/** A copy of compiled folder `name` without checksums, `file` edited by `edit`; returns its path. */
function mutated(name: string, file: string, edit: (doc: Json) => Json | void): string {
  const dir = join(root, `case-${n++}`);
  cpSync(join(root, name), dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  delete m.sha256;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  const doc = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  writeFileSync(join(dir, file), JSON.stringify(edit(doc) ?? doc));
  return dir;
}

/** Edits 32-bit little-endian words of a folder's .bin. */
function withWords(dir: string, file: string, edit: (w: Int32Array) => void): string {
  const bytes = readFileSync(join(dir, file));
  const w = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  edit(w);
  writeFileSync(join(dir, file), new Uint8Array(w.buffer));
  return dir;
}

const input = (model: SnnModel, batch = 2) => {
  const per = model.input.shape.reduce((a, b) => a * b, 1) * (model.input.encoding.type === 'events' ? model.timesteps : 1);
  return Float32Array.from({ length: per * batch }, (_, i) => (model.input.encoding.type === 'rate' ? 1 : (i * 53) % 50));
};

function loihiRun(dir: string, model: SnnModel): void {
  new LoihiEmulator(readLoihiFolder(dir)).run(input(model), 2);
}
function spinnakerRun(dir: string, model: SnnModel): void {
  new SpinnakerEmulator(readSpinnakerFolder(dir)).run(input(model), 2);
}

/** The SnncError `fn` throws (sync or async); fails on any other outcome. */
async function refused(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof SnncError)) throw e;
    return e.message;
  }
  throw new Error('expected an SnncError, but nothing was thrown');
}

beforeAll(async () => {
  for (const [name, model] of Object.entries(models)) {
    await loihiTarget.emit(model, join(root, `loihi-${name}`), {});
    await spinnakerTarget.emit(model, join(root, `spinnaker-${name}`), {});
    await gpuTarget.emit(model, join(root, `gpu-${name}`), { batch: 2, schedule: name === 'mlp' ? 'step' : 'layerwise' } as never);
  }
}, 120_000);

describe('unmutated folders still load and run', () => {
  it('loihi, spinnaker, gpu', async () => {
    for (const name of ['mlp', 'conv'] as const) {
      loihiRun(mutated(`loihi-${name}`, 'loihi.json', () => {}), models[name]);
      spinnakerRun(mutated(`spinnaker-${name}`, 'spinnaker.json', () => {}), models[name]);
      const r = await OrtRunner.open(mutated(`gpu-${name}`, 'manifest.json', () => {}), { threads: 1 });
      await r.run(input(models[name]), 2);
      await r.close();
    }
  });
});

describe('F1/F3: loihi.json is validated', () => {
  const cases: [string, 'mlp' | 'conv', (d: Json) => Json | void, RegExp][] = [
    ['delete /cores/0', 'mlp', (d) => void d.cores.splice(0, 1), /loihi\.json: \/(cores\/0\/id|populations\/0\/cores)/],
    ['set /cores/0/population = "+="', 'mlp', (d) => void (d.cores[0].population = '+='), /loihi\.json: \/populations\/0\/cores: .*differs/],
    ['set /cores/1/synapses/1 = -1', 'mlp', (d) => void (d.cores[1].synapses[1] = -1), /loihi\.json:\d+:\d+: \/cores\/1\/synapses\/1: must be >= 0/],
    ['set /populations/0/shape/1 = 819', 'conv', (d) => void (d.populations[0].shape[1] = 819), /\/populations\/0\/neurons: .* holds/],
    ['set /output/population = 459', 'mlp', (d) => void (d.output.population = 459), /\/output\/population: must be string/],
    ['plus1 /spikeInput/axons/0', 'mlp', (d) => void d.spikeInput.axons[0]++, /\/spikeInput\/axons: .*reaches past the end of loihi\.bin/],
    ['set /cores/1/formats/0/delay = -5', 'mlp', (d) => void (d.cores[1].formats[0].delay = -5), /\/cores\/1\/formats\/0\/delay: must be >= 0/],
    ['set /cores = 5', 'mlp', (d) => void (d.cores = 5), /\/cores: must be array/],
    ['rename /blob', 'mlp', (d) => void ((d.x = d.blob), delete d.blob), /must have required property 'blob'|unknown field|must NOT have additional/],
    ['F3: compartments = 1e9', 'mlp', (d) => void ((d.totals.compartments *= 1000), (d.cores[0].compartments = 1e9)), /\/cores\/0\/compartments: must be <= /],
    ['F3: compartments beyond the chip', 'mlp', (d) => void (d.cores[0].compartments = 5000), /\/cores\/0\/compartments: 5000 > 4096 compartments per loihi2 core/],
  ];
  for (const [what, name, edit, re] of cases) {
    it(what, async () => {
      expect(await refused(() => loihiRun(mutated(`loihi-${name}`, 'loihi.json', edit), models[name]))).toMatch(re);
    });
  }
  it('host input whose shape disagrees with the encoder (duplicate /input/shape/1)', async () => {
    const msg = await refused(() => loihiRun(mutated('loihi-conv', 'loihi.json', (d) => void d.input.shape.splice(1, 0, d.input.shape[1])), models.conv));
    expect(msg).toMatch(/host\.encoder\): \/input\/shape: \[1, 6, 6\] differs from the descriptor's input shape \[1, 6, 6, 6\]/);
  });
});

describe('F2: words of loihi.bin are checked', () => {
  it('an axon-map pointer past the synapses', async () => {
    const d = JSON.parse(readFileSync(join(root, 'loihi-mlp', 'loihi.json'), 'utf8'));
    const dir = withWords(mutated('loihi-mlp', 'loihi.json', () => {}), 'loihi.bin', (w) => void (w[d.cores[1].axonMap[0] + 1] = 2 ** 30));
    expect(await refused(() => loihiRun(dir, models.mlp))).toMatch(/loihi\.bin: words \[\d+,\d+\] of core 1 \(\/cores\/1\/axonMap\): axon 0 is \(pointer \d+, length 1073741824/);
  });
  it('a soma that is not a neuron of its population', async () => {
    const d = JSON.parse(readFileSync(join(root, 'loihi-mlp', 'loihi.json'), 'utf8'));
    const dir = withWords(mutated('loihi-mlp', 'loihi.json', () => {}), 'loihi.bin', (w) => void (w[d.cores[0].neurons[0]] = -7));
    expect(await refused(() => loihiRun(dir, models.mlp))).toMatch(/\/cores\/0\/neurons\): soma 0 is neuron -7/);
  });
  it('an output axon to a missing core', async () => {
    const d = JSON.parse(readFileSync(join(root, 'loihi-mlp', 'loihi.json'), 'utf8'));
    const dir = withWords(mutated('loihi-mlp', 'loihi.json', () => {}), 'loihi.bin', (w) => void (w[d.cores[0].outAxons[0] + 1] = 99));
    expect(await refused(() => loihiRun(dir, models.mlp))).toMatch(/\/cores\/0\/outAxons\): output axon 0 is \(soma \d+, core 99/);
  });
});

describe('F6: the embedded host encoder is validated as a model.json', () => {
  it('numeric base64', async () => {
    const msg = await refused(() => loihiRun(mutated('loihi-conv', 'loihi.json', (d) => void (d.host.encoder.layers[0].weight.base64 = 9)), models.conv));
    expect(msg).toMatch(/loihi\.json \(host\.encoder\):\d+:\d+: \/layers\/0\/weight(\/base64: must be string|: is not a tensor)/);
  });
  it('layers not an array', async () => {
    const msg = await refused(() => spinnakerRun(mutated('spinnaker-conv', 'spinnaker.json', (d) => void (d.host.encoder.layers = 145)), models.conv));
    expect(msg).toMatch(/spinnaker\.json \(host\.encoder\):\d+:\d+: \/layers: must be array/);
  });
  it('a sidecar reference', async () => {
    const msg = await refused(() => loihiRun(mutated('loihi-conv', 'loihi.json', (d) => void (d.host.encoder.layers[0].weight = { file: 'loihi.bin' })), models.conv));
    expect(msg).toMatch(/\/layers\/0\/weight: an embedded encoder's tensors must be inline/);
  });
  it('a layer with an absurd output size', async () => {
    const msg = await refused(() => loihiRun(mutated('loihi-conv', 'loihi.json', (d) => void (d.host.encoder.layers[0].padding = [1, 8e6, 1, 1])), models.conv));
    expect(msg).toMatch(/layer "c1".* values per sample/);
  });
});

describe('F4: spinnaker.json is validated', () => {
  const cases: [string, 'mlp' | 'conv', (d: Json) => Json | void, RegExp][] = [
    ['delete /cores/2/chip/1', 'mlp', (d) => void d.cores[2].chip.splice(1, 1), /\/cores\/2\/chip: must NOT have fewer than 2 items/],
    ['set /routing/0/entries/1/1 = 1.79e308', 'mlp', (d) => void (d.routing[0].entries[1][1] = 1.79e308), /\/routing\/0\/entries\/1\/1: must be integer|must be <=/],
    ['delete /cores/1/popTable/0/key', 'mlp', (d) => void delete d.cores[1].popTable[0].key, /\/cores\/1\/popTable\/0: must have required property 'key'/],
    ['x1000 /cores/1/ringBuffer/typeBits', 'mlp', (d) => void (d.cores[1].ringBuffer.typeBits *= 1000), /\/cores\/1\/ringBuffer\/typeBits: must be one of 1/],
    ['rename /cores/1/popTable/0/addresses', 'mlp', (d) => void ((d.cores[1].popTable[0].x = d.cores[1].popTable[0].addresses), delete d.cores[1].popTable[0].addresses), /\/cores\/1\/popTable\/0/],
    ['set /cores/1/lo = 391', 'mlp', (d) => void (d.cores[1].lo = 391), /\/cores\/1\/hi: neurons \[391, \d+\) are not a non-empty slice/],
    ['delete /cores/1/ringBuffer', 'mlp', (d) => void delete d.cores[1].ringBuffer, /\/cores\/1\/ringBuffer: missing/],
    ['delete /populations/0/params', 'mlp', (d) => void delete d.populations[0].params, /\/populations\/0: must have required property 'params'/],
    ['a block past the core matrix', 'mlp', (d) => void (d.cores[1].popTable[0].addresses[0].offset = 1000), /\/cores\/1\/popTable\/0\/addresses\/0: the block .* past the core's matrix/],
    ['an unknown machine', 'mlp', (d) => void (d.machine.name = 'spinn9'), /\/machine\/name: must be/],
  ];
  for (const [what, name, edit, re] of cases) {
    it(what, async () => {
      expect(await refused(() => spinnakerRun(mutated(`spinnaker-${name}`, 'spinnaker.json', edit), models[name]))).toMatch(re);
    });
  }
  it('a key that matches no routing entry (followKey)', async () => {
    const dir = mutated('spinnaker-mlp', 'spinnaker.json', (d) => void ((d.routing[0].entries = d.routing[0].entries.slice(1)), (d.routing[0].after = 1)));
    expect(await refused(() => spinnakerRun(dir, models.mlp))).toMatch(/spinnaker\.json: \/routing: key 0x[0-9a-f]+ from chip \(\d+, \d+\) matches no entry there/);
  });
  it('a key routed to a processor that runs nothing', async () => {
    const dir = mutated('spinnaker-mlp', 'spinnaker.json', (d) => void (d.routing[0].entries[0][2] = 2 ** (6 + 17)));
    expect(await refused(() => spinnakerRun(dir, models.mlp))).toMatch(/spinnaker\.json: \/routing: key 0x[0-9a-f]+ is routed to processor \(\d+, \d+, 17\), which runs nothing/);
  });
  it('s16.15 overflow of a host value is a named error', () => {
    expect(() => toS1615(Number.NaN, 'direct input current')).toThrow(SnncError);
    expect(() => toS1615(1e6, 'direct input current')).toThrow(/direct input current = 1000000 overflows s16.15/);
  });
});

describe('F5: words of spinnaker.bin are checked', () => {
  it('a synaptic row count beyond its row length', async () => {
    const d = JSON.parse(readFileSync(join(root, 'spinnaker-mlp', 'spinnaker.json'), 'utf8'));
    const core = d.cores.findIndex((c: Json) => c.popTable.length > 0);
    const dir = withWords(mutated('spinnaker-mlp', 'spinnaker.json', () => {}), 'spinnaker.bin', (w) => void (w[d.cores[core].matrix.offset + 1] = -1));
    expect(await refused(() => spinnakerRun(dir, models.mlp))).toMatch(/spinnaker\.bin: word \d+ \(core \d+, .*row 0\): 4294967295 synapses > the row length/);
  });
});

describe('F7: gpu manifest.json is validated, also against model.onnx', () => {
  const open = async (dir: string, model: SnnModel) => {
    const r = await OrtRunner.open(dir, { threads: 1 });
    try {
      await r.run(input(model), 2);
    } finally {
      await r.close();
    }
  };
  const cases: [string, 'mlp' | 'conv', (d: Json) => Json | void, RegExp][] = [
    ['duplicate /inputShape/1', 'conv', (d) => void d.inputShape.splice(1, 0, d.inputShape[1]), /manifest\.json: \/io\/input\/dims: \[2, 1, 6, 6\], expected \[2, 1, 6, 6, 6\]/],
    ['duplicate /io/states/1/dims/0', 'mlp', (d) => void d.io.states[1].dims.splice(0, 0, d.io.states[1].dims[0]), /model\.onnx: graph input "[^"]+" has dims \[2, \d+\]; manifest\.json expects \[2, 2, \d+\]/],
    ['batch = 2.5', 'mlp', (d) => void (d.batch = 2.5), /\/batch: must be integer/],
    ['missing input name', 'mlp', (d) => void (d.io.input.name = 'extra'), /graph input "x" is not fed by the runner/],
    ['delete /io/output', 'mlp', (d) => void delete d.io.output, /\/io: must have required property 'output'/],
    ['dims -2', 'conv', (d) => void (d.io.output.dims[0] = -2), /\/io\/output\/dims\/0: must be >= 1/],
    ['shape not an array', 'conv', (d) => void (d.inputShape = 5), /\/inputShape: must be array/],
  ];
  for (const [what, name, edit, re] of cases) {
    it(what, async () => {
      expect(await refused(() => open(mutated(`gpu-${name}`, 'manifest.json', edit), models[name]))).toMatch(re);
    });
  }
  it('model.onnx graph input dim changed', async () => {
    const dir = mutated('gpu-mlp', 'manifest.json', () => {});
    const m = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
    m.graph!.input![0].type!.tensorType!.shape!.dim![1].dimValue = 1;
    writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(m).finish());
    expect(await refused(() => open(dir, models.mlp))).toMatch(/model\.onnx: graph input "x" has dims \[2, 1\]; manifest\.json expects \[2, 20\]/);
  });
});

describe('words files past 2 GiB', () => {
  it('are written (piece by piece), but the emulators, which read them into memory, refuse them naming the file, its size and why', async () => {
    const dir = mutated('spinnaker-mlp', 'spinnaker.json', () => {});
    truncateSync(join(dir, 'spinnaker.bin'), 2 ** 31 + 2 ** 29); // a sparse 2.5 GiB file: no disk is used
    expect(await refused(() => readSpinnakerFolder(dir))).toBe(
      `${join(dir, 'spinnaker.bin')}: cannot read spinnaker words (it has 2684354560 bytes, more than the limit of 2147483647 bytes (2048.0 MiB, the spinnaker emulator holds the words file in memory; the folder is complete for a loader that streams it))`,
    );
  });
});
