// The project's tiny transformer language model, in TensorFlow.js core ops (no
// tfjs-layers): a decoder-only, pre-norm transformer laid out like Qwen2 —
// RMSNorm, causal self-attention with rotary position embeddings (rotate-half),
// q/k/v biases, grouped key/value heads, a SwiGLU MLP — so the `qwen` adapter
// maps Hugging Face Qwen2 tensors onto it one to one, and `custom-transformer`
// is the same network under its own parameter names.
//
// Everything that decides the next step is explicit: weights are initialised
// from a seeded JS PRNG (no tfjs global RNG), and dropout masks use seeds
// derived from (model seed, step, layer, site), so a resumed run draws the same
// masks as an uninterrupted one.
import type { Tf, Variable, Tensor } from '../tfjs/tf.js';
import type { VariableModel } from '../tfjs/tf.js';
import { Prng, mixSeed } from './prng.js';

/** TinyLM's architecture: vocabulary, widths, layers, heads, rotary base, dropout, tied embeddings, seed. */
export interface TinyLMConfig {
  vocab_size: number;
  d_model: number;
  n_layers: number;
  n_heads: number;
  /** Key/value heads (grouped-query attention); divides n_heads. */
  n_kv_heads: number;
  /** Hidden width of the SwiGLU MLP. */
  d_ff: number;
  max_seq_len: number;
  rope_theta: number;
  rms_eps: number;
  /** Dropout rate on attention probabilities and residual branches (0 disables). */
  dropout: number;
  /** lm_head shares the embedding matrix. */
  tie_embeddings: boolean;
  /** Seed of the weight initialisation and of every dropout mask. */
  seed: number;
}

/** The demo's TinyLM size (everything but the vocabulary). */
export const TINY_LM_DEFAULTS: Omit<TinyLMConfig, 'vocab_size'> = {
  d_model: 32,
  n_layers: 2,
  n_heads: 4,
  n_kv_heads: 2,
  d_ff: 64,
  max_seq_len: 64,
  rope_theta: 10000,
  rms_eps: 1e-6,
  dropout: 0.1,
  tie_embeddings: false,
  seed: 1234,
};

/** Parameter names (internal layout: kernels are [in, out]) in the model's fixed order. */
export function tinyLMParameterShapes(c: TinyLMConfig): [string, number[]][] {
  const hd = c.d_model / c.n_heads;
  const out: [string, number[]][] = [['embed', [c.vocab_size, c.d_model]]];
  for (let i = 0; i < c.n_layers; i++) {
    const p = `blocks.${i}.`;
    out.push(
      [p + 'ln1.gamma', [c.d_model]],
      [p + 'attn.wq', [c.d_model, c.n_heads * hd]],
      [p + 'attn.bq', [c.n_heads * hd]],
      [p + 'attn.wk', [c.d_model, c.n_kv_heads * hd]],
      [p + 'attn.bk', [c.n_kv_heads * hd]],
      [p + 'attn.wv', [c.d_model, c.n_kv_heads * hd]],
      [p + 'attn.bv', [c.n_kv_heads * hd]],
      [p + 'attn.wo', [c.n_heads * hd, c.d_model]],
      [p + 'ln2.gamma', [c.d_model]],
      [p + 'mlp.w_gate', [c.d_model, c.d_ff]],
      [p + 'mlp.w_up', [c.d_model, c.d_ff]],
      [p + 'mlp.w_down', [c.d_ff, c.d_model]],
    );
  }
  out.push(['ln_f.gamma', [c.d_model]]);
  if (!c.tie_embeddings) out.push(['head', [c.d_model, c.vocab_size]]);
  return out;
}

export function validateTinyLMConfig(c: TinyLMConfig): void {
  const ints: (keyof TinyLMConfig)[] = ['vocab_size', 'd_model', 'n_layers', 'n_heads', 'n_kv_heads', 'd_ff', 'max_seq_len'];
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`TinyLM config: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.d_model % c.n_heads !== 0) throw new RangeError(`TinyLM config: d_model ${c.d_model} is not divisible by n_heads ${c.n_heads}`);
  if ((c.d_model / c.n_heads) % 2 !== 0) throw new RangeError(`TinyLM config: the head size ${c.d_model / c.n_heads} must be even for rotary embeddings`);
  if (c.n_heads % c.n_kv_heads !== 0) throw new RangeError(`TinyLM config: n_heads ${c.n_heads} is not a multiple of n_kv_heads ${c.n_kv_heads}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`TinyLM config: dropout must be in [0, 1), got ${c.dropout}`);
}

