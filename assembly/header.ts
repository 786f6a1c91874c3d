// Validates a safetensors JSON header in one pass over its bytes and writes
// the tensor table (see table.ts) instead of building objects. The rules and
// their order are the reference's (Hugging Face safetensors, main 24b0b28,
// serde_json 1.0.87 underneath): UTF-8 first, then JSON into
// { "__metadata__"?: {string: string} | null, name: {dtype, shape, data_offsets} },
// then — sorted by data_offsets — contiguity, sizes and coverage. The 8-byte
// length prefix is checked by the host before anything is allocated.
//
// Where serde is lenient in ways the reference inherits, so are we: a tensor
// entry may also be the array [dtype, shape, data_offsets], a dtype may be the
// single-key map {"F32": null} (or {"F32": {}}), unknown fields are skipped.
// Where it is ambiguous we are stricter: a repeated tensor name is refused.
import { ensure } from './memory';
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

// Reason (RESULT[1]) of an E_JSON, for the message.
const R_EOF: u32 = 1;
const R_SYNTAX: u32 = 2;
const R_TRAILING: u32 = 3;
const R_DEPTH: u32 = 4;
const R_NOT_OBJECT: u32 = 5;
const R_BAD_ESCAPE: u32 = 6;
const R_SURROGATE: u32 = 7;
const R_CONTROL: u32 = 8;
const R_NUMBER: u32 = 9;
const R_NUMBER_RANGE: u32 = 10;
const R_META_TYPE: u32 = 11;
const R_META_DUP: u32 = 12;
const R_TENSOR_TYPE: u32 = 13;
const R_DTYPE_UNKNOWN: u32 = 14;
const R_DTYPE_TYPE: u32 = 15;
const R_NOT_UINT: u32 = 16;
const R_SHAPE_TYPE: u32 = 17;
const R_OFFSETS_TYPE: u32 = 18;
const R_MISSING_FIELD: u32 = 19;
const R_DUP_FIELD: u32 = 20;

/** serde_json's recursion limit: the 128th nested container is refused. */
const MAX_DEPTH: i32 = 128;
/** Zero bytes after the header: every 16-byte load from inside it stays readable, and a 0 marks the end. */
const PAD: usize = 16;

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

// The dtype names (BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ,
// F8_E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64) as little-endian words:
// bytes 0..8 and 8..11.
const DTYPE_LO = memory.data<u64>([0x4c4f4f42, 0x3446, 0x334d32455f3646, 0x324d33455f3646, 0x3855, 0x3849, 0x324d35455f3846, 0x334d34455f3846, 0x304d38455f3846, 0x46334d34455f3846, 0x46324d35455f3846, 0x363149, 0x363155, 0x363146, 0x36314642, 0x323349, 0x323355, 0x323346, 0x343643, 0x343646, 0x343649, 0x343655]);
const DTYPE_HI = memory.data<u64>([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5a554e, 0x5a554e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const DTYPE_LEN = memory.data<u8>([4,2,7,7,2,2,7,7,7,11,11,3,3,3,4,3,3,3,3,3,3,3]);
/** Bits per element, in the reference's enum order (BOOL … U64): the codes the host maps to names. */
const DTYPE_BITS = memory.data<u8>([8,4,6,6,8,8,8,8,8,8,8,16,16,16,16,32,32,32,64,64,64,64]);
const DTYPE_COUNT: i32 = 22;
// Field names as little-endian words: "dtyp"+"e", "shap"+"e", "data_off"+"sets", "__metada"+"ta__".
const W_DTYP: u32 = 0x70797464;
const W_SHAP: u32 = 0x70616873;
const W_DATA_OFF: u64 = 0x66666f5f61746164;
const W_SETS: u32 = 0x73746573;
const W_METADA: u64 = 0x61646174656d5f5f;
const W_TA: u32 = 0x5f5f6174;
const POW10 = memory.data<f64>([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61, 1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71, 1e72, 1e73, 1e74, 1e75, 1e76, 1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83, 1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91, 1e92, 1e93, 1e94, 1e95, 1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107, 1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119, 1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131, 1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143, 1e144, 1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179, 1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239, 1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249, 1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261, 1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274, 1e275, 1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287, 1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299, 1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308]);

let hdr: usize = 0; // header start
let end: usize = 0; // header end
let p: usize = 0; // cursor
let depth: i32 = 0;
let base: usize = 0; // arena start
let top: usize = 0; // arena end
let cap: usize = 0; // memory known to be addressable
let oom = false;
let reason: u32 = 0;
let errAt: usize = 0;
let tokAt: usize = 0;
let tokLen: usize = 0;
let field: u32 = 0;
let rec: usize = 0; // record being parsed, 0 when none
let count: u32 = 0;
let metaKind: u32 = 0;
let metaStart: usize = 0;
let metaEnd: usize = 0;
// the last string scanned: raw content [sA, sB), whether it holds escapes
let sA: usize = 0;
let sB: usize = 0;
let sEsc = false;
let num: u64 = 0;
let covered: u64 = 0; // where the next tensor must start
let blobAscii = true;
/** Marks a raw (not yet decoded) name offset whose key has escapes. */
const RAW_ESCAPED: u32 = 0x80000000;

function room(n: usize): bool {
  if (top + n + PAD <= cap) return true;
  if (!ensure(top + n + PAD)) { oom = true; return false; }
  cap = (memory.size() as usize) << 16;
  return true;
}

function fail(r: u32, at: usize): bool {
  if (reason == 0) { reason = r; errAt = at; }
  return false;
}
function failTok(r: u32, at: usize, len: usize): bool {
  if (reason == 0) { tokAt = at; tokLen = len; }
  return fail(r, at);
}
/** A character that does not belong: the end of the header, or a syntax error. */
@inline function unexpected(): bool { return fail(p >= end ? R_EOF : R_SYNTAX, p); }

@inline function ws(): void {
  let q = p;
  while (true) {
    const c = load<u8>(q);
    if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) q++;
    else break;
  }
  p = q;
}

// ------------------------------------------------------------------ UTF-8

/** The first byte that is not valid UTF-8 (Rust's valid_up_to), or e. */
function utf8Invalid(s: usize, e: usize): usize {
  while (s < e) {
    if (s + 16 <= e && i8x16.bitmask(v128.load(s)) == 0) { s += 16; continue; }
    const c = load<u8>(s) as u32;
    if (c < 0x80) { s++; continue; }
    let need: usize = 0;
    let lo: u32 = 0x80, hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0; // no overlong forms
      else if (c == 0xed) hi = 0x9f; // no encoded surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f; // nothing past U+10FFFF
    } else return s;
    if (s + need >= e) return s; // cut short by the end of the header
    const c1 = load<u8>(s + 1) as u32;
    if (c1 < lo || c1 > hi) return s;
    for (let k: usize = 2; k <= need; k++) {
      const ck = load<u8>(s + k) as u32;
      if (ck < 0x80 || ck > 0xbf) return s;
    }
    s += need + 1;
  }
  return e;
}

