// examples/edge-inference end to end: a model generated here is served by
// nginx; the page (Chromium) or the same library flow (Node, Deno) fetches the
// header and only the tensors the classifier needs, verified, and classifies.
// nginx's own log says which bytes were sent.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeSafetensors, parseHeader, MemoryStore, sidecarKeyFor } from '../dist/index.js';
import { isBrowser, runtime, testEnv, serveFile, nginxLog, nginxRequests } from './_env.js';
import { makeWeights, METADATA, NEEDED, UNUSED, LABELS, byteClass, tokenize } from '../examples/edge-inference/model.js';

const KEY = 'edge-example-key';
const dir = `edge-${runtime}-${Date.now()}`;
const url = `${testEnv('SAFECKPT_TEST_HTTP')}/${dir}/model.safetensors`;

// The model file and its signed sidecar, made in memory and put where nginx serves them.
const weights = makeWeights(7);
const mem = new MemoryStore();
await writeSafetensors({ store: mem, key: 'model.safetensors' }, weights, { metadata: METADATA, key: KEY, keyId: 'edge' });
const fileBytes = await mem.read('model.safetensors');
const header = parseHeader(fileBytes);
await serveFile(`${dir}/model.safetensors`, fileBytes);
await serveFile(`${dir}/model.safetensors.meta.json`, await mem.read(sidecarKeyFor('model.safetensors')));

/** The classifier in plain float64 JavaScript from the generated weights (BF16 decoded by hand). */
function reference(text) {
  const f = (n) => (weights[n].dtype === 'BF16' ? Array.from(weights[n].data, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]) : Array.from(weights[n].data));
  const [E, W1, b1, W2, b2] = NEEDED.map(f);
  const [, D] = weights['embed.weight'].shape, H = weights['encoder.fc1.bias'].shape[0], C = LABELS.length;
  const toks = tokenize(text);
  const x = Array.from({ length: D }, (_, d) => toks.reduce((a, t) => a + E[t * D + d], 0) / toks.length);
  const h = Array.from({ length: H }, (_, o) => Math.max(0, x.reduce((a, v, i) => a + v * W1[o * D + i], b1[o])));
  const z = Array.from({ length: C }, (_, k) => h.reduce((a, v, j) => a + v * W2[k * H + j], b2[k]));
  const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b);
  return e.map((v) => v / s);
}

/** Runs the example: the page in an iframe (Chromium, as a user does), or the library flow (Node, Deno). */
let frame = null, tf = null;
async function runExample({ key, text }) {
  if (!isBrowser) {
    if (!tf) {
      tf = await import('../build/tf.js');
      await tf.initTf();
    }
    const { runEdgeInference } = await import('../examples/edge-inference/edge.js');
    try {
      return { ok: true, ...(await runEdgeInference({ url, key, text, tf })) };
    } catch (e) {
      return { ok: false, code: e.code, tensor: e.tensor ?? null, message: e.message };
    }
  }
  if (!frame) {
    frame = document.createElement('iframe');
    frame.src = '/examples/edge-inference/index.html';
    await new Promise((ok, fail) => { frame.onload = ok; frame.onerror = fail; document.body.append(frame); });
    assert.ok(frame.contentWindow.edgeInferenceReady, 'the page script (main.js) did not load');
    await frame.contentWindow.edgeInferenceReady;
  }
  const doc = frame.contentDocument;
  doc.getElementById('url').value = url;
  doc.getElementById('key').value = key ?? '';
  doc.getElementById('text').value = text;
  doc.getElementById('run').click();
  const r = structuredClone(await frame.contentWindow.edgeInference); // plain objects of this realm, not the frame's
  if (r.ok) assert.ok(doc.getElementById('result').textContent.includes(r.label), 'the page shows the label');
  else assert.ok(doc.getElementById('error').textContent.startsWith(r.code + ':'), 'the page shows the error');
  return r;
}

/** What nginx sent for `path` since the log had `before` characters. */
async function sentSince(before, path) {
  return nginxRequests((await nginxLog()).slice(before)).filter((q) => q.path === path);
}

const E = suite('edge inference: only the header and the needed tensors, verified, into TensorFlow.js');

