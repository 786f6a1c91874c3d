// A JSON lexer with serde_json 1.0.87's rules (what the safetensors reference
// parses its header with): UTF-8 validation, strings (escapes, surrogates, no
// raw control characters), numbers (u64 exactly, the rest checked as serde
// reads them into an f64), literals, and skipping any value with serde's
// recursion limit. It knows nothing of safetensors: header.ts holds those rules.
//
// The cursor `p` walks the header [hdr, end); the 16 zero bytes the caller
// puts after `end` (arena.PAD) let every 8- and 16-byte load from inside the
// header run without bounds checks, and a 0 byte stops every scan.
// The first failure wins: `reason`, `errAt` and the token [tokAt, tokAt+tokLen)
// say what and where; later failures (unwinding) do not overwrite them.
import { room, top } from './arena';
import { POW10 } from './tables';

export let hdr: usize = 0; // header start
export let end: usize = 0; // header end
export let p: usize = 0; // cursor
export let depth: i32 = 0;
export let reason: u32 = 0;
export let errAt: usize = 0;
export let tokAt: usize = 0;
export let tokLen: usize = 0;
/** The last string scanned: raw content [sA, sB), and whether it holds escapes. */
export let sA: usize = 0;
export let sB: usize = 0;
export let sEsc = false;
/** The last unsigned integer parsed. */
export let num: u64 = 0;
/** No byte of the header is ≥ 0x80 (set by utf8Invalid). */
export let allAscii = true;

// Reasons (one number space with header.ts's; the host's REASONS names them).
export const R_EOF: u32 = 1;
export const R_SYNTAX: u32 = 2;
export const R_DEPTH: u32 = 4;
export const R_BAD_ESCAPE: u32 = 6;
export const R_SURROGATE: u32 = 7;
export const R_CONTROL: u32 = 8;
export const R_NUMBER: u32 = 9;
export const R_NUMBER_RANGE: u32 = 10;
export const R_NOT_UINT: u32 = 16;

/** serde_json's recursion limit: the 128th nested container is refused. */
const MAX_DEPTH: i32 = 128;

/** Points the lexer at the header [start, start + n). */
export function startLexer(start: usize, n: usize): void {
  hdr = start; end = start + n; p = start; depth = 0;
  reason = 0; errAt = start; tokAt = start; tokLen = 0;
  sA = start; sB = start; sEsc = false; num = 0; allAscii = true;
}

/** Moves the cursor (a caller backing up to re-read a value). */
@inline export function seek(at: usize): void { p = at; }
/** Leaves a container entered with enter(). */
@inline export function leave(): void { depth--; }

export function fail(r: u32, at: usize): bool {
  if (reason == 0) { reason = r; errAt = at; }
  return false;
}
export function failTok(r: u32, at: usize, len: usize): bool {
  if (reason == 0) { tokAt = at; tokLen = len; }
  return fail(r, at);
}
/** A character that does not belong: the end of the header, or a syntax error. */
@inline export function unexpected(): bool { return fail(p >= end ? R_EOF : R_SYNTAX, p); }

@inline export function ws(): void {
  let q = p;
  while (true) {
    const c = load<u8>(q);
    if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) q++;
    else break;
  }
  p = q;
}

/** The first `n` (≤ 8) bytes at `at` as a little-endian u64 (the bytes after them are always readable). */
@inline export function word(at: usize, n: usize): u64 {
  return n >= 8 ? load<u64>(at) : load<u64>(at) & ((1 << ((n as u64) << 3)) - 1);
}

// ------------------------------------------------------------------ UTF-8

