// Every file safeckpt reads back is untrusted input, and so is every name in
// it and every URL a caller passes: each failure is a typed CheckpointError
// with a useful detail, and nothing shown (messages, paths) carries a secret
// or quotes a file's contents.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  verify, sign, writeSafetensors, readSafetensors, MemoryStore, canonicalJson, signJson, checkJsonMac, resolveSource,
  listCheckpoints, CheckpointError, HttpStore, parseSidecar,
} from '../dist/index.js';
import { isBrowser, testEnv } from './_env.js';

const enc = new TextEncoder(), dec = new TextDecoder();
const KEY = 'k3y';

async function caught(p) {
  try { await p; } catch (e) { return e; }
  assert.unreachable('expected a rejection');
}
function caughtSync(f) {
  try { f(); } catch (e) { return e; }
  assert.unreachable('expected an exception');
}
const typed = (e, code, detail) => {
  assert.ok(e instanceof CheckpointError, `not a CheckpointError: ${e && e.stack}`);
  assert.is(e.code, code, e.message);
  if (detail) assert.is(e.detail, detail, e.message);
  return e;
};

async function signedFile(store, key = 'm.safetensors') {
  await writeSafetensors({ store, key }, { a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } }, { key: KEY });
  return JSON.parse(dec.decode(await store.read(key + '.meta.json')));
}

// ---------------------------------------------------------------- numbers in signed documents
const N = suite('signed JSON: numbers without a canonical form');
N('canonicalJson refuses a float or an integer past 2^53 as UNSUPPORTED naming where it is', () => {
  typed(caughtSync(() => canonicalJson({ a: [1, { lr: 0.001 }] })), 'UNSUPPORTED', 'NON_CANONICAL_NUMBER');
  assert.match(caughtSync(() => canonicalJson({ a: [1, { lr: 0.001 }] })).message, 'a[1].lr');
  typed(caughtSync(() => canonicalJson({ n: 2 ** 60 })), 'UNSUPPORTED', 'NON_CANONICAL_NUMBER');
  typed(caughtSync(() => canonicalJson({ f: () => 1 })), 'UNSUPPORTED', 'NON_CANONICAL_VALUE');
  typed(caughtSync(() => signJson({ x: 1.5 }, KEY)), 'UNSUPPORTED', 'NON_CANONICAL_NUMBER');
  assert.is(canonicalJson({ b: [1, -2, 2 ** 53 - 1], a: null }), '{"a":null,"b":[1,-2,9007199254740991]}');
});
for (const [what, edit] of [
  ['a float member (lr: 0.001)', (d) => ({ ...d, lr: 0.001 })],
  ['a float in a tensor entry (1.5)', (d) => ({ ...d, tensors: { a: { ...d.tensors.a, shape: [1.5] } } })],
  ['an integer past 2^53 (2^60)', (d) => ({ ...d, big: 2 ** 60 })],
]) {
  N(`a signed sidecar holding ${what} is refused with a key as AUTH or CORRUPT, never a TypeError`, async () => {
    const store = new MemoryStore();
    const doc = await signedFile(store);
    await store.write('m.safetensors.meta.json', enc.encode(JSON.stringify(edit(doc))));
    // Refused by the MAC check (AUTH NON_CANONICAL), or earlier by the sidecar's own shape rules (CORRUPT).
    for (const f of [() => verify({ store, key: 'm.safetensors' }, { key: KEY }), () => readSafetensors({ store, key: 'm.safetensors' }, { key: KEY })]) {
      const e = await caught(f());
      assert.ok(e instanceof CheckpointError, `not typed: ${e && e.stack}`);
      assert.ok((e.code === 'AUTH' && e.detail === 'NON_CANONICAL') || (e.code === 'CORRUPT' && e.detail === 'BAD_SIDECAR'), `${e.code} ${e.detail}`);
    }
  });
}
N('checkJsonMac on a document holding a float is AUTH NON_CANONICAL', () => {
  const signed = signJson({ a: 1 }, KEY);
  const e = typed(caughtSync(() => checkJsonMac({ ...signed, lr: 0.5 }, KEY, 'doc.json')), 'AUTH', 'NON_CANONICAL');
  assert.match(e.message, 'doc.json');
});
N.run();

