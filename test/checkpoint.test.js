import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  saveCheckpoint, loadCheckpoint, resumeTraining, MemoryStore, listCheckpoints, sign, generateSigningKey, namedVariables, snapshotOptimizer, CHECKPOINT_VERSION, sha256, toHex, canonicalJson, hmacSha256, writeSafetensors, joinKey, verify,
} from '../dist/internal.js';
import { TinyLM, TrainLoop } from '../dist/demo/index.js';
import { tf, ready, OPTIMIZERS, TEST_CONFIG, TOKENS, BATCH, VOCAB, freshRun, bits, weightBytes } from './_tiny.js';
import { freshRoot, storeOf, readFile, writeFile, removeFile, listNames, recordingLogger, expectError } from './_ckpt-env.js';
import { runtime } from './_env.js';

await ready;
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = async (root, rel) => JSON.parse(dec.decode(await readFile(root, rel)));

/** Trains `steps` and saves; returns the run (disposed) facts. */
async function trainAndSave(root, { steps = 3, optimizer = 'adam', metadata = { model_name: 'tiny-alice' }, opts = {}, extra } = {}) {
  const r = freshRun(optimizer);
  const losses = r.loop.run(steps);
  const info = await saveCheckpoint(root, {
    model: r.model, optimizer: r.opt, step: r.loop.step, config: { lr: 0.01, ...BATCH }, vocab: VOCAB, rng: { seed: 3 },
    dataCursor: r.loop.sampler.state(), extra: extra ?? { schedule_pos: steps }, metadata, metrics: { loss: losses[losses.length - 1] },
  }, opts);
  const weights = weightBytes(r.model);
  const opt = snapshotOptimizer(r.opt, namedVariables(r.model)).state;
  r.dispose();
  return { info, losses, weights, opt };
}

function fresh(optimizer = 'adam', prefix = 'tinylm/') {
  return { model: TinyLM.create(tf, TEST_CONFIG, { prefix }), opt: OPTIMIZERS[optimizer]() };
}

// ---------------------------------------------------------------- layout
const Layout = suite('saveCheckpoint: the directory layout');

Layout('writes step-NNNNNNNN/ with manifest, weights, optimizer, trainer state, vocab; LATEST; registry', async () => {
  const root = await freshRoot();
  const { info } = await trainAndSave(root, { steps: 3 });
  assert.is(info.name, 'step-00000003');
  assert.equal(await listNames(root), ['LATEST', 'registry.json', 'step-00000003']);
  assert.equal(await listNames(root, 'step-00000003'), [
    'checkpoint.json', 'model.safetensors', 'model.safetensors.meta.json', 'optimizer.safetensors', 'optimizer.safetensors.meta.json',
    'trainer_state.json', 'vocab.json',
  ]);
  assert.is(dec.decode(await readFile(root, 'LATEST')), 'step-00000003\n');
  const m = await json(root, 'step-00000003/checkpoint.json');
  assert.is(m.format, 'safeckpt.checkpoint');
  assert.is(m.format_version, CHECKPOINT_VERSION);
  assert.is(m.step, 3);
  assert.match(m.created_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(m.model.model_name, 'tiny-alice');
  assert.is(m.model.architecture_type, 'custom-transformer');
  assert.is(m.model.source, 'custom');
  assert.is(m.model.model_id, null);
  assert.is(m.model.architecture.n_layers, 1);
  assert.is(m.model.architecture.d_model, 16);
  assert.is(m.model.architecture.rms_eps, '0.000001', 'non-integers are stored as decimal strings (canonical JSON has integers only)');
  for (const [file, f] of Object.entries(m.files)) {
    const bytes = await readFile(root, `step-00000003/${file}`);
    assert.is(f.size, bytes.length, file);
    assert.is(f.sha256, toHex(sha256(bytes)), file);
  }
  assert.is(m.lineage.chain.length, 1);
  assert.is(m.lineage.chain[0].model_name, 'tiny-alice');
  const reg = await json(root, 'registry.json');
  assert.equal(reg.models['tiny-alice'].checkpoints, ['step-00000003']);
  assert.is(reg.models['tiny-alice'].architecture_type, 'custom-transformer');
  assert.is(reg.models['tiny-alice'].fine_tuned_from, null);
});

Layout('trainer_state.json holds step, config, RNG, cursor, optimizer name/config/iterations/counters and extra', async () => {
  const root = await freshRoot();
  const { opt } = await trainAndSave(root, { steps: 4, extra: { lr_schedule: { position: 4, warmup: 10 } } });
  const s = await json(root, 'step-00000004/trainer_state.json');
  assert.is(s.step, 4);
  assert.equal(s.config, { lr: 0.01, ...BATCH });
  assert.equal(s.rng, { seed: 3 });
  assert.equal(s.data_cursor, { seed: 3, epoch: 0, position: 16 });
  assert.equal(s.extra, { lr_schedule: { position: 4, warmup: 10 } });
  assert.is(s.optimizer.name, 'Adam');
  assert.is(s.optimizer.iterations, 4);
  assert.equal(s.optimizer.config, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: opt.config.epsilon });
  assert.is(s.optimizer.counters.accBeta1, opt.counters.accBeta1, 'the running float32 product, exactly');
  assert.is(s.optimizer.counters.accBeta2, opt.counters.accBeta2);
  assert.equal(s.optimizer.slot_kinds, ['m', 'v']);
});

