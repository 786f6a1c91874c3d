// Atomic replacement of one key on any store: write a temporary sibling, make
// it durable, rename it over the final name, make the rename durable. A crash
// at any point leaves under the final name either the old value or the new one.
import type { Store } from './store.js';

/** Unique-enough suffix for temporary names of an atomic write (several writers may race). */
export function tempSuffix(): string {
  const r = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return `.tmp-${Date.now().toString(36)}-${r}`;
}

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

/**
 * Replaces several keys as one set (sign(): every sidecar of a sharded model and its index sidecar): each new
 * value is first written and made durable under a temporary sibling, then each is renamed over its key, in
 * order; if any step fails, the keys already replaced get their old values back (or are removed when they had
 * none) and the temporaries are removed, so the keys hold the old set or the new one. Stores whose writes are
 * atomic (S3) are written in place, in order, with the same undo. What no undo covers: a process killed between
 * the first and the last rename (a few quick steps, after all the writing) leaves a mix.
 */
export async function writeAtomicSet(store: Store, items: ReadonlyArray<{ key: string; data: Uint8Array }>): Promise<void> {
  const old: Array<Uint8Array | null> = [];
  for (const it of items) old.push(await store.read(it.key).catch((e: unknown) => (isNotFound(e) ? null : Promise.reject(e))));
  const staged = store.atomicWrites ? [] : items.map((it) => tempKeyFor(it.key));
  let replaced = 0;
  try {
    for (const [i, t] of staged.entries()) {
      await store.write(t, items[i].data);
      await store.sync(t);
    }
    for (const [i, it] of items.entries()) {
      if (store.atomicWrites) await store.write(it.key, it.data);
      else await store.rename(staged[i], it.key);
      replaced = i + 1;
    }
    if (!store.atomicWrites) for (const it of items) await store.sync(it.key);
  } catch (e) {
    for (let i = replaced - 1; i >= 0; i--) {
      const was = old[i];
      await (was ? writeAtomic(store, items[i].key, was) : store.remove(items[i].key)).catch(() => {});
    }
    for (const t of staged) await store.remove(t).catch(() => {});
    throw e;
  }
}

const isNotFound = (e: unknown) => (e as { code?: string } | null)?.code === 'NOT_FOUND';
