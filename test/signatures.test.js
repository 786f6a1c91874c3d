// Ed25519 signatures on sidecars, index sidecars and checkpoint manifests (docs/signatures.md):
// sign with a private key, verify with the public key alone, in every runtime through WebCrypto;
// and, in Node, openssl checks a signature from the documented bytes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verify, sign, writeSafetensors, readSafetensors, loadCheckpoint, openTensors, MemoryStore, generateSigningKey, keyFingerprint, sha256, SIGNATURE_PAYLOAD_TYPE } from '../dist/index.js';
import { runtime, hasFs, tempDir, rng, randomBytes, readRepoFile, listRepoDir, platformSha256Hex } from './_env.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function failure(p) {
  try { await p; } catch (e) { return e; }
  throw new Error('expected a failure');
}

function model(seed) {
  const next = rng(seed);
  return {
    'emb.weight': { dtype: 'F32', shape: [8, 4], data: randomBytes(128, next) },
    'fc.bias': { dtype: 'BF16', shape: [3], data: randomBytes(6, next) },
  };
}

async function written(seed = 1, opts = {}) {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, model(seed), opts);
  return { store, src: { store, key: 'm.safetensors' } };
}

const sidecarOf = async (store, key = 'm.safetensors.meta.json') => JSON.parse(dec.decode(await store.read(key)));
const putJson = (store, key, doc) => store.write(key, enc.encode(JSON.stringify(doc, null, 1) + '\n'));

