// Storages and tensors as a torch file describes them. A storage is a flat run
// of bytes (one zip entry, or one block of a legacy file); a tensor is a
// strided view of one. Tensors that share a storage share its bytes.
import { CorruptError } from '../../errors.js';
import { DTYPES, type Dtype } from '../../types/dtype.js';
import type { TensorView } from '../../types/tensor.js';
import { toFloat32 } from '../convert.js';

export const elementBytes = (d: Dtype): number => DTYPES[d].bits / 8;
/** Bytes swapped as one unit when the file is big-endian: a complex number is two floats. */
const swapUnit = (d: Dtype): number => (d === 'C64' ? 4 : elementBytes(d));

/** A torch storage: the bytes tensors view, shared between them. */
export class TorchStorage {
  static readonly pyType = 'torch.storage';
  /** Filled by the reader once the pickle has been checked: the raw bytes as stored. */
  private raw: Uint8Array | null = null;
  private bigEndian = false;
  private readonly swapped = new Map<number, Uint8Array>();

  constructor(
    /** The storage's key (`data/<key>` in a zip; the root key of a legacy file). */
    readonly key: string,
    /** The dtype of the storage type in the file (U8 for an UntypedStorage). */
    readonly dtype: Dtype,
    /** Declared element count, so declared bytes = numel × element size. */
    readonly numel: number,
    /** Set for a legacy storage view: the root storage and where in it this one starts (bytes). */
    readonly root: TorchStorage | null = null,
    readonly rootOffset = 0,
  ) {}

  get nbytes(): number { return this.numel * elementBytes(this.dtype); }
  get loaded(): boolean { return (this.root ?? this).raw !== null; }

  /** Called by the reader: `bytes.length` has been checked against nbytes. */
  fill(bytes: Uint8Array, bigEndian: boolean): void {
    this.raw = bytes;
    this.bigEndian = bigEndian;
  }

  /** The storage's bytes in little-endian order for elements of `dtype` (a copy only for big-endian files). */
  data(dtype: Dtype): Uint8Array {
    if (this.root) return this.root.data(dtype).subarray(this.rootOffset, this.rootOffset + this.nbytes);
    const raw = this.raw;
    if (!raw) throw new Error(`storage ${this.key} read before it was loaded`);
    const unit = swapUnit(dtype);
    if (!this.bigEndian || unit === 1) return raw;
    let s = this.swapped.get(unit);
    if (!s) {
      s = new Uint8Array(raw.length);
      for (let i = 0; i + unit <= raw.length; i += unit) for (let j = 0; j < unit; j++) s[i + j] = raw[i + unit - 1 - j];
      this.swapped.set(unit, s);
    }
    return s;
  }
}

/** A torch tensor (a view into a storage with shape, strides and offset) as a TensorView: contiguous bytes on demand. */
export class TorchTensor implements TensorView {
  static readonly pyType = 'torch.Tensor';
  /** The first dotted path at which the tensor was found in the file's structure. */
  name = '';
  readonly numel: number;

  constructor(
    readonly dtype: Dtype,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    /** In elements of `dtype`. */
    readonly storageOffset: number,
    readonly storage: TorchStorage,
    readonly requiresGrad: boolean,
    public isParameter = false,
  ) {
    this.numel = shape.reduce((a, b) => a * b, 1);
  }

  get byteLength(): number { return this.numel * elementBytes(this.dtype); }

  /** Row-major contiguous: strides of dimensions longer than 1 are what a fresh tensor would have. */
  get isContiguous(): boolean {
    let expected = 1;
    for (let d = this.shape.length - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== expected) return false;
      expected *= this.shape[d];
    }
    return true;
  }

  /** Contiguous row-major little-endian bytes: a view of the storage when the layout allows, else a gathered copy. */
  bytes(): Uint8Array {
    const es = elementBytes(this.dtype);
    const src = this.storage.data(this.dtype);
    if (this.numel === 0) return new Uint8Array(0);
    if (this.isContiguous) return src.subarray(this.storageOffset * es, (this.storageOffset + this.numel) * es);
    const out = new Uint8Array(this.numel * es);
    const nd = this.shape.length;
    const last = nd - 1;
    const runLen = this.shape[last];
    const runStride = this.strides[last];
    const idx = new Array<number>(nd).fill(0);
    let o = 0;
    for (;;) {
      let base = this.storageOffset;
      for (let d = 0; d < last; d++) base += idx[d] * this.strides[d];
      if (runStride === 1) {
        out.set(src.subarray(base * es, (base + runLen) * es), o);
        o += runLen * es;
      } else {
        for (let i = 0; i < runLen; i++) {
          const s = (base + i * runStride) * es;
          for (let b = 0; b < es; b++) out[o++] = src[s + b];
        }
      }
      let d = last - 1;
      while (d >= 0 && ++idx[d] === this.shape[d]) idx[d--] = 0;
      if (d < 0) break;
    }
    return out;
  }

  toFloat32(): Float32Array {
    return toFloat32(this.dtype, this.bytes(), this.name || 'tensor');
  }

  toJSON(): unknown {
    return { dtype: this.dtype, shape: this.shape, strides: this.strides, storageOffset: this.storageOffset, storage: this.storage.key };
  }
}

/**
 * Checks a tensor's geometry against its storage's declared size before any
 * byte is read: offset and strides ≥ 0, and the last element it addresses
 * inside the storage (torch's own loader trusted these; CVE-2026-24747).
 */
export function checkGeometry(
  where: string, dtype: Dtype, shape: readonly number[], strides: readonly number[], offset: number, storage: TorchStorage,
): number {
  const bad = (msg: string) => new CorruptError(`${where}: ${msg}`, { detail: 'TENSOR_BOUNDS' });
  if (shape.length !== strides.length) throw bad(`shape has ${shape.length} dimensions but strides ${strides.length}`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw bad(`storage offset ${offset} is negative or not an integer`);
  let numel = 1;
  let lastIndex = offset;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d], s = strides[d];
    if (!Number.isSafeInteger(n) || n < 0) throw bad(`dimension ${d} has size ${n}`);
    if (!Number.isSafeInteger(s) || s < 0) throw bad(`dimension ${d} has stride ${s}; strides must be ≥ 0`);
    numel *= n;
    if (!Number.isSafeInteger(numel)) throw bad(`shape [${shape.join(', ')}] has more than 2^53 elements`);
    if (n > 0) lastIndex += (n - 1) * s;
    if (!Number.isSafeInteger(lastIndex)) throw bad('addresses an element beyond 2^53');
  }
  const es = elementBytes(dtype);
  const storageElements = Math.floor(storage.nbytes / es);
  if (numel > 0 && lastIndex >= storageElements) {
    throw bad(`addresses element ${lastIndex} (offset ${offset}, shape [${shape.join(', ')}], strides [${strides.join(', ')}]) but storage '${storage.key}' holds ${storageElements} ${dtype} elements`);
  }
  if (numel === 0 && offset > storageElements) throw bad(`storage offset ${offset} lies beyond storage '${storage.key}' (${storageElements} elements)`);
  return numel;
}
