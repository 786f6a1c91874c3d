// SafetensorsView: a tensor of a safetensors file, a zero-copy view of its bytes. Its own file, so that the
// public entry re-exports it without reaching the reader: esbuild puts the code of a module the entry imports
// in a page's start chunks whenever some lazily loaded chunk uses it (bench/size.bench.js, pulledIn).
import type { TensorInfo, TensorView } from '../types/tensor.js';
import type { Dtype } from '../types/dtype.js';
import { toFloat32 } from './convert.js';

/** A tensor of a safetensors file: a zero-copy view of its bytes. */
export class SafetensorsView implements TensorView {
  constructor(readonly info: TensorInfo, private readonly data: Uint8Array) {}
  get name() { return this.info.name; }
  get dtype(): Dtype { return this.info.dtype; }
  get shape() { return this.info.shape; }
  get byteLength() { return this.info.byteLength; }
  bytes(): Uint8Array { return this.data; }
  toFloat32(): Float32Array { return toFloat32(this.info.dtype, this.data, this.info.name); }
}
