// Shapes shared by every format reader and writer. Kept apart from any
// implementation so readers (safetensors, torch) and consumers (checkpoint,
// tfjs bridge, CLI) agree on one vocabulary.
import type { Dtype } from './dtype.js';

/** One tensor entry of a safetensors header. Offsets are relative to the start of the data region. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  /**
   * Exact dimensions. A dimension above Number.MAX_SAFE_INTEGER — possible only in a tensor with no
   * elements, e.g. [2^53 + 1, 0] — is given as its exact decimal string ('9007199254740993'), never
   * rounded to a neighbouring number: two such headers that differ stay different.
   */
  readonly shape: readonly number[];
  /** data_offsets[0], relative to the data region. */
  readonly begin: number;
  /** data_offsets[1], relative to the data region. */
  readonly end: number;
  /** end - begin = product(shape) × bits / 8. */
  readonly byteLength: number;
}

/** A validated safetensors header. Tensor entries are materialised lazily, on request. */
export interface Header {
  /** N, the JSON length in bytes (the 8-byte prefix excluded). */
  readonly headerLength: number;
  /** 8 + N: where the data region starts in the file. */
  readonly dataStart: number;
  /** Length of the data region in bytes. */
  readonly dataLength: number;
  /** `__metadata__` (string → string), or null when absent or JSON null. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Number of tensors. */
  readonly size: number;
  /** Tensor names in file order (the order of the JSON object). */
  names(): string[];
  /** The entry for `name`, or undefined. */
  get(name: string): TensorInfo | undefined;
  /** Every entry, in file order. */
  tensors(): IterableIterator<TensorInfo>;
}

/** A tensor whose bytes can be read: zero-copy where the layout allows. */
export interface TensorView {
  readonly name: string;
  /** safetensors dtype name, whatever the source format. */
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Contiguous, row-major, little-endian bytes (a view when possible). */
  bytes(): Uint8Array;
  /** Values as Float32 (exact for every finite value, inf and NaN of the narrower float types). */
  toFloat32(): Float32Array;
}

/** A tensor given to a writer: its dtype, shape and little-endian bytes (or a typed array of them). */
export interface TensorData {
  dtype: Dtype;
  shape: readonly number[];
  data: ArrayBufferView;
}

export type TensorLike = TensorData | TensorView;
/** Tensors to write, by name: `{ dtype, shape, data }` records or TensorViews. */
export type TensorMap = Record<string, TensorLike>;
