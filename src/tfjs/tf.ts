// The TensorFlow.js types the bridge works with. TensorFlow.js is a peer
// dependency: these are type-only imports (erased from dist/), and every
// function that must create tensors takes the caller's own `tf` namespace, so
// a single TensorFlow.js instance (and its one global engine) is ever used.
import type * as tfc from '@tensorflow/tfjs-core';

/** TensorFlow.js as safeckpt uses it: the caller's own `tf` (a peer dependency, never bundled). */
export type Tf = typeof tfc;
export type Tensor = tfc.Tensor;
export type Variable = tfc.Variable;
export type Optimizer = tfc.Optimizer;

/** The few tf functions the bridge needs to make tensors: `tf` itself, or one found from the model's engine. */
export type TfOps = Pick<Tf, 'tensor' | 'variable' | 'scalar'>;

/** One weight of a tfjs-layers LayersModel (`model.weights[i]`): read() gives its Variable. */
export interface LayerVariableLike {
  readonly name: string;
  /** The name before tfjs made it unique in the process (`head/kernel`, never `head/kernel_1`). */
  readonly originalName?: string;
  readonly shape: number[];
  readonly dtype: string;
  read(): Variable;
  write(t: Tensor): unknown;
}

/** A tfjs-layers Layer, structurally: a nested model has `layers`. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  readonly weights: LayerVariableLike[];
  readonly layers?: LayerLike[];
}

/** A tfjs-layers LayersModel, structurally (tfjs-layers itself is not a dependency). */
export interface LayersModelLike {
  readonly weights: LayerVariableLike[];
  readonly trainableWeights?: LayerVariableLike[];
  /** Present on real LayersModels (Sequential, functional): names then follow the layers, not tfjs's counters. */
  readonly layers?: LayerLike[];
  readonly name?: string;
  getClassName?(): string;
  /** Set by compile(). */
  readonly optimizer?: Optimizer;
}

/** A model that owns named variables and says what it is (the project's TinyLM is one). */
export interface VariableModel {
  readonly variables: Readonly<Record<string, Variable>>;
  /** The caller's tf namespace, so loading needs no separate `tf` option. */
  readonly tf?: Tf;
  /** e.g. 'custom-transformer', 'qwen'. */
  readonly architecture_type?: string;
  /** Architecture parameters (n_layers, d_model, …) checked against the checkpoint's. */
  readonly architecture?: Readonly<Record<string, unknown>>;
}

/** What save/load accept as "the model". */
export type ModelLike = LayersModelLike | VariableModel | Readonly<Record<string, Variable>>;
