// verify() and sign() for safetensors files and sharded models. Verification
// streams: the file is read in bounded slices and each tensor's bytes are
// hashed against the sidecar, so memory stays flat whatever the model size.
// One pass, each byte hashed once (docs/hashing.md, "Verifying in one pass"):
// when the digests the sidecar records — per tensor, or per chunk for a tensor
// with chunk digests — tile the data region exactly, the size, the header's
// SHA-256 and those digests bind every byte of the file, so the whole-file
// SHA-256 is not computed. Anything else (a sidecar whose entries do not match
// the header's layout) falls back to hashing the whole file as well, in the
// same read.
import { CheckpointError, IntegrityError, UnsupportedError } from '../errors.js';
import { hashEngineInfo, ready as hashReady } from '../core/hash-engines.js';
import { createSha256, nativeSha256Stream, toHex } from '../core/hash.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { resolveSource, type Source } from '../store/resolve.js';
import type { Header, TensorInfo } from '../types/tensor.js';
import { hashRanges, hashSegments, type NamedRange } from '../parallel/range-hash.js';
import { FsStore } from '../store/fs.js';
import { JOB_BYTES, PoolLease, storeSource, type HashJob, type ParallelOptions } from '../parallel/lease.js';
import type { HashPool } from '../parallel/pool.js';
import { sidecarKeyFor, type Sidecar, type SidecarChunks } from '../format/sidecar.js';
import { signatureKeyids, signatureStatus, type MacKey, type SignatureCheck, type SignatureStatus } from '../format/signed-json.js';
import type { PublicKeyInput } from '../format/signature.js';
import { publicKeyCheck } from '../format/public-key-check.js';
import { parseIndex, shardKeysOf } from '../format/sharded.js';
import { checkTensor, planReads, openSafetensorsFile, type SingleFile } from '../format/safetensors-read.js';
import { own } from '../name-record.js';
import { ProgressReporter, throwIfAborted, underSignal, type OperationOptions } from '../types/operation.js';
import { detectSource, type DetectedSource } from './detect.js';

/** Bytes read per slice while streaming a file through the hashers. */
export const VERIFY_SLICE = 16 << 20;
/** Bytes of whole tensors per request when a read is a request (HTTP, S3): big enough to cost nothing per request. */
export const REQUEST_SEGMENT = 32 << 20;
/** Requests in flight while verifying such a source: one being hashed, the next ones downloading. */
export const REQUESTS_IN_FLIGHT = 3;
/** A tensor up to this size is fetched whole and digested in one call (WebCrypto has no streaming form); a longer one streams. */
export const ONE_SHOT_MAX = 64 << 20;

/** Options of verify: the HMAC key, strict mode (a sidecar is required), workers, progress, a logger. */
export interface VerifyOptions extends ParallelOptions, OperationOptions {
  /** HMAC key: sidecars must be signed with it (AUTH otherwise). */
  key?: MacKey;
  /** Ed25519 public key (PEM, JWK or CryptoKey): every sidecar (or the manifest) must carry a valid signature by it (AUTH otherwise). */
  publicKey?: PublicKeyInput;
  /** Refuse files without a sidecar. */
  strict?: boolean;
  /**
   * Also recompute each file's whole-file SHA-256 and refuse one that differs from its sidecar's `sha256`
   * (INTEGRITY FILE_HASH_MISMATCH), in the same read. By default it is recomputed only when the sidecar's
   * per-tensor (or chunk) digests do not tile the data region: when they do, with the size and the header's
   * hash they already bind every byte (docs/hashing.md, "Verifying in one pass").
   */
  wholeFile?: boolean;
  logger?: Logger;
}

