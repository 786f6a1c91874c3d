// saveWeights / loadWeights with @tensorflow/tfjs as users install it: stable names (by layer and
// role, never tfjs's process-global counters), all-or-nothing loads, tf found from the model, old
// names still loading, and the same names inside checkpoints.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saveWeights, loadWeights, saveCheckpoint, loadCheckpoint, readSafetensors, writeSafetensors, WEIGHT_NAMING, joinKey } from '../dist/internal.js';
import { tf, ready, denseBnDense, setDeterministic, weightBits, fill } from './_tfjs.js';
import { disposeModel, tensorCount } from './_tfjs.js';
import { readRepoJson, readRepoFile, isBrowser, runtime } from './_env.js';
import { freshRoot, storeOf, recordingLogger, expectError } from './_ckpt-env.js';

await ready;
const TENSORS_AT_START = tensorCount();

const STABLE = ['dense/kernel', 'dense/bias', 'batch_normalization/gamma', 'batch_normalization/beta', 'dense_1/kernel', 'dense_1/bias',
  'batch_normalization/moving_mean', 'batch_normalization/moving_variance'];

async function fileNames(path) {
  const f = await readSafetensors(path);
  return { names: [...f.names].sort(), metadata: f.metadata, f };
}

const Names = suite('stable weight names');

Names('a Dense–BatchNorm–Dense model is named by layer class and rank, whatever tfjs counted before', async () => {
  const a = denseBnDense();
  const b = denseBnDense(); // built second: tfjs names its layers dense_Dense3, dense_Dense4, …
  assert.is.not(a.weights[0].name, b.weights[0].name, 'tfjs itself gives the second model other names');
  const root = await freshRoot('weights');
  const ra = await saveWeights(joinKey(root, 'a.safetensors'), a);
  const rb = await saveWeights(joinKey(root, 'b.safetensors'), b);
  assert.equal(ra.names, STABLE);
  assert.equal(rb.names, STABLE);
  const { names, metadata } = await fileNames(joinKey(root, 'a.safetensors'));
  assert.equal(names, [...STABLE].sort());
  assert.is(metadata.weight_naming, WEIGHT_NAMING);
  assert.is(metadata.architecture_type, 'sequential');
  assert.is(metadata.model_name, 'sequential(dense,batch_normalization,dense)');
  disposeModel(a);
  disposeModel(b);
});

Names('explicit layer names are kept; class keys skip them; nested models are paths; wrapped layers keep their roles', async () => {
  const inner = tf.sequential({ name: 'encoder', layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.dense({ units: 2, name: 'head' })] });
  const inp = tf.input({ shape: [5, 4] });
  const bi = tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }) }).apply(inp);
  const td = tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 4, name: 'dense_1' }) }).apply(inp);
  const d = tf.layers.dense({ units: 4 }).apply(tf.layers.flatten().apply(td));
  const m = tf.model({ inputs: inp, outputs: [inner.apply(d), bi] });
  const root = await freshRoot('weights');
  const r = await saveWeights(joinKey(root, 'm.safetensors'), m);
  assert.equal([...r.names].sort(), [
    'bidirectional/backward_lstm/bias', 'bidirectional/backward_lstm/kernel', 'bidirectional/backward_lstm/recurrent_kernel',
    'bidirectional/forward_lstm/bias', 'bidirectional/forward_lstm/kernel', 'bidirectional/forward_lstm/recurrent_kernel',
    'dense/bias', 'dense/kernel', // the auto-named Dense: 'dense' is free ('dense_1' is the TimeDistributed's own name)
    'encoder/dense/bias', 'encoder/dense/kernel', 'encoder/head/bias', 'encoder/head/kernel',
    'time_distributed/bias', 'time_distributed/kernel',
  ]);
  assert.is(r.metadata.architecture_type, 'functional');
  disposeModel(m);
});

const Load = suite('loadWeights');

