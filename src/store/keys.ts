// Key arithmetic shared by every store and by the formats that address
// siblings (a sidecar next to its file, shards next to their index). Keys are
// '/'-separated, relative to a store's root, never absolute, never '..'.
import { errorFor } from '../errors.js';
import type { ByteRange } from './store.js';

/** The folder part of a key ('' at the root). */
export function dirOf(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

/** The last segment of a key. */
export function baseOf(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** `name` in the folder `dir` ('' = root). */
export function joinKey(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Refuses keys that could escape a store's root: each backend maps keys onto its own namespace. */
export function checkKey(key: string, where: string): string {
  const parts = key.split('/');
  if (key.startsWith('/') || parts.some((p) => p === '..' || p === '.') || key.includes('\0')) {
    throw errorFor('IO', `${where}: invalid key '${key}' (keys are relative '/'-separated paths without '.' or '..')`, {
      detail: 'INVALID_KEY',
      path: key,
    });
  }
  return key;
}

/** Checks a byte range against a size; returns it clamped to nothing (a range past the end is an error). */
export function checkRange(range: ByteRange, size: number, where: string): void {
  if (!(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
    throw new RangeError(`${where}: invalid byte range [${range.start}, ${range.end})`);
  }
  if (range.end > size) {
    throw errorFor('CORRUPT', `${where}: asked for bytes [${range.start}, ${range.end}) but it holds only ${size} bytes (truncated?)`, {
      detail: 'SHORT_READ',
      path: where,
      position: size,
    });
  }
}

/** Collects a stream of chunks into one array (for backends that store whole values). */
export async function collect(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data.slice();
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of data) {
    parts.push(c.slice());
    n += c.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A filesystem store's root as given, without trailing slashes (but '/' itself). */
export function fsRoot(root: string): string {
  return root.length > 1 ? root.replace(/\/+$/, '') : root;
}

/** How a filesystem store names a key in messages: its path (fs.ts, and fs-backend.ts). */
export function describeFs(root: string, key: string): string {
  if (key === '') return root;
  return root.endsWith('/') ? root + key : `${root}/${key}`;
}

/** How an OPFS store names a key in messages (opfs.ts, and resolveSource before that store has loaded). */
export function describeOpfs(root: string, key: string): string {
  return `opfs:${root ? root + '/' : ''}${key}`;
}

/** How an IndexedDB store names a key in messages (idb.ts, and resolveSource before that store has loaded). */
export function describeIdb(database: string, key: string): string {
  return database === 'safeckpt' ? `idb:${key}` : `idb:${database}/${key}`;
}