// ---------------------------------------------------------------- the whole-file hash
const H = suite('sidecar: the whole-file SHA-256 is checked by sign, and by verify when the digests do not tile the data');
H('a stale whole-file sha256: sign refuses to bless it; verify names it when asked (wholeFile) or when it has to compute it (offsets unlike the header\'s)', async () => {
  const store = new MemoryStore();
  const doc = await signedFile(store);
  const { hmac, key_id, ...rest } = doc;
  await store.write('m.safetensors.meta.json', enc.encode(JSON.stringify({ ...rest, sha256: '0'.repeat(64) })));
  // One pass (test/verify-one-pass.test.js): the size, header hash and tensor digests bind every byte; the
  // recorded whole-file hash is not recomputed.
  assert.ok((await verify({ store, key: 'm.safetensors' })).ok);
  assert.match(typed(await caught(verify({ store, key: 'm.safetensors' }, { wholeFile: true })), 'INTEGRITY', 'FILE_HASH_MISMATCH').message, '0'.repeat(64));
  typed(await caught(sign({ store, key: 'm.safetensors' }, KEY)), 'INTEGRITY', 'FILE_HASH_MISMATCH');
  const [name, t] = Object.entries(rest.tensors)[0];
  const untiled = { ...rest, sha256: '0'.repeat(64), tensors: { ...rest.tensors, [name]: { ...t, data_offsets: [t.data_offsets[0], t.data_offsets[1] + 1] } } };
  await store.write('m.safetensors.meta.json', enc.encode(JSON.stringify(untiled)));
  const e = typed(await caught(verify({ store, key: 'm.safetensors' })), 'INTEGRITY', 'FILE_HASH_MISMATCH');
  assert.match(e.message, '0'.repeat(64));
  assert.is(parseSidecar(await store.read('m.safetensors.meta.json'), 'x').hmac, undefined, 'nothing was signed');
  // With the right value restored, both succeed.
  await store.write('m.safetensors.meta.json', enc.encode(JSON.stringify(rest)));
  assert.ok((await verify({ store, key: 'm.safetensors' })).ok);
  await sign({ store, key: 'm.safetensors' }, KEY);
  assert.is((await verify({ store, key: 'm.safetensors' }, { key: KEY })).hmac, 'verified');
});
H.run();

// ---------------------------------------------------------------- names are data
const P = suite('names are data: __proto__, constructor, toString are tensor names like any other');
P('a tensor named __proto__ round-trips, verifies, and tensor("__proto__") returns it', async () => {
  const store = new MemoryStore();
  const tensors = Object.create(null);
  tensors.__proto__ = { dtype: 'F32', shape: [1], data: new Float32Array([3]) };
  tensors.constructor = { dtype: 'F32', shape: [1], data: new Float32Array([4]) };
  tensors.toString = { dtype: 'F32', shape: [1], data: new Float32Array([5]) };
  const w = await writeSafetensors({ store, key: 'p.safetensors' }, tensors, { key: KEY });
  assert.ok(Object.prototype.hasOwnProperty.call(w.tensors, '__proto__'), 'the write result lists it');
  const sc = parseSidecar(await store.read('p.safetensors.meta.json'), 'sidecar');
  assert.ok(Object.prototype.hasOwnProperty.call(sc.tensors, '__proto__'), 'the sidecar lists it');
  const r = await verify({ store, key: 'p.safetensors' }, { key: KEY });
  assert.is(r.tensors, 3);
  const f = await readSafetensors({ store, key: 'p.safetensors' }, { key: KEY });
  const t = await f.tensor('__proto__');
  assert.ok(t !== Object.prototype);
  assert.equal([t.name, [...t.toFloat32()]], ['__proto__', [3]]);
  assert.equal([...(await f.tensor('toString')).toFloat32()], [5]);
  assert.ok(Object.prototype.hasOwnProperty.call(f.tensors, '__proto__'));
});
P('a sidecar that lacks __proto__ does not find Object.prototype in its place', async () => {
  const store = new MemoryStore();
  const tensors = Object.create(null);
  tensors.__proto__ = { dtype: 'U8', shape: [1], data: Uint8Array.of(1) };
  await writeSafetensors({ store, key: 'p.safetensors' }, tensors);
  const doc = JSON.parse(dec.decode(await store.read('p.safetensors.meta.json')));
  doc.tensors = {};
  await store.write('p.safetensors.meta.json', enc.encode(JSON.stringify(doc)));
  typed(await caught(verify({ store, key: 'p.safetensors' })), 'INTEGRITY', 'TENSOR_NOT_IN_SIDECAR');
});
P('a sharded model with a __proto__ tensor loads it from its shard', async () => {
  const store = new MemoryStore();
  const tensors = Object.create(null);
  tensors.__proto__ = { dtype: 'U8', shape: [4], data: Uint8Array.of(1, 2, 3, 4) };
  tensors.b = { dtype: 'U8', shape: [4], data: Uint8Array.of(5, 6, 7, 8) };
  await writeSafetensors({ store, key: 'model.safetensors' }, tensors, { maxShardSize: 4 });
  const f = await readSafetensors({ store, key: 'model.safetensors.index.json' });
  assert.equal([...(await f.tensor('__proto__')).bytes()], [1, 2, 3, 4]);
  const all = await f.load();
  assert.ok(Object.prototype.hasOwnProperty.call(all, '__proto__'));
  assert.ok((await verify({ store, key: 'model.safetensors.index.json' })).ok);
});
P.run();

