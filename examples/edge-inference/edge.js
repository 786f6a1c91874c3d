// The edge-inference flow, the same in a browser page, Deno and Node: open a
// remote safetensors model by HTTP range requests (8 bytes, then exactly the
// header, and the sidecar), fetch only the tensors the model needs — each one
// checked against the sidecar's SHA-256 (and the sidecar's HMAC when a key is
// given) before it is handed over — and run them on the caller's TensorFlow.js.
import { readSafetensors, HttpStore } from '../../dist/index.js'; // in an application: from 'safeckpt'
import { NEEDED, LABELS, classify, tokenize } from './model.js';

/** Splits a file URL into the HTTP store of its folder and the file's name there. */
function remote(url) {
  const u = new URL(url);
  const i = u.pathname.lastIndexOf('/');
  return { store: new HttpStore(u.origin + u.pathname.slice(0, i + 1)), key: decodeURIComponent(u.pathname.slice(i + 1)) };
}

/**
 * Runs the example end to end. `tf` is a ready TensorFlow.js (WASM backend);
 * `key` (optional) is the HMAC key the sidecar must be signed with;
 * `onStep(message)` reports progress. Throws a CheckpointError (INTEGRITY naming
 * the tensor, AUTH, NOT_FOUND, CORRUPT) before any weight reaches TensorFlow.js.
 */
export async function runEdgeInference({ url, key, text, tf, onStep = () => {} }) {
  const { store, key: file } = remote(url);
  // strict: a model without a sidecar is refused, because nothing fetched from it could be verified.
  const model = await readSafetensors({ store, key: file }, { strict: true, key: key || undefined });
  const size = model.sidecar.size;
  onStep(`header: ${model.names.length} tensors in ${size} bytes, fetched with ${store.stats.requests} requests (${store.stats.bytes} bytes, sidecar included)`);
  if (store.stats.fullReads) onStep('this server ignores Range requests: the whole file was downloaded once, and tensors are cut from it');
  const labels = model.metadata?.labels ? JSON.parse(model.metadata.labels) : LABELS;

  const before = { ...store.stats };
  const views = await model.load(NEEDED); // neighbours coalesced into one range request; each tensor SHA-256-checked
  onStep(`fetched and verified ${NEEDED.length} tensors: ${store.stats.requests - before.requests} requests, ${store.stats.bytes - before.bytes} bytes`);

  const weights = {};
  try {
    for (const n of NEEDED) weights[n] = tf.tensor(views[n].toFloat32(), views[n].shape, 'float32'); // BF16 decoded exactly
    const probabilities = classify(tf, weights, tokenize(text));
    const best = probabilities.indexOf(Math.max(...probabilities));
    return {
      url,
      hmac: key ? 'verified' : model.sidecar.hmac ? 'not-checked' : 'unsigned',
      tensors: model.names.map((n) => {
        const i = model.header.get(n);
        return { name: n, dtype: i.dtype, shape: [...i.shape], byteLength: i.byteLength, fetched: n in model.tensors, sha256: model.sidecar.tensors[n].sha256 };
      }),
      fetched: { requests: store.stats.requests, bytes: store.stats.bytes, fileSize: size, fullReads: store.stats.fullReads },
      labels,
      probabilities,
      label: labels[best],
    };
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
}
