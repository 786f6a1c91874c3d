// saveCheckpoint(root, state, { async: true }): resolves once the state is captured; `committed`
// settles when the checkpoint is durable. Training may change the model at once; saves commit in
// call order; at most maxInFlight wait in memory (back-pressure); a failure rejects `committed`,
// never the training loop, and leaves the previous LATEST.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveCheckpoint, loadCheckpoint, flushCheckpoints, listCheckpoints, MemoryStore, UnsupportedError, readSafetensors, parseSidecar, verify } from '../dist/index.js';
import { tf, ready, denseBnDense, weightBits, data } from './_tfjs.js';
import { disposeModel, tensorCount } from './_tfjs.js';
import { freshRoot, expectError } from './_ckpt-env.js';
import { hasFs } from './_env.js';

await ready;
const TENSORS_AT_START = tensorCount();

/** A memory store whose writes wait until open() is called (or fail with `failWith`). */
function gatedStore() {
  const inner = new MemoryStore();
  let open, gate = new Promise((ok) => { open = ok; });
  const store = Object.create(inner);
  store.failWith = null;
  store.writes = 0;
  store.write = async (key, bytes) => {
    await gate;
    if (store.failWith) throw store.failWith;
    store.writes++;
    return inner.write(key, bytes);
  };
  store.open = () => open();
  store.close = () => { gate = new Promise((ok) => { open = ok; }); };
  return store;
}

const ticks = async (n = 20) => { for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0)); };

const Async = suite('asynchronous saves');

Async('resolves once captured; the checkpoint holds the state at the call, not what training did next', async () => {
  const m = denseBnDense({ seed: 1 });
  const { x, y } = data();
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 });
  const atSave = weightBits(m);
  const root = await freshRoot('async');
  const pending = await saveCheckpoint(root, { model: m, optimizer: m.optimizer, step: m.optimizer.iterations }, { async: true });
  assert.is(pending.step, 2);
  assert.is(pending.name, 'step-00000002');
  assert.ok(pending.committed instanceof Promise);
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 }); // training goes on before the commit
  assert.not.equal(weightBits(m), atSave);
  const info = await pending.committed;
  assert.is(info.latest, true);
  const b = denseBnDense({ seed: 2 });
  const loaded = await loadCheckpoint(root, { model: b, optimizer: b.optimizer });
  assert.is(loaded.step, 2);
  assert.equal(weightBits(b), atSave);
  assert.is(b.optimizer.iterations, 2);
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
  disposeModel(b);
});

Async('saves commit in call order, a synchronous save after asynchronous ones included', async () => {
  const store = gatedStore();
  const m = denseBnDense({ seed: 3 });
  const order = [];
  const p = [];
  for (const step of [5, 3, 9]) {
    const s = await saveCheckpoint(store, { model: m, step }, { async: true, maxInFlight: 3 });
    s.committed.then(() => order.push(step));
    p.push(s);
  }
  const sync = saveCheckpoint(store, { model: m, step: 7 }).then(() => order.push(7));
  const after = await saveCheckpoint(store, { model: m, step: 6 }, { async: true, maxInFlight: 5 });
  after.committed.then(() => order.push(6));
  await ticks();
  assert.equal(order, [], 'nothing commits while the store holds the writes');
  store.open();
  await Promise.all([...p.map((s) => s.committed), sync, after.committed]);
  assert.equal(order, [5, 3, 9, 7, 6]);
  const latest = (await listCheckpoints(store)).find((c) => c.latest);
  assert.is(latest.name, 'step-00000006');
  disposeModel(m);
});

Async('back-pressure: with maxInFlight 1 the next save waits until the previous one committed', async () => {
  const store = gatedStore();
  const m = denseBnDense({ seed: 4 });
  const first = await saveCheckpoint(store, { model: m, step: 1 }, { async: true, maxInFlight: 1 });
  let firstDone = false;
  first.committed.then(() => { firstDone = true; });
  let secondCaptured = false;
  const second = saveCheckpoint(store, { model: m, step: 2 }, { async: true, maxInFlight: 1 }).then((s) => { secondCaptured = true; return s; });
  await ticks();
  assert.is(secondCaptured, false, 'the second save is held back while the first is in flight');
  store.open();
  const s2 = await second;
  assert.is(firstDone, true, 'it was let through only after the first committed');
  await s2.committed;
  disposeModel(m);
});

Async('saves in flight never share capture memory: each checkpoint holds its own state (pooled buffers reused only after a write)', async () => {
  const store = gatedStore();
  const m = denseBnDense({ seed: 8 });
  const { x, y } = data();
  const states = [];
  const pending = [];
  for (let i = 0; i < 4; i++) {
    await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 });
    states.push(weightBits(m));
    pending.push(await saveCheckpoint(store, { model: m, optimizer: m.optimizer, step: i + 1 }, { async: true, maxInFlight: 2 }));
    if (i === 1) store.open(); // two captures held before anything is written; later ones reuse what was released
  }
  await Promise.all(pending.map((p) => p.committed));
  for (let i = 0; i < 4; i++) {
    const b = denseBnDense({ seed: 20 + i });
    await loadCheckpoint({ store, key: `step-0000000${i + 1}` }, { model: b });
    assert.equal(weightBits(b), states[i], `checkpoint ${i + 1}`);
    disposeModel(b);
  }
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
});

