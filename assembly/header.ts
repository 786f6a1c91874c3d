// The safetensors header rules, in the reference's order (Hugging Face
// safetensors, main 24b0b28, `SafeTensors::read_metadata` + `Metadata::validate`
// in safetensors/src/tensor.rs; serde_json 1.0.87 underneath, see json.ts):
//   1. the header is UTF-8                                  → INVALID_HEADER
//   2. it deserialises into { "__metadata__"?: {string: string} | null,
//      name: {dtype, shape, data_offsets} }               → INVALID_HEADER_DESERIALIZATION
//   3. sorted by data_offsets, every tensor starts where the previous one ended,
//      and begin ≤ end                                     → INVALID_OFFSET
//   4. elements × bits fits in 64 bits                     → VALIDATION_OVERFLOW
//      and fills whole bytes                               → MISALIGNED_SLICE
//   5. end - begin equals that byte size                   → TENSOR_INVALID_INFO
//   6. the tensors cover the data region exactly           → METADATA_INCOMPLETE_BUFFER
// The result is the flat table of table.ts, not objects. The 8-byte length
// prefix is checked by the host before anything is allocated.
//
// Where serde is lenient in ways the reference inherits, so are we: a tensor
// entry may also be the array [dtype, shape, data_offsets], a dtype may be the
// single-key map {"F32": null} (or {"F32": {}}), unknown fields are skipped.
// Where it is ambiguous we are stricter: a repeated tensor name is refused.
//
// Speed: the reference writer lays every entry out the same compact way
// ({"dtype":"F32","shape":[…],"data_offsets":[…]}); compactEntry() reads that
// layout with word compares and falls back to the general parser on the first
// byte that differs, so both paths accept and refuse exactly the same files.
import * as json from './json';
import * as arena from './arena';
import { DTYPE_LO, DTYPE_HI, DTYPE_LEN, DTYPE_BITS, DTYPE_HASH, DTYPE_SLOT } from './tables';
import {
  REC_NAME, REC_NAME_LEN, REC_DTYPE, REC_NDIM, REC_DIMS, REC_POS, REC_BEGIN, REC_END, REC_NEXT, REC_BYTES,
  tableSlots, buildNameTable,
} from './table';

// Status (RESULT[0]) — the host names them after the reference's errors.
const OK: u32 = 0;
const E_UTF8: u32 = 1; //         INVALID_HEADER
const E_JSON: u32 = 2; //         INVALID_HEADER_DESERIALIZATION
const E_DUPLICATE: u32 = 3; //    DUPLICATE_TENSOR (safeckpt's own rule)
const E_OFFSET: u32 = 4; //       INVALID_OFFSET
const E_OVERFLOW: u32 = 5; //     VALIDATION_OVERFLOW
const E_MISALIGNED: u32 = 6; //   MISALIGNED_SLICE
const E_INFO: u32 = 7; //         TENSOR_INVALID_INFO
const E_INCOMPLETE: u32 = 8; //   METADATA_INCOMPLETE_BUFFER
const E_NOMEM: u32 = 9; //        the core could not grow its memory

// Reasons (RESULT[1]) of an E_JSON that are the schema's; json.ts has the syntax ones.
const R_TRAILING: u32 = 3;
const R_NOT_OBJECT: u32 = 5;
const R_META_TYPE: u32 = 11;
const R_META_DUP: u32 = 12;
const R_TENSOR_TYPE: u32 = 13;
const R_DTYPE_UNKNOWN: u32 = 14;
const R_DTYPE_TYPE: u32 = 15;
const R_SHAPE_TYPE: u32 = 17;
const R_OFFSETS_TYPE: u32 = 18;
const R_MISSING_FIELD: u32 = 19;
const R_DUP_FIELD: u32 = 20;

