// The optimizer side of the bridge: every slot AND every hidden counter of the
// tfjs optimizers, read and restored exactly.
//
// tfjs's own getWeights()/setWeights() are not enough for an exact resume:
// Adam's setWeights() recomputes accBeta1/2 as pow(beta, iter + 1) while a live
// Adam keeps a running float32 product (they differ by an ulp from step 2 on),
// and Adamax implements neither (its `iteration` and `accBeta1` are hidden
// float32 variables). So each optimizer is described here by its slot arrays
// and its counter variables, taken from tfjs-core 4.x's sources, and read or
// written directly. Slots are indexed by the position of their variable in the
// list given to minimize(), so that order is saved (`slot_order`) as file
// names of the variables, and replayed on restore.
import { errorFor, type CheckpointError } from '../errors.js';
import type { TensorLike, TensorMap } from '../types/tensor.js';
import type { Optimizer, Tensor, TfOps, Variable } from './tf.js';
import type { NamedVariable } from './variables.js';
import { snapshotTensor, toTfTensor } from './variables.js';

interface SlotField {
  /** The optimizer's array of { originalName, variable }. */
  field: string;
  /** Suffix tfjs appends to the variable name (`${name}/m`), and ours in files. */
  suffix: string;
}

interface OptimizerSpec {
  slots(opt: Record<string, unknown>): SlotField[];
  /** Scalar float32 Variables that carry state between steps. */
  counters: string[];
}

const fixed = (...s: [string, string][]) => () => s.map(([field, suffix]) => ({ field, suffix }));

/** Keyed by tfjs's `className` (what getClassName() returns). */
export const OPTIMIZER_SPECS: Readonly<Record<string, OptimizerSpec>> = {
  SGD: { slots: fixed(), counters: [] },
  Momentum: { slots: fixed(['accumulations', 'momentum']), counters: [] },
  Adagrad: { slots: fixed(['accumulatedGrads', 'accumulator']), counters: [] },
  Adadelta: { slots: fixed(['accumulatedGrads', 'accum_grad'], ['accumulatedUpdates', 'accum_var']), counters: [] },
  Adam: { slots: fixed(['accumulatedFirstMoment', 'm'], ['accumulatedSecondMoment', 'v']), counters: ['accBeta1', 'accBeta2'] },
  Adamax: { slots: fixed(['accumulatedFirstMoment', 'm'], ['accumulatedWeightedInfNorm', 'v']), counters: ['iteration', 'accBeta1'] },
  RMSProp: {
    slots: (o) => [
      { field: 'accumulatedMeanSquares', suffix: 'rms' },
      { field: 'accumulatedMoments', suffix: 'momentum' },
      ...(o.centered ? [{ field: 'accumulatedMeanGrads', suffix: 'mg' }] : []),
    ],
    counters: [],
  },
};

/** What trainer_state.json records about the optimizer (tensors go to optimizer.safetensors). */
export interface OptimizerState {
  /** tfjs class name: Adam, Adamax, SGD, Momentum, RMSProp, Adagrad, Adadelta. */
  name: string;
  /** getConfig(): learning rate, betas, … */
  config: Record<string, unknown>;
  /** optimizer.iterations. */
  iterations: number;
  /** Hidden float32 counters, exact (a float32 is exactly representable as a JSON number). */
  counters: Record<string, number>;
  /** Slot suffixes, in the optimizer's order (e.g. ['m', 'v']). */
  slot_kinds: string[];
  /** File names of the variables, in slot-index order (the order minimize() saw them). */
  slot_order: string[];
}

interface SlotEntry {
  originalName: string;
  variable: Variable;
}

type OptimizerInternals = Record<string, unknown> & { iterations_?: number; getClassName(): string };

function internals(opt: Optimizer): OptimizerInternals {
  return opt as unknown as OptimizerInternals;
}

