// Writing safetensors files, streamed and atomic, byte-identical to the
// reference serializer (Hugging Face safetensors): compact header JSON,
// `__metadata__` first, tensors sorted by dtype (descending reference enum
// order) then by name bytewise, data back to back, header padded with spaces to
// a multiple of 8. The header is computed from shapes alone, then each tensor's
// bytes go to the store in slices, hashed on the way: the writer never holds
// more than the tensors the caller already has (#458 of the reference asks for
// exactly this). The sidecar is written with the file.
import { CheckpointError, CompatibilityError, UnsupportedError, errorFor } from '../errors.js';
import { ready as hashReady } from '../core/hash-engines.js';
import { createSha256, toHex, type Hasher } from '../core/hash.js';
import { chunkHasher, type ChunkHasher } from '../core/chunk-hash.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import type { ReusableChunks, Store } from '../store/store.js';
import { resolveSource, type Dest } from '../store/resolve.js';
import { tempKeyFor, writeAtomic } from '../store/atomic.js';
import { baseOf } from '../store/keys.js';
import { DTYPES, isDtype, type Dtype } from '../types/dtype.js';
import { MAX_HEADER_LENGTH } from '../core/header.js';
import type { TensorMap } from '../types/tensor.js';
import { CHUNK_SIZE, CHUNK_THRESHOLD, makeSidecar, serializeSidecar, sidecarKeyFor, type SidecarTensor } from './sidecar.js';
import { byCodePoint, type MacKey } from './signed-json.js';
import { AUTO_WORKERS_FROM, PoolLease, type ParallelOptions } from '../parallel/lease.js';
import type { FeedStream, HashPool, PoolStream } from '../parallel/pool.js';
import { DEFAULT_MODEL_KEY, indexKeyFor, serializeIndex, shardKeys, splitShards } from './sharded.js';
import { makeIndexSidecar } from './index-sidecar.js';
import { nameRecord } from '../name-record.js';
import { ProgressReporter, throwIfAborted, underSignal, type OperationOptions } from '../types/operation.js';

/** Which tensors get chunk digests in the sidecar, and how large a chunk is. */
export interface ChunkOptions {
  /** Tensors larger than this many bytes get chunk digests (default CHUNK_THRESHOLD). */
  threshold?: number;
  /** Bytes per chunk (default CHUNK_SIZE). */
  size?: number;
}

/** The chunk size a tensor of `byteLength` bytes is digested by under `opts`; null when it gets no chunk digests. */
export function chunkSizeFor(byteLength: number, opts?: ChunkOptions | false): number | null {
  if (opts === false) return null;
  const threshold = opts?.threshold ?? CHUNK_THRESHOLD, size = opts?.size ?? CHUNK_SIZE;
  if (!(Number.isSafeInteger(size) && size > 0)) throw new UnsupportedError(`chunks.size must be a positive integer, got ${size}`, { detail: 'BAD_CHUNK_SIZE', data: { found: size } });
  return byteLength <= threshold ? null : size;
}

/** Bytes handed to the store per write: large enough for few syscalls, small enough to be O(1) memory. */
export const WRITE_CHUNK = 8 << 20;

/** Options of writeSafetensors: metadata, HMAC key and key id, shard size, workers, progress, a logger. */
export interface WriteOptions extends ParallelOptions, OperationOptions {
  /** `__metadata__`: string → string, stored in the header and in the sidecar. */
  metadata?: Record<string, string> | null;
  /** HMAC-SHA256 key for the sidecar (never written anywhere). */
  key?: MacKey;
  /** Label of the key, stored next to the MAC so a verifier knows which key to use. */
  keyId?: string;
  /** Split into `PREFIX-0000i-of-0000N.safetensors` shards of at most this many data bytes plus an index. */
  maxShardSize?: number;
  /** Write the sidecar (default true). */
  sidecar?: boolean;
  /**
   * Chunk digests in the sidecar, so slices verify alone (file.slice): for tensors larger than `threshold`
   * (default CHUNK_THRESHOLD, 16 MiB), one SHA-256 per `size` bytes (default CHUNK_SIZE, 1 MiB); false: none.
   */
  chunks?: ChunkOptions | false;
  logger?: Logger;
}