/** What verify checked: every byte against the sidecar(s) or only the structure, the HMAC status, the shards, warnings. */
export interface VerifyReport {
  ok: true;
  kind: 'safetensors' | 'sharded' | 'checkpoint';
  path: string;
  /** Bytes covered (sharded: all shards; checkpoint: every file of its manifest). */
  size: number;
  tensors: number;
  /** 'verified': every byte matched the sidecar; 'missing': no sidecar, only the structure was checked. */
  sidecar: 'verified' | 'missing';
  /** 'verified' with the key given; 'not-checked' signed but no key given; 'unsigned' no MAC. */
  hmac: 'verified' | 'not-checked' | 'unsigned';
  keyId?: string;
  /** Ed25519: 'verified' by the public key given; 'not-checked' signed, no public key given; 'unsigned' none. */
  signature: SignatureStatus;
  /** Fingerprints (SHA-256 of the SPKI) of the keys whose signatures the sidecar (index sidecar, manifest) carries. */
  signedBy: string[];
  /** SHA-256 of the file as its sidecar records it. */
  sha256?: string;
  /**
   * Whether `sha256` was recomputed from the bytes and matched (`wholeFile`, or a sidecar whose digests do not
   * tile the data region); false when every byte was bound by the header's and tensors' digests instead and the
   * recorded value was not recomputed. Sharded: true when it was for every shard. Absent without a sidecar.
   */
  sha256Checked?: boolean;
  metadata: Readonly<Record<string, string>> | null;
  /** The shards of a sharded model. */
  files?: VerifyReport[];
  warnings: string[];
}

export interface ScanResult {
  tensors: Record<string, string>;
  /** Only when asked for. */
  sha256?: string;
}

/**
 * The SHA-256 of each tensor of `store[key]` (and of the whole file if
 * `fileHash`), in one pass over its bytes (scanRanges).
 */
export async function scanTensors(store: Store, key: string, header: Header, size: number, opts: ScanOptions = {}): Promise<ScanResult> {
  const base = header.dataStart;
  const ranges = [...header.tensors()].map((t) => ({ name: t.name, start: base + t.begin, end: base + t.end }));
  return scanRanges(store, key, ranges, base, size, opts);
}

interface ScanOptions {
  fileHash?: boolean;
  onBytes?: (n: number) => void;
  pool?: HashPool | null;
  signal?: AbortSignal;
}

/**
 * The SHA-256 of each named range of `store[key]` (absolute, not overlapping, all in [dataStart, size)),
 * and of the whole file if `fileHash`. Without the whole-file hash only [dataStart, size) is read. On one
 * thread the file is streamed once in bounded slices, each slice feeding exactly the hashers of its
 * ranges. With a pool, groups of whole ranges are hashed on the workers (who read an fs file themselves)
 * while the whole-file hash, when asked for, streams here.
 */
async function scanRanges(store: Store, key: string, ranges: NamedRange[], dataStart: number, size: number, opts: ScanOptions): Promise<ScanResult> {
  const from = opts.fileHash ? 0 : dataStart;
  if (!(store instanceof FsStore)) {
    // A read is a request: one pass over the file feeds both the ranges' digests and, when asked, the file's.
    // The whole-file hash streams on a worker when the pool is there and only the core computes it here
    // (the browser): this thread then only moves bytes. Node's and Deno's node:crypto keep up here.
    // workerd has a native streaming digest (and no workers): it takes the whole-file hash there.
    const core = hashEngineInfo().engine === 'core';
    const native = opts.fileHash && core ? nativeSha256Stream() : null;
    const stream = opts.fileHash && !native && opts.pool && core ? opts.pool.stream() : undefined;
    const all = opts.fileHash && !native && !stream ? createSha256() : undefined;
    const tensors = await hashSegments(ranges, (start, end) => store.read(key, { start, end }), {
      segment: REQUEST_SEGMENT, inFlight: REQUESTS_IN_FLIGHT, oneShotMax: ONE_SHOT_MAX, slice: VERIFY_SLICE,
      from, to: size, all: native ?? stream ?? all, onBytes: opts.onBytes, signal: opts.signal,
    });
    const sha256 = native ? toHex(await native.digest()) : stream ? await stream.digest() : all ? toHex(all.digest()) : undefined;
    return { tensors, ...(sha256 !== undefined ? { sha256 } : {}) };
  }
  if (!opts.pool) {
    const all = opts.fileHash ? createSha256() : undefined;
    const tensors = await store.readInOrder(key, VERIFY_SLICE, size, (read) => hashRanges(ranges, read, { slice: VERIFY_SLICE, from, to: size, all, onBytes: opts.onBytes, signal: opts.signal }));
    return { tensors, ...(all ? { sha256: toHex(all.digest()) } : {}) };
  }
  const whole = async () => {
    const all = createSha256();
    await store.readInOrder(key, VERIFY_SLICE, size, (read) => hashRanges([], read, { slice: VERIFY_SLICE, from: 0, to: size, all, signal: opts.signal }));
    return toHex(all.digest());
  };
  const [tensors, sha256] = await Promise.all([opts.pool.hashJobs(storeSource(store, key), jobsOf(ranges), opts.onBytes, JOB_BYTES, opts.signal), opts.fileHash ? whole() : undefined]);
  return { tensors, ...(sha256 !== undefined ? { sha256 } : {}) };
}

