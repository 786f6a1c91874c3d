import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  convertTorchToSafetensors, readTorchFile, readSafetensors, verify, MemoryStore, sha256, toHex,
  torchCheckpointToTrainingState, planOptimizerRestore, CheckpointError,
} from '../dist/index.js';
import { readRepoFile, readRepoJson, runtime, tempDir } from './_env.js';
import { pickleOf, tensorOp, torchZip, bytesOf } from './_torchfile.js';
import { tf, ready } from './_tiny.js';

const DIR = 'test/fixtures/reference/torch/';
const fixture = (stem) => readRepoFile(DIR + stem + '.pt');

async function rejects(p, code) {
  try { await p; } catch (e) {
    assert.ok(e instanceof CheckpointError, String(e && e.stack));
    assert.is(e.code, code, e.message);
    return e;
  }
  assert.unreachable(`expected ${code}`);
}

/** Every tensor of the written file equals the torch tensor it came from, byte for byte. */
async function sameTensors(store, key, expected) {
  const st = await readSafetensors({ store, key });
  assert.equal(Object.keys(st.tensors).sort(), Object.keys(expected).sort());
  for (const [name, sha] of Object.entries(expected)) {
    const t = st.tensors[name];
    assert.is(toHex(sha256(t.bytes())), sha, name);
  }
}

const CONV = suite('convertTorchToSafetensors');

CONV('a state dict: every tensor, verified output, provenance in the sidecar', async () => {
  const bytes = await fixture('state_dict_f32');
  const exp = await readRepoJson(DIR + 'state_dict_f32.expected.json');
  const store = new MemoryStore();
  const r = await convertTorchToSafetensors(bytes, { store, key: 'm.safetensors' }, { name: 'state_dict_f32.pt' });
  assert.is(r.selected, '');
  assert.is(r.reason, 'whole file');
  assert.is(r.source.sha256, exp.file_sha256);
  await sameTensors(store, 'm.safetensors', Object.fromEntries(Object.entries(exp.tensors).map(([k, t]) => [k, t.sha256])));
  const report = await verify({ store, key: 'm.safetensors' }, { strict: true });
  assert.is(report.sidecar, 'verified');
  const sidecar = JSON.parse(new TextDecoder().decode(await store.read('m.safetensors.meta.json')));
  assert.is(sidecar.metadata['safeckpt.source_file'], 'state_dict_f32.pt');
  assert.is(sidecar.metadata['safeckpt.source_sha256'], exp.file_sha256);
  assert.is(sidecar.metadata['safeckpt.source_format'], 'torch-zip');
  assert.is(sidecar.metadata.format, 'pt');
});

CONV('strided, stride-0, offset and shared-storage tensors become contiguous copies of their values', async () => {
  const exp = await readRepoJson(DIR + 'dtypes.expected.json');
  const store = new MemoryStore();
  await convertTorchToSafetensors(await fixture('dtypes'), { store, key: 'd.safetensors' });
  await sameTensors(store, 'd.safetensors', Object.fromEntries(Object.entries(exp.tensors).map(([k, t]) => [k, t.sha256])));
});

CONV('the legacy format converts too', async () => {
  const exp = await readRepoJson(DIR + 'legacy_nonzip.expected.json');
  const store = new MemoryStore();
  const r = await convertTorchToSafetensors(await fixture('legacy_nonzip'), { store, key: 'l.safetensors' });
  assert.is(r.source.format, 'legacy');
  await sameTensors(store, 'l.safetensors', Object.fromEntries(Object.entries(exp.tensors).map(([k, t]) => [k, t.sha256])));
});

CONV('a training checkpoint: its model weights by default, any part with select, everything with select ""', async () => {
  const exp = await readRepoJson(DIR + 'training_checkpoint.expected.json');
  const bytes = await fixture('training_checkpoint');
  const store = new MemoryStore();
  const r = await convertTorchToSafetensors(bytes, { store, key: 'a.safetensors' });
  assert.is(r.selected, 'model');
  assert.is(r.reason, 'weights of a training checkpoint');
  assert.is(r.skipped.length, 21);
  const model = Object.fromEntries(Object.entries(exp.tensors).filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice(6), t.sha256]));
  await sameTensors(store, 'a.safetensors', model);
  await convertTorchToSafetensors(bytes, { store, key: 'b.safetensors' }, { select: '' });
  await sameTensors(store, 'b.safetensors', Object.fromEntries(Object.entries(exp.tensors).map(([k, t]) => [k, t.sha256])));
  await convertTorchToSafetensors(bytes, { store, key: 'c.safetensors' }, { select: 'optimizer.state.2' });
  await sameTensors(store, 'c.safetensors', Object.fromEntries(['step', 'exp_avg', 'exp_avg_sq'].map((k) => [k, exp.tensors[`optimizer.state.2.${k}`].sha256])));
  await rejects(convertTorchToSafetensors(bytes, { store, key: 'x.safetensors' }, { select: 'ema' }), 'NOT_FOUND');
});