// RESULT layout (u32 each): 0 status, 1 reason, 2 position (header-relative),
// 3 tensor (arena-relative record, or 0xffffffff), 4 count, 5 arena base,
// 6 arena end, 7 index pointer (count u32, file order), 8 metadata kind
// (0 absent, 1 null, 2 object), 9 metadata start, 10 metadata end,
// 11 field (1 dtype, 2 shape, 3 data_offsets), 12 token start, 13 token length,
// 14 names blob start (arena-relative), 15 1 when every name is ASCII;
// f64 at 64: bytes covered so far (where the failing tensor should start).
// Records named in an error before the header parsed hold raw names (see newRecord).
const RESULT = memory.data(72, 8);
export function headerResult(): usize { return RESULT; }

// Keys and the compact layout's punctuation, as little-endian words.
const W_DTYP: u32 = 0x70797464; //                 "dtyp" (+ "e")
const W_SHAP: u32 = 0x70616873; //                 "shap" (+ "e")
const W_DATA_OFF: u64 = 0x66666f5f61746164; //     "data_off" (+ "sets")
const W_SETS: u32 = 0x73746573;
const W_METADA: u64 = 0x61646174656d5f5f; //       "__metada" (+ "ta__")
const W_TA: u32 = 0x5f5f6174;
const C_OPEN_DTYPE: u64 = 0x226570797464227b; //   {"dtype"
const C_COLON_QUOTE: u16 = 0x223a; //               :"
const C_SHAPE: u64 = 0x3a22657061687322; //        "shape":
const C_OFFS_A: u64 = 0x6f5f61746164222c; //       ,"data_o
const C_OFFS_B: u64 = 0x3a22737465736666; //       ffsets":
const C_CLOSE: u16 = 0x7d5d; //                    ]}

let field: u32 = 0;
let rec: usize = 0; // record being parsed, 0 when none
let count: u32 = 0;
let metaKind: u32 = 0;
let metaStart: usize = 0;
let metaEnd: usize = 0;
let covered: u64 = 0; // where the next tensor must start
let escapedNames = false;
/** Marks a raw (not yet decoded) name offset whose key has escapes. */
const RAW_ESCAPED: u32 = 0x80000000;

// ---------------------------------------------------------- tensor entries

/** The dtype code of the name [s, s + n), or -1: one probe of the generated perfect hash. */
@inline function dtypeCodeOf(s: usize, n: usize): i32 {
  if (n < 2 || n > 11) return -1;
  const lo = json.word(s, n);
  const code = (load<u8>(DTYPE_SLOT + (((lo ^ ((n as u64) << 59)) * DTYPE_HASH) >> 59) as usize) as i32) - 1;
  if (code < 0 || load<u64>(DTYPE_LO + ((code as usize) << 3)) != lo || load<u8>(DTYPE_LEN + code) as usize != n) return -1;
  if (n > 8 && load<u64>(DTYPE_HI + ((code as usize) << 3)) != json.word(s + 8, n - 8)) return -1;
  return code;
}

