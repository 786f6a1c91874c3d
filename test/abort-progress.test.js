// Every long operation takes an AbortSignal and an onProgress callback (#15 items 3-4): an aborted signal —
// before the start or mid-way — makes it reject with `signal.reason` (as fetch does) and leaves nothing under
// a final name that was not there before; progress is `{ done, total, phase }` in bytes, never decreasing,
// never past total, the last call at done === total. Mid-way aborts are made deterministic by aborting from
// inside onProgress, after the first bytes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, readSafetensors, verify, sign, diffTensors, convertTorchToSafetensors, MemoryStore, FsStore } from '../dist/index.js';
import { inspectSource, isTempKey } from '../dist/internal.js';
import { runtime, isBrowser, hasFs, tempDir, rng, randomBytes, serveFile, testEnv, readRepoFile } from './_env.js';

const MiB = 1 << 20;
const workersHere = runtime !== 'workerd';

/** `n` tensors of `each` bytes. */
function tensors(n, each, seed = 1) {
  const next = rng(seed), t = {};
  for (let i = 0; i < n; i++) t[`t${String(i).padStart(3, '0')}`] = { dtype: 'U8', shape: [each], data: randomBytes(each, next) };
  return t;
}

/** An onProgress that records every call and checks the promise of Progress on each. */
function recorder(onCall) {
  const calls = [];
  const fn = (p) => {
    assert.type(p.done, 'number');
    assert.ok(typeof p.phase === 'string' && p.phase.length > 0, 'a phase');
    if (calls.length) {
      const prev = calls[calls.length - 1];
      assert.ok(p.done >= prev.done, `done went down: ${prev.done} → ${p.done}`);
      assert.is(p.total, prev.total, 'total is fixed');
    }
    assert.ok(p.done <= p.total, `done ${p.done} > total ${p.total}`);
    calls.push({ ...p });
    onCall?.(p, calls);
  };
  fn.calls = calls;
  fn.last = () => calls[calls.length - 1];
  return fn;
}

/** Every key of a store (recursively, files only). */
async function keys(store, prefix = '') {
  const out = [];
  for (const e of await store.list(prefix)) {
    if (e.isDirectory) out.push(...(await keys(store, e.key)));
    else out.push(e.key);
  }
  return out.sort();
}

const made = [];
/** A fresh folder, removed after the run. */
async function folder() {
  const dir = await tempDir('safeckpt-abort-');
  made.push(dir);
  return dir;
}
async function removeFolders() {
  if (!hasFs) return;
  const fs = await import('node:fs/promises');
  for (const d of made.splice(0)) await fs.rm(d, { recursive: true, force: true });
}

/** Stores to run on: memory everywhere, a folder where there is a filesystem. */
async function stores() {
  const out = [['memory', new MemoryStore()]];
  if (hasFs) out.push(['fs', new FsStore(await folder())]);
  return out;
}

class Reason extends Error {}

const P = suite('onProgress: { done, total, phase } in bytes, monotonic, ending at done === total');
P('writeSafetensors (one file and sharded), readSafetensors, verify, sign and inspect --digests', async () => {
  for (const [where, store] of await stores()) {
    const t = tensors(12, 100_000);
    const data = 12 * 100_000;
    for (const [name, opts] of [['model.safetensors', {}], ['sharded/model.safetensors', { maxShardSize: 300_000 }]]) {
      const w = recorder();
      const r = await writeSafetensors({ store, key: name }, t, { ...opts, onProgress: w });
      assert.equal(w.last(), { done: data, total: data, phase: 'write' }, `${where} write ${name}`);
      const key = opts.maxShardSize ? 'sharded/model.safetensors.index.json' : name;
      const size = opts.maxShardSize ? r.size : r.size;
      const rd = recorder();
      await readSafetensors({ store, key }, { load: 'all', onProgress: rd });
      assert.equal(rd.last(), { done: data, total: data, phase: 'read' }, `${where} read ${key}`);
      for (const workers of workersHere ? [0, 2] : [0]) {
        const v = recorder();
        await verify({ store, key }, { workers, onProgress: v });
        // Every byte of every file, the headers included (workers hash tensors; the rest is accounted for too).
        assert.equal(v.last(), { done: size, total: size, phase: 'hash' }, `${where} verify ${key}, workers ${workers}`);
      }
      const s = recorder();
      await sign({ store, key }, 'k', { onProgress: s });
      assert.equal(s.last(), { done: size, total: size, phase: 'hash' }, `${where} sign ${key}`);
      const i = recorder();
      await inspectSource(store, key, { digests: true, onProgress: i });
      assert.equal(i.last(), { done: data, total: data, phase: 'hash' }, `${where} inspect ${key}`);
    }
  }
});
if (workersHere && !isBrowser) {
  P('verifying a 64 MiB file on workers ends at its size (it ended at [67108880, 67109016]: the header was never counted)', async () => {
    const store = new FsStore(await folder());
    const r = await writeSafetensors({ store, key: 'big.safetensors' }, tensors(4, 16 * MiB));
    const v = recorder();
    await verify({ store, key: 'big.safetensors' }, { workers: 2, onProgress: v });
    assert.ok(r.size > 64 * MiB);
    assert.equal([v.last().done, v.last().total], [r.size, r.size]);
  });
}
P('a zero-byte operation reports its end once', async () => {
  const w = recorder();
  await writeSafetensors({ store: new MemoryStore(), key: 'e.safetensors' }, {}, { onProgress: w });
  assert.equal(w.calls, [{ done: 0, total: 0, phase: 'write' }]);
});
P.after(removeFolders);
P.run();

