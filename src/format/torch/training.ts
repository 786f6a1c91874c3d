// A whole torch training checkpoint ({model, optimizer, step, config, vocab, …})
// → a plain description shaped like safeckpt's own training state: the model's
// weights by name, and the optimizer as the tfjs bridge records it
// (OptimizerState: name, config, iterations, counters, slot_kinds, slot_order)
// plus its slot tensors named `${param}/${kind}`. Only where the algorithms are
// the same update rule: torch Adam/AdamW without weight decay → tfjs Adam;
// torch SGD (dampening 0, no weight decay) → tfjs SGD or Momentum. Anything
// else is UNSUPPORTED naming what differs.
import { CompatibilityError, CorruptError, UnsupportedError } from '../../errors.js';
import { TorchTensor } from './tensor.js';
import { WEIGHT_KEYS } from './convert.js';

/** A torch Adam/AdamW or SGD state mapped onto the tfjs optimizer's slots and counters. */
export interface TorchOptimizerState {
  /** The tfjs optimizer this state restores into: 'Adam', 'SGD' or 'Momentum'. */
  name: 'Adam' | 'SGD' | 'Momentum';
  /** tfjs getConfig() names: Adam {learningRate, beta1, beta2, epsilon}; Momentum {learningRate, momentum, useNesterov}; SGD {learningRate}. */
  config: Record<string, number | boolean>;
  /** optimizer.iterations: torch's per-parameter `step`. */
  iterations: number;
  /** Hidden tfjs counters. Adam: accBeta1/accBeta2 as the float32 running products a live tfjs Adam holds after `iterations` steps. */
  counters: Record<string, number>;
  /** Slot kinds in tfjs order: Adam ['m', 'v'], Momentum ['momentum'], SGD []. */
  slot_kinds: string[];
  /** Parameter names (the model's state-dict names) in torch's parameter order. */
  slot_order: string[];
  /** `${param}/${kind}` → tensor: torch exp_avg → m, exp_avg_sq → v, momentum_buffer → momentum. */
  slots: Record<string, TorchTensor>;
  /** What torch recorded, for the record: param_groups without their `params` lists. */
  torch: { algorithm: string; param_groups: Record<string, unknown>[] };
}

/** A torch training checkpoint's model weights and optimizer state, ready to restore into tfjs. */
export interface TorchTrainingState {
  /** The model's state dict (parameters and buffers), by name. */
  weights: Record<string, TorchTensor>;
  /** Which top-level key held them. */
  weightsKey: string;
  optimizer: TorchOptimizerState | null;
  step: number | null;
  config: unknown;
  vocab: unknown;
  /** Every other top-level entry (lr_scheduler, rng states, epoch, …) as read. */
  extra: Record<string, unknown>;
}

/** Options of torchCheckpointToTrainingState: parameter order, and whether to carry moments across a weight-decay difference. */
export interface TrainingStateOptions {
  /** Parameter names in torch's order, when the state dict's own order cannot tell parameters from buffers. */
  paramNames?: string[];
  /** Carry the moments of an optimizer with weight decay into tfjs Adam/SGD anyway (the update rule then differs). */
  ignoreWeightDecay?: boolean;
}

/** Buffers torch modules register (not parameters, so not in the optimizer's list). */
const BUFFER_SUFFIXES = ['running_mean', 'running_var', 'num_batches_tracked'];

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof TorchTensor);

function scalar(v: unknown, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof TorchTensor && v.numel === 1) return v.toFloat32()[0];
  throw new CorruptError(`${what} is a ${v === null ? 'None' : typeof v}, not a number`, { detail: 'TRAINING_STATE' });
}

/** tfjs Adam keeps accBeta = beta^(t+1) as a running float32 product (see TOOLCHAIN.md): reproduce it bit for bit. */
function accBeta(beta: number, t: number): number {
  const b = Math.fround(beta);
  let a = b;
  for (let i = 0; i < t; i++) a = Math.fround(a * b);
  return a;
}

