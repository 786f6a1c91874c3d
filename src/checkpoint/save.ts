// saveCheckpoint: one training checkpoint, committed atomically on any Store.
//
// 1. Snapshot (synchronously, before the first await): every variable and
//    optimizer slot is copied, so training may go on while the files are
//    written (an async save never captures a half-updated step).
// 2. Write everything into `step-NNNNNNNN.tmp-…/`: model.safetensors and
//    optimizer.safetensors (with their sidecars), trainer_state.json,
//    vocab.json, and last the manifest checkpoint.json listing each file's
//    size and SHA-256 (signed when a key is given). Sync.
// 3. Rename the folder to `step-NNNNNNNN/`, sync, then replace LATEST
//    atomically. Until LATEST moves, readers see the previous checkpoint; a
//    crash at any point leaves either the old or the new one named there, and
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
import { writeSafetensors } from '../format/safetensors-write.js';
import { sidecarKeyFor } from '../format/sidecar.js';
import type { MacKey } from '../format/signed-json.js';
import type { TensorMap } from '../types/tensor.js';
import type { ModelLike, Optimizer, VariableModel } from '../tfjs/tf.js';
import { namedVariables, snapshotModel } from '../tfjs/variables.js';
import { snapshotOptimizer } from '../tfjs/optimizer-state.js';
import { adapterFor } from './adapters/index.js';
import type { ArchitectureAdapter } from './adapters/adapter.js';
import { LATEST, MANIFEST, MODEL_FILE, OPTIMIZER_FILE, TRAINER_STATE, VOCAB, replacedName, stepDirName, uniqueStepDirName } from './layout.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, serializeManifest, type FileEntry, type Manifest } from './manifest.js';
import { DEFAULT_ARCHITECTURE, firstLink, type Lineage, type ModelMetadata } from './metadata.js';
import { readRegistry, registerModel, writeRegistry, forgetCheckpoints } from './registry.js';
import { applyRetention, type RetentionPolicy } from './retention.js';
import { serializeTrainerState, type TrainerState } from './trainer-state.js';

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

