// checkpointCallback: checkpoints during `model.fit` / `model.fitDataset`,
// after Keras's ModelCheckpoint and Orbax's CheckpointManager (save intervals,
// keep the last N and the best by a metric).
//
// It is a plain tfjs callback config ({ onTrainBegin, onEpochEnd, … }): fit()
// wraps it in a CustomCallback and calls its functions as methods of it, so
// safeckpt needs no tfjs import. tfjs 4 gives such a callback fit's params but
// not the model (BaseCallback.setModel is a no-op; only tf.Callback subclasses
// keep it), so the model is an option: `checkpointCallback(root, { model })`
// (`this.model` is used when a tfjs version provides it). Saves are asynchronous by default: fit() pauses
// only while the state is captured, and the callback's onTrainEnd waits for
// every commit, so `await model.fit(…)` returns with every checkpoint durable
// (or rejects with the save's error).
//
// What a checkpoint records: the model, the optimizer (slots and hidden
// counters, exactly), step = optimizer.iterations, and
// dataCursor = { epoch: epochs completed, batch: batches completed in the
// current epoch }. resumeTraining returns it, so
// `fit(…, { initialEpoch: r.dataCursor.epoch })` continues.
import { UnsupportedError } from '../errors.js';
import type { Dest } from '../store/resolve.js';
import type { LayersModelLike, Optimizer } from '../tfjs/tf.js';
import { saveCheckpoint, type SaveOptions, type TrainingState } from './save.js';

/** Options of checkpointCallback: how often to save during model.fit, plus saveCheckpoint's own (retention aside). */
export interface CheckpointCallbackOptions extends Omit<SaveOptions, 'retention'> {
  /** Save after every N-th epoch (default 1 when everyBatches is not given). */
  everyEpochs?: number;
  /** Save after every N-th batch (counted over the whole run: optimizer steps). */
  everyBatches?: number;
  /** Keep only the N newest checkpoints (the one LATEST names is always kept). */
  keepLast?: number;
  /** Also keep the best checkpoint(s) by a metric of fit's logs (e.g. 'val_loss'; mode 'min' by default). */
  keepBest?: { metric: string; mode?: 'min' | 'max'; k?: number };
  /** Resolve each save once captured, commit in the background (default true). */
  async?: boolean;
  /** Asynchronous saves captured but not yet committed at once (default 1): the next waits. */
  maxInFlight?: number;
  /** The model fit() runs on (needed: tfjs 4 does not hand it to callback configs); its optimizer is saved too. */
  model?: LayersModelLike;
  /** Merged into each checkpoint's state. */
  metadata?: TrainingState['metadata'];
  config?: Record<string, unknown>;
  extra?: unknown;
}

/** Where a fit() checkpoint was taken: what resumeTraining returns as dataCursor. */
export interface FitCursor {
  /** Epochs completed: pass it to fit() as initialEpoch. */
  epoch: number;
  /**
   * Batches completed in epoch `epoch` (0 at an epoch boundary; when fit() does not say how many
   * batches an epoch has — fitDataset without batchesPerEpoch — a save after the last one records
   * that count instead of moving to the next epoch).
   */
  batch: number;
}

/** The callback config fit() accepts (tfjs's CustomCallbackArgs, structurally). */
export interface FitCallback {
  onTrainBegin(this: FitContext, logs?: Record<string, unknown>): Promise<void>;
  onEpochBegin(this: FitContext, epoch: number): Promise<void>;
  onBatchEnd(this: FitContext, batch: number, logs?: Record<string, unknown>): Promise<void>;
  onEpochEnd(this: FitContext, epoch: number, logs?: Record<string, unknown>): Promise<void>;
  onTrainEnd(this: FitContext, logs?: Record<string, unknown>): Promise<void>;
}

/** What tfjs's CustomCallback offers the functions it calls. */
interface FitContext {
  model?: LayersModelLike;
  params?: Record<string, unknown>;
}

function positive(v: number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || v < 1) throw new UnsupportedError(`checkpointCallback: ${what} must be a positive integer, got ${String(v)}`, { detail: 'BAD_OPTION' });
  return v;
}

