// saveCheckpoint: one training checkpoint, committed atomically on any Store.
//
// 1. Capture (synchronously, before the first await): every variable and
//    optimizer slot is held as it is now — a second reference to its
//    immutable tfjs tensor, read out piece by piece as it is written
//    (async-save.ts: streamedCapture), or a copy where none can be held — so
//    training may go on while the files are written (a save never captures
//    a half-updated step).
// 2. Write everything into `step-NNNNNNNN.tmp-…/`: model.safetensors and
//    optimizer.safetensors (with their sidecars), trainer_state.json,
//    vocab.json, and last the manifest checkpoint.json listing each file's
//    size and SHA-256 (signed when a key is given). Sync.
// 3. Rename the folder to `step-NNNNNNNN/`, sync, then replace LATEST
//    atomically (a re-saved step sets its committed folder aside first and
//    removes it last: commit.ts). Until LATEST moves, readers see the previous
//    checkpoint; a crash at any point leaves either the old or the new one
//    named there (or set aside, where readers and recovery find it), and
//    a folder whose files do not match its manifest is never loaded (stores
//    whose folder rename is not atomic, like OPFS, are covered by that check).
//    Where the store can compare-and-swap (S3, memory), LATEST is replaced
//    only if it still holds what it held when the save began (If-Match on its
//    ETag, or If-None-Match: * when there was none), so of two writers racing
//    exactly one wins; the other's save fails with detail CONFLICT and its
//    files are removed. On object stores (where a rename is a copy) the files
//    go straight into a folder of their own (step-NNNNNNNN-XXXXXXXX) and that
//    conditional write of LATEST is the whole commit.
// 4. Record it in registry.json, apply retention.
import { CheckpointError, UnsupportedError, errorFor } from '../errors.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { sha256, toHex } from '../core/hash.js';
import type { Store, VersionedValue } from '../store/store.js';
import { resolveSource, type Dest } from '../store/resolve.js';
import { tempKeyFor, writeAtomic } from '../store/atomic.js';
import { dirOf, joinKey } from '../store/keys.js';
import { tensorBytes, writeSafetensors } from '../format/safetensors-write.js';
import { sidecarKeyFor } from '../format/sidecar.js';
import type { MacKey } from '../format/signed-json.js';
import type { PrivateKeyInput } from '../format/signature.js';
import type { TensorMap } from '../types/tensor.js';
import type { ModelLike, Optimizer } from '../tfjs/tf.js';
import { describeModel } from '../tfjs/describe.js';
import { namedVariables, snapshotModel, snapshotTensor } from '../tfjs/variables.js';
import { snapshotOptimizer, type OptimizerState } from '../tfjs/optimizer-state.js';
import { DEFAULT_MAX_IN_FLIGHT, deferredCapture, queueFor, queuesToFlush, streamedCapture, type TensorTaker } from './async-save.js';
import { adapterOrIdentity } from './adapters/index.js';
import { commitOffThread, offThreadRoot } from './off-thread.js';
import type { ArchitectureAdapter } from './adapters/adapter.js';
import { LATEST, MANIFEST, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE, VOCAB } from './layout.js';
import { stepDirName, uniqueStepDirName } from './folder-names.js';
import { commitFolder } from './commit.js';
import { isObjectStore, recordCommitted } from './commits.js';
import { savePart, type PartOptions } from './parts.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, manifestSigner, parseManifest, serializeSignedManifest, type FileEntry, type Manifest } from './manifest.js';
import { checkLineage, firstLink, type Lineage, type ModelMetadata } from './metadata.js';
import { checkJsonMac } from '../format/signed-json.js';
import { readRegistry, registerModel, updateRegistry } from './registry.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import { serializeTrainerState, type TrainerState } from './trainer-state.js';
import { ProgressReporter, throwIfAborted, underSignal, type OperationOptions } from '../types/operation.js';
import type { ParallelOptions } from '../parallel/lease.js';

