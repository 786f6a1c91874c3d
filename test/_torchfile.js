// Builds PyTorch files byte by byte, the way torch.save lays them out, so tests
// and benchmarks can make the files real PyTorch would make (and the malformed
// ones it would not) without Python. Layout, as the fixtures show:
// zip entries PREFIX/data.pkl, PREFIX/data/<key>, PREFIX/version (and in torch
// 2.x PREFIX/byteorder, PREFIX/.data/version, PREFIX/.data/serialization_id),
// stored, data 64-byte aligned through a padding extra field ('FB'), local
// headers with zero sizes plus data descriptors, and Zip64 end records.
import { deflateSync } from 'fflate';
import { crc32 } from '../dist/index.js';

const enc = new TextEncoder();

// ------------------------------------------------------------------ pickles

/** A pickle assembler: each method appends one opcode. */
export class Pickle {
  constructor() { this.parts = []; this.memo = 0; }
  raw(...bytes) { this.parts.push(Uint8Array.from(bytes.flat())); return this; }
  u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return [...b]; }
  proto(n = 2) { return this.raw(0x80, n); }
  stop() { return this.raw(0x2e); }
  mark() { return this.raw(0x28); }
  none() { return this.raw(0x4e); }
  bool(v) { return this.raw(v ? 0x88 : 0x89); }
  int(n) {
    if (typeof n === 'bigint' || n > 0x7fffffff || n < -0x80000000) return this.long(BigInt(n));
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, n, true);
    return this.raw(0x4a, ...b);
  }
  long(v) {
    const out = [];
    let x = v;
    while (true) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
      if ((x === 0n && !(out[out.length - 1] & 0x80)) || (x === -1n && out[out.length - 1] & 0x80)) break;
    }
    return this.raw(0x8a, out.length, ...out);
  }
  float(v) { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v, false); return this.raw(0x47, ...b); }
  str(s) { const b = enc.encode(s); return this.raw(0x58, ...this.u32(b.length), ...b); }
  bytes(b) { return this.raw(0x42, ...this.u32(b.length), ...b); }
  global(module, name) { return this.raw(0x63, ...enc.encode(`${module}\n${name}\n`)); }
  stackGlobal(module, name) { return this.str(module).str(name).raw(0x93); }
  put() { const i = this.memo++; return i < 256 ? this.raw(0x71, i) : this.raw(0x72, ...this.u32(i)); }
  get(i) { return i < 256 ? this.raw(0x68, i) : this.raw(0x6a, ...this.u32(i)); }
  emptyDict() { return this.raw(0x7d); }
  emptyList() { return this.raw(0x5d); }
  emptyTuple() { return this.raw(0x29); }
  tuple() { return this.raw(0x74); }
  tuple1() { return this.raw(0x85); }
  tuple2() { return this.raw(0x86); }
  list() { return this.raw(0x6c); }
  reduce() { return this.raw(0x52); }
  build() { return this.raw(0x62); }
  binpersid() { return this.raw(0x51); }
  setitem() { return this.raw(0x73); }
  setitems() { return this.raw(0x75); }
  append() { return this.raw(0x61); }
  appends() { return this.raw(0x65); }
  /** Python ints, floats, strings, null, booleans, arrays (→ lists), {__tuple__: []}, plain objects (→ dicts). */
  value(v) {
    if (v === null) return this.none();
    if (typeof v === 'boolean') return this.bool(v);
    if (typeof v === 'bigint') return this.long(v);
    if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.str(v);
    if (v instanceof Uint8Array) return this.bytes(v);
    if (typeof v === 'function') { v(this); return this; }
    if (Array.isArray(v)) { this.emptyList(); if (v.length) { this.mark(); v.forEach((x) => this.value(x)); this.appends(); } return this; }
    if (v.__tuple__) { this.mark(); v.__tuple__.forEach((x) => this.value(x)); return this.tuple(); }
    this.emptyDict();
    const keys = Object.keys(v);
    if (keys.length) { this.mark(); for (const k of keys) { this.value(/^\d+$/.test(k) && v.__intKeys__ !== false ? Number(k) : k); this.value(v[k]); } this.setitems(); }
    return this;
  }
  toBytes() {
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/**
 * A tensor as torch.save pickles it: _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()).
 * `v3Dtype` pickles it as torch 2.x does for dtypes without a storage class (UntypedStorage + dtype).
 */
export function tensorOp({ storageType = 'FloatStorage', key, numel, offset = 0, shape, stride, v3Dtype = null, parameter = false, requiresGrad = false }) {
  stride ??= contiguousStrides(shape);
  return (p) => {
    if (parameter) p.global('torch._utils', '_rebuild_parameter').mark();
    p.global('torch._utils', v3Dtype ? '_rebuild_tensor_v3' : '_rebuild_tensor_v2');
    p.mark();
    p.mark().str('storage').global('torch', v3Dtype ? 'UntypedStorage' : storageType).str(String(key)).str('cpu').int(numel).tuple().binpersid();
    p.int(offset);
    p.mark(); shape.forEach((d) => p.int(d)); p.tuple();
    p.mark(); stride.forEach((d) => p.int(d)); p.tuple();
    p.bool(requiresGrad);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    if (v3Dtype) p.global('torch', v3Dtype);
    p.tuple().reduce();
    if (parameter) p.bool(requiresGrad).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  };
}

export function contiguousStrides(shape) {
  const s = new Array(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
  return s;
}

/** A pickle of `value` (see Pickle.value), framed as torch does: PROTO 2 … STOP. */
export function pickleOf(value) {
  return new Pickle().proto(2).value(value).stop().toBytes();
}

// ------------------------------------------------------------------ zips

function le(n, bytes) {
  const b = new Uint8Array(bytes);
  let x = BigInt(n);
  for (let i = 0; i < bytes; i++) { b[i] = Number(x & 0xffn); x >>= 8n; }
  return b;
}
const cat = (...parts) => { const n = parts.reduce((a, p) => a + p.length, 0); const o = new Uint8Array(n); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; };

/**
 * The parts of a zip laid out like torch's (no copies of the entry data), as
 * an array of Uint8Array to write or concatenate. `entries`: [name, bytes, {deflate}?][].
 */
export function zipParts(entries, { align = 64 } = {}) {
  const parts = [];
  const central = [];
  let off = 0;
  for (const [name, data, o = {}] of entries) {
    const nameB = enc.encode(name);
    const crc = crc32(data);
    const body = o.deflate ? deflateSync(data) : data;
    const method = o.deflate ? 8 : 0;
    const headerLen = 30 + nameB.length + 4;
    const pad = (align - ((off + headerLen) % align)) % align;
    const extra = cat(le(0x4246, 2), le(pad, 2), new Uint8Array(pad)); // 'FB' padding, as torch writes
    const local = cat(le(0x04034b50, 4), le(20, 2), le(8, 2), le(method, 2), le(0, 4), le(0, 4), le(0, 4), le(0, 4),
      le(nameB.length, 2), le(extra.length, 2), nameB, extra);
    const desc = cat(le(0x08074b50, 4), le(crc, 4), le(body.length, 4), le(data.length, 4));
    central.push({ nameB, crc, csize: body.length, usize: data.length, method, off });
    parts.push(local, body, desc);
    off += local.length + body.length + desc.length;
  }
  const cdStart = off;
  for (const c of central) {
    const big = c.off >= 0xffffffff || c.usize >= 0xffffffff;
    const x = big ? cat(le(1, 2), le(24, 2), le(c.usize, 8), le(c.csize, 8), le(c.off, 8)) : new Uint8Array(0);
    const rec = cat(le(0x02014b50, 4), le(45, 2), le(45, 2), le(8, 2), le(c.method, 2), le(0, 4), le(c.crc, 4),
      le(big ? 0xffffffff : c.csize, 4), le(big ? 0xffffffff : c.usize, 4), le(c.nameB.length, 2), le(x.length, 2), le(0, 2),
      le(0, 2), le(0, 2), le(0, 4), le(big ? 0xffffffff : c.off, 4), c.nameB, x);
    parts.push(rec);
    off += rec.length;
  }
  const cdSize = off - cdStart;
  const eocd64At = off;
  parts.push(cat(le(0x06064b50, 4), le(44, 8), le(45, 2), le(45, 2), le(0, 4), le(0, 4), le(central.length, 8), le(central.length, 8), le(cdSize, 8), le(cdStart, 8)));
  parts.push(cat(le(0x07064b50, 4), le(0, 4), le(eocd64At, 8), le(1, 4)));
  parts.push(cat(le(0x06054b50, 4), le(0, 2), le(0, 2), le(0xffff, 2), le(0xffff, 2), le(0xffffffff, 4), le(0xffffffff, 4), le(0, 2)));
  return parts;
}

export const concat = (parts) => cat(...parts);

/**
 * A torch.save zip. `storages`: { key: Uint8Array }. torch2 adds the 2.x records
 * (byteorder, .data/version, .data/serialization_id); `byteorder` overrides.
 */
export function torchZipParts({ prefix = 'archive', pickle, storages = {}, torch2 = false, byteorder, version = '3', extra = [], deflate = false }) {
  const entries = [[`${prefix}/data.pkl`, pickle, { deflate }]];
  if (torch2 || byteorder) entries.push([`${prefix}/byteorder`, enc.encode(byteorder ?? 'little')]);
  for (const k of Object.keys(storages)) entries.push([`${prefix}/data/${k}`, storages[k]]);
  if (torch2) {
    entries.push([`${prefix}/.data/version`, enc.encode(version + '\n')]);
    entries.push([`${prefix}/.data/serialization_id`, enc.encode('1234567890123456789012345678901234567890')]);
  } else {
    entries.push([`${prefix}/version`, enc.encode(version + '\n')]);
  }
  entries.push(...extra);
  return zipParts(entries);
}

export const torchZip = (opts) => concat(torchZipParts(opts));

/** Little-endian bytes of a typed array. */
export const bytesOf = (ta) => new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength).slice();