Layout('a failed save leaves LATEST and the previous checkpoint untouched', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 2 });
  const r = freshRun('adam');
  r.loop.run(3);
  await expectError(saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 3, vocab: { bad: 1n } }), 'UNSUPPORTED');
  r.dispose();
  assert.is(dec.decode(await readFile(root, 'LATEST')), 'step-00000002\n');
  assert.equal((await listNames(root)).filter((n) => n.startsWith('step-')), ['step-00000002']);
});

// ---------------------------------------------------------------- round trip
const Load = suite('loadCheckpoint: restores everything, exactly');

Load('model, optimizer, config, vocab, step, RNG, cursor, extra, metadata, lineage', async () => {
  const root = await freshRoot();
  const saved = await trainAndSave(root, { steps: 5, metadata: { model_name: 'tiny-alice', source: 'custom' } });
  const { model, opt } = fresh();
  const loaded = await loadCheckpoint(root, { model, optimizer: opt });
  assert.equal(weightBytes(model), saved.weights);
  const o = snapshotOptimizer(opt, namedVariables(model)).state;
  assert.equal(o, saved.opt);
  assert.is(loaded.step, 5);
  assert.is(loaded.name, 'step-00000005');
  assert.equal(loaded.config, { lr: 0.01, ...BATCH });
  assert.equal(loaded.vocab, VOCAB);
  assert.equal(loaded.rng, { seed: 3 });
  assert.equal(loaded.dataCursor, { seed: 3, epoch: 0, position: 20 });
  assert.equal(loaded.extra, { schedule_pos: 5 });
  assert.is(loaded.metadata.model_name, 'tiny-alice');
  assert.is(loaded.metadata.architecture_type, 'custom-transformer');
  assert.is(loaded.metadata.architecture.rms_eps, 1e-6, 'numbers come back as numbers');
  assert.is(loaded.metrics.loss, saved.losses[4]);
  assert.is(loaded.lineage.chain[0].model_name, 'tiny-alice');
  model.dispose();
  opt.dispose();
});