/** A dtype: "F32", or serde's enum-as-map form {"F32": null} / {"F32": {}}. */
function parseDtype(): bool {
  const c = load<u8>(json.p);
  if (c == 0x22) {
    if (!json.scanString()) return false;
    const raw = json.sB - json.sA;
    const rawAt = json.sA;
    if (!json.decoded()) return false;
    const code = dtypeCodeOf(json.sA, json.sB - json.sA);
    if (code < 0) return json.failTok(R_DTYPE_UNKNOWN, rawAt, raw);
    store<u32>(rec + REC_DTYPE, code as u32);
    return true;
  }
  if (c != 0x7b) return json.wrongType(R_DTYPE_TYPE);
  const at = json.p;
  if (!json.enter()) return false;
  if (load<u8>(json.p) != 0x22) {
    if (load<u8>(json.p) == 0x7d) { json.seek(at); json.leave(); return json.wrongType(R_DTYPE_TYPE); }
    return json.unexpected();
  }
  if (!json.scanString()) return false;
  const rawAt = json.sA, raw = json.sB - json.sA;
  if (!json.decoded()) return false;
  const code = dtypeCodeOf(json.sA, json.sB - json.sA);
  json.ws();
  if (load<u8>(json.p) != 0x3a) return json.unexpected();
  json.seek(json.p + 1);
  json.ws();
  // the variant's value must be unit: null, or an empty map
  const v = json.p;
  let unit = false;
  if (load<u8>(v) == 0x6e) unit = true;
  else if (load<u8>(v) == 0x7b) {
    let q = v + 1;
    while (load<u8>(q) == 0x20 || load<u8>(q) == 0x0a || load<u8>(q) == 0x0d || load<u8>(q) == 0x09) q++;
    unit = load<u8>(q) == 0x7d;
  }
  if (!json.skipValue()) return false;
  json.ws();
  if (load<u8>(json.p) == 0x2c) { // a second key: not an enum
    json.seek(at);
    json.leave();
    return json.wrongType(R_DTYPE_TYPE);
  }
  if (load<u8>(json.p) != 0x7d) return json.unexpected();
  json.seek(json.p + 1);
  json.leave();
  if (code < 0) return json.failTok(R_DTYPE_UNKNOWN, rawAt, raw);
  if (!unit) return json.failTok(R_DTYPE_TYPE, v, json.p - v);
  store<u32>(rec + REC_DTYPE, code as u32);
  return true;
}

/** Appends one dim (the last number parsed) to the arena. */
@inline function pushDim(): bool {
  if (!arena.room(8)) return false;
  store<u64>(arena.top, json.num);
  arena.top += 8;
  return true;
}

function parseShape(): bool {
  if (load<u8>(json.p) != 0x5b) return json.wrongType(R_SHAPE_TYPE);
  if (!json.enter()) return false;
  const dims = arena.top;
  let n: u32 = 0;
  if (load<u8>(json.p) == 0x5d) json.seek(json.p + 1);
  else {
    while (true) {
      if (!json.parseUint() || !pushDim()) return false;
      n++;
      const more = json.nextItem(0x5d);
      if (more < 0) return false;
      if (more == 0) break;
    }
  }
  json.leave();
  store<u32>(rec + REC_NDIM, n);
  store<u32>(rec + REC_DIMS, (dims - arena.base) as u32);
  return true;
}

/** data_offsets: exactly two usizes (a Rust tuple). */
function parseOffsets(): bool {
  if (load<u8>(json.p) != 0x5b) return json.wrongType(R_OFFSETS_TYPE);
  const at = json.p;
  if (!json.enter()) return false;
  if (load<u8>(json.p) == 0x5d) { json.seek(at); json.leave(); return json.wrongType(R_OFFSETS_TYPE); }
  if (!json.parseUint()) return false;
  store<u64>(rec + REC_BEGIN, json.num);
  json.ws();
  if (load<u8>(json.p) != 0x2c) {
    if (load<u8>(json.p) == 0x5d) { json.seek(at); json.leave(); return json.wrongType(R_OFFSETS_TYPE); }
    return json.unexpected();
  }
  json.seek(json.p + 1);
  json.ws();
  if (!json.parseUint()) return false;
  store<u64>(rec + REC_END, json.num);
  json.ws();
  if (load<u8>(json.p) != 0x5d) {
    if (load<u8>(json.p) == 0x2c) { json.seek(at); json.leave(); return json.wrongType(R_OFFSETS_TYPE); }
    return json.unexpected();
  }
  json.seek(json.p + 1);
  json.leave();
  return true;
}

/** The field a (decoded) key names: 1 dtype, 2 shape, 3 data_offsets, 0 another. */
function fieldOf(): u32 {
  const s = json.sA, n = json.sB - json.sA;
  if (n == 5) {
    const w = load<u32>(s);
    if (load<u8>(s + 4) != 0x65) return 0; // 'e'
    return w == W_DTYP ? 1 : w == W_SHAP ? 2 : 0;
  }
  if (n == 12 && load<u64>(s) == W_DATA_OFF && load<u32>(s + 8) == W_SETS) return 3;
  return 0;
}

