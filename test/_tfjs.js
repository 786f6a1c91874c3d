// TensorFlow.js as users install it (`@tensorflow/tfjs`: layers, optimizers, every gradient), for the
// tests of saveWeights / loadWeights / checkpointCallback. It shares the realm's one tfjs engine with
// build/tf.js (tfjs-core keeps it on the global object), whose initTf() selects the WASM backend with
// local files, as the rest of the suite runs: so results do not depend on which test files ran.
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../build/tf.js';

export { tf };
export const ready = initTf();

/** Values that fill a tensor of `shape` deterministically (no RNG: the same bits in every runtime). */
export function fill(shape, salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, j) => (((salt * 7 + j * 3) % 11) / 10 - 0.5));
}

/** A Dense–BatchNorm–Dense Sequential with deterministic weights (auto layer names). */
export function denseBnDense({ units = 4, seed = 0, compile = true } = {}) {
  const m = tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [3] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 1 })] });
  setDeterministic(m, seed);
  if (compile) m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return m;
}

/** Every weight of `m` set from fill() (variances kept positive). */
export function setDeterministic(m, seed = 0) {
  const ts = m.weights.map((w, i) => {
    const v = fill(w.shape, i + seed * 13);
    if (w.name.includes('variance')) for (let j = 0; j < v.length; j++) v[j] += 1;
    return tf.tensor(v, w.shape);
  });
  m.setWeights(ts);
  for (const t of ts) t.dispose();
}

/** The data every fit test trains on. */
export function data() {
  return {
    x: tf.tensor2d([[1, 2, 3], [0.5, -1, 2], [2, 0.3, -0.7], [-1, 1, 1], [0.2, 0.1, -2], [1.5, -0.5, 0.5]]),
    y: tf.tensor2d([[1], [0], [1], [0.5], [-1], [0.2]]),
  };
}

/** Every weight's bytes, in model.weights order, as one hex-able array of uint32 bit patterns. */
export function weightBits(m) {
  return m.weights.map((w) => Array.from(new Uint32Array(Float32Array.from(w.read().dataSync()).buffer)));
}

/** model.dispose() and its optimizer (a LayersModel does not dispose an optimizer object it was given). */
export function disposeModel(m) {
  const opt = m.optimizer;
  m.dispose();
  opt?.dispose();
}

/** Asserts at the end of a test file that it left no tensor behind (the engine is shared with other files). */
export function tensorCount() {
  return tf.memory().numTensors;
}