/** What was written: the path, size, SHA-256 and per-tensor digests, the sidecar, the shards. */
export interface WriteResult {
  /** Where the file (or, sharded, the index) was written. */
  path: string;
  /** File size in bytes (sharded: the sum of the shard files). */
  size: number;
  /** SHA-256 of the file (sharded: of the index JSON). */
  sha256: string;
  /** name → SHA-256 of the tensor's bytes. */
  tensors: Record<string, string>;
  /** Where the sidecar was written, when one was. */
  sidecar?: string;
  /** The shard files, for a sharded write. */
  shards?: WriteResult[];
}

/** One tensor ready to be laid out: its bytes come on demand, once. */
export interface WriteEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  bytes(): Uint8Array;
  /**
   * Its bytes in order as pieces of at most `size` bytes, made as they are asked for (instead of bytes()): a
   * source that must copy its values out (a checkpoint's capture on TensorFlow.js's WASM heap) then never holds
   * the whole tensor, only the pieces the store has not written yet. With `into` (of at least `size` bytes), a
   * piece it must copy out anyway is copied into `into` and valid until the next is asked for (for a store that
   * copies each chunk before asking for the next: ReusableChunks), instead of into fresh memory.
   */
  pieces?(size: number, into?: Uint8Array): Iterable<Uint8Array>;
}

const TF_DTYPES: Record<string, Dtype> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

function entryOf(name: string, t: unknown): WriteEntry {
  const fail = (msg: string) => new CompatibilityError('DTYPE_MISMATCH', `tensor '${name}': ${msg}`, { tensor: name });
  if (name === '__metadata__') throw new UnsupportedError(`'__metadata__' is reserved by the safetensors format and cannot name a tensor`, { tensor: name, detail: 'RESERVED_NAME' });
  const o = t as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw fail('is not a tensor ({ dtype, shape, data }, a TensorView or a tf.Tensor)');
  let dtype: Dtype, bytes: () => Uint8Array, pieces: WriteEntry['pieces'];
  if (typeof o.dataSync === 'function' && typeof o.dtype === 'string' && TF_DTYPES[o.dtype]) {
    // A tf.Tensor (duck-typed: TensorFlow.js is a peer dependency, never imported here).
    dtype = TF_DTYPES[o.dtype];
    bytes = () => {
      const v = (o.dataSync as () => ArrayBufferView)();
      return dtype === 'BOOL' ? Uint8Array.from(v as Uint8Array, (x) => (x ? 1 : 0)) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    };
  } else if (typeof o.dtype === 'string' && isDtype(o.dtype) && typeof o.bytes === 'function') {
    dtype = o.dtype;
    bytes = () => (o.bytes as () => Uint8Array)();
    if (typeof o.pieces === 'function') pieces = (size, into) => (o.pieces as NonNullable<WriteEntry['pieces']>)(size, into);
  } else if (typeof o.dtype === 'string' && isDtype(o.dtype) && ArrayBuffer.isView(o.data)) {
    dtype = o.dtype;
    const v = o.data as ArrayBufferView;
    bytes = () => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  } else {
    throw fail(`dtype ${JSON.stringify(o.dtype)} is not a safetensors dtype (${Object.keys(DTYPES).join(', ')}) or the tensor has no data`);
  }
  const shape = o.shape as unknown;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`, { tensor: name });
  }
  const numel = shape.reduce((a: number, b: number) => a * b, 1);
  const bits = numel * DTYPES[dtype].bits;
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) {
    throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${name}': ${numel} elements of ${dtype} are not a whole number of bytes`, { tensor: name });
  }
  const declared = typeof o.byteLength === 'number' ? o.byteLength : ArrayBuffer.isView(o.data) ? (o.data as ArrayBufferView).byteLength : bits / 8;
  if (declared !== bits / 8) {
    throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${name}': shape [${shape.join(', ')}] of ${dtype} needs ${bits / 8} bytes, but its data has ${declared}`, {
      tensor: name, data: { expected: bits / 8, found: declared },
    });
  }
  return { name, dtype, shape: [...shape], byteLength: bits / 8, bytes, ...(pieces ? { pieces } : {}) };
}