function parseField(f: u32): bool {
  if (f == 1) return parseDtype();
  if (f == 2) return parseShape();
  return parseOffsets();
}

/**
 * The entry at p in the reference writer's exact layout,
 * {"dtype":"D","shape":[d,…],"data_offsets":[b,e]}: 1 when read, 0 when the
 * bytes differ from that layout before anything was stored (the general parser
 * then reads the entry from the same place), -1 on an error (a number that
 * parseUint refuses — the general parser would refuse it at the same byte).
 */
function compactEntry(): i32 {
  const start = json.p;
  // {"dtype":"
  if (load<u64>(start) != C_OPEN_DTYPE || load<u16>(start + 8) != C_COLON_QUOTE) return 0;
  let q = start + 10;
  let n: usize = 0;
  while (n < 12) {
    const c = load<u8>(q + n);
    if (c == 0x22) break;
    if (c == 0x5c || c < 0x20) return 0; // an escape or worse: the general path decides
    n++;
  }
  if (n == 12) return 0;
  const code = dtypeCodeOf(q, n);
  if (code < 0) return 0;
  q += n + 1;
  // ,"shape":[
  if (load<u8>(q) != 0x2c || load<u64>(q + 1) != C_SHAPE || load<u8>(q + 9) != 0x5b) return 0;
  q += 10;
  const dims = arena.top;
  let nd: u32 = 0;
  json.seek(q);
  if (load<u8>(q) == 0x5d) q++;
  else {
    while (true) {
      if (!json.isDigit(load<u8>(json.p))) { json.seek(start); arena.top = dims; return 0; }
      if (!json.parseUint()) return -1;
      if (!pushDim()) return -1;
      nd++;
      const c = load<u8>(json.p);
      if (c == 0x2c) { json.seek(json.p + 1); continue; }
      if (c == 0x5d) { q = json.p + 1; break; }
      json.seek(start); arena.top = dims; return 0;
    }
  }
  // ,"data_offsets":[
  if (load<u64>(q) != C_OFFS_A || load<u64>(q + 8) != C_OFFS_B || load<u8>(q + 16) != 0x5b ||
    !json.isDigit(load<u8>(q + 17))) { json.seek(start); arena.top = dims; return 0; }
  json.seek(q + 17);
  if (!json.parseUint()) return -1;
  const b = json.num;
  if (load<u8>(json.p) != 0x2c || !json.isDigit(load<u8>(json.p + 1))) { json.seek(start); arena.top = dims; return 0; }
  json.seek(json.p + 1);
  if (!json.parseUint()) return -1;
  if (load<u16>(json.p) != C_CLOSE) { json.seek(start); arena.top = dims; return 0; } // ]}
  store<u32>(rec + REC_DTYPE, code as u32);
  store<u32>(rec + REC_NDIM, nd);
  store<u32>(rec + REC_DIMS, (dims - arena.base) as u32);
  store<u64>(rec + REC_BEGIN, b);
  store<u64>(rec + REC_END, json.num);
  json.seek(json.p + 2);
  return 1;
}

