// The router from what a caller passes (a path, a URL, bytes, a Store) to a
// store and a key in it. Pure: no registry, no I/O — a name always means the
// same backend. The key names the file or folder itself, so siblings (a
// sidecar, the shards of an index) are addressed in the same store.
import { UnsupportedError } from '../errors.js';
import type { Store } from './store.js';
import { FsStore } from './fs.js';
import { HttpStore, type HttpStoreOptions } from './http.js';
import { MemoryStore, sharedMemoryStore } from './memory.js';
import { OpfsStore } from './opfs.js';
import { IdbStore } from './idb.js';
import { S3Store, parseS3Url } from './s3.js';
import { redactUrl } from './redact.js';
import { withCallSignal } from './call-signal.js';

/** A store and a key inside it. */
export interface StoreRef {
  store: Store;
  key: string;
}

/**
 * Where to read from or write to: a path or `file:` URL (Node, Deno), an `http(s):` URL (read-only),
 * `s3://bucket/prefix` (endpoint, region and credentials from the AWS_* variables; for options, pass an S3Store),
 * `opfs:NAME`, `idb:NAME`, `memory:NAME`, a Uint8Array (read-only use), a Store (its root), or a StoreRef.
 */
export type Source = string | URL | Uint8Array | Store | StoreRef;
/** Where to write: a path or file: URL, an s3:, opfs:, idb: or memory: name, or a Store. */
export type Dest = Source;

/** The key a Uint8Array source is known by in messages. */
export const BYTES_KEY = 'bytes';

function isStore(x: unknown): x is Store {
  return typeof x === 'object' && x !== null && typeof (x as Store).read === 'function' && typeof (x as Store).describe === 'function';
}

/** Splits a '/'-path into its folder and last segment (a trailing '/' names the folder itself). */
function splitPath(path: string): [string, string] {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (p === '/') return ['/', ''];
  const i = p.lastIndexOf('/');
  if (i < 0) return ['.', p];
  return [i === 0 ? '/' : p.slice(0, i), p.slice(i + 1)];
}

/** How resolveSource builds the store a URL names (e.g. `{ http: { timeoutMs } }`, `{ signal }`). */
export interface ResolveOptions {
  http?: Omit<HttpStoreOptions, 'search'>;
  /** An operation's AbortSignal, given to the store a URL names (http(s): and s3:), so its requests stop with it. */
  signal?: AbortSignal;
}

/** The store and key a Source names: the URL scheme picks the backend. */
export function resolveSource(src: Source, opts: ResolveOptions = {}): StoreRef {
  if (src instanceof Uint8Array) return { store: new MemoryStore({ [BYTES_KEY]: src }), key: BYTES_KEY };
  // A store the caller made: the operation's signal reaches its size/read/write calls (StoreCallOptions).
  if (isStore(src)) return { store: withCallSignal(src, opts.signal), key: '' };
  if (typeof src === 'object' && src !== null && !(src instanceof URL) && isStore((src as StoreRef).store)) {
    return { store: withCallSignal((src as StoreRef).store, opts.signal), key: (src as StoreRef).key ?? '' };
  }
  const s = src instanceof URL ? src.href : src;
  if (typeof s !== 'string' || s === '') {
    throw new UnsupportedError(`cannot open ${s === '' ? 'an empty path' : `a ${src === null ? 'null' : typeof src}`}: expected a path, a URL (file:, http(s):, s3:, opfs:, idb:, memory:), a Uint8Array or a Store`, {
      detail: 'BAD_SOURCE',
    });
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'http':
    case 'https': {
      const u = parseUrl(s);
      const path = u.pathname;
      const i = path.lastIndexOf('/');
      // The query string (an access token, say) stays with the store: every key's URL carries it.
      return { store: new HttpStore(u.origin + path.slice(0, i + 1), { ...opts.http, ...(opts.signal ? { signal: opts.signal } : {}), search: u.search }), key: decodePath(path.slice(i + 1), s) };
    }
    case 'file': {
      const [dir, name] = splitPath(decodePath(parseUrl(s).pathname, s));
      return { store: new FsStore(dir), key: name };
    }
    case 's3': {
      // The bucket is the store; the whole key path stays a key, so siblings (LATEST, a sidecar) share the store.
      const { bucket, key } = parseS3Url(s);
      return { store: new S3Store({ bucket, ...(opts.signal ? { signal: opts.signal } : {}) }), key };
    }
    case 'opfs':
      return { store: new OpfsStore(), key: trimKey(s.slice(5)) };
    case 'idb':
      return { store: new IdbStore(), key: trimKey(s.slice(4)) };
    case 'memory':
      return { store: sharedMemoryStore(), key: trimKey(s.slice(7)) };
    default: {
      // A one-letter "scheme" is a Windows drive (C:\…); anything else unknown is refused rather than guessed.
      if (scheme && scheme.length > 1) {
        throw new UnsupportedError(`cannot open '${redactUrl(s)}': unknown scheme '${scheme}:' (use a path, file:, http(s):, s3:, opfs:, idb: or memory:)`, {
          detail: 'UNKNOWN_SCHEME', path: redactUrl(s),
        });
      }
      const [dir, name] = splitPath(s);
      return { store: new FsStore(dir), key: name };
    }
  }
}

/** new URL(), refusing what it cannot parse (`http://[::1`) as a typed error that shows no secret. */
function parseUrl(s: string): URL {
  try {
    return new URL(s);
  } catch {
    const shown = redactUrl(s.length > 300 ? s.slice(0, 300) + '…' : s);
    throw new UnsupportedError(`cannot open '${shown}': it is not a valid URL (check the brackets of an IPv6 host, the port and the escaping)`, {
      detail: 'BAD_URL', path: shown,
    });
  }
}

function decodePath(p: string, s: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new UnsupportedError(`cannot open '${redactUrl(s)}': its path has a malformed %-escape`, { detail: 'BAD_URL', path: redactUrl(s) });
  }
}

function trimKey(k: string): string {
  return k.replace(/^\/+/, '').replace(/\/+$/, '');
}