CONV('a malicious file is refused and nothing is written', async () => {
  const store = new MemoryStore();
  await rejects(convertTorchToSafetensors(await fixture('malicious_reduce'), { store, key: 'm.safetensors' }), 'UNSAFE_PICKLE');
  assert.equal(await store.list(''), []);
});

if (runtime !== 'chromium') {
  CONV('safeckpt convert and safeckpt inspect on .pt files (CLI)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const fs = await import('node:fs/promises');
    const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    const exe = runtime === 'deno' ? Deno.execPath() : process.execPath;
    const pre = runtime === 'deno' ? ['run', '-A', '--quiet', cli] : [cli];
    const run = (args) => {
      const r = spawnSync(exe, [...pre, ...args], { encoding: 'utf8' });
      const lines = r.stdout.trim().split('\n');
      let json = null;
      try { json = JSON.parse(lines[lines.length - 1]); } catch {}
      return { status: r.status, out: r.stdout, err: r.stderr, json };
    };
    const dir = await tempDir();
    const src = `${dir}/training_checkpoint.pt`;
    await fs.writeFile(src, await fixture('training_checkpoint'));
    const exp = await readRepoJson(DIR + 'training_checkpoint.expected.json');

    let r = run(['inspect', src, '--json', '--digests']);
    assert.is(r.status, 0, r.err);
    assert.is(r.json.format, 'pytorch');
    assert.equal(r.json.tensors.map((t) => t.name), Object.keys(exp.tensors));
    for (const t of r.json.tensors) assert.is(t.sha256, exp.tensors[t.name].sha256, t.name);
    assert.equal(r.json.tensors.find((t) => t.name === 'optimizer.state.0.exp_avg').shape, [10, 8]);

    r = run(['convert', src, `${dir}/out.safetensors`]);
    assert.is(r.status, 0, r.err);
    assert.match(r.out, "took     'model' (weights of a training checkpoint");
    r = run(['verify', `${dir}/out.safetensors`, '--json']);
    assert.is(r.json.ok, true, r.out + r.err);
    assert.is(r.json.sidecar, 'verified');

    const bad = `${dir}/malicious_posix_system_torchsave.pt`;
    await fs.writeFile(bad, await fixture('malicious_posix_system_torchsave'));
    r = run(['inspect', bad, '--json']);
    assert.is(r.status, 1);
    assert.is(r.json.code, 'UNSAFE_PICKLE');
    assert.match(r.json.message, 'posix.system');
    r = run(['convert', bad, `${dir}/bad.safetensors`, '--json']);
    assert.is(r.status, 1);
    assert.is(r.json.code, 'UNSAFE_PICKLE');
    await rejects(fs.stat(`${dir}/bad.safetensors`).then(() => { throw new CheckpointError('IO', 'written'); }, (e) => { throw new CheckpointError('NOT_FOUND', String(e)); }), 'NOT_FOUND');
    await fs.rm(dir, { recursive: true });
  });
}

CONV.run();

// ---------------------------------------------------------------- training state

const TS = suite('torchCheckpointToTrainingState');