/** Maps a torch training checkpoint (model state dict + Adam/AdamW/SGD state) onto tfjs weights and optimizer slots. */
export function torchCheckpointToTrainingState(value: unknown, opts: TrainingStateOptions = {}): TorchTrainingState {
  if (!isObj(value)) throw new UnsupportedError('a torch training checkpoint is a dict ({model, optimizer, …}); this file holds something else', { detail: 'TRAINING_STATE' });
  const weightsKey = WEIGHT_KEYS.find((k) => isObj(value[k]) && Object.values(value[k] as object).some((t) => t instanceof TorchTensor));
  if (!weightsKey) throw new UnsupportedError(`no model weights under ${WEIGHT_KEYS.join(' / ')}; top-level keys: ${Object.keys(value).join(', ')}`, { detail: 'TRAINING_STATE' });
  const weights: Record<string, TorchTensor> = {};
  for (const [k, t] of Object.entries(value[weightsKey] as object)) if (t instanceof TorchTensor) weights[k] = t;
  const optKey = ['optimizer', 'optimizer_state_dict', 'optim', 'opt'].find((k) => isObj(value[k]));
  const optimizer = optKey ? mapOptimizer(value[optKey] as Record<string, unknown>, weights, opts) : null;
  const stepRaw = value.step ?? value.global_step ?? value.iteration ?? null;
  const known = new Set([weightsKey, optKey, 'step', 'global_step', 'iteration', 'config', 'vocab']);
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(value)) if (!known.has(k)) extra[k] = value[k];
  return {
    weights, weightsKey, optimizer,
    step: stepRaw === null ? null : scalar(stepRaw, 'step'),
    config: value.config ?? null,
    vocab: value.vocab ?? null,
    extra,
  };
}

