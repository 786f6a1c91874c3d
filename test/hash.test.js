import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  sha256, createSha256, sha256Async, hmacSha256, createHmacSha256, hmacSha256Async, toHex,
  availableHashEngines, setHashEngine, hashEngine, hashEngineInfo, ready, coreEngine,
  SHA256_STATE_BYTES, WEBCRYPTO_MIN_BYTES, CheckpointError, sha256InitialState, sha256UpdateJs, sha256FinalJs, sha256Wasm, SHA256_K,
} from '../dist/internal.js';
import { platformSha256Hex, platformHmacHex, rng, randomBytes, runtime, isBrowser } from './_env.js';

const enc = new TextEncoder();
const hexToBytes = (h) => new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
const MiB = 1 << 20;

// Every engine this runtime loads is held to the same vectors and properties.
const engines = await availableHashEngines();
// workerd: the core arrives as a module and node:crypto does not load; browsers have the core only.
const expected = runtime === 'workerd' || isBrowser ? ['core'] : ['core', 'node:crypto'];

// FIPS 180-4 / NIST CSRC example values.
const FIPS = [
  ['the empty string', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"abc" (one block)', enc.encode('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['the 448-bit two-block message', enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['the 896-bit message',
    enc.encode('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
];

// RFC 4231 test cases 1–7 (case 5 compares the first 128 bits only).
const RFC4231 = [
  [1, '0b'.repeat(20), enc.encode('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  [2, hex(enc.encode('Jefe')), enc.encode('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  [3, 'aa'.repeat(20), hexToBytes('dd'.repeat(50)), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
  [4, '0102030405060708090a0b0c0d0e0f10111213141516171819', hexToBytes('cd'.repeat(50)), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
  [5, '0c'.repeat(20), enc.encode('Test With Truncation'), 'a3b6167473100ee06e0c796c2955552b'],
  [6, 'aa'.repeat(131), enc.encode('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  [7, 'aa'.repeat(131), enc.encode('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
];
function hex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }

// One random corpus for every engine: lengths 0 … 4 MiB, skewed small, plus the edges.
const corpus = (() => {
  const next = rng(20261129);
  const lengths = [0, 1, 63, 64, 65, MiB, MiB + 1, 4 * MiB - 3];
  for (let i = 0; i < 16; i++) lengths.push(Math.floor(next() * next() * 4 * MiB));
  const big = randomBytes(4 * MiB, next);
  return { next, cases: lengths.map((n, i) => ({ n, data: big.subarray(i % 7, i % 7 + n) })) };
})();
const platformDigests = Promise.all(corpus.cases.map((c) => platformSha256Hex(c.data)));

const ENGINES = suite('hash engines');
ENGINES(`loads every engine this runtime has (${runtime}: ${expected.join(', ')})`, () => {
  assert.equal(engines.map((e) => e.name), expected);
});
ENGINES('applies a fixed rule per runtime, timing nothing: node:crypto where it loads, else the core with WebCrypto for async one-shots', async () => {
  await ready();
  const a = await setHashEngine(null); // whatever an earlier test pinned
  assert.equal(a, isBrowser || runtime === 'workerd' ? { engine: 'core', webCrypto: true, pinned: false } : { engine: 'node:crypto', webCrypto: false, pinned: false });
  assert.equal(hashEngineInfo(), a);
  assert.is(hashEngine().name, a.engine);
});
// workerd forbids compiling WebAssembly from bytes (hash-wasm does): there the platform's WebCrypto is the oracle (below).
if (runtime !== 'workerd') ENGINES('hash-wasm, an independent implementation, agrees with the engines in use (it is the oracle, not an engine)', async () => {
  const { createSHA256 } = await import('hash-wasm');
  const oracle = await createSHA256();
  for (const { n, data } of corpus.cases.slice(0, 12)) {
    oracle.init();
    const want = oracle.update(data).digest('hex');
    for (const e of engines) assert.is(toHex(e.createSha256().update(data).digest()), want, `${e.name}, length ${n}`);
    assert.is(toHex(sha256(data)), want, `sha256(), length ${n}`);
  }
});
ENGINES('refuses an engine the runtime does not have, naming the ones it has', async () => {
  try {
    await setHashEngine('sha-ni');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.is(e.code, 'UNSUPPORTED');
    assert.match(e.message, /'sha-ni'.*available: core/);
  }
});
ENGINES.after(() => setHashEngine(null));
ENGINES.run();

for (const engine of engines) {
  const SHA = suite(`sha256 on ${engine.name}`);
  SHA.before(() => setHashEngine(engine));
  SHA.after(() => setHashEngine(null));

  SHA('is the engine in use', () => {
    assert.is(hashEngine().name, engine.name);
    assert.is(hashEngineInfo().pinned, true);
  });
  for (const [name, data, digest] of FIPS) {
    SHA(`hashes ${name} (FIPS 180-4)`, () => {
      assert.is(toHex(sha256(data)), digest);
      assert.is(toHex(createSha256().update(data).digest()), digest);
    });
  }
  SHA('hashes one million "a" fed in uneven chunks (FIPS 180-4)', () => {
    const h = createSha256();
    const a = enc.encode('a'.repeat(1000));
    for (let i = 0; i < 1000; i++) {
      const cut = 1 + (i % 7);
      h.update(a.subarray(0, cut));
      h.update(a.subarray(cut));
    }
    assert.is(toHex(h.digest()), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });
  SHA('equals the platform on every length 0 … 200 and chunk sizes around the block size', async () => {
    const data = randomBytes(1000, rng(7));
    for (let n = 0; n <= 200; n++) {
      assert.is(toHex(sha256(data.subarray(0, n))), await platformSha256Hex(data.subarray(0, n)), `length ${n}`);
    }
    const want = await platformSha256Hex(data);
    for (const size of [1, 2, 3, 7, 31, 32, 33, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 191, 192, 193]) {
      const h = createSha256();
      for (let off = 0; off < data.length; off += size) h.update(data.subarray(off, off + size));
      assert.is(toHex(h.digest()), want, `chunk size ${size}`);
    }
  });
  SHA('keeps interleaved hashers independent', () => {
    const a = createSha256(), b = createSha256(), c = createSha256();
    a.update(enc.encode('ab')); b.update(enc.encode('xy')); a.update(enc.encode('c'));
    assert.is(toHex(c.digest()), FIPS[0][2]);
    assert.is(toHex(a.digest()), FIPS[1][2]);
    assert.is(toHex(b.digest()), toHex(coreEngine.createSha256().update(enc.encode('xy')).digest()));
  });
  SHA('hashes text given to update() as its UTF-8 bytes, in the streaming SHA-256 and HMAC as in the one-shot forms', () => {
    // It hashed zero bytes for a string on the core (update() took the string's length as bytes it never copied).
    assert.is(toHex(createSha256().update('abc').digest()), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const text = 'naïve € 😀 — 中文';
    const bytes = enc.encode(text);
    assert.is(toHex(createSha256().update(text).digest()), toHex(sha256(bytes)));
    assert.is(toHex(createSha256().update('naïve € ').update(bytes.subarray(enc.encode('naïve € ').length)).digest()), toHex(sha256(text)));
    assert.is(toHex(createHmacSha256('key').update(text).digest()), toHex(hmacSha256('key', bytes)));
    assert.is(toHex(createHmacSha256('key').update('naïve').update(' € 😀 — 中文').digest()), toHex(hmacSha256(enc.encode('key'), text)));
  });
  SHA('refuses update or digest after digest', () => {
    const h = createSha256();
    h.digest();
    assert.throws(() => h.update(new Uint8Array(1)), /update\(\) after digest/);
    assert.throws(() => h.digest(), /digest\(\) after digest/);
  });
  SHA(`equals the platform SHA-256 (${runtime}) on random lengths up to 4 MiB in random chunks`, async () => {
    const want = await platformDigests;
    corpus.cases.forEach(({ n, data }, i) => {
      const h = createSha256();
      for (let off = 0; off < n;) {
        const step = Math.max(1, Math.floor(corpus.next() * corpus.next() * 300000));
        h.update(data.subarray(off, off + step));
        off += step;
      }
      assert.is(toHex(h.digest()), want[i], `length ${n}`);
      assert.is(toHex(sha256(data)), want[i], `length ${n}, one shot`);
    });
  });
  for (const [n, key, data, mac] of RFC4231) {
    SHA(`computes HMAC-SHA256 of RFC 4231 case ${n}`, () => {
      assert.is(toHex(hmacSha256(hexToBytes(key), data)).slice(0, mac.length), mac);
      const h = createHmacSha256(hexToBytes(key));
      for (const b of data) h.update(new Uint8Array([b]));
      assert.is(toHex(h.digest()).slice(0, mac.length), mac);
    });
  }
  SHA('streams HMAC like one shot and equals the platform HMAC on random keys and data', async () => {
    const next = rng(4231);
    for (let i = 0; i < 10; i++) {
      const key = randomBytes([0, 1, 32, 63, 64, 65, 200][i % 7], next);
      const data = randomBytes(Math.floor(next() * 100000), next);
      const h = createHmacSha256(key);
      const cut = Math.floor(next() * data.length);
      h.update(data.subarray(0, cut)).update(data.subarray(cut));
      const want = await platformHmacHex(key, data);
      assert.is(toHex(h.digest()), want, `key ${key.length} B, data ${data.length} B`);
      assert.is(toHex(hmacSha256(key, data)), want);
    }
  });
  SHA.run();
}

const ASYNC = suite('sha256Async and hmacSha256Async');
ASYNC.after(() => setHashEngine(null));
const streamOf = (data, size) => new ReadableStream({
  start(c) {
    for (let off = 0; off < data.length; off += size) c.enqueue(data.slice(off, off + size));
    c.close();
  },
});
async function* iterOf(data, size) {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}
ASYNC('gives the same digests from bytes, text, async iterables and ReadableStreams, with and without WebCrypto', async () => {
  const next = rng(99);
  const key = randomBytes(40, next);
  for (const webCrypto of [false, true]) {
    await setHashEngine('core', { webCrypto });
    for (const n of [0, 3, 64, WEBCRYPTO_MIN_BYTES - 1, WEBCRYPTO_MIN_BYTES, 3 * MiB + 5]) {
      const data = randomBytes(n, next);
      const want = await platformSha256Hex(data);
      const label = `${n} bytes, webCrypto ${webCrypto}`;
      assert.is(toHex(await sha256Async(data)), want, label);
      assert.is(toHex(await sha256Async(iterOf(data, 65537))), want, label + ', iterable');
      assert.is(toHex(await sha256Async(streamOf(data, 1000003))), want, label + ', stream');
      const mac = await platformHmacHex(key, data);
      assert.is(toHex(await hmacSha256Async(key, data)), mac, label + ', HMAC');
      assert.is(toHex(await hmacSha256Async(key, streamOf(data, 4096))), mac, label + ', HMAC stream');
    }
    assert.is(toHex(await sha256Async('abc')), FIPS[1][2]);
    const big = randomBytes(WEBCRYPTO_MIN_BYTES, next);
    assert.is(toHex(await hmacSha256Async(new Uint8Array(0), big)), await platformHmacHex(new Uint8Array(0), big), 'empty key');
  }
});
ASYNC("works with the runtime's engine", async () => {
  await setHashEngine(null);
  const data = randomBytes(2 * MiB + 17, rng(5));
  assert.is(toHex(await sha256Async(data)), await platformSha256Hex(data));
});
ASYNC.run();

// A byte counter narrower than 64 bits breaks past 4 GiB (or 512 MiB counting
// bits). Hashing that much takes seconds per runtime, so these tests drive the
// core's saved state to such counts and compare with a plain JS reference.
const COUNTER = suite('core SHA-256 state: u64 byte counter, save and resume');
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
/** Reference: SHA-256 of `tail` continuing from chaining value `h` after `before` bytes (a multiple of 64). */
function referenceFrom(h, before, tail) {
  h = h.slice();
  const bits = (before + BigInt(tail.length)) * 8n;
  const padded = new Uint8Array(Math.ceil((tail.length + 9) / 64) * 64);
  padded.set(tail);
  padded[tail.length] = 0x80;
  new DataView(padded.buffer).setBigUint64(padded.length - 8, bits);
  const dv = new DataView(padded.buffer);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  const w = new Uint32Array(64);
  for (let p = 0; p < padded.length; p += 64) {
    for (let t = 0; t < 16; t++) w[t] = dv.getUint32(p + 4 * t);
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15], b = w[t - 2];
      w[t] = w[t - 16] + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[t - 7] + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10));
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let t = 0; t < 64; t++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h = [a, b, c, d, e, f, g, hh].map((x, i) => (x + h[i]) >>> 0);
  }
  return h.map((x) => x.toString(16).padStart(8, '0')).join('');
}
/** A core state whose chaining value is `h` after `count` bytes, the last count % 64 of them `pending`. */
function stateAt(h, count, pending) {
  const s = new Uint8Array(SHA256_STATE_BYTES);
  const dv = new DataView(s.buffer);
  h.forEach((x, i) => dv.setUint32(4 * i, x, true));
  dv.setBigUint64(32, count, true);
  dv.setBigUint64(40, BigInt(pending.length), true);
  s.set(pending, 48);
  return s;
}
COUNTER('the JS reference itself equals the platform', async () => {
  const data = randomBytes(300, rng(3));
  for (const n of [0, 55, 56, 64, 300]) {
    assert.is(referenceFrom(IV, 0n, data.subarray(0, n)), await platformSha256Hex(data.subarray(0, n)), `length ${n}`);
  }
});
COUNTER('encodes lengths past 4 GiB and 2^61 bytes in the padding', () => {
  const next = rng(64);
  const h = Array.from({ length: 8 }, () => Math.floor(next() * 2 ** 32));
  const more = randomBytes(150, next);
  for (const before of [2n ** 29n, 2n ** 32n - 64n, 2n ** 32n, 2n ** 32n + 4096n, 2n ** 40n, 2n ** 61n - 1024n]) {
    for (const pendingLength of [0, 37]) {
      const pending = more.subarray(0, pendingLength);
      const tail = more.subarray(pendingLength);
      const core = coreEngine.resume(stateAt(h, before + BigInt(pendingLength), pending)).update(tail);
      assert.is(toHex(core.digest()), referenceFrom(h, before, more), `after ${before} + ${pendingLength} bytes`);
    }
  }
});
COUNTER('counts across the 2^32-byte boundary inside one update', () => {
  const h = IV.slice();
  const before = 2n ** 32n - 128n;
  const data = randomBytes(1000, rng(11));
  const core = coreEngine.resume(stateAt(h, before, new Uint8Array(0)));
  core.update(data.subarray(0, 100)).update(data.subarray(100));
  const state = new DataView(core.save().buffer);
  assert.is(state.getBigUint64(32, true), before + 1000n);
  assert.is(toHex(core.digest()), referenceFrom(h, before, data));
});
COUNTER('save() and resume() continue a hash exactly', async () => {
  const data = randomBytes(5000, rng(12));
  for (const cut of [0, 1, 63, 64, 65, 4999, 5000]) {
    const first = coreEngine.createSha256().update(data.subarray(0, cut));
    const resumed = coreEngine.resume(first.save()).update(data.subarray(cut));
    assert.is(toHex(resumed.digest()), await platformSha256Hex(data), `cut at ${cut}`);
    assert.is(toHex(first.update(data.subarray(cut)).digest()), await platformSha256Hex(data), 'the saved hasher goes on');
  }
});
COUNTER('refuses a saved state of the wrong size or with an impossible pending count', () => {
  const good = coreEngine.createSha256().update(new Uint8Array(70)).save();
  const bad = good.slice();
  new DataView(bad.buffer).setBigUint64(40, 64n, true);
  const skewed = good.slice();
  new DataView(skewed.buffer).setBigUint64(32, 71n, true);
  for (const [state, why] of [[good.subarray(1), /112 bytes.*got 111/], [bad, /64 bytes pending of 70/], [skewed, /6 bytes pending of 71/]]) {
    try {
      coreEngine.resume(state);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CheckpointError);
      assert.is(e.code, 'CORRUPT');
      assert.is(e.detail, 'HASH_STATE');
      assert.match(e.message, why);
    }
  }
});
COUNTER.run();

// What a CoreHasher runs until the core's SHA-256 module has loaded (src/core/sha256-js.ts): the same state,
// so the same digests, and a hasher moves from one to the other between two updates.
const JS = suite("the core's rounds in JS (before its SHA-256 module loads)");
const jsHex = (state, ...parts) => { for (const p of parts) sha256UpdateJs(state, p); return toHex(sha256FinalJs(state)); };
JS('derives FIPS 180-4\'s constants exactly: the round constants and the initial hash value', () => {
  assert.equal(Array.from(SHA256_K), K);
  const v = new DataView(sha256InitialState().buffer);
  assert.equal(IV.map((_, i) => v.getUint32(i * 4, true)), IV);
});
JS('equals the platform for every length 0–200 and larger inputs, in one update or split anywhere', async () => {
  const data = randomBytes(5000, rng(21));
  for (let n = 0; n <= 200; n++) assert.is(jsHex(sha256InitialState(), data.subarray(0, n)), await platformSha256Hex(data.subarray(0, n)), `length ${n}`);
  const next = rng(22);
  for (const n of [1000, 4096, 4999, 5000]) {
    const want = await platformSha256Hex(data.subarray(0, n));
    for (let i = 0; i < 8; i++) {
      const a = Math.floor(next() * n), b = a + Math.floor(next() * (n - a));
      assert.is(jsHex(sha256InitialState(), data.subarray(0, a), data.subarray(a, b), data.subarray(b, n)), want, `${n} split at ${a}, ${b}`);
    }
  }
  for (const [what, bytes, want] of FIPS) assert.is(jsHex(sha256InitialState(), bytes), want, what);
});
JS('leaves the state exactly as the module does, so a hash moves between them at any point', async () => {
  assert.ok(sha256Wasm(), 'the module has loaded (availableHashEngines() above loads it)');
  const data = randomBytes(3000, rng(23));
  for (const cut of [0, 1, 55, 63, 64, 65, 128, 1000, 2999, 3000]) {
    const viaModule = coreEngine.createSha256().update(data.subarray(0, cut));
    const js = sha256InitialState();
    sha256UpdateJs(js, data.subarray(0, cut));
    assert.equal(js, viaModule.save(), `the state after ${cut} bytes`);
    // JS first, the module after; the module first, JS after.
    assert.is(toHex(coreEngine.resume(js).update(data.subarray(cut)).digest()), await platformSha256Hex(data), `JS then module at ${cut}`);
    assert.is(jsHex(viaModule.save(), data.subarray(cut)), await platformSha256Hex(data), `module then JS at ${cut}`);
  }
});
JS('counts past 4 GiB and 2^61 bytes, and across 2^32 inside one update, as the module does', () => {
  const next = rng(65);
  const h = Array.from({ length: 8 }, () => Math.floor(next() * 2 ** 32));
  const more = randomBytes(150, next);
  for (const before of [2n ** 32n - 64n, 2n ** 32n, 2n ** 40n, 2n ** 61n - 1024n]) {
    for (const pendingLength of [0, 37]) {
      const state = stateAt(h, before + BigInt(pendingLength), more.subarray(0, pendingLength));
      assert.is(jsHex(state, more.subarray(pendingLength)), referenceFrom(h, before, more), `after ${before} + ${pendingLength} bytes`);
    }
  }
  const before = 2n ** 32n - 128n;
  const data = randomBytes(1000, rng(11));
  const state = stateAt(IV.slice(), before, new Uint8Array(0));
  sha256UpdateJs(state, data.subarray(0, 100));
  sha256UpdateJs(state, data.subarray(100));
  assert.is(new DataView(state.buffer).getBigUint64(32, true), before + 1000n);
  assert.is(toHex(sha256FinalJs(state)), referenceFrom(IV, before, data));
});
JS('the digest leaves the state as it was (a saved state can still be resumed)', () => {
  const state = sha256InitialState();
  sha256UpdateJs(state, enc.encode('abc'));
  const before = state.slice();
  assert.is(toHex(sha256FinalJs(state)), FIPS[1][2]);
  assert.equal(state, before);
});
JS.run();
