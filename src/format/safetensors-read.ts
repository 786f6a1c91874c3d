// Reading safetensors, from any store. The header comes first: 8 bytes, the
// length checked against the cap and the file size, then exactly N bytes
// (never a guessed prefix). Tensor data is read as few large ranges; every
// TensorView is a zero-copy view of those bytes. Local files are loaded whole
// by default; remote ones (HTTP) load nothing until asked, then fetch only the
// tensors asked for — and, when a sidecar exists, check each one's SHA-256
// against it (and the header's), so a tensor fetched alone is verified alone.
import { CheckpointError, IntegrityError, NotFoundError, errorFor } from '../errors.js';
import { parseHeader, readHeaderLength, HEADER_PREFIX_BYTES } from '../core/header.js';
import { createSha256, sha256Async, toHex } from '../core/hash.js';
import { ready as hashReady } from '../core/hash-engines.js';
import { publicKeyCheck } from './public-key-check.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { FsStore } from '../store/fs.js';
import type { Header, TensorInfo, TensorView } from '../types/tensor.js';
import { SafetensorsView } from './safetensors-view.js';
import type { SliceRanges } from './slice.js';
import { parseSidecar, sidecarKeyFor, type Sidecar } from './sidecar.js';
import { checkJsonMac, type MacKey, type SignatureCheck } from './signed-json.js';
import type { PublicKeyInput } from './signature.js';
import { AUTO_WORKERS_FROM, PoolLease, freshReads, ownsBuffer, type ParallelOptions } from '../parallel/lease.js';
import type { HashPool } from '../parallel/pool.js';
import { nameRecord, own } from '../name-record.js';
import { abortReason, ProgressReporter, throwIfAborted, type OperationOptions } from '../types/operation.js';

/** Bytes per read when loading many tensors: few requests, no single multi-GB buffer. */
export const READ_SEGMENT = 256 << 20;
/** Two requested tensors this close are fetched in one range request (gap bytes are cheaper than a round trip). */
export const COALESCE_GAP = 64 << 10;
/** Bytes per request when loading a remote file with verification: each request's tensors are hashed while the next downloads. */
export const REMOTE_VERIFIED_SEGMENT = 32 << 20;
/** Such requests in flight at once. */
export const REMOTE_REQUESTS_IN_FLIGHT = 3;

/** Options of readSafetensors: what to load now, whether to verify against the sidecar, strict mode, the HMAC key, workers, a logger. */
export interface ReadOptions extends ParallelOptions, OperationOptions {
  /** Tensors to fetch now: 'all' (default for local stores), 'none' (default for http), or a list of names. */
  load?: 'all' | 'none' | string[];
  /** Check what is loaded against the sidecar when there is one (default true). */
  verify?: boolean;
  /** Refuse a file without a sidecar (INTEGRITY, detail SIDECAR_MISSING). */
  strict?: boolean;
  /** HMAC key: the sidecar must be signed with it (AUTH otherwise). */
  key?: MacKey;
  /**
   * Ed25519 public key (PEM, JWK or CryptoKey), as verify takes it: the sidecar — sharded: every shard's and
   * the index sidecar, which binds the shards — must carry a valid signature by it, checked when the file is
   * opened, before any tensor is returned (AUTH SIGNATURE_MISSING / WRONG_KEY / MISMATCH otherwise). Tensors
   * and slices are then checked against the signed digests.
   */
  publicKey?: PublicKeyInput;
  /** The check `publicKey` became (openModel makes it once; callers that already have one pass it down). */
  checkSignature?: SignatureCheck;
  logger?: Logger;
  // signal: cancels the open and the initial load, and every later tensor fetch of the file (they reject with
  // its reason); onProgress: bytes of tensor data loaded by the open (phase 'read').
}

