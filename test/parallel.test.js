// Parallel hashing on workers: the same reports, sidecars, files and errors as
// on one thread, whether workers read an fs file themselves (Node, Deno) or
// are lent the bytes (memory store, every runtime).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { verify, sign, readSafetensors, writeSafetensors, MemoryStore } from '../dist/index.js';
import { isBrowser, runtime, tempDir, rng } from './_env.js';

const isWorkerd = runtime === 'workerd';

const MiB = 1 << 20;

/** Tensors around the job size (32 MiB): one larger than a job, several small ones, an empty one. */
function model(seed) {
  const next = rng(seed);
  const t = {};
  const sizes = [33 * MiB + 5, 3 * MiB, 0, 7 * MiB + 1, 64, 20 * MiB, 1];
  sizes.forEach((n, i) => {
    const data = new Uint8Array(n);
    for (let j = 0; j < n; j += 4099) data[j] = next() & 0xff;
    if (n) data[n - 1] = next() & 0xff;
    t[`layer.${i}`] = { dtype: 'U8', shape: [n], data };
  });
  return t;
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
async function error(p) {
  try { await p; } catch (e) { return e; }
  return null;
}

const weights = model(7);

let placesMade;
/** Where the suites write: the memory store everywhere, plus one folder on disk in Node and Deno. */
function places() {
  placesMade ??= (async () => {
    const out = [{ name: 'memory', ref: (k) => ({ store: mem, key: k }) }];
    if (!isBrowser) {
      const dir = await tempDir('safeckpt-parallel-');
      out.push({ name: 'fs', ref: (k) => `${dir}/${k}` });
    }
    return out;
  })();
  return placesMade;
}
const mem = new MemoryStore();

const P = suite('parallel hashing: the same results as one thread');
P('writeSafetensors: workers on or off give byte-identical files, sidecars and digests', async () => {
  for (const { name, ref } of await places()) {
    // Same file name in two folders: the sidecar (and its HMAC) names the file.
    const a = await writeSafetensors(ref('one/model.safetensors'), weights, { workers: 0, key: 'k' });
    const b = await writeSafetensors(ref('two/model.safetensors'), weights, { workers: 2, key: 'k' });
    assert.is(b.sha256, a.sha256, name);
    assert.equal(b.tensors, a.tensors, name);
    const r1 = await readSafetensors(ref('one/model.safetensors'), { load: 'none' });
    const r2 = await readSafetensors(ref('two/model.safetensors'), { load: 'none' });
    assert.ok(r1.sidecar.hmac);
    assert.equal(r2.sidecar, r1.sidecar, name);
  }
});
P('verify and sign: the same report and sidecar with workers forced on and off', async () => {
  for (const { name, ref } of await places()) {
    const k = ref('one/model.safetensors');
    const off = await verify(k, { workers: 0, key: 'k' });
    const on = await verify(k, { workers: 2, key: 'k' });
    assert.equal(on, off, name);
    assert.equal([on.sidecar, on.hmac, on.tensors], ['verified', 'verified', 7]);
    await sign(k, 'k2', { workers: 2, keyId: 'p' });
    const s2 = (await readSafetensors(k, { load: 'none' })).sidecar;
    await sign(k, 'k2', { workers: 0, keyId: 'p' });
    const s0 = (await readSafetensors(k, { load: 'none' })).sidecar;
    assert.equal(s2, s0, name);
    assert.is((await verify(k, { workers: 2, key: 'k2' })).hmac, 'verified');
  }
});
P('readSafetensors: a parallel load+verify gives the same bytes', async () => {
  for (const { name, ref } of await places()) {
    const f = await readSafetensors(ref('two/model.safetensors'), { workers: 2 });
    for (const [n, t] of Object.entries(weights)) assert.ok(same(f.tensors[n].bytes(), t.data), `${name}: ${n}`);
  }
});
P('readSafetensors from a local file with workers: each tensor in its own piece of memory, small neighbours sharing one up to 16 MiB', async () => {
  if (isBrowser) return;
  const { ref } = (await places()).find((p) => p.name === 'fs');
  const f = await readSafetensors(ref('two/model.safetensors'), { workers: 2 });
  // The workers read the file themselves into fresh memory per tensor (a buffer per job of 32–128 MiB before):
  // a tensor kept alone does not keep its neighbours' bytes alive.
  const buffers = new Set();
  for (const [n, t] of Object.entries(weights)) {
    const b = f.tensors[n].bytes();
    assert.ok(same(b, t.data), n);
    assert.ok(b.buffer.byteLength <= Math.max(16 * MiB, t.data.length), `${n}: ${t.data.length} bytes in a buffer of ${b.buffer.byteLength}`);
    if (t.data.length > 16 * MiB) assert.is(b.buffer.byteLength, t.data.length, n);
    buffers.add(b.buffer);
  }
  assert.ok(buffers.size >= 4, `${buffers.size} buffers`);
});

const E = suite('parallel hashing: errors name the tensor');
E('a changed byte is INTEGRITY naming its tensor, from verify and from load, workers on', async () => {
  // memory only: its bytes can be changed in place in every runtime
  await writeSafetensors({ store: mem, key: 'bad.safetensors' }, weights, { workers: 0 });
  const f = await readSafetensors({ store: mem, key: 'bad.safetensors' }, { load: 'none', verify: false });
  const bytes = await mem.read('bad.safetensors');
  const info = f.header.get('layer.5');
  bytes[f.header.dataStart + info.begin + 12345] ^= 1;
  // verify checks a tensor with chunk digests by its chunks (one pass: docs/hashing.md) and names the chunk; a load by its digest.
  const v = await error(verify({ store: mem, key: 'bad.safetensors' }, { workers: 2 }));
  const chunked = Object.getOwnPropertyDescriptor(JSON.parse(new TextDecoder().decode(await mem.read('bad.safetensors.meta.json'))).tensors, 'layer.5')?.value.chunks;
  assert.equal([v?.code, v?.tensor, v?.detail, v?.data?.chunk], chunked ? ['INTEGRITY', 'layer.5', 'CHUNK_HASH_MISMATCH', Math.floor(12345 / chunked.size)] : ['INTEGRITY', 'layer.5', 'TENSOR_HASH_MISMATCH', undefined], v?.message);
  const e = await error(readSafetensors({ store: mem, key: 'bad.safetensors' }, { workers: 2 }));
  assert.equal([e?.code, e?.tensor, e?.detail], ['INTEGRITY', 'layer.5', 'TENSOR_HASH_MISMATCH']);
  if (!isBrowser) {
    const dir = await tempDir('safeckpt-parallel-');
    const fs = await import('node:fs/promises');
    await writeSafetensors(`${dir}/m.safetensors`, weights, { workers: 0 });
    const h = await fs.open(`${dir}/m.safetensors`, 'r+');
    const pos = f.header.dataStart + f.header.get('layer.0').begin + 33 * MiB;
    await h.write(Uint8Array.of(0x5a ^ bytes[pos]), 0, 1, pos);
    await h.close();
    for (const p of [() => verify(`${dir}/m.safetensors`, { workers: 2 }), () => readSafetensors(`${dir}/m.safetensors`, { workers: 2 })]) {
      const e = await error(p());
      assert.equal([e?.code, e?.tensor], ['INTEGRITY', 'layer.0']);
    }
  }
});
E('a bad worker count is refused with UNSUPPORTED', async () => {
  for (const workers of [-1, 1.5, NaN]) {
    const e = await error(verify({ store: mem, key: 'one/model.safetensors' }, { workers }));
    assert.equal([e?.code, e?.detail], ['UNSUPPORTED', 'BAD_OPTION']);
  }
});

const A = suite('workers: the default follows what was measured for each operation');
A('without `workers`, load uses the pool from 256 MiB, verify from 64 MiB, write never; `workers: n` always does', async () => {
  const { PoolLease, AUTO_WORKERS_FROM, coreCount } = await import('../dist/parallel/pool.js');
  const multi = (await coreCount()) >= 2; // on one core the pool is never chosen by itself
  const uses = async (opts, kind, bytes) => {
    const lease = new PoolLease(opts, AUTO_WORKERS_FROM[kind]);
    try { return (await lease.get(bytes)) !== null; } finally { lease.close(); }
  };
  assert.equal(await Promise.all([
    uses({}, 'load', 255 * MiB), uses({}, 'load', 256 * MiB),
    uses({}, 'verify', 63 * MiB), uses({}, 'verify', 64 * MiB),
    uses({}, 'write', 8 * 1024 * MiB),
    uses({ workers: 2 }, 'write', 1), uses({ workers: 0 }, 'verify', 1024 * MiB),
  ]), [false, multi, false, multi, false, true, false]);
});

A('a write hashes on workers from 64 MiB to S3 where memory can be shared with them, never to other stores', async () => {
  const { autoWorkersFrom } = await import('../dist/format/safetensors-write.js');
  const { S3Store } = await import('../dist/index.js');
  const s3 = new S3Store({ bucket: 'test-bucket', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  assert.is(autoWorkersFrom(new MemoryStore()), Infinity);
  assert.is(autoWorkersFrom(s3), typeof SharedArrayBuffer === 'function' ? 64 * MiB : Infinity);
});

const F = suite('shared feed: each piece copied once into memory the workers share');
const canShare = typeof SharedArrayBuffer === 'function' && !isWorkerd;

/** Hex SHA-256 on this thread, the oracle. */
async function hexOf(bytes) {
  const { sha256, toHex } = await import('../dist/index.js');
  return toHex(sha256(bytes));
}
const concat = (parts) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
};

F('every stream gets the digests of exactly the bytes fed to it: two lanes, more pieces than slots, pieces larger than a slot, empty pieces, chunk digests', async () => {
  if (!canShare) return; // no SharedArrayBuffer here (a page that is not cross-origin isolated): the next test covers the fallback
  const { HashPool } = await import('../dist/parallel/pool.js');
  const pool = new HashPool(2);
  try {
    const slot = 1 << 16;
    const feed = pool.sharedFeed(slot);
    assert.ok(feed, 'a feed where SharedArrayBuffer exists');
    const file = feed.open({ lane: 0 });
    const a = feed.open({ lane: 1, chunk: 1000 });
    const b = feed.open({ lane: 1 });
    const next = rng(11);
    const sizes = [5, slot, slot + 1, 3 * slot + 17, 0, 999, 1001, 12345, 2 * slot];
    const fed = { file: [], a: [], b: [] };
    for (const [i, n] of sizes.entries()) {
      const piece = randomPiece(n, next);
      const to = i % 3 === 2 ? [file] : i < 5 ? [file, a] : [file, b];
      await feed.feed(piece, to);
      const kept = piece.slice();
      piece.fill(0xee); // the feed copied it: changing it now changes nothing
      fed.file.push(kept);
      if (to.includes(a)) fed.a.push(kept);
      if (to.includes(b)) fed.b.push(kept);
    }
    const [rf, ra, rb] = await Promise.all([file.result(), a.result(), b.result()]);
    feed.close();
    assert.is(rf.sha256, await hexOf(concat(fed.file)));
    assert.is(ra.sha256, await hexOf(concat(fed.a)));
    assert.is(rb.sha256, await hexOf(concat(fed.b)));
    const aBytes = concat(fed.a);
    const chunks = [];
    for (let at = 0; at < aBytes.length; at += 1000) chunks.push(await hexOf(aBytes.subarray(at, at + 1000)));
    assert.equal(ra.chunks, chunks);
    assert.is(rb.chunks, undefined);
  } finally {
    pool.close();
  }
});

F('a pool closed while pieces are being fed fails the feed and its streams at once (WORKER) instead of leaving them waiting', async () => {
  if (!canShare) return;
  const { HashPool } = await import('../dist/parallel/pool.js');
  const pool = new HashPool(1);
  const feed = pool.sharedFeed(1 << 20);
  const s = feed.open();
  const piece = new Uint8Array(1 << 20);
  const feeding = (async () => { for (let i = 0; i < 64; i++) await feed.feed(piece, [s]); })();
  await feed.feed(piece, [s]);
  pool.close();
  const e = await error(feeding);
  assert.equal([e?.code, e?.detail], ['IO', 'WORKER']);
  const r = await error(s.result());
  assert.equal([r?.code, r?.detail], ['IO', 'WORKER']);
});

F('a worker that stopped before its lane was first used is passed over: the stream runs on a live worker with the right digest, and with none left it fails WORKER, never waiting for an answer', async () => {
  if (!canShare) return;
  const { HashPool } = await import('../dist/parallel/pool.js');
  const pool = new HashPool(2);
  try {
    const feed = pool.sharedFeed(1 << 16);
    const file = feed.open({ lane: 0 });
    await feed.feed(new Uint8Array([1, 2, 3]), [file]);
    // What a worker's exit does (its 'exit' event in Node; terminate() raises none in Deno or browsers).
    const stop = (w) => { w.ep.terminate(); w.dead = new Error('stopped by the test'); pool.workerFailed(w, w.dead); };
    stop(pool.workers[1]);
    const bytes = new Uint8Array(200000).map((_, i) => i * 7);
    const late = feed.open({ lane: 1 });
    const within = (p) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error('no answer in 20 s')), 20000))]);
    await within(feed.feed(bytes, [late]));
    assert.is((await within(late.result())).sha256, await hexOf(bytes));
    stop(pool.workers[0]);
    const none = await error(within((async () => { const s = feed.open({ lane: 1 }); await feed.feed(bytes, [s]); })()));
    assert.equal([none?.code, none?.detail], ['IO', 'WORKER']);
  } finally {
    pool.close();
  }
});