const encoder = new TextEncoder();

/** Checks and orders the tensors of a map for writing. */
export function writeEntries(tensors: TensorMap): WriteEntry[] {
  return Object.entries(tensors).map(([name, t]) => entryOf(name, t));
}

/** Tensor data bytes `tensors` write (what writeSafetensors' progress counts). */
export function tensorBytes(tensors: TensorMap): number {
  return writeEntries(tensors).reduce((a, e) => a + e.byteLength, 0);
}


export interface Layout {
  /** The length prefix and the padded header JSON. */
  head: Uint8Array;
  /** Tensors in file order with their offsets in the data region. */
  order: Array<WriteEntry & { begin: number; end: number }>;
  dataLength: number;
}

/** The reference writer's layout for these tensors and metadata. */
export function layout(entries: WriteEntry[], metadata?: Record<string, string> | null): Layout {
  const sorted = [...entries].sort((a, b) => DTYPES[b.dtype].order - DTYPES[a.dtype].order || byCodePoint(a.name, b.name));
  let off = 0;
  const order = sorted.map((e) => {
    const begin = off;
    off += e.byteLength;
    return { ...e, begin, end: off };
  });
  const parts: string[] = [];
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new UnsupportedError(`metadata '${k}' is a ${typeof v}: safetensors metadata values must be strings (JSON-encode it first)`, { detail: 'METADATA_NOT_STRING' });
    }
    // Sorted keys: the reference's own order is random per process; sorted makes equal inputs equal bytes.
    const keys = Object.keys(metadata).sort(byCodePoint);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  for (const t of order) parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${t.begin},${t.end}]}`);
  const json = encoder.encode(`{${parts.join(',')}}`);
  const n = json.length + ((8 - (json.length % 8)) % 8);
  if (n > MAX_HEADER_LENGTH) {
    throw new UnsupportedError(`the header would be ${n} bytes; readers refuse headers over ${MAX_HEADER_LENGTH} bytes (split the model into shards)`, { detail: 'HEADER_TOO_LARGE' });
  }
  const head = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  return { head, order, dataLength: off };
}

interface Written {
  size: number;
  sha256: string;
  headerSha256: string;
  tensors: Record<string, SidecarTensor>;
}

/** A tensor's bytes in pieces of at most WRITE_CHUNK, from its own pieces() when it has one (copied into `into`, if given). */
function* piecesOf(t: WriteEntry, into?: Uint8Array): Generator<Uint8Array> {
  if (t.pieces) {
    yield* t.pieces(WRITE_CHUNK, into);
    return;
  }
  const b = t.bytes();
  if (b.length !== t.byteLength) {
    throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${t.name}' produced ${b.length} bytes, ${t.byteLength} were declared`, { tensor: t.name });
  }
  for (let off = 0; off < b.length; off += WRITE_CHUNK) yield b.subarray(off, Math.min(b.length, off + WRITE_CHUNK));
}

/** A tensor's digests as a write computes them: its SHA-256 and, when asked for, its chunk digests. */
interface TensorDigests {
  result(): Promise<{ sha256: string; chunks?: string[] }> | { sha256: string; chunks?: string[] };
}

/** The digests a write computes while its bytes stream past: the whole file's, and each tensor's. */
interface WriteDigests {
  /** Starts a tensor's digests (and its chunk digests of `chunk` bytes, unless null). */
  tensor(chunk: number | null): TensorDigests;
  /** Feeds `bytes` to the file's digest and, when given, to `t`'s. */
  feed(bytes: Uint8Array, t?: TensorDigests): Promise<void> | void;
  /** The file's hex SHA-256, once every byte is fed. */
  file(): Promise<string> | string;
  close(): void;
}

