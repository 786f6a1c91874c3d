// parseHeader: a safetensors header validated by the core with the reference's
// rules, kept as a flat table; TensorInfo objects are made only when asked for.
import { withCore, type CoreExports } from './wasm.js';
import { TensorTable, DTYPE_BY_CODE } from './table.js';
import { CheckpointError, CorruptError, UnsupportedError } from '../errors.js';
import type { Header, TensorInfo } from '../types/tensor.js';
import { DTYPES, type Dtype } from '../types/dtype.js';

/** The reference's cap on the header length (100 MB): a larger prefix is refused before anything is allocated. */
export const MAX_HEADER_LENGTH = 100_000_000;
/** Bytes of the little-endian u64 header-length prefix. */
export const HEADER_PREFIX_BYTES = 8;

/** Options of parseHeader: the file's size (to check offsets against it) and a path for messages. */
export interface HeaderOptions {
  /** Size of the whole file when `bytes` holds only its start (at least 8 + N bytes). */
  fileSize?: number;
  /** Named in errors. */
  path?: string;
}

interface HeaderCore extends CoreExports {
  headerParse(ptr: number, n: number, dataLength: number, seed: number): number;
  headerResult(): number;
}

const STATUS_DETAIL = [
  '', 'INVALID_HEADER', 'INVALID_HEADER_DESERIALIZATION', 'DUPLICATE_TENSOR', 'INVALID_OFFSET',
  'VALIDATION_OVERFLOW', 'MISALIGNED_SLICE', 'TENSOR_INVALID_INFO', 'METADATA_INCOMPLETE_BUFFER',
] as const;
const E_JSON = 2;
const E_NOMEM = 9;
const R_DTYPE_UNKNOWN = 14;
const FIELDS = ['', 'dtype', 'shape', 'data_offsets'];
const REASONS: Record<number, string> = {
  1: 'the JSON ends too early',
  2: 'invalid JSON syntax',
  3: 'characters after the closing } of the JSON object (only whitespace may follow; NUL padding is not allowed)',
  4: 'JSON nested deeper than 127 levels (the reference\'s serde_json recursion limit)',
  5: 'the header is not a JSON object',
  6: 'invalid escape in a JSON string',
  7: 'an unpaired UTF-16 surrogate escape (like \\ud800) in a JSON string',
  8: 'a raw control character inside a JSON string (it must be escaped)',
  9: 'invalid JSON number',
  10: 'a JSON number too large for a 64-bit float',
  11: '__metadata__ must be an object of string values, or null',
  12: '__metadata__ appears twice',
  13: 'a tensor entry must be an object {"dtype", "shape", "data_offsets"}',
  14: 'unknown dtype',
  15: 'dtype must be a string',
  16: 'expected a non-negative integer',
  17: 'shape must be an array of non-negative integers',
  18: 'data_offsets must be an array of two non-negative integers [begin, end]',
  19: 'missing field',
  20: 'duplicate field',
};

const where = (path?: string) => (path ? `${path}: ` : '');
const utf8 = new TextDecoder();

/**
 * Reads the 8-byte little-endian header length and checks it the way the
 * reference does, in its order: at least 8 bytes, at most 100 MB (checked
 * before the file size, and before anything is allocated), and 8 + N within
 * the file. A ranged reader calls this on the first 8 bytes, then reads exactly N.
 */
