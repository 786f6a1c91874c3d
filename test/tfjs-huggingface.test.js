// loadWeights on a Hugging Face model folder (config.json + model.safetensors or a sharded index,
// no safeckpt manifest): qwen2 through the built-in adapter (names, transposes, BF16, tied
// embeddings, config checked), and a user's own adapter for a small PyTorch MLP into a tfjs
// Sequential — the example of docs/tensorflow.md.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadWeights, writeSafetensors, transpose2d, joinKey } from '../dist/internal.js';
import { TinyLM, qwenToTinyLMConfig } from '../dist/demo/index.js';
import { tf, ready } from './_tfjs.js';
import { disposeModel, tensorCount } from './_tfjs.js';
import { rng } from './_env.js';
import { freshRoot, storeOf, expectError } from './_ckpt-env.js';

await ready;
const TENSORS_AT_START = tensorCount();

const QWEN = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 32, max_position_embeddings: 16, rope_theta: 10000,
  rms_norm_eps: 1e-6, tie_word_embeddings: true, attention_dropout: 0, torch_dtype: 'bfloat16',
};

/** A Qwen2ForCausalLM state dict for `c` with torch's shapes, random BF16 values (no lm_head when tied). */
function qwenStateDict(c, seed) {
  const next = rng(seed);
  const hd = c.hidden_size / c.num_attention_heads, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const shapes = { 'model.embed_tokens.weight': [c.vocab_size, c.hidden_size], 'model.norm.weight': [c.hidden_size] };
  if (!c.tie_word_embeddings) shapes['lm_head.weight'] = [c.vocab_size, c.hidden_size];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(shapes, {
      [p + 'input_layernorm.weight']: [c.hidden_size], [p + 'post_attention_layernorm.weight']: [c.hidden_size],
      [p + 'self_attn.q_proj.weight']: [q, c.hidden_size], [p + 'self_attn.q_proj.bias']: [q],
      [p + 'self_attn.k_proj.weight']: [kv, c.hidden_size], [p + 'self_attn.k_proj.bias']: [kv],
      [p + 'self_attn.v_proj.weight']: [kv, c.hidden_size], [p + 'self_attn.v_proj.bias']: [kv],
      [p + 'self_attn.o_proj.weight']: [c.hidden_size, q],
      [p + 'mlp.gate_proj.weight']: [c.intermediate_size, c.hidden_size], [p + 'mlp.up_proj.weight']: [c.intermediate_size, c.hidden_size],
      [p + 'mlp.down_proj.weight']: [c.hidden_size, c.intermediate_size],
    });
  }
  const out = {};
  for (const [n, shape] of Object.entries(shapes)) {
    const data = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = new Uint32Array(new Float32Array([(next() - 0.5) * 0.2]).buffer)[0] >>> 16;
    out[n] = { dtype: 'BF16', shape, data };
  }
  return out;
}

const bf16 = (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];
const enc = (v) => new TextEncoder().encode(JSON.stringify(v, null, 2));

/** A Hugging Face folder as transformers' save_pretrained writes it (no safeckpt sidecar or manifest). */
async function hfFolder(config, tensors, { shards = 1 } = {}) {
  const root = await freshRoot('hf');
  const { store, key } = storeOf(root);
  await store.write(joinKey(key, 'config.json'), enc(config));
  if (shards === 1) {
    await writeSafetensors({ store, key: joinKey(key, 'model.safetensors') }, tensors, { metadata: { format: 'pt' }, sidecar: false });
  } else {
    const names = Object.keys(tensors);
    const per = Math.ceil(names.length / shards);
    const weight_map = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = Object.fromEntries(names.slice(s * per, (s + 1) * per).map((n) => [n, tensors[n]]));
      for (const n of Object.keys(part)) weight_map[n] = file;
      await writeSafetensors({ store, key: joinKey(key, file) }, part, { metadata: { format: 'pt' }, sidecar: false });
    }
    await store.write(joinKey(key, 'model.safetensors.index.json'), enc({ metadata: { total_size: 0 }, weight_map }));
  }
  return root;
}

const Hf = suite('Hugging Face model folders');

for (const shards of [1, 3]) {
  Hf(`qwen2 (tied embeddings, BF16${shards > 1 ? ', sharded index' : ''}) loads into a matching model: names, transposes, exact values`, async () => {
    const sd = qwenStateDict(QWEN, 7 + shards);
    const root = await hfFolder(QWEN, sd, { shards });
    const model = TinyLM.create(tf, qwenToTinyLMConfig(QWEN), { prefix: `hf${shards}/`, architecture_type: 'qwen' });
    const r = await loadWeights(root, model);
    assert.is(r.kind, 'huggingface');
    assert.is(r.adapter, 'qwen');
    assert.is(r.config.model_type, 'qwen2');
    assert.not.ok('head' in model.variables, 'tied: the model has no separate head');
    const W = sd['model.layers.1.mlp.down_proj.weight'], [out, inn] = W.shape; // torch (out, in)
    const k = model.variables['blocks.1.mlp.w_down'].dataSync(); // tfjs (in, out)
    for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) assert.is(k[i * out + o], bf16(W.data[o * inn + i]));
    const emb = model.variables.embed.dataSync();
    assert.equal(Array.from(emb.slice(0, 40)), Array.from(sd['model.embed_tokens.weight'].data.slice(0, 40), bf16));
    model.dispose();
  });
}