Load('on the WASM backend a variable whose memory is its own takes the values in place (its data is not replaced); one that another tensor shares gets a new tensor, and the sharer keeps the values it had', async () => {
  await ready;
  // workerd runs the cpu backend (no WASM threads there): every variable gets a new tensor, as before.
  const wasm = tf.getBackend() === 'wasm';
  assert.ok(wasm || runtime === 'workerd', `backend ${tf.getBackend()}`);
  const [a, b] = tf.tidy(() => [tf.variable(tf.tensor([1, 2, 3, 4], [2, 2]), true, `inplace-a-${Date.now()}`), tf.variable(tf.tensor([5, 6], [2]), true, `inplace-b-${Date.now()}`)]);
  const store = new MemoryStore();
  await saveCheckpoint(store, { model: { a, b }, step: 1 });
  tf.tidy(() => { a.assign(tf.zeros([2, 2])); b.assign(tf.zeros([2])); });
  const shared = tf.reshape(b, [1, 2]); // the same data as b: the WASM backend counts two references
  const [aData, bData] = [a.dataId, b.dataId];
  const tensors = tf.memory().numTensors;
  await loadCheckpoint(store, { model: { a, b } });
  assert.equal(Array.from(a.dataSync()), [1, 2, 3, 4]);
  assert.equal(Array.from(b.dataSync()), [5, 6]);
  assert.ok((a.dataId === aData) === wasm, wasm ? 'a: written in place' : 'a: a new tensor');
  assert.ok(b.dataId !== bData, 'b: shared, so replaced by a new tensor');
  assert.equal(Array.from(shared.dataSync()), [0, 0], 'the reshape still holds what b held');
  assert.is(tf.memory().numTensors, tensors, 'no tensor left behind');
  shared.dispose();
  a.dispose();
  b.dispose();
});

Load('restored variables never share memory with the bytes read: changing them after the load changes no variable', async () => {
  const saved = freshRun('adam');
  saved.loop.run(2);
  const inner = new MemoryStore();
  await saveCheckpoint(inner, { model: saved.model, optimizer: saved.opt, step: 2 });
  const expected = weightBytes(saved.model);
  saved.dispose();
  // Every buffer the load reads is kept, then overwritten once the variables hold their values.
  const handed = [];
  const store = Object.create(inner);
  store.read = async (...a) => { const b = await inner.read(...a); handed.push(b); return b; };
  store.readHashed = undefined;
  const { model, opt } = fresh();
  await loadCheckpoint(store, { model, optimizer: opt });
  assert.equal(weightBytes(model), expected);
  assert.ok(handed.some((b) => b.length > 1000), 'the weights came through read()');
  for (const b of handed) b.fill(0xff);
  assert.equal(weightBytes(model), expected);
  model.dispose();
  opt.dispose();
});

Load('loads a named checkpoint folder, not only LATEST', async () => {
  const root = await freshRoot();
  const r = freshRun('sgd');
  r.loop.run(2);
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 2 });
  const w2 = weightBytes(r.model);
  r.loop.run(2);
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 4 });
  r.dispose();
  const { model, opt } = fresh('sgd');
  const sep = root.startsWith('opfs:') ? '/' : '/';
  const loaded = await loadCheckpoint(root + sep + 'step-00000002', { model, optimizer: opt });
  assert.is(loaded.step, 2);
  assert.equal(weightBytes(model), w2);
  model.dispose();
  opt.dispose();
});

Load('without a model it verifies and returns the state and tensors', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const loaded = await loadCheckpoint(root);
  assert.is(loaded.step, 1);
  assert.equal(loaded.tensors.embed.shape, [VOCAB.length, 16]);
  assert.is(loaded.optimizer.name, 'Adam');
});

// ---------------------------------------------------------------- errors
const Errors = suite('loadCheckpoint: bad input, clear errors, nothing loaded');

Errors('NOT_FOUND names the path', async () => {
  const root = await freshRoot();
  const e = await expectError(loadCheckpoint(root), 'NOT_FOUND');
  assert.ok(e.message.includes(root.replace(/^opfs:/, '')), e.message);
  assert.match(e.message, /neither checkpoint\.json nor LATEST/);
});

Errors('NOT_FOUND for a manifest file listed but missing', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  await removeFile(root, 'step-00000001/vocab.json');
  const e = await expectError(loadCheckpoint(root), 'NOT_FOUND');
  assert.match(e.message, /vocab\.json is missing, but the manifest lists it/);
});

