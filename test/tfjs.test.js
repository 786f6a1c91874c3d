import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  namedVariables, snapshotModel, snapshotOptimizer, planModelRestore, planOptimizerRestore, modelSignature,
} from '../dist/index.js';
import { TrainLoop, TinyLM } from '../dist/demo/index.js';
import { tf, ready, OPTIMIZERS, TEST_CONFIG, TOKENS, BATCH, freshRun, bits, weightBytes, disposeOptimizer } from './_tiny.js';

await ready;

const Backend = suite('tfjs on the wasm backend');

Backend('runs offline on wasm with SIMD', () => {
  assert.is(tf.getBackend(), 'wasm');
  assert.ok(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'));
});

Backend('trains the tiny LM to bit-identical losses run after run', () => {
  const a = freshRun('adam');
  const la = a.loop.run(8);
  const wa = weightBytes(a.model);
  a.dispose();
  const b = freshRun('adam');
  const lb = b.loop.run(8);
  const wb = weightBytes(b.model);
  b.dispose();
  assert.equal(bits(lb), bits(la));
  assert.equal(wb, wa);
  assert.ok(la[7] < la[0], `the loss decreases (${la[0]} → ${la[7]})`);
});

Backend('dropout masks follow the step, not the global RNG', () => {
  const a = freshRun('sgd');
  const x = tf.tensor2d(TOKENS.slice(0, 16), [1, 16], 'int32');
  const loss = (o) => tf.tidy(() => a.model.loss(x, x, o).dataSync()[0]);
  const l1 = loss({ training: true, step: 5 });
  tf.randomUniform([10]).dispose(); // disturb tfjs's global RNG
  const l2 = loss({ training: true, step: 5 });
  const l3 = loss({ training: true, step: 6 });
  const l4 = loss({ training: false });
  x.dispose();
  a.dispose();
  assert.is(l2, l1);
  assert.is.not(l3, l1);
  assert.is.not(l4, l1);
});

const Opt = suite('optimizer state: every slot and hidden counter');

/** Trains 13 steps, snapshots, trains 12 more (reference); restores the snapshot into a fresh model + optimizer and trains the same 12. */
function resumeInProcess(name) {
  const a = freshRun(name);
  a.loop.run(13);
  const weights = snapshotModel(a.model);
  const { state, slots } = snapshotOptimizer(a.opt, namedVariables(a.model));
  const cursor = a.loop.sampler.state();
  const ref = a.loop.run(12);
  const refW = weightBytes(a.model);
  a.dispose();
  const model = TinyLM.create(tf, TEST_CONFIG);
  const opt = OPTIMIZERS[name]();
  const vars = namedVariables(model);
  const plans = [planModelRestore(tf, vars, weights, 'snapshot'), planOptimizerRestore(tf, opt, vars, state, slots, 'snapshot')];
  for (const p of plans) p.commit();
  const loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor, step: 13 });
  const got = loop.run(12);
  const gotW = weightBytes(model);
  model.dispose();
  disposeOptimizer(opt);
  return { ref, got, refW, gotW, state, slots };
}

for (const name of Object.keys(OPTIMIZERS)) {
  Opt(`${name}: restored at step 13 continues bit-identically`, () => {
    const { ref, got, refW, gotW, state } = resumeInProcess(name);
    assert.ok(ref.every(Number.isFinite), `finite losses: ${ref}`);
    assert.equal(bits(got), bits(ref));
    assert.equal(gotW, refW);
    assert.is(state.iterations, 13);
  });
}

Opt('slot names follow variable names and kinds, in the model order', () => {
  const a = freshRun('adadelta');
  a.loop.run(1);
  const { state, slots } = snapshotOptimizer(a.opt, namedVariables(a.model));
  a.dispose();
  assert.equal(state.slot_kinds, ['accum_grad', 'accum_var']);
  assert.equal(state.slot_order, Object.keys(freshSig()));
  assert.equal(slots['blocks.0.attn.wq/accum_var'].shape, [16, 16]);
});

Opt('centered RMSProp: the mean-gradient slot (mg) round-trips exactly, on a record of variables', () => {
  // A dense least-squares problem: every gradient element is non-zero, so tfjs's centered RMSProp stays finite.
  const make = (p) => tf.tidy(() => ({ w: tf.variable(tf.tensor2d([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]]), true, p + 'w'), b: tf.variable(tf.tensor1d([0.1, -0.1]), true, p + 'b') }));
  const x = tf.tensor2d([[1, 2, 3], [0.5, -1, 2], [2, 0.3, -0.7], [-1, 1, 1]]);
  const y = tf.tensor2d([[1, 0], [0, 1], [1, 1], [0.5, -0.5]]);
  const step = (vars, opt) => {
    const l = opt.minimize(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, vars.w), vars.b), y))), true, [vars.w, vars.b]);
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  };
  const rms = () => tf.train.rmsprop(0.01, 0.9, 0.3, 1e-7, true);
  const a = make('ra/'), oa = rms();
  for (let i = 0; i < 7; i++) step(a, oa);
  const weights = snapshotModel(a);
  const { state, slots } = snapshotOptimizer(oa, namedVariables(a));
  const ref = Array.from({ length: 9 }, () => step(a, oa));
  const b = make('rb/'), ob = rms();
  planModelRestore(tf, namedVariables(b), weights, 'x').commit();
  planOptimizerRestore(tf, ob, namedVariables(b), state, slots, 'x').commit();
  const got = Array.from({ length: 9 }, () => step(b, ob));
  assert.equal(state.slot_kinds, ['rms', 'momentum', 'mg']);
  assert.equal(Object.keys(slots).sort(), ['b/mg', 'b/momentum', 'b/rms', 'w/mg', 'w/momentum', 'w/rms']);
  assert.ok(ref.every(Number.isFinite), String(ref));
  assert.equal(bits(got), bits(ref));
  for (const v of [a.w, a.b, b.w, b.b, x, y]) v.dispose();
  oa.dispose();
  ob.dispose();
});

