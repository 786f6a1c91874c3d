// The filesystem store (Node, Deno, Bun): a small front whose code
// (fs-backend.ts: node:fs reads and writes, the lock file, mkdir -p) loads on
// first use, so a page bundled for a browser never downloads it
// (bench/size.bench.js).
import { LazyStore } from './lazy.js';
import { describeFs, fsRoot } from './keys.js';
import type { FsBackend } from './fs-backend.js';

/** Files under a folder (Node, Deno, Bun): ranged reads, streamed writes, atomic renames, fsync. */
export class FsStore extends LazyStore {
  /** The folder every key is relative to (no trailing slash, except '/' itself). */
  readonly root: string;

  constructor(root: string) {
    const r = fsRoot(root);
    super('fs', (key) => describeFs(r, key), async () => new (await import('./fs-backend.js')).FsBackend(r));
    this.root = r;
  }

  private async fs(): Promise<FsBackend> {
    return (await this.backendStore()) as FsBackend;
  }
  /** Sequential slices of `key` for one pass, read ahead into two reused buffers (the verify pass on this thread: FsBackend.readInOrder). */
  async readInOrder<T>(key: string, slice: number, to: number, pass: (read: (start: number, end: number) => Promise<Uint8Array>) => Promise<T>): Promise<T> {
    return (await this.fs()).readInOrder(key, slice, to, pass);
  }
  /** A lock file `KEY.lock` (store/fs-lock.ts). */
  async lock(key: string): Promise<() => Promise<void>> {
    return (await this.fs()).lock(key);
  }
}
