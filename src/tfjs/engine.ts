// Finding TensorFlow.js from the model, so loading needs no `tf` option.
//
// Restoring needs three tf functions (tensor, variable, scalar). They come, in
// order, from the `tf` option, from the model (a { variables, tf } model), or
// from the engine the model's variables live in: every copy of tfjs-core in a
// realm shares one engine on the global object (`_tfengine`, tfjs-core's
// getOrMakeEngine), and `tf.tensor` / `tf.variable` are thin wrappers over its
// makeTensor / makeVariable. The engine is used only when it is provably the
// model's: the model's first variable must be the one registered there under
// its name. Otherwise the error names the option.
import { UnsupportedError } from '../errors.js';
import type { Tf, TfOps, Variable } from './tf.js';

interface EngineLike {
  makeTensor(values: unknown, shape: number[], dtype: string): ReturnType<Tf['tensor']>;
  makeVariable(initial: unknown, trainable?: boolean, name?: string, dtype?: string): Variable;
  readonly registeredVariables: Record<string, Variable>;
}

function globalEngine(): EngineLike | null {
  const e = (globalThis as { _tfengine?: Partial<EngineLike> })._tfengine;
  return e && typeof e.makeTensor === 'function' && typeof e.makeVariable === 'function' && typeof e.registeredVariables === 'object'
    ? (e as EngineLike) : null;
}

/** tf functions backed by the engine `variables` live in, or null when that engine cannot be found. */
export function opsFromEngine(variables: readonly Variable[]): TfOps | null {
  const engine = globalEngine();
  if (!engine) return null;
  if (variables.length && engine.registeredVariables[variables[0].name] !== variables[0]) return null;
  return {
    tensor: ((values: unknown, shape?: number[], dtype?: string) => engine.makeTensor(values, shape ?? [], dtype ?? 'float32')) as unknown as Tf['tensor'],
    variable: ((initial: unknown, trainable?: boolean, name?: string, dtype?: string) => engine.makeVariable(initial, trainable, name, dtype)) as unknown as Tf['variable'],
    scalar: ((value: number, dtype?: string) => engine.makeTensor(dtype === 'int32' ? new Int32Array([value]) : new Float32Array([value]), [], dtype ?? 'float32')) as unknown as Tf['scalar'],
  };
}

/** The tf functions to restore with: the option, the model's own `tf`, or the model's engine. */
export function tfOpsFor(given: TfOps | undefined, model: unknown, variables: readonly Variable[]): TfOps {
  const own = (model as { tf?: Tf } | undefined)?.tf;
  const ops = given ?? own ?? opsFromEngine(variables);
  if (!ops) {
    throw new UnsupportedError('restoring into this model needs TensorFlow.js, and it could not be found from the model: pass your `tf` namespace in the `tf` option', { detail: 'NO_TF' });
  }
  return ops;
}
