// registry.json in a checkpoint root: model_name → what the model is and
// where its checkpoints are (004_ada63831f80d4cc5.txt: "new model_name is
// registered in registry", "fine_tuned_from points to the original").
//
// The manifests are the record; the registry is an index of them, and like
// every file read back it is untrusted: one that cannot be read (damaged, not
// JSON, malformed entries, a directory) is reported (WARN) and rebuilt from
// the manifests, never copied into new ones. Every update is a read-modify-
// write under a lock (store/lock.ts) that also reconciles the index with the
// folders present — committed checkpoints it lacks are added from their
// manifests, removed ones dropped — so concurrent writers lose no entry, and
// an update a kill skipped is made good by the next one.
import { CorruptError, NotFoundError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { writeAtomic } from '../store/atomic.js';
import { withLock } from '../store/lock.js';
import { joinKey } from '../store/keys.js';
import { parseJsonObject } from '../format/signed-json.js';
import { MANIFEST, REGISTRY } from './layout.js';
import { stepOfDir } from './folder-names.js';
import { checkpointDirs } from './list.js';
import { parseManifest } from './manifest.js';
import { checkLineage, type Lineage, type ModelMetadata } from './metadata.js';

export const REGISTRY_FORMAT = 'safeckpt.registry';

/** One model in registry.json: its id, architecture, source, what it was fine-tuned from, its checkpoints. */
export interface RegistryEntry {
  model_id: string | null;
  architecture_type: string;
  source: string;
  fine_tuned_from: string | null;
  /** When this model's run started (the last lineage link's started_at). */
  started_at: string;
  lineage: Lineage;
  /** Committed checkpoint folders of this model in this root, oldest first. */
  checkpoints: string[];
}

/** registry.json of a checkpoint root: model_name → RegistryEntry. */
export interface Registry {
  format: typeof REGISTRY_FORMAT;
  format_version: 1;
  /** A null-prototype record: model names are data (`__proto__` is a name like any other). */
  models: Record<string, RegistryEntry>;
}

const models = (): Record<string, RegistryEntry> => Object.create(null);
const empty = (): Registry => ({ format: REGISTRY_FORMAT, format_version: 1, models: models() });
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const strOrNull = (x: unknown): x is string | null => x === null || typeof x === 'string';

/** A registry document, checked entry by entry; CORRUPT naming the first malformed part. */
export function parseRegistry(bytes: Uint8Array, path: string): Registry {
  const d = parseJsonObject(bytes, path);
  const bad = (what: string) => new CorruptError(`${path}: ${what}`, { path, detail: 'BAD_REGISTRY' });
  if (d.format !== REGISTRY_FORMAT) throw bad(`"format" is ${JSON.stringify(d.format)}, expected "${REGISTRY_FORMAT}"`);
  if (d.format_version !== 1) throw bad(`"format_version" is ${JSON.stringify(d.format_version)}, expected 1`);
  if (!isObj(d.models)) throw bad('"models" is not an object');
  const out = empty();
  for (const [name, e] of Object.entries(d.models)) {
    const where = `model ${JSON.stringify(name)}`;
    if (!isObj(e)) throw bad(`${where} is not an object`);
    if (!strOrNull(e.model_id) || !strOrNull(e.fine_tuned_from)) throw bad(`${where}: model_id or fine_tuned_from is neither a string nor null`);
    if (typeof e.architecture_type !== 'string' || typeof e.source !== 'string' || typeof e.started_at !== 'string') throw bad(`${where}: architecture_type, source or started_at is not a string`);
    const l = checkLineage(e.lineage);
    if ('problem' in l) throw bad(`${where}: ${l.problem}`);
    if (!Array.isArray(e.checkpoints) || !e.checkpoints.every((c) => typeof c === 'string' && stepOfDir(c) !== null)) throw bad(`${where}: "checkpoints" is not a list of step-NNNNNNNN folder names`);
    out.models[name] = {
      model_id: e.model_id, architecture_type: e.architecture_type, source: e.source, fine_tuned_from: e.fine_tuned_from,
      started_at: e.started_at, lineage: l.lineage, checkpoints: [...new Set(e.checkpoints as string[])].sort(),
    };
  }
  return out;
}

/** The registry of the root at `rootKey`: empty when there is none; rebuilt from the manifests (with a warning) when unreadable. */
export async function readRegistry(store: Store, rootKey: string, log: Logger): Promise<Registry> {
  const key = joinKey(rootKey, REGISTRY);
  try {
    return parseRegistry(await store.read(key), store.describe(key));
  } catch (e) {
    if (e instanceof NotFoundError) return empty();
    log.warn('registry.json is unreadable: rebuilding it from the checkpoint manifests (they hold every model\'s metadata and lineage)', {
      path: store.describe(key), error: String((e as Error)?.message ?? e),
    });
    return reconcile(store, rootKey, empty(), log);
  }
}

/**
 * Makes `reg` list exactly the committed checkpoints present: folders it lacks are added from
 * their manifests (the newest manifest of a model gives its metadata when the model is new to the
 * registry), folders that are gone are dropped. A manifest that cannot be read is left out.
 */
export async function reconcile(store: Store, rootKey: string, reg: Registry, log: Logger): Promise<Registry> {
  const dirs = await checkpointDirs(store, rootKey);
  const present = new Set(dirs.map((d) => d.name));
  const known = new Set<string>();
  for (const e of Object.values(reg.models)) {
    e.checkpoints = e.checkpoints.filter((c) => present.has(c));
    for (const c of e.checkpoints) known.add(c);
  }
  for (const d of dirs) {
    if (known.has(d.name)) continue;
    const mk = joinKey(joinKey(rootKey, d.dir), MANIFEST);
    try {
      const m = parseManifest(await store.read(mk), store.describe(mk)).manifest;
      const entry = reg.models[m.model.model_name];
      if (entry) entry.checkpoints = [...entry.checkpoints, d.name].sort();
      else registerModel(reg, m.model, m.lineage, d.name);
    } catch (e) {
      log.debug('registry: a checkpoint folder without a readable manifest is not indexed', { path: store.describe(mk), error: String((e as Error)?.message ?? e) });
    }
  }
  return reg;
}

export async function writeRegistry(store: Store, rootKey: string, reg: Registry): Promise<void> {
  await writeAtomic(store, joinKey(rootKey, REGISTRY), new TextEncoder().encode(JSON.stringify(reg, null, 1) + '\n'));
}

/**
 * Read-modify-write of the root's registry under its lock: read (or rebuild), apply `change`,
 * reconcile with the folders present, write atomically.
 */
export async function updateRegistry(store: Store, rootKey: string, log: Logger, change: (reg: Registry) => void): Promise<Registry> {
  return withLock(store, joinKey(rootKey, REGISTRY), async () => {
    const reg = await readRegistry(store, rootKey, log);
    change(reg);
    await reconcile(store, rootKey, reg, log);
    await writeRegistry(store, rootKey, reg);
    return reg;
  });
}

/** Records `model` (with its lineage) and, when given, one more checkpoint of it. */
export function registerModel(reg: Registry, model: ModelMetadata, lineage: Lineage, checkpoint?: string): RegistryEntry {
  const last = lineage.chain[lineage.chain.length - 1];
  const prev = reg.models[model.model_name];
  const entry: RegistryEntry = {
    model_id: model.model_id,
    architecture_type: model.architecture_type,
    source: model.source,
    fine_tuned_from: lineage.fine_tuned_from,
    started_at: prev?.started_at ?? last?.started_at ?? new Date().toISOString(),
    lineage,
    checkpoints: prev ? prev.checkpoints.filter((c) => c !== checkpoint) : [],
  };
  if (checkpoint) {
    // A folder holds one model's checkpoint: a re-save under another model_name moves it.
    for (const e of Object.values(reg.models)) e.checkpoints = e.checkpoints.filter((c) => c !== checkpoint);
    entry.checkpoints.push(checkpoint);
  }
  entry.checkpoints.sort();
  reg.models[model.model_name] = entry;
  return entry;
}
