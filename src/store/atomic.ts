// Atomic replacement of one key on any store: write a temporary sibling, make
// it durable, rename it over the final name, make the rename durable. A crash
// at any point leaves under the final name either the old value or the new one.
import type { Store } from './store.js';
import { tempSuffix } from './keys.js';

/** The temporary sibling of `key` that an atomic write goes through (recognisable, so leftovers can be cleaned). */
export function tempKeyFor(key: string): string {
  return key + tempSuffix();
}

/** True for the leftovers of an interrupted atomic write. */
export function isTempKey(key: string): boolean {
  return /\.tmp-[0-9a-z]+-[0-9a-f]{8}$/.test(key);
}

export async function writeAtomic(store: Store, key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
  // An object store's PUT already is all-or-nothing (a failed multipart upload is aborted, the old value stays).
  if (store.atomicWrites) return store.write(key, data);
  const tmp = tempKeyFor(key);
  try {
    await store.write(tmp, data);
    await store.sync(tmp);
    await store.rename(tmp, key);
    await store.sync(key);
  } catch (e) {
    await store.remove(tmp).catch(() => {});
    throw e;
  }
}
