// loadCheckpoint: restore a checkpoint into a live model and optimizer, all
// or nothing. Everything is checked first — integrity (and HMAC), format
// version, architecture, the shape and dtype of every parameter and every
// optimizer slot (all mismatches in one error) — and every tensor is
// prepared; only then is a single variable written. On any failure the model
// and optimizer are exactly as they were.
import { CheckpointError, UnsupportedError, errorFor } from '../errors.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { joinKey, baseOf } from '../store/keys.js';
import type { MacKey } from '../format/signed-json.js';
import type { PublicKeyInput } from '../format/signature.js';
import { publicKeyCheck } from '../format/public-key-check.js';
import type { TensorLike, TensorView } from '../types/tensor.js';
import type { Dtype } from '../types/dtype.js';
import type { ModelLike, Optimizer, TfOps, VariableModel } from '../tfjs/tf.js';
import { tfOpsFor } from '../tfjs/engine.js';
import { hasLayers, legacyRenames } from '../tfjs/names.js';
import { renameOptimizerState, renameTensors, warnLegacy } from './legacy-names.js';
import { loadableInto, modelSignature, namedVariables, planModelRestore, type NamedVariable } from '../tfjs/variables.js';
import { optimizerSignature, planOptimizerRestore, type OptimizerState, type RestorePlan } from '../tfjs/optimizer-state.js';
import { adapterOrIdentity } from './adapters/index.js';
import type { ArchitectureAdapter } from './adapters/adapter.js';
import { MODEL_FILE, OPTIMIZER_FILE } from './layout.js';
import { architectureDifferences, type Lineage, type ModelMetadata } from './metadata.js';
import { checkShapes, type TensorSpecs } from '../core/shapes.js';
import type { SafetensorsFile } from '../format/safetensors-read.js';
import { locateCheckpoint, readCheckpointDir, type CheckpointContents } from './read.js';
import { throwIfAborted, underSignal, type OperationOptions } from '../types/operation.js';

/** Options of loadCheckpoint: the model and optimizer to restore in place, the HMAC key, adapters, a logger. */
export interface LoadOptions extends OperationOptions {
  /** The model to restore into (a LayersModel, a { variables } model, or a record of tf.Variables). */
  model?: ModelLike;
  /** The optimizer to restore into: it must be of the saved class (its config may differ, with a warning). */
  optimizer?: Optimizer | null;
  /** The caller's tf namespace; rarely needed: by default `model.tf`, else the engine the model's variables live in. */
  tf?: TfOps;
  /** HMAC key: the manifest must be signed with it (AUTH otherwise). */
  key?: MacKey;
  /**
   * Ed25519 public key (PEM, JWK or CryptoKey), as verify takes it: the manifest must carry a valid signature
   * by it (AUTH otherwise), checked before any file is read, so nothing is restored from an unsigned checkpoint.
   */
  publicKey?: PublicKeyInput;
  /** Force this adapter instead of the one the checkpoint's architecture_type selects. */
  adapter?: ArchitectureAdapter;
  /** Adapters beyond the built-in ones. */
  adapters?: readonly ArchitectureAdapter[];
  /** What the caller's model is, when the model object does not say (plain records of variables). */
  expect?: { architecture_type?: string; model_id?: string };
  logger?: Logger | null;
  /**
   * A checkpoint written by several writers: restore only this rank's part (its variables and optimizer
   * slots, its trainer state) into a model holding that rank's variables. Default: the union of all parts,
   * with rank 0's trainer state. Ignored for a checkpoint of one writer.
   */
  rank?: number;
}

/** What a load restored and read: path, step, training config, vocabulary, RNG state, data cursor, model metadata, lineage. */
export interface LoadedCheckpoint {
  /** The checkpoint folder, for people. */
  path: string;
  /** Its name, e.g. 'step-00000020'. */
  name: string;
  step: number;
  created_at: string;
  config: Record<string, unknown>;
  vocab: unknown;
  rng: unknown;
  dataCursor: unknown;
  extra: unknown;
  metadata: ModelMetadata;
  lineage: Lineage;
  metrics: Record<string, number>;
  /** The optimizer's saved name, config, iterations and counters (null when saved without one). */
  optimizer: OptimizerState | null;
  /** The format_version on disk (older ones are migrated). */
  format_version: number;
  /** The model file's tensors, under the checkpoint's names (views over the verified bytes). */
  tensors: Readonly<Record<string, TensorView>>;
}

type Spec = { dtype?: Dtype; shape: readonly number[] };

/**
 * What the shape check compares against: the file's own header when `tensors`
 * are exactly the file's (no adapter renamed or converted them) — a table the
 * core matches on without encoding it — otherwise a record of their specs.
 */
function specsOf(tensors: Readonly<Record<string, TensorLike>>, file: SafetensorsFile | null): TensorSpecs {
  const names = Object.keys(tensors);
  const own = file?.tensors;
  if (file && own && names.length === file.names.length && names.every((n) => tensors[n] === own[n])) return file.header;
  const out: Record<string, Spec> = {};
  for (const n of names) out[n] = { dtype: tensors[n].dtype, shape: tensors[n].shape };
  return out;
}

