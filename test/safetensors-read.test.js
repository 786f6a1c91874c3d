import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, writeSafetensors, MemoryStore, FsStore, OpfsStore, IdbStore, HttpStore, DTYPES, toFloat32 } from '../dist/index.js';
import { readRepoFile, readRepoJson, listRepoDir, platformSha256Hex, isBrowser, hasFs, tempDir, testEnv, rng, randomBytes, runtime, nginxLog, nginxRequests } from './_env.js';

const VALID = 'test/fixtures/reference/safetensors/valid/';
const stems = (await listRepoDir(VALID)).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace('.safetensors', ''));

async function expectMatches(file, exp, label) {
  assert.equal([...file.names].sort(), Object.keys(exp.tensors).sort(), label);
  assert.equal(file.metadata, exp.metadata, `${label} metadata`);
  for (const [name, t] of Object.entries(exp.tensors)) {
    const v = await file.tensor(name);
    assert.is(v.dtype, t.dtype, name);
    assert.equal([...v.shape], t.shape, name);
    assert.is(v.byteLength, t.nbytes, name);
    assert.is(await platformSha256Hex(v.bytes()), t.sha256, `${label}: ${name} digest`);
  }
}

const R = suite('readSafetensors: reference-made files');
for (const stem of stems) {
  R(`${stem}: names, dtypes, shapes, metadata and every tensor digest as recorded`, async () => {
    const exp = await readRepoJson(VALID + stem + '.expected.json');
    const bytes = await readRepoFile(VALID + stem + '.safetensors');
    const f = await readSafetensors(bytes);
    await expectMatches(f, exp, stem);
    assert.is(f.sidecar, null);
    assert.is(Object.keys(f.tensors).length, Object.keys(exp.tensors).length, 'a local source is loaded whole by default');
    for (const v of Object.values(f.tensors)) assert.is(v.bytes().buffer, bytes.buffer, 'zero-copy view');
  });
}
R('values decode as recorded (F32, F16, BF16 via toFloat32)', async () => {
  const exp = await readRepoJson(VALID + 'dtypes_common.expected.json');
  const f = await readSafetensors(await readRepoFile(VALID + 'dtypes_common.safetensors'));
  for (const name of ['f32', 'f16', 'bf16', 'f64', 'i32', 'u8']) {
    assert.equal([...f.tensors[name].toFloat32()], exp.tensors[name].values.flat().map((x) => Math.fround(x)), name);
  }
});
if (hasFs) {
  R('reads the same files through the fs store by path', async () => {
    for (const stem of ['dtypes_common', 'metadata', 'many_2000']) {
      const exp = await readRepoJson(VALID + stem + '.expected.json');
      const path = new URL(`../${VALID}${stem}.safetensors`, import.meta.url).pathname;
      await expectMatches(await readSafetensors(path), exp, stem);
    }
  });
}
R('a missing file is NOT_FOUND naming the path; garbage is CORRUPT', async () => {
  try { await readSafetensors('memory:nope/model.safetensors'); assert.unreachable(); } catch (e) {
    assert.is(e.code, 'NOT_FOUND');
    assert.ok(e.message.includes('nope/model.safetensors'), e.message);
  }
  const html = new TextEncoder().encode('<!doctype html><html><body>Bad gateway</body></html>');
  try { await readSafetensors(html); assert.unreachable(); } catch (e) { assert.is(e.code, 'CORRUPT'); }
});

// ---------------------------------------------------------------- round trip on every store of this runtime
const stores = [['memory', async () => new MemoryStore()]];
if (hasFs) stores.push(['fs', async () => new FsStore(await tempDir())]);
if (isBrowser) stores.push(['opfs', async () => new OpfsStore('rt-' + Date.now())], ['idb', async () => new IdbStore('rt-' + Date.now())]);

function everyDtype(seed) {
  const next = rng(seed);
  const t = {};
  for (const [d, { bits }] of Object.entries(DTYPES)) {
    const numel = bits % 8 === 0 ? 6 : 8;
    t[`t_${d.toLowerCase()}`] = { dtype: d, shape: [2, numel / 2], data: randomBytes((numel * bits) / 8, next) };
  }
  t.scalar = { dtype: 'F32', shape: [], data: new Float32Array([3.5]) };
  t.empty = { dtype: 'I64', shape: [0, 4], data: new BigInt64Array(0) };
  return t;
}
const T = suite('round trip: every dtype through every store');
for (const [kind, make] of stores) {
  T(`${kind}: write then read gives the same dtypes, shapes and bytes, verified against the sidecar`, async () => {
    const store = await make();
    const t = everyDtype(11);
    const w = await writeSafetensors({ store, key: 'rt/model.safetensors' }, t, { metadata: { kind }, key: 'k1', keyId: 'test' });
    const f = await readSafetensors({ store, key: 'rt/model.safetensors' }, { key: 'k1' });
    assert.is(f.sidecar.key_id, 'test');
    assert.equal(f.metadata, { kind });
    for (const [name, src] of Object.entries(t)) {
      const v = f.tensors[name];
      assert.is(v.dtype, src.dtype, name);
      assert.equal([...v.shape], src.shape, name);
      assert.equal(v.bytes(), new Uint8Array(src.data.buffer, src.data.byteOffset, src.data.byteLength), name);
      assert.is(await platformSha256Hex(v.bytes()), w.tensors[name], name);
    }
    assert.equal([...f.tensors.scalar.toFloat32()], [3.5]);
    assert.equal([...f.tensors.t_f16.toFloat32()], [...toFloat32('F16', t.t_f16.data)]);
    await store.remove('');
  });
}

