// The qwen adapter: Hugging Face Qwen2 tensor names and torch's (out, in)
// linear layout ↔ TinyLM's tfjs (in, out) kernels.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  saveCheckpoint, loadCheckpoint, readSafetensors, writeSafetensors, joinKey, sha256, toHex,
} from '../dist/internal.js';
import { TinyLM, qwenToTinyLMConfig } from '../dist/demo/index.js';
import { tf, ready } from './_tiny.js';
import { rng } from './_env.js';
import { freshRoot, storeOf, readFile, writeFile, expectError } from './_ckpt-env.js';

await ready;

// A tiny Qwen2 config.json, as transformers writes it.
const HF_CONFIG = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 32, max_position_embeddings: 16, rope_theta: 10000,
  rms_norm_eps: 1e-6, tie_word_embeddings: false, attention_dropout: 0,
};

/** Every tensor a Qwen2ForCausalLM state dict holds for HF_CONFIG, with torch's shapes. */
function hfShapes(c) {
  const hd = c.hidden_size / c.num_attention_heads, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const out = { 'model.embed_tokens.weight': [c.vocab_size, c.hidden_size], 'model.norm.weight': [c.hidden_size], 'lm_head.weight': [c.vocab_size, c.hidden_size] };
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(out, {
      [p + 'input_layernorm.weight']: [c.hidden_size], [p + 'post_attention_layernorm.weight']: [c.hidden_size],
      [p + 'self_attn.q_proj.weight']: [q, c.hidden_size], [p + 'self_attn.q_proj.bias']: [q],
      [p + 'self_attn.k_proj.weight']: [kv, c.hidden_size], [p + 'self_attn.k_proj.bias']: [kv],
      [p + 'self_attn.v_proj.weight']: [kv, c.hidden_size], [p + 'self_attn.v_proj.bias']: [kv],
      [p + 'self_attn.o_proj.weight']: [c.hidden_size, q],
      [p + 'mlp.gate_proj.weight']: [c.intermediate_size, c.hidden_size], [p + 'mlp.up_proj.weight']: [c.intermediate_size, c.hidden_size],
      [p + 'mlp.down_proj.weight']: [c.hidden_size, c.intermediate_size],
    });
  }
  return out;
}

const bf16ToF32 = (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0];

const Q = suite('qwen adapter: Hugging Face Qwen2 names and layout');

Q('a qwen TinyLM is saved under the exact Qwen2 state-dict names, linear weights as (out, in)', async () => {
  const model = TinyLM.create(tf, qwenToTinyLMConfig(HF_CONFIG, 5), { prefix: 'q1/', architecture_type: 'qwen' });
  const root = await freshRoot('qwen');
  await saveCheckpoint(root, { model, step: 0, metadata: { model_name: 'tiny-qwen', model_id: 'test/tiny-qwen2', architecture_type: 'qwen' } });
  const { store, key } = storeOf(root);
  const f = await readSafetensors({ store, key: joinKey(key, 'step-00000000/model.safetensors') });
  const want = hfShapes(HF_CONFIG);
  assert.equal([...f.names].sort(), Object.keys(want).sort());
  for (const [n, shape] of Object.entries(want)) assert.equal([...f.tensors[n].shape], shape, n);
  assert.is(f.metadata.format, 'pt', 'transformers reads it as a torch state dict');
  const wq = model.variables['blocks.1.attn.wq'].dataSync(); // [in=16, out=16]
  const qp = f.tensors['model.layers.1.self_attn.q_proj.weight'].toFloat32(); // [out, in]
  for (const [o, i] of [[0, 1], [3, 7], [15, 2]]) assert.is(qp[o * 16 + i], wq[i * 16 + o], `q_proj[${o}][${i}] = wq[${i}][${o}]`);
  model.dispose();
});

