// sign(): an HMAC and/or an Ed25519 signature on the sidecars of a safetensors file or a sharded model,
// or on a checkpoint's manifest — after every byte is checked against what the existing sidecar records
// (or hashed to create one). It shares verify()'s scanning (sources/verify.ts); its own file, so that a
// page that only verifies reaches none of the writing code.

import { UnsupportedError, errorFor } from '../errors.js';
import { ready as hashReady } from '../core/hash-engines.js';
import { createSha256, toHex } from '../core/hash.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { writeAtomic, writeAtomicSet } from '../store/atomic.js';
import { baseOf } from '../store/keys.js';
import { PoolLease, type ParallelOptions } from '../parallel/lease.js';
import { CHUNK_SIZE, CHUNK_THRESHOLD, makeSidecar, serializeSidecar, sidecarKeyFor, type Sidecar, type SidecarTensor } from '../format/sidecar.js';
import type { ChunkOptions } from '../format/safetensors-write.js';
import { canonicalJson, signatureKeyids, type MacKey } from '../format/signed-json.js';
import type { PrivateKeyInput, Signer } from '../format/signature.js';
import { parseIndex, shardKeysOf } from '../format/sharded.js';
import { makeIndexSidecar, parseIndexSidecar } from '../format/index-sidecar.js';
import { checkSidecarAgainst, checkTensor, readHeaderAt, readSidecarAt } from '../format/safetensors-read.js';
import { nameRecord, own } from '../name-record.js';
import { ProgressReporter, throwIfAborted, underSignal, type OperationOptions } from '../types/operation.js';
import { detectSource } from './detect.js';
import { checkChunkDigests, checkFileHash, chunkDigestsAt, modelKind, poolFor, scanTensors, totalBytes } from './verify.js';

/** The Ed25519 code, loaded when a private key is given: a page that signs with HMAC only does not ship it. */
const signatures = () => import('../format/signature.js');

/** Options of sign: the HMAC key and its label, the Ed25519 private key, workers, progress, a signal, a logger. */
export interface SignOptions extends ParallelOptions, OperationOptions {
  /** HMAC-SHA256 key (never written anywhere): the sidecars get an `hmac`. */
  key?: MacKey;
  /** Label of the HMAC key, stored next to the MAC. */
  keyId?: string;
  /** Ed25519 private key (PEM PKCS#8, JWK, CryptoKey or CryptoKeyPair; never written anywhere): the sidecars (or the manifest) get a signature. */
  privateKey?: PrivateKeyInput;
  /** Chunk digests for tensors above a threshold (as writeSafetensors' option); an existing sidecar's chunk size is kept. false: none. */
  chunks?: ChunkOptions | false;
  logger?: Logger;
}

/** What sign() wrote. */
export interface SignResult {
  path: string;
  /** Every document (re)written: sidecars, the index sidecar, or a checkpoint's manifest. */
  sidecars: string[];
  /** The fingerprint of the Ed25519 key that signed, when one did. */
  keyid?: string;
}

/**
 * What an existing document carried that still holds for the new one: when the signed body is unchanged,
 * its other signatures (and, when no new HMAC key is given, its HMAC) stay valid and are kept. Returns the
 * new document and whether something the old one carried had to be dropped.
 */
function carryOver<T extends object>(fresh: T, old: object | null, newMac: boolean, signedBody: (d: Record<string, unknown>, c: typeof canonicalJson) => Uint8Array): { doc: T; dropped: boolean } {
  const o = old as Record<string, unknown> | null;
  if (!o) return { doc: fresh, dropped: false };
  const hadAuth = o.hmac !== undefined || signatureKeyids(o).length > 0;
  let same: boolean;
  try {
    const a = signedBody(o, canonicalJson), b = signedBody(fresh as Record<string, unknown>, canonicalJson);
    same = a.length === b.length && a.every((x, i) => x === b[i]);
  } catch {
    same = false;
  }
  if (!same) return { doc: fresh, dropped: hadAuth };
  const doc: Record<string, unknown> = { ...(fresh as Record<string, unknown>) };
  if (Array.isArray(o.signatures)) doc.signatures = o.signatures;
  if (!newMac && typeof o.hmac === 'string') {
    delete doc.key_id;
    if (typeof o.key_id === 'string') doc.key_id = o.key_id;
    doc.hmac = o.hmac;
  }
  return { doc: doc as T, dropped: false };
}

