// The Origin Private File System store (browsers). Folders in keys are real
// OPFS folders. A file is written through createWritable(), which Chromium
// stages in a swap file and swaps in on close(): a reader never sees half a
// write. Files are read by slices of a File, so no value is ever copied whole
// into memory: values far beyond 2 GB are fine.
// Loaded only by dynamic import. The entry, imported for no bindings, keeps a page's start code in one
// chunk when a bundler splits code (the lazy-module hint: scripts/check-imports.js).
import '../index.js';
import { CheckpointError, IoError, NotFoundError, UnsupportedError } from '../errors.js';
import type { ByteRange, Store, StoreEntry } from './store.js';
import { checkKey, checkRange, describeOpfs } from './keys.js';
import { writeAhead } from './write-ahead.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Dir = any;
type FileH = any;

/** The implementation behind OpfsStore (opfs.ts), loaded on its first use. */
export class OpfsBackend implements Store {
  readonly kind = 'opfs';
  readonly readOnly = false;
  /** Folder inside the origin's OPFS root that keys are relative to ('' = the root). */
  readonly root: string;

  constructor(root = '') {
    this.root = root.replace(/^\/+|\/+$/g, '');
  }

  describe(key: string): string {
    return describeOpfs(this.root, key);
  }

  private segments(key: string): string[] {
    checkKey(key, 'opfs store');
    return [...(this.root ? this.root.split('/') : []), ...(key ? key.split('/') : [])];
  }

  private fail(e: unknown, key: string, what: string): CheckpointError {
    if (e instanceof CheckpointError) return e;
    const name = (e as { name?: string })?.name;
    const path = this.describe(key);
    if (name === 'NotFoundError' || name === 'TypeMismatchError') return new NotFoundError(`${path} does not exist`, { path, cause: e });
    if (name === 'QuotaExceededError') return new IoError(`could not ${what} ${path}: the origin's storage quota is exhausted (free space or ask for persistent storage)`, { path, cause: e, detail: name });
    return new IoError(`could not ${what} ${path}: ${(e as Error)?.message ?? String(e)}`, { path, cause: e, detail: name });
  }

  private async rootDir(): Promise<Dir> {
    const storage = (globalThis as any).navigator?.storage;
    if (!storage?.getDirectory) {
      throw new UnsupportedError('opfs: the Origin Private File System is not available in this runtime (use a browser, or a path on Node/Deno)', { detail: 'NO_OPFS' });
    }
    return storage.getDirectory();
  }

  private async dir(parts: string[], create: boolean): Promise<Dir> {
    let d = await this.rootDir();
    for (const p of parts) d = await d.getDirectoryHandle(p, { create });
    return d;
  }

  /** Parent folder handle and the last name of `key`. */
  private async parent(key: string, create: boolean): Promise<[Dir, string]> {
    const parts = this.segments(key);
    const name = parts.pop()!;
    return [await this.dir(parts, create), name];
  }

  private async file(key: string): Promise<File> {
    const [d, name] = await this.parent(key, false);
    const fh: FileH = await d.getFileHandle(name);
    return fh.getFile();
  }

  async size(key: string): Promise<number> {
    try {
      return (await this.file(key)).size;
    } catch (e) {
      throw this.fail(e, key, 'stat');
    }
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array> {
    try {
      const f = await this.file(key);
      const r = range ?? { start: 0, end: f.size };
      checkRange(r, f.size, this.describe(key));
      return new Uint8Array(await f.slice(r.start, r.end).arrayBuffer());
    } catch (e) {
      throw this.fail(e, key, 'read');
    }
  }

  async write(key: string, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    let w: any;
    try {
      const [d, name] = await this.parent(key, true);
      const fh: FileH = await d.getFileHandle(name, { create: true });
      w = await fh.createWritable({ keepExistingData: false });
      if (data instanceof Uint8Array) await w.write(data);
      else await writeAhead((chunk, position) => w.write({ type: 'write', position, data: chunk }), data);
      await w.close();
      w = undefined;
    } catch (e) {
      await w?.abort?.().catch(() => {});
      throw this.fail(e, key, 'write');
    }
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const dir = prefix.replace(/\/+$/, '');
    let d: Dir;
    try {
      d = await this.dir(this.segments(dir), false);
    } catch (e) {
      const n = (e as { name?: string })?.name;
      if (n === 'NotFoundError' || n === 'TypeMismatchError') return [];
      throw this.fail(e, dir, 'list');
    }
    const out: StoreEntry[] = [];
    for await (const [name, h] of d.entries() as AsyncIterable<[string, any]>) {
      const key = dir === '' ? name : `${dir}/${name}`;
      if (h.kind === 'directory') out.push({ key, size: 0, isDirectory: true });
      else out.push({ key, size: (await h.getFile()).size, isDirectory: false });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    try {
      const [d, name] = await this.parent(key, false);
      try {
        await d.getFileHandle(name);
      } catch (e) {
        if ((e as { name?: string })?.name !== 'TypeMismatchError') throw e;
      }
      return true;
    } catch (e) {
      const n = (e as { name?: string })?.name;
      if (n === 'NotFoundError' || n === 'TypeMismatchError') return false;
      throw this.fail(e, key, 'stat');
    }
  }

  private async handle(key: string): Promise<[Dir, string, any]> {
    const [d, name] = await this.parent(key, false);
    try {
      return [d, name, await d.getFileHandle(name)];
    } catch (e) {
      if ((e as { name?: string })?.name !== 'TypeMismatchError') throw e;
      return [d, name, await d.getDirectoryHandle(name)];
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      const [fromDir, fromName, h] = await this.handle(from);
      if (h.kind === 'directory') {
        // Chromium cannot move folders: move each file, then drop the emptied folder.
        // Not atomic as a whole; checkpoint commits rely on renaming a marker file, which is.
        await this.remove(to);
        for (const e of await this.list(from)) await this.rename(e.key, to + e.key.slice(from.length));
        await fromDir.removeEntry(fromName, { recursive: true });
        return;
      }
      const [toDir, toName] = await this.parent(to, true);
      if (typeof h.move !== 'function') throw new UnsupportedError('opfs: this browser cannot move files (FileSystemHandle.move)', { detail: 'NO_MOVE' });
      try {
        // Chromium replaces an existing file of that name in one step.
        await h.move(toDir, toName);
      } catch (e) {
        if ((e as { name?: string })?.name !== 'InvalidModificationError') throw e;
        await toDir.removeEntry(toName, { recursive: true });
        await h.move(toDir, toName);
      }
    } catch (e) {
      throw this.fail(e, from, `rename to ${this.describe(to)}`);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      if (key === '' && this.root === '') {
        const d = await this.rootDir();
        for await (const name of d.keys() as AsyncIterable<string>) await d.removeEntry(name, { recursive: true });
        return;
      }
      const [d, name] = await this.parent(key, false);
      await d.removeEntry(name, { recursive: true });
    } catch (e) {
      const n = (e as { name?: string })?.name;
      if (n === 'NotFoundError' || n === 'TypeMismatchError') return;
      throw this.fail(e, key, 'remove');
    }
  }

  async sync(): Promise<void> {
    // createWritable().close() has already committed the data; OPFS offers no further flush.
  }
}