// ---------------------------------------------------------------- strings

@inline function hexDigit(c: u32): i32 {
  if (c - 0x30 < 10) return (c - 0x30) as i32;
  const l = c | 0x20;
  if (l - 0x61 < 6) return (l - 0x61 + 10) as i32;
  return -1;
}
/** The 4 hex digits at q as a number, -1 when one is not hex, -2 when the header ends first. */
function hex4(q: usize): i32 {
  let v: i32 = 0;
  for (let k: usize = 0; k < 4; k++) {
    if (q + k >= end) return -2;
    const d = hexDigit(load<u8>(q + k));
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/**
 * Scans the string whose opening quote is at p: on success p is past the
 * closing quote and [sA, sB) is the raw content. serde_json refuses raw control
 * characters, unknown escapes and unpaired surrogate escapes (\ud800 alone),
 * which JSON.parse would accept.
 */
function scanString(): bool {
  let q = p + 1;
  sA = q;
  sEsc = false;
  const quote = i8x16.splat(0x22), bslash = i8x16.splat(0x5c), space = i8x16.splat(0x20);
  while (true) {
    // The zero padding after the header stops this at the end at the latest.
    const v = v128.load(q);
    const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, bslash)), i8x16.lt_u(v, space)));
    if (m == 0) { q += 16; continue; }
    q += ctz(m) as usize;
    if (q >= end) return fail(R_EOF, end);
    const c = load<u8>(q);
    if (c == 0x22) { sB = q; p = q + 1; return true; }
    if (c != 0x5c) return fail(R_CONTROL, q);
    sEsc = true;
    if (q + 1 >= end) return fail(R_EOF, end);
    const e = load<u8>(q + 1);
    if (e == 0x22 || e == 0x5c || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) { q += 2; continue; }
    if (e != 0x75) return failTok(R_BAD_ESCAPE, q, 2);
    const u = hex4(q + 2);
    if (u < 0) return u == -2 ? fail(R_EOF, end) : failTok(R_BAD_ESCAPE, q, 6);
    if (u >= 0xdc00 && u <= 0xdfff) return failTok(R_SURROGATE, q, 6);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (q + 6 >= end) return fail(R_EOF, end);
      if (load<u8>(q + 6) != 0x5c || load<u8>(q + 7) != 0x75) return failTok(R_SURROGATE, q, 6);
      const u2 = hex4(q + 8);
      if (u2 < 0) return u2 == -2 ? fail(R_EOF, end) : failTok(R_BAD_ESCAPE, q + 6, 6);
      if (u2 < 0xdc00 || u2 > 0xdfff) return failTok(R_SURROGATE, q, 12);
      q += 12;
      continue;
    }
    q += 6;
  }
}

