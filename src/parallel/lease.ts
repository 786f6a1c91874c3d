// When to hash on workers, and the pool lease that opens one on first need.
// Everything here is small and loads with the code that hashes; the pool
// itself (pool.ts) and the worker's code load only when a lease opens a pool,
// so a page that never starts a worker never downloads them (a bundler that
// splits code keeps pool.ts out of the page as long as nothing imports it
// statically: only types are imported from it).
import { UnsupportedError } from '../errors.js';
import { FsStore } from '../store/fs.js';
import { OpfsStore } from '../store/opfs.js';
import type { Store } from '../store/store.js';
import { coreCount as platformCores, workersAvailable } from '../platform/runtime.js';
import type { HashPool } from './pool.js';
import type { NamedRange } from './range-hash.js';

/**
 * When `workers` is not given, the size from which each operation uses the
 * pool, as measured on 2 cores (BENCHMARKS.md): starting workers costs
 * ~50–100 ms, and what they save depends on the operation.
 */
export const AUTO_WORKERS_FROM = {
  /** verify/sign: the workers read the file themselves into reused buffers (128 MiB: 0.18 s vs 0.21 s on one thread). */
  verify: 64 << 20,
  /** load: every range read is new memory lent to a worker and back (128 MiB: 0.24 s vs 0.21 s; 256 MiB: 0.37 s vs 0.40 s). */
  load: 256 << 20,
  /**
   * write: never by default. The calling thread hashes while the I/O threads
   * write, and on a real disk the writes are the bottleneck: a worker adds a
   * copy of every chunk and competes with them for the cores (1 GiB: 3.8 s
   * vs 3.4 s; it wins only on a RAM disk, 1.42 s vs 1.64 s).
   */
  write: Infinity,
  /**
   * a write to S3 where memory can be shared with workers: the digests run there from one copy of each piece
   * (SharedFeed), and the calling thread only feeds the parts (1 GiB to RGW: 4.5 s vs 5.7 s on this thread).
   */
  s3Write: 64 << 20,
} as const;
/** Workers at most, whatever the core count: hashing also competes with reading. */
export const MAX_WORKERS = 4;
/** Bytes of whole tensors handed to a worker at once: small enough to balance, large enough to cost nothing to dispatch. */
export const JOB_BYTES = 32 << 20;
/** How many hashing workers to use: 0 = hash on the calling thread; omitted = decide by size and core count. */
export interface ParallelOptions {
  workers?: number;
}

/**
 * Where a pool's jobs get their bytes: a file of an fs store, opened by the
 * workers themselves, or a reader called here (`lends`: it returns fresh
 * memory that may be given away to a worker without a copy).
 */
export type JobSource =
  | { file: FsStore; key: string }
  | { read(start: number, end: number): Promise<Uint8Array>; lends: boolean };

/** A group of whole tensors read as one span [from, to). */
export interface HashJob {
  from: number;
  to: number;
  ranges: NamedRange[];
}

/** The source for `store[key]`: the workers read fs files themselves. */
export function storeSource(store: Store, key: string): JobSource {
  if (store instanceof FsStore) return { file: store, key };
  return { read: (start, end) => store.read(key, { start, end }), lends: freshReads(store) };
}

/** Processor cores (navigator.hardwareConcurrency, or node:os where there is no navigator). */
export function coreCount(): Promise<number> {
  return platformCores();
}

/** Whether `bytes` can be lent to a worker: it is the whole of an ordinary ArrayBuffer. */
export function ownsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
}

/** Stores whose read() returns fresh memory the caller owns (so it can be lent to a worker without a copy). */
export function freshReads(store: Store): boolean {
  return store instanceof FsStore || store instanceof OpfsStore || store.kind === 's3';
}

/**
 * A pool opened on first need and closed by its owner: `get(bytes)` returns
 * the pool when hashing `bytes` is worth the workers (or workers were asked
 * for), null when one thread should do it.
 */
export class PoolLease {
  private pool: Promise<HashPool | null> | undefined;
  private opened: HashPool | null = null;
  private closed = false;

  /** `most`: the pool's size when `workers` is not given (at most the cores). */
  constructor(private readonly opts: ParallelOptions = {}, private readonly autoFrom: number = AUTO_WORKERS_FROM.verify, private readonly most = MAX_WORKERS) {
    const n = opts.workers;
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
      throw new UnsupportedError(`workers must be a non-negative integer (0 = hash on this thread), got ${String(n)}`, { detail: 'BAD_OPTION' });
    }
  }

  get(bytes: number): Promise<HashPool | null> {
    const asked = this.opts.workers;
    if (this.pool) return this.pool;
    if (asked === 0 || (asked === undefined && bytes < this.autoFrom) || !workersAvailable()) return Promise.resolve(null);
    this.pool = (async () => {
      const n = asked ?? Math.min(this.most, await coreCount());
      // One core: workers would only take turns with this thread.
      if (n < 2 && asked === undefined) return null;
      if (this.closed) return null;
      // The pool's code (and, on its first worker, the worker's) loads only now: most pages never start one.
      const { HashPool } = await import('./pool.js');
      if (this.closed) return null;
      return (this.opened = new HashPool(Math.min(n, MAX_WORKERS)));
    })();
    return this.pool;
  }

  close(): void {
    this.closed = true;
    this.opened?.close();
  }
}