export function readHeaderLength(first8: Uint8Array, opts: HeaderOptions = {}): number {
  const fileSize = opts.fileSize ?? first8.length;
  if (fileSize < HEADER_PREFIX_BYTES || first8.length < HEADER_PREFIX_BYTES) {
    throw new CorruptError(
      `${where(opts.path)}the file is ${fileSize} bytes, shorter than the 8-byte header length every safetensors file starts with: it is truncated or not a safetensors file`,
      { detail: 'HEADER_TOO_SMALL', path: opts.path, position: 0 },
    );
  }
  const lo = (first8[0] | (first8[1] << 8) | (first8[2] << 16) | (first8[3] << 24)) >>> 0;
  const hi = (first8[4] | (first8[5] << 8) | (first8[6] << 16) | (first8[7] << 24)) >>> 0;
  if (hi !== 0 || lo > MAX_HEADER_LENGTH) {
    const n = (BigInt(hi) << 32n) | BigInt(lo);
    throw new CorruptError(
      `${where(opts.path)}the header length prefix says ${n} bytes, more than the 100,000,000-byte limit of the safetensors format: the file is corrupt or not a safetensors file`,
      { detail: 'HEADER_TOO_LARGE', path: opts.path, position: 0 },
    );
  }
  if (HEADER_PREFIX_BYTES + lo > fileSize) {
    throw new CorruptError(
      `${where(opts.path)}the header length prefix says ${lo} bytes, but the file has only ${fileSize} bytes (8 + ${lo} needed): the file is truncated or not a safetensors file`,
      { detail: 'INVALID_HEADER_LENGTH', path: opts.path, position: 0 },
    );
  }
  return lo;
}

function seed(): number {
  return (Math.random() * 4294967296) >>> 0;
}

/**
 * Validates a safetensors header with the reference's rules and returns its
 * table. `bytes` is the whole file, or its first 8 + N bytes with `fileSize`.
 * Throws a CheckpointError (CORRUPT, or UNSUPPORTED for an unknown dtype) whose
 * `detail` is the reference's error name, with the byte `position` in the file
 * and the `tensor` where one applies. A repeated tensor name is refused
 * (DUPLICATE_TENSOR), where the reference would let the last one win.
 */
export function parseHeader(bytes: Uint8Array, opts: HeaderOptions = {}): Header {
  const fileSize = opts.fileSize ?? bytes.length;
  const path = opts.path;
  const n = readHeaderLength(bytes.subarray(0, HEADER_PREFIX_BYTES), { fileSize, path });
  if (bytes.length < HEADER_PREFIX_BYTES + n) {
    throw new CorruptError(
      `${where(path)}only ${bytes.length} bytes were given, but the header needs 8 + ${n}: pass the first ${HEADER_PREFIX_BYTES + n} bytes of the file`,
      { detail: 'INVALID_HEADER_LENGTH', path, position: bytes.length },
    );
  }
  const dataLength = fileSize - HEADER_PREFIX_BYTES - n;
  return withCore((c0) => {
    const c = c0 as HeaderCore;
    // the header plus its zero padding; the core grows memory for its table itself
    const ptr = c.reserve(n + 64);
    if (ptr === 0) throw outOfMemory(n, path);
    new Uint8Array(c.memory.buffer, ptr, n).set(bytes.subarray(HEADER_PREFIX_BYTES, HEADER_PREFIX_BYTES + n));
    const status = c.headerParse(ptr, n, dataLength, seed());
    const r = new Uint32Array(c.memory.buffer, c.headerResult(), 18);
    if (status !== 0) throw headerError(c, status, r, bytes, n, dataLength, path);
    const count = r[4], base = r[5], arenaEnd = r[6], idx = r[7];
    const mem = new Uint8Array(c.memory.buffer);
    const arena = mem.slice(base, arenaEnd);
    const index = new Uint32Array(count);
    index.set(new Uint32Array(c.memory.buffer, idx, count));
    const blobStart = r[15] === 1 ? r[14] : -1;
    let metadata: Record<string, string> | null = null;
    if (r[8] === 2) metadata = JSON.parse(utf8.decode(mem.subarray(ptr + r[9], ptr + r[10])));
    return new SafetensorsHeader(n, dataLength, metadata, new TensorTable(arena, index, blobStart));
  }, (e) => new CorruptError(
    `${where(path)}the safeckpt core failed while validating the header (${String(e)}); this is a safeckpt bug — please report it with the file`,
    { detail: 'CORE_TRAP', path, cause: e },
  ));
}