/** ReadOptions, and what a caller that has already checked the file's bytes knows (internal: checkpoints). */
export interface OpenOptions extends ReadOptions {
  /**
   * The SHA-256 of the whole file, checked by the caller against the bytes it holds (a checkpoint's manifest
   * records it). A sidecar that records this same hash was made from exactly these bytes, so its tensor
   * digests are not computed again: one pass over the data instead of two. The sidecar is still checked
   * against the header and size (and its HMAC with a key).
   */
  fileSha256?: string;
}

/** An opened safetensors file or sharded model: header, metadata, names, and tensors fetched (and verified) on demand. */
export interface SafetensorsFile {
  /** The file (or, sharded, the index) as a location people can read. */
  readonly path: string;
  readonly header: Header;
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Tensor names in file order (sharded: shard after shard). */
  readonly names: readonly string[];
  /** The parsed sidecar, or null when there is none (sharded: the first shard's). */
  readonly sidecar: Sidecar | null;
  /** name → view of every tensor loaded so far (all of them after a full load). */
  readonly tensors: Readonly<Record<string, TensorView>>;
  /** One tensor, fetched (and verified) if it is not loaded yet. */
  tensor(name: string): Promise<TensorView>;
  /**
   * Part of a tensor: one [start, end) per leading dimension (`[[10, 20]]` = rows 10–19, as
   * `get_slice(name)[10:20]`), the rest whole. Only the byte ranges it needs are fetched (whole chunks when
   * the sidecar records chunk digests, each verified on its own; else the whole tensor, verified by its digest).
   */
  slice(name: string, ranges: SliceRanges): Promise<TensorView>;
  /** Fetches these tensors (all when omitted), coalescing neighbouring ranges into one request. */
  load(names?: readonly string[]): Promise<Record<string, TensorView>>;
  /** The shards of a sharded model (a single file: itself). */
  readonly files: readonly SafetensorsFile[];
}

/** Reads and validates the header of `store[key]`: 8 bytes, then exactly N. Returns the header and the file size. */
export async function readHeaderAt(store: Store, key: string, probe?: Uint8Array): Promise<{ header: Header; size: number; head: Uint8Array }> {
  const path = store.describe(key);
  // The prefix first: over HTTP its 206 answer carries the file size (Content-Range), so size() below costs
  // no request of its own — a round trip less for every remote open. Only a file shorter than the prefix
  // needs the size first, to read what there is and say precisely what is wrong with it. A `probe` (the
  // first bytes, already read to tell what the file is) saves that request.
  let first = probe && probe.length >= HEADER_PREFIX_BYTES ? probe.subarray(0, HEADER_PREFIX_BYTES) : await store.read(key, { start: 0, end: HEADER_PREFIX_BYTES }).catch((e: unknown) => {
    if (e instanceof CheckpointError && e.code === 'CORRUPT' && e.detail === 'SHORT_READ') return null;
    throw e;
  });
  const size = await store.size(key);
  first ??= await store.read(key, { start: 0, end: Math.min(size, HEADER_PREFIX_BYTES) });
  const n = readHeaderLength(first, { fileSize: size, path });
  const head = new Uint8Array(HEADER_PREFIX_BYTES + n);
  head.set(first);
  head.set(await store.read(key, { start: HEADER_PREFIX_BYTES, end: HEADER_PREFIX_BYTES + n }), HEADER_PREFIX_BYTES);
  return { header: parseHeader(head, { fileSize: size, path }), size, head };
}