Async('a failed save rejects `committed` and flushCheckpoints with a typed error; LATEST stays on the previous one', async () => {
  const store = gatedStore();
  store.open();
  const m = denseBnDense({ seed: 5 });
  await (await saveCheckpoint(store, { model: m, step: 1 }, { async: true })).committed;
  store.failWith = new Error('disk full');
  const bad = await saveCheckpoint(store, { model: m, step: 2 }, { async: true });
  const e = await expectError(bad.committed, 'IO');
  assert.match(e.message, /disk full/);
  store.failWith = null;
  assert.is((await listCheckpoints(store)).find((c) => c.latest).name, 'step-00000001');
  store.failWith = new Error('gone');
  const bad2 = await saveCheckpoint(store, { model: m, step: 3 }, { async: true });
  await expectError(flushCheckpoints(store), 'IO');
  await expectError(bad2.committed, 'IO');
  store.failWith = null;
  disposeModel(m);
});

Async('flushCheckpoints waits for every save in flight', async () => {
  const store = gatedStore();
  const m = denseBnDense({ seed: 6 });
  const s = await saveCheckpoint(store, { model: m, step: 4 }, { async: true });
  let done = false;
  s.committed.then(() => { done = true; });
  const flushed = flushCheckpoints();
  await ticks();
  assert.is(done, false);
  store.open();
  await flushed;
  assert.is(done, true);
  disposeModel(m);
});

Async('a capture that fails (state not JSON) throws at once and frees what it cloned', async () => {
  const m = denseBnDense({ seed: 7 });
  const before = tf.memory().numTensors;
  await expectError(saveCheckpoint(new MemoryStore(), { model: m, step: 1, vocab: 1n }, { async: true }), 'UNSUPPORTED');
  assert.is(tf.memory().numTensors, before);
  const s = await saveCheckpoint(new MemoryStore(), { model: m, step: 1 }, { async: true });
  await s.committed;
  assert.is(tf.memory().numTensors, before, 'clones are freed once written');
  disposeModel(m);
});

Async('on the WASM backend a capture copies no values: it holds references to the tensors\' memory until its turn, and the checkpoint has the values of the call', async () => {
  assert.is(tf.getBackend(), 'wasm', 'the suite trains on the WASM backend in every runtime (test/_tfjs.js)');
  const store = gatedStore();
  const m = denseBnDense({ seed: 9 });
  const { x, y } = data();
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 }); // Adam's slots exist
  const first = await saveCheckpoint(store, { model: m, optimizer: m.optimizer, step: 1 }, { async: true, maxInFlight: 2 });
  await ticks(); // the first save has read its capture out and waits on the store
  const before = tf.memory();
  const atSave = weightBits(m);
  const second = await saveCheckpoint(store, { model: m, optimizer: m.optimizer, step: 2 }, { async: true, maxInFlight: 2 });
  const held = tf.memory();
  assert.ok(held.numTensors >= before.numTensors + m.weights.length, `a reference per tensor is held (${held.numTensors - before.numTensors} more tensors)`);
  assert.is(held.numDataBuffers, before.numDataBuffers, 'the references share the tensors\' memory: no buffer was allocated, no byte copied');
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 }); // training replaces every variable's memory meanwhile
  assert.not.equal(weightBits(m), atSave);
  store.open();
  await first.committed;
  await second.committed;
  assert.is(tf.memory().numTensors, before.numTensors, 'the references are dropped once read out');
  const b = denseBnDense({ seed: 30 });
  await loadCheckpoint({ store, key: 'step-00000002' }, { model: b });
  assert.equal(weightBits(b), atSave);
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
  disposeModel(b);
});