function outOfMemory(n: number, path?: string): CheckpointError {
  return new UnsupportedError(
    `${where(path)}the WebAssembly core could not grow its memory to validate a ${n}-byte header`,
    { detail: 'OUT_OF_MEMORY', path },
  );
}

function headerError(c: HeaderCore, status: number, r: Uint32Array, bytes: Uint8Array, n: number, dataLength: number, path?: string): CheckpointError {
  if (status === E_NOMEM) return outOfMemory(n, path);
  const detail = STATUS_DETAIL[status] ?? 'INVALID_HEADER';
  const [, reason, pos, recOff] = r;
  const position = HEADER_PREFIX_BYTES + pos;
  const mem = new Uint8Array(c.memory.buffer);
  const base = r[5];
  const u32 = new Uint32Array(c.memory.buffer);
  let tensor: string | undefined;
  let rec = -1;
  if (recOff !== 0xffffffff) {
    rec = (base + recOff) >>> 2;
    tensor = status === E_JSON ? rawName(bytes, u32[rec], u32[rec + 1]) : utf8.decode(mem.subarray(base + u32[rec], base + u32[rec] + u32[rec + 1]));
  }
  const covered = new Float64Array(c.memory.buffer, c.headerResult() + 64, 1)[0];
  const T = tensor === undefined ? '' : `tensor ${JSON.stringify(tensor)}: `;
  const at = `at byte ${position}`;
  const opts = { detail, path, tensor, position };
  const pre = where(path);
  switch (detail) {
    case 'INVALID_HEADER':
      return new CorruptError(`${pre}the header is not valid UTF-8 ${at}: the file is corrupt or not a safetensors file`, opts);
    case 'INVALID_HEADER_DESERIALIZATION': {
      const tokAt = r[12], tokLen = r[13];
      const token = tokLen > 0 ? utf8.decode(bytes.subarray(HEADER_PREFIX_BYTES + tokAt, HEADER_PREFIX_BYTES + Math.min(tokAt + tokLen, tokAt + 80, n))) : '';
      let what = REASONS[reason] ?? 'invalid header';
      if (reason === 19 || reason === 20) what += ` "${FIELDS[r[11]]}"`;
      if (token && reason !== 3) what += ` (found ${reason === R_DTYPE_UNKNOWN ? JSON.stringify(token) : token})`;
      if (reason === R_DTYPE_UNKNOWN) {
        return new UnsupportedError(
          `${pre}${T}${what} ${at}; the known dtypes are ${DTYPE_BY_CODE.join(', ')} (case-sensitive). The file may come from a newer safetensors`,
          opts,
        );
      }
      return new CorruptError(`${pre}${T}invalid header: ${what} ${at}`, opts);
    }
    case 'DUPLICATE_TENSOR':
      return new CorruptError(
        `${pre}${T}the name appears more than once in the header (again ${at}); the reference reader keeps the last entry, safeckpt refuses ambiguous files: re-save with unique names`,
        opts,
      );
    case 'METADATA_INCOMPLETE_BUFFER':
      return new CorruptError(
        `${pre}the tensors cover ${covered} bytes of data, but the file has ${dataLength} bytes after the header: it is ${covered > dataLength ? 'truncated (or its offsets point past the end)' : 'followed by bytes no tensor owns'}`,
        { ...opts, position: HEADER_PREFIX_BYTES + n + Math.min(covered, dataLength) },
      );
    default: {
      const dtype = DTYPE_BY_CODE[u32[rec + 2]] as Dtype;
      const nd = u32[rec + 3], dimsAt = (base + u32[rec + 4]) >>> 2;
      const shape: (number | bigint)[] = [];
      for (let k = 0; k < nd; k++) {
        const lo = u32[dimsAt + 2 * k], hi = u32[dimsAt + 2 * k + 1];
        shape.push(hi < 0x200000 ? hi * 4294967296 + lo : (BigInt(hi) << 32n) | BigInt(lo));
      }
      const big = new BigUint64Array(c.memory.buffer, base + recOff + 24, 2);
      const offsets = `[${big[0]}, ${big[1]}]`;
      const desc = `${dtype} [${shape.join(', ')}]`;
      if (detail === 'INVALID_OFFSET') {
        return new CorruptError(
          `${pre}${T}data_offsets ${offsets} should be [${covered}, …]: sorted by offset, tensors must tile the data region from byte 0 with no gap or overlap, and end ≥ begin`,
          opts,
        );
      }
      if (detail === 'VALIDATION_OVERFLOW') {
        return new CorruptError(`${pre}${T}the byte size of ${desc} overflows 64 bits`, opts);
      }
      if (detail === 'MISALIGNED_SLICE') {
        return new CorruptError(`${pre}${T}${desc} is ${DTYPES[dtype].bits}-bit elements that do not fill a whole number of bytes`, opts);
      }
      if (detail === 'TENSOR_INVALID_INFO') {
        return new CorruptError(
          `${pre}${T}${desc} needs ${elementsBytes(shape, DTYPES[dtype].bits)} bytes, but data_offsets ${offsets} span ${big[1] - big[0]}`,
          opts,
        );
      }
      return new CorruptError(`${pre}${T}invalid tensor entry`, opts);
    }
  }
}

