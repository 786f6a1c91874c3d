// The machinery of asynchronous saves: capture now, write later, commit in
// call order, with a bound on what waits in memory.
//
// Capture (`deferredCapture`) copies no values itself: it takes a second
// reference to every tensor on its backend, and the values are read out when
// the save's turn comes (`materialize`) — at once, still inside the call, when
// no save of the root is in flight; later when it waits behind one. tfjs
// tensors are immutable — optimizers and fit() `assign` new tensors to
// variables — so a held reference keeps exactly the captured values while
// training goes on.
//  - cpu, webgl, webgpu: `tensor.clone()`, an Identity kernel — a reference
//    count on the cpu backend, a texture copy on the GPU (no stall for a
//    synchronous read-back); `await data()` later.
//  - wasm: a Reshape to the same shape, which the WASM backend answers with a
//    reference count on the same heap memory (its Identity would copy inside
//    the heap); `materialize` copies the values out of the heap into pooled JS
//    buffers (the one copy an asynchronous save makes on this thread) and drops
//    the reference. Until then the heap cannot reuse that memory, and tfjs's
//    WASM heap stops at 4 GiB: a tensor is referenced only while the heap's
//    size plus every held reference stays under that limit (with headroom),
//    else it is copied out at once. (A 256 MiB model trained with Adam grows
//    the heap past 3 GiB — Adam's update holds every variable's temporaries at
//    once — so its capture is copied out at the call: BENCHMARKS.md.)

// Asynchronous saves to one root commit one after another in call order
// (`RootQueue`), after any synchronous save called before them, so LATEST only
// moves forward; a synchronous save waits for asynchronous ones in flight. An asynchronous save first waits until fewer than
// `maxInFlight` saves of that root are captured-but-not-committed
// (back-pressure: the caller's `await` is where training pauses), so memory
// holds at most that many copies of the state.
import type { TensorData, TensorLike } from '../types/tensor.js';
import type { Tensor } from '../tfjs/tf.js';
import { dtypeOfTf } from '../tfjs/variables.js';
import { toFloat32 } from '../format/convert.js';

/** How a capture turns a live tensor into one the writer can take (eager copy, or a deferred one). */
export type TensorTaker = (t: Tensor, name: string) => TensorLike;

/** Captured-but-uncommitted asynchronous saves per root, unless the caller says otherwise. */
export const DEFAULT_MAX_IN_FLIGHT = 1;

/** A capture whose values are read out later: `take` references (or, past the WASM heap's budget, copies), `materialize()` reads and frees. */
export interface DeferredCapture {
  take: TensorTaker;
  /** Reads every reference's values into its TensorData, freeing each reference as it goes. */
  materialize(): Promise<void>;
  /** The pooled buffers this capture's values are in (sent to a writer thread by transfer). */
  owned(): ArrayBuffer[];
  /** Takes back the buffers a writer thread returned, in place of those it was sent. */
  adopt(buffers: ArrayBuffer[]): void;
  /** Frees the references not read yet (after a failure), and hands pooled buffers back once the save is written. */
  dispose(): void;
}

interface EngineLike {
  backendName?: string;
  backend?: { typedArrayFromHeap?(t: Tensor): ArrayBufferView; wasm?: { HEAPU8?: Uint8Array } };
  runKernel?(kernelName: string, inputs: Record<string, Tensor>, attrs?: Record<string, unknown>): Tensor;
  keep?<T>(t: T): T;
}

/** The realm's one tfjs engine (tfjs-core keeps it on the global object). */
function engine(): EngineLike | undefined {
  return (globalThis as { _tfengine?: EngineLike })._tfengine;
}

/** tfjs's WASM heap limit (emscripten's getHeapMax in tfjs-backend-wasm 4.x: 4 GiB less one page). */
export const WASM_HEAP_MAX = 4294901760;
/** Heap kept free for what a training step allocates beyond the heap's high-water mark so far. */
const WASM_HEADROOM = 256 << 20;
/** Bytes of WASM heap memory held by capture references not yet read out, across every save in flight. */
let heldOnHeap = 0;

