// Folders of saves that never committed, on object stores (S3): removed once
// abandoned — nothing under them changed for a safe age (docs/s3.md says why
// that age is safe). Apart from commits.ts so that a page that only reads and
// verifies does not ship it (it runs on resume and retention).
import type { Store } from '../store/store.js';
import { baseOf, joinKey } from '../store/keys.js';
import { stepOfDir } from './folder-names.js';
import { committedNames } from './commits.js';

/**
 * How long nothing may have changed in an uncommitted folder before it counts as abandoned: a day. A live
 * writer touches its folder at least once per file it writes (a multipart upload: when it starts), and a
 * checkpoint of several writers waits DEFAULT_COMMIT_TIMEOUT_MS (10 minutes) for its last rank; a day is
 * far beyond both, and beyond the 15 minutes S3 allows a client's clock to be off (SigV4).
 */
export const ABANDONED_AFTER_MS = 24 * 60 * 60_000;

/** The S3 store's upload listing, where the store has one. */
interface UploadLister {
  listUploads(): Promise<{ key: string; uploadId: string; initiated: Date }[]>;
  abortUploads(opts: { olderThanMs?: number; under?: string; now?: number }): Promise<{ key: string; uploadId: string }[]>;
}

/** The newest `modified` of the files under `key` (every level); Infinity when a file's time is unknown. */
async function newestUnder(store: Store, key: string): Promise<number> {
  let newest = -Infinity;
  for (const e of await store.list(key)) {
    const t = e.isDirectory ? await newestUnder(store, e.key) : e.modified ?? Infinity;
    if (t > newest) newest = t;
  }
  return newest;
}

/**
 * Removes the folders of saves that never committed on an object store — a writer killed after writing into
 * its folder and before its conditional PUT of LATEST (or a checkpoint of several writers whose last rank never
 * came) — once nothing under the folder has changed for `olderThanMs` (default ABANDONED_AFTER_MS): its newest
 * object is older, and so is every multipart upload still open under it (those are aborted with it). A folder a
 * live writer may still be writing into is never one: its writes keep it younger than the age (the rule is in
 * docs/s3.md). Committed checkpoints (a commit record, or what LATEST names) are never touched; a file whose
 * time the store does not say counts as new. Returns the folders removed. Other stores: nothing to do (fs
 * saves write into `.tmp-` folders that the root's lock tells apart, recoverRoot).
 */
export async function removeAbandoned(store: Store, rootKey: string, opts: { olderThanMs?: number; now?: number } = {}): Promise<string[]> {
  const committed = await committedNames(store, rootKey);
  if (committed === null) return [];
  const candidates = (await store.list(rootKey)).filter((e) => e.isDirectory && stepOfDir(baseOf(e.key)) !== null && !committed.has(baseOf(e.key)));
  if (candidates.length === 0) return [];
  const now = opts.now ?? Date.now();
  const cutoff = now - (opts.olderThanMs ?? ABANDONED_AFTER_MS);
  const lister = typeof (store as Partial<UploadLister>).listUploads === 'function' ? (store as unknown as UploadLister) : null;
  const uploads = lister ? await lister.listUploads() : [];
  const removed: string[] = [];
  for (const e of candidates) {
    const under = e.key + '/';
    if (uploads.some((u) => u.key.startsWith(under) && u.initiated.getTime() > cutoff)) continue;
    if ((await newestUnder(store, e.key)) > cutoff) continue;
    if (lister) await lister.abortUploads({ olderThanMs: now - cutoff, under, now });
    await store.remove(e.key);
    removed.push(baseOf(e.key));
  }
  // A writer killed during its first file's upload left an upload and no object: no folder lists it.
  if (lister) {
    const listed = new Set(candidates.map((e) => baseOf(e.key)));
    const prefix = rootKey === '' ? '' : rootKey + '/';
    const stale = new Set<string>();
    for (const u of uploads) {
      const folder = u.key.startsWith(prefix) ? u.key.slice(prefix.length).split('/')[0] : '';
      if (u.key.slice(prefix.length).includes('/') && stepOfDir(folder) !== null && !committed.has(folder) && !listed.has(folder) && u.initiated.getTime() <= cutoff) stale.add(folder);
    }
    for (const folder of stale) await lister.abortUploads({ olderThanMs: now - cutoff, under: joinKey(rootKey, folder) + '/', now });
  }
  return removed;
}
