// The page: reads the form, runs the edge-inference flow (edge.js) on the
// TensorFlow.js that index.html loaded, and shows what was fetched, what was
// verified and the classification. `window.edgeInference` is the last run's
// outcome ({ ok: true, … } or { ok: false, code, tensor, message }).
import { runEdgeInference } from './edge.js';

const tf = globalThis.tf;
const $ = (id) => document.getElementById(id);

// The backend's .wasm files next to the script that loaded it: nothing is fetched from the network.
const tfReady = (async () => {
  tf.wasm.setWasmPaths(new URL('../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url).href);
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js: the WASM backend did not start');
  await tf.ready();
})();

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, attrs);
  e.append(...children);
  return e;
}

function show(r) {
  const rows = r.tensors.map((t) => el('tr', { className: t.fetched ? '' : 'skipped' },
    el('td', {}, el('code', {}, t.name)), el('td', {}, t.dtype), el('td', {}, `[${t.shape.join(', ')}]`),
    el('td', {}, `${t.byteLength} B`), el('td', {}, t.fetched ? 'fetched, SHA-256 verified' : 'not fetched'),
    el('td', { className: 'hash', title: t.sha256 }, t.sha256.slice(0, 16) + '…')));
  const probs = r.labels.map((l, i) => el('tr', {}, el('td', {}, l),
    el('td', {}, el('meter', { min: 0, max: 1, value: r.probabilities[i] })), el('td', {}, r.probabilities[i].toFixed(4))));
  $('result').replaceChildren(
    el('h2', {}, `“${r.label}”`),
    el('table', {}, ...probs),
    el('p', {}, `Fetched ${r.fetched.bytes} of ${r.fetched.fileSize} bytes in ${r.fetched.requests} requests; HMAC: ${r.hmac}.`),
    el('table', {}, el('tr', {}, ...['tensor', 'dtype', 'shape', 'size', 'status', 'sha256 (sidecar)'].map((h) => el('th', {}, h))), ...rows),
  );
}

async function run() {
  $('steps').replaceChildren();
  $('error').textContent = '';
  $('result').replaceChildren();
  $('run').disabled = true;
  const step = (m) => $('steps').append(el('li', {}, m));
  try {
    await tfReady;
    const r = await runEdgeInference({
      url: new URL($('url').value, location.href).href,
      key: $('key').value,
      text: $('text').value,
      tf,
      onStep: step,
    });
    show(r);
    return { ok: true, ...r };
  } catch (e) {
    // A CheckpointError says what failed and where; nothing was loaded into TensorFlow.js.
    $('error').textContent = `${e.code ?? 'ERROR'}: ${e.message}`;
    return { ok: false, code: e.code ?? null, tensor: e.tensor ?? null, message: String(e.message ?? e) };
  } finally {
    $('run').disabled = false;
  }
}

$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  window.edgeInference = run();
});
window.edgeInferenceReady = tfReady.then(() => true);
