// A small pool of hashing workers, the same in Node (worker_threads), Deno, Bun
// and browsers (module Workers). The worker's code is embedded text (see
// hash-worker.ts), started by platform/runtime.ts from a data: URL in Node and a Blob
// URL elsewhere: `new URL('./w.js', import.meta.url)` would break as soon as a
// bundler moves the code, and a Blob cannot be a Node worker.
//
// Work is handed out as jobs of whole tensors. From an fs store a worker opens
// the file by path and reads its ranges itself; otherwise bytes travel as
// transferred ArrayBuffers, sent back after hashing, so nothing is copied and
// at most a few jobs' bytes are in flight. Digests are the same as on one
// thread: only where they are computed changes.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { IoError } from '../errors.js';
import { errorFromJSON } from '../error-json.js';
import { abortReason, throwIfAborted } from '../types/operation.js';
import { hashEngineInfo } from '../core/hash-engines.js';
import type { NamedRange } from './range-hash.js';
import type { TensorInfo } from '../types/tensor.js';
import type { FsStore } from '../store/fs.js';
import { JOB_BYTES, ownsBuffer, type HashJob, type JobSource } from './lease.js';
import type { WorkerReply, WorkerRequest } from './protocol.js';
import { startWorker } from '../platform/workers.js';
import type { WorkerEndpoint } from '../platform/runtime.js';
import { nameRecord } from '../name-record.js';

/**
 * Bytes a worker reads at once from a file it opened itself: small enough that the slice is still in the
 * cache when it is hashed right after (1 MiB: 0.42 s for 1 GiB on 2 workers against 0.46 s at 16 MiB).
 */
export const WORKER_READ_SLICE = 1 << 20;
/** Jobs queued per worker: one running, one waiting, so a worker never idles between jobs. */
const JOBS_PER_WORKER = 2;
/** Buffers a stream keeps in flight: one being hashed, one being filled. */
const STREAM_BUFFERS = 2;


type Endpoint = WorkerEndpoint;

type Handler = { reply(r: WorkerReply): void; fail(e: Error): void };

let workerSource: Promise<string> | undefined;
/**
 * The worker's code, loaded on the first pool (a bundler that splits code
 * puts it in its own chunk, so a page that never starts a worker never
 * downloads it). The bytes of the core's SHA-256 module are in this build too
 * (their own chunk, which the hash engines load): the worker reads them from a
 * global instead of a second copy.
 */
function workerText(): Promise<string> {
  workerSource ??= Promise.all([import('./worker-source.js'), import('../core/sha256-wasm-bytes.js')]).then(([{ HASH_WORKER_SOURCE }, { SHA256_WASM_DEFLATED_BASE64 }]) =>
    `globalThis.__SAFECKPT_SHA256_WASM_DEFLATED_BASE64=${JSON.stringify(SHA256_WASM_DEFLATED_BASE64)};\n${HASH_WORKER_SOURCE}`);
  return workerSource;
}

async function spawn(onReply: (r: WorkerReply) => void, onFail: (e: Error) => void): Promise<Endpoint> {
  return startWorker(await workerText(), (m) => onReply(m as WorkerReply), onFail);
}

class PoolWorker {
  jobs = 0;
  readonly started: Promise<void>;
  ep: Endpoint | undefined;
  dead: Error | undefined;

  constructor(pool: HashPool, engine: string) {
    let up!: () => void, down!: (e: Error) => void;
    this.started = new Promise<void>((a, b) => ((up = a), (down = b)));
    this.started.catch(() => {});
    // 'ready' may arrive before spawn() has resolved with the endpoint (Deno delivers messages from promise
    // callbacks): whichever of the two comes last sends the engine and opens the worker for jobs.
    let ready = false;
    let opened = false;
    const open = () => {
      if (!ready || !this.ep || opened) return;
      opened = true;
      this.ep.post({ op: 'init', engine });
      up();
    };
    spawn((r) => {
      if (r.op === 'ready') {
        ready = true;
        open();
      } else pool.route(r);
    }, (e) => {
      this.dead ??= e;
      down(e);
      pool.workerFailed(this, e);
    }).then((ep) => {
      this.ep = ep;
      if (pool.isClosed) ep.terminate(); // closed while this worker was starting
      else open();
    }, (e) => {
      this.dead = e;
      down(e);
    });
  }
}

