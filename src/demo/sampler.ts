// A seeded data sampler whose position is state: every epoch visits each
// window of the token stream once, in an order shuffled from (seed, epoch),
// so the cursor {seed, epoch, position} is all that must be saved to draw the
// very same next batch after a resume.
import { Prng, mixSeed } from './prng.js';

/** A sampler's position: seed, epoch and windows handed out in it. */
export interface SamplerCursor {
  seed: number;
  epoch: number;
  /** Windows of the current epoch already handed out. */
  position: number;
}

/** One batch of token windows: inputs and next-token targets. */
export interface Batch {
  /** Inputs, [batchSize × seqLen] row-major token ids. */
  x: Int32Array;
  /** Targets: the next token for each input position. */
  y: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** Draws shuffled token windows, epoch after epoch; its cursor is all that must be saved to draw the same next batch after a resume. */
export class TextSampler {
  private order: Uint32Array = new Uint32Array(0);
  private orderEpoch = -1;
  private cursor: SamplerCursor;
  private readonly windows: number;

  constructor(
    private readonly tokens: Int32Array,
    readonly batchSize: number,
    readonly seqLen: number,
    cursor: SamplerCursor | { seed: number },
  ) {
    // Windows start every seqLen/2 tokens: overlapping halves give more distinct examples from a small text.
    const stride = Math.max(1, seqLen >> 1);
    this.windows = Math.floor((tokens.length - seqLen - 1) / stride) + 1;
    if (this.windows < 1) throw new RangeError(`the text (${tokens.length} tokens) is shorter than one window of ${seqLen + 1}`);
    this.stride = stride;
    const c = cursor as Partial<SamplerCursor>;
    this.cursor = { seed: c.seed! >>> 0, epoch: c.epoch ?? 0, position: c.position ?? 0 };
  }

  private readonly stride: number;

  /** Where the sampler is: save it, pass it back to the constructor to continue exactly. */
  state(): SamplerCursor {
    return { ...this.cursor };
  }

  next(): Batch {
    const { batchSize: b, seqLen: t } = this;
    const x = new Int32Array(b * t);
    const y = new Int32Array(b * t);
    for (let i = 0; i < b; i++) {
      const start = this.nextWindow() * this.stride;
      x.set(this.tokens.subarray(start, start + t), i * t);
      y.set(this.tokens.subarray(start + 1, start + t + 1), i * t);
    }
    return { x, y, batchSize: b, seqLen: t };
  }

  private nextWindow(): number {
    if (this.cursor.position >= this.windows) {
      this.cursor.epoch++;
      this.cursor.position = 0;
    }
    if (this.orderEpoch !== this.cursor.epoch) {
      this.order = shuffled(this.windows, new Prng(mixSeed(this.cursor.seed, this.cursor.epoch)));
      this.orderEpoch = this.cursor.epoch;
    }
    return this.order[this.cursor.position++];
  }
}

function shuffled(n: number, rng: Prng): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]; a[i] = a[j]; a[j] = t;
  }
  return a;
}
