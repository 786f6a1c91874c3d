// saveWeights / loadWeights: a model's weights in one line, without a
// training checkpoint around them.
//
// saveWeights writes one safetensors file (or shards + index) with its signed
// sidecar, under stable names (names.ts for LayersModels, record keys
// otherwise), and records in `__metadata__` what the model is. loadWeights
// takes anything that holds weights — that file, a sharded index, a safeckpt
// checkpoint (root or step folder), or a Hugging Face model folder
// (config.json + model.safetensors or model.safetensors.index.json) — maps its
// tensors onto the model through an architecture adapter, checks every shape
// and dtype, and only then assigns them all: all or nothing.
import { UnsupportedError, errorFor } from '../errors.js';
import { loggerFrom, type Logger } from '../log/logger.js';
import { resolveSource, type Dest, type Source } from '../store/resolve.js';
import { joinKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { SafetensorsFile } from '../format/safetensors-read.js';
import { writeSafetensors, type WriteResult } from '../format/safetensors-write.js';
import type { MacKey } from '../format/signed-json.js';
import type { TensorLike } from '../types/tensor.js';
import type { ModelLike, TfOps } from '../tfjs/tf.js';
import { snapshotModel } from '../tfjs/variables.js';
import { hasLayers, WEIGHT_NAMING } from '../tfjs/names.js';
import type { ArchitectureAdapter } from '../checkpoint/adapters/adapter.js';
import { adapterOrIdentity, BUILTIN_ADAPTERS } from '../checkpoint/adapters/index.js';
import { MODEL_FILE } from '../checkpoint/layout.js';
import type { ModelMetadata } from '../checkpoint/metadata.js';
import { modelMetadata } from '../checkpoint/save.js';
import { locateCheckpoint, readCheckpointDir } from '../checkpoint/read.js';
import { prepareWeights } from '../checkpoint/load.js';
import { readSafetensors } from './read.js';
import { detectSource } from './detect.js';
import { throwIfAborted, underSignal, type ProgressCallback } from '../types/operation.js';

/** A Hugging Face model folder's description of the model. */
export const HF_CONFIG = 'config.json';

/** Options of saveWeights: signing key, metadata, adapter, sharding, logger, progress. */
export interface SaveWeightsOptions {
  /** HMAC-SHA256 key: signs the sidecar (never stored). */
  key?: MacKey;
  keyId?: string;
  /** model_name, architecture_type, … (defaults from the model: its class, name and layers). */
  metadata?: Partial<ModelMetadata>;
  /** Write the tensors under another layout (e.g. the qwen adapter writes Hugging Face Qwen2 names). */
  adapter?: ArchitectureAdapter;
  /** Split into shards of at most this many data bytes, with a model.safetensors.index.json. */
  maxShardSize?: number;
  logger?: Logger | null;
  /** Bytes of tensor data written: see OperationOptions. */
  onProgress?: ProgressCallback;
  /** Cancels the save: it rejects with the signal's reason and leaves no file under its final name. */
  signal?: AbortSignal;
}

/** What saveWeights wrote: the file(s), the tensor names and the metadata recorded. */
export interface SavedWeights extends WriteResult {
  /** The tensor names written, in model order. */
  names: string[];
  metadata: ModelMetadata;
}

/** Writes every weight of `model` to `dest` (a `.safetensors` file name), with its sidecar. */
export async function saveWeights(dest: Dest, model: ModelLike, opts: SaveWeightsOptions = {}): Promise<SavedWeights> {
  const log = loggerFrom(opts);
  const meta = modelMetadata(model, opts.metadata);
  const adapter = opts.adapter ?? adapterOrIdentity(meta.architecture_type);
  const tensors = adapter.toFile(snapshotModel(model));
  const fileMeta: Record<string, string> = {
    ...(adapter.fileMetadata?.() ?? {}), model_name: meta.model_name, architecture_type: meta.architecture_type,
    ...(hasLayers(model) && !opts.adapter ? { weight_naming: WEIGHT_NAMING } : {}),
  };
  const r = await writeSafetensors(dest, tensors, {
    key: opts.key, keyId: opts.keyId, metadata: fileMeta, maxShardSize: opts.maxShardSize, logger: log, onProgress: opts.onProgress, signal: opts.signal,
  });
  log.info('weights saved', { path: r.path, tensors: Object.keys(tensors).length, model_name: meta.model_name });
  return { ...r, names: Object.keys(tensors), metadata: meta };
}

/** Options of loadWeights: key, adapters, strictness, TensorFlow.js namespace, logger. */
export interface LoadWeightsOptions {
  /** HMAC key: the sidecar (or checkpoint manifest) must be signed with it (AUTH otherwise). */
  key?: MacKey;
  /** Refuse a safetensors file without a sidecar. */
  strict?: boolean;
  /** Use this adapter (e.g. your own for a Hugging Face model type safeckpt does not know). */
  adapter?: ArchitectureAdapter;
  /** Adapters to choose from by architecture_type or Hugging Face `model_type`, before the built-in ones. */
  adapters?: readonly ArchitectureAdapter[];
  /** Rarely needed: found from the model (see engine.ts). */
  tf?: TfOps;
  logger?: Logger | null;
  /** Cancels the load: it rejects with the signal's reason, and nothing is assigned to the model. */
  signal?: AbortSignal;
}

/** What loadWeights assigned, and where it came from. */
export interface LoadedWeights {
  /** What was read, for people. */
  path: string;
  /** What it was: a safetensors file, a sharded model, a safeckpt checkpoint, or a Hugging Face folder. */
  kind: 'safetensors' | 'sharded' | 'checkpoint' | 'huggingface';
  /** The model's weight names, all of them restored. */
  names: string[];
  /** The file's `__metadata__` (a checkpoint: its manifest's model metadata as strings). */
  metadata: Readonly<Record<string, string>> | null;
  /** A Hugging Face folder's config.json. */
  config?: Record<string, unknown>;
  /** The adapter used. */
  adapter: string;
  /** How many names were mapped from TensorFlow.js's old process-global names (WARN logged). */
  legacyRenamed: number;
}

interface Opened {
  kind: LoadedWeights['kind'];
  path: string;
  file: SafetensorsFile;
  tensors: Readonly<Record<string, TensorLike>>;
  architecture_type: string | null;
  config?: Record<string, unknown>;
}

async function exists(store: Store, key: string): Promise<boolean> {
  return store.exists(key).catch(() => false);
}

async function readJson(store: Store, key: string): Promise<Record<string, unknown>> {
  const bytes = await store.read(key);
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    throw new Error('not a JSON object');
  } catch (e) {
    throw errorFor('CORRUPT', `${store.describe(key)} is not a JSON object: ${(e as Error).message}`, { path: store.describe(key), detail: 'BAD_JSON', cause: e });
  }
}