Load('loads into the same architecture built second in the process, bit for bit, without a tf option', async () => {
  const a = denseBnDense({ seed: 1 });
  const root = await freshRoot('weights');
  await saveWeights(joinKey(root, 'w.safetensors'), a);
  const b = denseBnDense({ seed: 2 });
  assert.not.equal(weightBits(b), weightBits(a));
  const r = await loadWeights(joinKey(root, 'w.safetensors'), b);
  assert.equal(weightBits(b), weightBits(a));
  assert.is(r.kind, 'safetensors');
  assert.equal(r.names, STABLE);
  const x = tf.tensor2d([[1, 2, 3]]);
  const [pa, pb] = [a.predict(x), b.predict(x)];
  assert.equal(Array.from(pb.dataSync()), Array.from(pa.dataSync()));
  for (const t of [x, pa, pb]) t.dispose();
  disposeModel(a);
  disposeModel(b);
});

Load('a record of tf.Variables and a LayersModel with user names load the same way; a signed file needs its key', async () => {
  const key = new TextEncoder().encode('k');
  const rec = tf.tidy(() => ({ w: tf.variable(tf.tensor2d(fill([2, 3]), [2, 3]), true, 'rec-w'), b: tf.variable(tf.tensor1d(fill([3], 1)), true, 'rec-b') }));
  const root = await freshRoot('weights');
  const path = joinKey(root, 'rec.safetensors');
  const saved = await saveWeights(path, rec, { key });
  assert.is(saved.metadata.architecture_type, 'variables');
  const rec2 = tf.tidy(() => ({ w: tf.variable(tf.zeros([2, 3]), true, 'rec2-w'), b: tf.variable(tf.zeros([3]), true, 'rec2-b') }));
  await expectError(loadWeights(path, rec2, { key: new TextEncoder().encode('wrong') }), 'AUTH');
  assert.equal(Array.from(rec2.w.dataSync()), [0, 0, 0, 0, 0, 0], 'nothing assigned after AUTH');
  await loadWeights(path, rec2, { key });
  assert.equal(Array.from(rec2.w.dataSync()), Array.from(rec.w.dataSync()));
  for (const v of [rec.w, rec.b, rec2.w, rec2.b]) v.dispose();
});

Load('all or nothing: one wrong shape lists every mismatch and assigns no weight', async () => {
  const a = denseBnDense({ units: 4, seed: 1 });
  const root = await freshRoot('weights');
  await saveWeights(joinKey(root, 'w.safetensors'), a);
  const b = denseBnDense({ units: 5, seed: 2 });
  const before = weightBits(b);
  const e = await expectError(loadWeights(joinKey(root, 'w.safetensors'), b), 'SHAPE_MISMATCH');
  assert.match(e.message, /dense\/kernel/);
  assert.match(e.message, /batch_normalization\/moving_variance/);
  assert.match(e.message, /nothing was loaded/);
  assert.equal(weightBits(b), before);
  disposeModel(a);
  disposeModel(b);
});

Load('a dtype that cannot go into the variable is DTYPE_MISMATCH before any weight is assigned', async () => {
  const root = await freshRoot('weights');
  const path = joinKey(root, 'w.safetensors');
  const tensors = {};
  for (const n of STABLE) {
    const shape = n.startsWith('dense/') ? (n.endsWith('kernel') ? [3, 4] : [4]) : n.startsWith('dense_1') ? (n.endsWith('kernel') ? [4, 1] : [1]) : [4];
    tensors[n] = n === 'dense_1/bias' ? { dtype: 'I32', shape, data: new Int32Array(1) } : { dtype: 'F32', shape, data: fill(shape) };
  }
  await writeSafetensors(path, tensors);
  const b = denseBnDense({ seed: 3 });
  const before = weightBits(b);
  const e = await expectError(loadWeights(path, b), 'DTYPE_MISMATCH');
  assert.match(e.message, /dense_1\/bias/);
  assert.equal(weightBits(b), before);
  disposeModel(b);
});

