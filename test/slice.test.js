// Verified partial reads (docs/safetensors.md, "Slices"): file.slice(name, ranges) returns the part of a
// tensor that get_slice(name)[…] would, fetching only the chunks it touches and verifying each alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSafetensors, writeSafetensors, verify, sign, MemoryStore, S3Store, parseSidecar } from '../dist/index.js';
import { testEnv, serveFile, nginxLog, nginxRequests, readRepoFile, listRepoDir, rng, randomBytes, s3TestOptions } from './_env.js';

const dec = new TextDecoder();

async function failure(p) {
  try { await p; } catch (e) { return e; }
  throw new Error('expected a failure');
}

/** Elements of a row-major tensor of `shape` at the slice `ranges`, by index arithmetic (the oracle). */
function expectedSlice(values, shape, ranges) {
  const full = shape.map((n, d) => (d < ranges.length ? ranges[d] : [0, n]));
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const out = [];
  const walk = (d, at) => {
    if (d === shape.length) return void out.push(values[at]);
    for (let i = full[d][0]; i < full[d][1]; i++) walk(d + 1, at + i * strides[d]);
  };
  walk(0, 0);
  return out;
}

/** An F32 tensor whose element i holds i (exact in float32 up to 2^24). */
function counting(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: Float32Array.from({ length: n }, (_, i) => i) };
}

const CHUNKED = { threshold: 1024, size: 256 };

const S = suite('slice: what it returns');
S('rows, blocks and single elements equal get_slice on the same ranges (1 to 3 dimensions, chunked or not)', async () => {
  const store = new MemoryStore();
  const shapes = { a: [40], b: [12, 10], c: [6, 5, 7] };
  const tensors = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, counting(s)]));
  for (const [key, chunks] of [['chunked.safetensors', CHUNKED], ['plain.safetensors', false]]) {
    await writeSafetensors({ store, key }, tensors, { chunks });
    const f = await readSafetensors({ store, key }, { load: 'none' });
    for (const [name, ranges] of [['a', [[3, 17]]], ['b', [[10, 12]]], ['b', [[2, 7], [3, 9]]], ['b', [[0, 12], [9, 10]]], ['c', [[1, 4], [2, 3]]], ['c', [[5, 6], [4, 5], [6, 7]]], ['c', [[2, 2]]]]) {
      const v = await f.slice(name, ranges);
      const want = expectedSlice(Float32Array.from(tensors[name].data), shapes[name], ranges);
      assert.equal([...v.toFloat32()], want, `${key} ${name} ${JSON.stringify(ranges)}`);
      assert.equal(v.shape, [...ranges.map(([s, e]) => e - s), ...shapes[name].slice(ranges.length)]);
      assert.is(v.dtype, 'F32');
      assert.is(v.byteLength, want.length * 4);
    }
  }
});
S('a sharded model slices in the shard that holds the tensor', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { x: counting([64, 8]), y: counting([64, 8]) }, { maxShardSize: 2048, chunks: CHUNKED });
  const f = await readSafetensors({ store, key: 'm.safetensors.index.json' }, { load: 'none' });
  assert.equal([...(await f.slice('y', [[10, 12]])).toFloat32()], expectedSlice([...counting([64, 8]).data], [64, 8], [[10, 12]]));
});
S('bad ranges are SHAPE_MISMATCH naming the file, tensor, dimension, expected and found; an unknown tensor NOT_FOUND', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { b: counting([12, 10]) });
  const f = await readSafetensors({ store, key: 'm.safetensors' }, { load: 'none' });
  for (const [ranges, says] of [[[[3, 13]], '≤ 12'], [[[5, 4]], 'start ≤ end'], [[[0, 1], [0, 1], [0, 1]], '1 to 2'], [[], '1 to 2'], [[[0.5, 2]], 'dimension 0'], [[[-1, 2]], 'dimension 0']]) {
    const e = await failure(f.slice('b', ranges));
    assert.equal([e.code, e.detail, e.tensor, e.path], ['SHAPE_MISMATCH', 'BAD_SLICE', 'b', 'memory:m.safetensors'], JSON.stringify(ranges));
    assert.ok(e.message.includes(says) && e.message.includes("'b'") && e.message.includes('[12, 10]'), e.message);
  }
  assert.is((await failure(f.slice('nope', [[0, 1]]))).code, 'NOT_FOUND');
});

