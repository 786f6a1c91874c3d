// The code behind FsStore (fs.ts), loaded on its first use: files for Node,
// Deno and Bun, all through node:fs, which platform/runtime.ts loads on first
// use (NO_FS where the runtime has none). The hashing worker uses it directly.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { CheckpointError, IoError, NotFoundError, errorFor } from '../errors.js';
import type { ByteRange, Store, StoreEntry } from './store.js';
import { checkKey, checkRange, describeFs, dirOf, fsRoot } from './keys.js';
import { writeAhead } from './write-ahead.js';
import { fsPromises as nodeFs, fsSync } from '../platform/node-fs.js';
import { makeDirs } from './mkdirs.js';
import { fsLock } from './fs-lock.js';

type FsPromises = typeof import('node:fs/promises');

/** Bytes per read() call when a caller asks for a large range: keeps syscalls few without huge temporaries. */
const READ_SLICE = 64 << 20;

/** A file opened once for many reads (FsBackend.openReader): its size at the open, positional reads, close. */
export interface FileReader {
  readonly size: number;
  /** Fills `into` with the bytes from `start` on (CORRUPT SHORT_READ past the end or if the file shrank). */
  readInto(start: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** FileReader with blocking reads (FsBackend.openSyncReader): for worker threads only. */
export interface SyncFileReader {
  readonly size: number;
  readInto(start: number, into: Uint8Array): void;
  close(): void;
}

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
   * `key` opened once for many positional reads (readInOrder): checked as a regular file and sized once, then
   * each read is one request to the I/O threads.
   */
  async openReader(key: string): Promise<FileReader> {
    const fs = await nodeFs();
    let h: Awaited<ReturnType<FsPromises['open']>> | undefined;
    let size: number;
    try {
      h = await this.openRegular(fs, key);
      size = (await h.stat()).size;
    } catch (e) {
      await h?.close();
      throw this.fail(e, key, 'read');
    }
    const handle = h;
    return {
      size,
      readInto: async (start, into) => {
        try {
          checkRange({ start, end: start + into.length }, size, this.describe(key));
          await this.fill(handle, key, start, into);
        } catch (e) {
          throw this.fail(e, key, 'read');
        }
      },
      close: () => handle.close(),
    };
  }

  /**
   * Sequential slices of `key` up to `to`, for a pass that hashes each slice before asking for the next: the
   * file opened once, two reused buffers of `slice` bytes, the next slice read (on the I/O threads) while this
   * one is hashed. Fresh memory per slice cost more than the read itself (page faults), a read awaited before
   * each hash left the two never overlapping, and so did an open and stat per read: the read ahead then
   * advanced one step of that chain per turn of this thread's loop, i.e. per slice hashed (BENCHMARKS.md, wire).
   * A view handed to `pass` may be reused after its next read call.
   */
  async readInOrder<T>(key: string, slice: number, to: number, pass: (read: (start: number, end: number) => Promise<Uint8Array>) => Promise<T>): Promise<T> {
    const file = await this.openReader(key);
    const bufs = [new Uint8Array(0), new Uint8Array(0)];
    let turn = 0;
    let ahead: { start: number; end: number; bytes: Promise<Uint8Array> } | undefined;
    const load = (start: number, end: number) => {
      const i = turn++ & 1;
      if (bufs[i].length < end - start) bufs[i] = new Uint8Array(Math.max(slice, end - start));
      const into = bufs[i].subarray(0, end - start);
      const bytes = file.readInto(start, into).then(() => into);
      bytes.catch(() => {}); // awaited when asked for; an unread one must not count as unhandled
      return bytes;
    };
    try {
      return await pass((start, end) => {
        const bytes = ahead && ahead.start === start && ahead.end === end ? ahead.bytes : load(start, end);
        const next = Math.min(to, end + (end - start));
        ahead = end < to ? { start: end, end: next, bytes: load(end, next) } : undefined;
        return bytes;
      });
    } finally {
      // A read still ahead (the pass failed or was aborted) finishes first: the file is closed after it.
      await ahead?.bytes.catch(() => {});
      await file.close();
    }
  }

  /**
   * The same with blocking reads, for a hashing worker: a worker thread may
   * block, and a read it makes itself costs no hop to the I/O threads and back
   * (a worker awaiting each read sat idle for it; BENCHMARKS.md, wire). Checks
   * and errors are openReader's.
   */
  async openSyncReader(key: string): Promise<SyncFileReader> {
    const fs = await fsSync();
    const p = this.path(key);
    let fd: number | undefined;
    let size: number;
    try {
      this.regular(fs.statSync(p), key);
      const c = fs.constants;
      fd = fs.openSync(p, typeof c?.O_RDONLY === 'number' && typeof c?.O_NONBLOCK === 'number' ? c.O_RDONLY | c.O_NONBLOCK : 'r');
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new IoError(`${this.describe(key)} is a directory, not a file`, { path: this.describe(key), detail: 'EISDIR' });
      this.regular(st, key);
      size = st.size;
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      throw this.fail(e, key, 'read');
    }
    const handle = fd;
    return {
      size,
      readInto: (start, into) => {
        try {
          checkRange({ start, end: start + into.length }, size, this.describe(key));
          for (let done = 0; done < into.length;) {
            const n = fs.readSync(handle, into, done, Math.min(READ_SLICE, into.length - done), start + done);
            if (n === 0) throw this.shrank(key, start + done, start + into.length);
            done += n;
          }
        } catch (e) {
          throw this.fail(e, key, 'read');
        }
      },
      close: () => fs.closeSync(handle),
    };
  }

  private shrank(key: string, at: number, end: number): CheckpointError {
    return errorFor('CORRUPT', `${this.describe(key)} ended at byte ${at} while reading up to ${end} (it shrank while being read?)`, {
      detail: 'SHORT_READ', path: this.describe(key), position: at,
    });
  }

  private async fill(h: Awaited<ReturnType<FsPromises['open']>>, key: string, start: number, out: Uint8Array): Promise<void> {
    let done = 0;
    while (done < out.length) {
      const n = Math.min(READ_SLICE, out.length - done);
      const { bytesRead } = await h.read(out, done, n, start + done);
      if (bytesRead === 0) throw this.shrank(key, start + done, start + out.length);
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