/** Everything that decides the next training step, plus who the model is. */
export interface TrainingState {
  /** A LayersModel, a { variables } model (TinyLM), or a record of named tf.Variables. */
  model: ModelLike;
  /** Omit to save weights only (no optimizer.safetensors). */
  optimizer?: Optimizer | null;
  /** Steps completed. */
  step: number;
  /** Training configuration (JSON). */
  config?: Record<string, unknown>;
  vocab?: unknown;
  /** RNG state(s) of the run (JSON). */
  rng?: unknown;
  /** Where the data sampler is (JSON). */
  dataCursor?: unknown;
  /** Any other user state that must survive a resume (JSON), e.g. a schedule's position. */
  extra?: unknown;
  /** model_name, model_id, architecture_type, source, architecture (defaults from the model). */
  metadata?: Partial<ModelMetadata>;
  /** The fine-tuning chain (from a LoadedCheckpoint); otherwise the registry's, or a new chain. */
  lineage?: Lineage;
  /** Numbers for best-K retention (e.g. { loss: 2.31 }). */
  metrics?: Record<string, number>;
}

/** Options of saveCheckpoint: HMAC key, retention, async capture, multi-writer rank/world size, hashing workers, a logger. */
export interface SaveOptions extends OperationOptions, ParallelOptions {
  /** HMAC-SHA256 key: signs the manifest and the sidecars (never stored). */
  key?: MacKey;
  keyId?: string;
  /**
   * Ed25519 private key (PEM PKCS#8, JWK, CryptoKey or CryptoKeyPair; written nowhere): the manifest is signed as
   * it is first written (docs/signatures.md). Several writers: give every rank the same key — any rank may commit.
   */
  privateKey?: PrivateKeyInput;
  logger?: Logger | null;
  /** Retention after the commit: keep the last N and the best K by a metric (LATEST is always kept). */
  retention?: RetentionPolicy;
  /** Adapters beyond the built-in ones, by architecture_type. */
  adapters?: readonly ArchitectureAdapter[];
  /** Timestamp source (tests). */
  now?: () => Date;
}

/** A committed checkpoint: its path, step, files and sizes, as listCheckpoints and saveCheckpoint report it. */
export interface CheckpointInfo {
  /** Folder name, e.g. 'step-00000020'. */
  name: string;
  /** Where it is, for people. */
  path: string;
  step: number;
  created_at: string;
  model: ModelMetadata;
  lineage: Lineage;
  metrics: Record<string, number>;
  files: Record<string, FileEntry>;
  signed: boolean;
  /** True when LATEST names it. */
  latest: boolean;
  /** Checkpoints retention removed after this save. */
  removed?: string[];
  /** Set by listCheckpoints when the manifest cannot be read. */
  problem?: string;
}

const enc = new TextEncoder();
const hex = (b: Uint8Array) => toHex(sha256(b));

/** The metadata given, the rest from the model itself (its class, name and layers: describeModel). */
export function modelMetadata(model: ModelLike, m: Partial<ModelMetadata> | undefined): ModelMetadata {
  const d = describeModel(model);
  const architecture_type = m?.architecture_type ?? d.architecture_type;
  const model_id = m?.model_id ?? null;
  return {
    model_name: m?.model_name ?? model_id ?? (architecture_type === d.architecture_type ? d.model_name : architecture_type),
    model_id,
    architecture_type,
    source: m?.source ?? (model_id ? 'huggingface' : 'custom'),
    architecture: { ...d.architecture, ...(m?.architecture ?? {}) },
  };
}

function checkStep(step: unknown): number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw errorFor('UNSUPPORTED', `training state: step must be a non-negative integer, got ${String(step)}`, { detail: 'BAD_STATE' });
  }
  return step;
}

function json(v: unknown, what: string): Uint8Array {
  try {
    return enc.encode(JSON.stringify(v ?? null, null, 1) + '\n');
  } catch (e) {
    throw errorFor('UNSUPPORTED', `training state: ${what} is not JSON-serialisable: ${(e as Error).message}`, { detail: 'BAD_STATE', cause: e });
  }
}

/** An asynchronous save once its state is captured: training may continue; `committed` settles when it is durable. */
export interface PendingCheckpoint {
  /** Folder name it will commit to, e.g. 'step-00000020'. */
  name: string;
  step: number;
  /** Where it will be, for people. */
  path: string;
  /** Resolves when the checkpoint is committed (durable, LATEST moved); rejects with the save's error. */
  committed: Promise<CheckpointInfo>;
}