/** Decodes the escaped string [s, e) (already validated) to UTF-8 at dst; returns its length. */
function decodeTo(s: usize, e: usize, dst: usize): usize {
  let d = dst;
  while (s < e) {
    const c = load<u8>(s);
    if (c != 0x5c) { store<u8>(d++, c); s++; continue; }
    const x = load<u8>(s + 1);
    if (x != 0x75) {
      store<u8>(d++, x == 0x62 ? 8 : x == 0x66 ? 12 : x == 0x6e ? 10 : x == 0x72 ? 13 : x == 0x74 ? 9 : x);
      s += 2;
      continue;
    }
    let cp = hex4(s + 2) as u32;
    s += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + ((hex4(s + 2) as u32) - 0xdc00);
      s += 6;
    }
    if (cp < 0x80) store<u8>(d++, cp as u8);
    else if (cp < 0x800) {
      store<u8>(d++, (0xc0 | (cp >> 6)) as u8);
      store<u8>(d++, (0x80 | (cp & 0x3f)) as u8);
    } else if (cp < 0x10000) {
      store<u8>(d++, (0xe0 | (cp >> 12)) as u8);
      store<u8>(d++, (0x80 | ((cp >> 6) & 0x3f)) as u8);
      store<u8>(d++, (0x80 | (cp & 0x3f)) as u8);
    } else {
      store<u8>(d++, (0xf0 | (cp >> 18)) as u8);
      store<u8>(d++, (0x80 | ((cp >> 12) & 0x3f)) as u8);
      store<u8>(d++, (0x80 | ((cp >> 6) & 0x3f)) as u8);
      store<u8>(d++, (0x80 | (cp & 0x3f)) as u8);
    }
  }
  return d - dst;
}

/**
 * The decoded bytes of the last string: in place when it has no escapes, else
 * decoded into scratch above the arena top. Sets sA/sB to them; false on OOM.
 */
function decoded(): bool {
  if (!sEsc) return true;
  if (!room(sB - sA)) return false;
  const n = decodeTo(sA, sB, top);
  sA = top;
  sB = top + n;
  return true;
}

@inline function isMetadataKey(): bool {
  return sB - sA == 12 && load<u64>(sA) == W_METADA && load<u32>(sA + 8) == W_TA;
}

/** The first `n` (≤ 8) bytes at `p` as a little-endian u64 (the bytes after them are always readable). */
@inline function word(p: usize, n: usize): u64 {
  return n >= 8 ? load<u64>(p) : load<u64>(p) & ((1 << ((n as u64) << 3)) - 1);
}

/** The dtype code of the (decoded) string, or -1: its bytes as two words against each name's. */
function dtypeCode(): i32 {
  const n = sB - sA;
  if (n < 2 || n > 11) return -1;
  const lo = word(sA, n);
  const hi = n > 8 ? word(sA + 8, n - 8) : 0;
  for (let i = 0; i < DTYPE_COUNT; i++) {
    if (load<u64>(DTYPE_LO + ((i as usize) << 3)) == lo && load<u8>(DTYPE_LEN + i) as usize == n &&
      load<u64>(DTYPE_HI + ((i as usize) << 3)) == hi) return i;
  }
  return -1;
}

// ---------------------------------------------------------------- numbers

@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }

/**
 * A usize as serde reads it: digits only, no sign, fraction or exponent
 * (those make an i64 or f64, which usize refuses), at most u64::MAX.
 */
function parseUint(): bool {
  const at = p;
  let q = p;
  let c = load<u8>(q) as u32;
  if (!isDigit(c)) {
    if (c == 0x2d) { // serde parses -N, then refuses it as a usize
      q++;
      while (isDigit(load<u8>(q))) q++;
      return failTok(R_NOT_UINT, at, q - at);
    }
    return unexpected();
  }
  let v: u64 = (c - 0x30) as u64;
  q++;
  if (c == 0x30) {
    if (isDigit(load<u8>(q))) return fail(R_NUMBER, q);
  } else {
    while (true) {
      c = load<u8>(q);
      if (!isDigit(c)) break;
      const d = (c - 0x30) as u64;
      if (v > 1844674407370955161 || (v == 1844674407370955161 && d > 5)) {
        while (isDigit(load<u8>(q))) q++;
        return failTok(R_NOT_UINT, at, q - at); // beyond u64: serde makes it an f64
      }
      v = v * 10 + d;
      q++;
    }
  }
  c = load<u8>(q);
  if (c == 0x2e || c == 0x65 || c == 0x45) {
    q++;
    while (true) {
      c = load<u8>(q);
      if (isDigit(c) || c == 0x2b || c == 0x2d || c == 0x2e || c == 0x65 || c == 0x45) q++;
      else break;
    }
    return failTok(R_NOT_UINT, at, q - at);
  }
  num = v;
  p = q;
  return true;
}

