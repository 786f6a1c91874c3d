// A Hugging Face Qwen2 config.json as a TinyLM config. TinyLM is laid out like Qwen2, and the
// library's qwen adapter (src/checkpoint/adapters/qwen.ts) maps Qwen2's parameter names onto TinyLM's
// internal ones: together they load a Qwen2 checkpoint into a TinyLM.
import type { TinyLMConfig } from './tiny-lm.js';

/** Hugging Face Qwen2 config.json fields → TinyLM config (dropout 0, as Qwen2's attention_dropout). */
export function qwenToTinyLMConfig(hf: Record<string, unknown>, seed = 0): TinyLMConfig {
  const num = (k: string, d?: number): number => {
    const v = hf[k] ?? d;
    if (typeof v !== 'number') throw new RangeError(`Qwen2 config: '${k}' is missing or not a number`);
    return v;
  };
  const heads = num('num_attention_heads');
  return {
    vocab_size: num('vocab_size'),
    d_model: num('hidden_size'),
    n_layers: num('num_hidden_layers'),
    n_heads: heads,
    n_kv_heads: num('num_key_value_heads', heads),
    d_ff: num('intermediate_size'),
    max_seq_len: num('max_position_embeddings'),
    rope_theta: num('rope_theta', 10000),
    rms_eps: num('rms_norm_eps', 1e-6),
    dropout: num('attention_dropout', 0),
    tie_embeddings: hf.tie_word_embeddings === true,
    seed,
  };
}
