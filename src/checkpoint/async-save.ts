// The machinery of asynchronous saves: capture now, write later, commit in
// call order, with a bound on what waits in memory.
//
// Capture (`deferredCapture`) copies every tensor in the cheapest way the
// backend offers, and reads the values out only when the save's turn comes:
//  - cpu, webgl, webgpu: `tensor.clone()`, an Identity kernel — a reference
//    count on the cpu backend, a texture copy on the GPU (no stall for a
//    synchronous read-back). tfjs tensors are immutable (optimizers and fit()
//    `assign` new tensors to variables), so the clone keeps exactly the
//    captured values while training goes on; `await data()` later.
//  - wasm: `dataSync()`, which copies the values out of the WASM heap
//    (HEAPU8.slice) into JS memory. A clone would copy inside the heap, and
//    tfjs's WASM heap stops at 2 GiB: a 256 MiB model with Adam's slots and a
//    step's temporaries already fills most of it.

// Asynchronous saves to one root commit one after another in call order
// (`RootQueue`), after any synchronous save called before them, so LATEST only
// moves forward; a synchronous save waits for asynchronous ones in flight. An asynchronous save first waits until fewer than
// `maxInFlight` saves of that root are captured-but-not-committed
// (back-pressure: the caller's `await` is where training pauses), so memory
// holds at most that many copies of the state.
import type { TensorData } from '../types/tensor.js';
import type { Tensor } from '../tfjs/tf.js';
import { dtypeOfTf } from '../tfjs/variables.js';

/** How a capture turns a live tensor into one the writer can take (eager copy, or a deferred one). */
export type TensorTaker = (t: Tensor, name: string) => TensorData;

/** Captured-but-uncommitted asynchronous saves per root, unless the caller says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 1;

/** A capture whose values are read out later: `take` clones, `materialize()` reads and frees. */
export interface DeferredCapture {
  take: TensorTaker;
  /** Reads every clone's values into its TensorData, freeing each clone as it goes. */
  materialize(): Promise<void>;
  /** Frees the clones not read yet (after a failure), and hands pooled buffers back once the save is written. */
  dispose(): void;
}

interface EngineLike {
  backendName?: string;
  backend?: { typedArrayFromHeap?(t: Tensor): ArrayBufferView };
}

/** The realm's one tfjs engine (tfjs-core keeps it on the global object). */
function engine(): EngineLike | undefined {
  return (globalThis as { _tfengine?: EngineLike })._tfengine;
}

/**
 * Buffers of earlier WASM captures, kept for the next: fresh memory costs about four times the copy
 * into it (page faults; measured here: 256 MiB in 0.9 s vs 0.23 s), and a loop that saves every N
 * steps captures the same sizes each time. It keeps at most the bytes of the largest capture seen.
 */
const pool = { free: new Map<number, ArrayBuffer[]>(), bytes: 0, cap: 0 };

function pooled(byteLength: number): ArrayBuffer {
  const list = pool.free.get(byteLength);
  const b = list?.pop();
  if (b) {
    pool.bytes -= byteLength;
    return b;
  }
  return new ArrayBuffer(byteLength);
}

function release(buffers: ArrayBuffer[], captured: number): void {
  pool.cap = Math.max(pool.cap, captured);
  for (const b of buffers) {
    if (pool.bytes + b.byteLength > pool.cap) continue;
    const list = pool.free.get(b.byteLength) ?? [];
    list.push(b);
    pool.free.set(b.byteLength, list);
    pool.bytes += b.byteLength;
  }
}

/** The values of `t` copied out of the WASM heap into a pooled buffer (dataSync() when the heap is out of reach). */
function copyOutOfHeap(t: Tensor, e: EngineLike | undefined, into: ArrayBuffer[]): Float32Array | Int32Array | Uint8Array {
  let view: ArrayBufferView | undefined;
  try {
    view = e?.backend?.typedArrayFromHeap?.(t);
  } catch {
    view = undefined;
  }
  if (!view || t.dtype === 'bool') {
    const v = t.dataSync();
    return t.dtype === 'bool' ? Uint8Array.from(v as Uint8Array, (x) => (x ? 1 : 0)) : (v as Float32Array | Int32Array);
  }
  const buf = pooled(view.byteLength);
  into.push(buf);
  new Uint8Array(buf).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return t.dtype === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
}

