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
  /** Reads `into.length` bytes at `start` into `into` (no allocation: the hashing paths reuse one buffer). */
  async readInto(key: string, start: number, into: Uint8Array): Promise<void> {
    return (await this.fs()).readInto(key, start, into);
  }
  /** A lock file `KEY.lock` (store/fs-lock.ts). */
  async lock(key: string): Promise<() => Promise<void>> {
    return (await this.fs()).lock(key);
  }
}
