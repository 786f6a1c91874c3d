// The code behind FsStore (fs.ts), loaded on its first use: files for Node,
// Deno and Bun, all through node:fs, which platform/runtime.ts loads on first
// use (NO_FS where the runtime has none). The hashing worker uses it directly.
import { CheckpointError, IoError, NotFoundError, errorFor } from '../errors.js';
import type { ByteRange, Store, StoreEntry } from './store.js';
import { checkKey, checkRange, describeFs, dirOf, fsRoot } from './keys.js';
import { writeAhead } from './write-ahead.js';
import { fsPromises as nodeFs } from '../platform/runtime.js';
import { makeDirs } from './mkdirs.js';
import { fsLock } from './fs-lock.js';

type FsPromises = typeof import('node:fs/promises');

/** Bytes per read() call when a caller asks for a large range: keeps syscalls few without huge temporaries. */
const READ_SLICE = 64 << 20;

/** Files under a folder (Node, Deno, Bun): ranged reads, streamed writes, atomic renames, fsync. */
export class FsBackend implements Store {
  readonly kind = 'fs';
  readonly readOnly = false;
  /** The folder every key is relative to (no trailing slash, except '/' itself). */
  readonly root: string;

  constructor(root: string) {
    this.root = fsRoot(root);
  }

  describe(key: string): string {
    return describeFs(this.root, key);
  }

  private path(key: string): string {
    return this.describe(checkKey(key, `fs store at ${this.root}`));
  }

  /**
   * Only regular files are read: a FIFO would block open() (and every read) until a writer comes, and a
   * device (/dev/zero, /dev/urandom) never ends. Directories are EISDIR as before.
   */
  private regular(st: { isFile(): boolean; isDirectory(): boolean }, key: string): void {
    if (st.isFile() || st.isDirectory()) return;
    const path = this.describe(key);
    throw new IoError(`${path} is not a regular file (a FIFO, socket or device): refused, since reading it could block or never end`, { path, detail: 'NOT_A_FILE' });
  }

  /** Opens `key` for reading after checking it is a regular file; non-blocking, so a FIFO swapped in meanwhile cannot hang open(). */
  private async openRegular(fs: FsPromises, key: string): Promise<Awaited<ReturnType<FsPromises['open']>>> {
    const p = this.path(key);
    this.regular(await fs.stat(p), key);
    // O_NONBLOCK where the platform has it (not Windows): node:fs/promises carries the constants.
    const c = (fs as unknown as { constants?: { O_RDONLY?: number; O_NONBLOCK?: number } }).constants;
    const h = await fs.open(p, typeof c?.O_RDONLY === 'number' && typeof c?.O_NONBLOCK === 'number' ? c.O_RDONLY | c.O_NONBLOCK : 'r');
    try {
      const st = await h.stat();
      if (st.isDirectory()) throw new IoError(`${this.describe(key)} is a directory, not a file`, { path: this.describe(key), detail: 'EISDIR' });
      this.regular(st, key);
    } catch (e) {
      await h.close();
      throw e;
    }
    return h;
  }

  private fail(e: unknown, key: string, what: string): CheckpointError {
    if (e instanceof CheckpointError) return e;
    const code = (e as { code?: string })?.code;
    const path = this.describe(key);
    if (code === 'ENOENT' || code === 'ENOTDIR') return new NotFoundError(`${path} does not exist`, { path, cause: e });
    return new IoError(`could not ${what} ${path}: ${(e as Error)?.message ?? String(e)}`, { path, cause: e, detail: code });
  }

  async size(key: string): Promise<number> {
    const fs = await nodeFs();
    try {
      const st = await fs.stat(this.path(key));
      if (st.isDirectory()) throw new IoError(`${this.describe(key)} is a directory, not a file`, { path: this.describe(key), detail: 'EISDIR' });
      this.regular(st, key);
      return st.size;
    } catch (e) {
      throw this.fail(e, key, 'stat');
    }
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    const fs = await nodeFs();
    let h: Awaited<ReturnType<FsPromises['open']>> | undefined;
    try {
      h = await this.openRegular(fs, key);
      const size = (await h.stat()).size;
      const r = range ?? { start: 0, end: size };
      checkRange(r, size, this.describe(key));
      const out = new Uint8Array(r.end - r.start);
      await this.fill(h, key, r.start, out);
      return out;
    } catch (e) {
      throw this.fail(e, key, 'read');
    } finally {
      await h?.close();
    }
  }