/** Options of saveCheckpoint: HMAC key, retention, async capture, multi-writer rank/world size, a logger. */
export interface SaveOptions {
  /** HMAC-SHA256 key: signs the manifest and the sidecars (never stored). */
  key?: MacKey;
  keyId?: string;
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

function modelMetadata(model: ModelLike, m: Partial<ModelMetadata> | undefined): ModelMetadata {
  const vm = model as Partial<VariableModel>;
  const architecture_type = m?.architecture_type ?? vm.architecture_type ?? DEFAULT_ARCHITECTURE;
  const model_id = m?.model_id ?? null;
  return {
    model_name: m?.model_name ?? model_id ?? architecture_type,
    model_id,
    architecture_type,
    source: m?.source ?? (model_id ? 'huggingface' : 'custom'),
    architecture: { ...(vm.architecture ?? {}), ...(m?.architecture ?? {}) },
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

/** Writes `root/step-NNNNNNNN/` atomically (model, optimizer, trainer state, vocab, manifest) and moves `root/LATEST` to it. */
export async function saveCheckpoint(root: Dest, state: TrainingState, opts: SaveOptions = {}): Promise<CheckpointInfo> {
  const log = loggerFrom(opts);
  const { store, key: rootKey } = resolveSource(root);
  if (store.readOnly) throw new UnsupportedError(`cannot save a checkpoint to ${store.describe(rootKey)}: ${store.kind} is read-only`, { detail: 'READ_ONLY', path: store.describe(rootKey) });
  const step = checkStep(state.step);
  const meta = modelMetadata(state.model, state.metadata);
  const adapter = adapterFor(meta.architecture_type, opts.adapters);

  // 1. Snapshot, synchronously.
  const weights: TensorMap = adapter.toFile(snapshotModel(state.model));
  const opt = state.optimizer ? snapshotOptimizer(state.optimizer, namedVariables(state.model)) : null;
  const trainer: TrainerState = {
    step, config: state.config ?? {}, rng: state.rng ?? null, data_cursor: state.dataCursor ?? null,
    optimizer: opt?.state ?? null, extra: state.extra ?? null,
  };
  const trainerBytes = serializeTrainerState(trainer);
  const vocabBytes = json(state.vocab, 'vocab');
  json(state.config, 'config');
  const createdAt = (opts.now?.() ?? new Date()).toISOString();

  const registry = await readRegistry(store, rootKey, log);
  const lineage: Lineage = state.lineage ?? registry.models[meta.model_name]?.lineage ?? { fine_tuned_from: null, chain: [firstLink(meta, createdAt)] };

  // 2. Write into a temporary folder (object stores: the checkpoint's own folder).
  const objectStore = store.atomicWrites === true && typeof store.writeIf === 'function';
  const name = objectStore ? uniqueStepDirName(step) : stepDirName(step);
  const finalKey = joinKey(rootKey, name);
  const tmp = objectStore ? finalKey : tempKeyFor(finalKey);
  const latestKey = joinKey(rootKey, LATEST);
  // What LATEST holds now: the commit replaces it only if nobody else has meanwhile.
  const before = store.writeIf && store.readVersioned ? await store.readVersioned(latestKey) : undefined;
  const files: Record<string, FileEntry> = {};
  try {
    const wopts = { key: opts.key, keyId: opts.keyId, logger: log };
    const mw = await writeSafetensors({ store, key: joinKey(tmp, MODEL_FILE) }, weights, {
      ...wopts, metadata: { ...(adapter.fileMetadata?.() ?? {}), model_name: meta.model_name, architecture_type: meta.architecture_type },
    });
    files[MODEL_FILE] = { size: mw.size, sha256: mw.sha256 };
    files[MODEL_FILE + '.meta.json'] = await fileEntry(store, sidecarKeyFor(joinKey(tmp, MODEL_FILE)));
    if (opt) {
      const ow = await writeSafetensors({ store, key: joinKey(tmp, OPTIMIZER_FILE) }, opt.slots, {
        ...wopts, metadata: { optimizer: opt.state.name, iterations: String(opt.state.iterations) },
      });
      files[OPTIMIZER_FILE] = { size: ow.size, sha256: ow.sha256 };
      files[OPTIMIZER_FILE + '.meta.json'] = await fileEntry(store, sidecarKeyFor(joinKey(tmp, OPTIMIZER_FILE)));
    }
    for (const [file, bytes] of [[TRAINER_STATE, trainerBytes], [VOCAB, vocabBytes]] as const) {
      await store.write(joinKey(tmp, file), bytes);
      await store.sync(joinKey(tmp, file));
      files[file] = { size: bytes.length, sha256: hex(bytes) };
    }
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_VERSION, step, created_at: createdAt,
      model: meta, lineage, files, metrics: { ...(state.metrics ?? {}) },
    };
    await store.write(joinKey(tmp, MANIFEST), serializeManifest(manifest, opts.key, opts.keyId));
    await store.sync(joinKey(tmp, MANIFEST));
    await store.sync(tmp);

    // 3. Commit: the folder, then LATEST.
    if (objectStore) {
      // Nothing to rename: the folder is this save's alone.
    } else if (await store.exists(finalKey)) {
      // Re-saving a step (e.g. after resuming from an earlier checkpoint): set the old one aside first.
      const aside = replacedName(finalKey);
      await store.rename(finalKey, aside);
      await store.rename(tmp, finalKey);
      await store.remove(aside);
    } else {
      await store.rename(tmp, finalKey);
    }
    await store.sync(finalKey);
    if (before !== undefined) await commitLatest(store, latestKey, name, before);
    else await writeAtomic(store, latestKey, enc.encode(name + '\n'));
  } catch (e) {
    await store.remove(tmp).catch(() => {});
    log.error('checkpoint save failed', { path: store.describe(finalKey), step, error: String((e as Error)?.message ?? e) });
    if (e instanceof CheckpointError) throw e;
    throw errorFor('IO', `saving checkpoint ${store.describe(finalKey)} failed: ${(e as Error)?.message ?? String(e)}`, { path: store.describe(finalKey), cause: e });
  }
  log.info('checkpoint committed', { path: store.describe(finalKey), step, model_name: meta.model_name, signed: opts.key !== undefined });

  // 4. Registry and retention: the checkpoint is already committed; failures here are logged, not fatal.
  let removed: string[] = [];
  try {
    registerModel(registry, meta, lineage, name);
    if (opts.retention) {
      removed = await applyRetention(store, rootKey, opts.retention, log);
      forgetCheckpoints(registry, new Set(removed));
    }
    await writeRegistry(store, rootKey, registry);
  } catch (e) {
    log.warn('checkpoint committed, but updating registry.json or applying retention failed', { path: store.describe(rootKey), error: String((e as Error)?.message ?? e) });
  }
  return {
    name, path: store.describe(finalKey), step, created_at: createdAt, model: meta, lineage, metrics: { ...(state.metrics ?? {}) },
    files, signed: opts.key !== undefined, latest: true, ...(removed.length ? { removed } : {}),
  };
}

/** LATEST := name, only if it still holds what `before` read; a lost race is CONFLICT naming the winner. */
async function commitLatest(store: Store, latestKey: string, name: string, before: VersionedValue | null): Promise<void> {
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

async function fileEntry(store: Store, key: string): Promise<FileEntry> {
  const bytes = await store.read(key);
  return { size: bytes.length, sha256: hex(bytes) };
}
