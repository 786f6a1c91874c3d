// The project's own transformer: the checkpoint holds the model's variables
// under their own names and layout, so the adapter is the identity.
import type { TensorMap, TensorLike } from '../../types/tensor.js';
import type { ArchitectureAdapter } from './adapter.js';

/** The identity adapter (`custom-transformer`): the file holds the model's variables under their own names. */
export const customTransformerAdapter: ArchitectureAdapter = {
  architecture_type: 'custom-transformer',
  description: "safeckpt's TinyLM under its own parameter names (TinyLM.create(tf, config))",
  toFile: (model: TensorMap) => model,
  fromFile: (file: Readonly<Record<string, TensorLike>>) => ({ ...file }),
};