// ---------------------------------------------------------------- URLs
const U = suite('URLs: unparsable ones are typed, secrets in them are never shown');
U('http://[::1 and other unparsable URLs are UNSUPPORTED BAD_URL, not a TypeError', async () => {
  for (const bad of ['http://[::1', 'https://exa mple.com:99999/x', 'file://%zz/x', 'http://h/%E0%A4%A']) {
    const e = typed(caughtSync(() => resolveSource(bad)), 'UNSUPPORTED', 'BAD_URL');
    assert.ok(e.message.length < 500);
  }
  typed(await caught(verify('http://[::1')), 'UNSUPPORTED', 'BAD_URL');
});
U('a query string (?token=…) is sent with every request but redacted in describe(), errors and paths', async () => {
  const seen = [];
  const fetch = async (url) => { seen.push(String(url)); return new Response('no', { status: 404 }); };
  const store = new HttpStore('https://host.example/models/', { search: '?token=s3cr3t&x=1', fetch });
  assert.is(store.describe('m.safetensors'), 'https://host.example/models/m.safetensors?token=REDACTED&x=REDACTED');
  const e = typed(await caught(store.read('m.safetensors')), 'NOT_FOUND');
  assert.is(seen[0], 'https://host.example/models/m.safetensors?token=s3cr3t&x=1', 'the request carries the token');
  await caught(store.read('m.safetensors.meta.json'));
  assert.is(seen[1], 'https://host.example/models/m.safetensors.meta.json?token=s3cr3t&x=1', 'so does the sidecar\'s');
  for (const shown of [e.message, e.path, JSON.stringify(e.toJSON())]) assert.not.match(shown, 's3cr3t');
  // resolveSource keeps the query for requests; its errors and descriptions redact it.
  const ref = resolveSource('https://user:pw@host.example/a/m.safetensors?sig=abc');
  assert.is(ref.store.describe(ref.key), 'https://host.example/a/m.safetensors?sig=REDACTED');
  const u = typed(caughtSync(() => resolveSource('gopher://host/x?token=s3cr3t')), 'UNSUPPORTED', 'UNKNOWN_SCHEME');
  assert.not.match(u.message + u.path, 's3cr3t');
  const b = typed(caughtSync(() => resolveSource('http://[::1/x?token=s3cr3t')), 'UNSUPPORTED', 'BAD_URL');
  assert.not.match(b.message + b.path, 's3cr3t');
});
U('a network failure names the redacted URL only', async () => {
  const fetch = async (url) => { throw new TypeError(`fetch failed for ${url}`); };
  const store = new HttpStore('https://host.example/', { search: 'token=s3cr3t', fetch });
  const e = typed(await caught(store.read('x')), 'IO');
  assert.not.match(e.message + e.path, 's3cr3t');
});
U.run();

// ---------------------------------------------------------------- files read back
const F = suite('files read back: bounded, and never quoted');
F('a 10M-character LATEST is CORRUPT BAD_LATEST without being read or quoted; listing still works', async () => {
  const store = new MemoryStore();
  await store.write('ck/LATEST', enc.encode('step-' + '0'.repeat(10_000_000)));
  const e = typed(await caught(verify({ store, key: 'ck' })), 'CORRUPT', 'BAD_LATEST');
  assert.ok(e.message.length < 400, `message of ${e.message.length} characters`);
  assert.equal(await listCheckpoints({ store, key: 'ck' }), []);
});
F('a JSON parse error names the file and the position, never its contents', async () => {
  const store = new MemoryStore();
  await signedFile(store);
  const secret = 'AKIA-SECRET-TOKEN-1234';
  for (const body of [`${secret} and more`, `{"format": ${secret}}`, `\u00ff${secret}`]) {
    await store.write('m.safetensors.meta.json', enc.encode(body));
    const e = typed(await caught(verify({ store, key: 'm.safetensors' })), 'CORRUPT', 'BAD_JSON');
    assert.match(e.message, 'm.safetensors.meta.json');
    assert.not.match(JSON.stringify(e.toJSON()), 'SECRET');
    assert.not.match(String(e.cause && e.cause.message), 'SECRET');
  }
  await store.write('m.safetensors.meta.json', Uint8Array.of(0xff, 0xfe, ...enc.encode(secret)));
  assert.not.match(typed(await caught(verify({ store, key: 'm.safetensors' })), 'CORRUPT', 'BAD_JSON').message, 'SECRET');
});
F.run();