/** Backends whose values live in a heap a clone would double (tfjs's WASM heap stops at 2 GiB). */
const COPY_OUT = new Set(['wasm']);

export function deferredCapture(): DeferredCapture {
  const clones: [Tensor, TensorData & { data: ArrayBufferView }][] = [];
  const e = engine();
  const readNow = COPY_OUT.has(e?.backendName ?? '');
  const buffers: ArrayBuffer[] = [];
  let captured = 0;
  return {
    take(t, name) {
      const dtype = dtypeOfTf(t.dtype, name);
      if (readNow) {
        const data = copyOutOfHeap(t, e, buffers);
        captured += data.byteLength;
        return { dtype, shape: [...t.shape], data };
      }
      const target = { dtype, shape: [...t.shape], data: new Uint8Array(0) as ArrayBufferView };
      clones.push([t.clone(), target]);
      return target;
    },
    async materialize() {
      while (clones.length) {
        const [clone, target] = clones[0];
        // data() hands back a copy (WebGL) or the clone's own immutable buffer (cpu): either stays valid after dispose().
        const v = await clone.data();
        target.data = target.dtype === 'BOOL' ? Uint8Array.from(v as Uint8Array, (x) => (x ? 1 : 0)) : (v as Float32Array | Int32Array);
        clones.shift();
        clone.dispose();
      }
    },
    dispose() {
      for (const [clone] of clones.splice(0)) clone.dispose();
      release(buffers.splice(0), captured);
    },
  };
}

/**
 * The saves of one checkpoint root in this realm. An asynchronous save commits after every save called
 * before it (call order; LATEST only moves forward); a synchronous save waits only for asynchronous
 * saves in flight — two synchronous saves called together still race as two writers would, and the
 * store's commit (rename, or S3's conditional PUT of LATEST) decides.
 */
export class RootQueue {
  private readonly all: Promise<unknown>[] = [];
  private readonly async: Promise<unknown>[] = [];

  /** Asynchronous saves captured and not yet committed (or failed). */
  get inFlight(): number {
    return this.async.length;
  }

  /** Resolves once fewer than `max` asynchronous saves are in flight. Enqueue synchronously after it resolves. */
  async room(max: number): Promise<void> {
    while (this.async.length >= Math.max(1, max)) await this.async[0].catch(() => {});
  }

  /** Runs `job` after the saves it must follow have settled (see the class comment). */
  enqueue<T>(job: () => Promise<T>, kind: 'async' | 'sync' = 'async'): Promise<T> {
    const before = [...(kind === 'async' ? this.all : this.async)];
    const p = (before.length ? Promise.allSettled(before).then(job) : job());
    this.all.push(p);
    if (kind === 'async') this.async.push(p);
    // Registered before any waiter's handler, so a waiter that wakes sees the count already lowered.
    void p.then(() => this.done(p), () => this.done(p));
    return p;
  }

  /** Settles when every save in flight now has; rejects with the first failure among them. */
  async flush(): Promise<void> {
    const results = await Promise.allSettled([...this.all]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private done(p: Promise<unknown>): void {
    for (const list of [this.all, this.async]) {
      const i = list.indexOf(p);
      if (i >= 0) list.splice(i, 1);
    }
  }
}

const queues = new Map<string, RootQueue>();

/** The queue of the root `id` names (its store's description of the root key). */
export function queueFor(id: string): RootQueue {
  let q = queues.get(id);
  if (!q) queues.set(id, (q = new RootQueue()));
  return q;
}

/** Every queue with saves in flight, or the one of `id`. */
export function queuesToFlush(id?: string): RootQueue[] {
  if (id !== undefined) return queues.has(id) ? [queues.get(id)!] : [];
  return [...queues.values()];
}
