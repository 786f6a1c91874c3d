// What every long operation — read, load, verify, sign, write, save, load and resume a checkpoint, convert,
// diff, an HTTP or S3 transfer — takes besides its own options: an AbortSignal, and a progress callback.
// One helper serves them all, so they behave alike:
//  - a signal aborted before the start, or while the operation runs, makes it reject with `signal.reason`
//    (as fetch does: an AbortError DOMException unless abort() was given a reason), and the operation stops
//    its reads, writes and worker jobs at the next step; what it was writing stays under a temporary name
//    and is removed — nothing half-written is left under a final name;
//  - progress is reported in bytes as `{ done, total, phase }`: `done` never goes down, never passes
//    `total`, and the last call has `done === total`.

/** How far a long operation is: `done` of `total` bytes, in `phase`. */
export interface Progress {
  /** Bytes done so far: never decreases, never exceeds `total`. */
  done: number;
  /** Bytes the operation handles in all (hashed, read or written; known before the first call). */
  total: number;
  /** What the bytes are being used for now: 'hash' (verify, sign, inspect --digests), 'read', 'write', 'convert'. */
  phase: ProgressPhase;
}

/** The stages progress is reported for. */
export type ProgressPhase = 'hash' | 'read' | 'write' | 'convert';

/** A progress callback: called as bytes are done, and once more (done === total) at the end. */
export type ProgressCallback = (p: Progress) => void;

/** The options every long operation takes: a signal to cancel it, and a progress callback. */
export interface OperationOptions {
  /** Cancels the operation: it rejects with `signal.reason`, leaving nothing half-written under a final name. */
  signal?: AbortSignal;
  /** Called as the operation advances: `{ done, total, phase }` in bytes, monotonic, ending with done === total. */
  onProgress?: ProgressCallback;
}

/** The reason an aborted signal gives, as fetch rejects with it (an AbortError when abort() had none). */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  return typeof DOMException === 'function' ? new DOMException('This operation was aborted', 'AbortError') : new Error('This operation was aborted');
}

/** Throws the signal's reason once it is aborted (call it before each step of a long loop). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Runs one long operation under `signal`: rejects at once with the reason when it is already aborted, and,
 * when it is aborted while `run` goes on, with the reason rather than whatever error the interrupted step
 * threw (a closed pool, a cancelled fetch). `run` is awaited to its end, so its own clean-up (temporary
 * files removed, workers terminated) is done when this rejects.
 */
export async function underSignal<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  throwIfAborted(signal);
  try {
    return await run();
  } catch (e) {
    if (signal?.aborted) throw abortReason(signal);
    throw e;
  }
}

/**
 * Reports one operation's progress: `add(n)` as bytes are done, `finish()` at the end. It keeps the promise
 * of Progress whatever its callers count (a worker's bytes, a header read twice): `done` is clamped to
 * [previous, total], and finish() reports done === total exactly once more if it was not reached.
 */
export class ProgressReporter {
  private done = 0;
  private last = -1;

  constructor(private readonly callback: ProgressCallback | undefined, readonly total: number, private phase: ProgressPhase) {}

  /** Whether anyone listens (lets callers skip computing a total nobody reads). */
  get active(): boolean {
    return this.callback !== undefined;
  }

  /** `n` more bytes done (in `phase`, when given). */
  add(n: number, phase?: ProgressPhase): void {
    this.to(this.done + n, phase);
  }

  /** `done` is now at least `at` (a file ended at its offset, whatever was counted inside it). */
  to(at: number, phase?: ProgressPhase): void {
    if (phase) this.phase = phase;
    const next = Math.min(this.total, Math.max(this.done, at));
    this.done = next;
    if (this.callback && next !== this.last) {
      this.last = next;
      this.callback({ done: next, total: this.total, phase: this.phase });
    }
  }

  /** The operation is done: the last call has done === total. */
  finish(): void {
    this.to(this.total);
    // A zero-byte operation still reports its end once.
    if (this.callback && this.last !== this.total) {
      this.last = this.total;
      this.callback({ done: this.total, total: this.total, phase: this.phase });
    }
  }

  /** A callback of `n` bytes for lower layers that count bytes (hashRanges' onBytes, a pool's jobs). */
  get onBytes(): (n: number) => void {
    return (n) => this.add(n);
  }
}