/** The spec of `opt`, or UNSUPPORTED naming what is supported. */
export function optimizerSpec(opt: Optimizer): { name: string; spec: OptimizerSpec } {
  const o = internals(opt);
  const name = typeof o.getClassName === 'function' ? o.getClassName() : String((opt as { constructor?: { name?: string } }).constructor?.name);
  const spec = OPTIMIZER_SPECS[name];
  if (!spec) {
    throw errorFor('UNSUPPORTED', `optimizer '${name}' is not supported for exact checkpoints; supported: ${Object.keys(OPTIMIZER_SPECS).join(', ')}`, {
      detail: 'OPTIMIZER',
    });
  }
  for (const { field } of spec.slots(o)) {
    if (!Array.isArray(o[field])) throw internalsChanged(name, field);
  }
  for (const c of spec.counters) {
    if (typeof (o[c] as Variable | undefined)?.dataSync !== 'function') throw internalsChanged(name, c);
  }
  return { name, spec };
}

function internalsChanged(name: string, field: string): CheckpointError {
  return errorFor('UNSUPPORTED', `optimizer '${name}' has no '${field}': this TensorFlow.js version lays out its state differently from the 4.x sources safeckpt knows`, {
    detail: 'OPTIMIZER_INTERNALS',
  });
}

/**
 * A snapshot of the optimizer: its scalars (for trainer_state.json) and its slots as a TensorMap
 * named `${variable file name}/${kind}` (for optimizer.safetensors). Values are copies.
 */
export function snapshotOptimizer(opt: Optimizer, vars: NamedVariable[], take: (t: Tensor, name: string) => TensorLike = snapshotTensor): { state: OptimizerState; slots: TensorMap } {
  const { name, spec } = optimizerSpec(opt);
  const o = internals(opt);
  const byTfName = new Map(vars.map((v) => [v.variable.name, v.name]));
  const kinds = spec.slots(o);
  const counters: Record<string, number> = {};
  for (const c of spec.counters) counters[c] = (o[c] as Variable).dataSync()[0];
  const slots: TensorMap = {};
  let order: string[] | undefined;
  for (const { field, suffix } of kinds) {
    const entries = o[field] as (SlotEntry | undefined)[];
    const names: string[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (!e) throw errorFor('UNSUPPORTED', `optimizer '${name}' has no '${suffix}' slot at position ${i} (a variable was skipped in minimize()); pass the same variable list at every step`, { detail: 'OPTIMIZER_SLOTS' });
      const tfName = e.originalName.endsWith('/' + suffix) ? e.originalName.slice(0, -suffix.length - 1) : e.originalName;
      const file = byTfName.get(tfName);
      if (file === undefined) {
        throw errorFor('SHAPE_MISMATCH', `optimizer '${name}' holds a '${suffix}' slot for tfjs variable '${tfName}', which is not a variable of the model being saved`, {
          detail: 'OPTIMIZER_SLOTS', tensor: tfName,
        });
      }
      names.push(file);
      slots[`${file}/${suffix}`] = take(e.variable, `${file}/${suffix}`);
    }
    if (order && (order.length !== names.length || order.some((n, i) => n !== names[i]))) {
      throw errorFor('UNSUPPORTED', `optimizer '${name}': its slot arrays disagree on the variable order`, { detail: 'OPTIMIZER_SLOTS' });
    }
    order = names;
  }
  const iterations = typeof o.iterations_ === 'number' ? o.iterations_ : 0;
  const config = typeof (opt as { getConfig?: () => unknown }).getConfig === 'function' ? (opt.getConfig() as Record<string, unknown>) : {};
  return {
    state: { name, config: { ...config }, iterations, counters, slot_kinds: kinds.map((k) => k.suffix), slot_order: order ?? [] },
    slots,
  };
}

/** { dtype, shape } of every slot tensor the saved state implies, given the live variables. */
export function optimizerSignature(state: OptimizerState, vars: NamedVariable[]): Record<string, { dtype: 'F32'; shape: number[] }> {
  const byName = new Map(vars.map((v) => [v.name, v.variable]));
  const out: Record<string, { dtype: 'F32'; shape: number[] }> = {};
  for (const n of state.slot_order) {
    const v = byName.get(n);
    for (const k of state.slot_kinds) out[`${n}/${k}`] = { dtype: 'F32', shape: v ? [...v.shape] : [] };
  }
  return out;
}

/** A validated restore: `commit()` applies it and cannot fail on input; `abort()` frees what it prepared. */
export interface RestorePlan {
  commit(): void;
  abort(): void;
}

/**
 * Checks that `state` fits `opt` (same class, same slot kinds, every slot variable in the model)
 * and prepares every tensor. Nothing about `opt` changes before `commit()`.
 */