function freshSig() {
  const m = TinyLM.create(tf, TEST_CONFIG, { prefix: 'sig/' });
  const sig = modelSignature(m);
  m.dispose();
  return sig;
}

Opt('hidden counters are the running float32 products, not pow(beta, t)', () => {
  const a = freshRun('adam');
  a.loop.run(13);
  const { state } = snapshotOptimizer(a.opt, namedVariables(a.model));
  a.dispose();
  let b1 = Math.fround(0.9), b2 = Math.fround(0.999);
  for (let i = 0; i < 13; i++) { b1 = Math.fround(b1 * Math.fround(0.9)); b2 = Math.fround(b2 * Math.fround(0.999)); }
  assert.is(state.counters.accBeta1, b1);
  assert.is(state.counters.accBeta2, b2);
  assert.is.not(state.counters.accBeta2, Math.fround(Math.pow(0.999, 14)), 'the trap: pow() differs from the running product');
});

Opt("tfjs's own Adam setWeights() does not resume exactly (why the counters are saved)", async () => {
  const a = freshRun('adam');
  a.loop.run(13);
  const weights = snapshotModel(a.model);
  const own = await a.opt.getWeights();
  const tfWeights = own.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
  own[0].tensor.dispose(); // the iteration scalar getWeights() made
  const cursor = a.loop.sampler.state();
  const ref = a.loop.run(12);
  a.dispose();
  const model = TinyLM.create(tf, TEST_CONFIG);
  const opt = OPTIMIZERS.adam();
  planModelRestore(tf, namedVariables(model), weights, 'snapshot').commit();
  await opt.setWeights(tfWeights);
  for (const w of tfWeights) w.tensor.dispose();
  const got = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor, step: 13 }).run(12);
  model.dispose();
  opt.dispose();
  assert.not.equal(bits(got), bits(ref));
});

const Atomic = suite('restore is all-or-nothing');

Atomic('a wrong slot shape leaves model and optimizer untouched', () => {
  const a = freshRun('adam');
  a.loop.run(3);
  const weights = snapshotModel(a.model);
  const { state, slots } = snapshotOptimizer(a.opt, namedVariables(a.model));
  const b = freshRun('adam', TEST_CONFIG, 'other/');
  b.loop.run(2);
  const before = weightBytes(b.model);
  const beforeOpt = snapshotOptimizer(b.opt, namedVariables(b.model));
  const badSlots = { ...slots, 'ln_f.gamma/v': { dtype: 'F32', shape: [3], data: new Float32Array(3) } };
  try {
    const vars = namedVariables(b.model);
    const modelPlan = planModelRestore(tf, vars, weights, 'x');
    let err;
    try { planOptimizerRestore(tf, b.opt, vars, state, badSlots, 'x'); } catch (e) { err = e; }
    modelPlan.abort();
    assert.is(err?.code, 'SHAPE_MISMATCH', 'the optimizer plan refuses the bad slot');
    assert.match(err.message, /ln_f\.gamma\/v' has shape \[3\], its variable has \[16\]/);
    assert.equal(weightBytes(b.model), before);
    const after = snapshotOptimizer(b.opt, namedVariables(b.model));
    assert.equal(after.state, beforeOpt.state);
    assert.equal(bits(after.slots['ln_f.gamma/v'].data), bits(beforeOpt.slots['ln_f.gamma/v'].data));
  } finally {
    a.dispose();
    b.dispose();
  }
});

Atomic('the wrong optimizer class is refused with what to create', () => {
  const a = freshRun('adam');
  a.loop.run(1);
  const { state, slots } = snapshotOptimizer(a.opt, namedVariables(a.model));
  const sgd = OPTIMIZERS.sgd();
  try {
    planOptimizerRestore(tf, sgd, namedVariables(a.model), state, slots, 'ckpt');
    assert.unreachable();
  } catch (e) {
    assert.is(e.code, 'ARCH_MISMATCH');
    assert.match(e.message, /Adam optimizer, but the optimizer given is SGD/);
  } finally {
    sgd.dispose();
    a.dispose();
  }
});

Atomic('a LayersModel-shaped object is read and written through its weights', () => {
  const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3]), true, 'lm/dense/kernel'));
  const layers = { weights: [{ name: 'dense/kernel', shape: [3], dtype: 'float32', read: () => v, write: (t) => v.assign(t) }] };
  const snap = snapshotModel(layers);
  assert.equal(Object.keys(snap), ['dense/kernel']);
  planModelRestore(tf, namedVariables(layers), { 'dense/kernel': { dtype: 'F32', shape: [3], data: new Float32Array([4, 5, 6]) } }, 'x').commit();
  assert.equal(Array.from(v.dataSync()), [4, 5, 6]);
  v.dispose();
});

Backend.run();
Opt.run();
Atomic.run();
