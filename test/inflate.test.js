// The inflater that unpacks the core's embedded bytes and DEFLATE zip entries (src/core/inflate.ts), held to
// fflate's deflater as the oracle: every block type, every level, and the damaged streams it must refuse.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deflateSync } from 'fflate';
import { inflateRaw, InflateError } from '../dist/internal.js';
import { rng } from './_env.js';

const I = suite('inflateRaw: raw DEFLATE (RFC 1951)');

/** Bytes from text-like (repetitive) to random, so that stored, fixed and dynamic blocks all occur. */
function sample(next, n, alphabet) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 8 && next() < 0.3) out[i] = out[i - 1 - Math.floor(next() * Math.min(i - 1, 300))];
    else out[i] = Math.floor(next() * alphabet);
  }
  return out;
}

I('inflates what a reference deflater wrote, at every level, byte for byte', () => {
  const next = rng(0xdef1a7e);
  for (const n of [0, 1, 100, 5_000, 70_000, 300_000]) {
    for (const alphabet of [2, 26, 256]) {
      const data = sample(next, n, alphabet);
      for (const level of [0, 1, 6, 9]) {
        const packed = deflateSync(data, { level });
        assert.equal(inflateRaw(packed, n), data, `n=${n} alphabet=${alphabet} level=${level}`);
      }
    }
  }
});

I('a stream with a fixed-Huffman block (short input) and a long back-reference run inflates exactly', () => {
  const data = new TextEncoder().encode('ab'.repeat(5000) + 'safeckpt');
  assert.equal(inflateRaw(deflateSync(data, { level: 9 }), data.length), data);
  assert.equal(new TextDecoder().decode(inflateRaw(deflateSync(new TextEncoder().encode('hi'), { level: 6 }), 2)), 'hi');
});

I('refuses output past maxOut, a truncated stream, block type 3 and a distance before the start', () => {
  const data = new Uint8Array(10_000).fill(7);
  const packed = deflateSync(data, { level: 9 });
  assert.throws(() => inflateRaw(packed, 9_999), (e) => e instanceof InflateError && /more than 9999/.test(e.message));
  assert.throws(() => inflateRaw(packed.subarray(0, packed.length - 2), 10_000), (e) => e instanceof InflateError);
  assert.throws(() => inflateRaw(new Uint8Array([0b111]), 10), (e) => e instanceof InflateError && /type 3/.test(e.message));
  // Fixed block: literal 'a', then length 3 at distance 2 (only one byte written so far).
  // Hand-encoded: BFINAL=1, BTYPE=01; 'a' = 0x61 → 8-bit code 0x30+0x61; length code 257 (7 bits 0000001); dist code 1 (5 bits 00001).
  const w = []; let acc = 0, n = 0;
  const put = (v, len, reversed) => {
    for (let i = 0; i < len; i++) {
      const bit = reversed ? (v >> (len - 1 - i)) & 1 : (v >> i) & 1;
      acc |= bit << n; n++;
      if (n === 8) { w.push(acc); acc = 0; n = 0; }
    }
  };
  put(1, 1, false); put(1, 2, false); put(0x30 + 0x61, 8, true); put(1, 7, true); put(1, 5, true); put(0, 7, true);
  if (n) w.push(acc);
  assert.throws(() => inflateRaw(new Uint8Array(w), 100), (e) => e instanceof InflateError && /before the start/.test(e.message));
  // The same stream with distance 1 (code 0) is valid: 'aaaa'.
  w.length = 0; acc = 0; n = 0;
  put(1, 1, false); put(1, 2, false); put(0x30 + 0x61, 8, true); put(1, 7, true); put(0, 5, true); put(0, 7, true);
  if (n) w.push(acc);
  assert.equal(new TextDecoder().decode(inflateRaw(new Uint8Array(w), 100)), 'aaaa');
});

I.run();