/** Options of an asynchronous saveCheckpoint: it resolves once the state is captured, and commits in the background. */
export interface AsyncSaveOptions extends SaveOptions {
  /** Resolve as soon as the state is captured, to a PendingCheckpoint (default false: resolve when committed). */
  async: true;
  /** Captured-but-uncommitted saves of this root allowed at once; the next save waits for room (default 1). */
  maxInFlight?: number;
}

/** The state of one save, copied at call time (capture), written later (commit). */
export interface Captured {
  store: Store;
  rootKey: string;
  step: number;
  /** The folder it commits to (chosen at capture, so an asynchronous save can say it at once). */
  name: string;
  meta: ModelMetadata;
  adapter: ArchitectureAdapter;
  /** The model's tensors under the model's names (the adapter's layout is applied at commit). */
  model: TensorMap;
  opt: { state: OptimizerState; slots: TensorMap } | null;
  trainerBytes: Uint8Array;
  vocabBytes: Uint8Array;
  createdAt: string;
  lineage: Lineage | undefined;
  metrics: Record<string, number>;
}

/**
 * Copies everything a save needs, synchronously (no await), so training may continue at once:
 * tensors through `take` (an eager copy of the values, or a backend-side clone read out later).
 */
export function capture(root: Dest, state: TrainingState, opts: SaveOptions, take: TensorTaker = snapshotTensor): Captured {
  const { store, key: rootKey } = resolveSource(root, { signal: opts.signal });
  if (store.readOnly) throw new UnsupportedError(`cannot save a checkpoint to ${store.describe(rootKey)}: ${store.kind} is read-only`, { detail: 'READ_ONLY', path: store.describe(rootKey) });
  const step = checkStep(state.step);
  const meta = modelMetadata(state.model, state.metadata);
  const adapter = adapterOrIdentity(meta.architecture_type, opts.adapters);

  // 1. Snapshot, synchronously.
  const model = snapshotModel(state.model, take);
  const opt = state.optimizer ? snapshotOptimizer(state.optimizer, namedVariables(state.model), take) : null;
  const trainer: TrainerState = {
    step, config: state.config ?? {}, rng: state.rng ?? null, data_cursor: state.dataCursor ?? null,
    optimizer: opt?.state ?? null, extra: state.extra ?? null,
  };
  const trainerBytes = serializeTrainerState(trainer);
  const vocabBytes = json(state.vocab, 'vocab');
  json(state.config, 'config');
  const createdAt = (opts.now?.() ?? new Date()).toISOString();
  const lineage = state.lineage ? (JSON.parse(JSON.stringify(state.lineage)) as Lineage) : undefined;
  const name = isObjectStore(store) ? uniqueStepDirName(step) : stepDirName(step);
  return { store, rootKey, step, name, meta, adapter, model, opt, trainerBytes, vocabBytes, createdAt, lineage, metrics: { ...(state.metrics ?? {}) } };
}

/**
 * Saves `state` as checkpoint `step` under `root`. The state is copied before the first await, so
 * training may continue while it is written; asynchronous saves to a root commit in call order. With
 * `{ async: true }` it resolves once the state is captured, to a PendingCheckpoint whose
 * `committed` promise settles when the checkpoint is durable. With `{ rank, worldSize, checkpointId }`
 * it writes this rank's part of a checkpoint of several writers, committed once every part is durable
 * (parts.ts), and resolves when it is committed.
 */