/**
 * Every tensor of `found` against `expected` (all mismatches in one error, from the core's shape
 * check), phrased for a checkpoint: which part, and that nothing was loaded.
 */
function checkFits(expected: Record<string, Spec>, found: TensorSpecs, what: string, where: string, hint?: string): void {
  try {
    checkShapes(expected, found, { path: where });
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw errorFor(e.code, `${e.message}. The ${what} does not fit the model given; nothing was loaded. ` +
      (hint ?? 'Build the model the checkpoint was saved from (`safeckpt inspect` shows its tensors and architecture).'), {
      path: where, tensor: e.tensor, data: e.data, detail: e.detail, cause: e,
    });
  }
}

function archMismatch(c: CheckpointContents, message: string, data: unknown): CheckpointError {
  return errorFor('ARCH_MISMATCH', message, { path: c.path, data });
}

/** A model's weights checked against a file's tensors, ready to assign. */
export interface PreparedWeights {
  vars: NamedVariable[];
  tf: TfOps;
  /** The file's tensors under the model's names (after the adapter and any legacy renaming). */
  weights: Record<string, TensorLike>;
  /** Old tfjs names → stable names, when the file predates stable names. */
  legacy: Map<string, string> | null;
  /** Makes every tensor (nothing is assigned until the plan's commit()). */
  plan(): RestorePlan;
}

/**
 * Maps `tensors` (a file's, under its names) onto `model` through `adapter`, renames legacy tfjs
 * names (WARN), and checks every shape and dtype at once (SHAPE_MISMATCH / DTYPE_MISMATCH listing all
 * mismatches). Throws before anything is made or changed. Shared by checkpoints and loadWeights.
 */
export function prepareWeights(model: ModelLike, tensors: Readonly<Record<string, TensorLike>>, file: SafetensorsFile | null, adapter: ArchitectureAdapter,
  opts: { tf?: TfOps; where: string; log: Logger; what?: string; hint?: string }): PreparedWeights {
  const vars = namedVariables(model);
  const tf = tfOpsFor(opts.tf, model, vars.map((v) => v.variable));
  let weights: Record<string, TensorLike> = adapter.fromFile(tensors, new Set(vars.map((v) => v.name)));
  const legacy = hasLayers(model) ? legacyRenames(model, Object.keys(weights)) : null;
  if (legacy) {
    weights = renameTensors(weights, legacy);
    warnLegacy(opts.log, opts.where, legacy);
  }
  // A float tensor loads into a float32 variable (BF16, F16… are converted exactly): its dtype is then no mismatch.
  const expected: Record<string, Spec> = {};
  const byName = new Map(vars.map((v) => [v.name, v.variable]));
  for (const [n, sp] of Object.entries(modelSignature(model))) {
    const f = weights[n];
    expected[n] = f && f.dtype !== sp.dtype && loadableInto(f.dtype, byName.get(n)!.dtype) ? { shape: sp.shape } : sp;
  }
  checkFits(expected, specsOf(weights, file), opts.what ?? 'model weights', opts.where, opts.hint);
  return { vars, tf, weights, legacy, plan: () => planModelRestore(tf, vars, weights, opts.where) };
}

/**
 * Checks `c` against the model and optimizer of `opts` and prepares every tensor. Throws before
 * changing anything; the returned plans apply it.
 */