/** Jobs for the workers: neighbouring ranges grouped up to JOB_BYTES (planReads), a longer range alone. */
function jobsOf(ranges: readonly NamedRange[]): HashJob[] {
  return planReads(ranges.map((r) => ({ ...r, begin: r.start } as unknown as TensorInfo)), 0, JOB_BYTES)
    .map((p) => ({ from: p.start, to: p.end, ranges: p.infos as unknown as NamedRange[] }));
}

/**
 * The pool a scan of `bytes` uses: workers read fs files themselves; for other sources (HTTP, S3) the
 * tensors are digested off this thread anyway (hashSegments), so a worker only takes the whole-file hash,
 * and only where this thread would compute it in WebAssembly (browsers): node:crypto keeps up here.
 */
export function poolFor(store: Store, lease: PoolLease, bytes: number): Promise<HashPool | null> {
  if (store instanceof FsStore || hashEngineInfo().engine === 'core') return lease.get(bytes);
  return Promise.resolve(null);
}

/**
 * The sidecar's whole-file SHA-256 against the one computed in the same pass as the tensors'. The header
 * and tensor hashes already cover every byte, so a mismatch here means the recorded value itself is stale
 * or edited — reported, never vouched for (verify) or signed (sign).
 */
export function checkFileHash(store: Store, key: string, sc: Sidecar, actual: string): void {
  if (actual === sc.sha256) return;
  const path = store.describe(key);
  throw new IntegrityError(`${path} has SHA-256 ${actual}, but its sidecar records ${sc.sha256}: the header and every tensor match, so the sidecar's whole-file hash is stale or was edited. Re-create the sidecar from a trusted copy (\`safeckpt sign\` after deleting it)`, {
    path, detail: 'FILE_HASH_MISMATCH',
  });
}

/** The report's view of a document's Ed25519 signatures, once checked (or not) against `publicKey`. */
function signatureFields(doc: object | null, check: SignatureCheck | undefined): Pick<VerifyReport, 'signature' | 'signedBy'> {
  const signedBy = doc ? signatureKeyids(doc as Record<string, unknown>) : [];
  return { signature: signatureStatus(signedBy.length > 0, check !== undefined), signedBy };
}

type Checked = VerifyOptions & { checkSignature?: SignatureCheck };


/** The chunk digests of one tensor of `store[key]`: one pass over its bytes, one SHA-256 per `size` bytes. */
export async function chunkDigestsAt(store: Store, key: string, header: Header, t: TensorInfo, size: number, signal?: AbortSignal): Promise<SidecarChunks> {
  const base = header.dataStart + t.begin;
  const ranges: Array<{ name: string; start: number; end: number }> = [];
  for (let off = 0; off < t.byteLength; off += size) ranges.push({ name: String(ranges.length), start: base + off, end: base + Math.min(t.byteLength, off + size) });
  const hex = await hashRanges(ranges, (s, e) => store.read(key, { start: s, end: e }), { slice: VERIFY_SLICE, signal });
  return { size, sha256: ranges.map((r) => hex[r.name]) };
}