Hf('a model whose architecture differs from config.json is ARCH_MISMATCH, and nothing is loaded', async () => {
  const root = await hfFolder({ ...QWEN, rms_norm_eps: 1e-5 }, qwenStateDict(QWEN, 3));
  const model = TinyLM.create(tf, qwenToTinyLMConfig(QWEN), { prefix: 'hfx/', architecture_type: 'qwen' });
  const before = Array.from(model.variables.embed.dataSync());
  const e = await expectError(loadWeights(root, model), 'ARCH_MISMATCH');
  assert.match(e.message, /rms_norm_eps 0\.00001, model rms_eps 0\.000001/);
  assert.equal(Array.from(model.variables.embed.dataSync()), before);
  model.dispose();
});

Hf('an untied qwen2 folder without lm_head.weight is refused naming it', async () => {
  const cfg = { ...QWEN, tie_word_embeddings: false };
  const sd = qwenStateDict(QWEN, 4); // tied state dict: no lm_head
  const root = await hfFolder(cfg, sd);
  const model = TinyLM.create(tf, qwenToTinyLMConfig(cfg), { prefix: 'hfu/', architecture_type: 'qwen' });
  const e = await expectError(loadWeights(root, model), 'SHAPE_MISMATCH');
  assert.match(e.message, /missing: head/);
  model.dispose();
});

// ---- a user's adapter: a PyTorch nn.Sequential MLP (fc1, fc2) into a tfjs Dense–Dense Sequential
/** torch Linear `prefix.weight` is (out, in) and computes x·Wᵀ; a tfjs Dense kernel is (in, out). */
const tinyMlpAdapter = {
  architecture_type: 'tiny-mlp',
  description: 'tf.sequential([dense(hidden), dense(out)]) for a PyTorch fc1/fc2 MLP',
  hf_model_types: ['tiny-mlp'],
  toFile: (model) => ({
    'fc1.weight': transpose2d(model['dense/kernel'], 'dense/kernel'), 'fc1.bias': model['dense/bias'],
    'fc2.weight': transpose2d(model['dense_1/kernel'], 'dense_1/kernel'), 'fc2.bias': model['dense_1/bias'],
  }),
  fromFile: (file) => {
    const out = {};
    for (const [n, t] of Object.entries(file)) {
      const m = /^fc([12])\.(weight|bias)$/.exec(n);
      if (!m) { out[n] = t; continue; } // unknown names stay: the shape check lists them
      const layer = m[1] === '1' ? 'dense' : 'dense_1';
      out[`${layer}/${m[2] === 'weight' ? 'kernel' : 'bias'}`] = m[2] === 'weight' ? transpose2d(t, n) : t;
    }
    return out;
  },
  checkConfig: (config, model) => {
    const units = model.layers.map((l) => l.getConfig().units);
    return units[0] === config.hidden_size ? [] : [`hidden_size ${config.hidden_size}, model ${units[0]}`];
  },
};

Hf('a user adapter maps a PyTorch MLP folder onto a tfjs Sequential and computes what torch computes', async () => {
  const W1 = { dtype: 'F32', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => (i - 6) / 8) };
  const b1 = { dtype: 'F32', shape: [4], data: Float32Array.from([0.1, -0.2, 0.3, 0]) };
  const W2 = { dtype: 'F32', shape: [2, 4], data: Float32Array.from({ length: 8 }, (_, i) => (i % 3) / 4) };
  const b2 = { dtype: 'F32', shape: [2], data: Float32Array.from([0.5, -0.5]) };
  const root = await hfFolder({ model_type: 'tiny-mlp', hidden_size: 4 }, { 'fc1.weight': W1, 'fc1.bias': b1, 'fc2.weight': W2, 'fc2.bias': b2 });
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3] }), tf.layers.dense({ units: 2 })] });
  const r = await loadWeights(root, model, { adapters: [tinyMlpAdapter] });
  assert.is(r.adapter, 'tiny-mlp');
  // torch: y = (x·W1ᵀ + b1)·W2ᵀ + b2 (no activation), in float64
  const x = [0.3, -1.2, 2];
  const h = [0, 1, 2, 3].map((o) => x.reduce((a, v, i) => a + v * W1.data[o * 3 + i], b1.data[o]));
  const want = [0, 1].map((o) => h.reduce((a, v, i) => a + v * W2.data[o * 4 + i], b2.data[o]));
  const input = tf.tensor2d([x]);
  const y = model.predict(input);
  const got = y.dataSync();
  input.dispose();
  want.forEach((w, o) => assert.ok(Math.abs(got[o] - w) < 1e-5, `output ${o}: ${got[o]} vs ${w}`));
  y.dispose();
  const wrong = tf.sequential({ layers: [tf.layers.dense({ units: 5, inputShape: [3] }), tf.layers.dense({ units: 2 })] });
  const e = await expectError(loadWeights(root, wrong, { adapters: [tinyMlpAdapter] }), 'ARCH_MISMATCH');
  assert.match(e.message, /hidden_size 4, model 5/);
  model.dispose();
  wrong.dispose();
});

Hf('a folder whose model_type has no adapter says to pass one', async () => {
  const root = await hfFolder({ model_type: 'mystery' }, { 'fc1.weight': { dtype: 'F32', shape: [1, 1], data: new Float32Array(1) } });
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], useBias: false })] });
  const e = await expectError(loadWeights(root, model), 'SHAPE_MISMATCH');
  assert.match(e.message, /model_type 'mystery' has no adapter: pass `adapter`/);
  model.dispose();
});

Hf('leaves no tensor behind (the tfjs engine is shared with every test file)', () => {
  assert.is(tensorCount(), TENSORS_AT_START);
});

Hf.run();