/** A tensor entry, as a map {dtype, shape, data_offsets, …} or serde's struct-as-sequence [dtype, shape, data_offsets]. */
function parseTensor(keyAt: usize): bool {
  const c = load<u8>(json.p);
  if (c == 0x7b) {
    const fast = compactEntry();
    if (fast != 0) return fast > 0;
    if (!json.enter()) return false;
    let seen: u32 = 0;
    if (load<u8>(json.p) == 0x7d) json.seek(json.p + 1);
    else {
      while (true) {
        if (load<u8>(json.p) != 0x22) return json.unexpected();
        const at = json.p;
        if (!json.scanString()) return false;
        if (!json.decoded()) return false;
        const f = fieldOf();
        json.ws();
        if (load<u8>(json.p) != 0x3a) return json.unexpected();
        json.seek(json.p + 1);
        json.ws();
        if (f == 0) {
          if (!json.skipValue()) return false;
        } else {
          if (seen & (1 << f)) { field = f; return json.failTok(R_DUP_FIELD, at, 0); }
          seen |= 1 << f;
          if (!parseField(f)) return false;
        }
        const more = json.nextItem(0x7d);
        if (more < 0) return false;
        if (more == 0) break;
      }
    }
    json.leave();
    for (let f: u32 = 1; f <= 3; f++) {
      if ((seen & (1 << f)) == 0) { field = f; return json.fail(R_MISSING_FIELD, keyAt); }
    }
    return true;
  }
  if (c == 0x5b) {
    const at = json.p;
    if (!json.enter()) return false;
    for (let f: u32 = 1; f <= 3; f++) {
      if (load<u8>(json.p) == 0x5d) { json.seek(at); json.leave(); return json.wrongType(R_TENSOR_TYPE); }
      if (!parseField(f)) return false;
      json.ws();
      const d = load<u8>(json.p);
      if (f < 3) {
        if (d != 0x2c) { if (d == 0x5d) { json.seek(at); json.leave(); return json.wrongType(R_TENSOR_TYPE); } return json.unexpected(); }
        json.seek(json.p + 1);
        json.ws();
      } else if (d != 0x5d) {
        if (d == 0x2c) { json.seek(at); json.leave(); return json.wrongType(R_TENSOR_TYPE); }
        return json.unexpected();
      }
    }
    json.seek(json.p + 1);
    json.leave();
    return true;
  }
  return json.wrongType(R_TENSOR_TYPE);
}

/**
 * Starts a record for the key just scanned. Until the header is valid the
 * record holds the raw key (header-relative offset, top bit set when it has
 * escapes); packNames() then gathers the decoded names in one blob.
 */
function newRecord(keyAt: usize): bool {
  if (!arena.room(REC_BYTES)) return false;
  rec = arena.top;
  store<u32>(rec + REC_NAME, ((json.sA - json.hdr) as u32) | (json.sEsc ? RAW_ESCAPED : 0));
  store<u32>(rec + REC_NAME_LEN, (json.sB - json.sA) as u32);
  if (json.sEsc) escapedNames = true;
  store<u32>(rec + REC_DTYPE, 0);
  store<u32>(rec + REC_NDIM, 0);
  store<u32>(rec + REC_DIMS, 0);
  store<u32>(rec + REC_POS, (keyAt - json.hdr) as u32);
  store<u64>(rec + REC_BEGIN, 0);
  store<u64>(rec + REC_END, 0);
  store<u64>(rec + REC_NEXT, 0);
  arena.top += REC_BYTES;
  return true;
}

/**
 * Copies a name 16 bytes at a time: cheaper than a memory.copy call for the
 * short strings names are. It may write up to 15 bytes past dst + n, which
 * arena.room() keeps addressable (PAD) and the next name overwrites.
 */
@inline function copyName(dst: usize, src: usize, n: usize): void {
  for (let k: usize = 0; k < n; k += 16) v128.store(dst + k, v128.load(src + k));
}

/**
 * Copies every name, decoded, into one blob after the records (file order) and
 * points the records at it: the host decodes the blob once and slices it.
 * Returns whether every name is ASCII (known without looking when the header
 * is ASCII and no name has escapes), or false on OOM with arena.oom set.
 */
