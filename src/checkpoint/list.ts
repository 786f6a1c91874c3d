// The committed checkpoints of a root, oldest first, from their manifests
// (cheap: no tensor is read or hashed; `verify` does that), and the folders
// that hold them. Leftovers of interrupted saves are not checkpoints and are
// not listed. listCheckpoints (src/sources/list.ts) is its public form.
import { CorruptError, NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { baseOf, joinKey } from '../store/keys.js';
import { LATEST, MANIFEST, MAX_NAME_LENGTH } from './layout.js';
import { replacedOf, stepOfDir } from './folder-names.js';
import { parseManifest } from './manifest.js';
import type { CheckpointInfo } from './save.js';
import { committedNames } from './commits.js';

/** The folder name LATEST holds, or null when there is no LATEST (or it is empty). */
export async function readLatest(store: Store, rootKey: string): Promise<string | null> {
  const key = joinKey(rootKey, LATEST);
  try {
    // LATEST holds one folder name: a file far longer is damaged or hostile, and is neither read whole nor quoted.
    const size = await store.size(key);
    if (size > MAX_NAME_LENGTH + 2) {
      throw new CorruptError(`${store.describe(key)} is ${size} bytes; it should hold one checkpoint folder name (step-NNNNNNNN). Delete it: resume then falls back to the newest checkpoint that verifies`, {
        path: store.describe(key), detail: 'BAD_LATEST',
      });
    }
    const name = new TextDecoder().decode(await store.read(key)).trim();
    return name === '' ? null : name;
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** A committed checkpoint: its name (`step-N`), its step, and the folder that holds it now. */
export interface CheckpointDir {
  name: string;
  step: number;
  /**
   * Usually `name`. A re-save killed between its two renames (commit.ts) leaves no `name`, and the
   * committed checkpoint in the folder it was set aside as (`name.replaced-…`): readers look there
   * until recovery puts it back.
   */
  dir: string;
}

/**
 * Committed checkpoint folders under `rootKey`, by step ascending. On object stores only those recorded
 * as committed or named by LATEST (commits.ts): a killed writer's complete but uncommitted folder is not one.
 */
export async function checkpointDirs(store: Store, rootKey: string): Promise<CheckpointDir[]> {
  const committed = await committedNames(store, rootKey);
  const named = new Map<string, CheckpointDir>();
  const aside = new Map<string, { dir: string; at: number }>();
  for (const e of await store.list(rootKey)) {
    if (!e.isDirectory) continue;
    const name = baseOf(e.key);
    const step = stepOfDir(name);
    if (step !== null && (committed === null || committed.has(name))) named.set(name, { name, step, dir: name });
    const r = replacedOf(name);
    if (r && (aside.get(r.base)?.at ?? -1) < r.at) aside.set(r.base, { dir: name, at: r.at });
  }
  for (const [name, a] of aside) if (!named.has(name)) named.set(name, { name, step: stepOfDir(name)!, dir: a.dir });
  return [...named.values()].sort((a, b) => a.step - b.step);
}

/** The folder (key) holding the committed checkpoint `name` of the root `rootKey` (see CheckpointDir.dir). */
export async function committedDir(store: Store, rootKey: string, name: string): Promise<string> {
  const own = joinKey(rootKey, name);
  if (await store.exists(joinKey(own, MANIFEST))) return own;
  const d = (await checkpointDirs(store, rootKey)).find((c) => c.name === name);
  return d ? joinKey(rootKey, d.dir) : own;
}

export async function listAt(store: Store, rootKey: string): Promise<CheckpointInfo[]> {
  // A damaged LATEST does not hide the checkpoints: they are listed, none marked latest.
  const latest = await readLatest(store, rootKey).catch((e) => {
    if (e instanceof CorruptError) return null;
    throw e;
  });
  const out: CheckpointInfo[] = [];
  for (const { name, step, dir } of await checkpointDirs(store, rootKey)) {
    const key = joinKey(rootKey, dir);
    try {
      const { manifest: m } = parseManifest(await store.read(joinKey(key, MANIFEST)), store.describe(joinKey(key, MANIFEST)));
      out.push({
        name, path: store.describe(key), step: m.step, created_at: m.created_at, model: m.model, lineage: m.lineage,
        metrics: m.metrics, files: m.files, signed: m.hmac !== undefined, latest: name === latest,
      });
    } catch (e) {
      out.push({
        name, path: store.describe(key), step, created_at: '', model: { model_name: '', model_id: null, architecture_type: '', source: '', architecture: {} },
        lineage: { fine_tuned_from: null, chain: [] }, metrics: {}, files: {}, signed: false, latest: name === latest,
        problem: `${(e as { code?: string }).code ?? 'IO'}: ${(e as Error).message}`,
      });
    }
  }
  return out;
}
