/**
 * What the folding passes (fold-linear.ts, fold-pool.ts) share: a dense or conv layer B reading a layer
 * through flatten/reshape links (the identity on the values, row-major), why the graph forbids folding
 * such a chain, and putting the folded layers in B's place. Owns only this chain surgery; what may be
 * folded and the arithmetic of a fold are each pass's.
 */
import type * as L from '../ir/layers.js';
import { INPUT, type SnnModel } from '../ir/model.js';

export type Synaptic = L.Dense | L.Conv2d;
export type Link = L.Flatten | L.Reshape;

/** The first layer B reads that is not a flatten or reshape, and the links on the way (in data order); undefined at the model input. */
export function throughLinks(b: Synaptic, byName: ReadonlyMap<string, L.Layer>): { source: L.Layer; links: Link[] } | undefined {
  const links: Link[] = [];
  for (let src = byName.get(b.inputs[0]); src; src = byName.get(src.inputs[0])) {
    if (src.op !== 'flatten' && src.op !== 'reshape') return { source: src, links: links.reverse() };
    links.push(src);
  }
  return undefined;
}

/** What a pass adds to each graph refusal (`head` starts every message). */
export interface RefusalWords {
  readonly head: string;
  /** After "which … also read(s)". */
  readonly inUse?: string;
  /** After "listed between them (its previous step)". */
  readonly previousStep?: string;
}

/**
 * Why the graph forbids replacing `source` → links → B by one layer: a link read by others or that is
 * the model output, or a source reading a value listed between it and B (its previous step, which a
 * layer in B's place would see as the current one). Undefined when it does not.
 */
export function linkRefusal(model: SnnModel, source: L.Layer, links: readonly Link[], b: Synaptic, readers: ReadonlyMap<string, readonly L.Layer[]>, words: RefusalWords): string | undefined {
  for (const l of links) {
    const others = readers.get(l.name)!.filter((r) => r !== b && !links.includes(r as Link));
    if (others.length > 0) return `${words.head} through ${l.op} "${l.name}", which ${others.map((r) => `"${r.name}"`).join(', ')} also read${others.length > 1 ? '' : 's'}${words.inUse ?? ''}`;
    if (model.output.layer === l.name) return `${words.head} through ${l.op} "${l.name}", which is the model output`;
  }
  if (readsBetween(model, source, b)) return `${words.head}, which reads "${source.inputs[0]}" listed between them (its previous step)${words.previousStep ?? ''}`;
  return undefined;
}

/** Whether A reads a value listed after it and before B: A sees its previous step, a layer in B's place would not. */
export function readsBetween(model: SnnModel, a: L.Layer, b: L.Layer): boolean {
  const at = (name: string) => model.layers.findIndex((l) => l.name === name);
  const src = a.inputs[0];
  return src !== INPUT && model.layers[at(src)].op !== 'delay' && at(src) > at(a.name) && at(src) < at(b.name);
}

/** The model with `replacement` in B's place; the links go, and `source` too unless something else (or the output) reads it. */
export function replaceChain(model: SnnModel, source: L.Layer, links: readonly Link[], b: Synaptic, readers: ReadonlyMap<string, readonly L.Layer[]>, replacement: readonly L.Layer[]): SnnModel {
  const keepsSource = readers.get(source.name)!.some((r) => r !== b && !links.includes(r as Link)) || model.output.layer === source.name;
  const gone = new Set<L.Layer>([...(keepsSource ? [] : [source]), ...links]);
  return { ...model, layers: model.layers.filter((l) => !gone.has(l)).flatMap((l) => (l === b ? replacement : [l])) };
}

/** A pass that applies `step` (one rewrite, or undefined when none is left) until none is left. */
export function untilDone(step: (model: SnnModel) => SnnModel | undefined): (model: SnnModel) => SnnModel {
  return (model) => {
    let current = model;
    for (let next = step(current); next; next = step(current)) current = next;
    return current;
  };
}