/** The canonical form, written independently of the library: sorted keys (ASCII here), no whitespace. */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** The message docs/signatures.md says a signature covers, built from the document alone. */
function documentedMessage(doc) {
  const { hmac, key_id, signatures, ...rest } = doc;
  const body = enc.encode(canonical(rest));
  const head = enc.encode(`DSSEv1 ${SIGNATURE_PAYLOAD_TYPE.length} ${SIGNATURE_PAYLOAD_TYPE} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

const K = suite('signatures: keys');
K('PEM, JWK, CryptoKey and CryptoKeyPair all sign; the keyid is the SHA-256 of the public key\'s SPKI', async () => {
  const pem = await generateSigningKey();
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const id = await platformSha256Hex(spki);
  assert.is(await keyFingerprint(pair.publicKey), id);
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const hidden = await crypto.subtle.importKey('pkcs8', await crypto.subtle.exportKey('pkcs8', pair.privateKey), { name: 'Ed25519' }, false, ['sign']);
  for (const [privateKey, publicKey, keyid] of [
    [pem.privateKeyPem, pem.publicKeyPem, pem.keyid],
    [enc.encode(pem.privateKeyPem), enc.encode(pem.publicKeyPem), pem.keyid],
    [jwk, { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, id],
    [JSON.stringify(jwk), pair.publicKey, id],
    [pair.privateKey, pair.publicKey, id],
    [{ privateKey: hidden, publicKey: pair.publicKey }, pair.publicKey, id],
  ]) {
    const { src } = await written(2);
    const r = await sign(src, { privateKey });
    assert.is(r.keyid, keyid);
    const v = await verify(src, { publicKey });
    assert.equal([v.signature, v.signedBy], ['verified', [keyid]]);
  }
});
K('what is not an Ed25519 key of the right kind is UNSUPPORTED BAD_KEY saying what was found', async () => {
  const pem = await generateSigningKey();
  const ec = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const hidden = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const { src } = await written(3);
  for (const [opts, says] of [
    [{ privateKey: pem.publicKeyPem }, 'no PEM "PRIVATE KEY"'],
    [{ privateKey: ec.privateKey }, 'ECDSA'],
    [{ privateKey: hidden.privateKey }, 'not extractable'],
    [{ privateKey: '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----' }, 'decrypt it first'],
    [{ privateKey: { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' } }, 'no "d"'],
    [{ privateKey: 42 }, 'number is not a key'],
  ]) {
    const e = await failure(sign(src, opts));
    assert.equal([e.code, e.detail], ['UNSUPPORTED', 'BAD_KEY'], e.message);
    assert.ok(e.message.includes(says), e.message);
  }
  const e = await failure(verify(src, { publicKey: pem.privateKeyPem }));
  assert.equal([e.code, e.detail], ['UNSUPPORTED', 'BAD_KEY']);
  assert.ok(e.message.includes('verifying needs no secret'), e.message);
  assert.is((await failure(sign(src, {}))).detail, 'NO_KEY');
});

const F = suite('signatures: a single file');
F('a signed sidecar verifies with the public key alone; without one the signature is reported, not checked', async () => {
  const k = await generateSigningKey();
  const { src } = await written(4);
  await sign(src, { privateKey: k.privateKeyPem });
  const v = await verify(src, { publicKey: k.publicKeyPem });
  assert.equal([v.ok, v.sidecar, v.hmac, v.signature, v.signedBy], [true, 'verified', 'unsigned', 'verified', [k.keyid]]);
  const plain = await verify(src);
  assert.equal([plain.signature, plain.signedBy], ['not-checked', [k.keyid]]);
});
F('another public key is AUTH SIGNATURE_WRONG_KEY naming the signer and the key given', async () => {
  const [a, b] = [await generateSigningKey(), await generateSigningKey()];
  const { src } = await written(5);
  await sign(src, { privateKey: a.privateKeyPem });
  const e = await failure(verify(src, { publicKey: b.publicKeyPem }));
  assert.equal([e.code, e.detail, e.path], ['AUTH', 'SIGNATURE_WRONG_KEY', 'memory:m.safetensors.meta.json']);
  assert.equal(e.data, { expected: b.keyid, found: [a.keyid] });
  assert.ok(e.message.includes(a.keyid.slice(0, 16)) && e.message.includes(b.keyid.slice(0, 16)), e.message);
});
F('an unsigned sidecar, or none, with a public key given is AUTH SIGNATURE_MISSING', async () => {
  const k = await generateSigningKey();
  const { src, store } = await written(6);
  const u = await failure(verify(src, { publicKey: k.publicKeyPem }));
  assert.equal([u.code, u.detail], ['AUTH', 'SIGNATURE_MISSING']);
  await store.remove('m.safetensors.meta.json');
  const e = await failure(verify(src, { publicKey: k.publicKeyPem }));
  assert.equal([e.code, e.detail], ['AUTH', 'SIGNATURE_MISSING']);
  assert.ok(e.message.includes('m.safetensors.meta.json'), e.message);
});
F('a changed data byte is INTEGRITY naming the tensor; a changed digest in the signed sidecar is AUTH SIGNATURE_MISMATCH', async () => {
  const k = await generateSigningKey();
  const { src, store } = await written(7);
  await sign(src, { privateKey: k.privateKeyPem });
  const bad = (await store.read('m.safetensors')).slice();
  bad[bad.length - 1] ^= 1;
  await store.write('m.safetensors', bad);
  const e = await failure(verify(src, { publicKey: k.publicKeyPem }));
  assert.equal([e.code, e.tensor], ['INTEGRITY', 'fc.bias']);
  // The attacker changes the data and the sidecar's digests to match: the signature no longer does.
  const sc = await sidecarOf(store);
  const { sha256 } = await import('../dist/index.js');
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const header = 8 + Number(new DataView(bad.buffer, bad.byteOffset).getBigUint64(0, true));
  const [s, t] = sc.tensors['fc.bias'].data_offsets;
  sc.tensors['fc.bias'].sha256 = hex(sha256(bad.subarray(header + s, header + t)));
  sc.sha256 = hex(sha256(bad));
  await putJson(store, 'm.safetensors.meta.json', sc);
  await verify(src); // consistent, so it passes without the key…
  const m = await failure(verify(src, { publicKey: k.publicKeyPem })); // …and the signature catches it
  assert.equal([m.code, m.detail], ['AUTH', 'SIGNATURE_MISMATCH']);
  // A signature changed in transit is MISMATCH too; one that is not 64 bytes of base64 is MALFORMED.
  const fresh = await written(7);
  await sign(fresh.src, { privateKey: k.privateKeyPem });
  const doc = await sidecarOf(fresh.store);
  const flipped = doc.signatures[0].sig.startsWith('A') ? 'B' + doc.signatures[0].sig.slice(1) : 'A' + doc.signatures[0].sig.slice(1);
  await putJson(fresh.store, 'm.safetensors.meta.json', { ...doc, signatures: [{ ...doc.signatures[0], sig: flipped }] });
  assert.is((await failure(verify(fresh.src, { publicKey: k.publicKeyPem }))).detail, 'SIGNATURE_MISMATCH');
  await putJson(fresh.store, 'm.safetensors.meta.json', { ...doc, signatures: [{ ...doc.signatures[0], sig: 'not base64!' }] });
  assert.is((await failure(verify(fresh.src, { publicKey: k.publicKeyPem }))).detail, 'SIGNATURE_MALFORMED');
});
F('the private key is written nowhere: no store object holds it, in PEM, DER or JWK form', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const { src, store } = await written(8);
  await sign(src, { privateKey: jwk });
  const d = jwk.d.replace(/-/g, '+').replace(/_/g, '/');
  const raw = Uint8Array.from(atob(d + '='.repeat((4 - (d.length % 4)) % 4)), (c) => c.charCodeAt(0));
  for (const { key } of await store.list('')) {
    const bytes = await store.read(key);
    const text = dec.decode(bytes);
    assert.not.ok(text.includes(jwk.d) || text.includes(d.slice(0, 20)), key);
    for (let i = 0; i + raw.length <= bytes.length; i++) assert.not.ok(raw.every((x, j) => bytes[i + j] === x), `${key} holds the key's bytes at ${i}`);
  }
});

