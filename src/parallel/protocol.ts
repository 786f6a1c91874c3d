// Messages between the hashing pool (src/parallel/pool.ts) and its workers
// (src/parallel/hash-worker.ts). Plain structured-cloneable objects; byte
// buffers travel as transferred ArrayBuffers and come back the same way, so
// nothing is copied between threads and nothing stays allocated in flight.
import type { NamedRange } from './range-hash.js';

export type WorkerRequest =
  /** Pins the engine the main thread runs (digests are the same whichever runs; speed is not). */
  | { op: 'init'; engine: string }
  /**
   * Hash `ranges` of the file at root/key, reading [from, to) itself in `slice`-byte reads; `keep`: into fresh
   * memory sent back with the digests (a load: a piece per tensor, small ones together), else into a reused buffer.
   */
  | { op: 'file'; id: number; root: string; key: string; from: number; to: number; slice: number; ranges: NamedRange[]; keep?: boolean }
  /** Hash `ranges` of `buffer`, whose first byte is at absolute position `offset`; the buffer is sent back. */
  | { op: 'bytes'; id: number; buffer: ArrayBuffer; offset: number; length: number; ranges: NamedRange[] }
  /** Starts a streamed SHA-256 under `id` (and, with `chunk`, the digests of every `chunk` bytes of it). */
  | { op: 'open'; id: number; chunk?: number }
  /** Feeds the first `length` bytes of `buffer` to stream `id`; the buffer is sent back. */
  | { op: 'update'; id: number; buffer: ArrayBuffer; length: number }
  /** Finishes stream `id`. */
  | { op: 'digest'; id: number }
  /** Memory shared with the pool (SharedFeed): `slots` pieces of `slotBytes`, known to this worker as `id`. */
  | { op: 'share'; id: number; buffer: SharedArrayBuffer; slotBytes: number }
  /** Feeds the first `length` bytes of slot `slot` of shared memory `id` to each of `streams`, in order; answered 'freed'. */
  | { op: 'feed'; id: number; slot: number; length: number; streams: number[] }
  /** Forgets shared memory `id`. */
  | { op: 'unshare'; id: number };

export type WorkerReply =
  | { op: 'ready' }
  | { op: 'progress'; id: number; bytes: number }
  /**
   * `buffers`/`starts`: a 'file' job with `keep`, its bytes in pieces of fresh memory and where each begins in the file;
   * `chunks`: a stream opened with `chunk`, its chunk digests.
   */
  | { op: 'done'; id: number; digests?: Record<string, string>; digest?: string; chunks?: string[]; buffer?: ArrayBuffer; buffers?: ArrayBuffer[]; starts?: number[] }
  /** Slot `slot` of shared memory `id` hashed: it may be filled again. */
  | { op: 'freed'; id: number; slot: number }
  /** A buffer of stream `id` hashed and handed back for reuse. */
  | { op: 'returned'; id: number; buffer: ArrayBuffer }
  /** `error` is CheckpointError.toJSON() (or a plain message for anything else). */
  | { op: 'error'; id: number; error: Record<string, unknown>; buffer?: ArrayBuffer };