function packNames(idx: usize): bool {
  const scan = !json.allAscii || escapedNames;
  let bits: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = arena.base + load<u32>(idx + ((i as usize) << 2));
    const raw = load<u32>(r + REC_NAME);
    const len = load<u32>(r + REC_NAME_LEN) as usize;
    if (!arena.room(len)) return false;
    const src = json.hdr + ((raw & ~RAW_ESCAPED) as usize);
    const dst = arena.top;
    let n = len;
    if (raw & RAW_ESCAPED) n = json.decodeTo(src, src + len, dst);
    else copyName(dst, src, len);
    if (scan) {
      let k: usize = 0;
      for (; k + 8 <= n; k += 8) bits |= load<u64>(dst + k);
      if (k < n) bits |= json.word(dst + k, n - k);
    }
    store<u32>(r + REC_NAME, (dst - arena.base) as u32);
    store<u32>(r + REC_NAME_LEN, n as u32);
    arena.top += n;
  }
  return (bits & 0x8080808080808080) == 0;
}

function parseMetadata(): bool {
  metaStart = json.p;
  const c = load<u8>(json.p);
  if (c == 0x6e) {
    if (!json.literalNull()) return false;
    metaKind = 1;
    metaEnd = json.p;
    return true;
  }
  if (c != 0x7b) return json.wrongType(R_META_TYPE);
  if (!json.enter()) return false;
  if (load<u8>(json.p) == 0x7d) json.seek(json.p + 1);
  else {
    while (true) {
      if (load<u8>(json.p) != 0x22) return json.unexpected();
      if (!json.scanString()) return false;
      json.ws();
      if (load<u8>(json.p) != 0x3a) return json.unexpected();
      json.seek(json.p + 1);
      json.ws();
      if (load<u8>(json.p) != 0x22) return json.wrongType(R_META_TYPE);
      if (!json.scanString()) return false;
      const more = json.nextItem(0x7d);
      if (more < 0) return false;
      if (more == 0) break;
    }
  }
  json.leave();
  metaKind = 2;
  metaEnd = json.p;
  return true;
}

@inline function isMetadataKey(): bool {
  return json.sB - json.sA == 12 && load<u64>(json.sA) == W_METADA && load<u32>(json.sA + 8) == W_TA;
}

/** The whole JSON document: one object, whitespace around it, nothing else. */
function parseDocument(): bool {
  json.ws();
  if (load<u8>(json.p) != 0x7b) {
    if (json.p >= json.end) return json.fail(json.R_EOF, json.p);
    return json.wrongType(R_NOT_OBJECT);
  }
  if (!json.enter()) return false;
  let seenMeta = false;
  if (load<u8>(json.p) == 0x7d) json.seek(json.p + 1);
  else {
    while (true) {
      if (load<u8>(json.p) != 0x22) return json.unexpected();
      const keyAt = json.p;
      if (!json.scanString()) return false;
      const rawA = json.sA, rawB = json.sB;
      if (!json.decoded()) return false;
      const isMeta = isMetadataKey();
      json.ws();
      if (load<u8>(json.p) != 0x3a) return json.unexpected();
      json.seek(json.p + 1);
      json.ws();
      if (isMeta) {
        if (seenMeta) return json.failTok(R_META_DUP, keyAt, rawB - rawA + 2);
        seenMeta = true;
        if (!parseMetadata()) return false;
      } else {
        json.sA = rawA; json.sB = rawB; // the record keeps the raw key; packNames decodes it
        if (!newRecord(keyAt)) return false;
        if (!parseTensor(keyAt)) return false;
        store<u32>(rec + REC_NEXT, (arena.top - arena.base) as u32);
        count++;
        rec = 0;
      }
      const more = json.nextItem(0x7d);
      if (more < 0) return false;
      if (more == 0) break;
    }
  }
  json.leave();
  json.ws();
  if (json.p < json.end) return json.failTok(R_TRAILING, json.p, json.end - json.p);
  return true;
}

// ------------------------------------------------------------- validation

@inline function recAt(idx: usize, i: u32): usize { return arena.base + load<u32>(idx + ((i as usize) << 2)); }