/** The document with an HMAC (when `mac` is given) and a signature (when `signer` is), keeping what still holds of `old`. */
async function authenticate<T extends object>(fresh: T, old: object | null, mac: MacKey | undefined, signer: Signer | undefined, what: string, log: Logger): Promise<T> {
  const { addSignature, signedBody } = await signatures();
  const { doc, dropped } = carryOver(fresh, old, mac !== undefined, signedBody);
  if (dropped) log.warn(`${what}: its contents changed (re-created from the file), so its previous HMAC and signatures no longer hold and were dropped`, { path: what });
  if (!signer) return doc;
  return (await addSignature(doc as Record<string, unknown>, signer, canonicalJson)) as unknown as T;
}

/** The new sidecar of `store[key]`, computed (the long part: every byte hashed) but not written. */
async function signedSidecar(store: Store, key: string, mac: MacKey | undefined, signer: Signer | undefined, opts: SignOptions, progress: ProgressReporter, at: number, lease: PoolLease): Promise<Sidecar> {
  const { header, size, head } = await readHeaderAt(store, key);
  const existing = await readSidecarAt(store, key);
  let sha256: string, tensors: Record<string, string>;
  if (existing) {
    // Signing vouches for the file as it is: a sidecar that no longer matches it is refused, not blessed.
    checkSidecarAgainst(store, key, existing, size, head, {});
    const scan = await scanTensors(store, key, header, size, { fileHash: true, onBytes: progress.onBytes, pool: await poolFor(store, lease, size - header.dataStart), signal: opts.signal });
    for (const n of header.names()) checkTensor(store.describe(key), existing, n, scan.tensors[n]);
    checkFileHash(store, key, existing, scan.sha256!);
    sha256 = existing.sha256;
    tensors = scan.tensors;
  } else {
    const scan = await scanTensors(store, key, header, size, { fileHash: true, onBytes: progress.onBytes, pool: await poolFor(store, lease, size - header.dataStart), signal: opts.signal });
    sha256 = scan.sha256!;
    tensors = scan.tensors;
  }
  const entries = nameRecord<SidecarTensor>();
  for (const t of header.tensors()) {
    const had = existing ? own(existing.tensors, t.name)?.chunks : undefined;
    const size = had?.size ?? (opts.chunks === false || t.byteLength <= (opts.chunks?.threshold ?? CHUNK_THRESHOLD) ? undefined : opts.chunks?.size ?? CHUNK_SIZE);
    const chunks = size ? await chunkDigestsAt(store, key, header, t, size, opts.signal) : undefined;
    if (had && chunks) checkChunkDigests(store.describe(key), t.name, had, chunks);
    entries[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [t.begin, t.end], sha256: tensors[t.name], ...(chunks ? { chunks } : {}) };
  }
  const fresh = makeSidecar({
    file: baseOf(key), size, sha256, header_sha256: toHex(createSha256().update(head).digest()), tensors: entries,
    metadata: header.metadata ? { ...header.metadata } : null,
  }, mac, opts.keyId);
  const sc = await authenticate(fresh, existing, mac, signer, store.describe(sidecarKeyFor(key)), loggerFrom(opts));
  progress.to(at + size);
  return sc;
}

/** The index sidecar as it is before signing, or null when there is none or it does not parse (it is then re-created). */
async function readIndexSidecarAt(store: Store, indexKey: string): Promise<object | null> {
  try {
    return parseIndexSidecar(await store.read(sidecarKeyFor(indexKey)), store.describe(sidecarKeyFor(indexKey)));
  } catch {
    return null;
  }
}

const isMacKey = (k: unknown): k is MacKey => typeof k === 'string' || k instanceof Uint8Array;

/**
 * Signs a safetensors file, sharded model or checkpoint. With an HMAC key
 * (`sign(src, key)` or `{ key }`) the sidecars get an `hmac`; with an Ed25519
 * `privateKey` they (or a checkpoint's manifest) get a signature that anyone
 * verifies with the public key; both may be given. Other signatures, and an
 * HMAC not replaced, are kept while the document's signed body is unchanged.
 * An existing sidecar must still match the file (INTEGRITY otherwise);
 * without one, the sidecar is created from the file. Keys are written nowhere.
 */
export async function sign(src: Source, keyOrOptions: MacKey | SignOptions, opts: SignOptions = {}): Promise<SignResult> {
  const o: SignOptions = isMacKey(keyOrOptions) ? { ...opts, key: keyOrOptions } : { ...keyOrOptions, ...opts };
  return underSignal(o.signal, () => signUnder(src, o));
}