const A = suite('AbortSignal: rejects with signal.reason, leaves nothing under a final name');
A('an already aborted signal: every operation rejects with its reason and writes nothing', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, tensors(3, 1000));
  const before = await keys(store);
  const reason = new Reason('stop');
  const signal = AbortSignal.abort(reason);
  const ops = {
    write: () => writeSafetensors({ store, key: 'n.safetensors' }, tensors(3, 1000), { signal }),
    'write sharded': () => writeSafetensors({ store, key: 's/model.safetensors' }, tensors(3, 1000), { signal, maxShardSize: 1000 }),
    read: () => readSafetensors({ store, key: 'm.safetensors' }, { signal }),
    verify: () => verify({ store, key: 'm.safetensors' }, { signal }),
    sign: () => sign({ store, key: 'm.safetensors' }, 'k', { signal }),
    inspect: () => inspectSource(store, 'm.safetensors', { digests: true, signal }),
  };
  for (const [name, op] of Object.entries(ops)) {
    const e = await op().then(() => null, (x) => x);
    assert.is(e, reason, name);
  }
  assert.equal(await keys(store), before);
});
A('without a reason, the rejection is an AbortError, as from fetch', async () => {
  const c = new AbortController();
  c.abort();
  const e = await verify({ store: new MemoryStore(), key: 'x.safetensors' }, { signal: c.signal }).catch((x) => x);
  assert.is(e.name, 'AbortError');
  assert.is(e, c.signal.reason);
});
A('aborted mid-way: write, read, verify and sign stop with the reason; no file, sidecar or temporary file is left', async () => {
  for (const [where, store] of await stores()) {
    const t = tensors(8, 2 * MiB, 7);
    await writeSafetensors({ store, key: 'm.safetensors' }, t, { key: 'k' });
    const before = await keys(store);
    const sidecarBefore = await store.read('m.safetensors.meta.json');
    const run = async (name, op) => {
      const c = new AbortController();
      const reason = new Reason(name);
      let seen = 0;
      const onProgress = recorder((p) => {
        seen = p.done;
        if (p.done > 0 && p.done < p.total) c.abort(reason);
      });
      const e = await op({ signal: c.signal, onProgress }).then(() => null, (x) => x);
      assert.is(e, reason, `${where} ${name} rejects with the reason`);
      assert.ok(seen < onProgress.last().total, `${where} ${name} stopped early (${seen} of ${onProgress.last().total} bytes)`);
    };
    await run('write', (o) => writeSafetensors({ store, key: 'new.safetensors' }, t, o));
    // With workers the whole-file hash streams to a worker: the abort ends that stream and the pool too.
    if (workersHere) await run('write, workers 2', (o) => writeSafetensors({ store, key: 'new.safetensors' }, t, { ...o, workers: 2 }));
    await run('write sharded', (o) => writeSafetensors({ store, key: 'sh/model.safetensors' }, t, { ...o, maxShardSize: 4 * MiB }));
    await run('read', (o) => readSafetensors({ store, key: 'm.safetensors' }, { ...o, load: 'all' }));
    for (const workers of workersHere ? [0, 2] : [0]) await run(`verify, workers ${workers}`, (o) => verify({ store, key: 'm.safetensors' }, { ...o, workers }));
    await run('sign', (o) => sign({ store, key: 'm.safetensors' }, 'other-key', o));
    const after = await keys(store);
    // The sharded write may leave complete shards no index references (as a crash does); never an index, a temp file or new.safetensors.
    const extra = after.filter((k) => !before.includes(k));
    assert.equal(extra.filter((k) => !/^sh\/model-\d{5}-of-\d{5}\.safetensors(\.meta\.json)?$/.test(k)), [], `${where}: left ${extra.join(', ')}`);
    assert.ok(!after.some(isTempKey), `${where}: a temporary file was left`);
    assert.equal(await store.read('m.safetensors.meta.json'), sidecarBefore, `${where}: the aborted sign left the sidecar as it was`);
    // Still whole: the aborted operations changed nothing that was there.
    await verify({ store, key: 'm.safetensors' }, { key: 'k' });
  }
});
A('convert and diff: an aborted signal rejects with its reason; a convert aborted mid-write leaves no file', async () => {
  const pt = await readRepoFile('test/fixtures/reference/torch/state_dict_f32.pt');
  const store = new MemoryStore();
  const reason = new Reason('convert');
  assert.is(await convertTorchToSafetensors(pt, { store, key: 'c.safetensors' }, { signal: AbortSignal.abort(reason) }).catch((x) => x), reason);
  const c = new AbortController();
  const mid = new Reason('mid-convert');
  const onProgress = recorder((p) => { if (p.done > 0 && p.done < p.total) c.abort(mid); });
  const e = await convertTorchToSafetensors(pt, { store, key: 'c.safetensors' }, { signal: c.signal, onProgress }).catch((x) => x);
  assert.is(e, mid, 'aborted after the first of its tensors');
  assert.ok(onProgress.last().done < onProgress.last().total);
  assert.equal(await keys(store), []);
  const p = recorder();
  const r = await convertTorchToSafetensors(pt, { store, key: 'd.safetensors' }, { onProgress: p });
  assert.equal(p.last(), { done: p.last().total, total: p.last().total, phase: 'write' });
  assert.ok(r.size > p.last().total, 'the data, not the header, is counted');

  await writeSafetensors({ store, key: 'x.safetensors' }, tensors(4, 1000, 1));
  await writeSafetensors({ store, key: 'y.safetensors' }, tensors(4, 1000, 2));
  const d = new Reason('diff');
  assert.is(await diffTensors({ store, key: 'x.safetensors' }, { store, key: 'y.safetensors' }, { signal: AbortSignal.abort(d) }).catch((x) => x), d);
  // Mid-way: the signal is aborted while the first tensor is fetched; the comparison stops before the next.
  const dc = new AbortController();
  const dm = new Reason('mid-diff');
  const opened = await readSafetensors({ store, key: 'x.safetensors' }, { load: 'none' });
  let fetched = 0;
  const side = { format: 'safetensors', path: 'x', names: opened.names, metadata: null, info: (n) => opened.header.get(n),
    tensor: async (n) => { fetched++; dc.abort(dm); return opened.tensor(n); } };
  assert.is(await diffTensors(side, { store, key: 'y.safetensors' }, { signal: dc.signal }).catch((x) => x), dm);
  assert.is(fetched, 1);
});
A('a file opened under a signal: its later tensor fetches reject with the reason once it is aborted', async () => {
  const store = new MemoryStore();
  await writeSafetensors({ store, key: 'm.safetensors' }, tensors(3, 1000));
  const c = new AbortController();
  const f = await readSafetensors({ store, key: 'm.safetensors' }, { load: 'none', signal: c.signal });
  assert.is((await f.tensor('t000')).data.length, 1000);
  const reason = new Reason('later');
  c.abort(reason);
  assert.is(await f.tensor('t001').catch((x) => x), reason);
});
if (runtime !== 'workerd') {
  A('over HTTP (nginx): a read and a verify of a 40 MiB file stop mid-way with the reason', async () => {
    const store = new MemoryStore();
    await writeSafetensors({ store, key: 'm.safetensors' }, tensors(5, 8 * MiB, 3));
    const rel = `abort-${runtime}-${Date.now().toString(36)}`;
    for (const k of await keys(store)) await serveFile(`${rel}/${k}`, await store.read(k));
    const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${rel}/m.safetensors`;
    for (const [name, op] of [
      ['read', (o) => readSafetensors(url, { ...o, load: 'all' })],
      ['verify', (o) => verify(url, { ...o, workers: 0 })],
    ]) {
      const c = new AbortController();
      const reason = new Reason(name);
      const onProgress = recorder((p) => { if (p.done > 0) c.abort(reason); });
      assert.is(await op({ signal: c.signal, onProgress }).catch((x) => x), reason, name);
      assert.ok(onProgress.last().done < 40 * MiB, `${name} stopped at ${onProgress.last().done}`);
    }
  });
}
A.after(removeFolders);
A.run();