// Any other number is skipped, but checked the way serde_json 1.0.87 parses it
// into an f64 (no float_roundtrip): a value that overflows to infinity is
// refused ("number out of range"), so `1e400` in an unknown field makes the
// whole header invalid, as it does for the reference.

function f64FromParts(sig: u64, exponent: i32): bool {
  let f = sig as f64;
  while (true) {
    const a = exponent == i32.MIN_VALUE ? 400 : (exponent < 0 ? -exponent : exponent);
    if (a <= 308) {
      if (exponent >= 0) {
        f *= load<f64>(POW10 + ((a as usize) << 3));
        if (!isFinite<f64>(f)) return fail(R_NUMBER_RANGE, p);
      }
      return true;
    }
    if (f == 0) return true;
    if (exponent >= 0) return fail(R_NUMBER_RANGE, p);
    f /= 1e308;
    exponent += 308;
  }
}

function skipExponent(sig: u64, starting: i32): bool {
  p++; // e or E
  let positive = true;
  let c = load<u8>(p) as u32;
  if (c == 0x2b) p++;
  else if (c == 0x2d) { positive = false; p++; }
  c = load<u8>(p);
  if (!isDigit(c)) return unexpected();
  p++;
  let exp: i32 = (c - 0x30) as i32;
  while (true) {
    c = load<u8>(p);
    if (!isDigit(c)) break;
    p++;
    const d = (c - 0x30) as i32;
    if (exp > 214748364 || (exp == 214748364 && d > 7)) {
      if (sig != 0 && positive) return fail(R_NUMBER_RANGE, p);
      while (isDigit(load<u8>(p))) p++;
      return true;
    }
    exp = exp * 10 + d;
  }
  let fin: i64 = positive ? (starting as i64) + (exp as i64) : (starting as i64) - (exp as i64);
  if (fin > i32.MAX_VALUE) fin = i32.MAX_VALUE;
  if (fin < i32.MIN_VALUE) fin = i32.MIN_VALUE;
  return f64FromParts(sig, fin as i32);
}

function skipDecimal(sig: u64, before: i32): bool {
  p++; // '.'
  let after: i32 = 0;
  while (true) {
    const c = load<u8>(p) as u32;
    if (!isDigit(c)) break;
    const d = (c - 0x30) as u64;
    if (sig > 1844674407370955161 || (sig == 1844674407370955161 && d > 5)) {
      while (isDigit(load<u8>(p))) p++; // digits past u64 precision are dropped
      const x = load<u8>(p);
      if (x == 0x65 || x == 0x45) return skipExponent(sig, before + after);
      return f64FromParts(sig, before + after);
    }
    sig = sig * 10 + d;
    after--;
    p++;
  }
  if (after == 0) return unexpected();
  const x = load<u8>(p);
  if (x == 0x65 || x == 0x45) return skipExponent(sig, before + after);
  return f64FromParts(sig, before + after);
}

function skipNumber(): bool {
  if (load<u8>(p) == 0x2d) p++;
  let c = load<u8>(p) as u32;
  if (!isDigit(c)) return unexpected();
  p++;
  let sig: u64 = (c - 0x30) as u64;
  let exponent: i32 = 0;
  if (c == 0x30) {
    if (isDigit(load<u8>(p))) return fail(R_NUMBER, p);
  } else {
    while (true) {
      c = load<u8>(p);
      if (!isDigit(c)) break;
      const d = (c - 0x30) as u64;
      if (exponent > 0 || sig > 1844674407370955161 || (sig == 1844674407370955161 && d > 5)) exponent++;
      else sig = sig * 10 + d;
      p++;
    }
  }
  c = load<u8>(p);
  if (c == 0x2e) return skipDecimal(sig, exponent);
  if (c == 0x65 || c == 0x45) return skipExponent(sig, exponent);
  if (exponent > 0) return f64FromParts(sig, exponent);
  return true;
}

// ----------------------------------------------------------------- values

function literal(a: u8, b: u8, c: u8, d: u8, n: usize): bool {
  // n is 4 (true, null) or 5 (false); the first letter was checked by the caller
  if (load<u8>(p + 1) != a || load<u8>(p + 2) != b || load<u8>(p + 3) != c || (n == 5 && load<u8>(p + 4) != d)) {
    return fail(p + n > end ? R_EOF : R_SYNTAX, p);
  }
  p += n;
  return true;
}

