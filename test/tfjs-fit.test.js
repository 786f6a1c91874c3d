// checkpointCallback for model.fit / fitDataset, and resuming a fit with initialEpoch: a fit
// interrupted after epoch k and resumed from its checkpoint ends bit-identical to one
// uninterrupted fit (shuffle: false), in a model built second, with @tensorflow/tfjs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkpointCallback, resumeTraining, listCheckpoints, loadCheckpoint } from '../dist/index.js';
import { tf, ready, denseBnDense, weightBits, data } from './_tfjs.js';
import { disposeModel, tensorCount } from './_tfjs.js';
import { freshRoot, expectError } from './_ckpt-env.js';

await ready;
const TENSORS_AT_START = tensorCount();

const EPOCHS = 6, K = 2, BATCH = 2; // 6 samples: 3 batches per epoch

const bitsOf = (xs) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));

const Fit = suite('checkpointCallback');

Fit('a fit interrupted after epoch k and resumed with initialEpoch k ends bit-identical to an uninterrupted fit', async () => {
  const { x, y } = data();
  const full = denseBnDense({ seed: 1 });
  const ref = await full.fit(x, y, { epochs: EPOCHS, batchSize: BATCH, shuffle: false, verbose: 0 });

  const root = await freshRoot('fit');
  const first = denseBnDense({ seed: 1 });
  await first.fit(x, y, { epochs: K, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [checkpointCallback(root, { model: first })] });
  disposeModel(first); // "the process died"

  const again = denseBnDense({ seed: 9 }); // built second: other tfjs names, other initial weights
  const r = await resumeTraining(root, { model: again, optimizer: again.optimizer });
  assert.equal(r.dataCursor, { epoch: K, batch: 0 });
  assert.is(r.step, K * 3);
  const rest = await again.fit(x, y, { epochs: EPOCHS, initialEpoch: r.dataCursor.epoch, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [checkpointCallback(root, { model: again })] });
  assert.equal(bitsOf(rest.history.loss), bitsOf(ref.history.loss.slice(K)), 'the resumed epochs report the same losses');
  assert.equal(weightBits(again), weightBits(full), 'and end with the same weights, bit for bit');
  assert.is(again.optimizer.iterations, EPOCHS * 3);
  const names = (await listCheckpoints(root)).map((c) => c.name);
  assert.equal(names, [3, 6, 9, 12, 15, 18].map((s) => `step-${String(s).padStart(8, '0')}`));
  for (const t of [x, y]) t.dispose();
  for (const m of [full, again]) disposeModel(m);
});

Fit('tfjs resumes inexactly without the optimizer state (why it is saved)', async () => {
  const { x, y } = data();
  const full = denseBnDense({ seed: 1 });
  const ref = await full.fit(x, y, { epochs: 4, batchSize: BATCH, shuffle: false, verbose: 0 });
  const root = await freshRoot('fit');
  const first = denseBnDense({ seed: 1 });
  await first.fit(x, y, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [checkpointCallback(root, { model: first })] });
  const again = denseBnDense({ seed: 9 });
  const r = await loadCheckpoint(root, { model: again }); // weights only: Adam starts again from zero moments
  const rest = await again.fit(x, y, { epochs: 4, initialEpoch: r.dataCursor.epoch, batchSize: BATCH, shuffle: false, verbose: 0 });
  assert.not.equal(bitsOf(rest.history.loss), bitsOf(ref.history.loss.slice(2)));
  for (const t of [x, y]) t.dispose();
  for (const m of [full, first, again]) disposeModel(m);
});

Fit('everyBatches saves mid-epoch with the batch in dataCursor; keepLast keeps the newest', async () => {
  const { x, y } = data();
  const root = await freshRoot('fit');
  const m = denseBnDense({ seed: 2 });
  await m.fit(x, y, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [checkpointCallback(root, { model: m, everyBatches: 2, keepLast: 2 })] });
  const list = await listCheckpoints(root);
  assert.equal(list.map((c) => c.step), [4, 6]);
  const b = denseBnDense({ seed: 3 });
  const r = await resumeTraining(root, { model: b, optimizer: b.optimizer });
  assert.equal(r.dataCursor, { epoch: 2, batch: 0 }, 'step 6 = the end of epoch 1, saved by its last batch: resume at epoch 2');
  const r4 = await loadCheckpoint(`${root}/step-00000004`, { model: b });
  assert.equal(r4.dataCursor, { epoch: 1, batch: 1 });
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
  disposeModel(b);
});

Fit('keepBest keeps the best epoch by a metric besides the newest; metrics come from fit logs', async () => {
  const { x, y } = data();
  const root = await freshRoot('fit');
  const m = denseBnDense({ seed: 2 });
  const h = await m.fit(x, y, { epochs: 4, batchSize: BATCH, shuffle: false, verbose: 0, validationData: [x, y],
    callbacks: [checkpointCallback(root, { model: m, keepLast: 1, keepBest: { metric: 'val_loss', mode: 'min' } })] });
  const vals = h.history.val_loss;
  const best = vals.indexOf(Math.min(...vals));
  const list = await listCheckpoints(root);
  const want = [...new Set([best, 3])].sort().map((e) => (e + 1) * 3);
  assert.equal(list.map((c) => c.step), want);
  assert.is(list.at(-1).metrics.val_loss, vals[3]);
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
});

Fit('fitDataset: saves per epoch and resumes with initialEpoch bit-identically (synchronous saves too)', async () => {
  const { x, y } = data();
  const ds = () => tf.data.zip({ xs: tf.data.array(x.arraySync()), ys: tf.data.array(y.arraySync()) }).map(({ xs, ys }) => ({ xs: tf.tensor1d(xs), ys: tf.tensor1d(ys) })).batch(BATCH);
  const full = denseBnDense({ seed: 4 });
  const ref = await full.fitDataset(ds(), { epochs: 4, verbose: 0 });
  const root = await freshRoot('fit');
  const first = denseBnDense({ seed: 4 });
  await first.fitDataset(ds(), { epochs: 1, verbose: 0, callbacks: [checkpointCallback(root, { model: first, async: false })] });
  const again = denseBnDense({ seed: 5 });
  const r = await resumeTraining(root, { model: again, optimizer: again.optimizer });
  const rest = await again.fitDataset(ds(), { epochs: 4, initialEpoch: r.dataCursor.epoch, verbose: 0 });
  assert.equal(bitsOf(rest.history.loss), bitsOf(ref.history.loss.slice(1)));
  assert.equal(weightBits(again), weightBits(full));
  for (const t of [x, y]) t.dispose();
  for (const m of [full, first, again]) disposeModel(m);
});

Fit('without a model it says to pass one (tfjs gives callback configs no model)', async () => {
  const { x, y } = data();
  const m = denseBnDense({ seed: 2 });
  const e = await expectError(m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [checkpointCallback(await freshRoot('fit'))] }), 'UNSUPPORTED');
  assert.match(e.message, /pass it as the `model` option/);
  for (const t of [x, y]) t.dispose();
  disposeModel(m);
});

Fit('bad options are refused with a typed error', async () => {
  await expectError((async () => checkpointCallback('x', { everyEpochs: 0 }))(), 'UNSUPPORTED');
  await expectError((async () => checkpointCallback('x', { everyBatches: 1.5 }))(), 'UNSUPPORTED');
});

Fit('leaves no tensor behind (the tfjs engine is shared with every test file)', () => {
  assert.is(tensorCount(), TENSORS_AT_START);
});

Fit.run();