async function signUnder(src: Source, o: SignOptions): Promise<SignResult> {
  const { store, key: k } = resolveSource(src, { signal: o.signal });
  // The sidecars are written through a store the signal does not reach: once past the commit point a write
  // must finish (or be undone), not stop half-way through the set.
  const writer = o.signal ? resolveSource(src).store : store;
  if (o.key === undefined && o.privateKey === undefined) {
    throw new UnsupportedError(`signing ${store.describe(k)} needs a key: an HMAC key (\`key\`) or an Ed25519 private key (\`privateKey\`)`, { path: store.describe(k), detail: 'NO_KEY' });
  }
  if (store.readOnly) throw errorFor('UNSUPPORTED', `cannot sign ${store.describe(k)}: ${store.kind} sources are read-only (download it first)`, { path: store.describe(k), detail: 'READ_ONLY' });
  const signer = o.privateKey !== undefined ? await (await signatures()).importPrivateKey(o.privateKey) : undefined;
  const d = await detectSource(store, k);
  if (d.kind === 'checkpoint') {
    if (o.key !== undefined || !signer) {
      throw new UnsupportedError(`${store.describe(d.key)} is a training checkpoint: its manifest's HMAC is set when it is saved (saveCheckpoint's key option; signing its files here would break the manifest); sign() adds only Ed25519 signatures to it (privateKey)`, {
        path: store.describe(d.key), detail: 'CHECKPOINT',
      });
    }
    // Its code loads on first use: a page that signs model files does not ship the checkpoint reader.
    return (await import('../checkpoint/sign-checkpoint.js')).signCheckpoint(store, d.key, signer, o);
  }
  const where = { kind: modelKind(store, d, 'sign'), key: d.key };
  await hashReady();
  const progress = new ProgressReporter(o.onProgress, o.onProgress ? await totalBytes(store, where.kind, where.key) : 0, 'hash');
  const log = loggerFrom(o);
  const lease = new PoolLease(o);
  const keyid = signer ? { keyid: signer.keyid } : {};
  try {
    if (where.kind === 'file') {
      const sc = await signedSidecar(store, where.key, o.key, signer, o, progress, 0, lease);
      throwIfAborted(o.signal);
      await writeAtomic(writer, sidecarKeyFor(where.key), serializeSidecar(sc));
      progress.finish();
      log.info('signed', { path: store.describe(where.key), key_id: o.keyId, ...keyid });
      return { path: store.describe(where.key), sidecars: [store.describe(sidecarKeyFor(where.key))], ...keyid };
    }
    const indexBytes = await store.read(where.key);
    const index = parseIndex(indexBytes, store.describe(where.key));
    await (await import('../format/sharded-read.js')).openSharded(store, where.key, { verify: false, load: 'none' });
    // Every new sidecar is computed first (the long part: hashing), written nowhere; the signal is honoured up
    // to the commit point below and not after it: then the set is written as one (writeAtomicSet), the index
    // sidecar last, and a failure puts the old set back. Shards re-signed under an index sidecar still holding
    // the old signatures (or the reverse) would be neither the old signed model nor the new one.
    const shards = nameRecord<{ size: number; sha256: string }>();
    const docs: Array<{ key: string; data: Uint8Array }> = [];
    let at = 0;
    for (const sk of shardKeysOf(where.key, index)) {
      const sc = await signedSidecar(store, sk, o.key, signer, o, progress, at, lease);
      at += sc.size;
      shards[baseOf(sk)] = { size: sc.size, sha256: sc.sha256 };
      docs.push({ key: sidecarKeyFor(sk), data: serializeSidecar(sc) });
    }
    const fresh = makeIndexSidecar(where.key, indexBytes.length, toHex(createSha256().update(indexBytes).digest()), shards, o.key, o.keyId);
    const isc = await authenticate(fresh, await readIndexSidecarAt(store, where.key), o.key, signer, store.describe(sidecarKeyFor(where.key)), log);
    docs.push({ key: sidecarKeyFor(where.key), data: new TextEncoder().encode(JSON.stringify(isc, null, 1) + '\n') });
    throwIfAborted(o.signal); // the commit point
    await writeAtomicSet(writer, docs);
    const sidecars = docs.map((d) => store.describe(d.key));
    progress.finish();
    log.info('signed sharded model', { path: store.describe(where.key), shards: sidecars.length - 1, key_id: o.keyId, ...keyid });
    return { path: store.describe(where.key), sidecars, ...keyid };
  } finally {
    lease.close();
  }
}
