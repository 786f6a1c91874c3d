// A small JavaScript model of the reference reader's rules (JSON.parse plus
// the checks of fixtures/README.md, in order). Used as the differential oracle
// of the header fuzz test and as the "JSON.parse + JS validation" peer of the
// header benchmark. Where JSON.parse itself differs from serde_json (duplicate
// keys, lone surrogates, 2.0 read as 2, -0, 1e400, nesting depth) the model
// cannot see it: callers compare verdicts only in the directions that hold.

export const MODEL_DTYPE_BITS = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};
const U64_MAX = (1n << 64n) - 1n;
const fatal = new TextDecoder('utf-8', { fatal: true });

class ModelError extends Error {
  constructor(detail) { super(detail); this.detail = detail; }
}
const fail = (detail) => { throw new ModelError(detail); };
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
let imprecise = false;
/** A usize; past 2^53 JSON.parse has rounded it, and the verdict is flagged `imprecise`. */
function usize(v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || Object.is(v, -0) || v >= 2 ** 64) fail('INVALID_HEADER_DESERIALIZATION');
  if (v > Number.MAX_SAFE_INTEGER) imprecise = true;
  return v;
}

function dtypeOf(v) {
  if (typeof v === 'string') return v in MODEL_DTYPE_BITS ? v : fail('INVALID_HEADER_DESERIALIZATION');
  if (isObj(v)) {
    const keys = Object.keys(v);
    if (keys.length !== 1 || !(keys[0] in MODEL_DTYPE_BITS)) fail('INVALID_HEADER_DESERIALIZATION');
    const u = v[keys[0]];
    if (u === null || (isObj(u) && Object.keys(u).length === 0)) return keys[0];
  }
  return fail('INVALID_HEADER_DESERIALIZATION');
}

function tensorOf(name, v) {
  let dtype, shape, offsets;
  if (Array.isArray(v)) {
    if (v.length !== 3) fail('INVALID_HEADER_DESERIALIZATION');
    [dtype, shape, offsets] = v;
  } else if (isObj(v)) {
    if (!('dtype' in v && 'shape' in v && 'data_offsets' in v)) fail('INVALID_HEADER_DESERIALIZATION');
    ({ dtype, shape, data_offsets: offsets } = v);
  } else fail('INVALID_HEADER_DESERIALIZATION');
  dtype = dtypeOf(dtype);
  if (!Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) fail('INVALID_HEADER_DESERIALIZATION');
  return { name, dtype, shape: shape.map(usize), begin: usize(offsets[0]), end: usize(offsets[1]) };
}

/**
 * The reference's verdict on a file (`bytes`: all of it, or its first 8 + N bytes
 * with `fileSize`) as this model sees it:
 * { ok: true, tensors (JSON order), metadata } or { ok: false, detail }; `imprecise`
 * when a number past 2^53 was rounded by JSON.parse (the verdict may then differ).
 */
export function modelParse(bytes, fileSize = bytes.length) {
  imprecise = false;
  let parsed;
  try {
    if (fileSize < 8) fail('HEADER_TOO_SMALL');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const n = dv.getBigUint64(0, true);
    if (n > 100_000_000n) fail('HEADER_TOO_LARGE');
    const len = Number(n);
    if (8 + len > fileSize) fail('INVALID_HEADER_LENGTH');
    let text;
    try { text = fatal.decode(bytes.subarray(8, 8 + len)); } catch { fail('INVALID_HEADER'); }
    let json;
    try { json = JSON.parse(text); } catch { fail('INVALID_HEADER_DESERIALIZATION'); }
    if (!isObj(json)) fail('INVALID_HEADER_DESERIALIZATION');
    let metadata = null;
    const tensors = [];
    for (const [k, v] of Object.entries(json)) {
      if (k === '__metadata__') {
        if (v === null) continue;
        if (!isObj(v) || Object.values(v).some((x) => typeof x !== 'string')) fail('INVALID_HEADER_DESERIALIZATION');
        metadata = v;
      } else tensors.push(tensorOf(k, v));
    }
    parsed = tensors;
    const sorted = tensors.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
    let start = 0;
    for (const t of sorted) {
      if (t.begin !== start || t.end < t.begin) fail('INVALID_OFFSET');
      start = t.end;
      let elements = 1n;
      for (const d of t.shape) {
        elements *= BigInt(d);
        if (elements > U64_MAX) fail('VALIDATION_OVERFLOW');
      }
      const bits = elements * BigInt(MODEL_DTYPE_BITS[t.dtype]);
      if (bits > U64_MAX) fail('VALIDATION_OVERFLOW');
      if (bits % 8n !== 0n) fail('MISALIGNED_SLICE');
      if (BigInt(t.end - t.begin) !== bits / 8n) fail('TENSOR_INVALID_INFO');
    }
    if (8 + len + start !== fileSize) fail('METADATA_INCOMPLETE_BUFFER');
    return { ok: true, tensors, metadata, imprecise };
  } catch (e) {
    if (e instanceof ModelError) return { ok: false, detail: e.detail, imprecise, tensors: parsed };
    throw e;
  }
}

/** Rule stages, in the order the reference applies them. */
export const STAGE = {
  HEADER_TOO_SMALL: 0, HEADER_TOO_LARGE: 1, INVALID_HEADER_LENGTH: 2, INVALID_HEADER: 3,
  INVALID_HEADER_DESERIALIZATION: 4, DUPLICATE_TENSOR: 5, INVALID_OFFSET: 6, VALIDATION_OVERFLOW: 6,
  MISALIGNED_SLICE: 6, TENSOR_INVALID_INFO: 6, METADATA_INCOMPLETE_BUFFER: 7,
};
