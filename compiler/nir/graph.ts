/**
 * A NIR graph as data: named nodes (type, parameter datasets, metadata) and directed edges. Shared by
 * the NIR reader (compiler/frontends/nir: the file → this) and writer (targets/nir), which must agree on
 * what a graph means; reading the HDF5 file is the reader's business.
 */
import { type Hdf5Value, hdf5Numbers } from '../io/hdf5.js';

export type Value = Hdf5Value | undefined;

export interface NirParam {
  readonly shape: number[];
  readonly value: Value;
}

export interface NirNode {
  readonly name: string;
  readonly type: string;
  readonly params: Map<string, NirParam>;
  /** The node's metadata group: strings (e.g. snnc's reset = "subtract") and numbers (e.g. snnc's v0). */
  readonly metadata: Map<string, string | number[]>;
}

export interface NirGraph {
  readonly nodes: Map<string, NirNode>;
  readonly edges: [string, string][];
}

export type Warn = (node: string, message: string) => void;

/** A dataset value as numbers (empty when absent). */
export const toNumbers = (v: Value): number[] => (v === undefined ? [] : hdf5Numbers(v));

