// The tiny model of the edge-inference example: a byte-level text classifier
// (embedding → mean → Linear+ReLU → Linear) that tells which kind of character
// dominates a text. Its weights are made, not trained: the embedding puts each
// byte's class in the first four dimensions and the layers carry that through,
// with seeded noise everywhere so a wrongly loaded weight changes the numbers.
// The file also holds a generation head the classifier never uses: the point of
// the example is that it stays on the server.
import { Prng } from '../../dist/demo/index.js'; // in an application: from 'safeckpt/demo'

export const LABELS = ['letters', 'digits', 'punctuation', 'whitespace'];
export const VOCAB = 256;
export const DIM = 16;
export const HIDDEN = 32;

/** What the classifier needs, in the PyTorch layout ([out, in] for Linear weights). */
export const NEEDED = ['embed.weight', 'encoder.fc1.weight', 'encoder.fc1.bias', 'classifier.weight', 'classifier.bias'];
/** In the file, not needed here: 8192 × 16 F32 (512 KiB). */
export const UNUSED = ['lm_head.weight'];

/** The class of one byte (bytes ≥ 0x80 belong to non-ASCII letters). */
export function byteClass(b) {
  if (b >= 0x80 || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) return 0;
  if (b >= 0x30 && b <= 0x39) return 1;
  if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) return 3;
  return 2;
}

/** Token ids of a text: its UTF-8 bytes. */
export function tokenize(text) {
  return Array.from(new TextEncoder().encode(text));
}

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
function bf16Bits(x) {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * The model's tensors, ready for writeSafetensors: { name: { dtype, shape, data } }.
 * Same seed, same bytes.
 */
export function makeWeights(seed = 1) {
  const rng = new Prng(seed);
  const noise = (scale) => (rng.next() * 2 - 1) * scale;
  const f32 = (shape, at) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = at(Math.floor(i / shape[shape.length - 1]), i % shape[shape.length - 1]);
    return { dtype: 'F32', shape, data };
  };
  const embed = f32([VOCAB, DIM], (b, d) => (d < 4 ? (byteClass(b) === d ? 1 : 0) + noise(0.01) : noise(0.05)));
  const fc1 = f32([HIDDEN, DIM], (o, i) => (o < 4 && o === i ? 1 : 0) + noise(0.02));
  const w1 = new Uint16Array(fc1.data.length);
  for (let i = 0; i < w1.length; i++) w1[i] = bf16Bits(fc1.data[i]);
  return {
    'embed.weight': embed,
    'encoder.fc1.weight': { dtype: 'BF16', shape: [HIDDEN, DIM], data: w1 },
    'encoder.fc1.bias': f32([HIDDEN], () => noise(0.01)),
    'classifier.weight': f32([LABELS.length, HIDDEN], (o, i) => (o === i ? 4 : 0) + noise(0.02)),
    'classifier.bias': f32([LABELS.length], () => noise(0.01)),
    'lm_head.weight': f32([8192, DIM], () => noise(0.1)),
  };
}

/** `__metadata__` of the file: what the page shows and needs (safetensors metadata values are strings). */
export const METADATA = { task: 'text-classification', labels: JSON.stringify(LABELS), architecture: 'byte-mean-mlp' };

/**
 * The forward pass on the caller's TensorFlow.js (`w`: name → tf.Tensor, float32).
 * Returns the class probabilities.
 */
export function classify(tf, w, tokens) {
  return tf.tidy(() => {
    const x = tf.mean(tf.gather(w['embed.weight'], tf.tensor1d(tokens, 'int32')), 0, true);                // [1, DIM]
    const h = tf.relu(tf.add(tf.matMul(x, w['encoder.fc1.weight'], false, true), w['encoder.fc1.bias']));   // [1, HIDDEN]
    const logits = tf.add(tf.matMul(h, w['classifier.weight'], false, true), w['classifier.bias']);         // [1, C]
    return Array.from(tf.softmax(logits).dataSync());
  });
}
