import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256, createSha256, hmacSha256, createHmacSha256, toHex } from '../dist/index.js';
import { platformSha256Hex, platformHmacHex, rng, randomBytes, runtime } from './_env.js';

const enc = new TextEncoder();
const hexToBytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));

const SHA = suite('sha256');

// FIPS 180-4 / NIST CSRC example values.
SHA('hashes the empty string', () => {
  assert.is(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});
SHA('hashes "abc" (one block)', () => {
  assert.is(toHex(sha256('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
SHA('hashes the 448-bit two-block message', () => {
  assert.is(
    toHex(sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});
SHA('hashes the 896-bit message', () => {
  const m = 'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu';
  assert.is(toHex(sha256(m)), 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1');
});
SHA('hashes one million "a" fed in uneven chunks', () => {
  const h = createSha256();
  const a = enc.encode('a'.repeat(1000));
  for (let i = 0; i < 1000; i++) {
    const cut = 1 + (i % 7);
    h.update(a.subarray(0, cut));
    h.update(a.subarray(cut));
  }
  assert.is(toHex(h.digest()), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});
SHA('streams across block boundaries identically to one shot', async () => {
  const next = rng(7);
  const data = randomBytes(300, next);
  for (const size of [1, 55, 56, 57, 63, 64, 65, 127, 128, 129]) {
    const h = createSha256();
    for (let off = 0; off < data.length; off += size) h.update(data.subarray(off, off + size));
    assert.is(toHex(h.digest()), await platformSha256Hex(data), `chunk size ${size}`);
  }
});
SHA('keeps interleaved hashers independent', () => {
  const a = createSha256(), b = createSha256();
  a.update(enc.encode('ab')); b.update(enc.encode('xy')); a.update(enc.encode('c'));
  assert.is(toHex(a.digest()), toHex(sha256('abc')));
  assert.is(toHex(b.digest()), toHex(sha256('xy')));
});
SHA('refuses update after digest', () => {
  const h = createSha256();
  h.digest();
  assert.throws(() => h.update(new Uint8Array(1)), /after digest/);
});
SHA(`equals the platform SHA-256 (${runtime}) on random lengths up to 3 MiB in random chunks`, async () => {
  const seed = 20261129;
  const next = rng(seed);
  const lengths = [0, 1, 64, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 3];
  for (let i = 0; i < 24; i++) lengths.push(Math.floor(next() * next() * 3 * (1 << 20)));
  for (const n of lengths) {
    const data = randomBytes(n, next);
    const h = createSha256();
    let off = 0;
    while (off < n) {
      const step = Math.max(1, Math.floor(next() * next() * 200000));
      h.update(data.subarray(off, off + step));
      off += step;
    }
    assert.is(toHex(h.digest()), await platformSha256Hex(data), `seed ${seed}, length ${n}`);
  }
});
SHA.run();

const HMAC = suite('hmacSha256');
// RFC 4231 test cases 1–4, 6, 7 (5 is a truncated MAC).
const rfc4231 = [
  ['0b'.repeat(20), enc.encode('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  [hex(enc.encode('Jefe')), enc.encode('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ['aa'.repeat(20), hexToBytes('dd'.repeat(50)), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
  ['0102030405060708090a0b0c0d0e0f10111213141516171819', hexToBytes('cd'.repeat(50)), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
  ['aa'.repeat(131), enc.encode('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ['aa'.repeat(131), enc.encode('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
];
function hex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }
rfc4231.forEach(([key, data, mac], i) => {
  HMAC(`matches RFC 4231 case ${i < 4 ? i + 1 : i + 2}`, () => {
    assert.is(toHex(hmacSha256(hexToBytes(key), data)), mac);
  });
});
HMAC('streams like one shot and equals the platform HMAC on random inputs', async () => {
  const next = rng(4231);
  for (let i = 0; i < 12; i++) {
    const key = randomBytes(Math.floor(next() * 200), next);
    const data = randomBytes(Math.floor(next() * 100000), next);
    const h = createHmacSha256(key);
    const cut = Math.floor(next() * data.length);
    h.update(data.subarray(0, cut)).update(data.subarray(cut));
    const want = await platformHmacHex(key, data);
    assert.is(toHex(h.digest()), want, `key ${key.length} B, data ${data.length} B`);
    assert.is(toHex(hmacSha256(key, data)), want);
  }
});
HMAC.run();