Async('a synchronous save copies no values at the call either: it holds references while it writes, reads each tensor out in pieces as it is written, and the checkpoint has the values of the call', async () => {
  const store = gatedStore();
  // 20 MiB: several write pieces (8 MiB) and chunk digests (tensors over 16 MiB), read out of the heap piece by piece.
  const [big, small] = tf.tidy(() => [tf.variable(tf.randomUniform([5 << 10, 1 << 10], -1, 1, 'float32', 5), true, 'big'), tf.variable(tf.tensor1d([1, 2, 3]), true, 'small')]);
  const model = { big, small };
  const atSave = { big: big.dataSync().slice(), small: small.dataSync().slice() };
  const before = tf.memory();
  const saving = saveCheckpoint(store, { model, step: 4 });
  const held = tf.memory();
  assert.is(held.numTensors, before.numTensors + 2, 'a reference per tensor');
  assert.is(held.numDataBuffers, before.numDataBuffers, 'sharing the tensors\' memory: no byte copied at the call');
  // Training goes on: every variable gets new memory and values before a byte is written.
  tf.tidy(() => { big.assign(tf.mul(big, 2)); small.assign(tf.add(small, 1)); });
  store.open();
  const info = await saving;
  assert.is(info.name, 'step-00000004');
  assert.is(tf.memory().numTensors, before.numTensors, 'the references are dropped once written');
  const file = await readSafetensors({ store, key: 'step-00000004/model.safetensors' }, { load: 'all' });
  assert.equal(file.tensors.big.toFloat32(), atSave.big);
  assert.equal(file.tensors.small.toFloat32(), atSave.small);
  const sc = parseSidecar(await store.read('step-00000004/model.safetensors.meta.json'), 'sc');
  assert.is(sc.tensors.big.chunks.sha256.length, 20, 'chunk digests of the streamed tensor');
  assert.is((await verify({ store, key: 'step-00000004/model.safetensors' }, { wholeFile: true })).sidecar, 'verified');
  big.dispose();
  small.dispose();
});

Async('a synchronous save that fails frees its references', async () => {
  const store = gatedStore();
  const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2]), true, 'v'));
  const before = tf.memory().numTensors;
  store.failWith = new Error('disk on fire');
  const saving = saveCheckpoint(store, { model: { v }, step: 1 });
  assert.is(tf.memory().numTensors, before + 1);
  store.open();
  await expectError(saving, 'IO');
  assert.is(tf.memory().numTensors, before, 'the reference is dropped');
  v.dispose();
});

// A training loop yields about once a step; a commit that needs this thread's turns for its writes, fsyncs and renames
// crawls (BENCHMARKS.md, async-save). Into a folder, in Node, Deno and Bun, it runs on a worker: it commits while this
// thread is blocked and never yields. (On the commit code of this thread, LATEST never appears while it is blocked.)
if (hasFs) Async('into a folder the commit runs on a worker thread: it commits while the training thread is blocked and never yields', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const root = await freshRoot('offthread');
  const m = denseBnDense({ seed: 11 });
  const { x, y } = data();
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 });
  const atSave = weightBits(m);
  const logged = [];
  const logger = { debug() {}, info: (msg, f) => logged.push([msg, f]), warn() {}, error() {}, critical() {} };
  const pending = await saveCheckpoint(root, { model: m, optimizer: m.optimizer, step: 7 }, { async: true, logger });
  // Blocked from here: no promise callback, timer or I/O completion runs on this thread.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 30000;
  let latest = '';
  while (Date.now() < deadline) {
    try { latest = fs.readFileSync(path.join(root, 'LATEST'), 'utf8').trim(); } catch { /* not yet */ }
    if (latest === 'step-00000007') break;
    Atomics.wait(sleeper, 0, 0, 20);
  }
  assert.is(latest, 'step-00000007', 'LATEST moved while this thread was blocked');
  const info = await pending.committed;
  assert.is(info.name, 'step-00000007');
  assert.ok(logged.some(([msg, f]) => msg === 'checkpoint committed' && f.step === 7), 'the worker\'s log records reach the caller\'s logger');
  await m.fit(x, y, { epochs: 1, batchSize: 3, shuffle: false, verbose: 0 });
  const b = denseBnDense({ seed: 31 });
  const loaded = await loadCheckpoint(root, { model: b, optimizer: b.optimizer });
  assert.is(loaded.step, 7);
  assert.equal(weightBits(b), atSave);
  // The next save reuses the buffers the worker handed back, and commits as well.
  const again = await saveCheckpoint(root, { model: m, optimizer: m.optimizer, step: 8 }, { async: true });
  assert.is((await again.committed).name, 'step-00000008');
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
  disposeModel(b);
});

if (hasFs) Async('a commit on the worker that fails rejects `committed` with its typed error, and LATEST stays', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const root = await freshRoot('offthread-fail');
  const m = denseBnDense({ seed: 12 });
  await (await saveCheckpoint(root, { model: m, step: 1 }, { async: true })).committed;
  // A lineage that is not one passes the capture (plain JSON) and fails in the commit, on the worker.
  const bad = await saveCheckpoint(root, { model: m, step: 2, lineage: { chain: 'not a chain' } }, { async: true });
  const e = await expectError(bad.committed, 'UNSUPPORTED');
  assert.ok(e instanceof UnsupportedError, 'the typed error class, rebuilt from the worker\'s reply');
  assert.is(e.detail, 'BAD_STATE');
  assert.match(e.message, /lineage/);
  assert.is(fs.readFileSync(path.join(root, 'LATEST'), 'utf8').trim(), 'step-00000001');
  disposeModel(m);
});

Async('leaves no tensor behind (the tfjs engine is shared with every test file)', () => {
  assert.is(tensorCount(), TENSORS_AT_START);
});

Async.run();
