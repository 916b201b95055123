/**
 * Which onnxruntime-web execution provider runs the model: WebGPU when the browser gives an adapter,
 * else wasm; `?backend=wasm` (or `?backend=webgpu`) in the URL forces one. Also says why, for the page.
 */

export type Backend = 'webgpu' | 'wasm';

export interface BackendChoice {
  readonly backend: Backend;
  /** Shown on the page, e.g. "wasm (this browser has no WebGPU)". */
  readonly why: string;
}

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/** Whether navigator.gpu exists and gives an adapter. */
async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

export async function chooseBackend(search: string): Promise<BackendChoice> {
  const forced = new URLSearchParams(search).get('backend');
  if (forced === 'wasm') return { backend: 'wasm', why: 'forced by ?backend=wasm' };
  const gpu = await hasWebGpu();
  if (forced === 'webgpu') {
    if (!gpu) throw new Error('?backend=webgpu: this browser has no WebGPU adapter');
    return { backend: 'webgpu', why: 'forced by ?backend=webgpu' };
  }
  if (forced !== null) throw new Error(`?backend=${forced}: expected wasm or webgpu`);
  return gpu ? { backend: 'webgpu', why: 'this browser has WebGPU' } : { backend: 'wasm', why: 'this browser has no WebGPU' };
}

/** "backend: wasm (this browser has no WebGPU)". */
export function describeBackend(choice: BackendChoice): string {
  return `backend: ${choice.backend} (${choice.why})`;
}