export function saveCheckpoint(root: Dest, state: TrainingState, opts: SaveOptions & PartOptions): Promise<CheckpointInfo>;
export function saveCheckpoint(root: Dest, state: TrainingState, opts: AsyncSaveOptions): Promise<PendingCheckpoint>;
export function saveCheckpoint(root: Dest, state: TrainingState, opts?: SaveOptions & { async?: false }): Promise<CheckpointInfo>;
export async function saveCheckpoint(root: Dest, state: TrainingState, opts: SaveOptions & Partial<PartOptions> & { async?: boolean; maxInFlight?: number } = {}): Promise<CheckpointInfo | PendingCheckpoint> {
  if (opts.rank !== undefined || opts.worldSize !== undefined || opts.checkpointId !== undefined) {
    if (opts.async) throw new UnsupportedError('saveCheckpoint: { async: true } with several writers (rank, worldSize) is not supported: save each part synchronously', { detail: 'BAD_OPTIONS' });
    return savePart(root, state, opts);
  }
  if (opts.async) return saveAsync(root, state, opts as AsyncSaveOptions);
  throwIfAborted(opts.signal);
  // References now, each tensor's values read out as it is written (async-save.ts: streamedCapture).
  const s = streamedCapture();
  let c: Captured;
  try {
    c = capture(root, state, opts, s.take);
  } catch (e) {
    s.dispose();
    throw e;
  }
  return queueFor(c.store.describe(c.rootKey)).enqueue(() => underSignal(opts.signal, () => commit(c, opts)).finally(() => s.dispose()), 'sync');
}