/** INTEGRITY naming the tensor and the first chunk whose digest differs from the one recorded. */
export function checkChunkDigests(path: string, name: string, want: SidecarChunks, got: SidecarChunks): void {
  const i = want.sha256.findIndex((h, j) => h !== got.sha256[j]);
  if (i >= 0) throw chunkMismatch(path, name, i, want.sha256[i], got.sha256[i]);
}

function chunkMismatch(path: string, name: string, chunk: number, expected: string, found: string): IntegrityError {
  return new IntegrityError(`${path}: chunk ${chunk} of tensor '${name}' has SHA-256 ${found}, but the sidecar records ${expected}: its data (or the recorded chunk digest) was changed`, {
    path, tensor: name, detail: 'CHUNK_HASH_MISMATCH', data: { chunk, expected, found },
  });
}

/** One digest the sidecar records, as the byte range it covers: a whole tensor, or one chunk of a tensor with chunk digests. */
interface DigestUnit extends NamedRange {
  tensor: string;
  /** The chunk's index, for a tensor checked by its chunk digests. */
  chunk?: number;
  expected: string;
}

/**
 * The digests that bind every byte of the file when checked with its size and header hash, or null when the
 * sidecar does not describe the file's layout exactly (verify then also hashes the whole file). They do when
 * the sidecar records the file's size, the header's SHA-256 (the first 8 + N bytes: the length, the JSON and
 * its padding) and, for exactly the header's tensors, the header's offsets, and those tensors sorted by offset
 * cover [0, size − 8 − N) with no gap and no overlap. Each tensor is then one range, or — with chunk digests,
 * which tile it by construction — one range per chunk: a tensor's bytes are hashed once, by its finest digests.
 */
export function digestUnits(header: Header, sc: Sidecar, size: number): DigestUnit[] | null {
  if (sc.size !== size || typeof sc.header_sha256 !== 'string' || Object.keys(sc.tensors).length !== header.size) return null;
  const base = header.dataStart;
  const units: DigestUnit[] = [];
  let covered = 0;
  for (const t of [...header.tensors()].sort((a, b) => a.begin - b.begin)) {
    const e = own(sc.tensors, t.name);
    if (!e || e.data_offsets[0] !== t.begin || e.data_offsets[1] !== t.end || t.begin !== covered) return null;
    covered = t.end;
    const c = e.chunks;
    if (!c) {
      units.push({ name: String(units.length), start: base + t.begin, end: base + t.end, tensor: t.name, expected: e.sha256 });
      continue;
    }
    if (!(c.size > 0) || c.sha256.length !== Math.ceil(t.byteLength / c.size)) return null;
    c.sha256.forEach((h, i) => units.push({
      name: String(units.length), start: base + t.begin + i * c.size, end: base + Math.min(t.end, t.begin + (i + 1) * c.size), tensor: t.name, chunk: i, expected: h,
    }));
  }
  return covered === size - base ? units : null;
}

/** INTEGRITY naming the first tensor (or chunk), in file order, whose bytes differ from its recorded digest. */
function checkUnits(path: string, sc: Sidecar, units: readonly DigestUnit[], found: Record<string, string>): void {
  for (const u of units) {
    const got = found[u.name];
    if (got === u.expected) continue;
    if (u.chunk === undefined) checkTensor(path, sc, u.tensor, got);
    else throw chunkMismatch(path, u.tensor, u.chunk, u.expected, got);
  }
}