const C = suite('signatures: several, with an HMAC');
C('two signatures and an HMAC, added in any order, all verify; re-signing with a key replaces its signature', async () => {
  const [a, b] = [await generateSigningKey(), await generateSigningKey()];
  const { src, store } = await written(9);
  await sign(src, { privateKey: a.privateKeyPem });
  await sign(src, 'hmac-key', { keyId: 'ci' });
  await sign(src, { privateKey: b.privateKeyPem });
  const r = await verify(src, { key: 'hmac-key' });
  assert.equal([r.hmac, r.keyId, r.signedBy], ['verified', 'ci', [a.keyid, b.keyid]]);
  assert.is((await verify(src, { publicKey: a.publicKeyPem, key: 'hmac-key' })).signature, 'verified');
  assert.is((await verify(src, { publicKey: b.publicKeyPem })).signature, 'verified');
  await sign(src, { privateKey: a.privateKeyPem });
  assert.is((await sidecarOf(store)).signatures.length, 2);
  assert.is((await verify(src, { key: 'hmac-key', publicKey: a.publicKeyPem })).hmac, 'verified');
  // An HMAC and a signature in one call.
  const one = await written(10);
  await sign(one.src, { key: 'k2', privateKey: a.privateKeyPem });
  assert.equal([(await verify(one.src, { key: 'k2', publicKey: a.publicKeyPem })).signature], ['verified']);
});
C('a sidecar signed at write time keeps its HMAC when a signature is added later', async () => {
  const k = await generateSigningKey();
  const { src } = await written(11, { key: 'w', keyId: 'writer' });
  await sign(src, { privateKey: k.privateKeyPem });
  const r = await verify(src, { key: 'w', publicKey: k.publicKeyPem });
  assert.equal([r.hmac, r.keyId, r.signature], ['verified', 'writer', 'verified']);
});