@inline function enter(): bool {
  if (++depth >= MAX_DEPTH) return fail(R_DEPTH, p);
  p++;
  ws();
  return true;
}

/** Any JSON value, checked as serde_json checks it (the reference buffers every unknown field). */
function skipValue(): bool {
  const c = load<u8>(p);
  if (c == 0x22) return scanString();
  if (c == 0x7b) {
    if (!enter()) return false;
    if (load<u8>(p) == 0x7d) { p++; depth--; return true; }
    while (true) {
      if (load<u8>(p) != 0x22) return unexpected();
      if (!scanString()) return false;
      ws();
      if (load<u8>(p) != 0x3a) return unexpected();
      p++;
      ws();
      if (!skipValue()) return false;
      ws();
      const d = load<u8>(p);
      if (d == 0x2c) { p++; ws(); continue; }
      if (d == 0x7d) { p++; depth--; return true; }
      return unexpected();
    }
  }
  if (c == 0x5b) {
    if (!enter()) return false;
    if (load<u8>(p) == 0x5d) { p++; depth--; return true; }
    while (true) {
      if (!skipValue()) return false;
      ws();
      const d = load<u8>(p);
      if (d == 0x2c) { p++; ws(); continue; }
      if (d == 0x5d) { p++; depth--; return true; }
      return unexpected();
    }
  }
  if (c == 0x2d || isDigit(c)) return skipNumber();
  if (c == 0x74) return literal(0x72, 0x75, 0x65, 0, 4);
  if (c == 0x66) return literal(0x61, 0x6c, 0x73, 0x65, 5);
  if (c == 0x6e) return literal(0x75, 0x6c, 0x6c, 0, 4);
  return unexpected();
}

/** A value of the wrong JSON type for its slot: skipped for its syntax, then refused with `r`. */
function wrongType(r: u32): bool {
  const at = p;
  if (!skipValue()) return false;
  return failTok(r, at, p - at);
}

// ---------------------------------------------------------- tensor entries

/** A dtype: "F32", or serde's enum-as-map form {"F32": null} / {"F32": {}}. */
function parseDtype(): bool {
  const c = load<u8>(p);
  if (c == 0x22) {
    if (!scanString()) return false;
    const raw = sB - sA;
    const rawAt = sA;
    if (!decoded()) return false;
    const code = dtypeCode();
    if (code < 0) return failTok(R_DTYPE_UNKNOWN, rawAt, raw);
    store<u32>(rec + REC_DTYPE, code as u32);
    return true;
  }
  if (c != 0x7b) return wrongType(R_DTYPE_TYPE);
  const at = p;
  if (!enter()) return false;
  if (load<u8>(p) != 0x22) {
    if (load<u8>(p) == 0x7d) { p = at; depth--; return wrongType(R_DTYPE_TYPE); }
    return unexpected();
  }
  if (!scanString()) return false;
  const rawAt = sA, raw = sB - sA;
  if (!decoded()) return false;
  const code = dtypeCode();
  ws();
  if (load<u8>(p) != 0x3a) return unexpected();
  p++;
  ws();
  // the variant's value must be unit: null, or an empty map
  const v = p;
  let unit = false;
  if (load<u8>(p) == 0x6e) unit = true;
  else if (load<u8>(p) == 0x7b) {
    let q = p + 1;
    while (load<u8>(q) == 0x20 || load<u8>(q) == 0x0a || load<u8>(q) == 0x0d || load<u8>(q) == 0x09) q++;
    unit = load<u8>(q) == 0x7d;
  }
  if (!skipValue()) return false;
  ws();
  if (load<u8>(p) == 0x2c) { // a second key: not an enum
    p = at;
    depth--;
    return wrongType(R_DTYPE_TYPE);
  }
  if (load<u8>(p) != 0x7d) return unexpected();
  p++;
  depth--;
  if (code < 0) return failTok(R_DTYPE_UNKNOWN, rawAt, raw);
  if (!unit) return failTok(R_DTYPE_TYPE, v, p - v);
  store<u32>(rec + REC_DTYPE, code as u32);
  return true;
}

function parseShape(): bool {
  if (load<u8>(p) != 0x5b) return wrongType(R_SHAPE_TYPE);
  if (!enter()) return false;
  const dims = top;
  let n: u32 = 0;
  if (load<u8>(p) == 0x5d) p++;
  else {
    while (true) {
      if (!parseUint()) return false;
      if (!room(8)) return false;
      store<u64>(top, num);
      top += 8;
      n++;
      ws();
      const d = load<u8>(p);
      p++;
      if (d == 0x2c) { ws(); continue; }
      if (d == 0x5d) break;
      p--;
      return unexpected();
    }
  }
  depth--;
  store<u32>(rec + REC_NDIM, n);
  store<u32>(rec + REC_DIMS, (dims - base) as u32);
  return true;
}