/** Bytes of heap memory capture references hold now (tests). */
export function captureBytesHeld(): number {
  return heldOnHeap;
}

/**
 * A second reference to `t`'s heap memory (a Reshape to its own shape: the WASM backend counts references
 * instead of copying), when the heap can afford to keep that memory until it is read out; else null.
 */
function heapReference(t: Tensor, e: EngineLike | undefined, bytes: number): Tensor | null {
  const heap = e?.backend?.wasm?.HEAPU8?.buffer.byteLength;
  if (heap === undefined || typeof e?.runKernel !== 'function' || t.dtype === 'bool') return null;
  if (heap + heldOnHeap + bytes > WASM_HEAP_MAX - WASM_HEADROOM) return null;
  let ref: Tensor;
  try {
    ref = e.runKernel('Reshape', { x: t }, { shape: [...t.shape] });
  } catch {
    return null;
  }
  // Kept out of any tf.tidy() the save was called in: the reference must outlive it.
  e.keep?.(ref);
  heldOnHeap += bytes;
  return ref;
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
    // A buffer sent to a writer thread that never answered is detached (0 bytes): nothing to keep.
    if (b.byteLength === 0 || pool.bytes + b.byteLength > pool.cap) continue;
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

/** Backends whose values live in a heap a clone would double: referenced while the heap affords it, copied out later. */
const COPY_OUT = new Set(['wasm']);

export function deferredCapture(): DeferredCapture {
  // [reference, where its values go, heap bytes it holds (0 off the WASM heap)]
  const refs: [Tensor, TensorData & { data: ArrayBufferView }, number][] = [];
  const e = engine();
  const onHeap = COPY_OUT.has(e?.backendName ?? '');
  const buffers: ArrayBuffer[] = [];
  let captured = 0;
  const drop = (ref: Tensor, held: number) => {
    ref.dispose();
    heldOnHeap -= held;
  };
  return {
    take(t, name) {
      const dtype = dtypeOfTf(t.dtype, name);
      const target = { dtype, shape: [...t.shape], data: new Uint8Array(0) as ArrayBufferView };
      if (onHeap) {
        const bytes = t.size * 4;
        const ref = heapReference(t, e, bytes);
        if (ref) refs.push([ref, target, bytes]);
        else {
          target.data = copyOutOfHeap(t, e, buffers);
          captured += target.data.byteLength;
        }
        return target;
      }
      refs.push([t.clone(), target, 0]);
      return target;
    },
    async materialize() {
      while (refs.length) {
        const [ref, target, held] = refs[0];
        if (onHeap) {
          target.data = copyOutOfHeap(ref, e, buffers);
          captured += target.data.byteLength;
        } else {
          // data() hands back a copy (WebGL) or the clone's own immutable buffer (cpu): either stays valid after dispose().
          const v = await ref.data();
          target.data = target.dtype === 'BOOL' ? Uint8Array.from(v as Uint8Array, (x) => (x ? 1 : 0)) : (v as Float32Array | Int32Array);
        }
        refs.shift();
        drop(ref, held);
      }
    },
    owned() {
      return [...buffers];
    },
    adopt(back) {
      buffers.splice(0, buffers.length, ...back);
    },
    dispose() {
      for (const [ref, , held] of refs.splice(0)) drop(ref, held);
      release(buffers.splice(0), captured);
    },
  };
}

/** A synchronous save's capture: references now, values read out piece by piece as the writer streams them. */
export interface StreamedCapture {
  take: TensorTaker;
  /** Frees the references the writer has not read out (call once the save has settled). */
  dispose(): void;
}

/**
 * The capture of a synchronous save (saveCheckpoint without `async`), made as deferredCapture's references
 * but read out by the writer itself: each captured tensor is a TensorView whose `pieces(size)` copies its
 * values out of the WASM heap one write-sized piece at a time (each piece fresh memory the store may keep
 * while it writes, as the Store contract asks; or, for a store that copies each chunk before asking for the
 * next, the writer's one reused buffer) and drops the reference after the last piece. The copy of
 * the whole state at the call — twice on the WASM backend: dataSync() copies out of the heap, the snapshot
 * copied that again, both into fresh memory that costs several times the copy itself (1 GiB: ~5 s of an
 * 8 s S3 save, BENCHMARKS.md "s3") — becomes one copy of each piece while it is written, and the save holds
 * only the pieces in flight instead of a second copy of the model. Where a reference cannot be held (bool,
 * the heap's budget) the values are copied at the call, as before.
 */
export function streamedCapture(): StreamedCapture {
  const e = engine();
  const onHeap = COPY_OUT.has(e?.backendName ?? '');
  const live = new Set<{ ref: Tensor; held: number }>();
  const drop = (r: { ref: Tensor; held: number }) => {
    if (!live.delete(r)) return;
    r.ref.dispose();
    heldOnHeap -= r.held;
  };
  return {
    take(t, name) {
      const dtype = dtypeOfTf(t.dtype, name);
      const shape = [...t.shape];
      const byteLength = dtype === 'BOOL' ? t.size : t.size * 4;
      let r: { ref: Tensor; held: number } | undefined;
      if (onHeap) {
        const ref = typeof e?.backend?.typedArrayFromHeap === 'function' ? heapReference(t, e, byteLength) : null;
        if (!ref) return { dtype, shape, data: copyOutOfHeap(t, e, []) };
        r = { ref, held: byteLength };
      } else {
        if (dtype === 'BOOL') return { dtype, shape, data: Uint8Array.from(t.dataSync() as Uint8Array, (x) => (x ? 1 : 0)) };
        // A clone: a reference count (cpu) or a copy on the device (WebGL); tfjs tensors are never changed in place.
        r = { ref: t.clone(), held: 0 };
        e?.keep?.(r.ref);
      }
      live.add(r);
      let whole: Uint8Array | undefined;
      const ref = r;
      // The values as they are now (valid until the reference is dropped): a view of the heap, or the clone's values.
      const current = (): Uint8Array => {
        if (!live.has(ref)) throw new Error(`captured tensor '${name}' was already read out`);
        const v = (onHeap ? e!.backend!.typedArrayFromHeap!(ref.ref) : ref.ref.dataSync()) as ArrayBufferView;
        return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      };
      const view = {
        name, dtype, shape, byteLength,
        bytes(): Uint8Array {
          if (!whole) {
            // Off the heap the clone's values are immutable and outlive the reference: no copy needed.
            whole = onHeap ? current().slice() : current();
            drop(ref);
          }
          return whole;
        },
        *pieces(size: number, into?: Uint8Array): Generator<Uint8Array> {
          if (whole || !onHeap) {
            const b = view.bytes();
            for (let off = 0; off < b.length; off += size) yield b.subarray(off, Math.min(b.length, off + size));
            return;
          }
          const reuse = into !== undefined && into.length >= size;
          for (let off = 0; off < byteLength; off += size) {
            // A new view each time: the heap may have grown (and its old buffer detached) since the last piece.
            const end = Math.min(byteLength, off + size);
            let piece: Uint8Array;
            if (reuse) {
              // Into the writer's buffer (mapped already: ~10× cheaper than fresh memory), valid until the next piece.
              piece = into.subarray(0, end - off);
              piece.set(current().subarray(off, end));
            } else piece = current().slice(off, end);
            if (off + size >= byteLength) drop(ref);
            yield piece;
          }
          if (byteLength === 0) drop(ref);
        },
        toFloat32: () => toFloat32(dtype, view.bytes(), name),
      };
      return view;
    },
    dispose() {
      for (const r of [...live]) drop(r);
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
