// Shared by the checkpoint tests: TensorFlow.js on its wasm backend (the
// generated build/tf.js), the tiny LM at test size, and the optimizers
// safeckpt restores exactly, with the configs the tests train them with.
import * as tf from '../build/tf.js';
import { TinyLM, TINY_LM_DEFAULTS, TrainLoop, CORPUS, charVocab, encode } from '../dist/demo/index.js';

export { tf };
export const ready = tf.initTf();

export const VOCAB = charVocab(CORPUS);
export const TOKENS = encode(CORPUS, VOCAB);

/** Small enough that 40 steps take well under a second. */
export const TEST_CONFIG = { ...TINY_LM_DEFAULTS, vocab_size: VOCAB.length, d_model: 16, n_layers: 1, n_heads: 2, n_kv_heads: 1, d_ff: 32, max_seq_len: 16 };
export const BATCH = { batchSize: 4, seqLen: 16, seed: 3 };

/** Every optimizer offered, with non-default settings so that each optional slot exists. */
export const OPTIMIZERS = {
  adam: () => tf.train.adam(0.01),
  adamax: () => tf.train.adamax(0.01, 0.9, 0.999, 1e-7, 0.01),
  sgd: () => tf.train.sgd(0.1),
  momentum: () => tf.train.momentum(0.05, 0.9, true),
  // Not centered: tfjs 4.22's centered RMSProp computes sqrt(ms - mg² - eps), NaN wherever a gradient
  // element is exactly 0 (embedding rows of absent tokens); the centered slot is tested on a dense model.
  rmsprop: () => tf.train.rmsprop(0.005, 0.9, 0.5, 1e-7, false),
  adagrad: () => tf.train.adagrad(0.05),
  adadelta: () => tf.train.adadelta(1, 0.95),
};

/** A fresh model + optimizer + loop at step 0 (dispose() the model and optimizer after). */
export function freshRun(optimizer = 'adam', config = TEST_CONFIG, prefix = 'tinylm/') {
  const model = TinyLM.create(tf, config, { prefix });
  const opt = OPTIMIZERS[optimizer]();
  const loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH });
  return { model, opt, loop, dispose() { model.dispose(); disposeOptimizer(opt); } };
}

/** optimizer.dispose(), plus the learning-rate scalar tfjs 4.22's Momentum.dispose() forgets (it skips SGD's). */
export function disposeOptimizer(opt) {
  opt.dispose();
  if (opt.getClassName() === 'Momentum' && !opt.c.isDisposed) opt.c.dispose();
}

/** Float32 losses → their exact bit patterns, for messages that show any difference. */
export function bits(xs) {
  return Array.from(new Uint32Array(Float32Array.from(xs).buffer), (u) => u.toString(16).padStart(8, '0'));
}

/** Concatenated bytes of every variable, in model order. */
export function weightBytes(model) {
  const parts = Object.values(model.variables).map((v) => new Uint8Array(v.dataSync().buffer.slice(0)));
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
