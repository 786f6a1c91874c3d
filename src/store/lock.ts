// An exclusive lock on a key of a store, for read-modify-write of a shared
// file (registry.json) by concurrent writers. Callers in one process queue in
// memory; across processes the store's own lock is taken when it has one
// (fs: a lock file, store/fs-lock.ts). A store without one (memory, OPFS,
// IndexedDB) serialises the callers of this process only, which is all that
// can share it there.
import type { Store } from './store.js';

// Queued by the place the key names, not by the Store object: each call that resolves a path makes a store
// of its own, and two of them for one folder must still take turns (OPFS, memory: no lock of their own).
const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` holding the lock on `key` of `store`; releases it however `fn` ends. */
export async function withLock<T>(store: Store, key: string, fn: () => Promise<T>): Promise<T> {
  const place = `${store.kind} ${store.describe(key)}`;
  const before = queues.get(place) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((ok) => { release = ok; });
  const tail = before.then(() => mine);
  queues.set(place, tail);
  try {
    await before;
    const unlock = store.lock ? await store.lock(key) : null;
    try {
      return await fn();
    } finally {
      await unlock?.();
    }
  } finally {
    release();
    if (queues.get(place) === tail) queues.delete(place);
  }
}
