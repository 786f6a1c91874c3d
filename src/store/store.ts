// One storage interface for every backend (after TensorFlow.js tf.io, minus its
// global registry and its non-atomic save). Keys are '/'-separated paths
// relative to the store's root. Each backend lives in its own file; a pure
// router (src/store/resolve.ts) picks one from a URL or path.

import type { ByteRange } from '../types/range.js';

export type { ByteRange };

/** One entry of a listing: key, size, and whether it is a folder. */
export interface StoreEntry {
  key: string;
  size: number;
  isDirectory: boolean;
  /** When a file was last written, in ms since the epoch, where the store says (s3: LastModified). */
  modified?: number;
}

/** A value with the version a compare-and-swap compares (an S3 ETag; a counter in memory). */
export interface VersionedValue {
  bytes: Uint8Array;
  version: string;
}

/** What a conditional write expects to find: `null` = the key is absent, else the version read before. */
export interface WriteCondition {
  ifVersion: string | null;
}

/**
 * Per-call options of size, read, write, list and exists. `signal`: the AbortSignal of the operation the call belongs to
 * (readSafetensors, verify, sign, loadCheckpoint, …): a store that does I/O that can take long — a network
 * request — passes it on (to fetch, say), so that an aborted operation stops its request in flight, and rejects
 * with the signal's reason (or an error caused by it). A store may ignore it: the operation still stops
 * between calls. safeckpt passes it to every store given as an object (resolveSource); stores it makes from a
 * URL get the signal when they are made.
 */
export interface StoreCallOptions {
  signal?: AbortSignal;
}

/** One storage interface for every backend: read (ranges), write (bytes or streams), list, rename, remove, sync. */
export interface Store {
  /** Short name of the backend, e.g. 'fs', 'http', 'memory', 'opfs', 'idb'. */
  readonly kind: string;
  /** Human-readable location used in error messages. */
  describe(key: string): string;
  /** Size in bytes; NOT_FOUND when absent. */
  size(key: string, opts?: StoreCallOptions): Promise<number>;
  /** The bytes of `key`, or of `range` of it; NOT_FOUND when absent. */
  read(key: string, range?: ByteRange, opts?: StoreCallOptions): Promise<Uint8Array>;
  /**
   * Writes `key` whole (not atomic by itself: write a temporary key, sync, then rename). A store may
   * still be writing a streamed chunk after it has pulled the next few (fs and opfs keep up to 4 in flight), so a
   * producer must not reuse the memory of a chunk it has yielded; all writes have settled when this resolves.
   */
  write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>, opts?: StoreCallOptions): Promise<void>;
  /** Entries directly under `prefix` ('' for the root). */
  list(prefix: string, opts?: StoreCallOptions): Promise<StoreEntry[]>;
  exists(key: string, opts?: StoreCallOptions): Promise<boolean>;
  /** Atomic replace where the backend allows it. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a key or a whole prefix; absent keys are not an error. */
  remove(key: string): Promise<void>;
  /** Makes earlier writes and renames under `key` durable (fsync of file and directory on fs). */
  sync(key: string): Promise<void>;
  /**
   * Optional: an exclusive lock on `key` across processes, released by calling what it resolves to
   * (fs: a `KEY.lock` file). Use it through withLock (store/lock.ts), which also queues callers in one process.
   */
  lock?(key: string): Promise<() => Promise<void>>;
  /** True for read-only backends (http). */
  readonly readOnly: boolean;
  /** True when every read is a network round trip (http, s3): readers then fetch tensors lazily and coalesce near ranges. */
  readonly remote?: boolean;
  /**
   * True when `write` itself replaces a value whole or not at all (an S3 PUT): writeAtomic then writes in
   * place, since a temporary key and a rename (a copy on S3) would add nothing but cost.
   */
  readonly atomicWrites?: boolean;
  /** The value with its version, or null when absent (stores that can compare-and-swap: s3, memory). */
  readVersioned?(key: string): Promise<VersionedValue | null>;
  /**
   * Writes `key` only when its version is still `cond.ifVersion` (null: only when absent), atomically with
   * respect to every other writer; returns the new version. When another writer got there first it
   * rejects with an IO error whose detail is 'PRECONDITION_FAILED' and leaves the value alone.
   */
  writeIf?(key: string, data: Uint8Array, cond: WriteCondition): Promise<string>;
  /**
   * The whole value and its SHA-256, hashed in order as the bytes arrive (s3: while the later parts are still
   * downloading) rather than in a second pass after the last one. Stores without it: read, then hash.
   */
  readHashed?(key: string, opts?: StoreCallOptions): Promise<HashedValue>;
}

/**
 * A stream for Store.write whose producer can hand over one buffer refilled for every chunk. A store that is done
 * with each chunk before it asks for the next (it copies it: S3's parts) calls reuseChunks() before its first
 * pull; elsewhere every chunk must stay as it is until the write settles (fs keeps several writes of them in
 * flight). Offered by the stream itself, so the store that really copies says so, whatever wraps it.
 */
export interface ReusableChunks extends AsyncIterable<Uint8Array> {
  reuseChunks?(): void;
}

/** A value read whole with its SHA-256 (Store.readHashed). */
export interface HashedValue {
  bytes: Uint8Array;
  /** The 32-byte SHA-256 digest of `bytes`. */
  sha256: Uint8Array;
}