/** The first byte that is not valid UTF-8 (Rust's valid_up_to), or e. Clears allAscii on any byte ≥ 0x80. */
export function utf8Invalid(s: usize, e: usize): usize {
  while (s < e) {
    if (s + 16 <= e && i8x16.bitmask(v128.load(s)) == 0) { s += 16; continue; }
    const c = load<u8>(s) as u32;
    if (c < 0x80) { s++; continue; }
    allAscii = false;
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
export function scanString(): bool {
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
export function decodeTo(s: usize, e: usize, dst: usize): usize {
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
 * decoded into scratch above the arena top (not kept). Sets sA/sB to them; false on OOM.
 */
export function decoded(): bool {
  if (!sEsc) return true;
  if (!room(sB - sA)) return false;
  const n = decodeTo(sA, sB, top);
  sA = top;
  sB = top + n;
  return true;
}

// ---------------------------------------------------------------- numbers

@inline export function isDigit(c: u32): bool { return c - 0x30 < 10; }

/** 0x80 in each byte of `w` that is an ASCII digit (no carries cross bytes: the high bits are masked first). */
@inline function digitBytes(w: u64): u64 {
  const x = w & 0x7f7f7f7f7f7f7f7f;
  const atLeast0 = x + 0x5050505050505050; // high bit set where byte ≥ 0x30
  const above9 = x + 0x4646464646464646; // high bit set where byte ≥ 0x3a
  return atLeast0 & ~above9 & ~w & 0x8080808080808080;
}
/** How many of w's bytes, from the first, are digits (0–8). */
@inline function leadingDigits(w: u64): usize {
  return (ctz(~digitBytes(w) & 0x8080808080808080) >> 3) as usize;
}
/** The value of the first k (1–8) digits of w: they are shifted to the top, then combined pairwise (SWAR). */
@inline function digitsValue(w: u64, k: usize): u64 {
  let v = w << (((8 - k) as u64) << 3);
  v = ((v & 0x0f0f0f0f0f0f0f0f) * 2561) >> 8;
  v = ((v & 0x00ff00ff00ff00ff) * 6553601) >> 16;
  return ((v & 0x0000ffff0000ffff) * 42949672960001) >> 32;
}
const POW10_U64 = memory.data<u64>([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000]);

/**
 * A usize as serde reads it: digits only, no sign, fraction or exponent
 * (those make an i64 or f64, which usize refuses), at most u64::MAX.
 * Up to 15 digits are read 8 at a time; anything else takes the byte loop.
 */
export function parseUint(): bool {
  const w = load<u64>(p);
  const k = leadingDigits(w);
  if (k != 0 && (k == 1 || (w & 0xff) != 0x30)) {
    let v: u64, q: usize;
    if (k < 8) { v = digitsValue(w, k); q = p + k; }
    else {
      const w2 = load<u64>(p + 8);
      const k2 = leadingDigits(w2);
      if (k2 == 8) return parseUintSlow();
      v = digitsValue(w, 8);
      if (k2 != 0) v = v * load<u64>(POW10_U64 + (k2 << 3)) + digitsValue(w2, k2);
      q = p + 8 + k2;
    }
    const c = load<u8>(q);
    if (c != 0x2e && c != 0x65 && c != 0x45) { num = v; p = q; return true; }
  }
  return parseUintSlow();
}

function parseUintSlow(): bool {
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

/** `null`, `true` or `false` at p (the caller checked the first letter; n is 4 or 5). */
export function literal(a: u8, b: u8, c: u8, d: u8, n: usize): bool {
  if (load<u8>(p + 1) != a || load<u8>(p + 2) != b || load<u8>(p + 3) != c || (n == 5 && load<u8>(p + 4) != d)) {
    return fail(p + n > end ? R_EOF : R_SYNTAX, p);
  }
  p += n;
  return true;
}
@inline export function literalNull(): bool { return literal(0x75, 0x6c, 0x6c, 0, 4); }

/** Steps into the container whose bracket is at p (and past whitespace), counting the depth. */
@inline export function enter(): bool {
  if (++depth >= MAX_DEPTH) return fail(R_DEPTH, p);
  p++;
  ws();
  return true;
}

/** Any JSON value, checked as serde_json checks it (the reference buffers every unknown field). */
export function skipValue(): bool {
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
  if (c == 0x6e) return literalNull();
  return unexpected();
}

/** A value of the wrong JSON type for its slot: skipped for its syntax, then refused with `r`. */
export function wrongType(r: u32): bool {
  const at = p;
  if (!skipValue()) return false;
  return failTok(r, at, p - at);
}

/**
 * Expects the punctuation `sep` (`,`) or `close` after a list or map item
 * (whitespace first): 1 for sep (and past the whitespace after it), 0 for close,
 * -1 (after unexpected()) for anything else.
 */
@inline export function nextItem(close: u8): i32 {
  ws();
  const d = load<u8>(p);
  if (d == 0x2c) { p++; ws(); return 1; }
  if (d == close) { p++; return 0; }
  unexpected();
  return -1;
}