// ---------------------------------------------------------------- what is not a regular file
if (!isBrowser) {
  const S = suite('fs: only regular files are read (a FIFO or a device is refused, never waited on)');
  S('a FIFO as the model or as its sidecar is IO/NOT_A_FILE, without blocking', async () => {
    const { spawnSync } = await import('node:child_process');
    const fs = await import('node:fs/promises');
    const { tempDir } = await import('./_env.js');
    const dir = await tempDir();
    assert.is(spawnSync('mkfifo', [`${dir}/pipe.safetensors`]).status, 0, 'mkfifo');
    typed(await caught(verify(`${dir}/pipe.safetensors`)), 'IO', 'NOT_A_FILE');
    typed(await caught(readSafetensors(`${dir}/pipe.safetensors`)), 'IO', 'NOT_A_FILE');
    await writeSafetensors(`${dir}/m.safetensors`, { a: { dtype: 'U8', shape: [1], data: Uint8Array.of(1) } });
    await fs.rm(`${dir}/m.safetensors.meta.json`);
    assert.is(spawnSync('mkfifo', [`${dir}/m.safetensors.meta.json`]).status, 0, 'mkfifo');
    typed(await caught(verify(`${dir}/m.safetensors`)), 'IO', 'NOT_A_FILE');
    typed(await caught(readSafetensors(`${dir}/m.safetensors`)), 'IO', 'NOT_A_FILE');
  });
  S('writing under /proc fails with a typed error instead of spinning (Node\'s mkdir -p never returned there)', async () => {
    const e = await caught(writeSafetensors('/proc/safeckpt-x/y/m.safetensors', { a: { dtype: 'U8', shape: [1], data: Uint8Array.of(1) } }));
    assert.ok(e instanceof CheckpointError, String(e && e.stack));
    assert.ok(e.code === 'IO' || e.code === 'NOT_FOUND', e.code);
  });
  S('a character device (/dev/zero) is refused rather than read for ever', async () => {
    typed(await caught(verify('/dev/zero')), 'IO', 'NOT_A_FILE');
  });
  S.run();
}

// ---------------------------------------------------------------- exact dims
const D = suite('shapes are exact: a dimension past 2^53 is never rounded');
/** A safetensors file whose one tensor 't' (U8) has the given shape, written as raw JSON numbers. */
function hugeDimFile(dimsText) {
  let json = `{"t":{"dtype":"U8","shape":[${dimsText}],"data_offsets":[0,0]}}`;
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(enc.encode(json), 8);
  return out;
}
D('[2^53+1, 0] is reported exactly (as a decimal string), and diff tells it from [2^53+2, 0]', async () => {
  const { parseHeader, diffTensors } = await import('../dist/index.js');
  const a = hugeDimFile('9007199254740993,0'), b = hugeDimFile('9007199254740994,0');
  assert.equal([...parseHeader(a).get('t').shape], ['9007199254740993', 0]);
  assert.equal([...parseHeader(hugeDimFile('18446744073709551615,0')).get('t').shape], ['18446744073709551615', 0]);
  assert.equal([...parseHeader(hugeDimFile('9007199254740991,0')).get('t').shape], [9007199254740991, 0]);
  const d = await diffTensors(a, b);
  assert.is(d.identical, false);
  assert.equal(d.changed.map((c) => [c.name, c.changes, c.a.shape, c.b.shape]), [['t', ['shape'], ['9007199254740993', 0], ['9007199254740994', 0]]]);
  assert.ok((await diffTensors(a, hugeDimFile('9007199254740993,0'))).identical);
});
D('such a file signs and verifies (the sidecar keeps the exact dimension)', async () => {
  const store = new MemoryStore();
  await store.write('h.safetensors', hugeDimFile('9007199254740993,0'));
  await sign({ store, key: 'h.safetensors' }, KEY);
  const sc = parseSidecar(await store.read('h.safetensors.meta.json'), 'sidecar');
  assert.equal(sc.tensors.t.shape, ['9007199254740993', 0]);
  assert.is((await verify({ store, key: 'h.safetensors' }, { key: KEY })).hmac, 'verified');
});
D.run();