E('classifies with the fetched weights exactly as the same network in plain JS', async () => {
  const before = (await nginxLog()).length;
  const r = await runExample({ key: KEY, text: 'Order 66: 2024-12-31' });
  assert.ok(r.ok, r.message);
  const want = reference('Order 66: 2024-12-31');
  for (let k = 0; k < LABELS.length; k++) assert.ok(Math.abs(r.probabilities[k] - want[k]) < 1e-5, `p[${k}] ${r.probabilities[k]} vs ${want[k]}`);
  assert.is(r.label, 'digits');
  assert.is(r.hmac, 'verified');
  assert.equal(r.tensors.filter((t) => t.fetched).map((t) => t.name).sort(), [...NEEDED].sort());
  assert.equal(r.tensors.find((t) => t.name === 'encoder.fc1.weight').dtype, 'BF16');

  // nginx: the 8-byte prefix (its answer gives the size: no HEAD), exactly the header, then ranges that cover
  // the needed tensors only.
  const reqs = await sentSince(before, `/${dir}/model.safetensors`);
  assert.equal(reqs.filter((q) => q.method !== 'GET'), [], 'GET requests only');
  const gets = reqs.filter((q) => q.method === 'GET');
  assert.ok(gets.every((q) => q.status === 206 && q.range && q.bytes === q.range[1] - q.range[0]), JSON.stringify(reqs));
  assert.equal(gets.slice(0, 2).map((q) => q.range), [[0, 8], [8, header.dataStart]]);
  const touched = new Set();
  for (const q of gets.slice(2)) {
    const hit = [...header.tensors()].filter((t) => header.dataStart + t.begin < q.range[1] && header.dataStart + t.end > q.range[0]);
    assert.is(q.range[0], header.dataStart + Math.min(...hit.map((t) => t.begin)), 'a range starts at a needed tensor');
    assert.is(q.range[1], header.dataStart + Math.max(...hit.map((t) => t.end)), 'a range ends at a needed tensor');
    for (const t of hit) touched.add(t.name);
  }
  assert.equal([...touched].sort(), [...NEEDED].sort(), `tensors nginx sent bytes of: ${JSON.stringify(reqs)}`);
  const sent = reqs.reduce((a, q) => a + q.bytes, 0);
  const needed = NEEDED.reduce((a, n) => a + header.get(n).byteLength, 0);
  assert.is(sent, header.dataStart + needed, `sent ${sent} bytes of a ${fileBytes.length}-byte file`);
  assert.ok(UNUSED.every((n) => header.get(n).byteLength > sent), 'the unused head alone is larger than everything fetched');
  assert.is((await sentSince(before, `/${dir}/model.safetensors.meta.json`)).length, 1, 'the sidecar is fetched once');
  if (isBrowser) {
    // Everything the page loaded (scripts, TensorFlow.js's .wasm, the model) came from the two local servers.
    const loaded = Array.from(frame.contentWindow.performance.getEntriesByType('resource'), (e) => e.name);
    assert.ok(loaded.some((u) => u.endsWith('.wasm')), 'the WASM backend loaded its .wasm');
    assert.equal(loaded.filter((u) => !u.startsWith('http://127.0.0.1:')), [], 'nothing from the network');
  }
});

E('each fetched tensor decides its own class of text', async () => {
  for (const [text, label] of [['hello world', 'letters'], ['3.14159 2.71828', 'digits'], ['?!?! ...;;', 'punctuation'], ['a    \t\n   b', 'whitespace']]) {
    const r = await runExample({ text });
    assert.ok(r.ok, r.message);
    assert.is(r.label, label, text);
    assert.is(r.hmac, 'not-checked', 'signed, but no key given');
  }
  // The labels come from the file's metadata, the classes from its bytes: the embedding really is what was written.
  assert.is(LABELS[byteClass(0x37)], 'digits');
});

E('a wrong key is AUTH before any tensor is fetched', async () => {
  const before = (await nginxLog()).length;
  const r = await runExample({ key: 'not-the-key', text: 'x' });
  assert.equal([r.ok, r.code], [false, 'AUTH']);
  const ranges = (await sentSince(before, `/${dir}/model.safetensors`)).filter((q) => q.range && q.range[0] >= header.dataStart);
  assert.equal(ranges, [], 'no tensor data was requested');
});

E('a tensor changed on the server is refused as INTEGRITY naming it; nothing reaches TensorFlow.js', async () => {
  const tampered = fileBytes.slice();
  const t = header.get('encoder.fc1.weight');
  tampered[header.dataStart + t.begin + 5] ^= 0x01;
  await serveFile(`${dir}/model.safetensors`, tampered);
  try {
    const r = await runExample({ key: KEY, text: 'hello' });
    assert.equal([r.ok, r.code, r.tensor], [false, 'INTEGRITY', 'encoder.fc1.weight']);
    assert.ok(r.message.includes('encoder.fc1.weight'), r.message);
    if (!isBrowser) assert.is(tf.memory().numTensors, 0, 'no tensor was made');
  } finally {
    await serveFile(`${dir}/model.safetensors`, fileBytes);
  }
});

E.run();