/** Every digest on this thread. */
function digestsHere(): WriteDigests {
  const file = createSha256();
  const parts = new Map<TensorDigests, { h: Hasher; chunks: ChunkHasher | null }>();
  return {
    tensor(chunk) {
      const t: TensorDigests = { result: () => ({ sha256: toHex(h.digest()), ...(chunks ? { chunks: chunks.result() } : {}) }) };
      const h = createSha256(), chunks = chunk === null ? null : chunkHasher(chunk);
      parts.set(t, { h, chunks });
      return t;
    },
    feed(bytes, t) {
      file.update(bytes);
      if (!t) return;
      const p = parts.get(t)!;
      p.h.update(bytes);
      p.chunks?.update(bytes);
    },
    file: () => toHex(file.digest()),
    close() {},
  };
}

/**
 * From what size a write to `store` hashes on workers when `workers` is not given: on this thread, except to S3
 * where memory can be shared with the workers. There the file's digest runs on one worker and the tensors' on
 * another, each piece copied once (BENCHMARKS.md "s3"); with transferred copies instead, workers cost 1.6 CPU-s
 * more per GiB than they saved.
 */
export function autoWorkersFrom(store: Store): number {
  return store.kind === 's3' && typeof SharedArrayBuffer === 'function' ? AUTO_WORKERS_FROM.s3Write : AUTO_WORKERS_FROM.write;
}

/** Workers a write's digests keep busy at most: the file's stream on one, the tensors' on the next. */
const WRITE_LANES = 2;

/**
 * On a pool's workers. Where memory can be shared with them (SharedFeed), each piece is copied once into a
 * shared slot and hashed there by both streams: the file's on one worker, its tensor's on the next. Elsewhere
 * each stream gets its own copy through transferred buffers (PoolStream).
 */
function digestsOnPool(pool: HashPool): WriteDigests {
  const shared = pool.sharedFeed(WRITE_CHUNK);
  if (shared) {
    const file = shared.open({ lane: 0 });
    return {
      tensor: (chunk) => shared.open({ lane: 1, ...(chunk === null ? {} : { chunk }) }),
      feed: (bytes, t) => shared.feed(bytes, t ? [file, t as FeedStream] : [file]),
      file: async () => (await file.result()).sha256,
      close: () => shared.close(),
    };
  }
  const file = pool.stream();
  return {
    tensor: (chunk) => pool.stream(chunk === null ? {} : { chunk }),
    async feed(bytes, t) {
      await file.update(bytes);
      if (t) await (t as PoolStream).update(bytes);
    },
    file: () => file.digest(),
    close() {},
  };
}

/**
 * Streams `lay` to `store[key]`, hashing the file, its header and each tensor on the way: every byte feeds
 * the file's digest and its tensor's (WriteDigests), on this thread or, with a pool, on its workers.
 */
async function stream(store: Store, key: string, lay: Layout, onChunk: (n: number) => void, pool: HashPool | null, signal?: AbortSignal, chunking?: ChunkOptions | false): Promise<Written> {
  const digests = pool ? digestsOnPool(pool) : digestsHere();
  const headerSha256 = toHex(createSha256().update(lay.head).digest());
  const tensors = nameRecord<SidecarTensor>();
  // A store that copies each chunk before asking for the next (S3: ReusableChunks) gets the pieces a source must
  // copy out (a capture on TensorFlow.js's heap) in one reused buffer: each is hashed below before the next is made.
  let scratch: Uint8Array | undefined;
  // The tensors' digests, collected at the end in file order: waiting for a worker's at every tensor would stall the stream.
  const pending: Promise<() => void>[] = [];
  async function* chunks(): AsyncGenerator<Uint8Array> {
    // An abort stops the stream before its next chunk: the store's write fails, and the temporary file goes.
    throwIfAborted(signal);
    await digests.feed(lay.head);
    yield lay.head;
    for (const t of lay.order) {
      const chunkSize = chunkSizeFor(t.byteLength, chunking);
      const td = digests.tensor(chunkSize);
      let done = 0;
      for (const c of piecesOf(t, scratch)) {
        throwIfAborted(signal);
        if (done + c.length > t.byteLength) {
          throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${t.name}' produced more than the ${t.byteLength} bytes declared`, { tensor: t.name });
        }
        done += c.length;
        // Handed to the store first: its write runs on the I/O threads while the chunk is hashed here.
        yield c;
        await digests.feed(c, td);
        onChunk(c.length);
      }
      if (done !== t.byteLength) {
        throw new CompatibilityError('SHAPE_MISMATCH', `tensor '${t.name}' produced ${done} bytes, ${t.byteLength} were declared`, { tensor: t.name });
      }
      const r = Promise.resolve(td.result()).then((d) => () => {
        tensors[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.end], sha256: d.sha256, ...(chunkSize === null ? {} : { chunks: { size: chunkSize, sha256: d.chunks ?? [] } }) };
      });
      r.catch(() => {});
      pending.push(r);
    }
  }
  const stream: ReusableChunks = Object.assign(chunks(), { reuseChunks: () => void (scratch ??= new Uint8Array(WRITE_CHUNK)) });
  try {
    await store.write(key, stream);
    for (const record of await Promise.all(pending)) record();
    return { size: lay.head.length + lay.dataLength, sha256: await digests.file(), headerSha256, tensors };
  } finally {
    digests.close();
  }
}

