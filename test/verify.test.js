import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verify, sign, writeSafetensors, MemoryStore, parseSidecar } from '../dist/index.js';
import { readRepoFile, hasFs, tempDir, rng, randomBytes } from './_env.js';

const enc = new TextEncoder();
const KEY = 'k3y-for-tests';

async function code(p) {
  try { await p; } catch (e) { return e; }
  return null;
}

function model(seed) {
  const next = rng(seed);
  return {
    'emb.weight': { dtype: 'F32', shape: [4, 4], data: randomBytes(64, next) },
    'fc.bias': { dtype: 'BF16', shape: [3], data: randomBytes(6, next) },
    mask: { dtype: 'BOOL', shape: [5], data: Uint8Array.of(1, 0, 1, 1, 0) },
  };
}

const V = suite('verify: a single file');
V('a written file verifies; with the key its HMAC is verified; without, reported as not checked', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, model(1), { key: KEY, keyId: 'ci', metadata: { a: 'b' } });
  const r = await verify({ store, key: 'm.safetensors' }, { key: KEY });
  assert.equal([r.ok, r.kind, r.sidecar, r.hmac, r.keyId, r.tensors], [true, 'safetensors', 'verified', 'verified', 'ci', 3]);
  assert.equal(r.metadata, { a: 'b' });
  assert.is((await verify({ store, key: 'm.safetensors' })).hmac, 'not-checked');
});
V('changed tensor data is INTEGRITY naming the tensor', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, model(2));
  const b = await store.read('m.safetensors');
  b[b.length - 7] ^= 0x10; // inside fc.bias/mask region
  const e = await code(verify({ store, key: 'm.safetensors' }));
  assert.is(e.code, 'INTEGRITY');
  assert.ok(['fc.bias', 'mask', 'emb.weight'].includes(e.tensor));
  assert.ok(e.message.includes(e.tensor));
});
V('a wrong key, or a key for an unsigned file, is AUTH', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 's.safetensors' }, model(3), { key: KEY });
  await writeSafetensors({ store, key: 'u.safetensors' }, model(3));
  assert.is((await code(verify({ store, key: 's.safetensors' }, { key: 'other' }))).code, 'AUTH');
  assert.is((await code(verify({ store, key: 'u.safetensors' }, { key: KEY }))).code, 'AUTH');
});
V('no sidecar: reported as missing, structure still checked; strict refuses; a key makes it AUTH', async () => {
  const bytes = await readRepoFile('test/fixtures/reference/safetensors/valid/state_dict_f32.safetensors');
  const r = await verify(bytes);
  assert.equal([r.sidecar, r.hmac, r.tensors], ['missing', 'unsigned', 7]);
  assert.ok(r.warnings[0].includes('no sidecar'));
  const e = await code(verify(bytes, { strict: true }));
  assert.equal([e.code, e.detail], ['INTEGRITY', 'SIDECAR_MISSING']);
  assert.is((await code(verify(bytes, { key: KEY }))).code, 'AUTH');
  const cut = bytes.subarray(0, bytes.length - 1);
  assert.is((await code(verify(cut))).code, 'CORRUPT');
});
V('a missing file is NOT_FOUND naming the path', async () => {
  const e = await code(verify('memory:absent/w.safetensors'));
  assert.is(e.code, 'NOT_FOUND');
  assert.ok(e.message.includes('absent/w.safetensors'));
});
V('every single-byte change of a small signed file or of its sidecar is detected (INTEGRITY, AUTH or CORRUPT)', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'f.safetensors' }, model(4), { key: KEY, metadata: { note: 'x' } });
  for (const target of ['f.safetensors', 'f.safetensors.meta.json']) {
    const orig = await store.read(target);
    const seen = new Set();
    for (let i = 0; i < orig.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const b = orig.slice();
        b[i] ^= x;
        await store.write(target, b);
        const e = await code(verify({ store, key: 'f.safetensors' }, { key: KEY }));
        if (!e || !['INTEGRITY', 'AUTH', 'CORRUPT', 'UNSUPPORTED'].includes(e.code)) {
          assert.unreachable(`${target} byte ${i} ^ ${x}: ${e ? e.code + ' ' + e.message : 'accepted'}`);
        }
        seen.add(e.code);
      }
    }
    await store.write(target, orig);
    assert.ok(seen.size >= 2, [...seen].join());
  }
  assert.is((await verify({ store, key: 'f.safetensors' }, { key: KEY })).hmac, 'verified');
});

