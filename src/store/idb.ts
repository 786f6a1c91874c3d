// The IndexedDB store (browsers): files as chunked records in one database.
// Its code (idb-backend.ts) loads on first use, so a page that never touches
// IndexedDB never downloads it (bench/size.bench.js).
import { LazyStore } from './lazy.js';
import { describeIdb } from './keys.js';

/** Bytes per stored chunk: big enough to keep transactions few, small enough to never need one huge allocation. */
export const IDB_CHUNK = 8 << 20;

/** A store in an IndexedDB database (`idb:` sources use 'safeckpt'). */
export class IdbStore extends LazyStore {
  readonly database: string;

  constructor(database = 'safeckpt') {
    super('idb', (key) => describeIdb(database, key), async () => new (await import('./idb-backend.js')).IdbBackend(database));
    this.database = database;
  }
}
