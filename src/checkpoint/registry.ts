// registry.json in a checkpoint root: model_name → what the model is and
// where its checkpoints are (004_ada63831f80d4cc5.txt: "new model_name is
// registered in registry", "fine_tuned_from points to the original"). It is
// replaced atomically on every change; a damaged registry is rebuilt from the
// manifests rather than trusted, since the manifests are the record.
import { CorruptError, NotFoundError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { writeAtomic } from '../store/atomic.js';
import { joinKey } from '../store/keys.js';
import { parseJsonObject } from '../format/signed-json.js';
import { REGISTRY } from './layout.js';
import type { Lineage, ModelMetadata } from './metadata.js';

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
  models: Record<string, RegistryEntry>;
}

const empty = (): Registry => ({ format: REGISTRY_FORMAT, format_version: 1, models: {} });

/** The registry of the root at `rootKey` (empty when there is none; a damaged one is reported and replaced). */
export async function readRegistry(store: Store, rootKey: string, log: Logger): Promise<Registry> {
  const key = joinKey(rootKey, REGISTRY);
  let bytes: Uint8Array;
  try {
    bytes = await store.read(key);
  } catch (e) {
    if (e instanceof NotFoundError) return empty();
    throw e;
  }
  try {
    const d = parseJsonObject(bytes, store.describe(key));
    if (d.format !== REGISTRY_FORMAT || typeof d.models !== 'object' || d.models === null) {
      throw new CorruptError(`${store.describe(key)} is not a safeckpt registry`, { path: store.describe(key) });
    }
    return d as unknown as Registry;
  } catch (e) {
    log.warn('registry.json is unreadable: starting a new one (the checkpoint manifests still hold every model\'s metadata and lineage)', {
      path: store.describe(key), error: String((e as Error).message),
    });
    return empty();
  }
}

export async function writeRegistry(store: Store, rootKey: string, reg: Registry): Promise<void> {
  await writeAtomic(store, joinKey(rootKey, REGISTRY), new TextEncoder().encode(JSON.stringify(reg, null, 1) + '\n'));
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
    checkpoints: prev ? [...prev.checkpoints] : [],
  };
  if (checkpoint && !entry.checkpoints.includes(checkpoint)) entry.checkpoints.push(checkpoint);
  entry.checkpoints.sort();
  reg.models[model.model_name] = entry;
  return entry;
}

/** Forgets checkpoint folders that no longer exist (after retention). */
export function forgetCheckpoints(reg: Registry, removed: ReadonlySet<string>): void {
  for (const e of Object.values(reg.models)) e.checkpoints = e.checkpoints.filter((c) => !removed.has(c));
}
