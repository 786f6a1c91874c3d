// SHA-256 (FIPS 180-4) in plain JS over the core's saved state (the layout of assembly/sha256.ts: H0..H7 as
// u32 LE, the u64 byte count, the u64 count of pending bytes, the 64-byte block buffer). A CoreHasher runs
// it until the core's SHA-256 module has loaded (sha256-wasm.ts: ready() loads it, and every operation on
// large data awaits ready()), and then moves to the module between two updates: the state is the same, and
// so are the digests. Rolled loops, kept small: it ships at start, where the module does not. It is slower
// than the module; only what is hashed before ready() runs here (headers, sidecars, keys in practice).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const W = new Uint32Array(64);
const MASK64 = (1n << 64n) - 1n;

/** The initial state of a hash: the FIPS 180-4 initial hash value, nothing hashed, nothing pending. */
export function sha256InitialState(): Uint8Array {
  const s = new Uint8Array(112);
  const v = new DataView(s.buffer);
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19].forEach((h, i) => v.setUint32(i * 4, h, true));
  return s;
}

/** Compresses `n` 64-byte blocks of `src` from `at` into the chaining value `h`. */
function blocks(h: Uint32Array, src: Uint8Array, at: number, n: number): void {
  for (; n > 0; n--, at += 64) {
    for (let i = 0; i < 16; i++) W[i] = (src[at + 4 * i] << 24) | (src[at + 4 * i + 1] << 16) | (src[at + 4 * i + 2] << 8) | src[at + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15];
      const y = W[i - 2];
      W[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + W[i - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + W[i - 16];
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[i] + W[i]) | 0;
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (c & (a ^ b)))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }
}

const chaining = (v: DataView) => Uint32Array.from({ length: 8 }, (_, i) => v.getUint32(i * 4, true));
const store = (v: DataView, h: Uint32Array) => h.forEach((x, i) => v.setUint32(i * 4, x, true));

/** Hashes `data` into `state` (a 112-byte saved state, updated in place), as the module's sha256Update does. */
export function sha256UpdateJs(state: Uint8Array, data: Uint8Array): void {
  const v = new DataView(state.buffer, state.byteOffset, 112);
  // The count wraps at 2^64, as the module's u64 does.
  v.setBigUint64(32, v.getBigUint64(32, true) + BigInt(data.length), true);
  let pending = Number(v.getBigUint64(40, true));
  let at = 0;
  const h = chaining(v);
  if (pending > 0) {
    at = Math.min(64 - pending, data.length);
    state.set(data.subarray(0, at), 48 + pending);
    pending += at;
    if (pending < 64) return void v.setBigUint64(40, BigInt(pending), true);
    blocks(h, state, 48, 1);
  }
  const n = Math.floor((data.length - at) / 64);
  blocks(h, data, at, n);
  at += n * 64;
  state.set(data.subarray(at), 48);
  v.setBigUint64(40, BigInt(data.length - at), true);
  store(v, h);
}

/** The digest of a saved state (left unchanged): padding and the bit count, as the module's sha256Final. */
export function sha256FinalJs(state: Uint8Array): Uint8Array {
  const s = state.slice(0, 112);
  const v = new DataView(s.buffer);
  const bits = (v.getBigUint64(32, true) << 3n) & MASK64;
  let pending = Number(v.getBigUint64(40, true));
  const h = chaining(v);
  s[48 + pending++] = 0x80;
  if (pending > 56) {
    s.fill(0, 48 + pending);
    blocks(h, s, 48, 1);
    pending = 0;
  }
  s.fill(0, 48 + pending);
  v.setBigUint64(104, bits, false);
  blocks(h, s, 48, 1);
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  h.forEach((x, i) => o.setUint32(i * 4, x, false));
  return out;
}