async function saveAsync(root: Dest, state: TrainingState, opts: AsyncSaveOptions): Promise<PendingCheckpoint> {
  throwIfAborted(opts.signal);
  const log = loggerFrom(opts);
  const { store, key } = resolveSource(root);
  const q = queueFor(store.describe(key));
  const offRoot = await offThreadRoot(root, store.kind, opts);
  await q.room(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  // From here to enqueue() nothing awaits: the room just found is taken before any other caller wakes.
  const d = deferredCapture();
  let c: Captured;
  try {
    c = capture(root, state, opts, d.take);
  } catch (e) {
    d.dispose();
    throw e;
  }
  const committed = q.enqueue(async () => {
    try {
      await d.materialize();
      // On a worker where one can take it (off-thread.ts): this thread only captures; else here.
      const off = offRoot === null ? null : commitOffThread(offRoot, c, opts, d.owned(), log);
      if (off) {
        const r = await off;
        d.adopt(r.pooled);
        return r.info;
      }
      return await underSignal(opts.signal, () => commit(c, opts));
    } finally {
      // After the write: pooled capture buffers may be reused by the next capture only once written.
      d.dispose();
    }
  });
  // Reported by `committed`, flushCheckpoints() and the log; never an unhandled rejection that kills training.
  committed.catch((e) => log.error('asynchronous checkpoint save failed', { path: store.describe(joinKey(c.rootKey, c.name)), step: c.step, error: String((e as Error)?.message ?? e) }));
  return { name: c.name, step: c.step, path: store.describe(joinKey(c.rootKey, c.name)), committed };
}

/**
 * Waits until every checkpoint save in flight (of `root`, or of every root) has committed or failed;
 * rejects with the first failure. Call it before a process exits.
 */
export async function flushCheckpoints(root?: Dest): Promise<void> {
  let id: string | undefined;
  if (root !== undefined) {
    const { store, key } = resolveSource(root);
    id = store.describe(key);
  }
  for (const q of queuesToFlush(id)) await q.flush();
}

/** Steps 2–4 for a captured state: write, commit, registry and retention (on this thread, or on a worker: off-thread.ts). */
export async function commit(c: Captured, opts: SaveOptions): Promise<CheckpointInfo> {
  const log = loggerFrom(opts);
  const { store, rootKey, step, meta, createdAt } = c;
  const state = { lineage: c.lineage, metrics: c.metrics };

  if (state.lineage !== undefined) {
    const checked = checkLineage(state.lineage);
    if ('problem' in checked) throw errorFor('UNSUPPORTED', `training state: ${checked.problem} (pass the lineage a LoadedCheckpoint returned, or none)`, { detail: 'BAD_STATE' });
  }
  // The registry's lineage is used only once validated (readRegistry rebuilds a broken one from the manifests).
  const registry = await readRegistry(store, rootKey, log);
  const lineage: Lineage = state.lineage ?? registry.models[meta.model_name]?.lineage ?? { fine_tuned_from: null, chain: [firstLink(meta, createdAt)] };

  // A bad private key fails here, before anything is written.
  const signer = await manifestSigner(opts.privateKey);
  // 2. Write into a temporary folder (object stores: the checkpoint's own folder).
  const objectStore = isObjectStore(store);
  const name = c.name;
  const finalKey = joinKey(rootKey, name);
  const tmp = objectStore ? finalKey : tempKeyFor(finalKey);
  const latestKey = joinKey(rootKey, LATEST);
  // What LATEST holds now: the commit replaces it only if nobody else has meanwhile.
  const before = store.writeIf && store.readVersioned ? await store.readVersioned(latestKey) : undefined;
  let files: Record<string, FileEntry> = {};
  let aside: string | null = null;
  try {
    // An abort stops before the commit (the temporary folder is removed), never between the rename and LATEST's.
    files = await writeStateFiles(c, tmp, opts, log);
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_VERSION, step, created_at: createdAt,
      model: meta, lineage, files, metrics: { ...(state.metrics ?? {}) },
    };
    const manifestBytes = await serializeSignedManifest(manifest, { key: opts.key, keyId: opts.keyId, signer });
    await store.write(joinKey(tmp, MANIFEST), manifestBytes);
    await store.sync(joinKey(tmp, MANIFEST));
    await checkWrittenManifest(store, joinKey(tmp, MANIFEST), manifestBytes, opts.key);
    await store.sync(tmp);
    throwIfAborted(opts.signal);

    // 3. Commit: the folder, then LATEST; a re-saved step's previous folder goes only after that (commit.ts).
    // On object stores there is nothing to rename: the folder is this save's alone.
    if (!objectStore) aside = await commitFolder(store, tmp, finalKey);
    else await store.sync(finalKey);
    if (before !== undefined) await commitLatest(store, latestKey, name, before);
    else await writeAtomic(store, latestKey, enc.encode(name + '\n'));
  } catch (e) {
    // After commitFolder, tmp is gone and the committed folder stays; on object stores tmp is the save's own folder.
    await store.remove(tmp).catch(() => {});
    log.error('checkpoint save failed', { path: store.describe(finalKey), step, error: String((e as Error)?.message ?? e) });
    if (e instanceof CheckpointError) throw e;
    throw errorFor('IO', `saving checkpoint ${store.describe(finalKey)} failed: ${(e as Error)?.message ?? String(e)}`, { path: store.describe(finalKey), cause: e });
  }
  if (aside) await store.remove(aside).catch((e) => log.warn('could not remove the folder a re-save replaced (the next resume removes it)', { path: store.describe(aside!), error: String(e) }));
  log.info('checkpoint committed', { path: store.describe(finalKey), step, model_name: meta.model_name, signed: opts.key !== undefined });

  // 4. Retention and the registry: the checkpoint is already committed; failures here are logged, not fatal.
  let removed: string[] = [];
  try {
    if (opts.retention) removed = await applyRetention(store, rootKey, opts.retention, log);
    await updateRegistry(store, rootKey, log, (reg) => void registerModel(reg, meta, lineage, name));
  } catch (e) {
    log.warn('checkpoint committed, but applying retention or updating registry.json failed (the next save brings registry.json up to date)', { path: store.describe(rootKey), error: String((e as Error)?.message ?? e) });
  }
  return {
    name, path: store.describe(finalKey), step, created_at: createdAt, model: meta, lineage, metrics: { ...(state.metrics ?? {}) },
    files, signed: opts.key !== undefined, latest: true, ...(removed.length ? { removed } : {}),
  };
}

/**
 * Writes the captured state's files into the folder `dir` (weights and optimizer slots with their sidecars,
 * trainer state, vocabulary), each durable; returns their sizes and SHA-256 by name. Shared by a whole
 * checkpoint and by one rank's part of it (parts.ts).
 */