/** Opens whatever `src` is (checkpoint, Hugging Face folder, file, index) and verifies what it reads. */
async function openWeights(src: Source, opts: LoadWeightsOptions, log: Logger): Promise<Opened> {
  const { store, key } = resolveSource(src, { signal: opts.signal });
  // The one detector (src/sources/detect.ts): a checkpoint, else a file or sharded model found in `key`.
  const d = await detectSource(store, key);
  if (d.kind === 'checkpoint') {
    const c = await readCheckpointDir(store, await locateCheckpoint(store, d.key), { key: opts.key, logger: log, signal: opts.signal });
    const m = c.manifest.model;
    return {
      kind: 'checkpoint', path: c.path, file: c.model, tensors: c.model.tensors, architecture_type: m.architecture_type,
    };
  }
  const hf = d.key !== key && await exists(store, joinKey(key, HF_CONFIG));
  const file = await readSafetensors({ store, key }, { load: 'all', verify: true, strict: opts.strict, key: opts.key, logger: log, signal: opts.signal });
  const kind = hf ? 'huggingface' : file.files.length > 1 || /\.index\.json$/.test(file.path) ? 'sharded' : 'safetensors';
  return {
    kind, path: file.path, file, tensors: file.tensors, architecture_type: file.metadata?.architecture_type ?? null,
    ...(hf ? { config: await readJson(store, joinKey(key, HF_CONFIG)) } : {}),
  };
}

/** The adapter for what was opened: the option, else by Hugging Face model_type, else by architecture_type. */
function chooseAdapter(o: Opened, opts: LoadWeightsOptions): ArchitectureAdapter {
  if (opts.adapter) return opts.adapter;
  const extra = opts.adapters ?? [];
  if (o.kind === 'huggingface') {
    const type = o.config?.model_type;
    const all = [...extra, ...Object.values(BUILTIN_ADAPTERS)];
    const found = all.find((a) => typeof type === 'string' && a.hf_model_types?.includes(type));
    if (found) return found;
    return adapterOrIdentity(typeof type === 'string' ? type : 'huggingface', extra);
  }
  return adapterOrIdentity(o.architecture_type ?? '', extra);
}

/**
 * Restores every weight of `model` from `src`: all or nothing. Returns what was read and how.
 * `src` is a `.safetensors` file, a sharded index, a safeckpt checkpoint (root or step folder) or a
 * Hugging Face model folder (with an adapter for its `model_type`).
 */
export async function loadWeights(src: Source, model: ModelLike, opts: LoadWeightsOptions = {}): Promise<LoadedWeights> {
  const log = loggerFrom(opts);
  if (!model || typeof model !== 'object') throw new UnsupportedError('loadWeights needs the model to restore into as its second argument', { detail: 'NO_MODEL' });
  const o = await underSignal(opts.signal, () => openWeights(src, opts, log));
  // Every tensor is read and checked: an abort up to here leaves the model as it was.
  throwIfAborted(opts.signal);
  const adapter = chooseAdapter(o, opts);
  if (o.kind === 'huggingface' && o.config && adapter.checkConfig) {
    const diffs = adapter.checkConfig(o.config, model);
    if (diffs.length) {
      throw errorFor('ARCH_MISMATCH', `${o.path}: the model given does not match the Hugging Face config.json (${diffs.join('; ')}): build it from that config (${adapter.description}). Nothing was loaded.`, {
        path: o.path, data: { differences: diffs },
      });
    }
  }
  const hint = o.kind === 'huggingface' && !adapter.hf_model_types
    ? `This Hugging Face folder's model_type '${String(o.config?.model_type)}' has no adapter: pass \`adapter\` (see docs/tensorflow.md, "Adapters") to map its tensor names onto the model's.`
    : 'Build the model these weights were saved from (`safeckpt inspect` lists their names and shapes).';
  const where = o.kind === 'checkpoint' ? joinKey(o.path, MODEL_FILE) : o.path;
  const w = prepareWeights(model, o.tensors, o.file, adapter, { tf: opts.tf, where, log, hint });
  const plan = w.plan();
  plan.commit();
  const names = w.vars.map((v) => v.name);
  log.info('weights loaded', { path: o.path, kind: o.kind, tensors: names.length, adapter: adapter.architecture_type });
  return {
    path: o.path, kind: o.kind, names, metadata: o.file.metadata, adapter: adapter.architecture_type, legacyRenamed: w.legacy?.size ?? 0,
    ...(o.config ? { config: o.config } : {}),
  };
}