/** A streamed SHA-256 computed on one worker, fed in order. */
export interface PoolStream {
  /** Copies `bytes` into a buffer the worker hashes; waits only while every buffer is in flight. */
  update(bytes: Uint8Array): Promise<void>;
  /** The hex digest. */
  digest(): Promise<string>;
  /** The hex digest, and the chunk digests when the stream was opened with `chunk`. */
  result(): Promise<{ sha256: string; chunks?: string[] }>;
}

/** A stream of a SharedFeed, on one worker: its digests once every piece fed to it is hashed. */
export interface FeedStream {
  /** The hex digest, and the chunk digests when the stream was opened with `chunk`; call once, after the last feed. */
  result(): Promise<{ sha256: string; chunks?: string[] }>;
}

/**
 * Digests of several streams fed from one copy of each piece (a file's and its tensor's, as a writer computes
 * them), in memory the workers share: a few slots of a SharedArrayBuffer. A piece is copied into a free slot
 * once and each worker that has a stream to feed gets one small message naming the slot and the streams;
 * nothing is transferred, so no buffer changes hands (every transferred ArrayBuffer is new external memory to
 * V8, and the collections it triggered cost a pooled write more than its copies: BENCHMARKS.md "s3").
 */
export interface SharedFeed {
  /** Starts a stream (with `chunk`, also the digests of every `chunk` bytes) on worker `lane` (modulo the pool's size). */
  open(opts?: { chunk?: number; lane?: number }): FeedStream;
  /** Feeds `bytes` to each of `streams`, in order; resolves once they are copied (waits while every slot is in flight). */
  feed(bytes: Uint8Array, streams: readonly FeedStream[]): Promise<void>;
  /** Lets the workers forget the shared memory. */
  close(): void;
}

/** Slots of a SharedFeed: one being filled, the rest queued or being hashed. */
const FEED_SLOTS = 4;

