// A small zip reader for PyTorch archives. It reads the central directory only
// (Zip64 aware: torch ends even tiny files with Zip64 records), takes sizes from
// there (torch's local headers carry zeros, the real sizes follow the data in
// descriptors), and hands out stored entries as zero-copy views of the source.
// DEFLATE entries, which torch never writes but other zip tools might, go
// through the core's inflater (core/inflate.ts), bounded by the declared size.
import { inflateRaw } from '../../core/inflate.js';
import { CorruptError, UnsupportedError } from '../../errors.js';
import { crc32Async } from '../../core/crc32.js';
import type { ByteSource } from '../source.js';

/** An EOCD comment is at most 65,535 bytes: the record lies in the last 22 + 65,535 bytes. */
const MAX_EOCD_SEARCH = 22 + 0xffff;
/** A central directory of 1M entries is ~100 MB; torch writes one entry per storage plus three records. */
export const MAX_ZIP_ENTRIES = 1_000_000;
/** DEFLATE cannot expand more than ~1032:1, so a larger declared ratio is a lie (a zip bomb). */
const MAX_DEFLATE_RATIO = 1032;
/** Bytes of local extra field read along with a header: torch pads entries to 64 bytes with an extra field. */
const LOCAL_EXTRA_GUESS = 128;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** Entry names in central-directory order. */
  readonly names: readonly string[];
  /** The uncompressed bytes of an entry (a view of the source for stored entries in memory). */
  read(name: string, opts?: { verifyCrc?: boolean }): Promise<Uint8Array>;
}

export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** A u64 field as a number; past 2^53 it cannot be an offset in any file we can read. */
function u64(v: DataView, at: number, what: string, name: string): number {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  if (hi > 0x1fffff) throw new CorruptError(`${name}: zip ${what} ${hi}·2^32+${lo} is beyond any readable file`, { path: name, detail: 'ZIP_FIELD' });
  return hi * 0x100000000 + lo;
}