/**
 * Writes one safetensors file and its sidecar at `key`, atomically: both go to
 * temporary names and are synced; the old sidecar is removed; then the file and
 * the sidecar are renamed into place. A crash leaves the old file, or the new
 * file without a sidecar, or both new — never a file next to a sidecar that
 * describes another.
 */
export async function writeSafetensorsAt(store: Store, key: string, entries: WriteEntry[], opts: WriteOptions = {}, progress?: ProgressReporter, lease?: PoolLease): Promise<WriteResult> {
  const log = loggerFrom(opts);
  const lay = layout(entries, opts.metadata);
  const total = lay.head.length + lay.dataLength;
  const onChunk = progress?.onBytes ?? (() => {});
  // An object store's PUT is all-or-nothing, and its rename is a copy: there the file and sidecar are written in
  // place, the old sidecar removed first, so the same crash outcomes hold without copying the file.
  const direct = store.atomicWrites === true;
  const tmp = direct ? key : tempKeyFor(key);
  const side = sidecarKeyFor(key);
  const sideTmp = direct ? side : tempKeyFor(side);
  const withSidecar = opts.sidecar !== false;
  try {
    if (direct) await store.remove(side);
    const w = await stream(store, tmp, lay, onChunk, lease ? await lease.get(total) : null, opts.signal, opts.chunks);
    await store.sync(tmp);
    throwIfAborted(opts.signal);
    if (withSidecar) {
      const sc = makeSidecar({
        file: baseOf(key), size: w.size, sha256: w.sha256, header_sha256: w.headerSha256, tensors: w.tensors,
        metadata: opts.metadata ?? null,
      }, opts.key, opts.keyId);
      await store.write(sideTmp, serializeSidecar(sc));
      await store.sync(sideTmp);
    }
    throwIfAborted(opts.signal);
    if (!direct) {
      await store.remove(side);
      await store.rename(tmp, key);
      if (withSidecar) await store.rename(sideTmp, side);
    }
    await store.sync(key);
    log.info('wrote safetensors', { path: store.describe(key), size: w.size, tensors: entries.length, sha256: w.sha256, signed: opts.key !== undefined });
    const digests = nameRecord<string>();
    for (const t of lay.order) digests[t.name] = w.tensors[t.name].sha256;
    return {
      path: store.describe(key), size: w.size, sha256: w.sha256, tensors: digests,
      ...(withSidecar ? { sidecar: store.describe(side) } : {}),
    };
  } catch (e) {
    if (!direct) {
      await store.remove(tmp).catch(() => {});
      await store.remove(sideTmp).catch(() => {});
    }
    log.error('safetensors write failed', { path: store.describe(key), error: String(e) });
    if (e instanceof CheckpointError) throw e;
    throw errorFor('IO', `writing ${store.describe(key)} failed: ${(e as Error)?.message ?? String(e)}`, { path: store.describe(key), cause: e });
  }
}