/** Whether record a sorts at or before record b: by (begin, end), as Rust sorts the (u64, u64) tuples. */
@inline function notAfter(a: usize, b: usize): bool {
  const ab = load<u64>(a + REC_BEGIN), bb = load<u64>(b + REC_BEGIN);
  return ab < bb || (ab == bb && load<u64>(a + REC_END) <= load<u64>(b + REC_END));
}

/**
 * The index sorted by offsets, stable (bottom-up merge sort in the two scratch
 * arrays; `idx` keeps file order). A reference-written header is already
 * sorted: one linear pass, no copy.
 */
function sortByOffsets(idx: usize, tmp: usize, n: u32): usize {
  let sorted = true;
  for (let i: u32 = 1; i < n; i++) {
    if (!notAfter(recAt(idx, i - 1), recAt(idx, i))) { sorted = false; break; }
  }
  if (sorted) return idx;
  const base = arena.base;
  let src = tmp, dst = tmp + ((n as usize) << 2);
  memory.copy(src, idx, (n as usize) << 2);
  for (let width: u32 = 1; width < n; width <<= 1) {
    for (let lo: u32 = 0; lo < n; lo += width << 1) {
      const mid = min<u32>(lo + width, n), hi = min<u32>(lo + (width << 1), n);
      let i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        const a = load<u32>(src + ((i as usize) << 2)), b = load<u32>(src + ((j as usize) << 2));
        if (notAfter(base + a, base + b)) { store<u32>(dst + ((k as usize) << 2), a); i++; }
        else { store<u32>(dst + ((k as usize) << 2), b); j++; }
        k++;
      }
      while (i < mid) { store<u32>(dst + ((k as usize) << 2), load<u32>(src + ((i as usize) << 2))); i++; k++; }
      while (j < hi) { store<u32>(dst + ((k as usize) << 2), load<u32>(src + ((j as usize) << 2))); j++; k++; }
    }
    const t = src; src = dst; dst = t;
  }
  return src;
}

function finish(status: u32, r: usize): u32 {
  const hdr = json.hdr, base = arena.base;
  store<u32>(RESULT, status, 0);
  store<u32>(RESULT, json.reason, 4);
  store<u32>(RESULT, (json.errAt - hdr) as u32, 8);
  store<u32>(RESULT, r == 0 ? 0xffffffff : (r - base) as u32, 12);
  store<u32>(RESULT, count, 16);
  store<u32>(RESULT, base as u32, 20);
  store<u32>(RESULT, metaKind, 32);
  store<u32>(RESULT, (metaStart - hdr) as u32, 36);
  store<u32>(RESULT, (metaEnd - hdr) as u32, 40);
  store<u32>(RESULT, field, 44);
  store<u32>(RESULT, (json.tokAt - hdr) as u32, 48);
  store<u32>(RESULT, json.tokLen as u32, 52);
  store<f64>(RESULT, covered as f64, 64);
  return status;
}

function failRec(status: u32, r: usize): u32 {
  json.errAt = json.hdr + load<u32>(r + REC_POS);
  return finish(status, r);
}

/** Rules 3–5 for one tensor (the next in offset order): the status, OK when it holds. */
function checkTensor(t: usize): u32 {
  const b = load<u64>(t + REC_BEGIN), e = load<u64>(t + REC_END);
  if (b != covered || e < b) return E_OFFSET;
  covered = e;
  let elements: u64 = 1;
  const dims = arena.base + load<u32>(t + REC_DIMS);
  const nd = load<u32>(t + REC_NDIM);
  for (let k: u32 = 0; k < nd; k++) {
    const d = load<u64>(dims + ((k as usize) << 3));
    // a 64-bit division is slow: only when a factor is ≥ 2^32 can the product overflow
    if ((elements | d) >> 32 != 0 && d != 0 && elements > u64.MAX_VALUE / d) return E_OVERFLOW;
    elements *= d;
  }
  const bits = load<u8>(DTYPE_BITS + load<u32>(t + REC_DTYPE)) as u64;
  if (elements >> 57 != 0 && elements > u64.MAX_VALUE / bits) return E_OVERFLOW; // bits ≤ 64 = 2^6
  const nbits = elements * bits;
  if (nbits & 7) return E_MISALIGNED;
  if (e - b != nbits >> 3) return E_INFO;
  return OK;
}