export function planOptimizerRestore(tf: TfOps, opt: Optimizer, vars: NamedVariable[], state: OptimizerState, slots: TensorMap, where: string): RestorePlan {
  const { name, spec } = optimizerSpec(opt);
  const o = internals(opt);
  if (name !== state.name) {
    throw errorFor('ARCH_MISMATCH', `${where} holds the state of a ${state.name} optimizer, but the optimizer given is ${name}: create tf.train.${state.name.toLowerCase()}(…) with the saved config ${JSON.stringify(state.config)}`, {
      detail: 'OPTIMIZER_MISMATCH', path: where, data: { expected: state.name, found: name },
    });
  }
  const kinds = spec.slots(o);
  const liveKinds = kinds.map((k) => k.suffix);
  if (liveKinds.join(',') !== state.slot_kinds.join(',')) {
    throw errorFor('ARCH_MISMATCH', `${where}: the ${name} optimizer was saved with slots [${state.slot_kinds.join(', ')}] but the optimizer given keeps [${liveKinds.join(', ')}] (e.g. RMSProp 'centered' differs): create it with the saved config ${JSON.stringify(state.config)}`, {
      detail: 'OPTIMIZER_MISMATCH', path: where,
    });
  }
  const byName = new Map(vars.map((v) => [v.name, v.variable]));
  const missing = state.slot_order.filter((n) => !byName.has(n));
  if (missing.length) {
    throw errorFor('SHAPE_MISMATCH', `${where}: optimizer slots refer to variables the model does not have: ${missing.join(', ')}`, {
      detail: 'OPTIMIZER_SLOTS', path: where, data: { missing },
    });
  }
  for (const c of spec.counters) {
    if (typeof state.counters[c] !== 'number' || !Number.isFinite(state.counters[c])) {
      throw errorFor('CORRUPT', `${where}: the ${name} optimizer state lacks its '${c}' counter (needed for an exact resume)`, { detail: 'OPTIMIZER_STATE', path: where });
    }
  }
  if (!Number.isSafeInteger(state.iterations) || state.iterations < 0) {
    throw errorFor('CORRUPT', `${where}: optimizer iterations must be a non-negative integer, found ${String(state.iterations)}`, { detail: 'OPTIMIZER_STATE', path: where });
  }
  // Every new tensor is made before anything is touched; on failure they are freed and the optimizer is as it was.
  const made: Tensor[] = [];
  const fresh: Record<string, SlotEntry[]> = {};
  try {
    for (const { field, suffix } of kinds) {
      fresh[field] = state.slot_order.map((n) => {
        const key = `${n}/${suffix}`;
        const t = slots[key];
        if (!t) throw errorFor('SHAPE_MISMATCH', `${where}: optimizer slot '${key}' is missing`, { tensor: key, path: where });
        const live = byName.get(n)!;
        if (t.shape.length !== live.shape.length || t.shape.some((d, i) => d !== live.shape[i])) {
          throw errorFor('SHAPE_MISMATCH', `${where}: optimizer slot '${key}' has shape [${t.shape.join(', ')}], its variable has [${live.shape.join(', ')}]`, {
            tensor: key, path: where,
          });
        }
        const tensor = toTfTensor(tf, t, 'float32', key);
        made.push(tensor);
        const variable = tf.variable(tensor, false, undefined, 'float32');
        made.push(variable);
        return { originalName: `${live.name}/${suffix}`, variable };
      });
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  const counterTensors = spec.counters.map((c) => tf.scalar(state.counters[c], 'float32'));
  return {
    commit() {
      for (const { field } of kinds) {
        for (const e of o[field] as (SlotEntry | undefined)[]) e?.variable.dispose();
        o[field] = fresh[field];
      }
      spec.counters.forEach((c, i) => (o[c] as Variable).assign(counterTensors[i]));
      o.iterations_ = state.iterations;
      // The variables hold their own references: the initial tensors can go.
      for (let i = 0; i < made.length; i += 2) made[i].dispose();
      for (const t of counterTensors) t.dispose();
    },
    abort() {
      for (const t of made) t.dispose();
      for (const t of counterTensors) t.dispose();
    },
  };
}
