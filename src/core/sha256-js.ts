// SHA-256 (FIPS 180-4) in plain JS over the core's saved state (the layout of assembly/sha256.ts: H0..H7 as
// u32 LE, the u64 byte count, the u64 count of pending bytes, the 64-byte block buffer). A CoreHasher runs
// it until the core's SHA-256 module has loaded (sha256-wasm.ts: ready() loads it, and every operation on
// large data awaits ready()), and then moves to the module between two updates: the state is the same, and
// so are the digests. Rolled loops, kept small: it ships at start, where the module does not. It is slower
// than the module; only what is hashed before ready() runs here (headers, sidecars, keys in practice).

/**
 * The first 32 bits of the fractional part of the k-th root of `n`, as FIPS 180-4 defines its constants: the
 * floor k-th root of n·2^(32k) by integer Newton steps on BigInt (from above, so it stops at the floor), exact
 * where a float root could be off by one in the last bit. Derived at load: ~0.3 KB gzip less than the table.
 */
function frac32(n: number, k: bigint): number {
  const x = BigInt(n) << (32n * k);
  let r = 1n << 40n; // above every root taken here (√19·2^32, ∛311·2^32 < 2^35)
  for (;;) {
    const y = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (y >= r) return Number(r & 0xffffffffn);
    r = y;
  }
}
const PRIMES: number[] = [];
for (let n = 2; PRIMES.length < 64; n++) if (PRIMES.every((p) => n % p)) PRIMES.push(n);
/** The round constants: cube roots of the first 64 primes. */
export const SHA256_K = Uint32Array.from(PRIMES, (p) => frac32(p, 3n));
const K = SHA256_K;

const W = new Uint32Array(64);
const MASK64 = (1n << 64n) - 1n;

/** The initial state of a hash: the FIPS 180-4 initial hash value, nothing hashed, nothing pending. */
export function sha256InitialState(): Uint8Array {
  const s = new Uint8Array(112);
  const v = new DataView(s.buffer);
  // The initial hash value: square roots of the first 8 primes.
  for (let i = 0; i < 8; i++) v.setUint32(i * 4, frac32(PRIMES[i], 2n), true);
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