Errors('CORRUPT: a manifest that is not JSON', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  await writeFile(root, 'step-00000001/checkpoint.json', enc.encode('<html>502 Bad Gateway</html>'));
  const e = await expectError(loadCheckpoint(root), 'CORRUPT');
  assert.match(e.message, /checkpoint\.json is not valid JSON/);
});

Errors('INTEGRITY: a flipped bit in the weights names the file', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const b = (await readFile(root, 'step-00000001/model.safetensors')).slice();
  b[b.length - 5] ^= 1;
  await writeFile(root, 'step-00000001/model.safetensors', b);
  const { model, opt } = fresh();
  const before = weightBytes(model);
  const e = await expectError(loadCheckpoint(root, { model, optimizer: opt }), 'INTEGRITY');
  assert.match(e.message, /model\.safetensors has SHA-256 [0-9a-f]{64}, but the manifest records/);
  assert.equal(weightBytes(model), before, 'the model is untouched');
  model.dispose();
  opt.dispose();
});

Errors('INTEGRITY: a truncated file', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const b = await readFile(root, 'step-00000001/optimizer.safetensors');
  await writeFile(root, 'step-00000001/optimizer.safetensors', b.slice(0, 100));
  const e = await expectError(loadCheckpoint(root), 'INTEGRITY');
  assert.match(e.message, /optimizer\.safetensors is 100 bytes, but the manifest records \d+/);
});

Errors('AUTH: signed with a key, loaded with another (or unsigned, loaded with a key)', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1, opts: { key: 'k1', keyId: 'ci' } });
  const m = await json(root, 'step-00000001/checkpoint.json');
  assert.is(m.key_id, 'ci');
  const { hmac, ...rest } = m;
  assert.is(hmac, toHex(hmacSha256('k1', canonicalJson(rest))), 'HMAC-SHA256 over the canonical manifest');
  assert.ok(await loadCheckpoint(root, { key: 'k1' }));
  const e = await expectError(loadCheckpoint(root, { key: 'k2' }), 'AUTH');
  assert.match(e.message, /HMAC does not match/);
  const root2 = await freshRoot();
  await trainAndSave(root2, { steps: 1 });
  await expectError(loadCheckpoint(root2, { key: 'k1' }), 'AUTH');
});

Errors('AUTH: a signed manifest edited after signing', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1, opts: { key: 'k1' } });
  const m = await json(root, 'step-00000001/checkpoint.json');
  m.model.model_name = 'someone-else';
  await writeFile(root, 'step-00000001/checkpoint.json', enc.encode(JSON.stringify(m)));
  await expectError(loadCheckpoint(root, { key: 'k1' }), 'AUTH');
});

Errors('SHAPE_MISMATCH lists every mismatched, missing and unexpected tensor at once', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const model = TinyLM.create(tf, { ...TEST_CONFIG, d_ff: 24, n_layers: 2 }, { prefix: 'other/' });
  // A plain record of the variables: no architecture to compare, so the tensors speak.
  const vars = { ...model.variables };
  const before = weightBytes(model);
  const e = await expectError(loadCheckpoint(root, { model: vars, tf }), 'SHAPE_MISMATCH');
  assert.equal(e.data.shape.map((m) => m.name).sort(), ['blocks.0.mlp.w_down', 'blocks.0.mlp.w_gate', 'blocks.0.mlp.w_up']);
  assert.is(e.data.missing.length, 12, 'all of block 1');
  assert.equal(e.data.unexpected, []);
  assert.match(e.message, /size mismatch for blocks\.0\.mlp\.w_gate: expected \[16, 24\], found \[16, 32\]/);
  assert.match(e.message, /missing: .*blocks\.1\.attn\.wq/);
  assert.match(e.message, /model weights does not fit the model given; nothing was loaded/);
  assert.equal(weightBytes(model), before);
  model.dispose();
});