/**
 * Validates the header of `n` bytes at `ptr` (the host copied it there, with
 * room for 16 more bytes) for a data region of `dataLength` bytes. Returns the
 * status; RESULT (headerResult()) says where and, on success, where the table is.
 */
export function headerParse(ptr: usize, n: usize, dataLength: f64, seed: u32): u32 {
  json.startLexer(ptr, n);
  field = 0; rec = 0; count = 0; covered = 0; escapedNames = false;
  metaKind = 0; metaStart = ptr; metaEnd = ptr;
  if (!arena.startArena(ptr + n)) return finish(E_NOMEM, 0);
  memory.fill(ptr + n, 0, arena.PAD);

  // 1. UTF-8
  const bad = json.utf8Invalid(ptr, ptr + n);
  if (bad < ptr + n) { json.errAt = bad; return finish(E_UTF8, 0); }

  // 2. the JSON document into records
  if (!parseDocument()) return finish(arena.oom ? E_NOMEM : E_JSON, rec);
  rec = 0;

  // the index of records in file order, the names blob, then scratch for sorting and hashing
  if (!arena.room((count as usize) << 2)) return finish(E_NOMEM, 0);
  const base = arena.base;
  const idx = arena.top;
  let r = base;
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(idx + ((i as usize) << 2), (r - base) as u32);
    r = base + load<u32>(r + REC_NEXT);
  }
  arena.top += (count as usize) << 2;
  const blob = arena.top;
  const ascii = packNames(idx);
  if (arena.oom) return finish(E_NOMEM, 0);
  const arenaEnd = arena.top;
  arena.alignTop();
  const slots = tableSlots(count);
  if (!arena.room(((count as usize) << 3) + ((slots as usize) << 3) + 8)) return finish(E_NOMEM, 0);
  const tmp = arena.top, table = (tmp + ((count as usize) << 3) + 7) & ~(7 as usize);
  store<u32>(RESULT, arenaEnd as u32, 24);
  store<u32>(RESULT, idx as u32, 28);
  store<u32>(RESULT, (blob - base) as u32, 56);
  store<u32>(RESULT, ascii ? 1 : 0, 60);

  // safeckpt's own rule: every name once
  const dup = buildNameTable(table, slots, base, idx, count, ((seed as u64) << 32) | (seed as u64) ^ 0x5bd1e995);
  if (dup >= 0) return failRec(E_DUPLICATE, recAt(idx, dup as u32));

  // 3–5, in offset order
  const order = sortByOffsets(idx, tmp, count);
  for (let i: u32 = 0; i < count; i++) {
    const t = base + load<u32>(order + ((i as usize) << 2));
    const status = checkTensor(t);
    if (status != OK) return failRec(status, t);
    // Hand the offsets over as f64: exact once the coverage check below passes (every offset is then at
    // most the data region's size, which the host holds as a number); after an error nothing reads them.
    store<f64>(t + REC_BEGIN, load<u64>(t + REC_BEGIN) as f64);
    store<f64>(t + REC_END, load<u64>(t + REC_END) as f64);
  }
  // 6. The reference adds 8 + n to this in usize and compares with the file
  // size; in a release build that sum can wrap around. We compare without wrapping.
  if (covered != (dataLength as u64)) {
    json.errAt = ptr + n;
    return finish(E_INCOMPLETE, 0);
  }
  json.errAt = ptr;
  return finish(OK, 0);
}
