// listCheckpoints: the committed checkpoints of a root, oldest first, from
// their manifests (cheap: no tensor is read or hashed; `verify` does that).
// Leftovers of interrupted saves are not checkpoints and are not listed.
import { CorruptError, NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { resolveSource, type Source } from '../store/resolve.js';
import { baseOf, joinKey } from '../store/keys.js';
import { LATEST, MANIFEST, MAX_NAME_LENGTH, isLeftover, stepOfDir } from './layout.js';
import { parseManifest } from './manifest.js';
import type { CheckpointInfo } from './save.js';

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

/** Committed checkpoint folders under `rootKey`, by step ascending. */
export async function checkpointDirs(store: Store, rootKey: string): Promise<{ name: string; step: number }[]> {
  const out: { name: string; step: number }[] = [];
  for (const e of await store.list(rootKey)) {
    const name = baseOf(e.key);
    const step = stepOfDir(name);
    if (e.isDirectory && step !== null && !isLeftover(name)) out.push({ name, step });
  }
  return out.sort((a, b) => a.step - b.step);
}

export async function listAt(store: Store, rootKey: string): Promise<CheckpointInfo[]> {
  // A damaged LATEST does not hide the checkpoints: they are listed, none marked latest.
  const latest = await readLatest(store, rootKey).catch((e) => {
    if (e instanceof CorruptError) return null;
    throw e;
  });
  const out: CheckpointInfo[] = [];
  for (const { name, step } of await checkpointDirs(store, rootKey)) {
    const key = joinKey(rootKey, name);
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

/** The committed checkpoints of `root` (oldest first), each marked `latest` when LATEST names it. */
export async function listCheckpoints(root: Source): Promise<CheckpointInfo[]> {
  const { store, key } = resolveSource(root);
  return listAt(store, key);
}