Errors('SHAPE_MISMATCH in optimizer slots (intact files, wrong content) leaves model AND optimizer untouched', async () => {
  const root = await freshRoot();
  const r = freshRun('adam');
  r.loop.run(2);
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 2 });
  const { slots } = snapshotOptimizer(r.opt, namedVariables(r.model));
  r.dispose();
  // A writer bug, not damage: the files hash correctly but a slot is reshaped and one is absent.
  slots['ln_f.gamma/m'] = { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) };
  delete slots['embed/v'];
  const { store, key } = storeOf(root);
  await writeSafetensors({ store, key: joinKey(key, 'step-00000002/optimizer.safetensors') }, slots);
  const m = await json(root, 'step-00000002/checkpoint.json');
  for (const f of ['optimizer.safetensors', 'optimizer.safetensors.meta.json']) {
    const b = await readFile(root, 'step-00000002/' + f);
    m.files[f] = { size: b.length, sha256: toHex(sha256(b)) };
  }
  await writeFile(root, 'step-00000002/checkpoint.json', enc.encode(JSON.stringify(m)));
  const { model, opt } = fresh();
  new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH }).run(1);
  const before = weightBytes(model);
  const optBefore = snapshotOptimizer(opt, namedVariables(model));
  const e = await expectError(loadCheckpoint(root, { model, optimizer: opt }), 'SHAPE_MISMATCH');
  assert.equal(e.data.missing, ['embed/v']);
  assert.equal(e.data.shape, [{ name: 'ln_f.gamma/m', expected: [16], found: [4, 4] }]);
  assert.match(e.message, /optimizer state does not fit the model/);
  assert.equal(weightBytes(model), before);
  const optAfter = snapshotOptimizer(opt, namedVariables(model));
  assert.equal(optAfter.state, optBefore.state);
  assert.equal(bits(optAfter.slots['embed/m'].data), bits(optBefore.slots['embed/m'].data));
  model.dispose();
  opt.dispose();
});

Errors('ARCH_MISMATCH says which architecture and model_id the checkpoint needs', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1, metadata: { model_name: 'q', model_id: 'Qwen/Qwen2-0.5B', architecture_type: 'qwen', source: 'huggingface' } });
  const { model, opt } = fresh();
  const before = weightBytes(model);
  const e = await expectError(loadCheckpoint(root, { model, optimizer: opt }), 'ARCH_MISMATCH');
  assert.match(e.message, /needs architecture_type 'qwen' \(model_id 'Qwen\/Qwen2-0\.5B'\), but the model given is 'custom-transformer'/);
  assert.match(e.message, /Build a 'qwen' model from 'Qwen\/Qwen2-0\.5B'/);
  assert.equal(e.data.expected, { architecture_type: 'qwen', model_id: 'Qwen/Qwen2-0.5B' });
  assert.equal(weightBytes(model), before);
  model.dispose();
  opt.dispose();
});

Errors('ARCH_MISMATCH for differing architecture parameters, each named', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const model = TinyLM.create(tf, { ...TEST_CONFIG, n_layers: 2, d_ff: 48 }, { prefix: 'big/' });
  const e = await expectError(loadCheckpoint(root, { model }), 'ARCH_MISMATCH');
  assert.match(e.message, /d_ff: checkpoint 32, model 48; n_layers: checkpoint 1, model 2/);
  model.dispose();
});

Errors('ARCH_MISMATCH for the wrong optimizer class', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const { model, opt } = fresh('sgd');
  const before = weightBytes(model);
  const e = await expectError(loadCheckpoint(root, { model, optimizer: opt }), 'ARCH_MISMATCH');
  assert.match(e.message, /state of a Adam optimizer, but the optimizer given is SGD/);
  assert.equal(weightBytes(model), before, 'weights are not restored when the optimizer does not fit');
  model.dispose();
  opt.dispose();
});

Errors('UNSUPPORTED: a newer format_version is refused with what to do', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  const m = await json(root, 'step-00000001/checkpoint.json');
  m.format_version = CHECKPOINT_VERSION + 1;
  await writeFile(root, 'step-00000001/checkpoint.json', enc.encode(JSON.stringify(m)));
  const e = await expectError(loadCheckpoint(root), 'UNSUPPORTED');
  assert.match(e.message, new RegExp(`format_version ${CHECKPOINT_VERSION + 1}; this safeckpt reads versions 1 to ${CHECKPOINT_VERSION}: upgrade safeckpt`));
});