/** data_offsets: exactly two usizes (a Rust tuple). */
function parseOffsets(): bool {
  if (load<u8>(p) != 0x5b) return wrongType(R_OFFSETS_TYPE);
  const at = p;
  if (!enter()) return false;
  if (load<u8>(p) == 0x5d) { p = at; depth--; return wrongType(R_OFFSETS_TYPE); }
  if (!parseUint()) return false;
  store<u64>(rec + REC_BEGIN, num);
  ws();
  if (load<u8>(p) != 0x2c) {
    if (load<u8>(p) == 0x5d) { p = at; depth--; return wrongType(R_OFFSETS_TYPE); }
    return unexpected();
  }
  p++;
  ws();
  if (!parseUint()) return false;
  store<u64>(rec + REC_END, num);
  ws();
  if (load<u8>(p) != 0x5d) {
    if (load<u8>(p) == 0x2c) { p = at; depth--; return wrongType(R_OFFSETS_TYPE); }
    return unexpected();
  }
  p++;
  depth--;
  return true;
}

/** The field a (decoded) key names: 1 dtype, 2 shape, 3 data_offsets, 0 another. */
function fieldOf(): u32 {
  const n = sB - sA;
  if (n == 5) {
    const w = load<u32>(sA);
    if (load<u8>(sA + 4) != 0x65) return 0; // 'e'
    return w == W_DTYP ? 1 : w == W_SHAP ? 2 : 0;
  }
  if (n == 12 && load<u64>(sA) == W_DATA_OFF && load<u32>(sA + 8) == W_SETS) return 3;
  return 0;
}

function parseField(f: u32): bool {
  if (f == 1) return parseDtype();
  if (f == 2) return parseShape();
  return parseOffsets();
}

/** A tensor entry, as a map {dtype, shape, data_offsets, …} or serde's struct-as-sequence [dtype, shape, data_offsets]. */
function parseTensor(keyAt: usize): bool {
  const c = load<u8>(p);
  if (c == 0x7b) {
    if (!enter()) return false;
    let seen: u32 = 0;
    if (load<u8>(p) == 0x7d) p++;
    else {
      while (true) {
        if (load<u8>(p) != 0x22) return unexpected();
        const at = p;
        if (!scanString()) return false;
        if (!decoded()) return false;
        const f = fieldOf();
        ws();
        if (load<u8>(p) != 0x3a) return unexpected();
        p++;
        ws();
        if (f == 0) {
          if (!skipValue()) return false;
        } else {
          if (seen & (1 << f)) { field = f; return failTok(R_DUP_FIELD, at, 0); }
          seen |= 1 << f;
          if (!parseField(f)) return false;
        }
        ws();
        const d = load<u8>(p);
        p++;
        if (d == 0x2c) { ws(); continue; }
        if (d == 0x7d) break;
        p--;
        return unexpected();
      }
    }
    depth--;
    for (let f: u32 = 1; f <= 3; f++) {
      if ((seen & (1 << f)) == 0) { field = f; return fail(R_MISSING_FIELD, keyAt); }
    }
    return true;
  }
  if (c == 0x5b) {
    const at = p;
    if (!enter()) return false;
    for (let f: u32 = 1; f <= 3; f++) {
      if (load<u8>(p) == 0x5d) { p = at; depth--; return wrongType(R_TENSOR_TYPE); }
      if (!parseField(f)) return false;
      ws();
      const d = load<u8>(p);
      if (f < 3) {
        if (d != 0x2c) { if (d == 0x5d) { p = at; depth--; return wrongType(R_TENSOR_TYPE); } return unexpected(); }
        p++;
        ws();
      } else if (d != 0x5d) {
        if (d == 0x2c) { p = at; depth--; return wrongType(R_TENSOR_TYPE); }
        return unexpected();
      }
    }
    p++;
    depth--;
    return true;
  }
  return wrongType(R_TENSOR_TYPE);
}

/**
 * Starts a record for the key just scanned. Until the header is valid the
 * record holds the raw key (header-relative offset, top bit set when it has
 * escapes); packNames() then gathers the decoded names in one blob.
 */
function newRecord(keyAt: usize): bool {
  if (!room(REC_BYTES)) return false;
  rec = top;
  store<u32>(rec + REC_NAME, ((sA - hdr) as u32) | (sEsc ? RAW_ESCAPED : 0));
  store<u32>(rec + REC_NAME_LEN, (sB - sA) as u32);
  store<u32>(rec + REC_DTYPE, 0);
  store<u32>(rec + REC_NDIM, 0);
  store<u32>(rec + REC_DIMS, 0);
  store<u32>(rec + REC_POS, (keyAt - hdr) as u32);
  store<u64>(rec + REC_BEGIN, 0);
  store<u64>(rec + REC_END, 0);
  store<u32>(rec + REC_NEXT, 0);
  store<u32>(rec + REC_NEXT + 4, 0);
  top += REC_BYTES;
  return true;
}