/** The sidecar of `key`, or null when absent. A sidecar that exists but is unreadable is CORRUPT. */
export async function readSidecarAt(store: Store, key: string): Promise<Sidecar | null> {
  let bytes: Uint8Array;
  try {
    bytes = await store.read(sidecarKeyFor(key));
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  return parseSidecar(bytes, store.describe(sidecarKeyFor(key)));
}

export function sidecarMissing(store: Store, key: string): CheckpointError {
  return new IntegrityError(`${store.describe(key)} has no sidecar (${store.describe(sidecarKeyFor(key))}), so its integrity cannot be checked; strict mode refuses it. Create one with \`safeckpt sign\` from a trusted copy, or drop strict mode`, {
    path: store.describe(sidecarKeyFor(key)), detail: 'SIDECAR_MISSING',
  });
}

/** Checks the sidecar's MAC (when a key is given) and that it describes a file of this size and header. */
export function checkSidecarAgainst(store: Store, key: string, sc: Sidecar | null, size: number, head: Uint8Array, opts: { key?: MacKey; strict?: boolean }): void {
  const path = store.describe(key);
  if (!sc) {
    if (opts.key !== undefined) {
      throw errorFor('AUTH', `${path} has no sidecar, so it carries no HMAC, but a key was given: it is not authenticated (sign it with \`safeckpt sign\`)`, {
        path: store.describe(sidecarKeyFor(key)), detail: 'HMAC_MISSING',
      });
    }
    if (opts.strict) throw sidecarMissing(store, key);
    return;
  }
  if (opts.key !== undefined) checkJsonMac(sc as unknown as Record<string, unknown>, opts.key, store.describe(sidecarKeyFor(key)));
  if (sc.size !== size) {
    throw new IntegrityError(`${path} is ${size} bytes, but its sidecar records ${sc.size}: the file was truncated, extended or replaced`, {
      path, detail: 'SIZE_MISMATCH', data: { expected: sc.size, found: size },
    });
  }
  const h = toHex(createSha256().update(head).digest());
  if (h !== sc.header_sha256) {
    throw new IntegrityError(`${path}: the header (first ${head.length} bytes) has SHA-256 ${h}, but the sidecar records ${sc.header_sha256}: tensor names, shapes, offsets or metadata were changed`, {
      path, detail: 'HEADER_HASH_MISMATCH', data: { expected: sc.header_sha256, found: h },
    });
  }
}

/** Throws INTEGRITY naming the tensor unless `bytes` hash to what the sidecar records for it. */
export function checkTensor(path: string, sc: Sidecar, name: string, digest: string): void {
  const want = own(sc.tensors, name)?.sha256;
  if (want === undefined) {
    throw new IntegrityError(`${path}: tensor '${name}' is not in the sidecar (the header and the sidecar disagree)`, { path, tensor: name, detail: 'TENSOR_NOT_IN_SIDECAR' });
  }
  if (digest !== want) {
    throw new IntegrityError(`${path}: tensor '${name}' has SHA-256 ${digest}, but the sidecar records ${want}: its data was changed or corrupted`, {
      path, tensor: name, detail: 'TENSOR_HASH_MISMATCH', data: { expected: want, found: digest },
    });
  }
}

interface Range { start: number; end: number; infos: TensorInfo[] }

/** Groups tensors (sorted by offset) into read ranges: neighbours within `gap`, at most `max` bytes unless one tensor is larger. */
export function planReads(infos: TensorInfo[], gap: number, max: number): Range[] {
  const sorted = [...infos].sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const t of sorted) {
    const last = out[out.length - 1];
    if (last && t.begin - last.end <= gap && t.end - last.start <= max) {
      last.end = Math.max(last.end, t.end);
      last.infos.push(t);
    } else out.push({ start: t.begin, end: t.end, infos: [t] });
  }
  return out;
}

export class SingleFile implements SafetensorsFile {
  readonly path: string;
  readonly names: readonly string[];
  readonly files: readonly SafetensorsFile[] = [this];
  private readonly loaded = nameRecord<TensorView>();
  private readonly pending = new Map<string, Promise<TensorView>>();

  constructor(
    private readonly store: Store,
    private readonly key: string,
    readonly header: Header,
    /** The file's size in bytes. */
    readonly size: number,
    readonly sidecar: Sidecar | null,
    private readonly verify: boolean,
    private readonly log: Logger,
    /** The open's signal: it also cancels the file's later fetches. */
    private readonly signal?: AbortSignal,
  ) {
    this.path = store.describe(key);
    this.names = header.names();
  }

