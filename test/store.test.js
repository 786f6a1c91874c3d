// One contract for every Store: the same tests run against each backend that
// exists in this runtime (memory everywhere; fs in Node and Deno; opfs and idb
// in Chromium; s3 against Ceph RGW everywhere (SAFECKPT_TEST_S3_* from
// test/run.js); http read-only against nginx and a server that ignores Range).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore, FsStore, OpfsStore, IdbStore, HttpStore, S3Store, S3Backend, FsBackend, resolveSource, writeAtomic, isTempKey, sharedMemoryStore } from '../dist/internal.js';
import { isBrowser, hasFs, runtime, tempDir, testEnv, readRepoFile, readRepoText, rng, randomBytes, s3TestOptions } from './_env.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
let n = 0;
const unique = () => `t${Date.now().toString(36)}${(n++).toString(36)}`;

const backends = [['memory', async () => new MemoryStore()], ['s3', async () => new S3Store(s3TestOptions())]];
if (hasFs) backends.push(['fs', async () => new FsStore(await tempDir())]);
if (isBrowser) {
  backends.push(['opfs', async () => new OpfsStore(unique())]);
  backends.push(['idb', async () => new IdbStore('safeckpt-test-' + unique())]);
}

async function code(p) {
  try {
    await p;
  } catch (e) {
    return e.code;
  }
  return 'no error';
}

async function* chunks(bytes, size) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

