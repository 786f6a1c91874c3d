// One training step of the tiny LM, and the loop state that makes a run
// resumable: model, optimizer, sampler cursor and step. `trainingState()`
// is what saveCheckpoint takes; `fromCheckpoint` continues exactly.
import type { Optimizer, Tf } from '../tfjs/tf.js';
import type { TinyLM } from './tiny-lm.js';
import type { Batch, SamplerCursor } from './sampler.js';
import { TextSampler } from './sampler.js';

/** Runs one optimizer step on `batch` at training step `step` (1-based); returns the loss as float32. */
export function trainStep(model: TinyLM, optimizer: Optimizer, batch: Batch, step: number): number {
  const tf: Tf = model.tf;
  const x = tf.tensor2d(batch.x, [batch.batchSize, batch.seqLen], 'int32');
  const y = tf.tensor2d(batch.y, [batch.batchSize, batch.seqLen], 'int32');
  try {
    const loss = optimizer.minimize(() => model.loss(x, y, { training: true, step }) as never, true, model.trainableVariables());
    if (!loss) throw new Error('optimizer.minimize returned no loss');
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  } finally {
    x.dispose();
    y.dispose();
  }
}

export interface TrainLoopOptions {
  tokens: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Seed of the sampler's shuffles (when not continuing from a cursor). */
  seed: number;
  /** A saved cursor to continue from. */
  cursor?: SamplerCursor;
  /** The step already completed (0 for a fresh run). */
  step?: number;
}

/** The state of a run between steps. */
export class TrainLoop {
  step: number;
  readonly sampler: TextSampler;

  constructor(readonly model: TinyLM, readonly optimizer: Optimizer, opts: TrainLoopOptions) {
    this.sampler = new TextSampler(opts.tokens, opts.batchSize, opts.seqLen, opts.cursor ?? { seed: opts.seed });
    this.step = opts.step ?? 0;
  }

  /** Trains `n` steps; returns their losses (float32 values). */
  run(n: number, onStep?: (step: number, loss: number) => void): number[] {
    const losses: number[] = [];
    for (let i = 0; i < n; i++) {
      const step = this.step + 1;
      const loss = trainStep(this.model, this.optimizer, this.sampler.next(), step);
      this.step = step;
      losses.push(loss);
      onStep?.(step, loss);
    }
    return losses;
  }
}