  get metadata() { return this.header.metadata; }
  get tensors(): Readonly<Record<string, TensorView>> { return this.loaded; }

  private info(name: string): TensorInfo {
    const i = this.header.get(name);
    if (!i) throw new NotFoundError(`${this.path} has no tensor '${name}' (it has ${this.names.length}: ${this.names.slice(0, 5).join(', ')}${this.names.length > 5 ? ', …' : ''})`, { path: this.path, tensor: name });
    return i;
  }

  async slice(name: string, ranges: SliceRanges): Promise<TensorView> {
    const info = this.info(name);
    // Loaded on first use: a page that never slices does not ship it.
    const { assemble, checkChunks, fetchRanges, planSlice } = await import('./slice.js');
    const plan = planSlice(this.path, info, ranges);
    const view = (data: Uint8Array) => new SafetensorsView({ name, dtype: info.dtype, shape: plan.shape, begin: 0, end: data.length, byteLength: data.length }, data);
    const chunks = this.verify && this.sidecar ? own(this.sidecar.tensors, name)?.chunks : undefined;
    if (this.verify && this.sidecar && !chunks) {
      // No chunk digests (a small tensor, a version-1 sidecar): only the tensor's own digest can vouch for it.
      const whole = (await this.tensor(name)).bytes();
      return view(assemble(plan, [{ start: 0, bytes: whole }]));
    }
    const base = this.header.dataStart + info.begin;
    const fetched = await Promise.all(fetchRanges(plan, info.byteLength, chunks?.size ?? null, this.store.remote ? COALESCE_GAP : 0).map(async (r) => {
      const bytes = await this.store.read(this.key, { start: base + r.start, end: base + r.end });
      if (chunks) checkChunks(this.path, name, chunks, r.start, bytes);
      return { start: r.start, bytes };
    }));
    this.log.debug('sliced tensor', { path: this.path, tensor: name, bytes: fetched.reduce((a, f) => a + f.bytes.length, 0), verified: !!chunks });
    return view(assemble(plan, fetched));
  }

  async tensor(name: string): Promise<TensorView> {
    return (await this.load([name]))[name];
  }

  /**
   * With a pool (the initial load of a large local file), tensors are read in
   * smaller ranges, each lent to a worker for hashing while the next is read.
   */
  async load(names: readonly string[] = this.names, pool: HashPool | null = null, progress?: ProgressReporter): Promise<Record<string, TensorView>> {
    const infos = names.map((n) => this.info(n));
    const missing = infos.filter((i) => !this.loaded[i.name] && !this.pending.has(i.name));
    // A remote file being verified is fetched in smaller requests, a few at a time, so that each one's
    // tensors are digested while the next ones download (one request for everything would hash only at the end).
    const staged = this.store.remote && this.verify && !!this.sidecar;
    const ranges = planReads(missing, this.store.remote ? COALESCE_GAP : 0, pool ? pool.loadJobBytes(missing.reduce((a, i) => a + i.byteLength, 0), this.store instanceof FsStore) : staged ? REMOTE_VERIFIED_SEGMENT : READ_SEGMENT);
    // With a pool, a few reads at a time: started all at once, every read would finish (its file closed)
    // only after the last one, and hashing could not overlap reading. Workers that read a local file
    // themselves are given as many jobs as they queue, so that none waits for this thread between two.
    const ahead = pool ? (this.store instanceof FsStore ? pool.capacity : pool.size) : staged ? REMOTE_REQUESTS_IN_FLIGHT : Infinity;
    let gate: Promise<unknown> = Promise.resolve();
    const inFlight: Promise<unknown>[] = [];
    for (const r of ranges) {
      let p: Promise<Map<string, TensorView>>;
      if (ahead !== Infinity) {
        p = gate.then(() => this.fetch(r, pool, progress));
        const settled = p.catch(() => {});
        inFlight.push(settled);
        gate = inFlight.length > ahead ? inFlight[inFlight.length - 1 - ahead] : gate;
      } else p = this.fetch(r, pool, progress);
      for (const i of r.infos) {
        const one = p.then((m) => m.get(i.name)!);
        one.catch(() => {});
        this.pending.set(i.name, one);
      }
    }
    const out = nameRecord<TensorView>();
    try {
      for (const i of infos) out[i.name] = this.loaded[i.name] ?? (await this.pending.get(i.name)!);
    } finally {
      for (const i of infos) this.pending.delete(i.name);
    }
    return out;
  }