// ---------------------------------------------------------------- compat
const Compat = suite('backward compatibility');

Compat('a checkpoint without model metadata loads as custom-transformer, with a warning', async () => {
  const root = await freshRoot();
  const saved = await trainAndSave(root, { steps: 2 });
  const m = await json(root, 'step-00000002/checkpoint.json');
  delete m.model;
  delete m.lineage;
  await writeFile(root, 'step-00000002/checkpoint.json', enc.encode(JSON.stringify(m)));
  const log = recordingLogger();
  const { model, opt } = fresh();
  const loaded = await loadCheckpoint(root, { model, optimizer: opt, logger: log });
  assert.is(loaded.metadata.architecture_type, 'custom-transformer');
  assert.equal(weightBytes(model), saved.weights);
  assert.ok(log.records.some((r) => r.level === 'WARN' && /no model metadata/.test(r.msg)), JSON.stringify(log.records));
  model.dispose();
  opt.dispose();
});

Compat('format_version 1 (files as name → sha256, no sizes, no metadata) migrates', async () => {
  const root = await freshRoot();
  const saved = await trainAndSave(root, { steps: 2 });
  const m = await json(root, 'step-00000002/checkpoint.json');
  const v1 = { format_version: 1, step: 2, files: Object.fromEntries(Object.entries(m.files).map(([k, f]) => [k, f.sha256])) };
  await writeFile(root, 'step-00000002/checkpoint.json', enc.encode(JSON.stringify(v1)));
  const log = recordingLogger();
  const { model, opt } = fresh();
  const loaded = await loadCheckpoint(root, { model, optimizer: opt, logger: log });
  assert.is(loaded.format_version, 1);
  assert.is(loaded.metadata.architecture_type, 'custom-transformer');
  assert.equal(weightBytes(model), saved.weights);
  assert.ok(log.records.some((r) => /format_version 1 migrated/.test(r.msg)));
  model.dispose();
  opt.dispose();
});

// ---------------------------------------------------------------- retention, registry, list
const Keep = suite('retention, registry, listCheckpoints');

Keep('keeps the last N and the best K by a metric, never the one LATEST names', async () => {
  const root = await freshRoot();
  const r = freshRun('sgd');
  const losses = [5, 1, 4, 3, 6, 7, 8];
  for (let i = 0; i < losses.length; i++) {
    r.loop.run(1);
    await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: r.loop.step, metrics: { loss: losses[i] } },
      { retention: { keepLast: 2, keepBest: { k: 2, metric: 'loss' } } });
  }
  r.dispose();
  const names = (await listCheckpoints(root)).map((c) => c.name);
  assert.equal(names, ['step-00000002', 'step-00000004', 'step-00000006', 'step-00000007']);
  const reg = await json(root, 'registry.json');
  assert.equal(reg.models['custom-transformer'].checkpoints, names);
});

Keep('verify() checks a checkpoint root or folder: every file, the HMAC with a key; INTEGRITY names a damaged file', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 2, opts: { key: 'k', keyId: 'ci' } });
  const r = await verify(root, { key: 'k' });
  assert.equal([r.kind, r.hmac, r.keyId, r.metadata.step, r.tensors], ['checkpoint', 'verified', 'ci', '2', 45]);
  assert.is((await verify(root)).hmac, 'not-checked');
  await expectError(verify(root, { key: 'wrong' }), 'AUTH');
  const b = (await readFile(root, 'step-00000002/vocab.json')).slice();
  b[3] ^= 1;
  await writeFile(root, 'step-00000002/vocab.json', b);
  const e = await expectError(verify(root), 'INTEGRITY');
  assert.match(e.message, /vocab\.json has SHA-256/);
});

