// The IndexedDB store (browsers). A value is kept as fixed-size chunks under a
// fresh generation id, and a small record `key → { size, gen }` points at them.
// The chunks are written first, in as many transactions as needed; one final
// transaction then swaps the record and drops the old generation's chunks. So
// a write is atomic however large the value (tf.io's IndexedDB handler saves a
// model as one value and runs out of memory near 2 GB, tfjs#7702), and rename
// is a single transaction that moves records, never bytes.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { CheckpointError, IoError, NotFoundError, UnsupportedError, errorFor } from '../errors.js';
import type { ByteRange, Store, StoreEntry } from './store.js';
import { checkKey, checkRange, describeIdb } from './keys.js';
import { IDB_CHUNK } from './idb.js';

const FILES = 'files';
const CHUNKS = 'chunks';

interface FileRecord {
  size: number;
  gen: string;
  chunk: number;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => {
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((ok, fail) => {
    tx.oncomplete = () => ok();
    tx.onerror = () => fail(tx.error);
    tx.onabort = () => fail(tx.error ?? new Error('transaction aborted'));
  });
}

let counter = 0;
const newGen = () => `${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/** The implementation behind IdbStore (idb.ts), loaded on its first use. */
export class IdbBackend implements Store {
  readonly kind = 'idb';
  readonly readOnly = false;
  readonly database: string;
  private db: Promise<IDBDatabase> | undefined;

  constructor(database = 'safeckpt') {
    this.database = database;
  }

  describe(key: string): string {
    return describeIdb(this.database, key);
  }

  private open(): Promise<IDBDatabase> {
    if (this.db) return this.db;
    const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (!idb) {
      return Promise.reject(new UnsupportedError('idb: IndexedDB is not available in this runtime (use a browser, or a path on Node/Deno)', { detail: 'NO_IDB' }));
    }
    const r = idb.open(this.database, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(FILES);
      r.result.createObjectStore(CHUNKS);
    };
    this.db = req(r);
    this.db.catch(() => (this.db = undefined));
    return this.db;
  }

  private fail(e: unknown, key: string, what: string): CheckpointError {
    if (e instanceof CheckpointError) return e;
    const name = (e as { name?: string })?.name;
    const path = this.describe(key);
    if (name === 'QuotaExceededError') return new IoError(`could not ${what} ${path}: the origin's storage quota is exhausted`, { path, cause: e, detail: name });
    return new IoError(`could not ${what} ${path}: ${(e as Error)?.message ?? String(e)}`, { path, cause: e, detail: name });
  }

  private async record(key: string): Promise<FileRecord> {
    const db = await this.open();
    const rec = (await req(db.transaction(FILES).objectStore(FILES).get(key))) as FileRecord | undefined;
    if (!rec) throw new NotFoundError(`${this.describe(key)} does not exist`, { path: this.describe(key) });
    return rec;
  }

  async size(key: string): Promise<number> {
    try {
      return (await this.record(key)).size;
    } catch (e) {
      throw this.fail(e, key, 'stat');
    }
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    try {
      const rec = await this.record(key);
      const r = range ?? { start: 0, end: rec.size };
      checkRange(r, rec.size, this.describe(key));
      const out = new Uint8Array(r.end - r.start);
      if (out.length === 0) return out;
      const db = await this.open();
      const store = db.transaction(CHUNKS).objectStore(CHUNKS);
      const first = Math.floor(r.start / rec.chunk), last = Math.floor((r.end - 1) / rec.chunk);
      const parts = await Promise.all(
        Array.from({ length: last - first + 1 }, (_, i) => req(store.get([rec.gen, first + i])) as Promise<Uint8Array | undefined>),
      );
      parts.forEach((c, i) => {
        const idx = first + i;
        if (!c) throw errorFor('CORRUPT', `${this.describe(key)}: chunk ${idx} is missing from IndexedDB (the database was altered?)`, { path: this.describe(key), detail: 'MISSING_CHUNK' });
        const cStart = idx * rec.chunk;
        const from = Math.max(r.start, cStart), to = Math.min(r.end, cStart + c.length);
        out.set(c.subarray(from - cStart, to - cStart), from - r.start);
      });
      return out;
    } catch (e) {
      throw this.fail(e, key, 'read');
    }
  }

  async write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    checkKey(key, 'idb store');
    const gen = newGen();
    let index = 0, size = 0;
    const pending = new Uint8Array(IDB_CHUNK);
    let fill = 0;
    try {
      const db = await this.open();
      const flush = async () => {
        if (fill === 0) return;
        const tx = db.transaction(CHUNKS, 'readwrite');
        // slice(): a stored view would clone its whole underlying buffer.
        tx.objectStore(CHUNKS).put(pending.slice(0, fill), [gen, index++]);
        await done(tx);
        fill = 0;
      };
      const push = async (b: Uint8Array) => {
        size += b.length;
        for (let off = 0; off < b.length;) {
          const n = Math.min(IDB_CHUNK - fill, b.length - off);
          pending.set(b.subarray(off, off + n), fill);
          fill += n;
          off += n;
          if (fill === IDB_CHUNK) await flush();
        }
      };
      if (data instanceof Uint8Array) await push(data);
      else for await (const c of data) await push(c);
      await flush();
      const tx = db.transaction([FILES, CHUNKS], 'readwrite', { durability: 'strict' });
      const files = tx.objectStore(FILES);
      const old = (await req(files.get(key))) as FileRecord | undefined;
      if (old) tx.objectStore(CHUNKS).delete(IDBKeyRange.bound([old.gen, 0], [old.gen, Infinity]));
      files.put({ size, gen, chunk: IDB_CHUNK } satisfies FileRecord, key);
      await done(tx);
    } catch (e) {
      await this.dropGen(gen).catch(() => {});
      throw this.fail(e, key, 'write');
    }
  }

  private async dropGen(gen: string): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(CHUNKS, 'readwrite');
    tx.objectStore(CHUNKS).delete(IDBKeyRange.bound([gen, 0], [gen, Infinity]));
    await done(tx);
  }

  /** Every key equal to `key` or under `key/`. */
  private async keysUnder(files: IDBObjectStore, key: string): Promise<string[]> {
    const exact = (await req(files.getKey(key))) !== undefined ? [key] : [];
    const base = key === '' ? '' : key + '/';
    const under = (await req(files.getAllKeys(IDBKeyRange.bound(base, base + '\uffff')))) as string[];
    return [...exact, ...under.filter((k) => k !== key)];
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    try {
      const db = await this.open();
      const dir = prefix.replace(/\/+$/, '');
      const base = dir === '' ? '' : dir + '/';
      const files = db.transaction(FILES).objectStore(FILES);
      const keys = (await req(files.getAllKeys(IDBKeyRange.bound(base, base + '\uffff')))) as string[];
      const out = new Map<string, StoreEntry>();
      for (const k of keys) {
        const rest = k.slice(base.length);
        const slash = rest.indexOf('/');
        if (slash >= 0) {
          const d = base + rest.slice(0, slash);
          out.set(d, { key: d, size: 0, isDirectory: true });
        } else {
          const rec = (await req(db.transaction(FILES).objectStore(FILES).get(k))) as FileRecord;
          out.set(k, { key: k, size: rec.size, isDirectory: false });
        }
      }
      return [...out.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    } catch (e) {
      throw this.fail(e, prefix, 'list');
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      const db = await this.open();
      return (await this.keysUnder(db.transaction(FILES).objectStore(FILES), key)).length > 0;
    } catch (e) {
      throw this.fail(e, key, 'stat');
    }
  }

  async rename(from: string, to: string): Promise<void> {
    checkKey(to, 'idb store');
    try {
      const db = await this.open();
      const tx = db.transaction([FILES, CHUNKS], 'readwrite', { durability: 'strict' });
      const finished = done(tx);
      const files = tx.objectStore(FILES), chunks = tx.objectStore(CHUNKS);
      const moving = await this.keysUnder(files, from);
      if (moving.length === 0) {
        tx.abort();
        await finished.catch(() => {});
        throw new NotFoundError(`${this.describe(from)} does not exist`, { path: this.describe(from) });
      }
      for (const k of await this.keysUnder(files, to)) {
        const rec = (await req(files.get(k))) as FileRecord;
        chunks.delete(IDBKeyRange.bound([rec.gen, 0], [rec.gen, Infinity]));
        files.delete(k);
      }
      for (const k of moving) {
        const rec = await req(files.get(k));
        files.delete(k);
        files.put(rec, to + k.slice(from.length));
      }
      await finished;
    } catch (e) {
      throw this.fail(e, from, `rename to ${this.describe(to)}`);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      const db = await this.open();
      const tx = db.transaction([FILES, CHUNKS], 'readwrite');
      const finished = done(tx);
      const files = tx.objectStore(FILES), chunks = tx.objectStore(CHUNKS);
      for (const k of await this.keysUnder(files, key)) {
        const rec = (await req(files.get(k))) as FileRecord;
        chunks.delete(IDBKeyRange.bound([rec.gen, 0], [rec.gen, Infinity]));
        files.delete(k);
      }
      await finished;
    } catch (e) {
      throw this.fail(e, key, 'remove');
    }
  }

  async sync(): Promise<void> {
    // Every commit above is a 'strict' durability transaction: done when it completes.
  }
}
