// Which checkpoints of a root are committed, on stores that commit without a
// rename (object stores: S3).
//
// On fs a checkpoint is committed when its folder takes its step's name; a
// killed writer leaves only a `.tmp-` folder. On S3 a save writes straight
// into a folder of its own and commits by a conditional PUT of LATEST, so a
// writer killed after its manifest but before that PUT leaves a folder that
// looks complete and was never committed. LATEST tells the committed one only
// while it names it. So before a writer moves LATEST off a checkpoint, it
// records that checkpoint as committed: an empty object `commits/NAME`. The
// committed set is then every `commits/NAME` plus what LATEST names — an
// invariant kept at every instant, since the record is made before the PUT
// that could hide it, and that PUT only succeeds on the version that was read
// (the record is for exactly the checkpoint it replaces).
import { NotFoundError } from '../errors.js';
import type { Store } from '../store/store.js';
import { baseOf, joinKey } from '../store/keys.js';
import { LATEST, MAX_NAME_LENGTH } from './layout.js';
import { stepOfDir } from './folder-names.js';

/** Folder of the commit records, under the checkpoint root. */
export const COMMITS = 'commits';

/** Object stores (S3) commit a folder of the save's own by a conditional write of LATEST, without a rename. */
export function isObjectStore(store: Store): boolean {
  return store.atomicWrites === true && typeof store.writeIf === 'function';
}

/** The record that checkpoint `name` of the root `rootKey` was committed (object stores). */
export function commitRecordKey(rootKey: string, name: string): string {
  return joinKey(joinKey(rootKey, COMMITS), name);
}

/** Records `name` as committed (idempotent): call it before LATEST moves off `name`. */
export async function recordCommitted(store: Store, rootKey: string, name: string): Promise<void> {
  if (stepOfDir(name) === null || name.includes('/')) return; // a damaged LATEST names nothing to record
  await store.write(commitRecordKey(rootKey, name), new Uint8Array(0));
}

/**
 * The names of the committed checkpoints of an object-store root: the commit records and what LATEST
 * names. Null for stores that commit by rename (every step-N folder there is committed).
 */
export async function committedNames(store: Store, rootKey: string): Promise<Set<string> | null> {
  if (!isObjectStore(store)) return null;
  const names = new Set((await store.list(joinKey(rootKey, COMMITS))).filter((e) => !e.isDirectory).map((e) => baseOf(e.key)));
  const latest = await latestName(store, rootKey);
  if (latest !== null) names.add(latest);
  return names;
}

/** What LATEST names, or null (absent, empty, or too long to be a name: readers report that one). */
async function latestName(store: Store, rootKey: string): Promise<string | null> {
  try {
    const bytes = await store.read(joinKey(rootKey, LATEST));
    if (bytes.length > MAX_NAME_LENGTH + 2) return null;
    const name = new TextDecoder().decode(bytes).trim();
    return name === '' ? null : name;
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

/** Removes the record of `name` (retention, before its folder goes: a kill in between leaves an unlisted folder). */
export async function forgetCommitted(store: Store, rootKey: string, name: string): Promise<void> {
  if (isObjectStore(store)) await store.remove(commitRecordKey(rootKey, name));
}

