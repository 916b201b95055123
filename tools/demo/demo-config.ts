/** demo.json: what `snnc demo` (site.ts) tells the browser page (app/) about a site; both sides import this module, which imports nothing. */

/** The one onnxruntime-web file a site carries (in `wasmPaths`): the page bundles the WebGPU build, which also runs the wasm provider. */
export const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm';

export interface DemoConfig {
  /** The model's name. */
  readonly title: string;
  /** The ONNX model and its manifest, relative to the site. */
  readonly model: string;
  readonly manifest: string;
  /** Folder of onnxruntime-web's wasm file, relative to the site. */
  readonly wasmPaths: string;
  /** image: a drawable H×W picture (channels 1), raw pixel values 0..`max` (the manifest's preprocess scales them); other: no drawing, samples/upload only. */
  readonly input: { readonly kind: 'image'; readonly height: number; readonly width: number; readonly max: number } | { readonly kind: 'other' };
  /** Bundled test samples: `file` holds `labels.length` float32 samples (little-endian), each `sampleSize` values (raw, as `snnc run --input` takes them); label −1 when unknown. */
  readonly samples?: { readonly file: string; readonly sampleSize: number; readonly labels: readonly number[] };
  readonly classNames?: readonly string[];
}