  /**
   * Fills `into` with the bytes of `key` from `start` on: a caller that reads
   * many ranges (a hashing worker) reuses one buffer instead of faulting in
   * fresh memory for every range.
   */
  async readInto(key: string, start: number, into: Uint8Array): Promise<void> {
    const fs = await nodeFs();
    let h: Awaited<ReturnType<FsPromises['open']>> | undefined;
    try {
      h = await this.openRegular(fs, key);
      checkRange({ start, end: start + into.length }, (await h.stat()).size, this.describe(key));
      await this.fill(h, key, start, into);
    } catch (e) {
      throw this.fail(e, key, 'read');
    } finally {
      await h?.close();
    }
  }

  private async fill(h: Awaited<ReturnType<FsPromises['open']>>, key: string, start: number, out: Uint8Array): Promise<void> {
    let done = 0;
    while (done < out.length) {
      const n = Math.min(READ_SLICE, out.length - done);
      const { bytesRead } = await h.read(out, done, n, start + done);
      if (bytesRead === 0) {
        throw errorFor('CORRUPT', `${this.describe(key)} ended at byte ${start + done} while reading up to ${start + out.length} (it shrank while being read?)`, {
          detail: 'SHORT_READ', path: this.describe(key), position: start + done,
        });
      }
      done += bytesRead;
    }
  }

  async write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const fs = await nodeFs();
    const p = this.path(key);
    let h: Awaited<ReturnType<FsPromises['open']>> | undefined;
    try {
      await makeDirs(fs, this.describe(dirOf(key)));
      h = await fs.open(p, 'w');
      if (data instanceof Uint8Array) await writeAll(h, data, 0);
      else await writeAhead((chunk, position) => writeAll(h!, chunk, position), data);
    } catch (e) {
      throw this.fail(e, key, 'write');
    } finally {
      await h?.close();
    }
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const fs = await nodeFs();
    const dir = prefix.replace(/\/+$/, '');
    let names: import('node:fs').Dirent[];
    try {
      names = await fs.readdir(this.path(dir), { withFileTypes: true });
    } catch (e) {
      const code = (e as { code?: string })?.code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw this.fail(e, dir, 'list');
    }
    const out: StoreEntry[] = [];
    for (const d of names) {
      const key = dir === '' ? d.name : `${dir}/${d.name}`;
      if (d.isDirectory()) out.push({ key, size: 0, isDirectory: true });
      else {
        try {
          out.push({ key, size: (await fs.stat(this.path(key))).size, isDirectory: false });
        } catch {
          // Removed between readdir and stat: it no longer exists, so it is not listed.
        }
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    const fs = await nodeFs();
    try {
      await fs.stat(this.path(key));
      return true;
    } catch (e) {
      const code = (e as { code?: string })?.code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw this.fail(e, key, 'stat');
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const fs = await nodeFs();
    try {
      await makeDirs(fs, this.describe(dirOf(to)));
      await fs.rename(this.path(from), this.path(to));
    } catch (e) {
      throw this.fail(e, from, `rename to ${this.describe(to)}`);
    }
  }

  async remove(key: string): Promise<void> {
    const fs = await nodeFs();
    try {
      await fs.rm(this.path(key), { recursive: true, force: true });
    } catch (e) {
      throw this.fail(e, key, 'remove');
    }
  }

  /** A lock file `KEY.lock` (store/fs-lock.ts). */
  async lock(key: string): Promise<() => Promise<void>> {
    const fs = await nodeFs();
    try {
      await fs.mkdir(this.describe(dirOf(key)), { recursive: true });
      return await fsLock(fs, this.path(key) + '.lock');
    } catch (e) {
      throw this.fail(e, key + '.lock', 'lock');
    }
  }

  /** fsync of `key` (file or folder) and of the folder holding it, so a rename into it survives a crash. */
  async sync(key: string): Promise<void> {
    const fs = await nodeFs();
    for (const k of key === '' ? [''] : [key, dirOf(key)]) {
      let h: Awaited<ReturnType<FsPromises['open']>> | undefined;
      try {
        h = await fs.open(this.path(k), 'r');
        await h.sync();
      } catch (e) {
        const code = (e as { code?: string })?.code;
        // Some platforms cannot open or fsync a directory (EISDIR, EPERM, EINVAL on Windows): nothing more can be done there.
        if (k !== key && (code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EACCES')) continue;
        throw this.fail(e, k, 'fsync');
      } finally {
        await h?.close();
      }
    }
  }
}

type Writable = { write(b: Uint8Array, o: number, l: number, position: number): Promise<{ bytesWritten: number }> };

/** One positional write, whole: write() may write less than asked. */
async function writeAll(h: Writable, b: Uint8Array, position: number) {
  let off = 0;
  while (off < b.length) off += (await h.write(b, off, b.length - off, position + off)).bytesWritten;
}