/**
 * Copies every name, decoded, into one blob after the records (file order) and
 * points the records at it: the host decodes the blob once and slices it.
 * Returns false on OOM; sets blobAscii.
 */
function packNames(idx: usize): bool {
  let bits: u64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const r = base + load<u32>(idx + ((i as usize) << 2));
    const raw = load<u32>(r + REC_NAME);
    const len = load<u32>(r + REC_NAME_LEN) as usize;
    if (!room(len)) return false;
    const src = hdr + ((raw & ~RAW_ESCAPED) as usize);
    let n = len;
    if (raw & RAW_ESCAPED) n = decodeTo(src, src + len, top);
    else memory.copy(top, src, len);
    let k: usize = 0;
    for (; k + 8 <= n; k += 8) bits |= load<u64>(top + k);
    if (k < n) bits |= word(top + k, n - k);
    store<u32>(r + REC_NAME, (top - base) as u32);
    store<u32>(r + REC_NAME_LEN, n as u32);
    top += n;
  }
  blobAscii = (bits & 0x8080808080808080) == 0;
  return true;
}

function parseMetadata(): bool {
  metaStart = p;
  const c = load<u8>(p);
  if (c == 0x6e) {
    if (!literal(0x75, 0x6c, 0x6c, 0, 4)) return false;
    metaKind = 1;
    metaEnd = p;
    return true;
  }
  if (c != 0x7b) return wrongType(R_META_TYPE);
  if (!enter()) return false;
  if (load<u8>(p) == 0x7d) p++;
  else {
    while (true) {
      if (load<u8>(p) != 0x22) return unexpected();
      if (!scanString()) return false;
      ws();
      if (load<u8>(p) != 0x3a) return unexpected();
      p++;
      ws();
      if (load<u8>(p) != 0x22) return wrongType(R_META_TYPE);
      if (!scanString()) return false;
      ws();
      const d = load<u8>(p);
      p++;
      if (d == 0x2c) { ws(); continue; }
      if (d == 0x7d) break;
      p--;
      return unexpected();
    }
  }
  depth--;
  metaKind = 2;
  metaEnd = p;
  return true;
}

/** The whole JSON document: one object, whitespace around it, nothing else. */
function parseDocument(): bool {
  p = hdr;
  ws();
  if (load<u8>(p) != 0x7b) {
    if (p >= end) return fail(R_EOF, p);
    return wrongType(R_NOT_OBJECT);
  }
  if (!enter()) return false;
  let seenMeta = false;
  if (load<u8>(p) == 0x7d) p++;
  else {
    while (true) {
      if (load<u8>(p) != 0x22) return unexpected();
      const keyAt = p;
      if (!scanString()) return false;
      const rawA = sA, rawB = sB, esc = sEsc;
      if (!decoded()) return false;
      const isMeta = isMetadataKey();
      ws();
      if (load<u8>(p) != 0x3a) return unexpected();
      p++;
      ws();
      if (isMeta) {
        if (seenMeta) return failTok(R_META_DUP, keyAt, rawB - rawA + 2);
        seenMeta = true;
        if (!parseMetadata()) return false;
      } else {
        sA = rawA; sB = rawB; sEsc = esc;
        if (!newRecord(keyAt)) return false;
        if (!parseTensor(keyAt)) return false;
        store<u32>(rec + REC_NEXT, (top - base) as u32);
        count++;
        rec = 0;
      }
      ws();
      const d = load<u8>(p);
      p++;
      if (d == 0x2c) { ws(); continue; }
      if (d == 0x7d) break;
      p--;
      return unexpected();
    }
  }
  depth--;
  ws();
  if (p < end) return failTok(R_TRAILING, p, end - p);
  return true;
}

// ------------------------------------------------------------- validation

@inline function recAt(idx: usize, i: u32): usize { return base + load<u32>(idx + ((i as usize) << 2)); }

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
  store<u32>(RESULT, status, 0);
  store<u32>(RESULT, reason, 4);
  store<u32>(RESULT, (errAt - hdr) as u32, 8);
  store<u32>(RESULT, r == 0 ? 0xffffffff : (r - base) as u32, 12);
  store<u32>(RESULT, count, 16);
  store<u32>(RESULT, base as u32, 20);
  store<u32>(RESULT, metaKind, 32);
  store<u32>(RESULT, (metaStart - hdr) as u32, 36);
  store<u32>(RESULT, (metaEnd - hdr) as u32, 40);
  store<u32>(RESULT, field, 44);
  store<u32>(RESULT, (tokAt - hdr) as u32, 48);
  store<u32>(RESULT, tokLen as u32, 52);
  store<f64>(RESULT, covered as f64, 64);
  return status;
}