Q('a Qwen2-shaped checkpoint with random BF16 weights loads: transposed, exact, and computes x·Wᵀ + b', async () => {
  // Make the checkpoint folder, then put in it a model.safetensors as transformers would write it (BF16, HF names).
  const cfg = qwenToTinyLMConfig(HF_CONFIG, 5);
  const maker = TinyLM.create(tf, cfg, { prefix: 'q2/', architecture_type: 'qwen' });
  const root = await freshRoot('qwen');
  await saveCheckpoint(root, { model: maker, step: 0, metadata: { model_name: 'tiny-qwen', model_id: 'test/tiny-qwen2', architecture_type: 'qwen', source: 'huggingface' } });
  maker.dispose();
  const next = rng(42);
  const hf = {};
  for (const [n, shape] of Object.entries(hfShapes(HF_CONFIG))) {
    const data = new Uint16Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = new Uint32Array(new Float32Array([(next() - 0.5) * 0.2]).buffer)[0] >>> 16;
    hf[n] = { dtype: 'BF16', shape, data };
  }
  const { store, key } = storeOf(root);
  const dir = joinKey(key, 'step-00000000');
  await writeSafetensors({ store, key: joinKey(dir, 'model.safetensors') }, hf, { metadata: { format: 'pt' } });
  const m = JSON.parse(new TextDecoder().decode(await readFile(root, 'step-00000000/checkpoint.json')));
  for (const file of ['model.safetensors', 'model.safetensors.meta.json']) {
    const b = await readFile(root, 'step-00000000/' + file);
    m.files[file] = { size: b.length, sha256: toHex(sha256(b)) };
  }
  await writeFile(root, 'step-00000000/checkpoint.json', new TextEncoder().encode(JSON.stringify(m)));

  const model = TinyLM.create(tf, cfg, { prefix: 'q3/', architecture_type: 'qwen' });
  const loaded = await loadCheckpoint(root, { model });
  assert.is(loaded.metadata.model_id, 'test/tiny-qwen2');
  // Every weight is its BF16 value exactly, transposed where torch and tfjs differ.
  const W = hf['model.layers.0.self_attn.k_proj.weight'], kv = W.shape[0], d = W.shape[1];
  const wk = model.variables['blocks.0.attn.wk'].dataSync();
  for (let o = 0; o < kv; o++) for (let i = 0; i < d; i++) assert.is(wk[i * kv + o], bf16ToF32(W.data[o * d + i]));
  const emb = model.variables.embed.dataSync();
  assert.is(emb[37], bf16ToF32(hf['model.embed_tokens.weight'].data[37]), 'embeddings keep their layout');
  // Semantics: torch's Linear is y = x·Wᵀ + b; the loaded kernel must give the same (float64 reference).
  const x = Array.from({ length: d }, (_, i) => Math.sin(i + 1));
  const b = hf['model.layers.0.self_attn.k_proj.bias'];
  const want = Array.from({ length: kv }, (_, o) => x.reduce((a, v, i) => a + v * bf16ToF32(W.data[o * d + i]), bf16ToF32(b.data[o])));
  const got = tf.tidy(() => tf.add(tf.matMul(tf.tensor2d([x]), model.variables['blocks.0.attn.wk']), model.variables['blocks.0.attn.bk']).dataSync());
  want.forEach((w, o) => assert.ok(Math.abs(got[o] - w) < 1e-5, `k_proj output ${o}: ${got[o]} vs ${w}`));
  model.dispose();
});

Q('tied embeddings: lm_head.weight is optional, and a custom-transformer model is refused with what the checkpoint needs', async () => {
  const tied = { ...HF_CONFIG, tie_word_embeddings: true };
  const model = TinyLM.create(tf, qwenToTinyLMConfig(tied, 5), { prefix: 'q4/', architecture_type: 'qwen' });
  const root = await freshRoot('qwen');
  await saveCheckpoint(root, { model, step: 0, metadata: { model_name: 'tiny-qwen', model_id: 'test/tiny-qwen2', architecture_type: 'qwen' } });
  const { store, key } = storeOf(root);
  const f = await readSafetensors({ store, key: joinKey(key, 'step-00000000/model.safetensors') });
  assert.not.ok(f.names.includes('lm_head.weight'));
  const other = TinyLM.create(tf, qwenToTinyLMConfig(tied, 5), { prefix: 'q5/' });
  const e = await expectError(loadCheckpoint(root, { model: other }), 'ARCH_MISMATCH');
  assert.match(e.message, /needs architecture_type 'qwen' \(model_id 'test\/tiny-qwen2'\), but the model given is 'custom-transformer'/);
  const back = await loadCheckpoint(root, { model: TinyLM.create(tf, qwenToTinyLMConfig(tied, 5), { prefix: 'q6/', architecture_type: 'qwen' }) }).catch((x) => x);
  assert.is(back.step, 0);
  for (const p of ['q4/', 'q5/', 'q6/']) for (const v of Object.values(tf.engine().registeredVariables)) if (v.name.startsWith(p)) v.dispose();
});

Q.run();
