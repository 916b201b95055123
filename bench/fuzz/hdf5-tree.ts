/**
 * HDF5 files (NIR, NetX) as a plain tree of groups and datasets, read with h5wasm and written back, so
 * the fuzzer can mutate their structure (delete a member, change a value's type or shape, rename,
 * duplicate) and not only their bytes.
 */
import fc from 'fast-check';
import h5wasm from 'h5wasm/node';
import type { Mutation } from './mutate.js';

type Value = unknown;
export interface H5Dataset {
  kind: 'dataset';
  value: Value;
  shape: number[] | null;
}
export interface H5Group {
  kind: 'group';
  children: Map<string, H5Node>;
}
export type H5Node = H5Dataset | H5Group;

export async function readTree(file: string): Promise<H5Group> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  try {
    const walk = (g: InstanceType<typeof h5wasm.Group>): H5Group => {
      const children = new Map<string, H5Node>();
      for (const k of g.keys()) {
        const c = g.get(k);
        if (c instanceof h5wasm.Group) children.set(k, walk(c));
        else if (c instanceof h5wasm.Dataset) children.set(k, { kind: 'dataset', value: c.value, shape: c.shape ? [...c.shape] : null });
      }
      return { kind: 'group', children };
    };
    return walk(f);
  } finally {
    f.close();
  }
}

export async function writeTree(file: string, root: H5Group): Promise<void> {
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    const put = (g: InstanceType<typeof h5wasm.Group>, t: H5Group) => {
      for (const [k, c] of t.children) {
        if (c.kind === 'group') put(g.create_group(k), c);
        else {
          // h5wasm returns scalars as number/bigint; it writes typed arrays (shape [] = a scalar).
          const v = c.value;
          const data = typeof v === 'bigint' ? new BigInt64Array([v]) : typeof v === 'number' ? new Float64Array([v]) : typeof v === 'boolean' ? new Int8Array([Number(v)]) : v;
          const shape = typeof v === 'bigint' || typeof v === 'number' ? [] : c.shape ?? undefined;
          try {
            g.create_dataset({ name: k, data: data as any, shape });
          } catch {
            g.create_dataset({ name: k, data: data as any }); // the shape did not match the data: let h5wasm choose
          }
        }
      }
    };
    put(f, root);
  } finally {
    f.close();
  }
}

function cloneTree(t: H5Node): H5Node {
  if (t.kind === 'dataset') return { kind: 'dataset', value: ArrayBuffer.isView(t.value) ? (t.value as any).slice() : Array.isArray(t.value) ? [...t.value] : t.value, shape: t.shape ? [...t.shape] : null };
  return { kind: 'group', children: new Map([...t.children].map(([k, c]) => [k, cloneTree(c)])) };
}

function allPaths(t: H5Group, prefix: string[] = []): { path: string[]; kind: 'group' | 'dataset' }[] {
  const out: { path: string[]; kind: 'group' | 'dataset' }[] = [];
  for (const [k, c] of t.children) {
    out.push({ path: [...prefix, k], kind: c.kind });
    if (c.kind === 'group') out.push(...allPaths(c, [...prefix, k]));
  }
  return out;
}

function locate(root: H5Group, path: string[]): { parent: H5Group; name: string } | undefined {
  let g: H5Node = root;
  for (const k of path.slice(0, -1)) {
    if (g.kind !== 'group') return undefined;
    const next: H5Node | undefined = g.children.get(k);
    if (!next) return undefined;
    g = next;
  }
  return g.kind === 'group' ? { parent: g, name: path[path.length - 1] } : undefined;
}