/** A name still raw in the header (the core stopped before packing names); the core has validated its string. */
function rawName(bytes: Uint8Array, ref: number, len: number): string {
  const at = HEADER_PREFIX_BYTES + (ref & 0x7fffffff);
  const raw = utf8.decode(bytes.subarray(at, at + len));
  return ref & 0x80000000 ? JSON.parse(`"${raw}"`) : raw;
}

function elementsBytes(shape: (number | bigint)[], bits: number): bigint {
  let e = 1n;
  for (const d of shape) e *= BigInt(d);
  return (e * BigInt(bits)) / 8n;
}

class SafetensorsHeader implements Header {
  readonly dataStart: number;
  readonly size: number;
  private nameList?: string[];
  private byName?: Map<string, number>;
  private infos?: (TensorInfo | undefined)[];

  constructor(
    readonly headerLength: number,
    readonly dataLength: number,
    readonly metadata: Readonly<Record<string, string>> | null,
    /** @internal the flat table, for the shape check */
    readonly table: TensorTable,
  ) {
    this.dataStart = HEADER_PREFIX_BYTES + headerLength;
    this.size = table.count;
  }

  names(): string[] {
    if (!this.nameList) {
      const t = this.table;
      const out = new Array<string>(t.count);
      for (let i = 0; i < t.count; i++) out[i] = t.name(i);
      this.nameList = out;
    }
    return this.nameList.slice();
  }

  get(name: string): TensorInfo | undefined {
    if (!this.byName) {
      const m = new Map<string, number>();
      const names = this.nameList ?? this.names();
      for (let i = 0; i < names.length; i++) m.set(names[i], i);
      this.byName = m;
    }
    const i = this.byName.get(name);
    return i === undefined ? undefined : this.at(i);
  }

  /** The i-th entry in file order. */
  at(i: number): TensorInfo {
    this.infos ??= new Array(this.size);
    let info = this.infos[i];
    if (!info) {
      const t = this.table;
      const begin = t.begin(i), end = t.end(i);
      info = { name: this.nameList?.[i] ?? t.name(i), dtype: t.dtype(i), shape: t.shape(i), begin, end, byteLength: end - begin };
      this.infos[i] = info;
    }
    return info;
  }

  *tensors(): IterableIterator<TensorInfo> {
    for (let i = 0; i < this.size; i++) yield this.at(i);
  }
}

/** The flat table behind a header made by parseHeader, or undefined for any other Header. */
export function headerTable(h: Header): TensorTable | undefined {
  return h instanceof SafetensorsHeader ? h.table : undefined;
}