export async function openZip(source: ByteSource): Promise<ZipArchive> {
  const name = source.name;
  const corrupt = (msg: string, detail = 'ZIP_STRUCTURE', position?: number) =>
    new CorruptError(`${name}: ${msg}`, { path: name, detail, position });
  const size = source.size;
  if (size < 22) throw corrupt(`${size} bytes is too short for a zip file (the end record alone is 22 bytes); the file is truncated`, 'TRUNCATED');

  const tailStart = Math.max(0, size - MAX_EOCD_SEARCH);
  const tail = await source.read(tailStart, size);
  const tv = dv(tail);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + 22 + tv.getUint16(i + 20, true) === tail.length) { eocd = i; break; }
  }
  if (eocd < 0) throw corrupt('no zip end-of-central-directory record; the file is truncated or not a zip', 'TRUNCATED');

  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const disk = tv.getUint16(eocd + 4, true);
  const cdDisk = tv.getUint16(eocd + 6, true);
  // Zip64: the locator sits right before the EOCD and points at the Zip64 end record.
  const locAt = eocd - 20;
  if (locAt >= 0 && tv.getUint32(locAt, true) === SIG_EOCD64_LOCATOR) {
    const e64 = u64(tv, locAt + 8, 'Zip64 end-record offset', name);
    if (e64 + 56 > tailStart + locAt) throw corrupt(`Zip64 end record at ${e64} overlaps its locator`, 'ZIP_STRUCTURE', tailStart + locAt);
    const rec = e64 >= tailStart ? tail.subarray(e64 - tailStart, e64 - tailStart + 56) : await source.read(e64, e64 + 56);
    const rv = dv(rec);
    if (rv.getUint32(0, true) !== SIG_EOCD64) throw corrupt(`no Zip64 end record at byte ${e64}`, 'ZIP_STRUCTURE', e64);
    if (rv.getUint32(16, true) !== 0 || rv.getUint32(20, true) !== 0) throw new UnsupportedError(`${name}: multi-disk zip archives are not supported`, { path: name });
    count = u64(rv, 32, 'entry count', name);
    cdSize = u64(rv, 40, 'central directory size', name);
    cdOffset = u64(rv, 48, 'central directory offset', name);
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new UnsupportedError(`${name}: multi-disk zip archives are not supported`, { path: name });
  }
  if (count > MAX_ZIP_ENTRIES) throw corrupt(`${count} zip entries (limit ${MAX_ZIP_ENTRIES})`, 'ZIP_LIMIT');
  const cdEnd = cdOffset + cdSize;
  if (cdEnd > size || cdSize < count * 46) {
    throw corrupt(`central directory [${cdOffset}, ${cdEnd}) with ${count} entries does not fit a ${size}-byte file; the file is truncated`, 'TRUNCATED');
  }

  const cd = cdOffset >= tailStart ? tail.subarray(cdOffset - tailStart, cdEnd - tailStart) : await source.read(cdOffset, cdEnd);
  const cv = dv(cd);
  const entries = new Map<string, ZipEntry>();
  const names: string[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cv.getUint32(p, true) !== SIG_CENTRAL) throw corrupt(`central directory entry ${i} is missing at byte ${cdOffset + p}`, 'ZIP_STRUCTURE', cdOffset + p);
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let csize = cv.getUint32(p + 20, true);
    let usize = cv.getUint32(p + 24, true);
    const nlen = cv.getUint16(p + 28, true);
    const xlen = cv.getUint16(p + 30, true);
    const clen = cv.getUint16(p + 32, true);
    let local = cv.getUint32(p + 42, true);
    const end = p + 46 + nlen + xlen + clen;
    if (end > cd.length) throw corrupt(`central directory entry ${i} runs past the directory`, 'ZIP_STRUCTURE', cdOffset + p);
    let entryName: string;
    try {
      entryName = utf8.decode(cd.subarray(p + 46, p + 46 + nlen));
    } catch {
      throw corrupt(`entry ${i} has a name that is not UTF-8`, 'ZIP_STRUCTURE', cdOffset + p);
    }
    // Zip64 extra field: the 0xFFFFFFFF fields follow in a fixed order.
    for (let x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const id = cv.getUint16(x, true);
      const len = cv.getUint16(x + 2, true);
      if (x + 4 + len > p + 46 + nlen + xlen) throw corrupt(`entry ${entryName}: extra field runs past its record`);
      if (id === 1) {
        let q = x + 4;
        const take = (what: string) => {
          if (q + 8 > x + 4 + len) throw corrupt(`entry ${entryName}: Zip64 extra field lacks the ${what}`);
          const v = u64(cv, q, what, name);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take('size');
        if (csize === 0xffffffff) csize = take('compressed size');
        if (local === 0xffffffff) local = take('local header offset');
      }
      x += 4 + len;
    }
    if (entries.has(entryName)) throw corrupt(`entry ${entryName} appears twice; a reader could pick either`, 'ZIP_DUPLICATE');
    if (local + 30 > cdOffset) throw corrupt(`entry ${entryName}: local header at ${local} is outside the data area`, 'ZIP_STRUCTURE');
    entries.set(entryName, { name: entryName, method, flags, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: local });
    names.push(entryName);
    p = end;
  }

  async function read(entryName: string, opts: { verifyCrc?: boolean } = {}): Promise<Uint8Array> {
    const e = entries.get(entryName);
    if (!e) throw corrupt(`entry ${entryName} is missing`, 'ZIP_MISSING');
    const where = `entry ${e.name}`;
    if (e.flags & 1) throw new UnsupportedError(`${name}: ${where} is encrypted`, { path: name });
    const nameBytes = new TextEncoder().encode(e.name);
    // One read for header and data: torch's extra field (alignment padding) is under 64 + 4 bytes, so the
    // data almost always lies inside this window; over HTTP that halves the requests per storage.
    const windowEnd = Math.min(cdOffset, e.localHeaderOffset + 30 + nameBytes.length + LOCAL_EXTRA_GUESS + e.compressedSize);
    const lh = await source.read(e.localHeaderOffset, windowEnd);
    const lv = dv(lh);
    if (lh.length < 30 || lv.getUint32(0, true) !== SIG_LOCAL) throw corrupt(`${where}: no local header at byte ${e.localHeaderOffset}`, 'ZIP_STRUCTURE', e.localHeaderOffset);
    if (lv.getUint16(26, true) !== nameBytes.length || lh.length < 30 + nameBytes.length || !sameBytes(lh.subarray(30, 30 + nameBytes.length), nameBytes)) {
      throw corrupt(`${where}: the local header names a different file`, 'ZIP_STRUCTURE', e.localHeaderOffset);
    }
    const dataStart = e.localHeaderOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    const dataEnd = dataStart + e.compressedSize;
    if (dataEnd > cdOffset) throw corrupt(`${where}: data [${dataStart}, ${dataEnd}) runs into the central directory at ${cdOffset}; the file is truncated or garbled`, 'TRUNCATED', dataStart);
    const body = () => (dataEnd <= windowEnd
      ? Promise.resolve(lh.subarray(dataStart - e.localHeaderOffset, dataEnd - e.localHeaderOffset))
      : source.read(dataStart, dataEnd));
    let out: Uint8Array;
    if (e.method === 0) {
      if (e.compressedSize !== e.size) throw corrupt(`${where}: stored entry with size ${e.size} but ${e.compressedSize} stored bytes`, 'ZIP_STRUCTURE');
      out = await body();
    } else if (e.method === 8) {
      if (e.size > e.compressedSize * MAX_DEFLATE_RATIO + 1024) throw corrupt(`${where}: declares ${e.size} bytes from ${e.compressedSize} compressed (beyond DEFLATE's limit)`, 'ZIP_BOMB');
      const raw = await body();
      // One spare byte: output that fills it means the stream holds more than declared.
      let inflated: Uint8Array;
      try {
        inflated = inflateRaw(raw, e.size + 1);
      } catch (err) {
        throw new CorruptError(`${name}: ${where}: DEFLATE data is invalid (${(err as Error).message})`, { path: name, detail: 'ZIP_DEFLATE', cause: err });
      }
      if (inflated.length !== e.size) throw corrupt(`${where}: inflates to ${inflated.length > e.size ? 'more than' : inflated.length} bytes, the directory says ${e.size}`, 'ZIP_DEFLATE');
      out = inflated.subarray(0, e.size);
    } else {
      throw new UnsupportedError(`${name}: ${where} uses compression method ${e.method}; only stored (0) and DEFLATE (8) are supported`, { path: name });
    }
    const crc = opts.verifyCrc ? await crc32Async(out) : e.crc32;
    if (crc !== e.crc32) {
      throw new CorruptError(`${name}: ${where}: CRC-32 ${hex8(crc)} does not match the recorded ${hex8(e.crc32)}; the data was altered or damaged`, { path: name, detail: 'ZIP_CRC' });
    }
    return out;
  }

  return { source, entries, names, read };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