Load('BF16 and F16 files load exactly into float32 weights', async () => {
  const root = await freshRoot('weights');
  const path = joinKey(root, 'half.safetensors');
  const rec = tf.tidy(() => ({ w: tf.variable(tf.zeros([2, 2]), true, 'half-w') }));
  // 1.5, -2, 0.09375, 65504 as BF16 and as F16 bit patterns
  await writeSafetensors(path, { w: { dtype: 'BF16', shape: [2, 2], data: new Uint16Array([0x3fc0, 0xc000, 0x3dc0, 0x477f]) } });
  await loadWeights(path, rec);
  assert.equal(Array.from(rec.w.dataSync()), [1.5, -2, 0.09375, 65280]);
  await writeSafetensors(path, { w: { dtype: 'F16', shape: [2, 2], data: new Uint16Array([0x3e00, 0xc000, 0x2e00, 0x7bff]) } });
  await loadWeights(path, rec);
  assert.equal(Array.from(rec.w.dataSync()), [1.5, -2, 0.09375, 65504]);
  rec.w.dispose();
});

Load('tf that cannot be found from the model is asked for by name', async () => {
  // Variables of no engine (a structural fake): nothing proves which tfjs they belong to.
  const fakeVar = { name: 'nowhere', shape: [1], dtype: 'float32', assign() {}, dataSync: () => new Float32Array(1) };
  const root = await freshRoot('weights');
  await writeSafetensors(joinKey(root, 'x.safetensors'), { x: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
  const e = await expectError(loadWeights(joinKey(root, 'x.safetensors'), { x: fakeVar }), 'UNSUPPORTED');
  assert.match(e.message, /`tf` option/);
});

const Legacy = suite('files written with tfjs auto names (before stable names)');

Legacy('weights and a checkpoint of an earlier safeckpt load by layer class and order, with a WARN', async () => {
  const expected = await readRepoJson('test/fixtures/checkpoint/layers-legacy/expected.json');
  // This model's layers get other counters again (dense_Dense7…): only class and order say which is which.
  tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] }).dispose();
  const m = denseBnDense({ seed: 4 });
  const log = recordingLogger();
  const src = await legacyFixture('weights.safetensors');
  const r = await loadWeights(src, m, { logger: log });
  assert.is(r.legacyRenamed, 8);
  const byOld = Object.values(expected.weights);
  assert.equal(m.weights.map((w) => Array.from(w.read().dataSync())), byOld.map((v) => Array.from(Float32Array.from(v))));
  assert.ok(log.records.some((x) => x.level === 'WARN' && /process-global names/.test(x.msg)), JSON.stringify(log.records));

  // The checkpoint: weights AND the Adam slots (renamed with their variables), counters exact.
  const m2 = denseBnDense({ seed: 5 });
  const log2 = recordingLogger();
  const loaded = await loadCheckpoint(await legacyFixture(''), { model: m2, optimizer: m2.optimizer, logger: log2 });
  assert.is(loaded.step, 6);
  assert.equal(weightBits(m2), weightBits(m));
  assert.is(m2.optimizer.iterations, 6);
  assert.is(m2.optimizer.accBeta1.dataSync()[0], loaded.optimizer.counters.accBeta1);
  assert.is(m2.optimizer.accumulatedFirstMoment.length, 6);
  assert.ok(log2.records.some((x) => x.level === 'WARN' && /process-global names/.test(x.msg)));
  disposeModel(m);
  disposeModel(m2);
});

/** The legacy fixture as a path (Node, Deno) or copied into OPFS (Chromium). */
async function legacyFixture(rel) {
  const base = 'test/fixtures/checkpoint/layers-legacy';
  if (!isBrowser) return new URL(`../${base}/${rel}`, import.meta.url).pathname.replace(/\/$/, '');
  const root = await freshRoot('legacy');
  const { store, key } = storeOf(root);
  const files = ['weights.safetensors', 'weights.safetensors.meta.json', 'LATEST', 'registry.json',
    ...['checkpoint.json', 'model.safetensors', 'model.safetensors.meta.json', 'optimizer.safetensors', 'optimizer.safetensors.meta.json', 'trainer_state.json', 'vocab.json'].map((f) => `step-00000006/${f}`)];
  for (const f of files) await store.write(joinKey(key, f), await readRepoFile(`${base}/${f}`));
  return rel ? joinKey(root, rel) : root;
}