export class HashPool {
  private readonly workers: PoolWorker[];
  private readonly handlers = new Map<number, Handler & { worker: PoolWorker }>();
  private waiting: Array<() => void> = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    const engine = hashEngineInfo().engine;
    this.workers = Array.from({ length: size }, () => new PoolWorker(this, engine));
  }

  /** Jobs the workers take at once (one running and one waiting on each). */
  get capacity(): number {
    return this.size * JOBS_PER_WORKER;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  route(r: WorkerReply): void {
    if (r.op === 'ready') return;
    this.handlers.get(r.id)?.reply(r);
  }

  /** @internal A worker that died fails every request it held. */
  workerFailed(w: PoolWorker, e: Error): void {
    if (this.closed) return;
    const err = new IoError(`a hashing worker stopped: ${e.message}`, { detail: 'WORKER', cause: e });
    for (const [id, h] of this.handlers) if (h.worker === w) {
      this.handlers.delete(id);
      h.fail(err);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  /** The least busy live worker with room for a job; waits for one. */
  private async pick(): Promise<PoolWorker> {
    for (;;) {
      if (this.closed) throw new IoError('the hashing pool was closed', { detail: 'WORKER' });
      const live = this.workers.filter((w) => !w.dead);
      if (live.length === 0) throw new IoError(`no hashing worker could start: ${this.workers[0]?.dead?.message}`, { detail: 'WORKER', cause: this.workers[0]?.dead });
      const w = live.reduce((a, b) => (b.jobs < a.jobs ? b : a));
      if (w.jobs < JOBS_PER_WORKER) {
        w.jobs++;
        try {
          await w.started;
        } catch {
          w.jobs--;
          continue;
        }
        return w;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private request(w: PoolWorker, m: WorkerRequest & { id: number }, transfer: Transferable[], onProgress?: (n: number) => void): Promise<WorkerReply & { op: 'done' }> {
    return new Promise((resolve, reject) => {
      const end = () => {
        this.handlers.delete(m.id);
        w.jobs--;
        this.wake();
      };
      this.handlers.set(m.id, {
        worker: w,
        reply: (r) => {
          if (r.op === 'progress') onProgress?.(r.bytes);
          else if (r.op === 'done') (end(), resolve(r));
          else if (r.op === 'error') (end(), reject(errorFromJSON(r.error, 'hashing worker')));
        },
        fail: (e) => (w.jobs--, this.wake(), reject(e)),
      });
      w.ep!.post(m, transfer);
    });
  }

  /** Hashes the ranges of `job` in the file of an fs store, read by the worker itself. */
  async hashFileJob(store: FsStore, key: string, job: HashJob, onBytes?: (n: number) => void): Promise<Record<string, string>> {
    const w = await this.pick();
    const r = await this.request(w, { op: 'file', id: this.nextId++, root: store.root, key, from: job.from, to: job.to, slice: WORKER_READ_SLICE, ranges: job.ranges }, [], onBytes);
    return r.digests!;
  }

  /**
   * The size of the ranges a pooled load of `bytes` reads and lends to the workers: about four per worker,
   * so that reading and hashing overlap and the workers finish together, but never under JOB_BYTES nor over
   * 128 MiB. Larger ranges matter: every buffer lent to a worker and handed back counts as new external
   * memory for V8, and at 32 MiB a 1 GiB load spent a quarter of its time in the garbage collections that
   * pressure triggers (128 MiB: a tenth). Workers that read a local file themselves (`workersRead`:
   * loadTensors) get two jobs each, of any size: nothing is read on the calling thread, their memory comes
   * back in pieces per tensor, and each job's reply is one more collection there (1 GiB on 2 workers: 0.75×
   * the load limit's time with 4 jobs, 0.84× with 8).
   */
  loadJobBytes(bytes: number, workersRead: boolean): number {
    return Math.max(JOB_BYTES, workersRead ? Math.ceil(bytes / (2 * this.size)) : Math.min(128 << 20, Math.ceil(bytes / (4 * this.size))));
  }

  /**
   * Reads the tensors `infos` (data offsets after `base`, neighbours) of the file of an fs store into fresh
   * memory on a worker, which hashes them as it reads and hands the bytes back (a load: nothing is read or
   * copied on this thread). `dataOf(info)`: a tensor's bytes, a view of the piece of memory that holds it.
   */
  async loadTensors(store: FsStore, key: string, base: number, infos: readonly TensorInfo[]): Promise<{ digests: Record<string, string>; dataOf(i: TensorInfo): Uint8Array }> {
    const ranges = infos.map((i) => ({ name: i.name, start: base + i.begin, end: base + i.end }));
    const w = await this.pick();
    const from = ranges[0].start, to = ranges[ranges.length - 1].end;
    const r = await this.request(w, { op: 'file', id: this.nextId++, root: store.root, key, from, to, slice: WORKER_READ_SLICE, ranges, keep: true }, []);
    const buffers = r.buffers!, starts = r.starts!;
    return {
      digests: r.digests!,
      dataOf: ({ begin, end }) => {
        let i = starts.length - 1;
        while (i > 0 && starts[i] > base + begin) i--;
        return new Uint8Array(buffers[i], base + begin - starts[i], end - begin);
      },
    };
  }

  /**
   * Hashes ranges of `bytes` (whose first byte is at `offset`) on a worker.
   * The buffer is transferred there and back, so `bytes` must own its whole
   * ArrayBuffer and nobody may touch it meanwhile; use the returned view.
   */
  async hashOwnedBytes(bytes: Uint8Array, offset: number, ranges: NamedRange[]): Promise<{ digests: Record<string, string>; bytes: Uint8Array }> {
    const w = await this.pick();
    const buffer = bytes.buffer as ArrayBuffer;
    const length = bytes.length; // the view reads 0 once its buffer is transferred
    const r = await this.request(w, { op: 'bytes', id: this.nextId++, buffer, offset, length, ranges }, [buffer]);
    return { digests: r.digests!, bytes: new Uint8Array(r.buffer!, 0, length) };
  }

  /** Whether `bytes` can be lent to a worker: it is the whole of an ordinary ArrayBuffer. */
  static owns(bytes: Uint8Array): boolean {
    return ownsBuffer(bytes);
  }

  /**
   * A SHA-256 stream on the least busy worker; its input is copied into a few reused buffers. With `chunk`, the
   * worker also digests every `chunk` bytes from the start (a sidecar's chunk digests) from the same copies.
   */
  stream(opts: { chunk?: number } = {}): PoolStream {
    const live = this.workers.filter((w) => !w.dead);
    const w = live.reduce((a, b) => (b.jobs < a.jobs ? b : a), live[0]);
    const id = this.nextId++;
    const free: ArrayBuffer[] = [];
    let inFlight = 0;
    let failure: Error | undefined;
    let wakeSlot: (() => void) | undefined;
    let finish: { resolve(d: { sha256: string; chunks?: string[] }): void; reject(e: Error): void } | undefined;
    const wakeUp = () => {
      const f = wakeSlot;
      wakeSlot = undefined;
      f?.();
    };
    // Counted at once, so that streams opened back to back spread over the workers.
    if (w) w.jobs++;
    let held = !!w;
    const release = () => {
      if (!held) return;
      held = false;
      this.handlers.delete(id);
      w.jobs--;
      this.wake();
    };
    const started = (async () => {
      if (!w) throw new IoError('no hashing worker is running', { detail: 'WORKER' });
      try {
        await w.started;
      } catch (e) {
        release();
        throw e;
      }
      this.handlers.set(id, {
        worker: w,
        reply: (r) => {
          if (r.op === 'returned') {
            inFlight--;
            free.push(r.buffer);
            wakeUp();
          } else if (r.op === 'done') {
            this.handlers.delete(id);
            release();
            finish?.resolve({ sha256: r.digest!, ...(r.chunks ? { chunks: r.chunks } : {}) });
          } else if (r.op === 'error') {
            inFlight--;
            release();
            failure = errorFromJSON(r.error, 'hashing worker');
            wakeUp();
            finish?.reject(failure);
          }
        },
        fail: (e) => {
          release();
          failure = e;
          wakeUp();
          finish?.reject(e);
        },
      });
      w.ep!.post({ op: 'open', id, ...(opts.chunk ? { chunk: opts.chunk } : {}) });
    })();
    started.catch(() => {});
    const result = async () => {
      await started;
      if (failure) throw failure;
      return new Promise<{ sha256: string; chunks?: string[] }>((resolve, reject) => {
        finish = { resolve, reject };
        w!.ep!.post({ op: 'digest', id });
      });
    };
    return {
      update: async (bytes) => {
        await started;
        for (let off = 0; off < bytes.length;) {
          if (failure) throw failure;
          let buf = free.pop();
          if (!buf && inFlight >= STREAM_BUFFERS) {
            await new Promise<void>((resolve) => (wakeSlot = resolve));
            continue;
          }
          // A buffer too small for the rest (the header came first) is dropped for one that fits the chunks.
          if (!buf || buf.byteLength < bytes.length - off) buf = new ArrayBuffer(Math.max(bytes.length - off, 1 << 20));
          const n = Math.min(buf.byteLength, bytes.length - off);
          new Uint8Array(buf, 0, n).set(bytes.subarray(off, off + n));
          inFlight++;
          w!.ep!.post({ op: 'update', id, buffer: buf, length: n }, [buf]);
          off += n;
        }
      },
      result,
      digest: async () => (await result()).sha256,
    };
  }

  /**
   * A SharedFeed of FEED_SLOTS slots of `slotBytes` on this pool's workers; null where memory cannot be shared
   * with workers (no SharedArrayBuffer: browsers that are not cross-origin isolated).
   */
  sharedFeed(slotBytes: number): SharedFeed | null {
    if (typeof SharedArrayBuffer !== 'function' || this.workers.every((w) => w.dead)) return null;
    let memory: SharedArrayBuffer;
    try {
      memory = new SharedArrayBuffer(slotBytes * FEED_SLOTS);
    } catch {
      return null;
    }
    const id = this.nextId++;
    const free = Array.from({ length: FEED_SLOTS }, (_, i) => i);
    /** Per slot in flight: the workers that have not hashed it yet. */
    const owing = new Map<number, number>();
    let failure: Error | undefined;
    let waiting: Array<() => void> = [];
    const wake = () => {
      const w = waiting;
      waiting = [];
      for (const f of w) f();
    };
    const fail = (e: Error) => {
      failure ??= e;
      wake();
    };
    const sharing = new Set<PoolWorker>();
    const streamsOf = new Map<FeedStream, { w: PoolWorker; id: number; started: Promise<void> }>();
    const share = (w: PoolWorker) => {
      if (sharing.has(w)) return;
      sharing.add(w);
      // Replies about the slots come from every worker under the feed's id; a worker that dies fails its streams.
      this.handlers.set(id, {
        worker: w,
        reply: (r) => {
          if (r.op === 'freed') {
            const left = owing.get(r.slot)! - 1;
            if (left > 0) owing.set(r.slot, left);
            else (owing.delete(r.slot), free.push(r.slot), wake());
          } else if (r.op === 'error') fail(errorFromJSON(r.error, 'hashing worker'));
        },
        fail,
      });
      w.ep!.post({ op: 'share', id, buffer: memory, slotBytes });
    };
    return {
      open: ({ chunk, lane = 0 } = {}) => {
        // Among the workers alive now: one that died before it was given a stream would never answer. (One that
        // dies later fails its streams, and so the feed: workerFailed.)
        const live = this.workers.filter((x) => !x.dead);
        const w = live[lane % Math.max(1, live.length)] as PoolWorker | undefined;
        const sid = this.nextId++;
        let settle!: { resolve(d: { sha256: string; chunks?: string[] }): void; reject(e: Error): void };
        const done = new Promise<{ sha256: string; chunks?: string[] }>((resolve, reject) => (settle = { resolve, reject }));
        done.catch(() => {});
        const started = !w ? Promise.reject(new IoError('no hashing worker is running', { detail: 'WORKER' })) : w.started.then(() => {
          share(w);
          this.handlers.set(sid, {
            worker: w,
            reply: (r) => {
              if (r.op === 'done') (this.handlers.delete(sid), settle.resolve({ sha256: r.digest!, ...(r.chunks ? { chunks: r.chunks } : {}) }));
              else if (r.op === 'error') (this.handlers.delete(sid), fail(errorFromJSON(r.error, 'hashing worker')), settle.reject(failure!));
            },
            fail: (e) => (fail(e), settle.reject(e)),
          });
          w.ep!.post({ op: 'open', id: sid, ...(chunk ? { chunk } : {}) });
        });
        started.catch((e: Error) => (fail(e), settle.reject(e)));
        const s: FeedStream = {
          result: async () => {
            await started;
            if (failure) throw failure;
            w!.ep!.post({ op: 'digest', id: sid }); // started rejects without a worker
            return done;
          },
        };
        streamsOf.set(s, { w: w!, id: sid, started });
        return s;
      },
      feed: async (bytes, streams) => {
        const byWorker = new Map<PoolWorker, number[]>();
        for (const s of streams) {
          const { w, id: sid, started } = streamsOf.get(s)!;
          await started;
          byWorker.set(w, [...(byWorker.get(w) ?? []), sid]);
        }
        for (let off = 0; off < bytes.length;) {
          if (failure) throw failure;
          const slot = free.pop();
          if (slot === undefined) {
            await new Promise<void>((resolve) => waiting.push(resolve));
            continue;
          }
          const n = Math.min(slotBytes, bytes.length - off);
          new Uint8Array(memory, slot * slotBytes, n).set(bytes.subarray(off, off + n));
          owing.set(slot, byWorker.size);
          for (const [w, ids] of byWorker) w.ep!.post({ op: 'feed', id, slot, length: n, streams: ids });
          off += n;
        }
      },
      close: () => {
        this.handlers.delete(id);
        for (const w of sharing) if (!w.dead) w.ep?.post({ op: 'unshare', id });
      },
    };
  }

  /**
   * Hashes every job's ranges. From an fs file the workers read the bytes
   * themselves; from a reader, each job up to `piece` bytes is read here and
   * lent to a worker (copied first unless the reader hands over fresh memory),
   * and a larger one-range job is streamed to one worker `piece` bytes at a
   * time. Fails with the first error; returns name → hex SHA-256.
   */
  async hashJobs(source: JobSource, jobs: HashJob[], onBytes?: (n: number) => void, piece = JOB_BYTES, signal?: AbortSignal): Promise<Record<string, string>> {
    const out = nameRecord<string>();
    let failed: unknown;
    const running: Promise<void>[] = [];
    const track = (p: Promise<Record<string, string>>) => {
      running.push(p.then((d) => void Object.assign(out, d), (e) => void (failed ??= e)));
    };
    // Aborting stops the workers' jobs: the pool (one per operation, see PoolLease) is closed, its workers
    // terminated mid-job, and every pending job fails at once.
    const stop = () => {
      failed ??= abortReason(signal!);
      this.close();
    };
    throwIfAborted(signal);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await this.runJobs(source, jobs, onBytes, piece, out, running, track, () => failed);
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  private async runJobs(source: JobSource, jobs: HashJob[], onBytes: ((n: number) => void) | undefined, piece: number, out: Record<string, string>,
    running: Promise<void>[], track: (p: Promise<Record<string, string>>) => void, failure: () => unknown): Promise<Record<string, string>> {
    for (const job of jobs) {
      if (failure()) break;
      if ('file' in source) {
        track(this.hashFileJob(source.file, source.key, job, onBytes));
        await this.roomForMore();
      } else if (job.to - job.from <= piece || job.ranges.length !== 1) {
        let bytes = await source.read(job.from, job.to);
        if (!(source.lends && HashPool.owns(bytes))) bytes = bytes.slice();
        const n = bytes.length;
        track(this.hashOwnedBytes(bytes, job.from, job.ranges).then((r) => (onBytes?.(n), r.digests)));
        await this.roomForMore();
      } else {
        const s = this.stream();
        const name = job.ranges[0].name;
        const done = (async () => {
          for (let off = job.from; off < job.to; off += piece) {
            const end = Math.min(job.to, off + piece);
            await s.update(await source.read(off, end));
            onBytes?.(end - off);
          }
          return { [name]: await s.digest() };
        })();
        track(done);
        await this.roomForMore();
      }
    }
    await Promise.all(running);
    if (failure()) throw failure();
    return out;
  }

  /** Waits until some worker can take another job, so that dispatching never runs far ahead of hashing. */
  private async roomForMore(): Promise<void> {
    while (!this.closed && this.workers.every((w) => w.dead || w.jobs >= JOBS_PER_WORKER)) {
      if (this.workers.every((w) => w.dead)) return;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.workers) w.ep?.terminate();
    for (const [, h] of this.handlers) h.fail(new IoError('the hashing pool was closed', { detail: 'WORKER' }));
    this.handlers.clear();
    this.wake();
  }
}


// What callers of the pool used to import from here.
export { AUTO_WORKERS_FROM, MAX_WORKERS, JOB_BYTES, PoolLease, storeSource, freshReads, coreCount } from './lease.js';
export type { ParallelOptions, JobSource, HashJob } from './lease.js';