/** Every tensor of an opened file against its sidecar (its header and MAC were checked when it was opened; the signature is checked here). */
async function verifyOpened(store: Store, key: string, f: SingleFile, opts: Checked, progress: ProgressReporter, at: number, lease: PoolLease): Promise<VerifyReport> {
  const path = store.describe(key);
  const { header, size, sidecar: sc } = f;
  await opts.checkSignature?.(sc as unknown as Record<string, unknown> | null, store.describe(sidecarKeyFor(key)));
  const warnings: string[] = [];
  const units = sc && !opts.wholeFile ? digestUnits(header, sc, size) : null;
  if (sc && units) {
    // One pass: the recorded digests bind every byte (digestUnits), each byte is hashed once.
    loggerFrom(opts).debug('verify: one pass, the digests tile the data', { path, digests: units.length });
    const pool = store instanceof FsStore ? await lease.get(size - header.dataStart) : null;
    const { tensors: found } = await scanRanges(store, key, units, header.dataStart, size, { onBytes: progress.onBytes, pool, signal: opts.signal });
    // Aborted while the last bytes were counted: nothing is left to read, but the caller asked to stop.
    throwIfAborted(opts.signal);
    checkUnits(path, sc, units, found);
  } else if (sc) {
    // Asked for, or the sidecar's entries do not match the header's layout: every digest it records, the whole-file hash too.
    loggerFrom(opts).debug('verify: the whole-file hash too', { path, wholeFile: !!opts.wholeFile });
    const { tensors, sha256 } = await scanTensors(store, key, header, size, { fileHash: true, onBytes: progress.onBytes, pool: await poolFor(store, lease, size - header.dataStart), signal: opts.signal });
    for (const name of header.names()) checkTensor(path, sc, name, tensors[name]);
    const extra = Object.keys(sc.tensors).filter((n) => !header.get(n));
    if (extra.length) throw new IntegrityError(`${path}: the sidecar lists tensors the file lacks: ${extra.slice(0, 5).join(', ')}`, { path, tensor: extra[0], detail: 'TENSOR_MISSING' });
    checkFileHash(store, key, sc, sha256!);
    // Chunk digests (sidecar version 2) are checked too: a slice trusts them alone.
    for (const t of header.tensors()) {
      const c = own(sc.tensors, t.name)?.chunks;
      if (c) checkChunkDigests(path, t.name, c, await chunkDigestsAt(store, key, header, t, c.size, opts.signal));
    }
  } else {
    warnings.push(`no sidecar (${store.describe(sidecarKeyFor(key))}): only the structure was checked (header, offsets, tensor sizes), not the data`);
  }
  const report: VerifyReport = {
    ok: true, kind: 'safetensors', path, size, tensors: header.size,
    sidecar: sc ? 'verified' : 'missing',
    hmac: signatureStatus(sc?.hmac !== undefined, opts.key !== undefined),
    ...(sc?.key_id !== undefined ? { keyId: sc.key_id } : {}),
    ...signatureFields(sc, opts.checkSignature),
    ...(sc ? { sha256: sc.sha256, sha256Checked: !units } : {}),
    metadata: header.metadata, warnings,
  };
  // Every byte of the file is accounted for, whatever the hashers counted (workers count tensors, not the header).
  progress.to(at + size);
  return report;
}

/** Checks on open what needs no data (header, sidecar, MAC); the logger stays out: the report carries the warnings. */
const openOpts = (opts: VerifyOptions) => ({ key: opts.key, strict: opts.strict, verify: true, load: 'none' as const });

async function verifySharded(store: Store, indexKey: string, opts: Checked, progress: ProgressReporter, lease: PoolLease, probe?: Uint8Array): Promise<VerifyReport> {
  // The one sharded open: index sidecar (AUTH with a key), every shard's header and sidecar, the weight map, every shard bound.
  const { openSharded } = await import('../format/sharded-read.js');
  const model = await openSharded(store, indexKey, openOpts(opts), undefined, probe);
  await opts.checkSignature?.(model.indexSidecar as unknown as Record<string, unknown> | null, store.describe(sidecarKeyFor(indexKey)));
  const files: VerifyReport[] = [];
  let at = 0;
  for (const [i, k] of shardKeysOf(indexKey, model.index).entries()) {
    files.push(await verifyOpened(store, k, model.files[i], opts, progress, at, lease));
    at += model.files[i].size;
  }
  const isc = model.indexSidecar;
  return {
    ok: true, kind: 'sharded', path: model.path, size: files.reduce((a, r) => a + r.size, 0), tensors: files.reduce((a, r) => a + r.tensors, 0),
    sidecar: isc && files.every((r) => r.sidecar === 'verified') ? 'verified' : 'missing',
    hmac: signatureStatus(isc?.hmac !== undefined && files.every((r) => r.hmac !== 'unsigned'), opts.key !== undefined),
    ...(isc?.key_id !== undefined ? { keyId: isc.key_id } : {}),
    ...signatureFields(isc, opts.checkSignature),
    ...(isc ? { sha256: isc.sha256, sha256Checked: files.every((r) => r.sha256Checked === true) } : {}),
    metadata: files[0]?.metadata ?? null, files, warnings: [...model.warnings, ...files.flatMap((r) => r.warnings)],
  };
}