const G = suite('sign');
G('signs a reference-made file without a sidecar; the new sidecar verifies with the key only', async () => {
  const store = new MemoryStore({ 'r.safetensors': (await readRepoFile('test/fixtures/reference/safetensors/valid/dtypes_common.safetensors')).slice() });
  await sign({ store, key: 'r.safetensors' }, KEY, { keyId: 'release' });
  const sc = parseSidecar(await store.read('r.safetensors.meta.json'), 'x');
  assert.is(sc.sha256, '45f7c403113749b3c5d8bfc3b715b3ed8ca086eafa4657cbee323b0551c726af');
  assert.is(sc.key_id, 'release');
  assert.is((await verify({ store, key: 'r.safetensors' }, { key: KEY })).hmac, 'verified');
  assert.is((await code(verify({ store, key: 'r.safetensors' }, { key: 'nope' }))).code, 'AUTH');
});
G('refuses to bless a file that no longer matches its sidecar', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, model(5));
  const b = await store.read('m.safetensors');
  b[b.length - 1] ^= 1;
  assert.is((await code(sign({ store, key: 'm.safetensors' }, KEY))).code, 'INTEGRITY');
});

const H = suite('verify: sharded models');
H('a signed sharded model verifies; a changed shard is INTEGRITY, a changed weight map is INTEGRITY/AUTH', async () => {
  const store = new MemoryStore();
  const next = rng(6);
  const t = {};
  for (let i = 0; i < 5; i++) t[`w${i}`] = { dtype: 'U8', shape: [100], data: randomBytes(100, next) };
  await writeSafetensors({ store, key: 'model.safetensors' }, t, { maxShardSize: 200, key: KEY, keyId: 'k' });
  const r = await verify(store, { key: KEY });
  assert.equal([r.kind, r.sidecar, r.hmac, r.tensors, r.files.length], ['sharded', 'verified', 'verified', 5, 3]);
  const shard = 'model-00002-of-00003.safetensors';
  const b = await store.read(shard);
  b[b.length - 1] ^= 4;
  const e = await code(verify(store, { key: KEY }));
  assert.equal([e.code, e.tensor], ['INTEGRITY', 'w3']);
  b[b.length - 1] ^= 4;
  const idx = await store.read('model.safetensors.index.json');
  await store.write('model.safetensors.index.json', new TextEncoder().encode(new TextDecoder().decode(idx).replace('"total_size": 500', '"total_size": 501')));
  assert.is((await code(verify(store, { key: KEY }))).code, 'INTEGRITY');
  await store.write('model.safetensors.index.json', idx);
  assert.is((await verify(store)).hmac, 'not-checked');
});
H('sign() signs every shard and the index', async () => {
  const store = new MemoryStore();
  const t = { a: { dtype: 'U8', shape: [100], data: new Uint8Array(100) }, b: { dtype: 'U8', shape: [100], data: new Uint8Array(100).fill(1) } };
  await writeSafetensors({ store, key: 'model.safetensors' }, t, { maxShardSize: 100 });
  assert.is((await code(verify(store, { key: KEY }))).code, 'AUTH');
  const s = await sign(store, KEY);
  assert.is(s.sidecars.length, 3);
  assert.is((await verify(store, { key: KEY })).hmac, 'verified');
});
if (hasFs) {
  H('the same through the fs store, by folder path', async () => {
    const dir = await tempDir();
    await writeSafetensors(`${dir}/model.safetensors`, model(7), { maxShardSize: 64, key: KEY });
    const r = await verify(dir, { key: KEY });
    assert.equal([r.kind, r.hmac, r.files.length], ['sharded', 'verified', 2]);
  });
}

V.run();
G.run();
H.run();