function failRec(status: u32, r: usize): u32 {
  errAt = hdr + load<u32>(r + REC_POS);
  return finish(status, r);
}

/**
 * Validates the header of `n` bytes at `ptr` (the host copied it there, with
 * room for 16 more bytes) for a data region of `dataLength` bytes. Returns the
 * status; RESULT (headerResult()) says where and, on success, where the table is.
 */
export function headerParse(ptr: usize, n: usize, dataLength: f64, seed: u32): u32 {
  hdr = ptr; end = ptr + n; oom = false; reason = 0; errAt = ptr; tokAt = ptr; tokLen = 0; field = 0;
  rec = 0; count = 0; covered = 0; blobAscii = true; metaKind = 0; metaStart = ptr; metaEnd = ptr; depth = 0;
  base = (end + PAD + 7) & ~(7 as usize);
  top = base;
  cap = 0;
  if (!room(0)) return finish(E_NOMEM, 0);
  memory.fill(end, 0, PAD);

  const bad = utf8Invalid(ptr, end);
  if (bad < end) { errAt = bad; return finish(E_UTF8, 0); }

  if (!parseDocument()) return finish(oom ? E_NOMEM : E_JSON, rec);
  rec = 0;

  // the index of records in file order, the names blob, then scratch for sorting and hashing
  if (!room((count as usize) << 2)) return finish(E_NOMEM, 0);
  const idx = top;
  let r = base;
  for (let i: u32 = 0; i < count; i++) {
    store<u32>(idx + ((i as usize) << 2), (r - base) as u32);
    r = base + load<u32>(r + REC_NEXT);
  }
  top += (count as usize) << 2;
  const blob = top;
  if (!packNames(idx)) return finish(E_NOMEM, 0);
  const arenaEnd = top;
  top = (top + 7) & ~(7 as usize);
  const slots = tableSlots(count);
  if (!room(((count as usize) << 3) + ((slots as usize) << 3) + 8)) return finish(E_NOMEM, 0);
  const tmp = top, table = (tmp + ((count as usize) << 3) + 7) & ~(7 as usize);
  store<u32>(RESULT, arenaEnd as u32, 24);
  store<u32>(RESULT, idx as u32, 28);
  store<u32>(RESULT, (blob - base) as u32, 56);
  store<u32>(RESULT, blobAscii ? 1 : 0, 60);

  const dup = buildNameTable(table, slots, base, idx, count, ((seed as u64) << 32) | (seed as u64) ^ 0x5bd1e995);
  if (dup >= 0) return failRec(E_DUPLICATE, recAt(idx, dup as u32));

  const order = sortByOffsets(idx, tmp, count);
  for (let i: u32 = 0; i < count; i++) {
    const t = base + load<u32>(order + ((i as usize) << 2));
    const b = load<u64>(t + REC_BEGIN), e = load<u64>(t + REC_END);
    if (b != covered || e < b) return failRec(E_OFFSET, t);
    covered = e;
    let elements: u64 = 1;
    const dims = base + load<u32>(t + REC_DIMS);
    const nd = load<u32>(t + REC_NDIM);
    for (let k: u32 = 0; k < nd; k++) {
      const d = load<u64>(dims + ((k as usize) << 3));
      if (d != 0 && elements > u64.MAX_VALUE / d) return failRec(E_OVERFLOW, t);
      elements *= d;
    }
    const bits = load<u8>(DTYPE_BITS + load<u32>(t + REC_DTYPE)) as u64;
    if (elements > u64.MAX_VALUE / bits) return failRec(E_OVERFLOW, t);
    const nbits = elements * bits;
    if (nbits & 7) return failRec(E_MISALIGNED, t);
    if (e - b != nbits >> 3) return failRec(E_INFO, t);
  }
  // The reference adds 8 + n to this in usize and compares with the file size;
  // in a release build that sum can wrap around. We compare without wrapping.
  if (covered != (dataLength as u64)) {
    errAt = end;
    return finish(E_INCOMPLETE, 0);
  }
  // Every offset now lies within the data region, whose size the host holds as
  // a number: hand them over as f64, exact.
  for (let i: u32 = 0; i < count; i++) {
    const t = recAt(idx, i);
    store<f64>(t + REC_BEGIN, load<u64>(t + REC_BEGIN) as f64);
    store<f64>(t + REC_END, load<u64>(t + REC_END) as f64);
  }
  errAt = hdr;
  return finish(OK, 0);
}