export function prepareRestore(c: CheckpointContents, opts: LoadOptions, log: Logger): RestorePlan[] {
  const m = c.manifest.model;
  const model = opts.model;
  if (!model) {
    if (opts.optimizer) throw new UnsupportedError('an optimizer can only be restored together with its model: pass `model` too', { detail: 'NO_MODEL' });
    return [];
  }
  const vm = model as Partial<VariableModel>;
  const adapter = opts.adapter ?? adapterOrIdentity(m.architecture_type, opts.adapters);
  const needs = `the checkpoint needs architecture_type '${m.architecture_type}'${m.model_id ? ` (model_id '${m.model_id}')` : ''}`;
  const modelType = opts.expect?.architecture_type ?? vm.architecture_type;
  if (modelType !== undefined && modelType !== m.architecture_type && !opts.adapter) {
    throw archMismatch(c, `${c.path}: ${needs}, but the model given is '${modelType}'. Build a '${m.architecture_type}' model${m.model_id ? ` from '${m.model_id}'` : ''} ` +
      `(${adapterOrIdentity(m.architecture_type, opts.adapters).description}), or pass \`adapter\` to load it into this one. Nothing was loaded.`, {
      expected: { architecture_type: m.architecture_type, model_id: m.model_id }, found: { architecture_type: modelType },
    });
  }
  if (opts.expect?.model_id !== undefined && opts.expect.model_id !== m.model_id) {
    throw archMismatch(c, `${c.path}: the checkpoint holds model_id '${m.model_id ?? '(none: a custom model)'}', but '${opts.expect.model_id}' was expected: load a checkpoint of '${opts.expect.model_id}', or drop expect.model_id to load '${m.model_id}'. Nothing was loaded.`, {
      expected: { model_id: m.model_id }, found: { model_id: opts.expect.model_id },
    });
  }
  if (vm.architecture) {
    const diffs = architectureDifferences(m.architecture, vm.architecture);
    if (diffs.length) {
      throw archMismatch(c, `${c.path}: the model's architecture differs from the checkpoint's (${diffs.join('; ')}): ${needs} with ${JSON.stringify(m.architecture)}. Nothing was loaded.`, {
        expected: m.architecture, found: vm.architecture, differences: diffs,
      });
    }
  }
  const w = prepareWeights(model, c.model.tensors, c.model, adapter, { tf: opts.tf, where: joinKey(c.path, MODEL_FILE), log });
  const { vars, tf } = w;
  let state = c.trainer.optimizer;
  let slots: Readonly<Record<string, TensorLike>> = c.optimizer?.tensors ?? {};
  if (w.legacy && state) ({ state, slots } = renameOptimizerState(state, slots, w.legacy));

  let optPlan: ((plans: RestorePlan[]) => void) | undefined;
  if (opts.optimizer) {
    if (!state) {
      throw errorFor('NOT_FOUND', `${c.path} was saved without optimizer state: load it without \`optimizer\` (a fresh optimizer starts from zero slots)`, {
        path: c.path, detail: 'NO_OPTIMIZER_STATE',
      });
    }
    checkFits(optimizerSignature(state, vars), specsOf(slots, c.optimizer), 'optimizer state', joinKey(c.path, OPTIMIZER_FILE));
    const given = opts.optimizer as unknown as { getConfig?: () => Record<string, unknown> };
    const live = given.getConfig?.() ?? {};
    const changed = Object.keys({ ...live, ...state.config }).filter((k) => JSON.stringify(live[k]) !== JSON.stringify(state.config[k]));
    if (changed.length) {
      log.warn('the optimizer given is configured differently from the saved one: training will not continue exactly', {
        path: c.path, differs: Object.fromEntries(changed.map((k) => [k, { saved: state.config[k], given: live[k] }])),
      });
    }
    const saved = state;
    optPlan = (plans) => plans.push(planOptimizerRestore(tf, opts.optimizer!, vars, saved, slots, joinKey(c.path, OPTIMIZER_FILE)));
  } else if (state) {
    log.info('the checkpoint holds optimizer state, but no optimizer was given: only the model is restored', { path: c.path, optimizer: state.name });
  }

  const plans: RestorePlan[] = [];
  try {
    plans.push(w.plan());
    optPlan?.(plans);
  } catch (e) {
    for (const p of plans) p.abort();
    throw e;
  }
  return plans;
}

/** What loadCheckpoint returns for contents `c`. */
export function loadedFrom(c: CheckpointContents): LoadedCheckpoint {
  const m = c.manifest;
  return {
    path: c.path, name: baseOf(c.key), step: m.step, created_at: m.created_at, config: c.trainer.config, vocab: c.vocab,
    rng: c.trainer.rng, dataCursor: c.trainer.data_cursor, extra: c.trainer.extra, metadata: m.model, lineage: m.lineage,
    metrics: m.metrics, optimizer: c.trainer.optimizer, format_version: c.version, tensors: c.model.tensors,
  };
}

/**
 * Loads the checkpoint at `src` — a checkpoint folder, or a root (the folder its LATEST names) —
 * verifies it completely, restores `model` and `optimizer` in place (all or nothing) and returns
 * the rest of the training state.
 */
export async function loadCheckpoint(src: Source, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  return underSignal(opts.signal, () => loadUnder(src, opts));
}

async function loadUnder(src: Source, opts: LoadOptions): Promise<LoadedCheckpoint> {
  const log = loggerFrom(opts);
  const { store, key } = resolveSource(src, { signal: opts.signal });
  // The public key is imported first: a bad key is UNSUPPORTED BAD_KEY before any byte is read.
  const checkSignature = opts.publicKey !== undefined ? await publicKeyCheck(opts.publicKey) : undefined;
  const dir = await locateCheckpoint(store, key);
  const contents = await readCheckpointDir(store, dir, { key: opts.key, checkSignature, logger: log, signal: opts.signal, onProgress: opts.onProgress, rank: opts.rank });
  // Nothing is assigned until every file is read and checked: an abort up to here leaves the model as it was.
  throwIfAborted(opts.signal);
  const plans = prepareRestore(contents, opts, log);
  for (const p of plans) p.commit();
  log.info('checkpoint loaded', { path: contents.path, step: contents.manifest.step, model_name: contents.manifest.model.model_name, restored: plans.length > 0 });
  return loadedFrom(contents);
}