const V = suite('slice: verified on its own');
V('the sidecar records chunk digests above the threshold, as format_version 2; below it stays version 1', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'big.safetensors' }, { w: counting([64, 8]), small: counting([4]) }, { chunks: CHUNKED });
  await writeSafetensors({ store, key: 'small.safetensors' }, { small: counting([4]) }, { chunks: CHUNKED });
  const big = JSON.parse(dec.decode(await store.read('big.safetensors.meta.json')));
  assert.equal([big.format_version, big.tensors.w.chunks.size, big.tensors.w.chunks.sha256.length, big.tensors.small.chunks], [2, 256, 8, undefined]);
  assert.is(JSON.parse(dec.decode(await store.read('small.safetensors.meta.json'))).format_version, 1);
  assert.is((await verify({ store, key: 'big.safetensors' })).sidecar, 'verified');
});
V('a slice over a changed chunk is INTEGRITY naming the tensor and chunk; a slice elsewhere in the same tensor still verifies', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { w: counting([64, 8]) }, { chunks: CHUNKED });
  const bytes = (await store.read('m.safetensors')).slice();
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  bytes[dataStart + 3 * 256 + 5] ^= 1; // chunk 3 = rows 24..31
  await store.write('m.safetensors', bytes);
  const f = await readSafetensors({ store, key: 'm.safetensors' }, { load: 'none' });
  const e = await failure(f.slice('w', [[25, 27]]));
  assert.equal([e.code, e.detail, e.tensor, e.data.chunk], ['INTEGRITY', 'CHUNK_HASH_MISMATCH', 'w', 3]);
  assert.ok(e.message.includes("'w'") && e.message.includes('chunk 3'), e.message);
  assert.equal([...(await f.slice('w', [[10, 20]])).toFloat32()], expectedSlice([...counting([64, 8]).data], [64, 8], [[10, 20]]));
  // The whole tensor and a full verify still refuse it.
  assert.is((await failure(f.tensor('w'))).code, 'INTEGRITY');
  assert.is((await failure(verify({ store, key: 'm.safetensors' }))).code, 'INTEGRITY');
});
V('a tensor without chunk digests (small, or a version-1 sidecar) is fetched whole and checked against its digest', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { w: counting([64, 8]) }, { chunks: false });
  const bytes = (await store.read('m.safetensors')).slice();
  const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
  bytes[dataStart + 2000] ^= 1; // far from rows 1..2
  await store.write('m.safetensors', bytes);
  const f = await readSafetensors({ store, key: 'm.safetensors' }, { load: 'none' });
  assert.is((await failure(f.slice('w', [[1, 3]]))).detail, 'TENSOR_HASH_MISMATCH');
  // The checkpoint fixtures' sidecars are version 1: slices of their tensors read and verify.
  const root = 'test/fixtures/checkpoint/adam-node/step-00000020';
  const v1 = new MemoryStore();
  for (const n of ['model.safetensors', 'model.safetensors.meta.json']) await v1.write(n, await readRepoFile(`${root}/${n}`));
  assert.is(parseSidecar(await v1.read('model.safetensors.meta.json'), 'x').format_version, 1);
  const m = await readSafetensors({ store: v1, key: 'model.safetensors' }, { load: 'none' });
  const name = m.names.find((n) => m.header.get(n).shape.length === 2);
  const whole = await m.tensor(name);
  const part = await m.slice(name, [[1, 2]]);
  const row = whole.byteLength / whole.shape[0];
  assert.equal([...part.bytes()], [...whole.bytes().subarray(row, 2 * row)]);
});
V('sign adds chunk digests to a sidecar made without them; verify checks every chunk it records', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, { w: counting([64, 8]) }, { chunks: false });
  await sign({ store, key: 'm.safetensors' }, { key: 'k', chunks: CHUNKED });
  const sc = JSON.parse(dec.decode(await store.read('m.safetensors.meta.json')));
  assert.equal([sc.format_version, sc.tensors.w.chunks.sha256.length], [2, 8]);
  sc.tensors.w.chunks.sha256[5] = '0'.repeat(64);
  await store.write('m.safetensors.meta.json', new TextEncoder().encode(JSON.stringify(sc)));
  const e = await failure(verify({ store, key: 'm.safetensors' }));
  assert.equal([e.code, e.detail, e.tensor, e.data.chunk], ['INTEGRITY', 'CHUNK_HASH_MISMATCH', 'w', 5]);
});