  private async fetch(r: Range, pool: HashPool | null, progress?: ProgressReporter): Promise<Map<string, TensorView>> {
    try {
      return await this.fetchRange(r, pool, progress);
    } catch (e) {
      // Aborted mid-read (a cancelled fetch, a closed pool): the caller gets the signal's reason, as from fetch.
      if (this.signal?.aborted) throw abortReason(this.signal);
      throw e;
    }
  }

  private async fetchRange(r: Range, pool: HashPool | null, progress?: ProgressReporter): Promise<Map<string, TensorView>> {
    throwIfAborted(this.signal);
    const base = this.header.dataStart;
    const check = this.verify && this.sidecar;
    let digests: Record<string, string> | undefined;
    let dataOf: (i: TensorInfo) => Uint8Array;
    // A local file: a worker reads the range into fresh memory itself, hashing as it reads, and hands it back.
    if (check && pool && this.store instanceof FsStore) ({ digests, dataOf } = await pool.loadTensors(this.store, this.key, base, r.infos));
    else {
      let bytes = await this.store.read(this.key, { start: base + r.start, end: base + r.end });
      throwIfAborted(this.signal);
      if (check && pool && freshReads(this.store) && ownsBuffer(bytes)) {
        ({ digests, bytes } = await pool.hashOwnedBytes(bytes, r.start, r.infos.map((i) => ({ name: i.name, start: i.begin, end: i.end }))));
      }
      dataOf = (i) => bytes.subarray(i.begin - r.start, i.end - r.start);
    }
    throwIfAborted(this.signal);
    const out = new Map<string, TensorView>();
    // Tensors not hashed on a worker: all at once, so that where WebCrypto digests them (browsers, workerd)
    // it does so natively, a browser off this thread; node:crypto hashes them here.
    if (check && !digests) {
      const found = await Promise.all(r.infos.map((i) => sha256Async(dataOf(i))));
      digests = Object.fromEntries(r.infos.map((i, k) => [i.name, toHex(found[k])]));
    }
    for (const i of r.infos) {
      const data = dataOf(i);
      if (check) checkTensor(this.path, this.sidecar!, i.name, digests![i.name]);
      const v = new SafetensorsView(i, data);
      this.loaded[i.name] = v;
      out.set(i.name, v);
      // Tensor by tensor: a range may hold the whole file, and an abort stops before the next check.
      progress?.add(i.byteLength);
      throwIfAborted(this.signal);
    }
    this.log.debug('loaded tensors', { path: this.path, tensors: r.infos.length, bytes: r.end - r.start, verified: this.verify && !!this.sidecar });
    return out;
  }
}

/**
 * Opens one safetensors file at `store[key]`: its header, and its sidecar checked against it (with a key,
 * its HMAC) — no tensor data. `probe`: the file's first bytes, when already read.
 */