/** Replacement dataset values: other types, shapes, sizes, non-finite numbers, strings. */
const replacement: fc.Arbitrary<{ desc: string; make: (old: H5Dataset) => H5Dataset }> = fc.oneof(
  fc.constantFrom(0, -1, 1, 1e9, -1e9, 2 ** 31, 0.5, NaN, Infinity, -Infinity, 1e-40).map((v) => ({ desc: `float64 scalar ${v}`, make: () => ({ kind: 'dataset' as const, value: new Float64Array([v]), shape: [] }) })),
  fc.constantFrom(0n, -1n, 1n, 2n ** 40n, -(2n ** 62n)).map((v) => ({ desc: `int64 scalar ${v}`, make: () => ({ kind: 'dataset' as const, value: new BigInt64Array([v]), shape: [] }) })),
  fc.constantFrom('', 'LIF', 'IF', 'Affine', 'Conv2d', 'CUBA', 'dense', 'conv', 'input', 'output', 'NIRGraph', 'x'.repeat(200)).map((s) => ({ desc: `string "${s.slice(0, 20)}"`, make: () => ({ kind: 'dataset' as const, value: s, shape: null }) })),
  fc.array(fc.constantFrom('input', 'output', '0', '1', 'nope', ''), { minLength: 0, maxLength: 6 }).map((a) => ({ desc: `string array ${JSON.stringify(a)}`, make: () => ({ kind: 'dataset' as const, value: a.length ? a : [''], shape: [Math.max(1, a.length)] }) })),
  fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 }).map((shape) => ({
    desc: `float32 array of shape [${shape}]`,
    make: () => {
      const n = shape.reduce((a, b) => a * b, 1);
      return { kind: 'dataset' as const, value: Float32Array.from({ length: Math.max(1, n) }, (_, i) => (i % 3) - 0.5), shape: n ? shape : [1] };
    },
  })),
  fc.constantFrom('reshape-flat', 'reshape-2d', 'to-int64', 'to-float32', 'to-string', 'drop-last', 'append', 'empty').map((how) => ({
    desc: `${how} of the old value`,
    make: (old: H5Dataset): H5Dataset => {
      const v = old.value as any;
      const arr: number[] = typeof v === 'string' ? [] : ArrayBuffer.isView(v) || Array.isArray(v) ? Array.from(v as ArrayLike<unknown>, (x) => Number(x)) : [Number(v)];
      switch (how) {
        case 'reshape-flat': return { kind: 'dataset', value: Float32Array.from(arr.length ? arr : [0]), shape: [Math.max(1, arr.length)] };
        case 'reshape-2d': return { kind: 'dataset', value: Float32Array.from(arr.length ? arr : [0]), shape: [1, Math.max(1, arr.length)] };
        case 'to-int64': return { kind: 'dataset', value: BigInt64Array.from((arr.length ? arr : [0]).map((x) => BigInt(Number.isFinite(x) ? Math.trunc(x) : 0))), shape: old.shape };
        case 'to-float32': return { kind: 'dataset', value: Float32Array.from(arr.length ? arr : [0]), shape: old.shape };
        case 'to-string': return { kind: 'dataset', value: String(arr[0] ?? 'x'), shape: null };
        case 'drop-last': return { kind: 'dataset', value: Float32Array.from(arr.length > 1 ? arr.slice(0, -1) : [0]), shape: [Math.max(1, arr.length - 1)] };
        case 'append': return { kind: 'dataset', value: Float32Array.from([...arr, 1]), shape: [arr.length + 1] };
        default: return { kind: 'dataset', value: new Float32Array(0), shape: [0] };
      }
    },
  })),
);

/** 1–3 structural edits of an HDF5 tree; `apply` returns a fresh tree. */
export function treeMutation(root: H5Group): fc.Arbitrary<Mutation<H5Group>> {
  const paths = allPaths(root);
  const datasets = paths.filter((p) => p.kind === 'dataset');
  const groups = paths.filter((p) => p.kind === 'group');
  const ops: fc.Arbitrary<Mutation<H5Group>>[] = [
    fc.constantFrom(...paths).map((p) => ({
      desc: `delete ${p.path.join('/')}`,
      apply: (t: H5Group) => {
        const l = locate(t, p.path);
        l?.parent.children.delete(l.name);
        return t;
      },
    })),
    fc.tuple(fc.constantFrom(...paths), fc.constantFrom('x', '0', 'input', 'output', 'weight', 'type', '')).map(([p, to]) => ({
      desc: `rename ${p.path.join('/')} -> ${to || '(empty)'}`,
      apply: (t: H5Group) => {
        const l = locate(t, p.path);
        const c = l?.parent.children.get(l.name);
        if (l && c && to) {
          l.parent.children.delete(l.name);
          l.parent.children.set(to, c);
        }
        return t;
      },
    })),
  ];
  if (datasets.length) {
    const repl = fc.tuple(fc.constantFrom(...datasets), replacement).map(([p, r]) => ({
      desc: `replace ${p.path.join('/')} by ${r.desc}`,
      apply: (t: H5Group) => {
        const l = locate(t, p.path);
        const c = l?.parent.children.get(l.name);
        if (l && c?.kind === 'dataset') l.parent.children.set(l.name, r.make(c));
        return t;
      },
    }));
    ops.push(repl, repl, repl);
  }
  if (groups.length) {
    ops.push(
      fc.tuple(fc.constantFrom(...groups), fc.constantFrom('dup', '99', 'output')).map(([p, name]) => ({
        desc: `copy group ${p.path.join('/')} as sibling "${name}"`,
        apply: (t: H5Group) => {
          const l = locate(t, p.path);
          const c = l?.parent.children.get(l.name);
          if (l && c) l.parent.children.set(name, cloneTree(c));
          return t;
        },
      })),
    );
  }
  return fc.array(fc.oneof(...ops), { minLength: 1, maxLength: 3 }).map((list) => ({
    desc: `hdf5: ${list.map((o) => o.desc).join('; ')}`,
    apply: (t) => list.reduce((x, o) => o.apply(x), cloneTree(t) as H5Group),
  }));
}