export async function writeStateFiles(c: Captured, dir: string, opts: SaveOptions, log: Logger): Promise<Record<string, FileEntry>> {
  const { store, meta, adapter, opt, trainerBytes, vocabBytes } = c;
  const weights: TensorMap = adapter.toFile(c.model);
  const files: Record<string, FileEntry> = {};
  // Progress: the tensor bytes of both files, then the trainer state and vocab.
  const modelBytes = tensorBytes(weights), optBytes = opt ? tensorBytes(opt.slots) : 0;
  const progress = new ProgressReporter(opts.onProgress, modelBytes + optBytes + trainerBytes.length + vocabBytes.length, 'write');
  const wopts = { key: opts.key, keyId: opts.keyId, logger: log, signal: opts.signal, workers: opts.workers };
  const mw = await writeSafetensors({ store, key: joinKey(dir, MODEL_FILE) }, weights, {
    ...wopts, metadata: { ...(adapter.fileMetadata?.() ?? {}), model_name: meta.model_name, architecture_type: meta.architecture_type },
    onProgress: progress.active ? (p) => progress.to(p.done) : undefined,
  });
  files[MODEL_FILE] = { size: mw.size, sha256: mw.sha256 };
  files[MODEL_FILE + '.meta.json'] = await fileEntry(store, sidecarKeyFor(joinKey(dir, MODEL_FILE)));
  if (opt) {
    const ow = await writeSafetensors({ store, key: joinKey(dir, OPTIMIZER_FILE) }, opt.slots, {
      ...wopts, metadata: { optimizer: opt.state.name, iterations: String(opt.state.iterations) },
      onProgress: progress.active ? (p) => progress.to(modelBytes + p.done) : undefined,
    });
    files[OPTIMIZER_FILE] = { size: ow.size, sha256: ow.sha256 };
    files[OPTIMIZER_FILE + '.meta.json'] = await fileEntry(store, sidecarKeyFor(joinKey(dir, OPTIMIZER_FILE)));
  }
  for (const [file, bytes] of [[TRAINER_STATE, trainerBytes], [VOCAB, vocabBytes]] as const) {
    throwIfAborted(opts.signal);
    await store.write(joinKey(dir, file), bytes);
    await store.sync(joinKey(dir, file));
    files[file] = { size: bytes.length, sha256: hex(bytes) };
    progress.add(bytes.length);
  }
  return files;
}

/** LATEST := name, only if it still holds what `before` read; a lost race is CONFLICT naming the winner. */
export async function commitLatest(store: Store, latestKey: string, name: string, before: VersionedValue | null): Promise<void> {
  // The checkpoint LATEST names is recorded as committed before LATEST moves off it (commits.ts).
  if (before && isObjectStore(store)) await recordCommitted(store, dirOf(latestKey), new TextDecoder().decode(before.bytes).trim());
  try {
    await store.writeIf!(latestKey, enc.encode(name + '\n'), { ifVersion: before?.version ?? null });
  } catch (e) {
    if ((e as CheckpointError).detail !== 'PRECONDITION_FAILED') throw e;
    const now = await store.read(latestKey).then((b) => new TextDecoder().decode(b).trim(), () => '(unreadable)');
    const was = before ? new TextDecoder().decode(before.bytes).trim() : '(nothing)';
    throw errorFor('IO', `checkpoint ${store.describe(joinKey(dirOf(latestKey), name))} was not committed: another writer moved ${store.describe(latestKey)} from ${was} to ${now} while it was being saved (one writer per checkpoint root, or save with distinct roots)`, {
      path: store.describe(latestKey), detail: 'CONFLICT', cause: e,
    });
  }
}

/**
 * Reads back the manifest just written and checks it before LATEST may move to it: the same
 * bytes, a manifest this build loads, signed with the key when one was given. A save whose own
 * manifest would be refused fails here, rather than committing a checkpoint nothing can load.
 */
export async function checkWrittenManifest(store: Store, key: string, written: Uint8Array, mac: SaveOptions['key']): Promise<void> {
  const back = await store.read(key);
  if (back.length !== written.length || hex(back) !== hex(written)) {
    throw errorFor('IO', `${store.describe(key)} does not read back as written (${back.length} bytes, ${written.length} written): the store lost or changed it; nothing was committed`, {
      path: store.describe(key), detail: 'READBACK',
    });
  }
  const parsed = parseManifest(back, store.describe(key));
  if (mac !== undefined) checkJsonMac(parsed.raw, mac, store.describe(key));
}

async function fileEntry(store: Store, key: string): Promise<FileEntry> {
  const bytes = await store.read(key);
  return { size: bytes.length, sha256: hex(bytes) };
}
