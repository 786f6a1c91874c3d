// verify() and sign() for safetensors files and sharded models. Verification
// streams: the file is read in bounded slices and each tensor's bytes are
// hashed against the sidecar, so memory stays flat whatever the model size.
// The header hash plus the per-tensor hashes cover every byte of the file (the
// header check guarantees the tensors tile the data region), so the whole-file
// SHA-256 need not be recomputed: one hashing pass, parallel by tensor.
import { CheckpointError, IntegrityError, NotFoundError } from '../errors.js';
import { ready as hashReady } from '../core/hash-engines.js';
import { createSha256, toHex, type Hasher } from '../core/hash.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { writeAtomic } from '../store/atomic.js';
import { baseOf } from '../store/keys.js';
import type { Header } from './types.js';
import { makeSidecar, serializeSidecar, sidecarKeyFor, type Sidecar, type SidecarTensor } from './sidecar.js';
import { checkJsonMac, type MacKey } from './signed-json.js';
import { makeIndexSidecar, parseIndex, parseIndexSidecar, shardKeysOf, type IndexSidecar } from './sharded.js';
import { checkSidecarAgainst, checkTensor, locateModel, openSharded, readHeaderAt, readSidecarAt, sidecarMissing } from './safetensors-read.js';

/** Bytes read per slice while streaming a file through the hashers. */
export const VERIFY_SLICE = 16 << 20;