const Ckpt = suite('checkpoints use the same names');

Ckpt('saveCheckpoint stores stable names and true metadata; loadCheckpoint restores into a model built second', async () => {
  const a = denseBnDense({ seed: 6 });
  const root = await freshRoot('weights');
  const info = await saveCheckpoint(root, { model: a, optimizer: a.optimizer, step: 0 });
  assert.is(info.model.architecture_type, 'sequential');
  assert.is(info.model.model_name, 'sequential(dense,batch_normalization,dense)');
  assert.equal(info.model.architecture.layers, ['Dense', 'BatchNormalization', 'Dense']);
  const { store, key } = storeOf(root);
  const f = await readSafetensors({ store, key: joinKey(key, 'step-00000000/model.safetensors') });
  assert.equal([...f.names].sort(), [...STABLE].sort());
  const b = denseBnDense({ seed: 7 });
  await loadCheckpoint(root, { model: b });
  assert.equal(weightBits(b), weightBits(a));
  // loadWeights reads a checkpoint too (verified through its manifest).
  const c = denseBnDense({ seed: 8 });
  const r = await loadWeights(root, c);
  assert.is(r.kind, 'checkpoint');
  assert.equal(weightBits(c), weightBits(a));
  for (const m of [a, b, c]) disposeModel(m);
});

Ckpt('an explicitly named model keeps its name as model_name', async () => {
  const m = tf.sequential({ name: 'tiny-regressor', layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
  const root = await freshRoot('weights');
  const info = await saveCheckpoint(root, { model: m, step: 1 });
  assert.is(info.model.model_name, 'tiny-regressor');
  assert.is(info.model.architecture_type, 'sequential');
  disposeModel(m);
});

const Fresh = suite('another process, TensorFlow.js as users install it');

/** Runs test/_tfjs-user.js with `spec` in a fresh process of this runtime (Node, Deno). */
async function userProcess(spec) {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('./_tfjs-user.js', import.meta.url));
  const [cmd, args] = runtime === 'deno' ? [Deno.execPath(), ['run', '-A', '--quiet', script]] : [process.execPath, [script]];
  return new Promise((ok, fail) => {
    const child = spawn(cmd, [...args, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', fail);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) fail(new Error(`_tfjs-user.js exited with ${code}:\n${out}`));
      else ok(JSON.parse(line.slice(7)));
    });
  });
}

if (!isBrowser) {
  Fresh('weights saved here load in a fresh process on the default backend, bit for bit', async () => {
    const a = denseBnDense({ seed: 11 });
    const root = await freshRoot('weights');
    await saveWeights(joinKey(root, 'w.safetensors'), a);
    const r = await userProcess({ op: 'load', path: joinKey(root, 'w.safetensors') });
    assert.is(r.backend, 'cpu');
    assert.equal(r.names, STABLE);
    const { sha256, toHex } = await import('../dist/index.js');
    const here = toHex(sha256(new Uint8Array(a.weights.flatMap((w) => Array.from(new Uint8Array(w.read().dataSync().slice().buffer))))));
    assert.is(r.digest, here);
    disposeModel(a);
  });

  Fresh('an asynchronous save on the cpu backend (tensors captured by clone) holds the state at the call', async () => {
    const r = await userProcess({ op: 'async', root: await freshRoot('async-cpu') });
    assert.is(r.backend, 'cpu');
    assert.is(r.changed, true, 'training changed the model before the commit');
    assert.is(r.sameAsCall, true, 'the checkpoint holds the weights at the call');
  });
}

Names.run();
Load.run();
Legacy.run();
Ckpt.run();
Fresh('leaves no tensor behind (the tfjs engine is shared with every test file)', () => {
  assert.is(tensorCount(), TENSORS_AT_START);
});

Fresh.run();
