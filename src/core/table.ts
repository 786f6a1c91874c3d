// The flat tensor table the core writes (assembly/table.ts has the layout):
// records in one byte arena plus an index in file order. A parsed header keeps
// its table as is; the shape check sends tables back to the core unchanged.
// Nothing here creates an object per tensor until a tensor is asked for.
import { DTYPES, type Dtype } from '../format/dtype.js';

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

/**
 * Encodes name → { dtype?, shape } as a table (no dtype: any dtype fits).
 * `invalid` describes an entry the table cannot hold.
 */
export function encodeTable(entries: Iterable<[string, ExpectedTensor]>, invalid: (name: string, why: string) => Error): TensorTable {
  const list = Array.from(entries);
  let bytes = 0;
  const names: Uint8Array[] = [];
  for (const [name, t] of list) {
    const nb = encoder.encode(name);
    names.push(nb);
    if (!t || !Array.isArray(t.shape)) throw invalid(name, 'needs a shape array');
    bytes += REC_BYTES + ((nb.length + 7) & ~7) + 8 * t.shape.length;
  }
  const arena = new Uint8Array(bytes);
  const u32 = new Uint32Array(arena.buffer);
  const index = new Uint32Array(list.length);
  let at = 0;
  list.forEach(([name, t], i) => {
    let code = DTYPE_ANY;
    if (t.dtype !== undefined) {
      code = DTYPE_BY_CODE.indexOf(t.dtype as Dtype);
      if (code < 0) throw invalid(name, `has unknown dtype ${JSON.stringify(t.dtype)}`);
    }
    const nb = names[i];
    const r = at >>> 2;
    index[i] = at;
    const nameAt = at + REC_BYTES;
    arena.set(nb, nameAt);
    const dimsAt = nameAt + ((nb.length + 7) & ~7);
    u32[r + (REC_NAME >>> 2)] = nameAt;
    u32[r + (REC_NAME_LEN >>> 2)] = nb.length;
    u32[r + (REC_DTYPE >>> 2)] = code;
    u32[r + (REC_NDIM >>> 2)] = t.shape.length;
    u32[r + (REC_DIMS >>> 2)] = dimsAt;
    t.shape.forEach((d, k) => {
      if (!Number.isSafeInteger(d) || d < 0) throw invalid(name, `has dimension ${d} in its shape (dims are non-negative integers)`);
      u32[(dimsAt >>> 2) + 2 * k] = d % 4294967296;
      u32[(dimsAt >>> 2) + 2 * k + 1] = Math.floor(d / 4294967296);
    });
    at = dimsAt + 8 * t.shape.length;
    u32[r + (REC_NEXT >>> 2)] = at;
  });
  return new TensorTable(arena, index);
}