function numericLogs(logs: Record<string, unknown> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(logs ?? {})) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/** A callback for `model.fit(x, y, { callbacks: [checkpointCallback(root, opts)] })` (and fitDataset). */
export function checkpointCallback(root: Dest, opts: CheckpointCallbackOptions = {}): FitCallback {
  const everyBatches = positive(opts.everyBatches, 'everyBatches');
  const everyEpochs = positive(opts.everyEpochs, 'everyEpochs') ?? (everyBatches ? undefined : 1);
  const keepLast = positive(opts.keepLast, 'keepLast');
  const retention = keepLast !== undefined || opts.keepBest
    ? { keepLast, keepBest: opts.keepBest ? { k: opts.keepBest.k ?? 1, metric: opts.keepBest.metric, mode: opts.keepBest.mode } : undefined }
    : undefined;
  const { everyEpochs: _e, everyBatches: _b, keepLast: _k, keepBest: _kb, async: asyncOpt, maxInFlight, model: given, metadata, config, extra, ...save } = opts;
  const isAsync = asyncOpt !== false;
  let model: LayersModelLike | undefined;
  let params: Record<string, unknown> = {};
  let epoch = 0;
  // Every asynchronous save's commit: onTrainEnd waits for them all and reports the first failure.
  let commits: Promise<unknown>[] = [];

  const optimizerOf = (m: LayersModelLike): Optimizer | null => m.optimizer ?? null;
  async function checkpoint(cursor: FitCursor, logs: Record<string, unknown> | undefined): Promise<void> {
    const m = model!;
    const optimizer = optimizerOf(m);
    const step = optimizer ? (optimizer as unknown as { iterations: number }).iterations : cursor.epoch;
    const state: TrainingState = {
      model: m, optimizer, step, dataCursor: cursor, metrics: numericLogs(logs), metadata,
      config: { ...(config ?? {}), fit: { epochs: params.epochs ?? null, batchSize: params.batchSize ?? null, steps: params.steps ?? null, samples: params.samples ?? null } },
      extra,
    };
    if (isAsync) commits.push((await saveCheckpoint(root, state, { ...save, retention, async: true, maxInFlight })).committed);
    else await saveCheckpoint(root, state, { ...save, retention });
  }

  /** Batches in one epoch, when fit() says (fitDataset without batchesPerEpoch does not). */
  const batchesPerEpoch = (): number | null => {
    if (typeof params.steps === 'number' && params.steps > 0) return params.steps;
    if (typeof params.samples === 'number' && typeof params.batchSize === 'number') return Math.ceil(params.samples / params.batchSize);
    return null;
  };

  return {
    async onTrainBegin() {
      model = given ?? this.model;
      params = this.params ?? {};
      if (!model || !Array.isArray(model.weights)) {
        throw new UnsupportedError('checkpointCallback: TensorFlow.js does not tell a callback which model it trains; pass it as the `model` option: checkpointCallback(root, { model })', { detail: 'NO_MODEL' });
      }
    },
    async onEpochBegin(e) {
      epoch = e;
    },
    async onBatchEnd(batch, logs) {
      if (!everyBatches) return;
      const opt = optimizerOf(model!);
      const step = opt ? (opt as unknown as { iterations: number }).iterations : NaN;
      if (!(step % everyBatches === 0)) return;
      // The epoch's last batch is saved by onEpochEnd when that one saves anyway (same step, with the epoch's logs).
      const n = batchesPerEpoch();
      const last = n !== null && batch + 1 === n;
      if (last && everyEpochs && (epoch + 1) % everyEpochs === 0) return;
      // After an epoch's last batch the cursor is the next epoch's start, so initialEpoch resumes right.
      await checkpoint(last ? { epoch: epoch + 1, batch: 0 } : { epoch, batch: batch + 1 }, logs);
    },
    async onEpochEnd(e, logs) {
      if (!everyEpochs || (e + 1) % everyEpochs !== 0) return;
      await checkpoint({ epoch: e + 1, batch: 0 }, logs);
    },
    async onTrainEnd() {
      const all = commits;
      commits = [];
      await Promise.all(all);
    },
  };
}
