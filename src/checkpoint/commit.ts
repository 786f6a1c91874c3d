// Committing a checkpoint folder, and putting a root back in order after a
// save was killed part-way.
//
// A fresh step commits with one rename: `step-N.tmp-…` → `step-N`. A re-save
// of a step that exists cannot replace its folder in one rename (rename(2)
// refuses a non-empty target), so it takes two: the committed folder is set
// aside as `step-N.replaced-<time>`, then the new one takes its name, and the
// old one is removed only after LATEST has moved. A kill between the two
// renames leaves no `step-N`; the committed checkpoint is then the folder set
// aside, complete. Readers look for it there (list.ts: checkpointDirs,
// committedDir), and recovery puts it back under its name. Recovery deletes a
// folder set aside only when `step-N` itself verifies, so the last complete
// copy of a committed checkpoint is never what it removes.
import { loggerFrom, silentLogger, type Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { isTempKey, tempKeyFor } from '../store/atomic.js';
import { baseOf, dirOf, joinKey } from '../store/keys.js';
import { forgetCommitted, isObjectStore } from './commits.js';
import { removeAbandoned } from './abandoned.js';
import { replacedName, replacedOf } from './folder-names.js';
import { readCheckpointDir } from './read.js';

/**
 * Moves the complete folder `tmp` to `finalKey`. When `finalKey` exists (a re-save), the committed
 * folder is set aside first and its new name returned: the caller removes it once LATEST has moved.
 */
export async function commitFolder(store: Store, tmp: string, finalKey: string): Promise<string | null> {
  if (!(await store.exists(finalKey))) {
    await store.rename(tmp, finalKey);
    await store.sync(finalKey);
    return null;
  }
  const aside = replacedName(finalKey);
  await store.rename(finalKey, aside);
  try {
    await store.rename(tmp, finalKey);
  } catch (e) {
    // Not a kill but a failure: put the committed folder back now rather than leave it to recovery.
    await store.rename(aside, finalKey).catch(() => {});
    throw e;
  }
  await store.sync(finalKey);
  return aside;
}

/**
 * Removes a committed checkpoint folder (retention): renamed to a leftover name first, so a kill
 * half-way through the removal leaves a leftover, never a half-deleted folder under a step's name.
 */
export async function removeCheckpointFolder(store: Store, key: string): Promise<void> {
  if (isObjectStore(store)) {
    // A rename is a copy there: its commit record goes first, which unlists it at once; then its objects.
    await forgetCommitted(store, dirOf(key), baseOf(key));
    await store.remove(key);
    return;
  }
  const doomed = tempKeyFor(key);
  await store.rename(key, doomed);
  await store.remove(doomed);
}

export interface Recovery {
  /** Checkpoint folders put back under their names (a re-save was interrupted between its renames). */
  restored: string[];
  /** Leftovers removed: temporary folders and files of interrupted saves, folders set aside by completed re-saves. */
  cleaned: string[];
}

/**
 * Finishes what killed saves left in the root `rootKey`: a committed folder set aside by an
 * interrupted re-save goes back under its name (unless the new one is complete), and leftovers
 * (temporary folders and files, set-aside folders no longer needed) are removed.
 */
export async function recoverRoot(store: Store, rootKey: string, opts: { logger?: Logger | null; abandonedAfterMs?: number; now?: number } = {}): Promise<Recovery> {
  const log = loggerFrom(opts);
  const out: Recovery = { restored: [], cleaned: [] };
  const entries = await store.list(rootKey);
  const present = new Set(entries.map((e) => baseOf(e.key)));
  // Completeness, not authenticity, decides what is kept: a folder signed with another key is still complete.
  const complete = (name: string) => readCheckpointDir(store, joinKey(rootKey, name), { logger: silentLogger }).then(() => true, () => false);
  const remove = async (name: string) => {
    try {
      await store.remove(joinKey(rootKey, name));
      out.cleaned.push(name);
    } catch (e) {
      log.warn('could not remove a leftover of an interrupted save', { path: store.describe(joinKey(rootKey, name)), error: String(e) });
    }
  };

  const asides = new Map<string, { name: string; at: number }[]>();
  for (const e of entries) {
    const r = e.isDirectory ? replacedOf(baseOf(e.key)) : null;
    if (r) asides.set(r.base, [...(asides.get(r.base) ?? []), { name: baseOf(e.key), at: r.at }]);
  }
  for (const [base, set] of asides) {
    set.sort((a, b) => b.at - a.at);
    let keep: string | undefined;
    if (!(present.has(base) && (await complete(base)))) {
      for (const a of set) if (await complete(a.name)) { keep = a.name; break; }
    }
    if (keep !== undefined) {
      // What holds the name (if anything) is incomplete: a new folder whose rename did not finish.
      if (present.has(base)) await removeCheckpointFolder(store, joinKey(rootKey, base));
      await store.rename(joinKey(rootKey, keep), joinKey(rootKey, base));
      await store.sync(joinKey(rootKey, base));
      out.restored.push(base);
      log.warn(`a re-save of ${base} was interrupted: restored the committed checkpoint it had set aside`, {
        root: store.describe(rootKey), checkpoint: base, from: keep,
      });
    }
    for (const a of set) if (a.name !== keep) await remove(a.name);
  }
  for (const e of entries) if (isTempKey(baseOf(e.key))) await remove(baseOf(e.key));
  // Object stores: folders of saves that never committed, once untouched for the safe age (commits.ts).
  try {
    out.cleaned.push(...(await removeAbandoned(store, rootKey, { olderThanMs: opts.abandonedAfterMs, now: opts.now })));
  } catch (e) {
    log.warn('could not remove the folders of saves that never committed', { path: store.describe(rootKey), error: String(e) });
  }
  if (out.cleaned.length) log.info('removed leftovers of interrupted saves', { root: store.describe(rootKey), leftovers: out.cleaned });
  return out;
}
