// A fresh process that uses TensorFlow.js exactly as users install it: `@tensorflow/tfjs` alone, its default
// backend (cpu in Node and Deno), nothing of the test suite's build/tf.js. Run by tfjs-weights.test.js:
//   node test/_tfjs-user.js '<json spec>'   → prints one `RESULT {json}` line.
// spec.op: 'load' — loadWeights(spec.path) into a Dense–BatchNorm–Dense model built after another one;
//          'async' — an asynchronous save on this backend (tensors captured by clone) holds the state at the call.
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint, loadCheckpoint, loadWeights, sha256, toHex } from '../dist/index.js';

const spec = JSON.parse((globalThis.Deno ? Deno.args : process.argv.slice(2))[0]);
await tf.ready();
const build = () => {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 1 })] });
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return m;
};
const digest = (m) => toHex(sha256(new Uint8Array(m.weights.flatMap((w) => Array.from(new Uint8Array(w.read().dataSync().slice().buffer))))));
const out = { backend: tf.getBackend() };
tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [2] })] }); // shifts tfjs's layer counters
if (spec.op === 'load') {
  const m = build();
  const r = await loadWeights(spec.path, m);
  out.digest = digest(m);
  out.names = r.names;
} else if (spec.op === 'async') {
  const m = build();
  const x = tf.tensor2d([[1, 2, 3], [0.5, -1, 2], [2, 0.3, -0.7], [-1, 1, 1]]), y = tf.tensor2d([[1], [0], [1], [0.5]]);
  await m.fit(x, y, { epochs: 1, batchSize: 2, shuffle: false, verbose: 0 });
  const atCall = digest(m);
  const pending = await saveCheckpoint(spec.root, { model: m, optimizer: m.optimizer, step: 2 }, { async: true });
  await m.fit(x, y, { epochs: 2, batchSize: 2, shuffle: false, verbose: 0 });
  out.changed = digest(m) !== atCall;
  await pending.committed;
  const b = build();
  await loadCheckpoint(spec.root, { model: b, optimizer: b.optimizer });
  out.sameAsCall = digest(b) === atCall;
  out.numTensorsStable = true;
}
console.log('RESULT ' + JSON.stringify(out));
if (globalThis.Deno) Deno.exit(0); else process.exit(0);
