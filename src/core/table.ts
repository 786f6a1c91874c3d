// The flat tensor table the core writes (assembly/table.ts has the layout):
// records in one byte arena plus an index in file order. A parsed header keeps
// its table as is; the shape check sends tables back to the core unchanged.
// Nothing here creates an object per tensor until a tensor is asked for.
import { DTYPES, type Dtype } from '../types/dtype.js';

export const REC_NAME = 0;
export const REC_NAME_LEN = 4;
export const REC_DTYPE = 8;
export const REC_NDIM = 12;
export const REC_DIMS = 16;
export const REC_POS = 20;
export const REC_BEGIN = 24;
export const REC_END = 32;
export const REC_NEXT = 40;
export const REC_BYTES = 48;
/** dtype code of an expected entry that accepts any dtype. */
export const DTYPE_ANY = 255;

/** dtype names by core code: the reference's enum order (DTYPES[name].order). */
export const DTYPE_BY_CODE: readonly Dtype[] = (Object.keys(DTYPES) as Dtype[]).sort((a, b) => DTYPES[a].order - DTYPES[b].order);

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export class TensorTable {
  readonly count: number;
  /** The arena: records, names and dims (8-byte aligned). */
  readonly arena: Uint8Array;
  /** Arena-relative record offsets, file order. */
  readonly index: Uint32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;
  private readonly blobStart: number;
  private blobText?: string;

  /**
   * `asciiBlobStart` ≥ 0 when every name lies, ASCII, in one blob from that
   * arena offset to its end: decoded once, then sliced per name.
   */
  constructor(arena: Uint8Array, index: Uint32Array, asciiBlobStart = -1) {
    this.arena = arena;
    this.index = index;
    this.blobStart = asciiBlobStart;
    this.count = index.length;
    this.u32 = new Uint32Array(arena.buffer, arena.byteOffset, arena.byteLength >>> 2);
    this.f64 = new Float64Array(arena.buffer, arena.byteOffset, arena.byteLength >>> 3);
  }

  name(i: number): string {
    const r = this.index[i] >>> 2;
    const off = this.u32[r + (REC_NAME >>> 2)], len = this.u32[r + (REC_NAME_LEN >>> 2)];
    if (this.blobStart >= 0) {
      this.blobText ??= utf8.decode(this.arena.subarray(this.blobStart));
      return this.blobText.slice(off - this.blobStart, off - this.blobStart + len);
    }
    return utf8.decode(this.arena.subarray(off, off + len));
  }
  dtypeCode(i: number): number {
    return this.u32[(this.index[i] >>> 2) + (REC_DTYPE >>> 2)];
  }
  dtype(i: number): Dtype {
    return DTYPE_BY_CODE[this.dtypeCode(i)];
  }
  shape(i: number): number[] {
    const r = this.index[i] >>> 2;
    const n = this.u32[r + (REC_NDIM >>> 2)], d = this.u32[r + (REC_DIMS >>> 2)] >>> 2;
    const out = new Array<number>(n);
    // u64 dims; beyond 2^53 (possible only in a zero-element tensor) the number is the nearest double
    for (let k = 0; k < n; k++) out[k] = this.u32[d + 2 * k] + this.u32[d + 2 * k + 1] * 4294967296;
    return out;
  }
  /** Where the entry's key starts, relative to the header JSON. */
  position(i: number): number {
    return this.u32[(this.index[i] >>> 2) + (REC_POS >>> 2)];
  }
  /** data_offsets, valid once the core has validated them (f64 then). */
  begin(i: number): number {
    return this.f64[(this.index[i] + REC_BEGIN) >>> 3];
  }
  end(i: number): number {
    return this.f64[(this.index[i] + REC_END) >>> 3];
  }
}

export interface ExpectedTensor {
  dtype?: Dtype | string;
  shape: readonly number[];
}

/** dtype name → core code, for encoding. */
const DTYPE_CODE: ReadonlyMap<string, number> = new Map(DTYPE_BY_CODE.map((d, i) => [d, i]));

/**
 * Encodes `names[i]` → `specs[i]` ({ dtype?, shape }; no dtype: any dtype
 * fits) as a table. This runs on every shape check of a record, so it is
 * built for speed: records first, then every dimension, then the names as one
 * blob — encoded in a single call when they are ASCII, as tensor names are —
 * with no object per tensor. `invalid` describes an entry the table cannot hold.
 */
/**
 * Checks one { dtype?, shape } entry and returns its dtype's core code
 * (DTYPE_ANY without a dtype): the one definition of a valid entry, for the
 * table encoder and for the shape check of two records.
 */
export function specCode(name: string, t: ExpectedTensor, invalid: (name: string, why: string) => Error): number {
  if (!t || !Array.isArray(t.shape)) throw invalid(name, 'needs a shape array');
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalid(name, `has dimension ${d} in its shape (dims are non-negative integers)`);
  }
  if (t.dtype === undefined) return DTYPE_ANY;
  const code = DTYPE_CODE.get(t.dtype) ?? -1;
  if (code < 0) throw invalid(name, `has unknown dtype ${JSON.stringify(t.dtype)}`);
  return code;
}

export function encodeTable(names: readonly string[], specs: readonly ExpectedTensor[], invalid: (name: string, why: string) => Error): TensorTable {
  const n = names.length;
  let dims = 0;
  const codes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    codes[i] = specCode(names[i], specs[i], invalid);
    dims += specs[i].shape.length;
  }
  const joined = names.join('');
  const dimsStart = n * REC_BYTES;
  const blobStart = dimsStart + 8 * dims;
  const sized = (blobBytes: number) => new Uint8Array(blobStart + blobBytes + ((8 - ((blobStart + blobBytes) % 8)) % 8));
  // Sized for ASCII names; if one is not (UTF-8 then takes more bytes than UTF-16 units), each name is encoded alone.
  let arena = sized(joined.length);
  const fit = encoder.encodeInto(joined, arena.subarray(blobStart));
  const ascii = fit.read === joined.length && fit.written === joined.length;
  const encoded = ascii ? null : names.map((name) => encoder.encode(name));
  if (!ascii) arena = sized(encoded!.reduce((a, b) => a + b.length, 0));
  const u32 = new Uint32Array(arena.buffer);
  const index = new Uint32Array(n);
  let dimAt = dimsStart >>> 2, nameAt = blobStart;
  for (let i = 0; i < n; i++) {
    const t = specs[i];
    const len = ascii ? names[i].length : encoded![i].length;
    if (!ascii) arena.set(encoded![i], nameAt);
    const r = (i * REC_BYTES) >>> 2;
    index[i] = i * REC_BYTES;
    u32[r + (REC_NAME >>> 2)] = nameAt;
    u32[r + (REC_NAME_LEN >>> 2)] = len;
    u32[r + (REC_DTYPE >>> 2)] = codes[i];
    const shape = t.shape;
    u32[r + (REC_NDIM >>> 2)] = shape.length;
    u32[r + (REC_DIMS >>> 2)] = dimAt << 2;
    for (let k = 0; k < shape.length; k++) {
      const d = shape[k];
      u32[dimAt++] = d % 4294967296;
      u32[dimAt++] = Math.floor(d / 4294967296);
    }
    nameAt += len;
  }
  return new TensorTable(arena, index, ascii ? blobStart : -1);
}