TS('the fixture (AdamW, weight_decay 0.01): refused with the reason, mapped on request', async () => {
  const v = (await readTorchFile(await fixture('training_checkpoint'))).value;
  const e = await rejects(Promise.resolve().then(() => torchCheckpointToTrainingState(v)), 'UNSUPPORTED');
  assert.match(e.message, 'weight_decay 0.01');
  const s = torchCheckpointToTrainingState(v, { ignoreWeightDecay: true });
  assert.is(s.weightsKey, 'model');
  assert.is(s.step, 3);
  assert.is(s.optimizer.name, 'Adam');
  assert.is(s.optimizer.iterations, 3);
  assert.equal(s.optimizer.config, { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  assert.equal(s.optimizer.slot_order, ['emb.weight', 'fc1.weight', 'fc1.bias', 'ln.weight', 'ln.bias', 'fc2.weight', 'fc2.bias']);
  assert.is(s.optimizer.slots['fc1.bias/m'], v.optimizer.state[2].exp_avg);
  assert.is(s.optimizer.slots['fc1.bias/v'], v.optimizer.state[2].exp_avg_sq);
  assert.equal(s.vocab, v.vocab);
  assert.equal(s.config, v.config);
});

TS('a torch Adam checkpoint restores into tfjs Adam, and the next step equals torch\'s update', async () => {
  await ready;
  const w = new Float32Array([0.5, -1, 2, 0.25]);
  const m = new Float32Array([0.01, -0.02, 0.03, 0]);
  const vv = new Float32Array([1e-4, 4e-4, 9e-4, 1e-6]);
  const t = 5, lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const p = pickleOf({
    model: { 'lin.weight': tensorOp({ key: '0', numel: 4, shape: [2, 2] }), 'bn.running_mean': tensorOp({ key: '4', numel: 2, shape: [2] }) },
    optimizer: {
      state: { 0: { step: tensorOp({ key: '1', numel: 1, shape: [] }), exp_avg: tensorOp({ key: '2', numel: 4, shape: [2, 2] }), exp_avg_sq: tensorOp({ key: '3', numel: 4, shape: [2, 2] }) } },
      param_groups: [{ lr, betas: { __tuple__: [b1, b2] }, eps, weight_decay: 0, amsgrad: false, maximize: false, params: [0] }],
    },
    step: t,
  });
  const file = await readTorchFile(torchZip({ pickle: p, torch2: true, storages: { 0: bytesOf(w), 1: bytesOf(new Float32Array([t])), 2: bytesOf(m), 3: bytesOf(vv), 4: bytesOf(new Float32Array(2)) } }));
  const s = torchCheckpointToTrainingState(file.value);
  assert.equal(s.optimizer.slot_order, ['lin.weight'], 'buffers are not optimizer parameters');

  const variable = tf.variable(tf.tensor(s.weights['lin.weight'].toFloat32(), [2, 2]), true, 'lin.weight');
  const opt = tf.train.adam(s.optimizer.config.learningRate, s.optimizer.config.beta1, s.optimizer.config.beta2, s.optimizer.config.epsilon);
  const vars = [{ name: 'lin.weight', variable }];
  // tfjs creates its slots on the first step: take one with a zero gradient on a scratch copy, then restore over it.
  opt.applyGradients({ 'lin.weight': tf.zeros([2, 2]) });
  const plan = planOptimizerRestore(tf, opt, vars, s.optimizer, s.optimizer.slots, 'torch checkpoint');
  plan.commit();
  variable.assign(tf.tensor(w, [2, 2]));
  const g = new Float32Array([0.1, -0.2, 0.05, 0.3]);
  opt.applyGradients({ 'lin.weight': tf.tensor(g, [2, 2]) });
  const got = variable.dataSync();
  // torch.optim.Adam, step t+1.
  for (let i = 0; i < 4; i++) {
    const mi = b1 * m[i] + (1 - b1) * g[i];
    const vi = b2 * vv[i] + (1 - b2) * g[i] * g[i];
    const want = w[i] - lr * (mi / (1 - b1 ** (t + 1))) / (Math.sqrt(vi / (1 - b2 ** (t + 1))) + eps);
    assert.ok(Math.abs(got[i] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `element ${i}: tfjs ${got[i]}, torch ${want}`);
  }
  variable.dispose();
  opt.dispose();
});

TS('optimizers tfjs computes differently are refused by name', async () => {
  const p = pickleOf({
    model: { w: tensorOp({ key: '0', numel: 2, shape: [2] }) },
    optimizer: { state: { 0: { square_avg: tensorOp({ key: '1', numel: 2, shape: [2] }), step: 1 } }, param_groups: [{ lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0, params: [0] }] },
  });
  const file = await readTorchFile(torchZip({ pickle: p, storages: { 0: bytesOf(new Float32Array(2)), 1: bytesOf(new Float32Array(2)) } }));
  const e = await rejects(Promise.resolve().then(() => torchCheckpointToTrainingState(file.value)), 'UNSUPPORTED');
  assert.match(e.message, 'RMSprop');
});

TS.run();
