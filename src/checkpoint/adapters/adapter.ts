// Architecture adapters: how a checkpoint's tensors (names and layout, e.g.
// Hugging Face's) map onto the tfjs model's variables, chosen by the
// checkpoint's architecture_type. An adapter is a small object; callers add
// their own through the `adapters` option of save/load (no global registry).
import { errorFor } from '../../errors.js';
import { dtypeBits } from '../../types/dtype.js';
import type { TensorData, TensorLike, TensorMap } from '../../types/tensor.js';
import { tensorBytes } from '../../tfjs/variables.js';

/** Maps a model's own tensor names and layouts to a checkpoint file's and back, by `architecture_type`. */
export interface ArchitectureAdapter {
  /** The architecture_type it handles ('custom-transformer', 'qwen', …). */
  readonly architecture_type: string;
  /** One line for messages: what this architecture is and how to build a model for it. */
  readonly description: string;
  /** The model's tensors (its own names, tfjs layout) → the checkpoint's names and layout. */
  toFile(model: TensorMap): TensorMap;
  /**
   * The checkpoint's tensors → the model's names and layout. Names it does not know are returned
   * unchanged, so the shape check lists them as unexpected.
   */
  fromFile(file: Readonly<Record<string, TensorLike>>, model: ReadonlySet<string>): TensorMap;
  /** `__metadata__` to write into model.safetensors (e.g. { format: 'pt' } for transformers). */
  fileMetadata?(): Record<string, string>;
  /** Hugging Face config.json `model_type`s it maps (e.g. ['qwen2']): loadWeights picks it for such a folder. */
  readonly hf_model_types?: readonly string[];
  /**
   * The differences between a Hugging Face config.json and the model given (empty when it fits):
   * what the shapes cannot show (norm epsilon, rope theta, …). Any difference is ARCH_MISMATCH.
   */
  checkConfig?(config: Readonly<Record<string, unknown>>, model: import('../../tfjs/tf.js').ModelLike): string[];
}

/** A 2-D tensor transposed ([a, b] → [b, a]), element by element whatever the dtype's width. */
export function transpose2d(t: TensorLike, name: string): TensorData {
  if (t.shape.length !== 2) {
    throw errorFor('SHAPE_MISMATCH', `tensor '${name}' should be 2-D (a linear layer's weight) but has shape [${t.shape.join(', ')}]`, { tensor: name });
  }
  const bits = dtypeBits(t.dtype);
  if (bits % 8 !== 0) throw errorFor('UNSUPPORTED', `tensor '${name}': ${t.dtype} packs several elements per byte and cannot be transposed`, { tensor: name, detail: 'DTYPE' });
  const [rows, cols] = t.shape, w = bits / 8;
  const src = tensorBytes(t);
  const out = new Uint8Array(src.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const from = (r * cols + c) * w, to = (c * rows + r) * w;
      for (let k = 0; k < w; k++) out[to + k] = src[from + k];
    }
  }
  return { dtype: t.dtype, shape: [cols, rows], data: out };
}