Keep('listCheckpoints ignores leftovers and marks LATEST', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  await writeFile(root, 'step-00000009.tmp-abc-0123abcd/checkpoint.json', enc.encode('{}'));
  const list = await listCheckpoints(root);
  assert.equal(list.map((c) => [c.name, c.latest]), [['step-00000001', true]]);
});

// ---------------------------------------------------------------- resume
const Resume = suite('resumeTraining: never trips over a bad checkpoint');

Resume('skips a damaged newest checkpoint, warns naming it and why, resumes from the previous', async () => {
  const root = await freshRoot();
  const r = freshRun('adam');
  r.loop.run(2);
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 2, dataCursor: r.loop.sampler.state() });
  const w2 = weightBytes(r.model);
  r.loop.run(2);
  await saveCheckpoint(root, { model: r.model, optimizer: r.opt, step: 4, dataCursor: r.loop.sampler.state() });
  r.dispose();
  const b = (await readFile(root, 'step-00000004/optimizer.safetensors')).slice();
  b[200] ^= 0xff;
  await writeFile(root, 'step-00000004/optimizer.safetensors', b);
  await writeFile(root, 'step-00000005.tmp-xyz-deadbeef/model.safetensors', enc.encode('half written'));
  const log = recordingLogger();
  const { model, opt } = fresh();
  const res = await resumeTraining(root, { model, optimizer: opt, logger: log });
  assert.is(res.step, 2);
  assert.equal(weightBytes(model), w2);
  assert.equal(res.skipped.map((s) => [s.name, s.code]), [['step-00000004', 'INTEGRITY']]);
  assert.equal(res.cleaned, ['step-00000005.tmp-xyz-deadbeef']);
  const warn = log.records.find((x) => x.level === 'WARN' && x.msg.startsWith('skipping checkpoint step-00000004'));
  assert.ok(warn, JSON.stringify(log.records.map((x) => x.msg)));
  assert.match(warn.msg, /INTEGRITY: .*optimizer\.safetensors has SHA-256/);
  assert.not.ok((await listNames(root)).some((n) => n.includes('.tmp-')), 'the leftover is gone');
  model.dispose();
  opt.dispose();
});

Resume('a missing checkpoint.json (interrupted before commit) or LATEST naming nothing falls back', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  await trainAndSave(root, { steps: 2 });
  await removeFile(root, 'step-00000002/checkpoint.json');
  await writeFile(root, 'LATEST', enc.encode('step-00000003\n'));
  const { model, opt } = fresh();
  const res = await resumeTraining(root, { model, optimizer: opt });
  assert.is(res.step, 1);
  assert.equal(res.skipped.map((s) => s.code), ['NOT_FOUND']);
  model.dispose();
  opt.dispose();
});

Resume('when nothing verifies it says so, listing what it tried; an empty root is NOT_FOUND', async () => {
  const root = await freshRoot();
  await expectError(resumeTraining(root, { model: {}, tf }), 'NOT_FOUND');
  await trainAndSave(root, { steps: 1 });
  await writeFile(root, 'step-00000001/trainer_state.json', enc.encode('{}'));
  const { model, opt } = fresh();
  const e = await expectError(resumeTraining(root, { model, optimizer: opt }), 'INTEGRITY');
  assert.match(e.message, /no checkpoint in .* verifies; tried step-00000001 \(INTEGRITY\)/);
  model.dispose();
  opt.dispose();
});

Resume('with a public key, only a checkpoint whose manifest is signed by it is resumed: a newer unsigned one is passed over (AUTH), a wrong key resumes none', async () => {
  const [k, other] = [await generateSigningKey(), await generateSigningKey()];
  const root = await freshRoot();
  const { weights } = await trainAndSave(root, { steps: 2 });
  await sign(root, { privateKey: k.privateKeyPem });
  await trainAndSave(root, { steps: 3 });
  const { model, opt } = fresh();
  const res = await resumeTraining(root, { model, optimizer: opt, publicKey: k.publicKeyPem });
  assert.is(res.step, 2);
  assert.equal(weightBytes(model), weights);
  assert.equal(res.skipped.map((s) => [s.name, s.code]), [['step-00000003', 'AUTH']]);
  assert.match(res.skipped[0].message, /carries no Ed25519 signature/);
  const before = weightBytes(model);
  const e = await expectError(resumeTraining(root, { model, optimizer: opt, publicKey: other.publicKeyPem }), 'INTEGRITY');
  assert.equal(e.data.skipped.map((s) => s.code), ['AUTH', 'AUTH']);
  assert.equal(weightBytes(model), before, 'nothing was assigned');
  await expectError(resumeTraining(root, { model, optimizer: opt, publicKey: 'nonsense' }), 'UNSUPPORTED');
  model.dispose();
  opt.dispose();
});