function mapOptimizer(sd: Record<string, unknown>, weights: Record<string, TorchTensor>, opts: TrainingStateOptions): TorchOptimizerState {
  const groups = sd.param_groups;
  const state = sd.state;
  if (!Array.isArray(groups) || !groups.every(isObj) || !isObj(state)) {
    throw new CorruptError('optimizer state dict lacks param_groups (a list of dicts) and state (a dict)', { detail: 'TRAINING_STATE' });
  }
  if (groups.length !== 1) throw new UnsupportedError(`${groups.length} parameter groups: a tfjs optimizer has one set of hyperparameters`, { detail: 'OPTIMIZER' });
  const g = groups[0] as Record<string, unknown>;
  const ids = g.params;
  if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'number')) throw new CorruptError('param_groups[0].params is not a list of ints', { detail: 'TRAINING_STATE' });
  const names = opts.paramNames ?? Object.keys(weights).filter((n) => !BUFFER_SUFFIXES.some((s) => n === s || n.endsWith('.' + s)));
  if (names.length !== ids.length) {
    throw new CompatibilityError('SHAPE_MISMATCH', `the optimizer has ${ids.length} parameters but the model ${names.length} (${names.join(', ')}); pass paramNames in torch's parameter order`, { detail: 'OPTIMIZER' });
  }
  const per = ids.map((id, i) => ({ name: names[i], st: (state as Record<string, unknown>)[String(id)] as Record<string, unknown> | undefined }));
  const kinds = new Set(per.flatMap((p) => (p.st ? Object.keys(p.st) : [])));
  const wd = Number(g.weight_decay ?? 0);
  const lr = scalar(g.lr, 'lr');
  const mismatches: string[] = [];
  const check = (slot: string, t: unknown, name: string) => {
    if (!(t instanceof TorchTensor)) throw new CorruptError(`optimizer state '${slot}' of ${name} is not a tensor`, { detail: 'TRAINING_STATE' });
    const w = weights[name];
    if (t.shape.join(',') !== w.shape.join(',')) mismatches.push(`${name}/${slot}: [${t.shape.join(', ')}] vs parameter [${w.shape.join(', ')}]`);
    return t;
  };
  const noDecay = (algo: string) => {
    if (wd !== 0 && !opts.ignoreWeightDecay) {
      throw new UnsupportedError(`${algo} with weight_decay ${wd}: tfjs has no weight decay, so resuming there changes the update rule; pass ignoreWeightDecay to carry the moments anyway`, { detail: 'OPTIMIZER' });
    }
  };
  const torchRecord = { param_groups: groups.map((x) => Object.fromEntries(Object.entries(x as object).filter(([k]) => k !== 'params'))) };

  if (kinds.has('exp_avg') || kinds.has('exp_avg_sq')) {
    const algo = wd !== 0 ? 'Adam/AdamW' : 'Adam';
    if (kinds.has('max_exp_avg_sq') || g.amsgrad === true) throw new UnsupportedError('AMSGrad has no tfjs equivalent', { detail: 'OPTIMIZER' });
    if (g.maximize === true) throw new UnsupportedError('maximize=True has no tfjs equivalent', { detail: 'OPTIMIZER' });
    noDecay(algo);
    const betas = g.betas as unknown[];
    if (!Array.isArray(betas) || betas.length !== 2) throw new CorruptError('Adam param group without betas', { detail: 'TRAINING_STATE' });
    const slots: Record<string, TorchTensor> = {};
    let steps: number | null = null;
    for (const { name, st } of per) {
      if (!st) throw new UnsupportedError(`no optimizer state for ${name}: the optimizer has not stepped for it; tfjs keeps one step count for all`, { detail: 'OPTIMIZER' });
      slots[`${name}/m`] = check('exp_avg', st.exp_avg, name);
      slots[`${name}/v`] = check('exp_avg_sq', st.exp_avg_sq, name);
      const s = scalar(st.step, `step of ${name}`);
      if (steps !== null && s !== steps) throw new UnsupportedError(`parameters were stepped different numbers of times (${steps} and ${s}); tfjs keeps one count`, { detail: 'OPTIMIZER' });
      steps = s;
    }
    if (mismatches.length) throw new CompatibilityError('SHAPE_MISMATCH', `optimizer slots do not fit the parameters: ${mismatches.join('; ')}`, { data: mismatches });
    const t = steps ?? 0;
    const [b1, b2] = [scalar(betas[0], 'beta1'), scalar(betas[1], 'beta2')];
    return {
      name: 'Adam',
      config: { learningRate: lr, beta1: b1, beta2: b2, epsilon: scalar(g.eps, 'eps') },
      iterations: t,
      counters: { accBeta1: accBeta(b1, t), accBeta2: accBeta(b2, t) },
      slot_kinds: ['m', 'v'],
      slot_order: names,
      slots,
      torch: { algorithm: algo, ...torchRecord },
    };
  }
  if (kinds.size === 0 || kinds.has('momentum_buffer')) {
    if (!('momentum' in g)) throw new UnsupportedError(`optimizer with state ${[...kinds].join(', ') || '(none)'} and hyperparameters ${Object.keys(g).join(', ')} is not one tfjs has`, { detail: 'OPTIMIZER' });
    noDecay('SGD');
    const momentum = scalar(g.momentum, 'momentum');
    if (momentum !== 0 && Number(g.dampening ?? 0) !== 0) throw new UnsupportedError(`SGD with dampening ${String(g.dampening)} has no tfjs equivalent`, { detail: 'OPTIMIZER' });
    if (momentum === 0) {
      return { name: 'SGD', config: { learningRate: lr }, iterations: 0, counters: {}, slot_kinds: [], slot_order: names, slots: {}, torch: { algorithm: 'SGD', ...torchRecord } };
    }
    const slots: Record<string, TorchTensor> = {};
    for (const { name, st } of per) {
      if (!st) throw new UnsupportedError(`no momentum buffer for ${name} yet`, { detail: 'OPTIMIZER' });
      slots[`${name}/momentum`] = check('momentum_buffer', st.momentum_buffer, name);
    }
    if (mismatches.length) throw new CompatibilityError('SHAPE_MISMATCH', `optimizer slots do not fit the parameters: ${mismatches.join('; ')}`, { data: mismatches });
    return {
      name: 'Momentum',
      config: { learningRate: lr, momentum, useNesterov: g.nesterov === true },
      iterations: 0, counters: {}, slot_kinds: ['momentum'], slot_order: names, slots,
      torch: { algorithm: 'SGD', ...torchRecord },
    };
  }
  throw new UnsupportedError(
    `optimizer state with ${[...kinds].join(', ')} (${kinds.has('square_avg') ? 'RMSprop' : kinds.has('sum') ? 'Adagrad' : kinds.has('exp_inf') ? 'Adamax' : 'unknown'}): ` +
      'tfjs computes that update differently (epsilon placement), so the state would not resume the same run',
    { detail: 'OPTIMIZER' },
  );
}