for (const [kind, make] of backends) {
  const S = suite(`Store contract: ${kind}`);
  let store;
  S.before.each(async () => { store = await make(); });
  S.after.each(async () => { await store.remove(''); });

  S('reads back what was written, whole and by range', async () => {
    const data = randomBytes(1000, rng(1));
    await store.write('a.bin', data);
    assert.is(store.kind, kind);
    assert.is(await store.size('a.bin'), 1000);
    assert.equal(await store.read('a.bin'), data);
    assert.equal(await store.read('a.bin', { start: 10, end: 523 }), data.subarray(10, 523));
    assert.equal((await store.read('a.bin', { start: 1000, end: 1000 })).length, 0);
  });
  S('writes a stream of chunks; a large value crosses internal chunk boundaries', async () => {
    const data = randomBytes((8 << 20) + 4099, rng(2));
    await store.write('dir/big.bin', chunks(data, 1 << 20 | 17));
    assert.is(await store.size('dir/big.bin'), data.length);
    const cut = (8 << 20) - 5;
    assert.equal(await store.read('dir/big.bin', { start: cut, end: cut + 100 }), data.subarray(cut, cut + 100));
    const all = await store.read('dir/big.bin');
    assert.ok(all.length === data.length && all.every((b, i) => b === data[i]), 'whole value equals what was written');
  });
  S('overwriting with a shorter value leaves only the new bytes', async () => {
    await store.write('x', enc.encode('a long first value'));
    await store.write('x', enc.encode('short'));
    assert.is(dec.decode(await store.read('x')), 'short');
  });
  S('a missing key is NOT_FOUND naming it; a range past the end is CORRUPT', async () => {
    assert.is(await code(store.read('nope.bin')), 'NOT_FOUND');
    assert.is(await code(store.size('nope.bin')), 'NOT_FOUND');
    try { await store.read('sub/nope.bin'); assert.unreachable(); } catch (e) { assert.ok(e.message.includes('nope.bin'), e.message); }
    await store.write('short', new Uint8Array(10));
    assert.is(await code(store.read('short', { start: 5, end: 11 })), 'CORRUPT');
    assert.is(await store.exists('nope.bin'), false);
  });
  S('lists files and folders directly under a prefix, sorted', async () => {
    await store.write('m/b.txt', enc.encode('bb'));
    await store.write('m/a.txt', enc.encode('a'));
    await store.write('m/sub/c.txt', enc.encode('ccc'));
    await store.write('other.txt', enc.encode('o'));
    const listed = await store.list('m');
    // `modified` is optional: where a store gives it (s3: LastModified), a file's time in ms since the epoch.
    for (const e of listed) if (e.modified !== undefined) assert.ok(!e.isDirectory && Number.isFinite(e.modified) && Math.abs(e.modified - Date.now()) < 3_600_000, `${e.key}: modified ${e.modified}`);
    assert.equal(listed.map(({ key, size, isDirectory }) => ({ key, size, isDirectory })), [
      { key: 'm/a.txt', size: 1, isDirectory: false },
      { key: 'm/b.txt', size: 2, isDirectory: false },
      { key: 'm/sub', size: 0, isDirectory: true },
    ]);
    if (store.kind === 's3') assert.ok(listed.filter((e) => !e.isDirectory).every((e) => e.modified !== undefined), 's3 lists carry LastModified');
    assert.equal((await store.list('')).map((e) => e.key), ['m', 'other.txt']);
    assert.equal(await store.list('absent'), []);
    assert.is(await store.exists('m'), true);
    assert.is(await store.exists('m/sub/c.txt'), true);
  });
  S('rename replaces the destination file; folders move whole', async () => {
    await store.write('src', enc.encode('new'));
    await store.write('dst', enc.encode('old value'));
    await store.rename('src', 'dst');
    assert.is(dec.decode(await store.read('dst')), 'new');
    assert.is(await store.exists('src'), false);
    await store.write('d1/x', enc.encode('x'));
    await store.write('d1/y/z', enc.encode('z'));
    await store.rename('d1', 'd2');
    assert.is(dec.decode(await store.read('d2/y/z')), 'z');
    assert.is(await store.exists('d1'), false);
    assert.is(await code(store.rename('absent', 'd3')), 'NOT_FOUND');
  });
  S('remove deletes a key or a folder; removing an absent key is fine', async () => {
    await store.write('r/a', enc.encode('a'));
    await store.write('r/b/c', enc.encode('c'));
    await store.remove('r/a');
    assert.is(await store.exists('r/a'), false);
    await store.remove('r');
    assert.is(await store.exists('r/b/c'), false);
    await store.remove('never-was');
  });
  S('writeAtomic replaces the value and leaves no temporary sibling', async () => {
    await store.write('f/model.bin', enc.encode('old'));
    await writeAtomic(store, 'f/model.bin', chunks(enc.encode('new contents'), 3));
    assert.is(dec.decode(await store.read('f/model.bin')), 'new contents');
    assert.equal((await store.list('f')).map((e) => e.key), ['f/model.bin']);
    await store.sync('f/model.bin');
  });
  S('a failed atomic write leaves the old value and no temporary', async () => {
    await store.write('g/v', enc.encode('old'));
    async function* failing() { yield enc.encode('part'); throw new Error('source failed'); }
    try { await writeAtomic(store, 'g/v', failing()); assert.unreachable(); } catch (e) { assert.match(String(e.message), /source failed/); }
    assert.is(dec.decode(await store.read('g/v')), 'old');
    assert.equal((await store.list('g')).map((e) => e.key).filter(isTempKey), []);
  });
  S('keys that could escape the root are refused', async () => {
    for (const k of ['../x', 'a/../../x', '/abs']) {
      assert.is(await code(store.write(k, new Uint8Array(1))), 'IO', k);
    }
  });
  S.run();
}