export async function openSafetensorsFile(store: Store, key: string, opts: OpenOptions = {}, probe?: Uint8Array): Promise<SingleFile> {
  const verify = opts.verify !== false;
  // A key (HMAC or public) makes the sidecar required and checked whatever `verify` says, as in verify().
  const authenticate = opts.key !== undefined || opts.checkSignature !== undefined;
  // The sidecar is fetched while the header is (one round trip less over HTTP); the header's errors still come first.
  const pendingSidecar = verify || authenticate ? readSidecarAt(store, key) : null;
  pendingSidecar?.catch(() => {});
  const { header, size, head } = await readHeaderAt(store, key, probe);
  const sidecar = pendingSidecar ? await pendingSidecar : null;
  // The signature first: a sidecar that is not the signed one says nothing trustworthy about the file.
  await opts.checkSignature?.(sidecar as unknown as Record<string, unknown> | null, store.describe(sidecarKeyFor(key)));
  if (verify || authenticate) checkSidecarAgainst(store, key, sidecar, size, head, opts);
  const log = loggerFrom(opts);
  if (verify && !sidecar) log.warn('safetensors file has no sidecar: its data cannot be verified', { path: store.describe(key) });
  const known = verify && sidecar !== null && opts.fileSha256 !== undefined && sidecar.sha256 === opts.fileSha256;
  return new SingleFile(store, key, header, size, sidecar, verify && !known, log, opts.signal);
}

/** Loads what `opts.load` asks for (default: all of a local file, nothing over HTTP), hashing on the pool when it pays. */
export async function loadRequested(f: SingleFile, store: Store, opts: ReadOptions, lease?: PoolLease, progress?: ProgressReporter): Promise<void> {
  const names = requestedNames(f, store, opts);
  if (names.length === 0) return;
  // Workers hash only what a store reads into fresh memory they can be lent (fs, OPFS); other reads are digested here (WebCrypto in browsers).
  const pool = opts.verify !== false && f.sidecar && lease && freshReads(store) ? await lease.get(bytesOf(f, names)) : null;
  await f.load(names, pool, progress);
}

/** The names `opts.load` asks for (default: all of a local file, none over HTTP). */
export function requestedNames(f: SingleFile, store: Store, opts: ReadOptions): readonly string[] {
  const load = opts.load ?? (store.remote ? 'none' : 'all');
  return load === 'none' ? [] : load === 'all' ? f.names : load;
}

/** Tensor data bytes of `names` in `f`. */
export function bytesOf(f: SingleFile, names: readonly string[]): number {
  return names.reduce((a, n) => a + (f.header.get(n)?.byteLength ?? 0), 0);
}

/** Opens one safetensors file at `store[key]` and loads what `opts.load` asks for. */
export async function openSafetensors(store: Store, key: string, opts: OpenOptions = {}, lease?: PoolLease, probe?: Uint8Array): Promise<SafetensorsFile> {
  const f = await openSafetensorsFile(store, key, opts, probe);
  const progress = new ProgressReporter(opts.onProgress, bytesOf(f, requestedNames(f, store, opts)), 'read');
  await loadRequested(f, store, opts, lease, progress);
  progress.finish();
  return f;
}

/**
 * Opens a located safetensors file or sharded model (the sources layer tells which: src/sources/detect.ts).
 * `probe`: the first bytes of the file (or the whole index), already read to tell what it is. The sharded
 * reader loads on first use: a page that reads single files does not ship it.
 */
export async function openModel(store: Store, kind: 'file' | 'sharded', key: string, opts: OpenOptions = {}, probe?: Uint8Array): Promise<SafetensorsFile> {
  // Large data follows: load this runtime's SHA-256 engine first (src/core/hash-engines.ts).
  await hashReady();
  // A public key is imported once, before anything is read (a bad key is UNSUPPORTED BAD_KEY at once).
  if (opts.publicKey !== undefined && !opts.checkSignature) opts = { ...opts, checkSignature: await publicKeyCheck(opts.publicKey) };
  const lease = new PoolLease(opts, AUTO_WORKERS_FROM.load);
  try {
    if (kind === 'file') return await openSafetensors(store, key, opts, lease, probe);
    const { openSharded } = await import('./sharded-read.js');
    return await openSharded(store, key, opts, lease, probe);
  } finally {
    lease.close();
  }
}
