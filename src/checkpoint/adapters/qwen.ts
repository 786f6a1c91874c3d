// Hugging Face Qwen2 ↔ TinyLM. TinyLM is laid out like Qwen2 (RMSNorm, rotary
// rotate-half, q/k/v biases, grouped key/value heads, SwiGLU), so the mapping
// is names plus one layout rule: torch's nn.Linear stores weight as
// (out_features, in_features) and computes x·Wᵀ, while a tfjs kernel is
// (in, out) and computes x·W — every linear weight is transposed both ways.
// Embeddings and norm weights keep their layout. With tied embeddings the
// file may carry lm_head.weight (a copy of embed_tokens) or not; it is then
// not loaded.
import type { TensorLike, TensorMap } from '../../types/tensor.js';
import type { ArchitectureAdapter } from './adapter.js';
import { transpose2d } from './adapter.js';

type Rule = [internal: RegExp, hf: string, transpose: boolean];

// internal name → Hugging Face name ($1 = layer index)
const RULES: Rule[] = [
  [/^embed$/, 'model.embed_tokens.weight', false],
  [/^blocks\.(\d+)\.ln1\.gamma$/, 'model.layers.$1.input_layernorm.weight', false],
  [/^blocks\.(\d+)\.attn\.wq$/, 'model.layers.$1.self_attn.q_proj.weight', true],
  [/^blocks\.(\d+)\.attn\.bq$/, 'model.layers.$1.self_attn.q_proj.bias', false],
  [/^blocks\.(\d+)\.attn\.wk$/, 'model.layers.$1.self_attn.k_proj.weight', true],
  [/^blocks\.(\d+)\.attn\.bk$/, 'model.layers.$1.self_attn.k_proj.bias', false],
  [/^blocks\.(\d+)\.attn\.wv$/, 'model.layers.$1.self_attn.v_proj.weight', true],
  [/^blocks\.(\d+)\.attn\.bv$/, 'model.layers.$1.self_attn.v_proj.bias', false],
  [/^blocks\.(\d+)\.attn\.wo$/, 'model.layers.$1.self_attn.o_proj.weight', true],
  [/^blocks\.(\d+)\.ln2\.gamma$/, 'model.layers.$1.post_attention_layernorm.weight', false],
  [/^blocks\.(\d+)\.mlp\.w_gate$/, 'model.layers.$1.mlp.gate_proj.weight', true],
  [/^blocks\.(\d+)\.mlp\.w_up$/, 'model.layers.$1.mlp.up_proj.weight', true],
  [/^blocks\.(\d+)\.mlp\.w_down$/, 'model.layers.$1.mlp.down_proj.weight', true],
  [/^ln_f\.gamma$/, 'model.norm.weight', false],
  [/^head$/, 'lm_head.weight', true],
];

// The inverse rules, Hugging Face name → internal name.
const INVERSE: Rule[] = RULES.map(([re, hf, t]) => {
  const internal = re.source.slice(1, -1).replace('(\\d+)', '$1').replace(/\\\./g, '.');
  return [new RegExp('^' + hf.replace(/\./g, '\\.').replace('$1', '(\\d+)') + '$'), internal, t];
});

function map(name: string, rules: Rule[]): { name: string; transpose: boolean } | null {
  for (const [re, to, t] of rules) if (re.test(name)) return { name: name.replace(re, to), transpose: t };
  return null;
}

/** TinyLM internal parameter name → Hugging Face Qwen2 name (null when it has none). */
export function qwenName(internal: string): string | null {
  return map(internal, RULES)?.name ?? null;
}

/** Hugging Face Qwen2 names and layouts ↔ a model laid out like safeckpt/demo's TinyLM (every linear weight transposed). */
export const qwenAdapter: ArchitectureAdapter = {
  architecture_type: 'qwen',
  description: 'Hugging Face Qwen2 (model.layers.N.self_attn.q_proj.weight, …) on a TinyLM built with qwenToTinyLMConfig(config.json)',
  toFile(model: TensorMap): TensorMap {
    const out: TensorMap = {};
    for (const [n, t] of Object.entries(model)) {
      const m = map(n, RULES);
      if (!m) { out[n] = t; continue; }
      out[m.name] = m.transpose ? transpose2d(t, n) : t;
    }
    return out;
  },
  fromFile(file: Readonly<Record<string, TensorLike>>, model: ReadonlySet<string>): TensorMap {
    const out: TensorMap = {};
    for (const [n, t] of Object.entries(file)) {
      const m = map(n, INVERSE);
      if (!m) { out[n] = t; continue; }
      if (m.name === 'head' && !model.has('head')) continue; // tied embeddings: lm_head duplicates embed_tokens
      out[m.name] = m.transpose ? transpose2d(t, n) : t;
    }
    return out;
  },
  fileMetadata: () => ({ format: 'pt' }),
  hf_model_types: ['qwen2'],
  checkConfig(config, model) {
    const arch = (model as { architecture?: Record<string, unknown> }).architecture;
    if (!arch) return [];
    const out: string[] = [];
    for (const [hf, mine] of QWEN_CONFIG_KEYS) {
      if (!(hf in config) || !(mine in arch)) continue;
      const want = hf === 'tie_word_embeddings' ? config[hf] === true : config[hf];
      if (JSON.stringify(want) !== JSON.stringify(arch[mine])) out.push(`${hf} ${JSON.stringify(config[hf])}, model ${mine} ${JSON.stringify(arch[mine])}`);
    }
    return out;
  },
};

/** Hugging Face Qwen2 config.json keys and the architecture parameters of the model they must equal. */
const QWEN_CONFIG_KEYS: [string, string][] = [
  ['vocab_size', 'vocab_size'], ['hidden_size', 'd_model'], ['num_hidden_layers', 'n_layers'], ['num_attention_heads', 'n_heads'],
  ['num_key_value_heads', 'n_kv_heads'], ['intermediate_size', 'd_ff'], ['rope_theta', 'rope_theta'], ['rms_norm_eps', 'rms_eps'],
  ['tie_word_embeddings', 'tie_embeddings'],
];