// ---------------------------------------------------------------- remote: range requests
const LARGE = 'fixtures/reference/safetensors/valid/large_1mb.safetensors';
function nginxBytes(log, marker) {
  return log.split('\n').filter((l) => l.includes(marker)).map((l) => {
    const m = /" (\d{3}) (\d+) /.exec(l);
    return m ? { status: Number(m[1]), bytes: Number(m[2]) } : null;
  }).filter(Boolean);
}
async function readText(path) {
  const fs = await import('node:fs/promises');
  return fs.readFile(path, 'utf8');
}

const H = suite('readSafetensors over HTTP');
H('loads nothing but the header until asked; one tensor fetches that tensor only', async () => {
  const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${LARGE}`;
  const before = !hasFs ? '' : await readText(testEnv('SAFECKPT_TEST_NGINX_LOG'));
  const f = await readSafetensors(url);
  assert.equal(Object.keys(f.tensors), []);
  assert.equal([...f.names], ['big', 'small']);
  const small = await f.tensor('small');
  assert.equal([...small.bytes()], [1, 2, 3]);
  assert.equal(Object.keys(f.tensors), ['small']);
  if (hasFs) {
    const log = (await readText(testEnv('SAFECKPT_TEST_NGINX_LOG'))).slice(before.length);
    const hits = nginxBytes(log, 'large_1mb.safetensors ');
    const total = hits.reduce((a, h) => a + h.bytes, 0);
    assert.is(total, 8 + 144 + 3, `nginx sent ${total} bytes for the file: ${JSON.stringify(hits)}`);
    assert.ok(hits.every((h) => h.status === 206 || h.status === 200), JSON.stringify(hits));
  }
});
H('opening a remote file takes two requests, the prefix (whose answer gives the size) and the header: no HEAD', async () => {
  const before = (await nginxLog()).length;
  const f = await readSafetensors(`${testEnv('SAFECKPT_TEST_HTTP')}/${LARGE}`, { verify: false });
  assert.equal([...f.names], ['big', 'small']);
  const reqs = nginxRequests((await nginxLog()).slice(before)).filter((q) => q.path.endsWith('/large_1mb.safetensors'));
  assert.equal(reqs.map((q) => [q.method, q.range]), [['GET', [0, 8]], ['GET', [8, 8 + 144]]], JSON.stringify(reqs));
  // (a browser that has the ranges cached revalidates them: nginx answers 304 and the cached 206 is used)
  assert.ok(reqs.every((q) => q.status === 206 || q.status === 304), JSON.stringify(reqs));
});
H('a remote file shorter than its prefix, or empty, is CORRUPT exactly as the same file on disk', async () => {
  for (const [name, detail] of [['file_shorter_than_8_bytes', 'HEADER_TOO_SMALL'], ['file_empty', 'HEADER_TOO_SMALL']]) {
    const path = `fixtures/reference/safetensors/crafted/${name}.safetensors`;
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${path}`;
    const remote = await readSafetensors(url).then(() => null, (e) => e);
    const store = new MemoryStore();
    await store.write(`${name}.safetensors`, new Uint8Array(await (await fetch(url)).arrayBuffer()));
    const local = await readSafetensors({ store, key: `${name}.safetensors` }).then(() => null, (e) => e);
    assert.equal([remote?.code, remote?.detail], ['CORRUPT', detail], `${name}: ${remote?.message}`);
    assert.equal([local?.code, local?.detail], [remote.code, remote.detail]);
    assert.match(remote.message, `${name}.safetensors`);
  }
});
H('load() of several tensors coalesces neighbours into one range request', async () => {
  const { store } = { store: new HttpStore(`${testEnv('SAFECKPT_TEST_HTTP')}/fixtures/reference/safetensors/valid/`) };
  const f = await readSafetensors({ store, key: 'many_2000.safetensors' });
  const before = store.stats.requests;
  const names = f.names.slice(0, 50);
  const got = await f.load(names);
  assert.is(Object.keys(got).length, 50);
  assert.is(store.stats.requests - before, 1);
});
H('a server that ignores Range: one full download, then every tensor from it', async () => {
  const url = `${testEnv('SAFECKPT_TEST_HTTP_NORANGE')}/${LARGE}`;
  const exp = await readRepoJson(VALID + 'large_1mb.expected.json');
  const f = await readSafetensors(url);
  const big = await f.tensor('big');
  const small = await f.tensor('small');
  assert.is(await platformSha256Hex(big.bytes()), exp.tensors.big.sha256);
  assert.equal([...small.bytes()], [1, 2, 3]);
});
if (hasFs) {
  H('a signed remote model: one tensor is verified alone (header hash + tensor hash), tampering is INTEGRITY', async () => {
    const { join } = await import('node:path');
    const fs = await import('node:fs/promises');
    const dir = `gen-${runtime}-${Date.now()}`;
    const root = join(testEnv('SAFECKPT_TEST_HTTP_ROOT'), dir);
    const next = rng(5);
    const t = { a: { dtype: 'F32', shape: [1024, 256], data: randomBytes(1 << 20, next) }, b: { dtype: 'I8', shape: [16], data: randomBytes(16, next) } };
    await writeSafetensors(join(root, 'model.safetensors'), t, { key: 'secret', keyId: 'k' });
    await fs.chmod(root, 0o755);
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${dir}/model.safetensors`;
    const before = await readText(testEnv('SAFECKPT_TEST_NGINX_LOG'));
    const f = await readSafetensors(url, { key: 'secret' });
    assert.equal([...(await f.tensor('b')).bytes()], [...t.b.data]);
    const log = (await readText(testEnv('SAFECKPT_TEST_NGINX_LOG'))).slice(before.length);
    const sent = nginxBytes(log, `${dir}/model.safetensors `).reduce((a, h) => a + h.bytes, 0);
    assert.ok(sent < 1000, `fetched ${sent} bytes of a 1 MiB file to get a 16-byte tensor`);
    // flip one byte of tensor b on the server
    const p = join(root, 'model.safetensors');
    const bytes = await fs.readFile(p);
    bytes[bytes.length - 1] ^= 1;
    await fs.writeFile(p, bytes);
    const g = await readSafetensors(url, { key: 'secret' });
    try { await g.tensor('b'); assert.unreachable(); } catch (e) { assert.is(e.code, 'INTEGRITY'); assert.is(e.tensor, 'b'); }
    assert.is((await g.tensor('a')).byteLength, 1 << 20, 'the untouched tensor still verifies');
    try { await readSafetensors(url, { key: 'wrong' }); assert.unreachable(); } catch (e) { assert.is(e.code, 'AUTH'); }
    await fs.rm(root, { recursive: true, force: true });
  });
}

const S = suite('readSafetensors: sharded models');
S('an index, or the folder holding it, reads as one model; tensors load from their shards', async () => {
  const store = new MemoryStore();
  const next = rng(9);
  const t = {};
  for (let i = 0; i < 6; i++) t[`l${i}.w`] = { dtype: 'F32', shape: [32], data: randomBytes(128, next) };
  await writeSafetensors({ store, key: 'm/model.safetensors' }, t, { maxShardSize: 300, key: 'k' });
  for (const src of [{ store, key: 'm/model.safetensors.index.json' }, { store, key: 'm' }]) {
    const f = await readSafetensors(src, { key: 'k' });
    assert.is(f.files.length, 3);
    assert.equal([...f.names].sort(), Object.keys(t).sort());
    for (const [n, v] of Object.entries(t)) assert.equal(f.tensors[n].bytes(), v.data, n);
    assert.is(f.header.get('l5.w').byteLength, 128);
  }
});
S('a weight_map that disagrees with the shards is CORRUPT naming the tensor', async () => {
  const store = new MemoryStore();
  const t = { a: { dtype: 'U8', shape: [200], data: new Uint8Array(200) }, b: { dtype: 'U8', shape: [200], data: new Uint8Array(200) } };
  await writeSafetensors({ store, key: 'model.safetensors' }, t, { maxShardSize: 250 });
  const idx = JSON.parse(new TextDecoder().decode(await store.read('model.safetensors.index.json')));
  idx.weight_map.a = 'model-00002-of-00002.safetensors';
  await store.write('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(idx)));
  try { await readSafetensors({ store, key: 'model.safetensors.index.json' }, { verify: false }); assert.unreachable(); } catch (e) {
    assert.is(e.code, 'CORRUPT');
    assert.is(e.tensor, 'a');
  }
});

R.run();
T.run();
H.run();
S.run();