{
  // The fs and opfs stores write a stream ahead: their writes run while the next chunks are produced (hashed).
  // A fake file makes the overlap, the bound and the failure paths observable.
  const W = suite('streamed writes run ahead of the producer, boundedly (fs, opfs)');
  const { writeAhead, WRITES_IN_FLIGHT } = await import('../dist/store/write-ahead.js');
  function fakeFile({ failAt = -1 } = {}) {
    const calls = [];
    let running = 0;
    const f = {
      calls, peak: 0,
      get running() { return running; },
      write(chunk, position) {
        running++;
        f.peak = Math.max(f.peak, running);
        return new Promise((resolve, reject) => {
          calls.push({ bytes: chunk.slice(), position, settle: () => {
            running--;
            if (position === failAt) reject(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' }));
            else resolve();
          } });
        });
      },
    };
    return f;
  }
  // Settles the oldest pending write whenever the writer is waiting, until it is done.
  async function drive(f, done) {
    let finished = false;
    done.then(() => (finished = true), () => (finished = true));
    while (!finished) {
      await new Promise((r) => setTimeout(r, 0));
      const next = f.calls.find((c) => !c.settled);
      if (next) { next.settled = true; next.settle(); }
    }
  }
  const writeWith = (f, data) => writeAhead((chunk, position) => f.write(chunk, position), data);
  W('chunks land at their offsets, with up to WRITES_IN_FLIGHT writes pending and never more', async () => {
    const data = randomBytes(200, rng(7));
    const f = fakeFile();
    let pulled = 0;
    async function* source() { for (let i = 0; i < data.length; i += 10 + (i % 3)) { pulled++; yield data.subarray(i, i + 10 + (i % 3)); } }
    assert.ok(WRITES_IN_FLIGHT >= 2, 'more than one write in flight, or nothing overlaps');
    const done = writeWith(f, source());
    await new Promise((r) => setTimeout(r, 0));
    assert.is(f.running, WRITES_IN_FLIGHT, 'the writer pulled more chunks while the first writes were still running');
    assert.is(pulled, WRITES_IN_FLIGHT);
    await drive(f, done);
    await done;
    assert.is(f.peak, WRITES_IN_FLIGHT);
    const out = new Uint8Array(data.length);
    for (const c of f.calls) out.set(c.bytes, c.position);
    assert.equal(out, data);
  });
  W('a failed write rejects with its error, only after every running write has settled', async () => {
    const f = fakeFile({ failAt: 200 });
    async function* source() { for (let i = 0; i < 100; i++) yield new Uint8Array(10); }
    const done = writeWith(f, source());
    await drive(f, done);
    try { await done; assert.unreachable(); } catch (e) { assert.is(e.code, 'ENOSPC'); }
    assert.is(f.running, 0, 'no write still running once the writer has given up (the file may be closed)');
    assert.ok(f.calls.length < 100 / 3, 'the writer stopped pulling chunks after the failure');
  });
  W('the producer failing mid-stream rejects once the running writes have settled', async () => {
    const f = fakeFile();
    async function* source() { yield new Uint8Array(5); yield new Uint8Array(5); throw new Error('tensor source failed'); }
    const done = writeWith(f, source());
    await drive(f, done);
    try { await done; assert.unreachable(); } catch (e) { assert.match(e.message, /tensor source failed/); }
    assert.is(f.running, 0);
  });
  W.run();
}

if (hasFs) {
  // A verify pass (openReader) and a hashing worker (openSyncReader) open the file once for all their reads:
  // the same checks and typed errors as a read(), the size fixed at the open.
  const O = suite('fs: a file opened once for many reads (openReader, openSyncReader)');
  const fs = await import('node:fs/promises');
  const readers = [
    ['openReader', (b, k) => b.openReader(k), (r, s, into) => r.readInto(s, into), (r) => r.close()],
    ['openSyncReader', (b, k) => b.openSyncReader(k), async (r, s, into) => r.readInto(s, into), async (r) => r.close()],
  ];
  for (const [name, openIt, readIt, closeIt] of readers) {
    O(`${name}: positional reads, the size at the open; past the end, or after the file shrank, CORRUPT SHORT_READ naming the file`, async () => {
      const dir = await tempDir();
      const bytes = randomBytes(3000, rng(5));
      await fs.writeFile(`${dir}/f.bin`, bytes);
      const b = new FsBackend(dir);
      const r = await openIt(b, 'f.bin');
      try {
        assert.is(r.size, 3000);
        const into = new Uint8Array(1000);
        await readIt(r, 1500, into);
        assert.equal(into, bytes.subarray(1500, 2500));
        await readIt(r, 0, into.subarray(0, 10));
        assert.equal(into.subarray(0, 10), bytes.subarray(0, 10));
        let e = await readIt(r, 2500, new Uint8Array(501)).then(() => null, (x) => x);
        assert.equal([e?.code, e?.detail, e?.path], ['CORRUPT', 'SHORT_READ', `${dir}/f.bin`], e?.message);
        await fs.truncate(`${dir}/f.bin`, 2000);
        e = await readIt(r, 1500, new Uint8Array(1000)).then(() => null, (x) => x);
        assert.equal([e?.code, e?.detail, e?.position], ['CORRUPT', 'SHORT_READ', 2000], e?.message);
        assert.match(e.message, /shrank/);
      } finally {
        await closeIt(r);
      }
    });
    O(`${name}: a missing file is NOT_FOUND, a folder IO EISDIR, a FIFO IO NOT_A_FILE (refused before any read)`, async () => {
      const dir = await tempDir();
      const b = new FsBackend(dir);
      await fs.mkdir(`${dir}/d`);
      const codeOf = (p) => Promise.resolve().then(p).then(async (r) => (await closeIt(r), 'no error'), (e) => [e.code, e.detail]);
      assert.equal(await codeOf(() => openIt(b, 'none.bin')), ['NOT_FOUND', undefined]);
      assert.equal(await codeOf(() => openIt(b, 'd')), ['IO', 'EISDIR']);
      if (runtime === 'node') {
        const { spawnSync } = await import('node:child_process');
        assert.is(spawnSync('mkfifo', [`${dir}/pipe`]).status, 0, 'mkfifo');
        assert.equal(await codeOf(() => openIt(b, 'pipe')), ['IO', 'NOT_A_FILE']);
      }
    });
  }
  O.run();
}

const F = 'fixtures/reference/safetensors/valid/large_1mb.safetensors';
const servers = [['http (nginx, Range)', 'SAFECKPT_TEST_HTTP', true], ['http (no Range support)', 'SAFECKPT_TEST_HTTP_NORANGE', false]];
for (const [label, env, ranged] of servers) {
  const H = suite(`Store contract: ${label}, read-only`);
  const base = testEnv(env);
  H('sizes and reads ranges of a served file', async () => {
    const want = await readRepoFile('test/' + F);
    const { store, key } = resolveSource(`${base}/${F}`);
    assert.is(store.kind, 'http');
    assert.is(await store.size(key), want.length);
    assert.equal(await store.read(key, { start: 0, end: 8 }), want.subarray(0, 8));
    assert.equal(await store.read(key, { start: 1000, end: 70000 }), want.subarray(1000, 70000));
    assert.is(store.stats.fullReads, ranged ? 0 : 1);
    const before = store.stats.requests;
    assert.equal(await store.read(key, { start: want.length - 3, end: want.length }), want.subarray(want.length - 3));
    if (!ranged) assert.is(store.stats.requests, before, 'the whole body was cached: no second download');
    assert.ok(store.stats.bytes < (ranged ? 100000 : 2 * want.length), `downloaded ${store.stats.bytes} bytes`);
  });
  H('a missing URL is NOT_FOUND naming it; a range past the end is CORRUPT', async () => {
    const store = new HttpStore(`${base}/fixtures/`);
    try { await store.read('missing.safetensors', { start: 0, end: 8 }); assert.unreachable(); } catch (e) {
      assert.is(e.code, 'NOT_FOUND');
      assert.ok(e.message.includes('missing.safetensors'));
    }
    assert.is(await store.exists('missing.safetensors'), false);
    const small = 'reference/safetensors/valid/single_f32.safetensors';
    assert.is(await code(store.read(small, { start: 70, end: 200 })), 'CORRUPT');
  });
  H('writing is refused as UNSUPPORTED', async () => {
    const store = new HttpStore(`${base}/fixtures/`);
    assert.is(await code(store.write('x', new Uint8Array(1))), 'UNSUPPORTED');
    assert.is(await code(store.remove('x')), 'UNSUPPORTED');
    assert.is(store.readOnly, true);
  });
  H.run();
}

const R = suite('resolveSource');
R('routes by scheme, path, bytes and Store', () => {
  const at = (s) => { const r = resolveSource(s); return [r.store.kind, r.key]; };
  assert.equal(at('https://example.com/m/model.safetensors'), ['http', 'model.safetensors']);
  assert.is(resolveSource('https://example.com/m/a%20b.safetensors').store.describe('x'), 'https://example.com/m/x');
  const signed = resolveSource('https://example.com/m/model.safetensors?token=abc&v=2');
  // Shown redacted (test/untrusted-input.test.js checks that every request still carries the token, the sidecar's too).
  assert.equal([signed.key, signed.store.describe(signed.key)], ['model.safetensors', 'https://example.com/m/model.safetensors?token=REDACTED&v=REDACTED']);
  assert.is(signed.store.describe('model.safetensors.meta.json'), 'https://example.com/m/model.safetensors.meta.json?token=REDACTED&v=REDACTED');
  assert.equal(at('/data/m/model.safetensors'), ['fs', 'model.safetensors']);
  assert.is(resolveSource('/data/m/model.safetensors').store.root, '/data/m');
  assert.equal(at('file:///data/m%20x/w.safetensors'), ['fs', 'w.safetensors']);
  assert.is(resolveSource('file:///data/m%20x/w.safetensors').store.root, '/data/m x');
  assert.equal(at('rel/dir/'), ['fs', 'dir']);
  assert.equal(at('model.safetensors'), ['fs', 'model.safetensors']);
  assert.equal(at('opfs:models/a.safetensors'), ['opfs', 'models/a.safetensors']);
  assert.equal(at('idb:a.safetensors'), ['idb', 'a.safetensors']);
  assert.equal(at('memory:x/y'), ['memory', 'x/y']);
  assert.is(resolveSource('memory:x').store, sharedMemoryStore());
  assert.equal(at(new Uint8Array(3)), ['memory', 'bytes']);
  const m = new MemoryStore();
  assert.is(resolveSource(m).store, m);
  assert.equal(resolveSource({ store: m, key: 'k' }).key, 'k');
  assert.equal(at('s3://my-bucket/runs/a/model.safetensors'), ['s3', 'runs/a/model.safetensors']);
  assert.is(resolveSource('s3://my-bucket/runs/a/').store.describe('runs/a/LATEST'), 's3://my-bucket/runs/a/LATEST');
  assert.throws(() => resolveSource('s3://B/x'), (e) => e.code === 'UNSUPPORTED' && /bucket name/.test(e.message));
  assert.throws(() => resolveSource('gs://bucket/x'), (e) => e.code === 'UNSUPPORTED' && /gs:/.test(e.message));
  assert.throws(() => resolveSource('s3://my-bucket/a/%zz'), (e) => e.code === 'UNSUPPORTED' && e.detail === 'BAD_URL' && /%-escape/.test(e.message));
});
R('a store whose code loads on first use (S3Store, FsStore) has every Store capability and flag its backend has', async () => {
  // The Store interface as src/store/store.ts declares it: a capability added there and to a backend must be
  // forwarded by its front too, or sources resolved to the front would silently go without it.
  const src = await readRepoText('src/store/store.ts');
  const body = src.slice(src.indexOf('export interface Store {'));
  const declared = [...body.slice(0, body.indexOf('\n}')).matchAll(/^  (?:readonly )?(\w+)\??[(:]/gm)].map((m) => m[1]);
  assert.ok(declared.includes('writeIf') && declared.includes('read') && declared.includes('remote') && declared.includes('lock'), declared.join());
  const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
  const pairs = [
    [resolveSource('s3://my-bucket/runs').store, new S3Backend({ bucket: 'my-bucket', credentials }), ['createBucket', 'listUploads', 'abortUploads']],
    [new S3Store({ bucket: 'b-1', prefix: 'p/q/' }), new S3Backend({ bucket: 'b-1', prefix: 'p/q/', credentials }), []],
    [resolveSource('/some/dir/x').store, new FsBackend('/some/dir'), ['readInOrder']],
    [new FsStore('/'), new FsBackend('/'), []],
  ];
  for (const [front, back, extra] of pairs) {
    for (const name of declared) {
      if (typeof back[name] === 'function') assert.type(front[name], 'function', `${front.constructor.name} lacks ${name}() — forward it to ${back.constructor.name}`);
      else assert.is(front[name], back[name], `${front.constructor.name}.${name}`);
    }
    for (const name of extra) assert.type(front[name], 'function', `${front.constructor.name}.${name}`);
    for (const k of ['', 'x', 'x/y']) assert.is(front.describe(k), back.describe(k), `${front.constructor.name}.describe('${k}')`);
  }
  assert.ok(pairs[0][0] instanceof S3Store && pairs[2][0] instanceof FsStore);
  assert.throws(() => new S3Store({ bucket: 'b-1', partSize: 1024 }), RangeError);
  assert.throws(() => new S3Store({ bucket: 'b-1', prefix: '../x' }), (e) => e.code === 'IO');
});
R(`a path in ${runtime} ${hasFs ? 'reads through the fs store' : 'is refused as UNSUPPORTED'}`, async () => {
  const { store, key } = resolveSource('/definitely/not/here.safetensors');
  assert.is(await code(store.read(key)), hasFs ? 'NOT_FOUND' : 'UNSUPPORTED');
});
R.run();
