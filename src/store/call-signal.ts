// An operation's AbortSignal reaching the stores it uses, call by call (Store's StoreCallOptions). Stores made
// from a URL get the signal when they are made; a Store the caller made and passed as an object gets it here,
// on every size/read/write, so its requests in flight stop with the operation, not only between requests.
import type { ByteRange, Store, StoreCallOptions } from './store.js';

/** One signal aborted when either is (with the first one's reason). */
export function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a || !b || a === b) return a ?? b;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

/**
 * A built-in network store (HttpStore, S3Backend) seen under one more signal: the same object underneath
 * (its caches and counters shared), only its `signal` is both.
 */
export function storeUnder<T extends object>(store: T, own: AbortSignal | undefined, call: AbortSignal | undefined): T {
  if (!call || call === own) return store;
  return Object.create(store, { signal: { value: eitherSignal(own, call) } }) as T;
}

/**
 * `store` with `signal` passed to every size, read, write, list, exists and readHashed (a caller's own signal on a call wins). The
 * store itself is untouched: a Proxy forwards everything else to it, so `instanceof` and its state hold.
 */
export function withCallSignal(store: Store, signal: AbortSignal | undefined): Store {
  if (!signal) return store;
  const opts = (o?: StoreCallOptions): StoreCallOptions => ({ ...o, signal: eitherSignal(signal, o?.signal) });
  return new Proxy(store, {
    get(target, p) {
      if (p === 'size') return (key: string, o?: StoreCallOptions) => target.size(key, opts(o));
      if (p === 'read') return (key: string, range?: ByteRange, o?: StoreCallOptions) => target.read(key, range, opts(o));
      if (p === 'write') return (key: string, data: Uint8Array | AsyncIterable<Uint8Array>, o?: StoreCallOptions) => target.write(key, data, opts(o));
      if (p === 'list') return (prefix: string, o?: StoreCallOptions) => target.list(prefix, opts(o));
      if (p === 'exists') return (key: string, o?: StoreCallOptions) => target.exists(key, opts(o));
      if (p === 'readHashed' && target.readHashed) return (key: string, o?: StoreCallOptions) => target.readHashed!(key, opts(o));
      const v = Reflect.get(target, p, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
