// Raw DEFLATE (RFC 1951) decoding, small: it unpacks the core's embedded bytes
// (core/wasm.ts) and DEFLATE entries of zip files (format/torch/zip.ts). A
// dependency would do, but a bare import breaks dist/ loaded unbundled in a
// browser (test/edge-inference.test.js), and this is the whole of it.
// Canonical Huffman codes are decoded a bit at a time from count/symbol tables
// (as zlib's puff.c does): slower than table lookups, ample for 27 KB at start.

/** Thrown for data that is not valid raw DEFLATE, or that inflates past `maxOut`. */
export class InflateError extends Error {}

interface Huffman { counts: Uint16Array; symbols: Uint16Array }

function huffman(lengths: Uint8Array, n: number): Huffman {
  const counts = new Uint16Array(16);
  const symbols = new Uint16Array(n);
  for (let i = 0; i < n; i++) counts[lengths[i]]++;
  counts[0] = 0;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - counts[len];
    if (left < 0) throw new InflateError('over-subscribed Huffman code');
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + counts[len];
  for (let i = 0; i < n; i++) if (lengths[i] !== 0) symbols[offs[lengths[i]]++] = i;
  return { counts, symbols };
}

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

let fixed: [Huffman, Huffman] | undefined;
function fixedCodes(): [Huffman, Huffman] {
  if (fixed) return fixed;
  const l = new Uint8Array(288);
  l.fill(8, 0, 144); l.fill(9, 144, 256); l.fill(7, 256, 280); l.fill(8, 280, 288);
  return (fixed = [huffman(l, 288), huffman(new Uint8Array(30).fill(5), 30)]);
}

/** The bytes `src` (raw DEFLATE) stands for; InflateError when it is invalid or would exceed `maxOut` bytes. */
export function inflateRaw(src: Uint8Array, maxOut: number): Uint8Array {
  let out = new Uint8Array(Math.min(maxOut, Math.max(1024, src.length * 4)));
  let o = 0, pos = 0, bitBuf = 0, bitCnt = 0;
  const bits = (n: number): number => {
    while (bitCnt < n) {
      if (pos >= src.length) throw new InflateError('data ends inside a block');
      bitBuf |= src[pos++] << bitCnt;
      bitCnt += 8;
    }
    const v = bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCnt -= n;
    return v;
  };
  const decode = (h: Huffman): number => {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.counts[len];
      if (code - count < first) return h.symbols[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new InflateError('invalid Huffman code');
  };
  const room = (n: number) => {
    if (o + n > maxOut) throw new InflateError(`inflates to more than ${maxOut} bytes`);
    if (o + n > out.length) {
      const bigger = new Uint8Array(Math.min(maxOut, Math.max(o + n, out.length * 2)));
      bigger.set(out.subarray(0, o));
      out = bigger;
    }
  };
  for (let last = 0; !last;) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitBuf = 0; bitCnt = 0; // stored: byte-aligned LEN, NLEN, then LEN bytes
      if (pos + 4 > src.length) throw new InflateError('data ends inside a stored block header');
      const len = src[pos] | (src[pos + 1] << 8);
      if ((len ^ (src[pos + 2] | (src[pos + 3] << 8))) !== 0xffff) throw new InflateError('stored block length does not match its complement');
      pos += 4;
      if (pos + len > src.length) throw new InflateError('data ends inside a stored block');
      room(len);
      out.set(src.subarray(pos, pos + len), o);
      o += len; pos += len;
      continue;
    }
    let lit: Huffman, dist: Huffman;
    if (type === 1) [lit, dist] = fixedCodes();
    else if (type === 2) {
      const nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
      if (nlen > 286 || ndist > 30) throw new InflateError('too many length or distance codes');
      const cl = new Uint8Array(19);
      for (let i = 0; i < ncode; i++) cl[CLEN_ORDER[i]] = bits(3);
      const clh = huffman(cl, 19);
      const lengths = new Uint8Array(nlen + ndist);
      for (let i = 0; i < nlen + ndist;) {
        const sym = decode(clh);
        if (sym < 16) { lengths[i++] = sym; continue; }
        let rep: number, val = 0;
        if (sym === 16) {
          if (i === 0) throw new InflateError('repeat with no previous length');
          val = lengths[i - 1]; rep = 3 + bits(2);
        } else rep = sym === 17 ? 3 + bits(3) : 11 + bits(7);
        if (i + rep > nlen + ndist) throw new InflateError('code lengths overrun');
        lengths.fill(val, i, i + rep); i += rep;
      }
      if (lengths[256] === 0) throw new InflateError('no end-of-block code');
      lit = huffman(lengths.subarray(0, nlen), nlen);
      dist = huffman(lengths.subarray(nlen), ndist);
    } else throw new InflateError('invalid block type 3');
    for (;;) {
      const sym = decode(lit);
      if (sym < 256) { room(1); out[o++] = sym; continue; }
      if (sym === 256) break;
      const li = sym - 257;
      if (li >= 29) throw new InflateError('invalid length code');
      const len = LEN_BASE[li] + bits(LEN_EXTRA[li]);
      const di = decode(dist);
      if (di >= 30) throw new InflateError('invalid distance code');
      const d = DIST_BASE[di] + bits(DIST_EXTRA[di]);
      if (d > o) throw new InflateError('distance reaches before the start of the output');
      room(len);
      for (let k = 0; k < len; k++, o++) out[o] = out[o - d];
    }
  }
  return out.subarray(0, o);
}
