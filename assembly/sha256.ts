// SHA-256 (FIPS 180-4) over a state block that the host saves and restores
// between calls, so any number of streaming hashers share one instance.
//
// State layout at STATE (little-endian fields):
//   0..32   H0..H7 (u32)
//   32..40  total bytes hashed so far (u64: a 32-bit counter breaks past 4 GiB)
//   40..48  bytes pending in the block buffer (u64, < 64)
//   48..112 block buffer
export const STATE_BYTES: i32 = 112;

const STATE = memory.data(112, 16);
const DIGEST = memory.data(32, 16);
const W = memory.data(256, 16);
const K = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export function sha256State(): usize { return STATE; }
export function sha256Digest(): usize { return DIGEST; }

export function sha256Init(): void {
  store<u32>(STATE, 0x6a09e667, 0);
  store<u32>(STATE, 0xbb67ae85, 4);
  store<u32>(STATE, 0x3c6ef372, 8);
  store<u32>(STATE, 0xa54ff53a, 12);
  store<u32>(STATE, 0x510e527f, 16);
  store<u32>(STATE, 0x9b05688c, 20);
  store<u32>(STATE, 0x1f83d9ab, 24);
  store<u32>(STATE, 0x5be0cd19, 28);
  store<u64>(STATE, 0, 32);
  store<u64>(STATE, 0, 40);
}

@inline function bswap32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}

function compress(block: usize): void {
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), bswap32(load<u32>(block + (i << 2))));
  for (let i: usize = 16; i < 64; i++) {
    const w15 = load<u32>(W + ((i - 15) << 2));
    const w2 = load<u32>(W + ((i - 2) << 2));
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (i << 2), load<u32>(W + ((i - 16) << 2)) + s0 + load<u32>(W + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(STATE, 0), b = load<u32>(STATE, 4), c = load<u32>(STATE, 8), d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16), f = load<u32>(STATE, 20), g = load<u32>(STATE, 24), h = load<u32>(STATE, 28);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + load<u32>(K + (i << 2)) + load<u32>(W + (i << 2));
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(STATE, load<u32>(STATE, 0) + a, 0);
  store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8);
  store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16);
  store<u32>(STATE, load<u32>(STATE, 20) + f, 20);
  store<u32>(STATE, load<u32>(STATE, 24) + g, 24);
  store<u32>(STATE, load<u32>(STATE, 28) + h, 28);
}

export function sha256Update(ptr: usize, len: usize): void {
  const BUF = STATE + 48;
  let pending = load<u64>(STATE, 40) as usize;
  store<u64>(STATE, load<u64>(STATE, 32) + (len as u64), 32);
  if (pending > 0) {
    const take = min<usize>(64 - pending, len);
    memory.copy(BUF + pending, ptr, take);
    pending += take; ptr += take; len -= take;
    if (pending < 64) { store<u64>(STATE, pending as u64, 40); return; }
    compress(BUF);
    pending = 0;
  }
  while (len >= 64) { compress(ptr); ptr += 64; len -= 64; }
  if (len > 0) memory.copy(BUF, ptr, len);
  store<u64>(STATE, len as u64, 40);
}

export function sha256Final(): void {
  const BUF = STATE + 48;
  const total = load<u64>(STATE, 32);
  let pending = load<u64>(STATE, 40) as usize;
  store<u8>(BUF + pending, 0x80);
  pending++;
  if (pending > 56) {
    memory.fill(BUF + pending, 0, 64 - pending);
    compress(BUF);
    pending = 0;
  }
  memory.fill(BUF + pending, 0, 56 - pending);
  const bits = total << 3;
  store<u32>(BUF + 56, bswap32((bits >>> 32) as u32));
  store<u32>(BUF + 60, bswap32(bits as u32));
  compress(BUF);
  for (let i: usize = 0; i < 8; i++) store<u32>(DIGEST + (i << 2), bswap32(load<u32>(STATE + (i << 2))));
}
