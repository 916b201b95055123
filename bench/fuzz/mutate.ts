/**
 * Generic mutation arbitraries (fast-check) shared by the frontend generators: byte-level edits of any
 * file (flip, set, insert, delete, truncate, duplicate, interesting 32-bit words) and structural edits
 * of a JSON value (set a field to another value, delete it, duplicate/swap array items, change types).
 * Each mutation carries a short description so a failure can be reproduced by hand.
 */
import fc from 'fast-check';

/** A mutation: a one-line description and the function that applies it. */
export interface Mutation<T> {
  readonly desc: string;
  readonly apply: (x: T) => T;
}

/** Interesting 32-bit values (as unsigned). */
const U32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/** A position in a file of `len` bytes from a fraction (so the arbitrary does not depend on the length), biased to the head. */
const position = fc.oneof(
  { weight: 2, arbitrary: fc.nat({ max: 255 }).map((n) => ({ head: true, n })) },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }).map((f) => ({ head: false, n: f })) },
);
const at = (p: { head: boolean; n: number }, len: number): number => (len <= 0 ? 0 : p.head ? p.n % len : Math.floor(p.n * len));

type ByteOp = Mutation<Uint8Array>;

const byteOp: fc.Arbitrary<ByteOp> = fc.oneof(
  fc.tuple(position, fc.integer({ min: 0, max: 7 })).map(([p, bit]): ByteOp => ({
    desc: `flip bit ${bit} at ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`}`,
    apply: (b) => {
      const o = new Uint8Array(b);
      if (o.length) o[at(p, o.length)] ^= 1 << bit;
      return o;
    },
  })),
  fc.tuple(position, fc.nat({ max: 255 })).map(([p, v]): ByteOp => ({
    desc: `set byte ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`} = 0x${v.toString(16)}`,
    apply: (b) => {
      const o = new Uint8Array(b);
      if (o.length) o[at(p, o.length)] = v;
      return o;
    },
  })),
  fc.tuple(position, fc.constantFrom(...U32), fc.boolean()).map(([p, v, le]): ByteOp => ({
    desc: `set u32 ${le ? 'LE' : 'BE'} at ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`} = 0x${v.toString(16)}`,
    apply: (b) => {
      const o = new Uint8Array(b);
      const i = at(p, Math.max(0, o.length - 3));
      if (o.length >= 4) new DataView(o.buffer, o.byteOffset, o.byteLength).setUint32(i, v, le);
      return o;
    },
  })),
  fc.tuple(position, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([p, ins]): ByteOp => ({
    desc: `insert ${ins.length} bytes at ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`}`,
    apply: (b) => {
      const i = at(p, b.length + 1);
      const o = new Uint8Array(b.length + ins.length);
      o.set(b.subarray(0, i));
      o.set(ins, i);
      o.set(b.subarray(i), i + ins.length);
      return o;
    },
  })),
  fc.tuple(position, fc.integer({ min: 1, max: 64 })).map(([p, n]): ByteOp => ({
    desc: `delete ${n} bytes at ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`}`,
    apply: (b) => {
      const i = at(p, b.length);
      const o = new Uint8Array(Math.max(0, b.length - Math.min(n, b.length - i)));
      o.set(b.subarray(0, i));
      o.set(b.subarray(i + n), i);
      return o;
    },
  })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((f): ByteOp => ({
    desc: `truncate to ${(f * 100).toFixed(1)}%`,
    apply: (b) => b.slice(0, Math.floor(f * b.length)),
  })),
  fc.tuple(position, fc.integer({ min: 1, max: 256 })).map(([p, n]): ByteOp => ({
    desc: `duplicate ${n} bytes at ${p.head ? p.n : `${(p.n * 100).toFixed(1)}%`}`,
    apply: (b) => {
      const i = at(p, b.length);
      const seg = b.subarray(i, i + n);
      const o = new Uint8Array(b.length + seg.length);
      o.set(b.subarray(0, i + seg.length));
      o.set(seg, i + seg.length);
      o.set(b.subarray(i + seg.length), i + 2 * seg.length);
      return o;
    },
  })),
);

/** 1–4 byte-level edits, applied in order. */
export const byteMutation: fc.Arbitrary<Mutation<Uint8Array>> = fc.array(byteOp, { minLength: 1, maxLength: 4 }).map((ops) => ({
  desc: `bytes: ${ops.map((o) => o.desc).join('; ')}`,
  apply: (b) => ops.reduce((x, o) => o.apply(x), b),
}));

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Paths into a JSON value (arrays: the first 3 items and the last), at most `depth` deep. */
export function jsonPaths(v: Json, depth = 8, prefix: Path = []): Path[] {
  const out: Path[] = prefix.length ? [prefix] : [];
  if (prefix.length >= depth) return out;
  if (Array.isArray(v)) {
    const idx = [...new Set([0, 1, 2, v.length - 1].filter((i) => i >= 0 && i < v.length))];
    for (const i of idx) out.push(...jsonPaths(v[i], depth, [...prefix, i]));
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...jsonPaths(x, depth, [...prefix, k]));
  return out;
}

/** Values that often break readers. */
export const edgeValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(0, -1, 1, 2, -0, 0.5, 1e-45, 3.5e38, 1e39, -1e39, 1e308, 2 ** 31, 2 ** 32, 2 ** 53 + 2, -(2 ** 31), 1e9, 65536, 257),
  fc.constantFrom<Json>('', 'NaN', 'Infinity', '-1', '0x10', '../../../etc/passwd', '/dev/zero', '__proto__', 'constructor', 'float32', 'F32', 'I64', '<f4', 'x'.repeat(300)),
  fc.constantFrom<Json>(null, true, false, [], {}, [[]], [0], [1, 1], [0, 0, 0, 0], [-1, 2], [1e9, 1e9], [2 ** 31, 2], [null], { shape: [], data: [] }),
  fc.integer({ min: -10, max: 1000 }),
  fc.double({ noNaN: true }),
  fc.array(fc.integer({ min: -2, max: 70000 }), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

function parentOf(doc: Json, path: Path): { parent: any; last: string | number } | undefined {
  let parent: any = doc;
  for (const k of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return undefined;
    parent = parent[k];
  }
  if (parent === null || typeof parent !== 'object') return undefined;
  return { parent, last: path[path.length - 1] };
}

type JsonOp = (paths: Path[]) => fc.Arbitrary<Mutation<Json>>;

const fmtPath = (p: Path) => `/${p.join('/')}`;
const short = (v: Json) => {
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

const setOp: JsonOp = (paths) =>
  fc.tuple(fc.constantFrom(...paths), edgeValue).map(([p, v]) => ({
    desc: `set ${fmtPath(p)} = ${short(v)}`,
    apply: (d) => {
      const r = parentOf(d, p);
      if (r) r.parent[r.last] = clone(v);
      return d;
    },
  }));

const deleteOp: JsonOp = (paths) =>
  fc.constantFrom(...paths).map((p) => ({
    desc: `delete ${fmtPath(p)}`,
    apply: (d) => {
      const r = parentOf(d, p);
      if (r) {
        if (Array.isArray(r.parent)) r.parent.splice(r.last as number, 1);
        else delete r.parent[r.last];
      }
      return d;
    },
  }));

const duplicateOp: JsonOp = (paths) =>
  fc.constantFrom(...paths.filter((p) => typeof p[p.length - 1] === 'number').concat(paths.length ? [] : [])).map((p) => ({
    desc: `duplicate array item ${fmtPath(p)}`,
    apply: (d) => {
      const r = parentOf(d, p);
      if (r && Array.isArray(r.parent)) r.parent.splice(r.last as number, 0, clone(r.parent[r.last as number]));
      return d;
    },
  }));

const numericOp: JsonOp = (paths) =>
  fc.tuple(fc.constantFrom(...paths), fc.constantFrom('negate', 'double', 'x1000', 'plus1', 'minus1', 'string', 'zero', 'fraction')).map(([p, how]) => ({
    desc: `${how} ${fmtPath(p)}`,
    apply: (d) => {
      const r = parentOf(d, p);
      if (!r) return d;
      const v = r.parent[r.last];
      const f = (x: number): Json => ({ negate: -x, double: 2 * x, x1000: 1000 * x, plus1: x + 1, minus1: x - 1, string: String(x), zero: 0, fraction: x + 0.5 })[how]!;
      if (typeof v === 'number') r.parent[r.last] = f(v);
      else if (Array.isArray(v)) r.parent[r.last] = v.map((x) => (typeof x === 'number' ? f(x) : x));
      return d;
    },
  }));

const renameOp: JsonOp = (paths) =>
  fc.tuple(fc.constantFrom(...paths.filter((p) => typeof p[p.length - 1] === 'string')), fc.constantFrom('x', '', 'name', 'layers', 'type', '__proto__')).map(([p, to]) => ({
    desc: `rename key ${fmtPath(p)} -> "${to}"`,
    apply: (d) => {
      const r = parentOf(d, p);
      if (r && !Array.isArray(r.parent)) {
        const v = r.parent[r.last];
        delete r.parent[r.last];
        Object.defineProperty(r.parent, to, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return d;
    },
  }));

/** 1–3 structural edits of `doc` (a fresh copy per case). */
export function jsonMutation(doc: Json, depth = 8): fc.Arbitrary<Mutation<Json>> {
  const paths = jsonPaths(doc, depth);
  const numericPaths = paths.filter((p) => {
    const r = parentOf(doc, p);
    const v = r?.parent[r.last];
    return typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number'));
  });
  const ops: fc.Arbitrary<Mutation<Json>>[] = [setOp(paths), setOp(paths), deleteOp(paths)];
  if (numericPaths.length) ops.push(numericOp(numericPaths), numericOp(numericPaths));
  if (paths.some((p) => typeof p[p.length - 1] === 'number')) ops.push(duplicateOp(paths));
  if (paths.some((p) => typeof p[p.length - 1] === 'string')) ops.push(renameOp(paths));
  return fc.array(fc.oneof(...ops), { minLength: 1, maxLength: 3 }).map((list) => ({
    desc: `json: ${list.map((o) => o.desc).join('; ')}`,
    apply: (d) => list.reduce((x, o) => o.apply(x), clone(d)),
  }));
}

/** A JSON document mutated structurally (as text) or at the byte level (of its text). */
export function jsonFileMutation(doc: Json, depth = 8): fc.Arbitrary<Mutation<Uint8Array>> {
  const text = new TextEncoder().encode(JSON.stringify(doc, null, 1));
  return fc.oneof(
    { weight: 3, arbitrary: jsonMutation(doc, depth).map((m) => ({ desc: m.desc, apply: () => new TextEncoder().encode(JSON.stringify(m.apply(doc), null, 1)) })) },
    { weight: 1, arbitrary: byteMutation.map((m) => ({ desc: m.desc, apply: () => m.apply(text) })) },
  );
}