Resume('a shape mismatch stops the resume instead of falling back', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 1 });
  await trainAndSave(root, { steps: 2 });
  const other = TinyLM.create(tf, { ...TEST_CONFIG, d_ff: 8 }, { prefix: 'o/' });
  await expectError(resumeTraining(root, { model: { ...other.variables }, tf }), 'SHAPE_MISMATCH');
  other.dispose();
});

Resume('as a new fine-tuning run: registered, fine_tuned_from, full chain with start times', async () => {
  const root = await freshRoot();
  await trainAndSave(root, { steps: 2, metadata: { model_name: 'base', model_id: 'org/base', source: 'huggingface' } });
  // First fine-tune: base → ft1
  let { model, opt } = fresh();
  const t1 = new Date('2026-01-01T00:00:00Z');
  const r1 = await resumeTraining(root, { model, optimizer: opt, newModelName: 'ft1', now: () => t1 });
  assert.is(r1.metadata.model_name, 'ft1');
  assert.is(r1.metadata.source, 'finetuned');
  assert.is(r1.metadata.model_id, 'org/base');
  assert.is(r1.lineage.fine_tuned_from, 'base');
  let loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor: r1.dataCursor, step: r1.step });
  loop.run(1);
  await saveCheckpoint(root, { model, optimizer: opt, step: loop.step, metadata: r1.metadata, lineage: r1.lineage, dataCursor: loop.sampler.state() });
  model.dispose();
  opt.dispose();
  let reg = await json(root, 'registry.json');
  assert.is(reg.models.ft1.fine_tuned_from, 'base');
  assert.equal(reg.models.ft1.checkpoints, ['step-00000003']);
  // Second fine-tune: ft1 → ft2; the chain goes through every ancestor.
  ({ model, opt } = fresh());
  const t2 = new Date('2026-02-01T00:00:00Z');
  const r2 = await resumeTraining(root, { model, optimizer: opt, newModelName: 'ft2', now: () => t2 });
  assert.equal(r2.lineage.chain.map((l) => [l.model_name, l.fine_tuned_from]), [['base', null], ['ft1', 'base'], ['ft2', 'ft1']]);
  assert.is(r2.lineage.chain[1].started_at, t1.toISOString());
  assert.is(r2.lineage.chain[2].started_at, t2.toISOString());
  assert.equal(r2.lineage.chain[2].from_checkpoint.step, 3);
  loop = new TrainLoop(model, opt, { tokens: TOKENS, ...BATCH, cursor: r2.dataCursor, step: r2.step });
  loop.run(1);
  await saveCheckpoint(root, { model, optimizer: opt, step: loop.step, metadata: r2.metadata, lineage: r2.lineage });
  model.dispose();
  opt.dispose();
  reg = await json(root, 'registry.json');
  assert.equal(Object.keys(reg.models).sort(), ['base', 'ft1', 'ft2']);
  assert.is(reg.models.ft2.fine_tuned_from, 'ft1');
  const last = await loadCheckpoint(root);
  assert.is(last.metadata.model_name, 'ft2');
  assert.is(last.lineage.chain.length, 3, 'subsequent checkpoints keep the chain');
  assert.is(last.lineage.chain[0].model_id, 'org/base');
});

Layout.run();
Load.run();
Errors.run();
Compat.run();
Keep.run();
Resume.run();