export interface ForwardOptions {
  /** Apply dropout (training). */
  training?: boolean;
  /** The training step: dropout seeds derive from it. */
  step?: number;
}

/** A tiny decoder-only transformer LM in TensorFlow.js core ops, laid out like Qwen2, deterministic (seeded init and dropout). */
export class TinyLM implements VariableModel {
  readonly architecture_type: string;
  readonly variables: Readonly<Record<string, Variable>>;
  private readonly masks = new Map<number, Tensor>();
  private readonly rope = new Map<number, [Tensor, Tensor]>();

  private constructor(
    readonly tf: Tf,
    readonly config: TinyLMConfig,
    variables: Record<string, Variable>,
    architectureType: string,
  ) {
    this.variables = variables;
    this.architecture_type = architectureType;
  }

  /**
   * A freshly initialised model. Variable names are `${prefix}${parameter}`; tfjs registers
   * variables globally, so two live models need different prefixes (or dispose() the first).
   */
  static create(tf: Tf, config: TinyLMConfig, opts: { prefix?: string; architecture_type?: string } = {}): TinyLM {
    validateTinyLMConfig(config);
    const prefix = opts.prefix ?? 'tinylm/';
    const rng = new Prng(mixSeed(config.seed, 0x1417));
    const vars: Record<string, Variable> = {};
    for (const [name, shape] of tinyLMParameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name.endsWith('.gamma')) data.fill(1);
      else if (/\.b[qkv]$/.test(name)) data.fill(0);
      else {
        // Uniform with the variance of N(0, 0.02²) (GPT-2's init), sqrt being the only
        // transcendental: correctly rounded, so every runtime starts from the same bits.
        const a = 0.02 * Math.sqrt(3);
        for (let i = 0; i < n; i++) data[i] = (rng.next() * 2 - 1) * a;
      }
      const init = tf.tensor(data, shape, 'float32');
      vars[name] = tf.variable(init, true, prefix + name);
      init.dispose(); // the variable holds its own reference
    }
    return new TinyLM(tf, { ...config }, vars, opts.architecture_type ?? 'custom-transformer');
  }

  /** Architecture parameters recorded in checkpoint metadata and checked on load. */
  get architecture(): Record<string, unknown> {
    const { seed: _seed, dropout: _dropout, ...arch } = this.config;
    return arch;
  }

  /** Variables in the fixed parameter order: pass this to `optimizer.minimize`. */
  trainableVariables(): Variable[] {
    return tinyLMParameterShapes(this.config).map(([n]) => this.variables[n]);
  }

  /** Logits [B, T, vocab] for int32 token ids [B, T]. */
  logits(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    const { tf, config: c } = this;
    const v = this.variables;
    const [b, t] = ids.shape as [number, number];
    if (t > c.max_seq_len) throw new RangeError(`sequence length ${t} exceeds max_seq_len ${c.max_seq_len}`);
    const d = c.d_model, hd = d / c.n_heads, rep = c.n_heads / c.n_kv_heads;
    const drop = (x: Tensor, layer: number, site: number): Tensor =>
      opts.training && c.dropout > 0
        ? tf.dropout(x, c.dropout, undefined, mixSeed(c.seed, opts.step ?? 0, layer, site))
        : x;
    const linear = (x2: Tensor, w: Variable, bias?: Variable): Tensor => {
      const y = tf.matMul(x2 as never, w as never);
      return bias ? tf.add(y, bias) : y;
    };
    const heads = (x2: Tensor, n: number): Tensor => tf.transpose(tf.reshape(x2, [b, t, n, hd]), [0, 2, 1, 3]);
    const [cos, sin] = this.ropeTables(t);
    const rotary = (x: Tensor): Tensor => {
      const [x1, x2] = tf.split(x, 2, 3);
      return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin));
    };
    const repeatKv = (x: Tensor): Tensor =>
      // Head h reads key/value head floor(h / rep), as Hugging Face's repeat_kv. Rank 4 because
      // tfjs has no tile gradient for rank 5.
      rep === 1 ? x : tf.reshape(tf.tile(tf.reshape(x, [b * c.n_kv_heads, 1, t, hd]), [1, rep, 1, 1]), [b, c.n_heads, t, hd]);

    // A one-hot matMul rather than gather: gather's gradient needs UnsortedSegmentSum, which the
    // wasm backend lacks; with a small vocabulary the product costs nothing and is exact.
    const onehot = tf.cast(tf.oneHot(tf.reshape(ids, [b * t]) as never, c.vocab_size), 'float32');
    let h = tf.matMul(onehot as never, v.embed as never);
    for (let i = 0; i < c.n_layers; i++) {
      const p = `blocks.${i}.`;
      const a = this.rmsNorm(h, v[p + 'ln1.gamma']);
      const q = rotary(heads(linear(a, v[p + 'attn.wq'], v[p + 'attn.bq']), c.n_heads));
      const k = repeatKv(rotary(heads(linear(a, v[p + 'attn.wk'], v[p + 'attn.bk']), c.n_kv_heads)));
      const val = repeatKv(heads(linear(a, v[p + 'attn.wv'], v[p + 'attn.bv']), c.n_kv_heads));
      const scores = tf.add(tf.mul(tf.matMul(q as never, k as never, false, true), 1 / Math.sqrt(hd)), this.causalMask(t));
      const probs = drop(tf.softmax(scores), i, 0);
      const ctx = tf.reshape(tf.transpose(tf.matMul(probs as never, val as never), [0, 2, 1, 3]), [b * t, d]);
      h = tf.add(h, drop(linear(ctx, v[p + 'attn.wo']), i, 1));
      const m = this.rmsNorm(h, v[p + 'ln2.gamma']);
      const gate = linear(m, v[p + 'mlp.w_gate']);
      const ff = linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(m, v[p + 'mlp.w_up'])), v[p + 'mlp.w_down']);
      h = tf.add(h, drop(ff, i, 2));
    }
    h = this.rmsNorm(h, v['ln_f.gamma']);
    const logits = c.tie_embeddings ? tf.matMul(h as never, v.embed as never, false, true) : linear(h, v.head);
    return tf.reshape(logits, [b, t, c.vocab_size]);
  }

  /** Mean next-token cross-entropy of `x` → `y` (both int32 [B, T]). */
  loss(x: Tensor, y: Tensor, opts: ForwardOptions = {}): Tensor {
    const { tf } = this;
    const v = this.config.vocab_size;
    const logits = tf.reshape(this.logits(x, opts), [-1, v]);
    const logp = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(y, [-1]), v)), 1);
    return tf.neg(tf.mean(picked));
  }

  private rmsNorm(x: Tensor, gamma: Variable): Tensor {
    const tf = this.tf;
    const inv = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), this.config.rms_eps));
    return tf.mul(tf.mul(x, inv), gamma);
  }

  private causalMask(t: number): Tensor {
    let m = this.masks.get(t);
    if (!m) {
      const data = new Float32Array(t * t);
      for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) data[i * t + j] = -1e9;
      m = this.tf.keep(this.tf.tensor(data, [t, t], 'float32'));
      this.masks.set(t, m);
    }
    return m;
  }

  /** cos/sin of rotary embeddings, [T, head] each (halves duplicated, as Hugging Face's rotate_half expects). */
  private ropeTables(t: number): [Tensor, Tensor] {
    let r = this.rope.get(t);
    if (!r) {
      const hd = this.config.d_model / this.config.n_heads, half = hd / 2;
      const cos = new Float32Array(t * hd), sin = new Float32Array(t * hd);
      for (let pos = 0; pos < t; pos++) {
        for (let j = 0; j < half; j++) {
          const angle = pos / Math.pow(this.config.rope_theta, (2 * j) / hd);
          cos[pos * hd + j] = cos[pos * hd + j + half] = Math.cos(angle);
          sin[pos * hd + j] = sin[pos * hd + j + half] = Math.sin(angle);
        }
      }
      r = [this.tf.keep(this.tf.tensor(cos, [t, hd], 'float32')), this.tf.keep(this.tf.tensor(sin, [t, hd], 'float32'))];
      this.rope.set(t, r);
    }
    return r;
  }

  /** Frees the variables (unregistering their names) and cached constants. */
  dispose(): void {
    for (const v of Object.values(this.variables)) v.dispose();
    for (const m of this.masks.values()) m.dispose();
    for (const [c, s] of this.rope.values()) { c.dispose(); s.dispose(); }
    this.masks.clear();
    this.rope.clear();
  }
}