const S = suite('signatures: sharded models');
S('every shard sidecar and the index sidecar are signed; a changed index sidecar or shard sidecar is AUTH', async () => {
  const k = await generateSigningKey();
  const store = new MemoryStore();
  const next = rng(12);
  const t = {};
  for (let i = 0; i < 4; i++) t[`l${i}.w`] = { dtype: 'F32', shape: [16], data: randomBytes(64, next) };
  await writeSafetensors({ store, key: 'big.safetensors' }, t, { maxShardSize: 128 });
  const src = { store, key: 'big.safetensors.index.json' };
  const r = await sign(src, { privateKey: k.privateKeyPem });
  assert.is(r.sidecars.length, 3);
  const v = await verify(src, { publicKey: k.publicKeyPem });
  assert.equal([v.kind, v.signature, v.signedBy, v.files.map((f) => f.signature)], ['sharded', 'verified', [k.keyid], ['verified', 'verified']]);
  const isc = await sidecarOf(store, 'big.safetensors.index.json.meta.json');
  await putJson(store, 'big.safetensors.index.json.meta.json', { ...isc, size: isc.size + 1 });
  assert.equal([(await failure(verify(src, { publicKey: k.publicKeyPem }))).detail], ['SIGNATURE_MISMATCH']);
  await putJson(store, 'big.safetensors.index.json.meta.json', isc);
  const shard = (await store.list('')).map((x) => x.key).find((x) => x.endsWith('00002.safetensors.meta.json'));
  const sc = await sidecarOf(store, shard);
  await putJson(store, shard, { ...sc, metadata: { injected: 'yes' } });
  const e = await failure(verify(src, { publicKey: k.publicKeyPem }));
  assert.equal([e.code, e.detail, e.path], ['AUTH', 'SIGNATURE_MISMATCH', `memory:${shard}`]);
});