F('where memory cannot be shared (no SharedArrayBuffer) a pooled write hashes transferred copies instead, with the same file, digests and sidecar', async () => {
  if (isWorkerd) return; // no workers at all
  const { HashPool } = await import('../dist/parallel/pool.js');
  const { autoWorkersFrom } = await import('../dist/format/safetensors-write.js');
  const { S3Store } = await import('../dist/index.js');
  const saved = globalThis.SharedArrayBuffer;
  const one = new MemoryStore(), two = new MemoryStore();
  const a = await writeSafetensors({ store: one, key: 'm.safetensors' }, weights, { workers: 0 });
  try {
    globalThis.SharedArrayBuffer = undefined;
    const pool = new HashPool(1);
    try { assert.is(pool.sharedFeed(1 << 16), null); } finally { pool.close(); }
    assert.is(autoWorkersFrom(new S3Store({ bucket: 'test-bucket', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } })), Infinity);
    const b = await writeSafetensors({ store: two, key: 'm.safetensors' }, weights, { workers: 2 });
    assert.is(b.sha256, a.sha256);
    assert.equal(b.tensors, a.tensors);
  } finally {
    globalThis.SharedArrayBuffer = saved;
  }
  assert.equal(await two.read('m.safetensors.meta.json'), await one.read('m.safetensors.meta.json'));
});

function randomPiece(n, next) {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = next() & 0xff;
  return p;
}

P.run();
E.run();
A.run();
F.run();