export interface VerifyOptions {
  /** HMAC key: sidecars must be signed with it (AUTH otherwise). */
  key?: MacKey;
  /** Refuse files without a sidecar. */
  strict?: boolean;
  logger?: Logger;
  /** Called as bytes are hashed (bytes so far, bytes in all). */
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyReport {
  ok: true;
  kind: 'safetensors' | 'sharded';
  path: string;
  /** Bytes covered (sharded: all shards). */
  size: number;
  tensors: number;
  /** 'verified': every byte matched the sidecar; 'missing': no sidecar, only the structure was checked. */
  sidecar: 'verified' | 'missing';
  /** 'verified' with the key given; 'not-checked' signed but no key given; 'unsigned' no MAC. */
  hmac: 'verified' | 'not-checked' | 'unsigned';
  keyId?: string;
  /** SHA-256 of the file as its sidecar records it. */
  sha256?: string;
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
 * Streams `store[key]` once and returns the SHA-256 of each tensor's bytes
 * (and of the whole file if `fileHash`). Tensors tile the data region, so one
 * sequential pass feeds each hasher exactly its bytes.
 */
export async function scanTensors(store: Store, key: string, header: Header, size: number,
  opts: { fileHash?: boolean; onBytes?: (n: number) => void } = {}): Promise<ScanResult> {
  const order = [...header.tensors()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  const file: Hasher | undefined = opts.fileHash ? createSha256() : undefined;
  const out: Record<string, string> = {};
  let ti = 0;
  let cur: Hasher | undefined;
  const base = header.dataStart;
  // Empty tensors sit at their offset with no bytes: finish them as the scan passes.
  const flushEmpty = (pos: number) => {
    while (ti < order.length && order[ti].byteLength === 0 && order[ti].begin <= pos) out[order[ti++].name] = toHex(createSha256().digest());
  };
  for (let off = file ? 0 : base; off < size; off += VERIFY_SLICE) {
    const end = Math.min(size, off + VERIFY_SLICE);
    const bytes = await store.read(key, { start: off, end });
    file?.update(bytes);
    let p = Math.max(off, base);
    while (p < end) {
      flushEmpty(p - base);
      const t = order[ti];
      if (!t) break;
      const tEnd = base + t.end;
      cur ??= createSha256();
      const stop = Math.min(end, tEnd);
      cur.update(bytes.subarray(p - off, stop - off));
      p = stop;
      if (p === tEnd) {
        out[t.name] = toHex(cur.digest());
        cur = undefined;
        ti++;
      }
    }
    opts.onBytes?.(end - off);
  }
  flushEmpty(Infinity);
  return { tensors: out, ...(file ? { sha256: toHex(file.digest()) } : {}) };
}

async function verifyFile(store: Store, key: string, opts: VerifyOptions, progress: (n: number) => void): Promise<{ report: VerifyReport; sidecar: Sidecar | null }> {
  const path = store.describe(key);
  const { header, size, head } = await readHeaderAt(store, key);
  const sc = await readSidecarAt(store, key);
  checkSidecarAgainst(store, key, sc, size, head, opts);
  const warnings: string[] = [];
  if (sc) {
    const { tensors } = await scanTensors(store, key, header, size, { onBytes: progress });
    for (const name of header.names()) checkTensor(path, sc, name, tensors[name]);
    const extra = Object.keys(sc.tensors).filter((n) => !header.get(n));
    if (extra.length) throw new IntegrityError(`${path}: the sidecar lists tensors the file lacks: ${extra.slice(0, 5).join(', ')}`, { path, tensor: extra[0], detail: 'TENSOR_MISSING' });
  } else {
    progress(size);
    warnings.push(`no sidecar (${store.describe(sidecarKeyFor(key))}): only the structure was checked (header, offsets, tensor sizes), not the data`);
  }
  const report: VerifyReport = {
    ok: true, kind: 'safetensors', path, size, tensors: header.size,
    sidecar: sc ? 'verified' : 'missing',
    hmac: sc?.hmac === undefined ? 'unsigned' : opts.key !== undefined ? 'verified' : 'not-checked',
    ...(sc?.key_id !== undefined ? { keyId: sc.key_id } : {}),
    ...(sc ? { sha256: sc.sha256 } : {}),
    metadata: header.metadata, warnings,
  };
  return { report, sidecar: sc };
}

async function readIndexSidecar(store: Store, indexKey: string): Promise<IndexSidecar | null> {
  try {
    return parseIndexSidecar(await store.read(sidecarKeyFor(indexKey)), store.describe(sidecarKeyFor(indexKey)));
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

async function verifySharded(store: Store, indexKey: string, opts: VerifyOptions, progress: (n: number) => void): Promise<VerifyReport> {
  const path = store.describe(indexKey);
  const indexBytes = await store.read(indexKey);
  const index = parseIndex(indexBytes, path);
  const isc = await readIndexSidecar(store, indexKey);
  const warnings: string[] = [];
  if (isc) {
    if (opts.key !== undefined) checkJsonMac(isc as unknown as Record<string, unknown>, opts.key, store.describe(sidecarKeyFor(indexKey)));
    const h = toHex(createSha256().update(indexBytes).digest());
    if (h !== isc.sha256) throw new IntegrityError(`${path} has SHA-256 ${h}, but its sidecar records ${isc.sha256}: the weight map was changed`, { path, detail: 'INDEX_HASH_MISMATCH' });
  } else if (opts.key !== undefined) {
    throw new CheckpointError('AUTH', `${path} has no sidecar, so it carries no HMAC, but a key was given: it is not authenticated`, { path, detail: 'HMAC_MISSING' });
  } else if (opts.strict) {
    throw sidecarMissing(store, indexKey);
  } else warnings.push(`no index sidecar (${store.describe(sidecarKeyFor(indexKey))}): the weight map itself is not protected`);
  // Structure: every shard opens and the weight_map describes them exactly.
  await openSharded(store, indexKey, { verify: false, load: 'none' });
  const files: VerifyReport[] = [];
  for (const k of shardKeysOf(indexKey, index)) {
    const { report, sidecar } = await verifyFile(store, k, opts, progress);
    if (isc) {
      const want = isc.shards[baseOf(k)];
      if (!want) throw new IntegrityError(`${path}: the index sidecar does not list shard ${baseOf(k)}`, { path: report.path, detail: 'SHARD_NOT_IN_SIDECAR' });
      if (want.size !== report.size || (sidecar && sidecar.sha256 !== want.sha256)) {
        throw new IntegrityError(`${report.path} is not the shard the index was signed with (recorded SHA-256 ${want.sha256}, size ${want.size}): a shard was replaced`, {
          path: report.path, detail: 'SHARD_MISMATCH',
        });
      }
    }
    files.push(report);
  }
  if (isc) {
    const used = new Set(shardKeysOf(indexKey, index).map(baseOf));
    const listed = Object.keys(isc.shards).filter((f) => !used.has(f));
    if (listed.length) throw new IntegrityError(`${path}: the index sidecar lists shards the weight map no longer uses: ${listed.join(', ')}`, { path, detail: 'SHARD_MISSING' });
  }
  const all = (f: (r: VerifyReport) => boolean) => files.every(f);
  return {
    ok: true, kind: 'sharded', path, size: files.reduce((a, r) => a + r.size, 0), tensors: files.reduce((a, r) => a + r.tensors, 0),
    sidecar: isc && all((r) => r.sidecar === 'verified') ? 'verified' : 'missing',
    hmac: isc?.hmac !== undefined && all((r) => r.hmac === 'verified') && opts.key !== undefined ? 'verified'
      : isc?.hmac !== undefined && all((r) => r.hmac !== 'unsigned') ? 'not-checked' : 'unsigned',
    ...(isc?.key_id !== undefined ? { keyId: isc.key_id } : {}),
    ...(isc ? { sha256: isc.sha256 } : {}),
    metadata: files[0]?.metadata ?? null, files, warnings: [...warnings, ...files.flatMap((r) => r.warnings)],
  };
}

async function totalBytes(store: Store, kind: 'file' | 'sharded', key: string): Promise<number> {
  if (kind === 'file') return store.size(key);
  const index = parseIndex(await store.read(key), store.describe(key));
  let n = 0;
  for (const k of shardKeysOf(key, index)) n += await store.size(k);
  return n;
}

/**
 * Checks a safetensors file or sharded model against its sidecar(s): the
 * structure always; with a sidecar every byte; with a key the HMAC. Returns a
 * report when everything holds, and throws otherwise: NOT_FOUND (names the
 * path), CORRUPT (truncated, garbled), INTEGRITY (names the tensor), AUTH.
 */
export async function verify(src: Source, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { store, key } = resolveSource(src);
  const where = await locateModel(store, key);
  const log = opts.logger ?? silentLogger;
  // Large data follows: pick the fastest correct SHA-256 engine first (measured once, ~20 ms).
  await hashReady();
  let done = 0;
  const total = opts.onProgress ? await totalBytes(store, where.kind, where.key) : 0;
  const progress = (n: number) => opts.onProgress?.((done += n), total);
  try {
    const r = where.kind === 'sharded' ? await verifySharded(store, where.key, opts, progress) : (await verifyFile(store, where.key, opts, progress)).report;
    log.info('verified', { path: r.path, kind: r.kind, sidecar: r.sidecar, hmac: r.hmac, tensors: r.tensors });
    for (const w of r.warnings) log.warn(w, { path: r.path });
    return r;
  } catch (e) {
    log.error('verification failed', { path: store.describe(where.key), code: (e as CheckpointError)?.code, error: String((e as Error)?.message ?? e) });
    throw e;
  }
}

export interface SignOptions {
  keyId?: string;
  logger?: Logger;
  onProgress?: (done: number, total: number) => void;
}

async function signFile(store: Store, key: string, mac: MacKey, opts: SignOptions, progress: (n: number) => void): Promise<Sidecar> {
  const { header, size, head } = await readHeaderAt(store, key);
  const existing = await readSidecarAt(store, key);
  let sha256: string, tensors: Record<string, string>;
  if (existing) {
    // Signing vouches for the file as it is: a sidecar that no longer matches it is refused, not blessed.
    checkSidecarAgainst(store, key, existing, size, head, {});
    const scan = await scanTensors(store, key, header, size, { onBytes: progress });
    for (const n of header.names()) checkTensor(store.describe(key), existing, n, scan.tensors[n]);
    sha256 = existing.sha256;
    tensors = scan.tensors;
  } else {
    const scan = await scanTensors(store, key, header, size, { fileHash: true, onBytes: progress });
    sha256 = scan.sha256!;
    tensors = scan.tensors;
  }
  const entries: Record<string, SidecarTensor> = {};
  for (const t of header.tensors()) entries[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [t.begin, t.end], sha256: tensors[t.name] };
  const sc = makeSidecar({
    file: baseOf(key), size, sha256, header_sha256: toHex(createSha256().update(head).digest()), tensors: entries,
    metadata: header.metadata ? { ...header.metadata } : null,
  }, mac, opts.keyId);
  await writeAtomic(store, sidecarKeyFor(key), serializeSidecar(sc));
  return sc;
}

/**
 * Signs a safetensors file or sharded model: (re)writes its sidecar(s) with an
 * HMAC-SHA256 under `key`. An existing sidecar must still match the file
 * (INTEGRITY otherwise); without one, the sidecar is created from the file.
 */
export async function sign(src: Source, key: MacKey, opts: SignOptions = {}): Promise<{ path: string; sidecars: string[] }> {
  const { store, key: k } = resolveSource(src);
  if (store.readOnly) throw new CheckpointError('UNSUPPORTED', `cannot sign ${store.describe(k)}: ${store.kind} sources are read-only (download it first)`, { path: store.describe(k), detail: 'READ_ONLY' });
  const where = await locateModel(store, k);
  await hashReady();
  let done = 0;
  const total = opts.onProgress ? await totalBytes(store, where.kind, where.key) : 0;
  const progress = (n: number) => opts.onProgress?.((done += n), total);
  const log = opts.logger ?? silentLogger;
  if (where.kind === 'file') {
    await signFile(store, where.key, key, opts, progress);
    log.info('signed', { path: store.describe(where.key), key_id: opts.keyId });
    return { path: store.describe(where.key), sidecars: [store.describe(sidecarKeyFor(where.key))] };
  }
  const indexBytes = await store.read(where.key);
  const index = parseIndex(indexBytes, store.describe(where.key));
  await openSharded(store, where.key, { verify: false, load: 'none' });
  const shards: Record<string, { size: number; sha256: string }> = {};
  const sidecars: string[] = [];
  for (const sk of shardKeysOf(where.key, index)) {
    const sc = await signFile(store, sk, key, opts, progress);
    shards[baseOf(sk)] = { size: sc.size, sha256: sc.sha256 };
    sidecars.push(store.describe(sidecarKeyFor(sk)));
  }
  const isc = makeIndexSidecar(where.key, indexBytes.length, toHex(createSha256().update(indexBytes).digest()), shards, key, opts.keyId);
  await writeAtomic(store, sidecarKeyFor(where.key), new TextEncoder().encode(JSON.stringify(isc, null, 1) + '\n'));
  sidecars.push(store.describe(sidecarKeyFor(where.key)));
  log.info('signed sharded model', { path: store.describe(where.key), shards: sidecars.length - 1, key_id: opts.keyId });
  return { path: store.describe(where.key), sidecars };
}