S('sign() of a sharded model cancelled at any progress point, or failing while it writes, leaves the old signed set or the new one, never a mix', async () => {
  const [a, b] = [await generateSigningKey(), await generateSigningKey()];
  const src = (store) => ({ store, key: 'big.safetensors.index.json' });
  const build = async () => {
    const store = new MemoryStore();
    const next = rng(30);
    const t = {};
    for (let i = 0; i < 3; i++) t[`l${i}.w`] = { dtype: 'F32', shape: [64], data: randomBytes(256, next) };
    await writeSafetensors({ store, key: 'big.safetensors' }, t, { maxShardSize: 300 });
    await sign(src(store), { privateKey: a.privateKeyPem });
    return store;
  };
  const state = async (store) => {
    const keys = (await store.list('')).map((e) => e.key).sort();
    assert.not.ok(keys.some((k) => k.includes('.tmp-')), `a temporary file is left: ${keys}`);
    return Object.fromEntries(await Promise.all(keys.filter((k) => k.endsWith('.meta.json')).map(async (k) => [k, dec.decode(await store.read(k))])));
  };
  const signedBy = (store, k) => verify(src(store), { publicKey: k.publicKeyPem }).then(() => true, () => false);
  // The old set, and the new one an uninterrupted sign gives (Ed25519 signatures are deterministic).
  const ref = await build();
  const oldSet = await state(ref);
  let calls = 0;
  await sign(src(ref), { privateKey: b.privateKeyPem, onProgress: () => calls++ });
  const newSet = await state(ref);
  assert.is(Object.keys(newSet).length, 4);
  assert.ok(Object.keys(newSet).every((k) => newSet[k] !== oldSet[k]), 'every sidecar gains a signature');
  assert.ok(calls >= 4, `${calls} progress calls`);
  const outcomes = [];
  for (let at = 1; at <= calls; at++) {
    const store = await build();
    const ac = new AbortController();
    let n = 0;
    const r = await sign(src(store), { privateKey: b.privateKeyPem, signal: ac.signal, onProgress: () => { if (++n === at) ac.abort(new Error('stop')); } }).then(() => 'signed', (e) => e);
    const now = await state(store);
    if (r === 'signed') assert.equal(now, newSet, `abort at progress call ${at}: signed, so the new set`);
    else {
      assert.is(r.message, 'stop');
      assert.equal(now, oldSet, `abort at progress call ${at}: cancelled, so the old set`);
    }
    assert.ok(await signedBy(store, a), `abort at ${at}: the old key still verifies`);
    assert.is(await signedBy(store, b), r === 'signed', `abort at ${at}: the new key verifies only the new set`);
    outcomes.push(r === 'signed' ? 'new' : 'old');
  }
  assert.ok(outcomes.includes('old') && outcomes.filter((x) => x === 'old').length >= 3, outcomes.join(' '));
  // A write or rename failing in the write phase (a full disk): what was replaced is put back.
  for (let failAt = 0; failAt < 8; failAt++) {
    const inner = await build();
    let i = 0;
    const flaky = new Proxy(inner, {
      get(t, p) {
        if (p === 'write' || p === 'rename') return async (...args) => { if (i++ === failAt) throw new Error('disk full'); return t[p](...args); };
        const v = t[p];
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const e = await failure(sign(src(flaky), { privateKey: b.privateKeyPem }));
    assert.is(e.message, 'disk full');
    assert.equal(await state(inner), oldSet, `failing write/rename ${failAt}`);
  }
});

const P = suite('signatures: checkpoints');
P('sign(checkpoint, { privateKey }) signs the manifest after checking every file; verify checks it; its HMAC and the load are unaffected', async () => {
  const k = await generateSigningKey();
  const other = await generateSigningKey();
  const store = new MemoryStore();
  const root = 'test/fixtures/checkpoint/adam-node';
  for (const f of ['LATEST', 'registry.json']) await store.write(`ck/${f}`, await readRepoFile(`${root}/${f}`));
  for (const f of await listRepoDir(`${root}/step-00000020`)) await store.write(`ck/step-00000020/${f}`, await readRepoFile(`${root}/step-00000020/${f}`));
  const src = { store, key: 'ck' };
  const before = await verify(src);
  assert.equal([before.kind, before.signature], ['checkpoint', 'unsigned']);
  const r = await sign(src, { privateKey: k.privateKeyPem });
  assert.equal(r.sidecars, ['memory:ck/step-00000020/checkpoint.json']);
  const v = await verify(src, { publicKey: k.publicKeyPem });
  assert.equal([v.kind, v.signature, v.signedBy, v.hmac], ['checkpoint', 'verified', [k.keyid], before.hmac]);
  assert.equal([(await failure(verify(src, { publicKey: other.publicKeyPem }))).detail], ['SIGNATURE_WRONG_KEY']);
  const m = await sidecarOf(store, 'ck/step-00000020/checkpoint.json');
  await putJson(store, 'ck/step-00000020/checkpoint.json', { ...m, metrics: { loss: 0 } });
  assert.equal([(await failure(verify(src, { publicKey: k.publicKeyPem }))).detail], ['SIGNATURE_MISMATCH']);
  // An HMAC key alone cannot be applied to a checkpoint after the fact: said so.
  assert.equal([(await failure(sign(src, 'k'))).detail], ['CHECKPOINT']);
  // A checkpoint whose files no longer match is never signed.
  await putJson(store, 'ck/step-00000020/checkpoint.json', m);
  const w = await store.read('ck/step-00000020/model.safetensors');
  w[w.length - 1] ^= 1;
  await store.write('ck/step-00000020/model.safetensors', w);
  assert.is((await failure(sign(src, { privateKey: other.privateKeyPem }))).code, 'INTEGRITY');
});

const R = suite('signatures: readers take the public key as verify does');
const hexOf = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
R('readSafetensors(src, { publicKey }): no signature, another key or a bad key fails before any tensor is returned; the signer\'s key reads', async () => {
  const [k, other] = [await generateSigningKey(), await generateSigningKey()];
  const { src, store } = await written(20);
  // Unsigned (an HMAC-free sidecar): SIGNATURE_MISSING, whether or not the tensors are loaded or verified.
  for (const o of [{}, { load: 'none' }, { verify: false }]) {
    const e = await failure(readSafetensors(src, { publicKey: k.publicKeyPem, ...o }));
    assert.equal([e.code, e.detail, e.path], ['AUTH', 'SIGNATURE_MISSING', 'memory:m.safetensors.meta.json'], JSON.stringify(o));
  }
  await sign(src, { privateKey: k.privateKeyPem });
  const f = await readSafetensors(src, { publicKey: k.publicKeyPem });
  assert.equal(Object.keys(f.tensors), ['emb.weight', 'fc.bias']);
  assert.equal([...f.tensors['fc.bias'].bytes()], [...model(20)['fc.bias'].data]);
  const w = await failure(readSafetensors(src, { publicKey: other.publicKeyPem, load: 'none' }));
  assert.equal([w.code, w.detail, w.data.found], ['AUTH', 'SIGNATURE_WRONG_KEY', [k.keyid]]);
  assert.equal([(await failure(readSafetensors(src, { publicKey: 'not a key' }))).detail], ['BAD_KEY']);
  // No sidecar at all: nothing carries a signature.
  const plain = await written(20);
  await plain.store.remove('m.safetensors.meta.json');
  assert.equal([(await failure(readSafetensors(plain.src, { publicKey: k.publicKeyPem }))).detail], ['SIGNATURE_MISSING']);
  // openTensors (diff, validation) takes it too.
  assert.equal([(await failure(openTensors(plain.src, { publicKey: k.publicKeyPem }))).detail], ['SIGNATURE_MISSING']);
  assert.equal((await openTensors(src, { publicKey: k.publicKeyPem })).names, ['emb.weight', 'fc.bias']);
  assert.is((await failure(openTensors(src, { publicKey: other.publicKeyPem }))).detail, 'SIGNATURE_WRONG_KEY');
});
R('file.slice trusts only signed chunk digests: data and digests changed together pass without the key and are AUTH with it; a changed chunk is INTEGRITY', async () => {
  const k = await generateSigningKey();
  const store = new MemoryStore();
  const data = Float32Array.from({ length: 64 * 8 }, (_, i) => i);
  await writeSafetensors({ store, key: 'm.safetensors' }, { w: { dtype: 'F32', shape: [64, 8], data } }, { chunks: { threshold: 1024, size: 256 } });
  const src = { store, key: 'm.safetensors' };
  await sign(src, { privateKey: k.privateKeyPem });
  const good = await readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' });
  assert.equal([...(await good.slice('w', [[10, 12]])).toFloat32()], [...data.subarray(80, 96)]);
  const signed = await store.read('m.safetensors.meta.json');
  // An attacker rewrites rows 10–11 and the digests that cover them (chunk 1, the tensor, the file).
  const bytes = (await store.read('m.safetensors')).slice();
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  bytes[dataStart + 10 * 32] ^= 0x40;
  const sc = await sidecarOf(store);
  sc.tensors.w.chunks.sha256[1] = hexOf(sha256(bytes.subarray(dataStart + 256, dataStart + 512)));
  sc.tensors.w.sha256 = hexOf(sha256(bytes.subarray(dataStart)));
  sc.sha256 = hexOf(sha256(bytes));
  await store.write('m.safetensors', bytes);
  await putJson(store, 'm.safetensors.meta.json', sc);
  const forged = await readSafetensors(src, { load: 'none' });
  assert.not.equal([...(await forged.slice('w', [[10, 12]])).toFloat32()], [...data.subarray(80, 96)]); // the forgery reads without a key…
  const e = await failure(readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' })); // …and is refused with one
  assert.equal([e.code, e.detail], ['AUTH', 'SIGNATURE_MISMATCH']);
  // The signed sidecar back, the data still changed: the slice over the chunk is INTEGRITY, one elsewhere reads.
  await store.write('m.safetensors.meta.json', signed);
  const back = await readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' });
  const c = await failure(back.slice('w', [[10, 12]]));
  assert.equal([c.code, c.detail, c.tensor, c.data.chunk], ['INTEGRITY', 'CHUNK_HASH_MISMATCH', 'w', 1]);
  assert.equal([...(await back.slice('w', [[40, 42]])).toFloat32()], [...data.subarray(320, 336)]);
});
R('a sharded model: the index sidecar and every shard sidecar must be signed by the key; a shard from another signed model is refused', async () => {
  const [k, other] = [await generateSigningKey(), await generateSigningKey()];
  const make = async (seed) => {
    const store = new MemoryStore();
    const next = rng(seed);
    const t = {};
    for (let i = 0; i < 4; i++) t[`l${i}.w`] = { dtype: 'F32', shape: [16], data: randomBytes(64, next) };
    await writeSafetensors({ store, key: 'big.safetensors' }, t, { maxShardSize: 128 });
    return { store, src: { store, key: 'big.safetensors.index.json' } };
  };
  const { store, src } = await make(21);
  assert.is((await failure(readSafetensors(src, { publicKey: k.publicKeyPem }))).detail, 'SIGNATURE_MISSING');
  await sign(src, { privateKey: k.privateKeyPem });
  const f = await readSafetensors(src, { publicKey: k.publicKeyPem });
  assert.equal(f.names.length, 4);
  assert.is((await failure(readSafetensors(src, { publicKey: other.publicKeyPem, load: 'none' }))).detail, 'SIGNATURE_WRONG_KEY');
  const shards = (await store.list('')).map((x) => x.key).filter((x) => /-0000\d-of-00002\.safetensors$/.test(x)).sort();
  // The index sidecar's signature stripped (the shards' still there): AUTH naming the index sidecar.
  const isc = await sidecarOf(store, 'big.safetensors.index.json.meta.json');
  await putJson(store, 'big.safetensors.index.json.meta.json', { ...isc, signatures: [] });
  const m = await failure(readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' }));
  assert.equal([m.code, m.detail, m.path], ['AUTH', 'SIGNATURE_MISSING', 'memory:big.safetensors.index.json.meta.json']);
  await store.remove('big.safetensors.index.json.meta.json');
  assert.is((await failure(readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' }))).detail, 'SIGNATURE_MISSING');
  await putJson(store, 'big.safetensors.index.json.meta.json', isc);
  // A shard (with its own validly signed sidecar) of another model signed with the same key: bound by the index sidecar.
  const alien = await make(22);
  await sign(alien.src, { privateKey: k.privateKeyPem });
  for (const key of [shards[1], shards[1] + '.meta.json']) await store.write(key, await alien.store.read(key));
  const b = await failure(readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' }));
  assert.equal([b.code, b.detail], ['INTEGRITY', 'SHARD_MISMATCH']);
  // A shard sidecar whose signature was stripped: AUTH naming it.
  const s0 = await sidecarOf(store, shards[0] + '.meta.json');
  await putJson(store, shards[0] + '.meta.json', { ...s0, signatures: undefined });
  const u = await failure(readSafetensors(src, { publicKey: k.publicKeyPem, load: 'none' }));
  assert.equal([u.code, u.detail, u.path], ['AUTH', 'SIGNATURE_MISSING', `memory:${shards[0]}.meta.json`]);
});
R('loadCheckpoint and readSafetensors of a checkpoint take the public key: its manifest must be signed by it', async () => {
  const [k, other] = [await generateSigningKey(), await generateSigningKey()];
  const store = new MemoryStore();
  const root = 'test/fixtures/checkpoint/adam-node';
  for (const f of ['LATEST', 'registry.json']) await store.write(`ck/${f}`, await readRepoFile(`${root}/${f}`));
  for (const f of await listRepoDir(`${root}/step-00000020`)) await store.write(`ck/step-00000020/${f}`, await readRepoFile(`${root}/step-00000020/${f}`));
  const src = { store, key: 'ck' };
  for (const read of [(o) => loadCheckpoint(src, o), (o) => readSafetensors(src, o), (o) => openTensors(src, o)]) {
    const e = await failure(read({ publicKey: k.publicKeyPem }));
    assert.equal([e.code, e.detail, e.path], ['AUTH', 'SIGNATURE_MISSING', 'memory:ck/step-00000020/checkpoint.json']);
  }
  await sign(src, { privateKey: k.privateKeyPem });
  const l = await loadCheckpoint(src, { publicKey: k.publicKeyPem });
  assert.is(l.step, 20);
  const f = await readSafetensors(src, { publicKey: k.publicKeyPem });
  assert.equal(Object.keys(f.tensors).length, f.names.length);
  for (const read of [(o) => loadCheckpoint(src, o), (o) => readSafetensors(src, o)]) {
    assert.is((await failure(read({ publicKey: other.publicKeyPem }))).detail, 'SIGNATURE_WRONG_KEY');
    assert.is((await failure(read({ publicKey: k.privateKeyPem }))).detail, 'BAD_KEY');
  }
});

const O = suite('signatures: a third party checks them with openssl');
if (runtime === 'node') {
  O('keys from openssl genpkey work as they are, and openssl verifies the signature over the documented bytes', async () => {
    const { execFileSync } = await import('node:child_process');
    const fs = await import('node:fs/promises');
    const dir = await tempDir();
    try {
      execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', `${dir}/k.pem`]);
      execFileSync('openssl', ['pkey', '-in', `${dir}/k.pem`, '-pubout', '-out', `${dir}/k.pub`]);
      const f = `${dir}/m.safetensors`;
      await writeSafetensors(f, model(13), { metadata: { note: 'for strangers' } });
      const r = await sign(f, { privateKey: await fs.readFile(`${dir}/k.pem`, 'utf8') });
      const keyid = (await platformSha256Hex(execFileSync('openssl', ['pkey', '-pubin', '-in', `${dir}/k.pub`, '-outform', 'DER'])));
      assert.is(r.keyid, keyid);
      const doc = JSON.parse(await fs.readFile(`${f}.meta.json`, 'utf8'));
      await fs.writeFile(`${dir}/msg`, documentedMessage(doc));
      await fs.writeFile(`${dir}/sig`, Buffer.from(doc.signatures[0].sig, 'base64'));
      const ok = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', `${dir}/k.pub`, '-rawin', '-in', `${dir}/msg`, '-sigfile', `${dir}/sig`], { encoding: 'utf8' });
      assert.ok(ok.includes('Signature Verified Successfully'), ok);
      // The same bytes with one digit changed: openssl refuses them (the test can fail).
      const m = documentedMessage({ ...doc, size: doc.size + 1 });
      await fs.writeFile(`${dir}/msg`, m);
      let refused = false;
      try { execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', `${dir}/k.pub`, '-rawin', '-in', `${dir}/msg`, '-sigfile', `${dir}/sig`], { stdio: 'pipe' }); } catch { refused = true; }
      assert.ok(refused);
      // And safeckpt verifies with the openssl-written public key.
      assert.is((await verify(f, { publicKey: await fs.readFile(`${dir}/k.pub`) })).signature, 'verified');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
  O('the CLI: keygen, sign --private-key, verify --public-key (exit 1 AUTH with another key)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const fs = await import('node:fs/promises');
    const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const dir = await tempDir();
    const run = (...args) => {
      const p = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
      const lines = p.stdout.trim().split('\n');
      return { status: p.status, err: p.stderr, json: (() => { try { return JSON.parse(lines[lines.length - 1]); } catch { return null; } })() };
    };
    try {
      await writeSafetensors(`${dir}/m.safetensors`, model(14));
      let r = run('keygen', 'release', '--json');
      assert.is(r.status, 0, r.err);
      assert.is((await fs.stat(`${dir}/release.key`)).mode & 0o777, 0o600);
      assert.is(run('keygen', 'release').status, 1); // never overwritten
      const keyid = r.json.keyid;
      r = run('sign', 'm.safetensors', '--private-key', 'release.key', '--json');
      assert.equal([r.status, r.json.keyid], [0, keyid], r.err);
      r = run('verify', 'm.safetensors', '--public-key', 'release.pub', '--json');
      assert.equal([r.status, r.json.signature, r.json.signedBy], [0, 'verified', [keyid]], r.err);
      run('keygen', 'other');
      r = run('verify', 'm.safetensors', '--public-key', 'other.pub', '--json');
      assert.equal([r.status, r.json.code, r.json.detail], [1, 'AUTH', 'SIGNATURE_WRONG_KEY']);
      r = run('verify', 'm.safetensors', '--public-key', 'missing.pub', '--json');
      assert.equal([r.status, r.json.code], [1, 'NOT_FOUND']);
      assert.is(run('sign', 'm.safetensors').status, 2);
      assert.not.ok((await fs.readFile(`${dir}/m.safetensors.meta.json`, 'utf8')).includes((await fs.readFile(`${dir}/release.key`, 'utf8')).split('\n')[1]));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
}

K.run();
F.run();
C.run();
S.run();
P.run();
R.run();
O.run();
