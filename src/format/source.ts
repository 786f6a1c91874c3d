// Random access to the bytes of one file, wherever it is. Readers that need
// only parts of a file (a zip's central directory, then the entries they use)
// read through this instead of loading everything; in-memory bytes come back
// as views, so nothing is copied.
import { resolveSource, type Source } from '../store/resolve.js';

export interface ByteSource {
  /** For messages: the path, URL or label of the bytes. */
  readonly name: string;
  readonly size: number;
  /** Bytes [start, end). In-memory sources return views, not copies. */
  read(start: number, end: number): Promise<Uint8Array>;
}

/** Opens any Source (path, URL, bytes, Store, StoreRef) for ranged reads; NOT_FOUND when it does not exist. */
export async function openSource(src: Source): Promise<ByteSource> {
  const { store, key } = resolveSource(src);
  const size = await store.size(key);
  return {
    name: src instanceof Uint8Array ? '<bytes>' : store.describe(key),
    size,
    read: (start, end) => (end <= start ? Promise.resolve(new Uint8Array(0)) : store.read(key, { start, end })),
  };
}