const H = suite('slice: over HTTP');
if (testEnv('SAFECKPT_TEST_HTTP')) {
  H('rows 10–19 of a 64 MiB tensor fetch less than 3 MiB from nginx (header, sidecar, one chunk)', async () => {
    const mem = new MemoryStore();
    const next = rng(64);
    const data = randomBytes(64 << 20, next);
    await writeSafetensors({ store: mem, key: 'big.safetensors' }, { emb: { dtype: 'F32', shape: [4096, 4096], data } });
    const rel = `slice-${Math.random().toString(36).slice(2)}/big.safetensors`;
    await serveFile(rel, await mem.read('big.safetensors'));
    await serveFile(rel + '.meta.json', await mem.read('big.safetensors.meta.json'));
    const before = (await nginxLog()).length;
    const f = await readSafetensors(`${testEnv('SAFECKPT_TEST_HTTP')}/${rel}`, { load: 'none' });
    const v = await f.slice('emb', [[10, 20]]);
    const served = nginxRequests((await nginxLog()).slice(before)).filter((q) => q.path.endsWith(rel) || q.path.endsWith(rel + '.meta.json'));
    const bytes = served.reduce((a, q) => a + q.bytes, 0);
    assert.ok(bytes < 3 << 20, `served ${bytes} bytes in ${served.length} requests`);
    assert.equal(v.shape, [10, 4096]);
    const want = data.subarray(10 * 16384, 20 * 16384);
    assert.ok(v.bytes().length === want.length && v.bytes().every((x, i) => x === want[i]));
  });
}

const O = suite('slice: over S3 (Ceph RGW)');
if (testEnv('SAFECKPT_TEST_S3_ENDPOINT')) {
  O('a slice fetches only the chunks it touches by ranged GETs; a changed chunk is INTEGRITY, a slice elsewhere still verifies', async () => {
    const gets = [];
    const fetchFn = (url, init = {}) => {
      const range = new Headers(init.headers).get('range');
      if ((init.method ?? 'GET') === 'GET' && String(url).includes('big.safetensors')) gets.push({ url: String(url), range });
      return fetch(url, init);
    };
    const store = new S3Store({ ...s3TestOptions(), fetch: fetchFn });
    // 512 rows of 1 KiB (F32 × 256), chunk digests every 16 KiB (16 rows).
    const shape = [512, 256];
    const data = Float32Array.from({ length: 512 * 256 }, (_, i) => i);
    await writeSafetensors({ store, key: 'big.safetensors' }, { emb: { dtype: 'F32', shape, data } }, { chunks: { threshold: 1024, size: 16384 } });
    gets.length = 0;
    const f = await readSafetensors({ store, key: 'big.safetensors' }, { load: 'none' });
    const opened = gets.length;
    const rows = await f.slice('emb', [[10, 20]]);
    assert.equal([...rows.toFloat32()], [...data.subarray(10 * 256, 20 * 256)]);
    // Rows 10–19 lie in chunks 0 and 1: one ranged GET of those 32 KiB, nothing else of the data.
    const data0 = f.header.dataStart + f.header.get('emb').begin;
    const sliced = gets.slice(opened).filter((g) => !g.url.includes('.meta.json'));
    assert.equal(sliced.map((g) => g.range), [`bytes=${data0}-${data0 + 32768 - 1}`]);
    // A byte of chunk 1 (row 17) changed in the object: that slice is INTEGRITY naming the chunk; rows 100–109 (chunk 6) still verify.
    const bytes = (await store.read('big.safetensors')).slice();
    bytes[data0 + 17 * 1024 + 3] ^= 0x10;
    await store.write('big.safetensors', bytes);
    const g = await readSafetensors({ store, key: 'big.safetensors' }, { load: 'none' });
    const e = await failure(g.slice('emb', [[10, 20]]));
    assert.equal([e.code, e.detail, e.tensor, e.data.chunk], ['INTEGRITY', 'CHUNK_HASH_MISMATCH', 'emb', 1]);
    assert.equal([...(await g.slice('emb', [[100, 110]])).toFloat32()], [...data.subarray(100 * 256, 110 * 256)]);
    assert.equal([...(await g.slice('emb', [[0, 2], [0, 8]])).toFloat32()], [...data.subarray(0, 8), ...data.subarray(256, 264)]);
    await store.remove('');
  });
}

S.run();
V.run();
H.run();
O.run();