export async function totalBytes(store: Store, kind: 'file' | 'sharded', key: string): Promise<number> {
  if (kind === 'file') return store.size(key);
  const index = parseIndex(await store.read(key), store.describe(key));
  let n = 0;
  for (const k of shardKeysOf(key, index)) n += await store.size(k);
  return n;
}

/** A safetensors file or sharded model to verify or sign; a checkpoint and a PyTorch file are told apart first. */
export function modelKind(store: Store, d: DetectedSource, op: string): 'file' | 'sharded' {
  if (d.kind === 'torch') {
    throw new UnsupportedError(`${store.describe(d.key)} is a PyTorch file: it has no sidecar to ${op} against (convert it to safetensors with \`safeckpt convert\`, which writes one)`, {
      path: store.describe(d.key), detail: 'NOT_SAFETENSORS',
    });
  }
  return d.kind === 'sharded' ? 'sharded' : 'file';
}

/**
 * Checks a safetensors file or sharded model against its sidecar(s): the
 * structure always; with a sidecar every byte; with a key the HMAC. Returns a
 * report when everything holds, and throws otherwise: NOT_FOUND (names the
 * path), CORRUPT (truncated, garbled), INTEGRITY (names the tensor), AUTH.
 */
export async function verify(src: Source, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return underSignal(opts.signal, () => verifyUnder(src, opts));
}

async function verifyUnder(src: Source, opts: VerifyOptions): Promise<VerifyReport> {
  const { store, key } = resolveSource(src, { signal: opts.signal });
  // The public key is imported first: a bad key is UNSUPPORTED before any byte is read.
  const checkSignature = opts.publicKey !== undefined ? await publicKeyCheck(opts.publicKey) : undefined;
  const d = await detectSource(store, key);
  // A training checkpoint folder (or root): its manifest lists every file with its SHA-256.
  // Its code loads on first use: a page that verifies model files does not ship it.
  if (d.kind === 'checkpoint') return (await import('../checkpoint/verify-checkpoint.js')).verifyCheckpoint(store, d.key, { ...opts, checkSignature });
  const kind = modelKind(store, d, 'verify');
  const log = loggerFrom(opts);
  // Large data follows: load this runtime's SHA-256 engine first (src/core/hash-engines.ts).
  await hashReady();
  const progress = new ProgressReporter(opts.onProgress, opts.onProgress ? await totalBytes(store, kind, d.key) : 0, 'hash');
  const lease = new PoolLease(opts);
  try {
    const checked: Checked = { ...opts, checkSignature };
    const r = kind === 'sharded' ? await verifySharded(store, d.key, checked, progress, lease, d.probe)
      : await verifyOpened(store, d.key, await openSafetensorsFile(store, d.key, openOpts(opts), d.probe), checked, progress, 0, lease);
    progress.finish();
    log.info('verified', { path: r.path, kind: r.kind, sidecar: r.sidecar, hmac: r.hmac, tensors: r.tensors });
    for (const w of r.warnings) log.warn(w, { path: r.path });
    return r;
  } catch (e) {
    log.error('verification failed', { path: store.describe(d.key), code: (e as CheckpointError)?.code, error: String((e as Error)?.message ?? e) });
    throw e;
  } finally {
    lease.close();
  }
}