/** Writes tensors as safetensors, byte-identical to the reference writer, streamed and hashed as written, with its sidecar (signed with a key); atomic; sharded past maxShardSize. */
export async function writeSafetensors(dest: Dest, tensors: TensorMap, opts: WriteOptions = {}): Promise<WriteResult> {
  return underSignal(opts.signal, () => writeUnder(dest, tensors, opts));
}

async function writeUnder(dest: Dest, tensors: TensorMap, opts: WriteOptions): Promise<WriteResult> {
  const { store, key: k } = resolveSource(dest, { signal: opts.signal });
  if (store.readOnly) {
    throw new UnsupportedError(`cannot write to ${store.describe(k)}: ${store.kind} is read-only`, { detail: 'READ_ONLY', path: store.describe(k) });
  }
  const key = k === '' ? DEFAULT_MODEL_KEY : k;
  const entries = writeEntries(tensors);
  // Large data follows: load this runtime's SHA-256 engine first (src/core/hash-engines.ts).
  await hashReady();
  const lease = new PoolLease(opts, autoWorkersFrom(store), WRITE_LANES);
  // Progress counts the tensors' bytes as they are written (the header and sidecars are small).
  const progress = new ProgressReporter(opts.onProgress, entries.reduce((a, e) => a + e.byteLength, 0), 'write');
  try {
    const r = opts.maxShardSize !== undefined ? await writeShardedAt(store, key, entries, opts, lease, progress)
      : await writeSafetensorsAt(store, key, entries, opts, progress, lease);
    progress.finish();
    return r;
  } finally {
    lease.close();
  }
}

/**
 * Writes shards (each with its sidecar), then the index and its sidecar. The
 * index is committed last: until it lands, readers see the previous model (or
 * none); shards of an interrupted write are plain unreferenced files.
 */
export async function writeShardedAt(store: Store, key: string, entries: WriteEntry[], opts: WriteOptions, lease?: PoolLease, progress?: ProgressReporter): Promise<WriteResult> {
  const sorted = [...entries].sort((a, b) => byCodePoint(a.name, b.name));
  const groups = splitShards(sorted, opts.maxShardSize!);
  const keys = shardKeys(key, groups.length);
  const total = entries.reduce((a, e) => a + e.byteLength, 0);
  const shards: WriteResult[] = [];
  const weightMap = nameRecord<string>();
  const tensors = nameRecord<string>();
  const shardFacts = nameRecord<{ size: number; sha256: string }>();
  for (let i = 0; i < groups.length; i++) {
    const r = await writeSafetensorsAt(store, keys[i], groups[i], { ...opts, maxShardSize: undefined }, progress, lease);
    shards.push(r);
    shardFacts[baseOf(keys[i])] = { size: r.size, sha256: r.sha256 };
    for (const e of groups[i]) {
      weightMap[e.name] = baseOf(keys[i]);
      tensors[e.name] = r.tensors[e.name];
    }
  }
  // Until the index lands, readers see the previous model: an abort here leaves only unreferenced shards.
  throwIfAborted(opts.signal);
  const ik = indexKeyFor(key);
  const indexBytes = serializeIndex({ metadata: { total_size: total }, weight_map: weightMap });
  const indexSha = toHex(createSha256().update(indexBytes).digest());
  const side = sidecarKeyFor(ik);
  if (opts.sidecar !== false) {
    await writeAtomic(store, side + '.next', serializeJsonDoc(makeIndexSidecar(ik, indexBytes.length, indexSha, shardFacts, opts.key, opts.keyId)));
  }
  await store.remove(side);
  await writeAtomic(store, ik, indexBytes);
  if (opts.sidecar !== false) {
    await store.rename(side + '.next', side);
    await store.sync(side);
  }
  loggerFrom(opts).info('wrote sharded safetensors', { path: store.describe(ik), shards: keys.length, total_size: total });
  return {
    path: store.describe(ik), size: shards.reduce((a, r) => a + r.size, 0), sha256: indexSha, tensors, shards,
    ...(opts.sidecar !== false ? { sidecar: store.describe(side) } : {}),
  };
}

function serializeJsonDoc(doc: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(doc, null, 1) + '\n');
}
